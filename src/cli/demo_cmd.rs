//! `vouch demo`: the whole story in one run, a demo ledger ([`vouch::demo`]) and its PDF
//! attestation report.

use serde_json::json;
use std::io::{self, Write as _};
use std::path::Path;

use super::args::Format;
use super::output::{Outcome, print_json, write_output};
use vouch::attestation::report::Report;
use vouch::attestation::status::Status;
use vouch::crypto::Fingerprint;
use vouch::demo::Summary;
use vouch::period::Period;
use vouch::{Error, Result};

pub(super) fn demo(dir: &Path, pdf_path: &Path, fmt: Format) -> Result<Outcome> {
    let s = vouch::demo::run(dir)?;
    let (bytes, pages, report) = render(&s)?;
    write_output(pdf_path, &bytes, true, false)?;
    if fmt == Format::Json {
        print_json(
            &json!({"dir": s.dir, "ledger": s.ledger, "pdf": pdf_path, "digest": report.digest,
            "entries": s.entries, "evidence": s.evidence,
            "verified": s.verified, "head": {"seq": s.head.0, "hash": s.head.1},
            "parties": s.parties.iter().map(|(id, role, key, fpr)| json!({"id": id, "role": role.as_str(), "key": key, "fingerprint": fpr})).collect::<Vec<_>>()}),
        );
    } else {
        out!("vouch demo: ledger {}", s.ledger.display());
        for (id, role, key, fpr) in &s.parties {
            out!(
                "  {:<12} {:<9} key {}  fingerprint {}",
                id,
                role.as_str(),
                key.display(),
                &fpr[..16]
            );
        }
        out!(
            "  {} entries: adoption of the Cloud Temple matrix (acknowledged), {} evidence entries, co-signatures, the {} sign-offs at head entry {}, and Q4's first evidence",
            s.entries,
            s.evidence,
            vouch::demo::PERIOD,
            report.head.0
        );
        out!(
            "  verify: {}; head entry {} {}",
            if s.verified { "ok" } else { "FAILED" },
            s.head.0,
            s.head.1
        );
        for (party, counts) in &s.status.summary {
            let parts: Vec<String> = Status::ALL
                .iter()
                .filter_map(|st| {
                    counts
                        .get(st.as_str())
                        .map(|n| format!("{} {n}", st.as_str()))
                })
                .collect();
            out!("  {} {party}: {}", vouch::demo::PERIOD, parts.join(", "));
        }
        let signers: Vec<String> = s
            .attestation
            .signoffs
            .iter()
            .filter(|x| x.matches)
            .map(|x| x.party.clone())
            .collect();
        out!(
            "  attestation digest {} signed by {}",
            hex::encode(s.attestation.digest),
            if signers.is_empty() {
                "nobody".to_string()
            } else {
                signers.join(" and ")
            }
        );
        out!(
            "  attestation PDF: {} ({} pages, {} bytes)",
            pdf_path.display(),
            pages,
            bytes.len()
        );
        let l = s.ledger.display();
        let (vouch, on_path) = program();
        if !on_path {
            out!(
                "(vouch is not on your PATH, so the commands below call {vouch}; `cargo install --path .` in the source tree installs it)"
            );
        }
        out!(
            "next: {vouch} --ledger {l} status --period {} --as-of 2026-10-15",
            vouch::demo::PERIOD
        );
        let pins: Vec<String> = s
            .parties
            .iter()
            .map(|(id, ..)| {
                format!(
                    "--trust {}",
                    s.dir.join("keys").join(format!("{id}.pub")).display()
                )
            })
            .collect();
        out!(
            "      {vouch} --ledger {l} verify --artifacts {}",
            pins.join(" ")
        );
        out!(
            "      {vouch} --ledger {l} report --period {} --at {} --appendix all {} --out my-copy.pdf   # the same bytes as {}",
            vouch::demo::PERIOD,
            report.head.0,
            pins.join(" "),
            pdf_path.display()
        );
        out!(
            "      {vouch} --ledger {l} verify --report {}   # still matches after later entries",
            pdf_path.display()
        );
    }
    Ok(if s.verified {
        Outcome::Ok
    } else {
        Outcome::Problem
    })
}

