//! The command-line front end: parses arguments, calls the library, prints results.
//!
//! This is the only place that prints, reads the clock for commands (through
//! [`vouch::clock`]) and maps outcomes to exit codes: 0 ok, 1 verification found a
//! problem, 2 usage, input or I/O error.

/// Write to standard output; a closed pipe is not an error (exit quietly).
macro_rules! out {
    ($($arg:tt)*) => {
        if writeln!(io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    };
}

pub mod args;
mod bundle_cmd;
mod checkpoint_cmd;
mod key_cmd;
mod matrix_cmd;
mod progress;
mod proof_cmd;

use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{self, Write as _};
use std::path::Path;

use args::{Cli, Command, Format, PartyCommand, RecordArgs, VerifyArgs};
use vouch::attestation::status::{self, Period, Status};
use vouch::crypto::{Fingerprint, PublicKey, SecretKey, keyfile};
use vouch::format::entry::{LedgerId, format_time};
use vouch::format::payload::{Role, Verdict};
use vouch::ledger::Access;
use vouch::ledger::checkpoints::Relation;
use vouch::ledger::evidence::{self, EvidenceInput};
use vouch::ledger::verify::{self, Options};
use vouch::ledger::{Ledger, NewParty};
use vouch::{Error, Result, clock};

/// How a command ended.
pub enum Outcome {
    /// All good.
    Ok,
    /// Verification found a problem.
    Problem,
}

/// Verification findings as `vouch verify --format json` lists them.
pub(crate) fn findings_json(findings: &[verify::Finding]) -> Value {
    findings
        .iter()
        .map(|f| json!({"seq": f.seq, "check": format!("{:?}", f.check).to_lowercase(), "what": f.what}))
        .collect()
}

/// The first `limit` verification findings, one `entry N: what` line each.
pub(crate) fn print_findings(findings: &[verify::Finding], limit: usize) {
    for f in findings.iter().take(limit) {
        out!("entry {}: {}", f.seq, f.what);
    }
}

pub(crate) fn print_json(v: &Value) {
    let s = serde_json::to_string_pretty(v).unwrap_or_default();
    out!("{s}");
}

pub(crate) fn load_key(arg: &str) -> Result<SecretKey> {
    keyfile::load_secret(&keyfile::resolve_key_path(arg))
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<Outcome> {
    let fmt = cli.format;
    let reporting = matches!(cli.command, Command::Report { .. });
    let exporting = reporting
        || matches!(
            cli.command,
            Command::Matrix(matrix_cmd::MatrixCommand::Export { .. })
        );
    let only_for = match fmt {
        Format::Csv | Format::Toml if !exporting => {
            Some("`vouch matrix export` and `vouch report`")
        }
        Format::Md | Format::Pdf if !reporting => Some("`vouch report`"),
        _ => None,
    };
    if let Some(commands) = only_for {
        return Err(
            Error::new(format!("--format {} is only for {commands}", fmt.name()))
                .hint("this command prints --format text or json"),
        );
    }
    match cli.command {
        Command::Matrix(matrix_cmd::MatrixCommand::Adopt {
            file,
            binds,
            variants,
            key,
        }) => adopt_cmd(&cli.ledger, &file, &binds, &variants, &key.key, fmt),
        Command::Matrix(cmd) => matrix_cmd::run(cmd, fmt),
        Command::Keygen { name, dir, force } => keygen(&name, &dir, force, fmt),
        Command::Init {
            party,
            name,
            role,
            key,
        } => {
            let key = load_key(&key.key)?;
            let mut id = [0u8; 16];
            getrandom_id(&mut id)?;
            let founder = NewParty {
                id: party,
                name,
                role: Role::parse(&role)?,
            };
            let (ledger, a) =
                Ledger::init(&cli.ledger, LedgerId(id), &founder, &key, clock::now())?;
            let lid = ledger.id()?;
            if fmt == Format::Json {
                print_json(
                    &json!({"ledger": cli.ledger, "ledger_id": lid.to_string(), "seq": a.seq,
                    "hash": hex::encode(a.hash), "party": founder.id, "fingerprint": key.public().fingerprint().to_string()}),
                );
            } else {
                out!("created ledger {} (id {lid})", cli.ledger.display());
                out!(
                    "entry {}: genesis, party {} ({}) key {}",
                    a.seq,
                    founder.id,
                    founder.role,
                    key.public().fingerprint()
                );
            }
            Ok(Outcome::Ok)
        }
        Command::Party(PartyCommand::Add {
            id,
            name,
            role,
            pubkey,
            key,
        }) => {
            let signer = load_key(&key.key)?;
            let public = keyfile::load_public(&pubkey)?;
            let mut ledger = Ledger::open(&cli.ledger, Access::ReadWrite)?;
            let party = NewParty {
                id,
                name,
                role: Role::parse(&role)?,
            };
            let a = ledger.add_party(&party, &public, &signer, clock::now())?;
            if fmt == Format::Json {
                print_json(
                    &json!({"seq": a.seq, "hash": hex::encode(a.hash), "party": party.id,
                    "fingerprint": public.fingerprint().to_string()}),
                );
            } else {
                out!(
                    "entry {}: party {} ({}) registered with key {}",
                    a.seq,
                    party.id,
                    party.role,
                    public.fingerprint()
                );
            }
            Ok(Outcome::Ok)
        }
        Command::Party(PartyCommand::List) => party_list(&cli.ledger, fmt),
        Command::Key(cmd) => key_cmd::run(&cli.ledger, cmd, fmt),
        Command::Record(args) => record(&cli.ledger, &args, fmt),
        Command::Cosign {
            seq,
            ack: _,
            dispute,
            approve,
            note,
            key,
        } => {
            let (verdict, reason) = match (dispute, approve) {
                (Some(r), _) => (Verdict::Dispute, Some(r)),
                (None, true) => (Verdict::Approve, note),
                (None, false) => (Verdict::Ack, note),
            };
            let k = load_key(&key.key)?;
            let mut ledger = Ledger::open(&cli.ledger, Access::ReadWrite)?;
            let a = ledger.cosign(&k, seq, verdict, reason, clock::now())?;
            appended(fmt, &a, &format!("{} of entry {seq}", verdict.as_str()));
            Ok(Outcome::Ok)
        }
        Command::Retract { seq, reason, key } => {
            let k = load_key(&key.key)?;
            let mut ledger = Ledger::open(&cli.ledger, Access::ReadWrite)?;
            let a = ledger.retract(&k, seq, reason, clock::now())?;
            appended(fmt, &a, &format!("retraction of entry {seq}"));
            Ok(Outcome::Ok)
        }
        Command::Waive { item, reason, key } => {
            let k = load_key(&key.key)?;
            let mut ledger = Ledger::open(&cli.ledger, Access::ReadWrite)?;
            let a = ledger.waive(&k, &item, reason, clock::now())?;
            appended(fmt, &a, &format!("waiver of {item}"));
            Ok(Outcome::Ok)
        }
        Command::Delegate {
            item,
            to,
            note,
            key,
        } => {
            let k = load_key(&key.key)?;
            let mut ledger = Ledger::open(&cli.ledger, Access::ReadWrite)?;
            let a = ledger.delegate(&k, &item, &to, note, clock::now())?;
            appended(fmt, &a, &format!("delegation of {item} to {to}"));
            Ok(Outcome::Ok)
        }
        Command::Status { period, as_of } => {
            status_cmd(&cli.ledger, parse_period(period)?, as_of, fmt)
        }
        Command::Attest { period, key } => attest_cmd(&cli.ledger, parse_period(period)?, key, fmt),
        Command::Report(args) => report_cmd(&cli.ledger, args, fmt),
        Command::Log { last } => log(&cli.ledger, last, fmt),
        Command::Show { seq } => show(&cli.ledger, seq, fmt),
        Command::Verify(args) => match (&args.proof, &args.bundle, &args.report) {
            (Some(file), _, _) => proof_cmd::verify_proof(file, &args.trust, fmt),
            (None, Some(dir), _) => bundle_cmd::verify_bundle(dir, &args, fmt),
            (None, None, Some(pdf)) => verify_report(&cli.ledger, pdf, fmt),
            (None, None, None) => verify_cmd(&cli.ledger, &args, fmt),
        },
        Command::Checkpoint(args) => checkpoint_cmd::run(&cli.ledger, args, fmt),
        Command::Prove(args) => proof_cmd::prove(&cli.ledger, args, fmt),
        Command::Export(args) => bundle_cmd::export(&cli.ledger, args, fmt),
        Command::Demo { dir, pdf } => demo(&dir, &pdf, fmt),
    }
}

fn appended(fmt: Format, a: &vouch::ledger::Appended, what: &str) {
    if fmt == Format::Json {
        print_json(&json!({"seq": a.seq, "hash": hex::encode(a.hash), "kind": a.kind.as_str()}));
    } else {
        out!("entry {}: {what} ({})", a.seq, hex::encode(a.hash));
    }
}

fn getrandom_id(out: &mut [u8; 16]) -> Result<()> {
    let k = SecretKey::generate()?; // 32 fresh random bytes, via the one RNG path we have
    out.copy_from_slice(&k.public().fingerprint().0[..16]);
    Ok(())
}

fn keygen(name: &str, dir: &Path, force: bool, fmt: Format) -> Result<Outcome> {
    let key = SecretKey::generate()?;
    let files = keyfile::write_key_pair(dir, name, &key, force)?;
    let fpr = key.public().fingerprint();
    if fmt == Format::Json {
        print_json(
            &json!({"private_key": files.secret, "public_key": files.public, "fingerprint": fpr.to_string()}),
        );
    } else {
        out!(
            "private key: {} (keep it secret; mode 0600)",
            files.secret.display()
        );
        out!("public key:  {}", files.public.display());
        out!("fingerprint: {fpr}");
    }
    Ok(Outcome::Ok)
}

fn party_list(path: &Path, fmt: Format) -> Result<Outcome> {
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let parties = ledger.store().parties()?;
    let keys = ledger.store().keys()?;
    if fmt == Format::Json {
        let list: Vec<Value> = parties
            .iter()
            .map(|p| {
                let ks: Vec<&str> = keys
                    .iter()
                    .filter(|k| k.party == p.id)
                    .map(|k| k.fingerprint.as_str())
                    .collect();
                json!({"id": p.id, "name": p.name, "role": p.role, "seq": p.seq, "keys": ks})
            })
            .collect();
        print_json(&Value::Array(list));
    } else {
        for p in &parties {
            for k in keys.iter().filter(|k| k.party == p.id) {
                out!("{:<16} {:<12} {}  {}", p.id, p.role, k.fingerprint, p.name);
            }
        }
    }
    Ok(Outcome::Ok)
}

fn record(path: &Path, args: &RecordArgs, fmt: Format) -> Result<Outcome> {
    let key = load_key(&args.key.key)?;
    let mut ledger = Ledger::open(path, Access::ReadWrite)?;
    let fpr = key.public().fingerprint();
    let party = ledger.party_of_key(&fpr)?.ok_or_else(|| {
        Error::new(format!("key {fpr} is not registered in {}", path.display()))
            .hint("a registered party must add it first: vouch party add ID --pubkey FILE.pub --key THEIR.key")
    })?;
    let now = clock::now();
    let store = !args.no_store;
    let adopted = vouch::attestation::adopted::current(&ledger)?;
    let drafts = if let Some(batch) = &args.batch {
        let drafts = evidence::draft_batch(batch, now, store)?;
        if let Some(adopted) = &adopted {
            for (line, d) in &drafts {
                let at = format!("{} line {line}", batch.display());
                let supporting = is_supporting(d);
                vouch::attestation::adopted::check_item(
                    &ledger,
                    adopted,
                    &party.id,
                    d.item.as_deref().unwrap_or(""),
                    supporting,
                    &at,
                )?;
            }
        }
        drafts.into_iter().map(|(_, d)| d).collect()
    } else {
        let mut fields = std::collections::BTreeMap::new();
        for f in &args.fields {
            let (k, v) = evidence::parse_field(f)?;
            if fields.insert(k.clone(), v).is_some() {
                return Err(Error::new(format!("--field {k} is given twice")));
            }
        }
        let input = EvidenceInput {
            item: args.item.clone().unwrap_or_default(),
            kind: args.kind.clone().unwrap_or_default(),
            outcome: args.outcome.clone().unwrap_or_default(),
            performed_at: args.performed_at.clone().unwrap_or_default(),
            fields,
            artifacts: args.artifacts.clone(),
            note: args.note.clone(),
            supporting: args.supporting,
        };
        if let Some(adopted) = &adopted {
            vouch::attestation::adopted::check_item(
                &ledger,
                adopted,
                &party.id,
                &input.item,
                args.supporting,
                "--item",
            )?;
        }
        vec![evidence::draft(&input, now, store)?]
    };
    let bar = progress::Bar::new(drafts.len() as u64 >= 1000);
    let appended = ledger.append(&key, drafts, now, &bar)?;
    let first = appended.first().map_or(0, |a| a.seq);
    let last = appended.last().map_or(0, |a| a.seq);
    if fmt == Format::Json {
        let list: Vec<Value> = appended
            .iter()
            .map(|a| json!({"seq": a.seq, "hash": hex::encode(a.hash)}))
            .collect();
        print_json(&json!({"party": party.id, "entries": list}));
    } else if appended.len() == 1 {
        out!(
            "entry {first}: evidence recorded by {} ({})",
            party.id,
            hex::encode(appended[0].hash)
        );
    } else {
        out!(
            "entries {first}–{last}: {} evidence entries recorded by {}",
            appended.len(),
            party.id
        );
    }
    Ok(Outcome::Ok)
}

/// `vouch matrix adopt FILE --bind ROLE=PARTY… [--variant V…] --key K`.
pub(crate) fn adopt_cmd(
    ledger_path: &Path,
    file: &Path,
    binds: &[String],
    variants: &[String],
    key: &str,
    fmt: Format,
) -> Result<Outcome> {
    let k = load_key(key)?;
    let (matrix, bytes) = vouch::matrix::Matrix::load(file)?;
    let role_names: Vec<&str> = matrix.roles.iter().map(|r| r.id.as_str()).collect();
    let mut bindings = std::collections::BTreeMap::new();
    for b in binds {
        let Some((role, party)) = b.split_once('=') else {
            return Err(Error::new(format!("--bind {b:?} has no '='"))
                .hint("write --bind ROLE=PARTY, e.g. --bind provider=cloudtemple"));
        };
        if !role_names.contains(&role) {
            return Err(Error::new(format!(
                "--bind {b}: unknown role {role:?} in matrix {}",
                matrix.header.id
            ))
            .hint(format!("the matrix's roles are {}", role_names.join(", "))));
        }
        if bindings
            .insert(role.to_string(), party.to_string())
            .is_some()
        {
            return Err(Error::new(format!("--bind {role}=… is given twice")));
        }
    }
    let unbound: Vec<&str> = role_names
        .iter()
        .copied()
        .filter(|r| !bindings.contains_key(*r))
        .collect();
    if !unbound.is_empty() {
        return Err(Error::new(format!(
            "role {} of matrix {} is not bound",
            unbound.join(", "),
            matrix.header.id
        ))
        .hint(format!(
            "bind every role: {}",
            role_names
                .iter()
                .map(|r| format!("--bind {r}=PARTY"))
                .collect::<Vec<_>>()
                .join(" ")
        )));
    }
    for v in variants {
        if !matrix.variants.iter().any(|x| &x.id == v) {
            let known: Vec<&str> = matrix.variants.iter().map(|x| x.id.as_str()).collect();
            return Err(Error::new(format!(
                "--variant {v}: matrix {} has no such variant",
                matrix.header.id
            ))
            .hint(if known.is_empty() {
                "this matrix has no variants".to_string()
            } else {
                format!("variants: {}", known.join(", "))
            }));
        }
    }
    let mref = vouch::attestation::adopted::matrix_ref(&matrix, &bytes);
    let mut ledger = Ledger::open(ledger_path, Access::ReadWrite)?;
    let a = ledger.adopt(&k, mref, bytes, bindings, variants.to_vec(), clock::now())?;
    appended(
        fmt,
        &a,
        &format!(
            "adoption of matrix {} version {} ({} items); the other parties acknowledge it with: vouch cosign {} --ack",
            matrix.header.id,
            matrix.header.version,
            matrix.items.len(),
            a.seq
        ),
    );
    Ok(Outcome::Ok)
}

/// Parse `--period` or `--from/--to` into a period.
pub(crate) fn parse_period(p: args::PeriodArgs) -> Result<Period> {
    let text = match (p.period, p.from, p.to) {
        (Some(p), _, _) => p,
        (None, Some(f), Some(t)) => format!("{f}..{t}"),
        _ => return Err(Error::new("give --period or both --from and --to")),
    };
    Period::parse(&text).ok_or_else(|| {
        Error::new(format!("cannot read the period {text:?}"))
            .hint("use 2026-Q3, 2026-07, 2026, or --from 2026-07-01 --to 2026-09-30")
    })
}

fn status_cmd(path: &Path, period: Period, as_of: Option<String>, fmt: Format) -> Result<Outcome> {
    let now = clock::now();
    let as_of = match as_of {
        Some(t) => evidence::parse_performed_at(&t, now + chrono::Duration::days(36_500))
            .map_err(|e| e.context("--as-of"))?,
        None => now,
    };
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let (report, matrix, adoption) = status::from_ledger(&ledger, &period, as_of, None)?;
    if fmt == Format::Json {
        let mut v = serde_json::to_value(&report).map_err(|e| Error::new(e.to_string()))?;
        v["matrix"] = json!({"id": matrix.header.id, "version": matrix.header.version, "adoption": adoption.seq});
        print_json(&v);
        return Ok(Outcome::Ok);
    }
    out!(
        "{} (version {}, adopted in entry {}) · period {} to {} · as of {}",
        matrix.header.title,
        matrix.header.version,
        adoption.seq,
        period.from,
        period.to,
        report.as_of
    );
    let mut section = String::new();
    for it in &report.items {
        if it.section != section {
            section.clone_from(&it.section);
            let title = matrix
                .sections
                .iter()
                .find(|s| s.id == section)
                .map_or(section.as_str(), |s| s.title.as_str());
            out!("\n{title}");
        }
        for d in &it.duties {
            let who = if d.party.is_empty() {
                "-".to_string()
            } else {
                format!("{} {}", d.party, d.raci)
            };
            let ev = if d.evidence.is_empty() {
                String::new()
            } else {
                format!(
                    " evidence {}",
                    d.evidence
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                )
            };
            let flags = if d.flags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", d.flags.join(" "))
            };
            out!(
                "  {:<40} {:<18} {:<14}{ev}{flags}",
                it.id,
                who,
                d.status.as_str()
            );
        }
    }
    out!("");
    for (party, counts) in &report.summary {
        let parts: Vec<String> = Status::ALL
            .iter()
            .filter_map(|s| {
                counts
                    .get(s.as_str())
                    .map(|n| format!("{} {n}", s.as_str()))
            })
            .collect();
        out!("{party}: {}", parts.join(", "));
    }
    out!("signatures not checked here: run `vouch verify`");
    Ok(Outcome::Ok)
}

fn attest_cmd(path: &Path, period: Period, key: Option<String>, fmt: Format) -> Result<Outcome> {
    let (att, signed) = match key {
        Some(k) => {
            let k = load_key(&k)?;
            let mut ledger = Ledger::open(path, Access::ReadWrite)?;
            let (a, _) = vouch::attestation::attest::sign(&mut ledger, &k, &period, clock::now())?;
            // Re-read, so the new sign-off is listed with the others.
            (
                vouch::attestation::attest::build(&ledger, &period)?,
                Some(a),
            )
        }
        None => {
            let ledger = Ledger::open(path, Access::ReadOnly)?;
            (vouch::attestation::attest::build(&ledger, &period)?, None)
        }
    };
    let digest = hex::encode(att.digest);
    if fmt == Format::Json {
        let doc: Value = serde_json::from_slice(&att.canonical).unwrap_or(Value::Null);
        print_json(
            &json!({"digest": digest, "head": {"seq": att.head.0, "sha256": hex::encode(att.head.1)},
            "signed": signed.map(|a| a.seq), "signoffs": att.signoffs, "attestation": doc}),
        );
        return Ok(Outcome::Ok);
    }
    if let Some(a) = signed {
        out!(
            "entry {}: sign-off of {} to {}",
            a.seq,
            period.from,
            period.to
        );
    }
    out!(
        "attestation {} to {} at head entry {} ({})",
        period.from,
        period.to,
        att.head.0,
        hex::encode(att.head.1)
    );
    out!("digest {digest}");
    if att.signoffs.is_empty() {
        out!("not signed by anyone yet");
    }
    for s in &att.signoffs {
        let state = if s.matches {
            "matches".to_string()
        } else {
            format!("no longer matches (signed at head {})", s.head)
        };
        out!("  signed by {} in entry {}: {state}", s.party, s.seq);
    }
    Ok(Outcome::Ok)
}

fn report_cmd(path: &Path, args: args::ReportArgs, fmt: Format) -> Result<Outcome> {
    if fmt == Format::Toml {
        return Err(Error::new("--format toml is not a report format")
            .hint("use --format pdf (the default), md, json or csv"));
    }
    let period = parse_period(args.period)?;
    let (out_path, force, trust, allow_unverified) = (
        args.out.as_deref(),
        args.force,
        &args.trust,
        args.allow_unverified,
    );
    let which = vouch::attestation::report::Appendix::parse(&args.appendix);
    let trust = if trust.is_empty() {
        None
    } else {
        Some(parse_trust(trust)?)
    };
    let r = match vouch::attestation::report::generate(
        path,
        &period,
        trust,
        which,
        allow_unverified,
    )? {
        vouch::attestation::report::Generated::Report(r) => r,
        vouch::attestation::report::Generated::Refused(v) => {
            print_findings(&v.findings, 5);
            out!(
                "FAILED: the ledger does not verify; no report (use --allow-unverified to mark every page)"
            );
            return Ok(Outcome::Problem);
        }
    };
    let pdf = matches!(fmt, Format::Text | Format::Pdf);
    let bytes = match fmt {
        Format::Json => {
            (serde_json::to_string_pretty(&r).map_err(|e| Error::new(e.to_string()))? + "\n")
                .into_bytes()
        }
        Format::Csv => vouch::attestation::report::to_csv(&r)?.into_bytes(),
        Format::Md => vouch::attestation::report::to_markdown(&r).into_bytes(),
        _ => vouch::attestation::pdf::render(&r)?,
    };
    let default_pdf;
    let target = match out_path {
        Some(p) if p.as_os_str() == "-" => None,
        Some(p) => Some(p),
        None if pdf => {
            default_pdf = Path::new("reports").join(format!(
                "{}-{}.pdf",
                r.matrix.get("id").map_or("report", String::as_str),
                period.label()
            ));
            Some(default_pdf.as_path())
        }
        None => None,
    };
    match target {
        None => {
            if io::stdout().lock().write_all(&bytes).is_err() {
                std::process::exit(0);
            }
        }
        Some(p) => {
            let how = write_output(p, &bytes, force, true)?;
            out!(
                "{} {} ({} bytes; attestation digest {})",
                how.as_str(),
                p.display(),
                bytes.len(),
                r.digest
            );
            if !r.verified {
                out!("UNVERIFIED: the ledger does not verify; every page says so");
            }
        }
    }
    Ok(if r.verified {
        Outcome::Ok
    } else {
        Outcome::Problem
    })
}

/// What [`write_output`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// The file did not exist.
    Created,
    /// It existed with other contents and was replaced (only when asked).
    Replaced,
    /// It already held exactly these bytes.
    Unchanged,
}

