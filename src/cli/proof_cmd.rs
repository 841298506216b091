//! `vouch prove` and `vouch verify --proof`: inclusion and consistency proofs that are
//! checked without the ledger (schema/FORMAT.md §15; the library side is `vouch::proof`).

use serde_json::{Value, json};
use std::io::{self, Write as _};
use std::path::Path;

use super::args::{Format, ProveArgs};
use super::output::{Outcome, print_json, write_output};
use vouch::crypto::{Fingerprint, PublicKey, keyfile};
use vouch::format::proof::{
    self, CheckpointFacts, ConsistencyProof, InclusionProof, Proof, SignedCheckpoint,
};
use vouch::ledger::Access;
use vouch::ledger::Ledger;
use vouch::ledger::prove::{self, Built};
use vouch::{Error, Result};

/// Read a file of at most `max` bytes.
fn read_limited(path: &Path, max: usize, what: &str) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
    if meta.is_dir() {
        return Err(Error::new(format!(
            "{}: is a directory, not {what}",
            path.display()
        )));
    }
    if meta.len() > max as u64 {
        return Err(Error::new(format!(
            "{}: {} bytes is too large for {what} (at most {max})",
            path.display(),
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| Error::io(path, &e))
}

/// A signed checkpoint file (§13.2), errors naming the file and line.
fn read_checkpoint(path: &Path) -> Result<SignedCheckpoint> {
    let bytes = read_limited(
        path,
        vouch::format::checkpoint::MAX_NOTE_BYTES,
        "a checkpoint",
    )?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Error::new(format!("{}: not UTF-8 text", path.display()))
            .hint("pass a checkpoint file written by `vouch checkpoint`")
    })?;
    SignedCheckpoint::parse(text).map_err(|e| e.context(path.display()))
}

fn hex_root(facts: &CheckpointFacts) -> String {
    hex::encode(facts.root)
}

/// `vouch prove`.
pub fn prove(ledger_path: &Path, args: ProveArgs, fmt: Format) -> Result<Outcome> {
    let ledger = Ledger::open(ledger_path, Access::ReadOnly)?;
    match (&args.from, &args.to, args.seq) {
        (Some(from), Some(to), _) => {
            let old = read_checkpoint(from)?;
            let new = read_checkpoint(to)?;
            let built = prove::prove_consistency(&ledger, &old, &new)?;
            let p = match built {
                Built::Proof(p) => p,
                Built::Refused(why) => return refused(&why, fmt),
            };
            let (m, n) = (old.checkpoint.size, new.checkpoint.size);
            let out_path = args
                .out
                .clone()
                .unwrap_or_else(|| std::path::PathBuf::from(format!("consistency-{m}-{n}.proof")));
            let written = write_output(&out_path, p.to_string().as_bytes(), false, false)?;
            if fmt == Format::Json {
                print_json(&json!({
                    "ok": true, "proof": "consistency", "out": out_path,
                    "written": written.as_str(), "old_size": m, "new_size": n,
                    "old_root": hex::encode(old.checkpoint.root),
                    "new_root": hex::encode(new.checkpoint.root),
                    "hashes": p.hashes.len(),
                }));
            } else {
                out!(
                    "{} {}: consistency proof that the checkpoint of {n} entries extends the checkpoint of {m} ({} hashes)",
                    written.as_str(),
                    out_path.display(),
                    p.hashes.len()
                );
            }
            Ok(Outcome::Ok)
        }
        (_, _, Some(seq)) => {
            let (cp, source) = match &args.checkpoint {
                Some(file) => (read_checkpoint(file)?, file.display().to_string()),
                None => match prove::newest_recorded_checkpoint(&ledger)? {
                    Some((at, cp)) => (cp, format!("the checkpoint recorded as entry {at}")),
                    None => {
                        return Err(Error::new(format!(
                            "{} has no recorded checkpoint to prove entry {seq} against",
                            ledger_path.display()
                        ))
                        .hint("record one with `vouch checkpoint --key K` first, or pass --checkpoint FILE"));
                    }
                },
            };
            let built = prove::prove_inclusion(&ledger, seq, &cp)?;
            let p = match built {
                Built::Proof(p) => p,
                Built::Refused(why) => return refused(&why, fmt),
            };
            let out_path = args
                .out
                .clone()
                .unwrap_or_else(|| std::path::PathBuf::from(format!("entry-{seq}.proof")));
            let written = write_output(&out_path, p.to_string().as_bytes(), false, false)?;
            let kind = vouch::format::entry::EntryHeader::parse(&p.entry)
                .map(|h| h.kind.as_str().to_string())
                .unwrap_or_default();
            let size = cp.checkpoint.size;
            if fmt == Format::Json {
                print_json(&json!({
                    "ok": true, "proof": "inclusion", "out": out_path,
                    "written": written.as_str(), "seq": seq, "kind": kind,
                    "checkpoint": {"source": source, "size": size,
                                   "root": hex::encode(cp.checkpoint.root)},
                    "hashes": p.hashes.len(),
                }));
            } else {
                out!(
                    "{} {}: inclusion proof of entry {seq} ({kind}) in the checkpoint of {size} entries ({source}; {} hashes)",
                    written.as_str(),
                    out_path.display(),
                    p.hashes.len()
                );
            }
            Ok(Outcome::Ok)
        }
        _ => Err(Error::new("give SEQ, or both --from and --to")
            .hint("vouch prove SEQ --out FILE, or vouch prove --from CP1 --to CP2 --out FILE")),
    }
}

