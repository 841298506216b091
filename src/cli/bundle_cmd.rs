//! `vouch export --bundle` and `vouch verify --bundle`: a self-contained directory an
//! auditor verifies without the SQLite file (schema/FORMAT.md, "Export bundles"; [`vouch::bundle`]).

use serde_json::{Value, json};
use std::io::{self, Write as _};
use std::path::Path;

use super::args::{ExportArgs, Format, VerifyArgs};
use super::input::{load_key, parse_trust};
use super::output::{Outcome, findings_json, print_findings, print_json};
use super::{checkpoint_cmd, progress};
use vouch::bundle::{self, BundleReport, Export, ExportOptions, Scope, Selection, VerifyOptions};
use vouch::period::Period;
use vouch::{Error, Result, clock};

/// `vouch export --bundle DIR --key K [--period P] [--items …] [--seq …] [--artifacts]`.
pub fn export(ledger: &Path, args: ExportArgs, fmt: Format) -> Result<Outcome> {
    let dir = args
        .bundle
        .clone()
        .ok_or_else(|| Error::new("--bundle DIR is missing"))?;
    let key = load_key(args.key.as_deref().ok_or_else(|| {
        Error::new("--bundle needs --key: the bundle's checkpoint and MANIFEST are signed")
            .hint("pass --key FILE (a registered party's key), or set VOUCH_KEY")
    })?)?;
    let period = match &args.period {
        None => None,
        Some(p) => Some(Period::parse_input(p).map_err(|e| e.context("--period"))?),
    };
    let opts = ExportOptions {
        selection: Selection {
            seqs: args.seq,
            items: args.items,
            period,
        },
        artifacts: args.artifacts,
        now: clock::now(),
    };
    let bar = progress::Bar::new(true);
    let s = match bundle::export(ledger, &dir, &key, &opts, &bar)? {
        Export::Written(s) => s,
        Export::Refused(report) => {
            if fmt == Format::Json {
                print_json(&json!({"ok": false, "written": false,
                    "findings": findings_json(&report.findings)}));
            } else {
                print_findings(&report.findings, usize::MAX);
                out!(
                    "FAILED: the ledger does not verify; no bundle written (run `vouch verify --all`)"
                );
            }
            return Ok(Outcome::Problem);
        }
    };
    let root = hex::encode(s.root);
    if fmt == Format::Json {
        print_json(&json!({
            "ok": true, "written": true, "bundle": s.dir, "scope": s.scope.as_str(),
            "ledger_id": s.ledger_id, "entries": s.entries, "chosen": s.chosen,
            "checkpoint": {"size": s.size, "root": root},
            "signed_by": {"party": s.party, "fingerprint": s.fingerprint.to_string()},
            "keys": s.keys, "matrices": s.matrices, "artifacts": s.artifacts,
            "files": s.files, "bytes": s.bytes,
        }));
        return Ok(Outcome::Ok);
    }
    let what = match s.scope {
        Scope::Full => format!("{} entries (the whole ledger)", s.entries),
        Scope::Sample => format!(
            "{} entries ({} chosen, {} to read them) with inclusion proofs, of the ledger's {}",
            s.entries,
            s.chosen,
            s.entries - s.chosen,
            s.size
        ),
    };
    out!("wrote bundle {}: {what}", s.dir.display());
    out!(
        "  {} key file(s), {} matrix file(s), {} artefact(s); {} files, {} bytes",
        s.keys,
        s.matrices,
        s.artifacts,
        s.files,
        s.bytes
    );
    out!(
        "checkpoint: {} entries, root {root}, signed by {} (key {})",
        s.size,
        s.party,
        s.fingerprint
    );
    out!(
        "next: hand {} to the auditor with the parties' key fingerprints; they run: vouch verify --bundle {} --trust FINGERPRINT ...",
        s.dir.display(),
        s.dir.display()
    );
    Ok(Outcome::Ok)
}

/// `vouch verify --bundle DIR [--trust …] [--all]`. Artefacts in the bundle are always
/// checked, so `--artifacts` changes nothing here.
pub fn verify_bundle(dir: &Path, args: &VerifyArgs, fmt: Format) -> Result<Outcome> {
    let trust = if args.trust.is_empty() {
        None
    } else {
        Some(parse_trust(&args.trust)?)
    };
    let bar = progress::Bar::new(true);
    let r = bundle::verify(
        dir,
        &VerifyOptions {
            trust: trust.clone(),
            all: args.all,
        },
        &bar,
    )?;
    // Checkpoints held outside the bundle (FORMAT.md §13.7).
    let pins = trust.as_deref();
    let mut checks = Vec::new();
    for file in &args.checkpoint {
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, &e))?;
        let c = bundle::check_checkpoint(dir, &r, &text, pins)
            .map_err(|e| e.context(file.display()))?;
        checks.push((file, c));
    }
    let checkpoints_ok = checks.iter().all(|(_, c)| c.ok());
    if fmt == Format::Json {
        let mut v = report_json(dir, &r);
        if let Some(o) = v.as_object_mut() {
            o.insert("checkpoints".into(), checkpoint_cmd::checks_json(&checks));
        }
        print_json(&v);
    } else {
        print_text(dir, &r, args.trust.len());
        checkpoint_cmd::print_checks(&checks);
    }
    Ok(if r.ok() && checkpoints_ok {
        Outcome::Ok
    } else {
        Outcome::Problem
    })
}

