//! Full bundles (`schema/FORMAT.md` §16.9 step 3): the lines are loaded, as they are, into a
//! temporary ledger, which the same [`crate::ledger::verify`] as `vouch verify` checks, so no
//! check is written twice; its findings are then reported against the bundle's lines.
//!
//! The temporary ledger is made with the ledger's import API ([`crate::ledger::import`]),
//! which stores the signed bytes verbatim and derives every column as the writer does.

use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::mpsc;

use super::BundleFinding;
use super::VerifyOptions;
use super::files::Files;
use super::findings::{Findings, check_name};
use super::format::{ENTRIES, Info, decode_line, memfind, rotation_key};
use super::lines::stream_lines;
use super::seen::Seen;
use crate::crypto::{self, Fingerprint, PublicKey};
use crate::error::{Error, Result};
use crate::format::entry::{EntryHeader, Kind};
use crate::format::merkle::Hash;
use crate::format::payload::{self, AdoptionPayload, EvidencePayload, PartyPayload};
use crate::ledger::import::Import;
use crate::ledger::verify::{self, Check, Options};
use crate::ledger::{Ledger, Progress};

/// One line of a full bundle, ready to be stored.
struct Loaded {
    no: u64,
    seq: u64,
    body: Vec<u8>,
    signature: Vec<u8>,
    payload: Vec<u8>,
    has_proof: bool,
    party: Option<(PartyPayload, PublicKey)>,
    /// A key rotation: its signer and the new key.
    rotation: Option<(Fingerprint, PublicKey)>,
    adoption: Option<AdoptionPayload>,
    stored: Vec<(String, String, u64)>,
}

/// A chunk of lines parsed for loading: how many lines, and each line or why it does not
/// read (its line number and the problem).
type ParsedChunk = (u64, Vec<Result<Loaded, (u64, String)>>);