impl Written {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Written::Created => "wrote",
            Written::Replaced => "replaced",
            Written::Unchanged => "unchanged",
        }
    }
}

/// Write an output file whole or not at all: the bytes go to a temporary file beside it,
/// which is synced and renamed into place, so a failure never leaves half a file. An
/// existing file with other contents is an error unless `replace`; one with the same
/// bytes is left alone. Missing parent directories are created.
/// `force_flag` says whether the command offers `--force`, for the hint.
pub(crate) fn write_output(
    path: &Path,
    bytes: &[u8],
    replace: bool,
    force_flag: bool,
) -> Result<Written> {
    let existed = match std::fs::read(path) {
        Ok(old) if old == bytes => return Ok(Written::Unchanged),
        Ok(_) if !replace => {
            return Err(Error::new(format!(
                "{}: already exists with other contents",
                path.display()
            ))
            .hint(if force_flag {
                "choose another --out, or pass --force to replace it"
            } else {
                "choose another --out, or remove the file first"
            }));
        }
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(Error::io(path, &e)),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".vouch-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, &e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(path, &e))?;
    if existed {
        tmp.persist(path).map_err(|e| Error::io(path, &e.error))?;
        Ok(Written::Replaced)
    } else {
        tmp.persist_noclobber(path)
            .map_err(|e| Error::io(path, &e.error))?;
        Ok(Written::Created)
    }
}

fn is_supporting(d: &vouch::ledger::Draft) -> bool {
    serde_json::from_slice::<Value>(&d.payload)
        .ok()
        .and_then(|v| v.get("supporting").and_then(Value::as_bool))
        .unwrap_or(false)
}

fn party_names(ledger: &Ledger) -> Result<HashMap<String, String>> {
    Ok(ledger
        .store()
        .keys()?
        .into_iter()
        .map(|k| (k.fingerprint, k.party))
        .collect())
}

/// The first 12 characters of a hash or fingerprint, then `…`.
fn short(s: &str) -> String {
    if s.chars().count() <= 12 {
        return s.to_string();
    }
    s.chars().take(12).chain(['…']).collect()
}

fn summary(kind: &str, payload_bytes: &[u8]) -> String {
    let v: Value = serde_json::from_slice(payload_bytes).unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    match kind {
        "genesis" | "party" => format!("{} {} ({})", s("role"), s("id"), s("name")),
        "evidence" => format!(
            "{} {} {} performed {}",
            s("item"),
            s("kind"),
            s("outcome"),
            s("performed_at")
        ),
        "adoption" => {
            let m = &v["matrix"];
            let g = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
            let sha = g("sha256");
            format!(
                "matrix {} version {} ({}…)",
                g("id"),
                g("version"),
                sha.get(..12).unwrap_or(&sha)
            )
        }
        "cosign" => {
            let reason = v
                .get("reason")
                .and_then(Value::as_str)
                .map(|r| format!(": {r}"));
            format!(
                "{} of entry {}{}",
                s("verdict"),
                v["entry"],
                reason.unwrap_or_default()
            )
        }
        "retraction" => format!("retracts entry {}: {}", v["entry"], s("reason")),
        "waiver" => format!("{} not applicable: {}", s("item"), s("reason")),
        "delegation" => format!("{} delegated to {}", s("item"), s("to")),
        "signoff" => format!(
            "signs period {}..{}: digest {} at head {}",
            v["period"]["from"].as_str().unwrap_or_default(),
            v["period"]["to"].as_str().unwrap_or_default(),
            short(&s("digest")),
            v["head"]
        ),
        "checkpoint" => format!(
            "checkpoint of entries 1–{}: root {}",
            v["size"],
            short(&s("root"))
        ),
        "key-rotation" => format!("{} rotates to a new key", s("party")),
        "key-revocation" => format!(
            "revokes key {} since {}: {}",
            short(&s("key")),
            s("since"),
            s("reason")
        ),
        _ => String::new(),
    }
}

fn log(path: &Path, last: Option<u64>, fmt: Format) -> Result<Outcome> {
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let names = party_names(&ledger)?;
    let (_, max) = ledger.store().count()?;
    let mut after = match last {
        Some(n) => max.saturating_sub(i64::try_from(n).unwrap_or(i64::MAX)),
        None => 0,
    };
    let mut json_rows = Vec::new();
    loop {
        let rows = ledger.store().entries_after(after, 4096)?;
        if rows.is_empty() {
            break;
        }
        after = rows.last().map_or(after, |r| r.seq);
        for r in rows {
            let party = names
                .get(&r.signer)
                .cloned()
                .unwrap_or_else(|| "(unregistered)".into());
            if fmt == Format::Json {
                let p: Value = serde_json::from_slice(&r.payload).unwrap_or(Value::Null);
                json_rows.push(
                    json!({"seq": r.seq, "time": r.time, "kind": r.kind, "party": party,
                    "signer": r.signer, "hash": hex::encode(&r.hash), "payload": p}),
                );
            } else {
                out!(
                    "{:>6}  {}  {:<10}  {:<12}  {}",
                    r.seq,
                    r.time,
                    r.kind,
                    party,
                    summary(&r.kind, &r.payload)
                );
            }
        }
    }
    if fmt == Format::Json {
        print_json(&Value::Array(json_rows));
    }
    Ok(Outcome::Ok)
}

fn show(path: &Path, seq: u64, fmt: Format) -> Result<Outcome> {
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let Some(e) = ledger.entry(seq)? else {
        let (_, max) = ledger.store().count()?;
        return Err(Error::new(format!("no entry {seq} in {}", path.display()))
            .hint(format!("entries run from 1 to {max}")));
    };
    let names = party_names(&ledger)?;
    let signer = e.header.signer.to_string();
    let party = names
        .get(&signer)
        .cloned()
        .unwrap_or_else(|| "(unregistered)".into());
    let text = String::from_utf8_lossy(&e.body).into_owned();
    let p: Value = serde_json::from_slice(&e.payload).unwrap_or(Value::Null);
    let hash = evidence::sha256_hex(&e.body);
    if fmt == Format::Json {
        print_json(
            &json!({"seq": seq, "hash": hash, "time": format_time(&e.header.time), "kind": e.header.kind.as_str(),
            "signer": signer, "party": party, "entry": text, "signature": hex::encode(&e.signature),
            "payload": p, "payload_bytes": String::from_utf8_lossy(&e.payload)}),
        );
    } else {
        out!("entry {seq}: {} by {party}, hash {hash}", e.header.kind);
        out!("--- signed entry text ---");
        out!("{}", text.trim_end());
        out!("--- signature (Ed25519, hex) ---");
        out!("{}", hex::encode(&e.signature));
        out!("--- payload ---");
        out!("{}", serde_json::to_string_pretty(&p).unwrap_or_default());
    }
    Ok(Outcome::Ok)
}

pub(crate) fn parse_trust(items: &[String]) -> Result<Vec<Fingerprint>> {
    items
        .iter()
        .map(|t| {
            if let Some(f) = Fingerprint::parse(t) {
                return Ok(f);
            }
            let p = Path::new(t);
            if p.exists() {
                return keyfile::load_public(p).map(|k: PublicKey| k.fingerprint());
            }
            Err(Error::new(format!(
                "--trust {t:?} is neither a public key file nor a fingerprint"
            ))
            .hint("pass a .pub file from `vouch keygen` or the 64-hex fingerprint it printed"))
        })
        .collect()
}

fn verify_cmd(path: &Path, args: &VerifyArgs, fmt: Format) -> Result<Outcome> {
    let opts = Options {
        trust: if args.trust.is_empty() {
            None
        } else {
            Some(parse_trust(&args.trust)?)
        },
        artifacts: args.artifacts,
        all: args.all,
    };
    let bar = progress::Bar::new(true);
    let (report, noted) = verify::verify_noting_revoked(path, &opts, &bar)?;
    // Checkpoints held outside the ledger (FORMAT.md §13.7).
    let mut checks = Vec::new();
    if !args.checkpoint.is_empty() {
        let ledger = Ledger::open(path, Access::ReadOnly)?;
        for file in &args.checkpoint {
            let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, &e))?;
            let c = ledger
                .check_checkpoint(&text, opts.trust.as_deref())
                .map_err(|e| e.context(file.display()))?;
            checks.push((file, c));
        }
    }
    let checkpoints_ok = checks.iter().all(|(_, c)| c.ok());
    let head = report.head.map(|(s, h)| (s, hex::encode(h)));
    if fmt == Format::Json {
        let findings = findings_json(&report.findings);
        print_json(&json!({
            "ok": report.ok(), "ledger_id": report.ledger_id, "entries": report.entries,
            "head": head.as_ref().map(|(s, h)| json!({"seq": s, "hash": h})),
            "merkle_root": report.merkle_root.map(hex::encode),
            "signatures": report.signatures, "artifacts_checked": report.artifacts_checked,
            "trust": if report.pinned { "pinned" } else { "self-consistency only" },
            "unused_pins": report.unused_pins.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "findings": findings, "stopped_early": report.stopped_early,
            "signed_after_revocation": key_cmd::revocation_notes_json(&noted),
            "checkpoints": checkpoint_cmd::checks_json(&checks),
        }));
    } else {
        print_findings(&report.findings, usize::MAX);
        let head_s = head
            .as_ref()
            .map_or("none".to_string(), |(s, h)| format!("entry {s}, {h}"));
        if report.ok() {
            out!(
                "ok: {} entries, {} signatures, chain intact; head {head_s}",
                report.entries,
                report.signatures
            );
            if let Some(root) = report.merkle_root {
                out!(
                    "merkle: root {} of the {} entries (RFC 6962; schema/FORMAT.md §12)",
                    hex::encode(root),
                    report.entries
                );
            }
        } else if report.stopped_early {
            out!("FAILED: stopped at the first problem (use --all to list every problem)");
        } else {
            out!(
                "FAILED: {} problem(s) in {} entries",
                report.findings.len(),
                report.entries
            );
        }
        for line in key_cmd::revocation_notes(&noted) {
            out!("{line}");
        }
        if args.artifacts {
            out!(
                "artefacts: {} stored artefact(s) re-hashed",
                report.artifacts_checked
            );
        }
        if report.pinned {
            if report.ok() {
                out!(
                    "trust: every party key is one of the {} pinned key(s)",
                    args.trust.len()
                );
            }
            for u in &report.unused_pins {
                out!("note: pinned key {u} is not used by any party in this ledger");
            }
        } else {
            out!(
                "trust: self-consistency only; no keys pinned (pin the parties' keys with --trust FILE.pub|FINGERPRINT)"
            );
        }
        checkpoint_cmd::print_checks(&checks);
    }
    Ok(if report.ok() && checkpoints_ok {
        Outcome::Ok
    } else {
        Outcome::Problem
    })
}

