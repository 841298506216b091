//! `vouch demo`: the whole story in one run, a demo ledger ([`vouch::demo`]) and its PDF
//! attestation report.

use serde_json::json;
use std::io::{self, Write as _};
use std::path::Path;

use super::args::Format;
use super::output::{Outcome, print_json, write_output};
use vouch::attestation::status::Status;
use vouch::crypto::Fingerprint;
use vouch::period::Period;
use vouch::{Error, Result};

pub(super) fn demo(dir: &Path, pdf_path: &Path, fmt: Format) -> Result<Outcome> {
    let s = vouch::demo::run(dir)?;
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