/// The ledger cannot give the proof: exit 1, nothing written.
fn refused(why: &str, fmt: Format) -> Result<Outcome> {
    if fmt == Format::Json {
        print_json(&json!({"ok": false, "problems": [why]}));
    } else {
        out!("FAILED: {why}");
    }
    Ok(Outcome::Problem)
}

/// The keys given with --trust, each with the argument that named it. A proof is checked
/// without the ledger, so a signature can only be checked with the key itself: fingerprints
/// are refused with an explanation.
fn load_trust(items: &[String]) -> Result<Vec<(String, PublicKey)>> {
    if items.is_empty() {
        return Err(Error::new(
            "verify --proof needs the keys to trust: pass --trust FILE.pub for each party whose signatures count",
        )
        .hint("a proof only shows something when its signatures are checked against keys you got from the parties themselves"));
    }
    items
        .iter()
        .map(|t| {
            if Fingerprint::parse(t).is_some() {
                return Err(Error::new(format!(
                    "--trust {t}: a fingerprint cannot check a signature; verify --proof works without the ledger, so it needs the public key itself"
                ))
                .hint("pass the party's public key file (the .pub from `vouch keygen`); `vouch verify --trust` on a ledger accepts fingerprints"));
            }
            let p = Path::new(t);
            if !p.exists() {
                return Err(Error::new(format!("--trust {t:?}: no such public key file"))
                    .hint("pass a .pub file from `vouch keygen` (SPKI PEM, BEGIN PUBLIC KEY)"));
            }
            keyfile::load_public(p).map(|k| (t.clone(), k))
        })
        .collect()
}

/// `fingerprint (FILE.pub)` for a key given with --trust.
fn label(trust: &[(String, PublicKey)], f: &Fingerprint) -> String {
    match trust.iter().find(|(_, k)| k.fingerprint() == *f) {
        Some((arg, _)) => format!("{f} ({arg})"),
        None => f.to_string(),
    }
}

fn signers(trust: &[(String, PublicKey)], facts: &CheckpointFacts) -> String {
    if facts.signed_by.is_empty() {
        return "no trusted key".to_string();
    }
    facts
        .signed_by
        .iter()
        .map(|f| label(trust, f))
        .collect::<Vec<_>>()
        .join(", ")
}