/// How the user runs this binary from where they stand: `vouch` when that name on `PATH`
/// is this program, otherwise its path (relative to the working directory when below
/// it, as `target/release/vouch` after `cargo run --release`). The flag says which.
fn program() -> (String, bool) {
    let Ok(exe) = std::env::current_exe().and_then(|p| p.canonicalize()) else {
        return ("vouch".to_string(), true);
    };
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            d.join("vouch")
                .canonicalize()
                .is_ok_and(|found| found == exe)
        })
    });
    if on_path {
        return ("vouch".to_string(), true);
    }
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| cwd.canonicalize().ok())
        .and_then(|cwd| exe.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .map_or_else(|| exe.clone(), |rel| Path::new(".").join(rel));
    (shown.display().to_string(), false)
}

/// The demo's PDF attestation of `s`: the quarter at the head of its sign-offs, every
/// appendix, the three demo keys pinned. Returns the bytes, the page count and the report.
fn render(s: &Summary) -> Result<(Vec<u8>, usize, Box<Report>)> {
    // The report pins the three demo keys, as an auditor handed their fingerprints would.
    let period = Period::parse(vouch::demo::PERIOD)
        .ok_or_else(|| Error::new("internal: bad demo period"))?;
    let trust = s
        .parties
        .iter()
        .map(|(_, _, _, fpr)| Fingerprint::parse(fpr))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| Error::new("internal: bad demo fingerprint"))?;
    let report = match vouch::attestation::report::generate(
        &s.ledger,
        &period,
        vouch::attestation::report::Appendix::All,
        vouch::attestation::report::Making {
            trust: Some(trust),
            at: Some(s.attestation.head.0),
            ..Default::default()
        },
    )? {
        vouch::attestation::report::Generated::Report(r) => r,
        vouch::attestation::report::Generated::Refused(_) => {
            return Err(Error::new("internal: the demo ledger does not verify"));
        }
    };
    let (bytes, pages) = vouch::attestation::pdf::render_counted(&report)?;
    Ok((bytes, pages, report))
}

/// `vouch demo --serve`: the story through a loopback server ([`vouch::demo::net`]), each
/// party's PDF from its own replica, checked byte for byte against the local demo's PDF
/// (the local story told again in a temporary directory).
pub(super) fn demo_serve(dir: &Path, fmt: Format) -> Result<Outcome> {
    let net = vouch::demo::net::run(dir)?;
    let tmp = tempfile::tempdir().map_err(|e| Error::new(format!("a temporary directory: {e}")))?;
    let (local, _, _) = render(&vouch::demo::run(&tmp.path().join("demo"))?)?;
    drop(tmp);
    let mut pdfs = Vec::new();
    for p in &net.parties {
        let (bytes, pages, report) = render(&p.summary)?;
        let path = p.dir.join("attestation.pdf");
        write_output(&path, &bytes, true, false)?;
        pdfs.push((path, bytes, pages, report));
    }
    let same = pdfs.iter().all(|(_, b, ..)| *b == local);
    let verified = net.parties.iter().all(|p| p.summary.verified);
    if fmt == Format::Json {
        print_json(
            &json!({"dir": net.dir, "url": net.url, "server_data": net.server_data,
            "ledger_id": net.ledger_id, "identical_to_local": same,
            "parties": net.parties.iter().zip(&pdfs).map(|(p, (pdf, _, _, report))| {
                let s = &p.summary;
                let own = s.parties.iter().find(|(_, _, key, _)| key.extension().is_some_and(|e| e == "key"));
                json!({"id": own.map(|o| &o.0), "role": own.map(|o| o.1.as_str()), "dir": p.dir,
                "key": own.map(|o| &o.2), "ledger": p.ledger, "signed": p.signed, "writes": p.writes,
                "entries": s.entries, "verified": s.verified, "head": {"seq": s.head.0, "hash": s.head.1},
                "pdf": pdf, "digest": report.digest})
            }).collect::<Vec<_>>()}),
        );
    } else {
        print_serve(&net, &pdfs, same);
    }
    Ok(if same && verified {
        Outcome::Ok
    } else {
        Outcome::Problem
    })
}