/// Decode a line and learn what the bundle needs of it; the registry mirrors what `verify`
/// registers. The ledger's import derives the stored columns.
fn load_line(no: u64, bytes: &[u8]) -> Result<Loaded, (u64, String)> {
    let e = decode_line(bytes).map_err(|w| (no, w))?;
    let header = EntryHeader::parse(&e.body).ok();
    let payload_ok = header
        .as_ref()
        .is_some_and(|h| crypto::sha256(&e.payload) == h.payload);
    let kind = header.as_ref().filter(|_| payload_ok).map(|h| h.kind);
    let party = match kind {
        Some(Kind::Genesis | Kind::Party) => payload::decode::<PartyPayload>(&e.payload)
            .ok()
            .and_then(|p| {
                PublicKey::from_spki_base64(&p.public_key)
                    .ok()
                    .map(|k| (p, k))
            }),
        _ => None,
    };
    let adoption = match kind {
        Some(Kind::Adoption) => payload::decode::<AdoptionPayload>(&e.payload).ok(),
        _ => None,
    };
    let rotation = match (&header, kind) {
        (Some(h), Some(Kind::KeyRotation)) => rotation_key(&e.payload).map(|key| (h.signer, key)),
        _ => None,
    };
    let stored = match kind {
        Some(Kind::Evidence) if memfind(&e.payload, b"\"stored\":true") => {
            payload::decode::<EvidencePayload>(&e.payload)
                .map(|p| {
                    p.artifacts
                        .into_iter()
                        .filter(|a| a.stored)
                        .map(|a| (a.sha256, a.name, a.size))
                        .collect()
                })
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    Ok(Loaded {
        no,
        seq: e.seq,
        body: e.body,
        signature: e.signature,
        payload: e.payload,
        has_proof: e.proof.is_some(),
        party,
        rotation,
        adoption,
        stored,
    })
}

/// Load a full bundle's lines into a temporary ledger and verify it as `vouch verify` does.
pub(super) fn full_pass(
    path: &Path,
    info: &Info,
    files: &Files,
    opts: &VerifyOptions,
    progress: &dyn Progress,
    out: &mut Findings,
) -> Result<(Seen, verify::Report)> {
    let tmp = tempfile::Builder::new()
        .prefix("vouch-bundle-")
        .tempdir()
        .map_err(|e| Error::io(&std::env::temp_dir(), &e).context("temporary ledger"))?;
    let db = tmp.path().join("ledger.db");
    let mut seen = Seen::default();
    progress.start(info.entries, "loading");
    let ((), hash, lines) = stream_lines(path, out, |rx, out| {
        // Three stages: the reader hashes and splits lines, a second thread parses them on
        // every core, and this one inserts them (SQLite writes on one connection).
        let (ptx, prx) = mpsc::sync_channel::<ParsedChunk>(2);
        std::thread::scope(|s| {
            s.spawn(move || {
                for chunk in rx {
                    let n = chunk.len() as u64;
                    let loaded = chunk
                        .into_par_iter()
                        .map(|(no, b)| load_line(no, &b))
                        .collect();
                    if ptx.send((n, loaded)).is_err() {
                        break;
                    }
                }
            });
            Ledger::import(&db, &info.ledger, |import| {
                insert_loaded(import, prx, info, files, &mut seen, progress, out)
            })
        })
    })?;
    progress.finish();
    seen.hash = Some(hash);
    seen.lines = lines;
    // Every problem is collected (`all`): some of verify's findings are reported against a
    // bundle file instead, and one of those must not hide the entries after it. The caller
    // keeps only the first entry problem unless asked for all.
    let report = verify::verify(
        &db,
        &Options {
            trust: opts.trust.clone(),
            artifacts: false,
            all: true,
            now: None,
            since: None,
        },
        progress,
    )?;
    Ok((seen, report))
}

/// Import parsed lines into the temporary ledger, and learn what the bundle holds.
fn insert_loaded(
    import: &mut Import<'_>,
    prx: mpsc::Receiver<ParsedChunk>,
    info: &Info,
    files: &Files,
    seen: &mut Seen,
    progress: &dyn Progress,
    out: &mut Findings,
) -> Result<()> {
    let mut last = 0u64;
    for (n, loaded) in prx {
        for l in loaded {
            let l = match l {
                Ok(l) => l,
                Err((no, what)) => {
                    out.file(ENTRIES, Some(no), "format", what);
                    continue;
                }
            };
            if l.has_proof {
                out.entry(
                    Some(l.no),
                    l.seq,
                    "format",
                    "has an inclusion proof: a full bundle's lines have none",
                );
            }
            if l.seq <= last {
                out.entry(
                    Some(l.no),
                    l.seq,
                    "format",
                    format!(
                        "comes after entry {last}: lines are in increasing seq order, each entry once"
                    ),
                );
                continue;
            }
            last = l.seq;
            seen.line_of.push((l.seq, l.no));
            if let Some((signer, k)) = l.rotation {
                let _ = seen.book.rotate(&signer, k, l.seq);
            }
            if let Some((p, k)) = &l.party
                && seen.book.register(p, *k, l.seq).is_ok()
            {
                import.register(l.seq, p, k)?;
            }
            if let Some(a) = l.adoption {
                seen.adoptions.push((l.seq, a));
            }
            for (sha, name, size) in l.stored {
                seen.stored.entry(sha).or_insert((l.seq, l.no, name, size));
            }
            import.entry(l.seq, l.body, l.signature, l.payload)?;
        }
        // Only complete subtrees of entries 1 … k form stored nodes; after a gap verify
        // stops following the tree, as it does for a ledger.
        import.flush()?;
        progress.advance(n);
    }
    // The matrices the adoptions need, under the SHA-256 of their actual bytes.
    for m in &info.matrices {
        if let Some(b) = files.small.get(&m.file) {
            import.document(b)?;
        }
    }
    Ok(())
}

/// Report the temporary ledger's findings against the bundle's lines, leaving out those
/// about what the bundle does not have or reports elsewhere.
pub(super) fn ledger_findings(
    findings: Vec<verify::Finding>,
    seen: &Seen,
    matrix_sha: &HashMap<String, (&str, Hash)>,
    out: &mut Findings,
) {
    // The temporary ledger's matrices are the bundle's files: a matrix finding of
    // verify is reported once, against the file (by `verify`'s matrix step).
    let matrix_seqs: HashSet<u64> = seen
        .adoptions
        .iter()
        .filter(|(_, a)| {
            matrix_sha
                .get(&a.matrix.sha256)
                .is_none_or(|(_, h)| hex::encode(h) != a.matrix.sha256)
        })
        .map(|(s, _)| *s)
        .collect();
    for f in findings {
        // A bundle has no derived columns or tables: the temporary ledger's are made
        // here from the signed bytes, and any disagreement is about them, not the
        // bundle (key history, for one, is derived by verify's own rules).
        if f.check == Check::Derived {
            continue;
        }
        if f.check == Check::Reference && matrix_seqs.contains(&f.seq) && f.what.contains("matrix")
        {
            continue;
        }
        out.0.push(BundleFinding {
            file: ENTRIES.to_string(),
            line: seen.line(f.seq),
            seq: (f.seq != 0).then_some(f.seq),
            check: check_name(f.check),
            what: f.what,
        });
    }
}