fn facts_json(facts: &CheckpointFacts) -> Value {
    json!({
        "origin": facts.origin, "ledger_id": facts.ledger.to_string(), "size": facts.size,
        "root": hex_root(facts),
        "signed_by": facts.signed_by.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// `vouch verify --proof FILE --trust …`.
pub fn verify_proof(file: &Path, trust: &[String], fmt: Format) -> Result<Outcome> {
    let bytes = read_limited(file, proof::MAX_PROOF_BYTES, "a proof")?;
    let trust = load_trust(trust)?;
    let keys: Vec<PublicKey> = trust.iter().map(|(_, k)| *k).collect();
    let parsed = Proof::parse(&bytes).map_err(|e| e.context(file.display()))?;
    let problems = match &parsed {
        Proof::Inclusion(p) => inclusion(file, p, &trust, &keys, fmt),
        Proof::Consistency(p) => consistency(file, p, &trust, &keys, fmt),
    };
    Ok(if problems {
        Outcome::Problem
    } else {
        Outcome::Ok
    })
}

fn print_problems(problems: &[String]) {
    for p in problems {
        out!("problem: {p}");
    }
    out!(
        "FAILED: the proof does not hold ({} problem{})",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
}

/// Check and print an inclusion proof; `true` if a check failed.
fn inclusion(
    file: &Path,
    p: &InclusionProof,
    trust: &[(String, PublicKey)],
    keys: &[PublicKey],
    fmt: Format,
) -> bool {
    let r = p.verify(keys);
    let cp = &r.checkpoint;
    if fmt == Format::Json {
        let entry = r.entry.as_ref().map(|h| {
            json!({"seq": h.seq, "kind": h.kind.as_str(), "signer": h.signer.to_string(),
                   "time": vouch::format::entry::format_time(&h.time),
                   "ledger_id": h.ledger.to_string()})
        });
        print_json(&json!({
            "ok": r.ok(), "proof": "inclusion", "file": file, "seq": r.seq,
            "entry": entry, "entry_hash": hex::encode(r.entry_hash),
            "checkpoint": facts_json(cp), "problems": r.problems,
        }));
    } else if r.ok() {
        let h = r.entry.as_ref();
        out!(
            "ok: entry {} is in the checkpoint of {} entries of ledger {}",
            r.seq,
            cp.size,
            cp.ledger
        );
        if let Some(h) = h {
            out!(
                "entry {}: {}, ledger time {}, hash {}",
                h.seq,
                h.kind,
                vouch::format::entry::format_time(&h.time),
                hex::encode(r.entry_hash)
            );
            out!("entry signed by: {}", label(trust, &h.signer));
        }
        out!("checkpoint: {} entries, root {}", cp.size, hex_root(cp));
        out!("checkpoint signed by: {}", signers(trust, cp));
    } else {
        print_problems(&r.problems);
    }
    !r.ok()
}

/// Check and print a consistency proof; `true` if a check failed.
fn consistency(
    file: &Path,
    p: &ConsistencyProof,
    trust: &[(String, PublicKey)],
    keys: &[PublicKey],
    fmt: Format,
) -> bool {
    let r = p.verify(keys);
    if fmt == Format::Json {
        print_json(&json!({
            "ok": r.ok(), "proof": "consistency", "file": file,
            "old": facts_json(&r.old), "new": facts_json(&r.new), "problems": r.problems,
        }));
    } else if r.ok() {
        out!(
            "ok: the checkpoint of {} entries extends the checkpoint of {} entries of ledger {}{}",
            r.new.size,
            r.old.size,
            r.new.ledger,
            if r.old.size > 0 {
                format!(" (entries 1–{} are unchanged)", r.old.size)
            } else {
                String::new()
            }
        );
        out!(
            "older checkpoint: {} entries, root {}, signed by {}",
            r.old.size,
            hex_root(&r.old),
            signers(trust, &r.old)
        );
        out!(
            "newer checkpoint: {} entries, root {}, signed by {}",
            r.new.size,
            hex_root(&r.new),
            signers(trust, &r.new)
        );
    } else {
        print_problems(&r.problems);
    }
    !r.ok()
}