fn party_json(p: &(String, vouch::crypto::Fingerprint)) -> Value {
    json!({"party": p.0, "fingerprint": p.1.to_string()})
}

fn report_json(dir: &Path, r: &BundleReport) -> Value {
    let findings: Vec<Value> = r
        .findings
        .iter()
        .map(|f| json!({"file": f.file, "line": f.line, "seq": f.seq, "check": f.check, "what": f.what}))
        .collect();
    let info = r.info.as_ref();
    json!({
        "ok": r.ok(),
        "bundle": dir,
        "scope": info.map(|i| i.scope.as_str()),
        "ledger_id": info.map(|i| i.ledger.clone()),
        "selection": info.and_then(|i| i.selection.as_ref()).map(bundle::describe_selection),
        "entries": r.entries,
        "proves": match info.map(|i| i.scope) {
            Some(Scope::Full) => "the whole ledger up to the checkpoint".to_string(),
            Some(Scope::Sample) => format!("inclusion of {} entries, not the whole ledger", r.entries),
            None => "nothing".to_string(),
        },
        "signatures": r.signatures,
        "proofs": r.proofs,
        "head": r.head.map(|(s, h)| json!({"seq": s, "hash": hex::encode(h)})),
        "merkle_root": r.root.map(hex::encode),
        "checkpoint": r.checkpoint.map(|(s, root)| json!({
            "size": s, "root": hex::encode(root),
            "signed_by": r.checkpoint_signers.iter().map(party_json).collect::<Vec<_>>(),
        })),
        "manifest": {"files": r.manifest_files, "signed_by": r.manifest_signer.as_ref().map(party_json)},
        "matrices": r.matrices,
        "artifacts": r.artifacts,
        "parties": r.parties.iter().map(|p| json!({"id": p.id, "role": p.role, "fingerprint": p.key.fingerprint().to_string(), "seq": p.seq})).collect::<Vec<_>>(),
        "trust": if r.pinned { "pinned" } else { "self-consistency only" },
        "unused_pins": r.unused_pins.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "findings": findings,
        "stopped_early": r.stopped_early,
    })
}

fn who(list: &[(String, vouch::crypto::Fingerprint)]) -> String {
    if list.is_empty() {
        return "nobody trusted".to_string();
    }
    list.iter()
        .map(|(p, f)| format!("{p} (key {f})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_text(dir: &Path, r: &BundleReport, pins: usize) {
    for f in &r.findings {
        out!("{f}");
    }
    let d = dir.display();
    if !r.ok() {
        if r.stopped_early {
            out!(
                "FAILED: bundle {d}: {} problem(s) shown; only the first problem with the entries is listed (use --all to list every one)",
                r.findings.len()
            );
        } else {
            out!("FAILED: bundle {d}: {} problem(s)", r.findings.len());
        }
        return;
    }
    let Some(info) = &r.info else { return };
    match info.scope {
        Scope::Full => {
            let head = r.head.map_or("none".to_string(), |(s, h)| {
                format!("entry {s}, {}", hex::encode(h))
            });
            out!(
                "ok: bundle {d}: the whole ledger, {} entries, {} signatures, chain intact; head {head}",
                r.entries,
                r.signatures
            );
            if let (Some(root), Some((size, _))) = (r.root, r.checkpoint) {
                out!(
                    "merkle: root {} of the {} entries is the root checkpoint.txt signs (size {size})",
                    hex::encode(root),
                    r.entries
                );
            }
        }
        Scope::Sample => {
            let (size, root) = r.checkpoint.unwrap_or((0, [0; 32]));
            out!(
                "ok: sampled bundle {d}: proves inclusion of {} entries in the ledger of {size} entries (checkpoint root {}); {} signatures",
                r.entries,
                hex::encode(root),
                r.signatures
            );
            let others = size.saturating_sub(r.entries);
            if others > 0 {
                out!(
                    "  it does not show the other {others} entries, nor that the selection is complete"
                );
            } else {
                out!("  it does not show that the selection is complete");
            }
            if let Some(sel) = &info.selection {
                out!("selection: {}", bundle::describe_selection(sel));
            }
        }
    }
    out!("checkpoint: signed by {}", who(&r.checkpoint_signers));
    out!(
        "files: {} files match MANIFEST; MANIFEST.sig signed by {}",
        r.manifest_files,
        r.manifest_signer
            .as_ref()
            .map_or("nobody trusted".to_string(), |m| who(std::slice::from_ref(
                m
            )))
    );
    out!(
        "matrices: {} adopted matrix file(s) match their adoption entries",
        r.matrices
    );
    if info.artifacts {
        out!(
            "artefacts: {} file(s) match the SHA-256 and size their evidence signs",
            r.artifacts
        );
    } else {
        out!("artefacts: not included (exported without --artifacts)");
    }
    if r.pinned {
        out!("trust: every party key is one of the {pins} pinned key(s)");
        for u in &r.unused_pins {
            out!("note: pinned key {u} is not used by any party in this bundle");
        }
    } else {
        out!(
            "trust: self-consistency only; no keys pinned (pin the parties' keys with --trust FILE.pub|FINGERPRINT)"
        );
    }
}