/// `vouch verify --report FILE.pdf`: make the report again from the ledger, with the period
/// and options the PDF records, and compare.
fn verify_report(path: &Path, pdf: &Path, fmt: Format) -> Result<Outcome> {
    let bytes = std::fs::read(pdf).map_err(|e| Error::io(pdf, &e))?;
    let stamp =
        vouch::attestation::pdf::read_stamp(&bytes).map_err(|e| e.context(pdf.display()))?;
    let period = Period::parse(&stamp.period).ok_or_else(|| {
        Error::new(format!(
            "{}: the report stamp's period {:?} does not parse",
            pdf.display(),
            stamp.period
        ))
    })?;
    let pins = stamp
        .options
        .trust
        .iter()
        .map(|f| {
            Fingerprint::parse(f).ok_or_else(|| {
                Error::new(format!(
                    "{}: the report stamp pins {f:?}, not a fingerprint",
                    pdf.display()
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let appendix = vouch::attestation::report::Appendix::parse(&stamp.options.appendix);
    let now = match vouch::attestation::report::generate(
        path,
        &period,
        (!pins.is_empty()).then_some(pins),
        appendix,
        false,
    )? {
        vouch::attestation::report::Generated::Report(r) => r,
        vouch::attestation::report::Generated::Refused(v) => {
            print_findings(&v.findings, 5);
            out!("FAILED: the ledger does not verify; the report cannot be checked against it");
            return Ok(Outcome::Problem);
        }
    };
    let same_bytes = vouch::attestation::pdf::render(&now)? == bytes;
    let same_digest = now.digest == stamp.digest && now.head == stamp.head;
    // The ledger must still hold the entries the report was built on.
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let held = match &stamp.checkpoint {
        None => None,
        Some(text) => {
            let cp = vouch::format::checkpoint::Checkpoint::parse_vouch(text, &ledger.id()?)
                .map_err(|e| e.context(format!("{}: report checkpoint", pdf.display())))?;
            let entries = ledger.entries()?;
            let relation = Relation::of(entries, cp.size, &cp.root, |n| {
                ledger.store().merkle_root(n)
            })?;
            Some((cp.size, relation, entries))
        }
    };
    let unchanged_ledger = matches!(held, Some((_, Relation::Same, _)));
    let ok = same_digest
        && held.as_ref().is_none_or(|(_, r, _)| r.ok())
        && (same_bytes || !unchanged_ledger);
    if fmt == Format::Json {
        print_json(&json!({
            "ok": ok, "file": pdf, "identical": same_bytes,
            "digest": {"report": stamp.digest, "ledger": now.digest},
            "head": {"report": stamp.head.0, "ledger": now.head.0},
            "checkpoint": held.as_ref().map(|(s, r, n)| json!({"size": s, "held": r.ok(), "ledger_entries": n})),
        }));
    } else {
        let name = pdf.display();
        if same_bytes {
            out!("ok: {name} is byte for byte the report this ledger gives");
        } else if unchanged_ledger {
            out!(
                "FAILED: {name} differs from the report this unchanged ledger gives: the PDF was altered"
            );
        } else {
            out!(
                "note: {name} is not byte for byte the report the ledger gives now (the ledger has entries the PDF predates)"
            );
        }
        if same_digest {
            out!(
                "attestation: still matches (digest {} at head entry {})",
                stamp.digest,
                stamp.head.0
            );
        } else {
            out!(
                "FAILED: attestation: the PDF says digest {} at head entry {}; the ledger now gives {} at head entry {}",
                stamp.digest,
                stamp.head.0,
                now.digest,
                now.head.0
            );
        }
        match held {
            Some((s, Relation::Same, _)) => {
                out!(
                    "checkpoint: the ledger holds exactly the {s} entries the report was built on"
                );
            }
            Some((s, Relation::Extends { added }, _)) => out!(
                "checkpoint: the ledger holds the {s} entries the report was built on, and {added} more"
            ),
            Some((s, Relation::Truncated { ledger: n }, _)) => out!(
                "FAILED: checkpoint: the report was built on {s} entries; the ledger has {n} (truncated or rolled back)"
            ),
            Some((s, Relation::Forked { .. }, _)) => out!(
                "FAILED: checkpoint: entries 1–{s} no longer hash to the root the report was built on (rewritten or forked)"
            ),
            None => out!(
                "note: the report records no checkpoint (it was made from an unverified ledger)"
            ),
        }
    }
    Ok(if ok { Outcome::Ok } else { Outcome::Problem })
}

fn demo(dir: &Path, pdf_path: &Path, fmt: Format) -> Result<Outcome> {
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
        Some(trust),
        vouch::attestation::report::Appendix::All,
        false,
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
            "  {} entries: adoption of the Cloud Temple matrix (acknowledged), {} evidence entries, co-signatures",
            s.entries,
            s.evidence
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
        out!(
            "next: vouch --ledger {l} status --period {} --as-of 2026-10-15",
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
            "      vouch --ledger {l} verify --artifacts {}",
            pins.join(" ")
        );
        out!(
            "      vouch --ledger {l} report --period {} --appendix all {} --out my-copy.pdf   # the same bytes as {}",
            vouch::demo::PERIOD,
            pins.join(" "),
            pdf_path.display()
        );
    }
    Ok(if s.verified {
        Outcome::Ok
    } else {
        Outcome::Problem
    })
}