/// The PDFs of the networked demo: path, bytes, pages, report.
type Pdfs = [(std::path::PathBuf, Vec<u8>, usize, Box<Report>)];

fn print_serve(net: &vouch::demo::net::NetSummary, pdfs: &Pdfs, same: bool) {
    out!(
        "vouch demo --serve: server {} (in this process; data {}), ledger {}",
        net.url,
        net.server_data.display(),
        net.ledger_id
    );
    for (i, p) in net.parties.iter().enumerate() {
        let Some((id, role, key, _)) = p
            .summary
            .parties
            .iter()
            .find(|(_, _, key, _)| key.extension().is_some_and(|e| e == "key"))
        else {
            continue;
        };
        let did = match i {
            0 => {
                "founded the ledger on the server (init --remote), appended the others' registration requests"
            }
            _ => "wrote its registration request, cloned the ledger",
        };
        out!(
            "  {:<9} {:<12} {}: {did}; signed {} through its replica in {}",
            role.as_str(),
            id,
            p.dir.display(),
            plural(p.signed, "entry", "entries"),
            plural(p.writes, "write", "writes")
        );
        out!("            key {} (its only private key)", key.display());
    }
    for p in &net.parties {
        let s = &p.summary;
        out!(
            "  {}: {} entries, verify {}, head entry {} {}",
            p.ledger.display(),
            s.entries,
            if s.verified { "ok" } else { "FAILED" },
            s.head.0,
            s.head.1
        );
    }
    for (path, bytes, pages, _) in pdfs {
        out!(
            "  attestation PDF: {} ({} pages, {} bytes)",
            path.display(),
            pages,
            bytes.len()
        );
    }
    let each = pdfs.windows(2).all(|w| w[0].1 == w[1].1);
    out!(
        "  identical to each other: {}",
        if each { "yes" } else { "NO" }
    );
    out!(
        "  identical to the local demo's PDF: {}",
        if same { "yes" } else { "NO" }
    );
    out!("  the server stopped with this command; each replica keeps its verified copy");
    let (vouch, on_path) = program();
    if !on_path {
        out!(
            "(vouch is not on your PATH, so the commands below call {vouch}; `cargo install --path .` in the source tree installs it)"
        );
    }
    let ledger = |i: usize| net.parties[i].ledger.display().to_string();
    out!(
        "next: {vouch} --ledger {} remote   # the replica's server, ledger id and key (the server is gone now)",
        ledger(1)
    );
    out!("      {vouch} --ledger {} log", ledger(0));
    if let Some(auditor) = net.parties.get(2) {
        let pins: Vec<String> = auditor
            .summary
            .parties
            .iter()
            .map(|(id, ..)| {
                format!(
                    "--trust {}",
                    auditor.dir.join("keys").join(format!("{id}.pub")).display()
                )
            })
            .collect();
        out!(
            "      {vouch} --ledger {} verify --artifacts {}",
            ledger(2),
            pins.join(" ")
        );
        if let Some((pdf, _, _, report)) = pdfs.get(2) {
            out!(
                "      {vouch} --ledger {} report --period {} --at {} --appendix all {} --out auditor-copy.pdf   # the same bytes as {}",
                ledger(2),
                vouch::demo::PERIOD,
                report.head.0,
                pins.join(" "),
                pdf.display()
            );
        }
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
