//! `vouch checkpoint` and `vouch checkpoint cosign`: signed checkpoints (C2SP signed
//! notes, `schema/FORMAT.md` §13) that parties and auditors keep outside the ledger.

use serde_json::json;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::args::{CheckpointArgs, CheckpointCommand, Format};
use super::input::load_key;
use super::output::{Outcome, print_findings, print_json, write_output};
use vouch::format::checkpoint::{Note, vouch_origin};
use vouch::ledger::Access;
use vouch::ledger::Ledger;
use vouch::ledger::checkpoints::Relation;
use vouch::ledger::verify::{self, Options};
use vouch::{Error, Result};

/// `vouch checkpoint …`.
pub fn run(ledger: &Path, args: CheckpointArgs, fmt: Format) -> Result<Outcome> {
    match args.cmd {
        Some(CheckpointCommand::Cosign { file, key }) => cosign(ledger, &file, &key.key, fmt),
        None => {
            let key = args.key.ok_or_else(|| {
                Error::new("say which key signs the checkpoint")
                    .hint("vouch checkpoint --key keys/NAME.key (or set VOUCH_KEY)")
            })?;
            make(ledger, args.out, &key, fmt)
        }
    }
}

fn make(path: &Path, out: Option<PathBuf>, key: &str, fmt: Format) -> Result<Outcome> {
    let key = load_key(key)?;
    let mut ledger = Ledger::open(path, Access::ReadWrite)?;
    let size = ledger.size()?;
    let out = out.unwrap_or_else(|| PathBuf::from(format!("checkpoint-{size}.txt")));
    // Refuse a taken --out before anything is recorded.
    if out.exists() {
        return Err(Error::new(format!("{}: already exists", out.display()))
            .hint("choose another --out; checkpoint files are never overwritten"));
    }
    let (entry, note) = ledger.checkpoint(&key, vouch::clock::now())?;
    let size = entry.seq - 1;
    let text = note.to_string();
    write_output(&out, text.as_bytes(), false, false)?;
    if fmt == Format::Json {
        print_json(&json!({
            "file": out, "size": size, "entry": entry.seq,
            "note": text,
        }));
    } else {
        out!(
            "checkpoint of entries 1–{size} recorded as entry {}; wrote {}",
            entry.seq,
            out.display()
        );
        out!(
            "keep it outside the ledger: `vouch verify --checkpoint FILE` proves the ledger still holds what it commits to"
        );
    }
    Ok(Outcome::Ok)
}

fn cosign(path: &Path, file: &Path, key: &str, fmt: Format) -> Result<Outcome> {
    let key = load_key(key)?;
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, &e))?;
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let (party, _) = ledger.signer_party(&key)?;
    // A co-signature says: I verified the ledger and it holds what this commits to.
    let opts = Options {
        now: Some(vouch::clock::now()),
        ..Options::default()
    };
    let v = verify::verify(path, &opts, &vouch::ledger::NoProgress)?;
    if !v.ok() {
        print_findings(&v.findings, 5);
        out!("FAILED: the ledger does not verify; not co-signing");
        return Ok(Outcome::Problem);
    }
    let check = ledger
        .check_checkpoint(&text, None)
        .map_err(|e| e.context(file.display()))?;
    if let Some(p) = &check.signature_problem {
        out!("FAILED: {}: {p}; not co-signing", file.display());
        return Ok(Outcome::Problem);
    }
    if !check.relation.ok() {
        out!(
            "FAILED: {}: {}; not co-signing",
            file.display(),
            describe(&check.relation, check.checkpoint.size)
        );
        return Ok(Outcome::Problem);
    }
    let mut note = Note::parse(&text)?;
    note.cosign(&vouch_origin(&ledger.id()?), &key)
        .map_err(|e| e.context(file.display()))?;
    let new = note.to_string();
    write_output(file, new.as_bytes(), true, false)?;
    if fmt == Format::Json {
        print_json(&json!({
            "file": file, "party": party, "size": check.checkpoint.size,
            "signatures": note.signatures.len(),
        }));
    } else {
        out!(
            "{party} co-signed the checkpoint of entries 1–{} in {} ({} signatures)",
            check.checkpoint.size,
            file.display(),
            note.signatures.len()
        );
    }
    Ok(Outcome::Ok)
}

/// The relation in words.
pub(crate) fn describe(r: &Relation, size: u64) -> String {
    match r {
        Relation::Same => format!("the ledger holds exactly its {size} entries"),
        Relation::Extends { added } => {
            format!("the ledger holds its {size} entries and extends it by {added}")
        }
        Relation::Truncated { ledger } => format!(
            "it commits to {size} entries but the ledger has {ledger}: {} cut off (truncated or rolled back)",
            if ledger + 1 == size {
                format!("entry {size} was")
            } else {
                format!("entries {}–{size} were", ledger + 1)
            }
        ),
        Relation::Forked { root } => format!(
            "entries 1–{size} no longer hash to its root (the ledger's root there is {}): the ledger was rewritten or forked",
            hex::encode(root)
        ),
    }
}

/// The lines `vouch verify --checkpoint` prints, one for each checkpoint file checked:
/// `FAILED: checkpoint FILE: …` with its signature problem and how the ledger stands to it,
/// or who signed it and how the ledger stands to it.
pub(crate) fn print_checks(checks: &[(&PathBuf, vouch::ledger::checkpoints::CheckpointCheck)]) {
    for (file, c) in checks {
        let what = describe(&c.relation, c.checkpoint.size);
        if c.ok() {
            let who: Vec<&str> = c.signed_by.iter().map(|(p, _)| p.as_str()).collect();
            out!(
                "checkpoint {}: signed by {}; {what}",
                file.display(),
                if who.is_empty() {
                    "nobody trusted".to_string()
                } else {
                    who.join(", ")
                }
            );
            continue;
        }
        // The signature problem first, then how the ledger stands to it (the problem, or
        // what holds despite the signature).
        let mut parts: Vec<String> = c.signature_problem.iter().cloned().collect();
        parts.push(what);
        out!(
            "FAILED: checkpoint {}: {}",
            file.display(),
            parts.join("; ")
        );
    }
}

/// The JSON `vouch verify --format json` gives for each checkpoint file checked.
pub(crate) fn checks_json(
    checks: &[(&PathBuf, vouch::ledger::checkpoints::CheckpointCheck)],
) -> serde_json::Value {
    checks
        .iter()
        .map(|(f, c)| {
            json!({
                "file": f, "size": c.checkpoint.size, "ok": c.ok(),
                "signed_by": c.signed_by.iter().map(|(p, fp)| json!({"party": p, "fingerprint": fp.to_string()})).collect::<Vec<_>>(),
                "signature_problem": c.signature_problem,
                "relation": describe(&c.relation, c.checkpoint.size),
            })
        })
        .collect()
}
