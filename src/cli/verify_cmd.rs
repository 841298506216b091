//! `vouch verify` of a ledger (with checkpoints held outside it, `schema/FORMAT.md` §13.7)
//! and `vouch verify --report` of a PDF report against the ledger.

use serde_json::json;
use std::io::{self, Write as _};
use std::path::Path;

use super::args::{Format, VerifyArgs};
use super::input::parse_trust;
use super::output::{Outcome, findings_json, print_findings, print_json};
use super::{checkpoint_cmd, key_cmd, progress};
use vouch::crypto::Fingerprint;
use vouch::ledger::Access;
use vouch::ledger::Ledger;
use vouch::ledger::checkpoints::Relation;
use vouch::ledger::verify::{self, Options};
use vouch::period::Period;
use vouch::{Error, Result};

pub(super) fn verify(path: &Path, args: &VerifyArgs, fmt: Format) -> Result<Outcome> {
    let opts = Options {
        trust: if args.trust.is_empty() {
            None
        } else {
            Some(parse_trust(&args.trust)?)
        },
        artifacts: args.artifacts,
        all: args.all,
        now: Some(vouch::clock::now()),
        since: super::input::read_since(path, &args.since, &args.trust)?,
    };
    let bar = progress::Bar::new(true);
    let (mut report, noted) = verify::verify_noting_revoked(path, &opts, &bar)?;
    // Sign-offs: each digest is the attestation of its period recomputed at its head, and
    // its signer may sign (schema/STATUS.md §9). Only a ledger that verifies can be judged.
    if report.ok() {
        let ledger = Ledger::open(path, Access::ReadOnly)?;
        for p in vouch::attestation::attest::check_signoffs(&ledger)? {
            report.findings.push(verify::Finding {
                seq: p.seq,
                check: verify::Check::Reference,
                what: p.what,
            });
        }
    }
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
            "since": report.since.as_ref().map(since_json),
        }));
    } else {
        print_findings(&report.findings, usize::MAX);
        // One verdict, from every check made (the ledger, its sign-offs, the checkpoints
        // held outside it): never "ok" when any of them failed.
        let head_s = head
            .as_ref()
            .map_or("none".to_string(), |(s, h)| format!("entry {s}, {h}"));
        if !report.ok() && report.stopped_early {
            out!("FAILED: stopped at the first problem (use --all to list every problem)");
        } else if !report.ok() {
            out!(
                "FAILED: {} problem(s) in {} entries",
                report.findings.len(),
                report.entries
            );
        } else if !checkpoints_ok {
            let bad = checks.iter().filter(|(_, c)| !c.ok()).count();
            out!(
                "FAILED: {bad} of {} checkpoint(s) not held; the {} entries are consistent on their own (head {head_s})",
                checks.len(),
                report.entries
            );
        } else {
            out!(
                "ok: {} entries, {} signatures, chain intact; head {head_s}",
                report.entries,
                report.signatures
            );
        }
        if report.ok()
            && let Some(root) = report.merkle_root
        {
            out!(
                "merkle: root {} of the {} entries (RFC 6962; schema/FORMAT.md §12)",
                hex::encode(root),
                report.entries
            );
        }
        if let Some(c) = &report.since {
            out!("{}", since_words(c));
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

/// How a verification from a trusted checkpoint is described (`--since`).
pub(super) fn since_words(c: &verify::Since) -> String {
    format!(
        "since: entries 1–{} rehashed and their Merkle root {} checked against the checkpoint signed by trusted key {}; their signatures were not checked again",
        c.size,
        hex::encode(c.root),
        c.key
    )
}

/// A verification from a trusted checkpoint, as JSON.
pub(super) fn since_json(c: &verify::Since) -> serde_json::Value {
    json!({"size": c.size, "root": hex::encode(c.root), "key": c.key.to_string()})
}

/// `vouch verify --report FILE.pdf`: make the report again from the ledger, with the period
/// and options the PDF records, and compare.
pub(super) fn verify_report(path: &Path, pdf: &Path, fmt: Format) -> Result<Outcome> {
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
    // The report at the head the PDF names: a sign-off, and a report, is a statement about
    // the ledger up to its head, which later entries do not change (FORMAT.md §11).
    let making = vouch::attestation::report::Making {
        trust: (!pins.is_empty()).then_some(pins),
        at: Some(stamp.head.0),
        ..Default::default()
    };
    let mut now = match vouch::attestation::report::generate(path, &period, appendix, making)? {
        vouch::attestation::report::Generated::Report(r) => r,
        vouch::attestation::report::Generated::Refused(v) => {
            print_findings(&v.findings, 5);
            out!("FAILED: the ledger does not verify; the report cannot be checked against it");
            return Ok(Outcome::Problem);
        }
    };
    // A report made from a trusted checkpoint (--since) says so in its stamp; this check
    // verified every signature itself, and keeps that record to rebuild the same bytes.
    now.since.clone_from(&stamp.since);
    let same_bytes = vouch::attestation::pdf::render(&now)? == bytes;
    let same_digest = now.digest == stamp.digest && now.head == stamp.head;
    // The ledger must still hold the entries the report was built on.
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let held = match &stamp.checkpoint {
        None => None,
        Some(text) => {
            let cp = vouch::format::checkpoint::Checkpoint::parse_vouch(text, &ledger.id()?)
                .map_err(|e| e.context(format!("{}: report checkpoint", pdf.display())))?;
            let entries = ledger.size()?;
            let relation = Relation::of(entries, cp.size, &cp.root, |n| ledger.merkle_root(n))?;
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
