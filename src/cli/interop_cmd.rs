//! `vouch export --oscal`, `vouch export --in-toto` and `vouch matrix import --from
//! oscal-ssp`: the ecosystem's formats ([`vouch::interop`], schema/FORMAT.md section 18).

use serde_json::json;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::args::{ExportArgs, Format};
use super::input::{load_key, parse_trust};
use super::output::{Outcome, print_findings, print_json, write_output};
use vouch::interop::dsse::{self, Envelope};
use vouch::interop::oscal_out::{self, Exported};
use vouch::ledger::{Access, Ledger};
use vouch::period::Period;
use vouch::{Error, Result};

fn period_of(args: &ExportArgs) -> Result<Period> {
    let p = args
        .period
        .as_deref()
        .ok_or_else(|| Error::new("--period is missing").hint("e.g. --period 2026-Q3"))?;
    Period::parse_input(p).map_err(|e| e.context("--period"))
}

/// `vouch export --oscal --period P [--out FILE [--sign --key K]] [--trust …]`.
pub(super) fn export_oscal(ledger: &Path, args: &ExportArgs, fmt: Format) -> Result<Outcome> {
    let period = period_of(args)?;
    let trust = if args.trust.is_empty() {
        None
    } else {
        Some(parse_trust(&args.trust)?)
    };
    // The signing key is checked before anything is written.
    let signer = match (args.sign, &args.key) {
        (true, Some(k)) => {
            let k = load_key(k)?;
            let (party, _) = Ledger::open(ledger, Access::ReadOnly)?.signer_party(&k)?;
            Some((k, party))
        }
        _ => None,
    };
    let doc = match oscal_out::export(ledger, &period, trust)? {
        Exported::Document(d) => d,
        Exported::Refused(v) => {
            print_findings(&v.findings, 5);
            out!(
                "FAILED: the ledger does not verify; no OSCAL document (run `vouch verify --all`)"
            );
            return Ok(Outcome::Problem);
        }
    };
    if let Some(note) = &doc.limited {
        eprintln!("vouch: warning: {note}");
    }
    let Some(path) = args.out.as_deref().filter(|p| p.as_os_str() != "-") else {
        if io::stdout().lock().write_all(&doc.bytes).is_err() {
            std::process::exit(0);
        }
        return Ok(Outcome::Ok);
    };
    let how = write_output(path, &doc.bytes, args.force, true)?;
    let envelope = match signer {
        Some((k, party)) => Some((sign_oscal(path, &doc.bytes, &k, args.force)?, party)),
        None => None,
    };
    if fmt == Format::Json {
        print_json(&json!({
            "written": path, "how": how.as_str(), "bytes": doc.bytes.len(),
            "observations": doc.observations, "findings": doc.findings, "risks": doc.risks,
            "head": doc.head, "digest": doc.digest,
            "signature": envelope.as_ref().map(|((p, n), party)| json!({"envelope": p, "signatures": n, "signed_by": party})),
        }));
        return Ok(Outcome::Ok);
    }
    out!(
        "{} {} (OSCAL {} assessment results: {} observations, {} findings, {} risks; head entry {}, attestation digest {})",
        how.as_str(),
        path.display(),
        vouch::interop::OSCAL_VERSION,
        doc.observations,
        doc.findings,
        doc.risks,
        doc.head,
        doc.digest
    );
    if let Some(((env, n), party)) = envelope {
        out!(
            "signed by {party}: {} ({n} signature(s)); check it with: trestle verify --beta -f {} --signature {} --public-key keys/{party}.pub",
            env.display(),
            path.display(),
            env.display()
        );
    }
    Ok(Outcome::Ok)
}

/// Where the DSSE envelope of `file` goes: `FILE.dsse.json`.
pub(super) fn envelope_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".dsse.json");
    PathBuf::from(s)
}

/// Sign the OSCAL file at `path` (whose bytes are `bytes`) as compliance-trestle does: a
/// new envelope, or this key's signature added to the envelope of the same statement.
/// Returns the envelope's path and its number of signatures.
fn sign_oscal(
    path: &Path,
    bytes: &[u8],
    key: &vouch::crypto::SecretKey,
    force: bool,
) -> Result<(PathBuf, usize)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .ok_or_else(|| {
            Error::new(format!("--out {}: not a .json file name", path.display()))
                .hint("trestle verifies JSON files only: name the document e.g. ar-2026-Q3.json")
        })?;
    let statement = dsse::trestle_statement(&name, bytes)?;
    let env_path = envelope_path(path);
    let envelope = match std::fs::read_to_string(&env_path) {
        Ok(text) => {
            let mut e = Envelope::parse(&text).map_err(|e| e.context(env_path.display()))?;
            if e.statement()? == statement {
                e.add_signature(key);
                e
            } else if force {
                Envelope::sign(&statement, key)?
            } else {
                return Err(Error::new(format!(
                    "{}: signs another version of {name}",
                    env_path.display()
                ))
                .hint("pass --force to start a new envelope, or choose another --out"));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Envelope::sign(&statement, key)?,
        Err(e) => return Err(Error::io(&env_path, &e)),
    };
    write_output(&env_path, envelope.to_json().as_bytes(), true, true)?;
    Ok((env_path, envelope.signatures.len()))
}

/// `vouch matrix import FILE.json --from oscal-ssp [--header H.toml] [--out M.toml]`.
pub(super) fn import_ssp(
    file: &Path,
    header: Option<&Path>,
    out: Option<&Path>,
    fmt: Format,
) -> Result<Outcome> {
    use vouch::interop::oscal_in::{self, Plan};
    use vouch::matrix::Matrix;
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| Error::io(p, &e));
    let json = read(file)?;
    let header_text = header.map(read).transpose()?;
    let header_origin = header.map(|h| h.display().to_string());
    let origin = file.display().to_string();
    let imported = oscal_in::import(
        &json,
        &origin,
        header_text.as_deref().zip(header_origin.as_deref()),
    )?;
    for w in &imported.warnings {
        eprintln!("vouch: warning: {w}");
    }
    let m = &imported.matrix;
    let plan = match imported.plan {
        Plan::Provider => "the provider's plan (it exports, or describes its own system)",
        Plan::Customer => "a customer's plan (it inherits and satisfies)",
    };
    let toml = format!(
        "# Written by `vouch matrix import --from oscal-ssp` from {origin}, read as {plan}.\n\
         # OSCAL plans have no cadence or evidence kinds: add them to the items you will\n\
         # record evidence for, and check the header, before adopting this matrix.\n\n{}",
        m.to_toml()
    );
    // What is written must read back as the same matrix.
    match Matrix::parse(&toml, "the generated matrix") {
        Ok(back) if back == *m => {}
        _ => {
            return Err(
                Error::new("internal error: the generated matrix does not read back")
                    .hint("this is a bug in vouch; please report it with the SSP"),
            );
        }
    }
    let Some(path) = out else {
        out!("{}", toml.trim_end());
        return Ok(Outcome::Ok);
    };
    let how = write_output(path, toml.as_bytes(), false, false)?;
    let duties = |r| m.items.iter().filter(|i| i.raci.contains_key(&r)).count();
    let (p, c) = (
        duties(vouch::matrix::RoleId::Provider),
        duties(vouch::matrix::RoleId::Customer),
    );
    if fmt == Format::Json {
        print_json(
            &json!({"written": path, "how": how.as_str(), "items": m.items.len(),
            "sections": m.sections.len(), "provider_duties": p, "customer_duties": c,
            "warnings": imported.warnings}),
        );
    } else {
        out!(
            "{} {}: {} items in {} sections ({p} with a provider duty, {c} with a customer duty), read as {plan}; {} warning(s)",
            how.as_str(),
            path.display(),
            m.items.len(),
            m.sections.len(),
            imported.warnings.len()
        );
    }
    Ok(Outcome::Ok)
}

/// `vouch export --in-toto (SEQ… | --period P) --key K [--out DIR] [--force]`.
pub(super) fn export_in_toto(ledger: &Path, args: &ExportArgs, fmt: Format) -> Result<Outcome> {
    use vouch::interop::intoto::{self, Which};
    let which = match (&args.period, args.entries.is_empty()) {
        (Some(_), true) => Which::Period(period_of(args)?),
        (None, false) => Which::Seqs(args.entries.clone()),
        _ => {
            return Err(
                Error::new("--in-toto needs evidence entries SEQ… or --period P").hint(
                    "e.g. vouch export --in-toto 7 9 --key acme, or --in-toto --period 2026-Q3",
                ),
            );
        }
    };
    let key = load_key(args.key.as_deref().ok_or_else(|| {
        Error::new("--in-toto needs --key: the envelopes are signed by the entries' author")
            .hint("pass --key FILE (your party's key), or set VOUCH_KEY")
    })?)?;
    let (made, skipped) = match intoto::export(ledger, &which, &key)? {
        intoto::Exported::Made(m, s) => (m, s),
        intoto::Exported::Refused(v) => {
            print_findings(&v.findings, 5);
            out!("FAILED: the ledger does not verify; no attestations (run `vouch verify --all`)");
            return Ok(Outcome::Problem);
        }
    };
    let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut files = Vec::new();
    for a in &made {
        let path = dir.join(format!("entry-{}.intoto.json", a.seq));
        write_output(&path, a.envelope.to_json().as_bytes(), args.force, true)?;
        files.push(path);
    }
    if fmt == Format::Json {
        print_json(&json!({"written": files, "skipped": skipped.iter()
            .map(|(s, p)| json!({"seq": s, "signed_by": p})).collect::<Vec<_>>()}));
        return Ok(Outcome::Ok);
    }
    for f in &files {
        out!("wrote {}", f.display());
    }
    for (seq, party) in &skipped {
        out!("skipped entry {seq}: signed by {party}; only its key can attest it");
    }
    out!(
        "{} attestation(s) (in-toto Statement v1, predicate {}, DSSE, Ed25519); {} entr(y/ies) of other parties skipped",
        files.len(),
        intoto::PREDICATE_TYPE,
        skipped.len()
    );
    Ok(Outcome::Ok)
}

/// `vouch completions SHELL`: the completion script on standard output.
pub(super) fn completions(shell: clap_complete::Shell) -> Result<Outcome> {
    use clap::CommandFactory as _;
    let mut cmd = super::args::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "vouch", &mut buf);
    if io::stdout().lock().write_all(&buf).is_err() {
        std::process::exit(0);
    }
    Ok(Outcome::Ok)
}

/// `vouch man [--out DIR]`: vouch.1 on standard output, or every page in DIR.
pub(super) fn man(out: Option<&Path>) -> Result<Outcome> {
    use clap::CommandFactory as _;
    let cmd = super::args::Cli::command();
    let Some(dir) = out else {
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut buf)
            .map_err(|e| Error::new(format!("cannot render the man page: {e}")))?;
        if io::stdout().lock().write_all(&buf).is_err() {
            std::process::exit(0);
        }
        return Ok(Outcome::Ok);
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    clap_mangen::generate_to(cmd, dir).map_err(|e| Error::io(dir, &e))?;
    let mut pages: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, &e))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".1"))
        .collect();
    pages.sort();
    out!(
        "wrote {} man page(s) in {}: {}",
        pages.len(),
        dir.display(),
        pages.join(" ")
    );
    out!("read them with: man -l {}", dir.join("vouch.1").display());
    Ok(Outcome::Ok)
}
