//! Full bundles (`schema/FORMAT.md` §16.9 step 3): the lines are streamed, as they are,
//! through the same verifier as `vouch verify` ([`crate::ledger::verify::verify_rows`]), so
//! no check is written twice and nothing is copied: no temporary ledger, no temporary file.
//! Its findings are then reported against the bundle's lines.
//!
//! Three threads: one reads and hashes `entries.jsonl` (`lines`), one parses a chunk of
//! lines on every core and learns what the bundle needs of them, and the verifier walks
//! them. An entry that a later one refers to (a co-signature, a retraction) is read again
//! from the file by its offset; an adopted matrix is the bundle's file with its SHA-256.

use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use super::BundleFinding;
use super::VerifyOptions;
use super::files::Files;
use super::findings::{Findings, check_name};
use super::format::{ENTRIES, Info, decode_line, memfind, rotation_key};
use super::lines::{MAX_LINE, RawChunk, stream_lines};
use super::seen::Seen;
use crate::crypto::{self, Fingerprint, PublicKey};
use crate::error::{Error, Result};
use crate::format::entry::{EntryHeader, Kind, LedgerId};
use crate::format::merkle::Hash;
use crate::format::payload::{self, AdoptionPayload, EvidencePayload, PartyPayload};
use crate::ledger::Progress;
use crate::ledger::verify::{self, Check, Options, References, SignedEntry};

/// One line of a full bundle, parsed.
struct Loaded {
    no: u64,
    offset: u64,
    entry: SignedEntry,
    has_proof: bool,
    party: Option<(PartyPayload, PublicKey)>,
    /// A key rotation: its signer and the new key.
    rotation: Option<(Fingerprint, PublicKey)>,
    adoption: Option<AdoptionPayload>,
    stored: Vec<(String, String, u64)>,
}

/// The entries walked so far: (seq, line, byte offset of the line), in seq order.
type Index = Arc<Mutex<Vec<(u64, u64, u64)>>>;

/// Decode a line and learn what the bundle needs of it; the registry mirrors what `verify`
/// registers.
fn load_line(no: u64, offset: u64, bytes: &[u8]) -> Result<Loaded, (u64, String)> {
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
        offset,
        entry: SignedEntry {
            seq: e.seq,
            body: e.body,
            signature: e.signature,
            payload: e.payload,
        },
        has_proof: e.proof.is_some(),
        party,
        rotation,
        adoption,
        stored,
    })
}

/// Stream a full bundle's lines through the verifier of `vouch verify`.
pub(super) fn full_pass(
    path: &Path,
    info: &Info,
    files: &Files,
    opts: &VerifyOptions,
    progress: &dyn Progress,
    out: &mut Findings,
) -> Result<(Seen, verify::Report)> {
    let index: Index = Arc::default();
    // The matrices the adoptions need, under the SHA-256 of their actual bytes.
    let documents = info
        .matrices
        .iter()
        .filter_map(|m| files.small.get(&m.file))
        .map(|b| (hex::encode(crypto::sha256(b)), b.clone()))
        .collect();
    let lookup = BundleReferences {
        path: path.to_path_buf(),
        file: Mutex::new(None),
        index: Arc::clone(&index),
        documents,
    };
    // Every problem is collected (`all`): some of verify's findings are reported against a
    // bundle file instead, and one of those must not hide the entries after it. The caller
    // keeps only the first entry problem unless asked for all.
    let options = Options {
        trust: opts.trust.clone(),
        artifacts: false,
        all: true,
        now: None,
        since: None,
    };
    let ledger = LedgerId::parse(&info.ledger);
    let mut seen = Seen::default();
    let (report, hash, lines) = stream_lines(path, out, |rx, out| {
        let (tx, entries) = mpsc::sync_channel::<Result<Vec<SignedEntry>>>(2);
        std::thread::scope(|s| {
            let parser = s.spawn(|| {
                let mut found = Findings::default();
                feed(rx, &tx, &index, &mut seen, &mut found);
                drop(tx);
                found
            });
            let report = verify::verify_rows(
                ledger,
                info.entries,
                Box::new(lookup),
                &options,
                progress,
                entries,
            );
            let found = parser
                .join()
                .map_err(|_| Error::new("internal error: the bundle parser thread failed"))?;
            out.0.extend(found.0);
            report
        })
    })?;
    let index = std::mem::take(&mut *index.lock().map_err(|_| poisoned())?);
    seen.line_of = index.into_iter().map(|(seq, no, _)| (seq, no)).collect();
    seen.hash = Some(hash);
    seen.lines = lines;
    Ok((seen, report))
}

fn poisoned() -> Error {
    Error::new("internal error: the bundle index is unusable")
}

/// Parse the chunks of lines on every core, learn what the bundle holds, and hand the
/// entries on in seq order (a line out of order, or that does not read, is a finding and
/// is not walked).
fn feed(
    rx: mpsc::Receiver<RawChunk>,
    tx: &mpsc::SyncSender<Result<Vec<SignedEntry>>>,
    index: &Index,
    seen: &mut Seen,
    out: &mut Findings,
) {
    let mut last = 0u64;
    for chunk in rx {
        let loaded: Vec<Result<Loaded, (u64, String)>> = chunk
            .into_par_iter()
            .map(|(no, offset, b)| load_line(no, offset, &b))
            .collect();
        let mut entries = Vec::with_capacity(loaded.len());
        let mut walked = Vec::with_capacity(loaded.len());
        for l in loaded {
            let l = match l {
                Ok(l) => l,
                Err((no, what)) => {
                    out.file(ENTRIES, Some(no), "format", what);
                    continue;
                }
            };
            let seq = l.entry.seq;
            if l.has_proof {
                out.entry(
                    Some(l.no),
                    seq,
                    "format",
                    "has an inclusion proof: a full bundle's lines have none",
                );
            }
            if seq <= last {
                out.entry(
                    Some(l.no),
                    seq,
                    "format",
                    format!(
                        "comes after entry {last}: lines are in increasing seq order, each entry once"
                    ),
                );
                continue;
            }
            last = seq;
            walked.push((seq, l.no, l.offset));
            if let Some((signer, k)) = l.rotation {
                let _ = seen.book.rotate(&signer, k, seq);
            }
            if let Some((p, k)) = &l.party {
                let _ = seen.book.register(p, *k, seq);
            }
            if let Some(a) = l.adoption {
                seen.adoptions.push((seq, a));
            }
            for (sha, name, size) in l.stored {
                seen.stored.entry(sha).or_insert((seq, l.no, name, size));
            }
            entries.push(l.entry);
        }
        // The entries are looked up (by later ones) only once they are walked.
        match index.lock() {
            Ok(mut i) => i.extend(walked),
            Err(_) => {
                let _ = tx.send(Err(poisoned()));
                return;
            }
        }
        if tx.send(Ok(entries)).is_err() {
            return;
        }
    }
}

/// What the verifier looks up in a bundle: an earlier entry, read again from
/// `entries.jsonl` at the offset of its line; an adopted matrix, from the bundle's files.
struct BundleReferences {
    path: PathBuf,
    file: Mutex<Option<BufReader<File>>>,
    index: Index,
    /// The matrix files, by the SHA-256 of their bytes.
    documents: HashMap<String, Vec<u8>>,
}

impl References for BundleReferences {
    fn entry_text(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        let offset = {
            let index = self.index.lock().map_err(|_| poisoned())?;
            match index.binary_search_by_key(&seq, |(s, _, _)| *s) {
                Ok(i) => index[i].2,
                Err(_) => return Ok(None),
            }
        };
        let mut file = self.file.lock().map_err(|_| poisoned())?;
        if file.is_none() {
            let f = File::open(&self.path).map_err(|e| Error::io(&self.path, &e))?;
            *file = Some(BufReader::with_capacity(8192, f));
        }
        let Some(r) = file.as_mut() else {
            return Ok(None);
        };
        let mut line = Vec::new();
        r.seek(SeekFrom::Start(offset))
            .and_then(|_| {
                r.by_ref()
                    .take(MAX_LINE as u64 + 1)
                    .read_until(b'\n', &mut line)
            })
            .map_err(|e| Error::io(&self.path, &e))?;
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        // The line was read and decoded once already; if it no longer decodes to entry
        // `seq`, the file changed under the verifier, and the entry is as good as missing.
        Ok(decode_line(&line)
            .ok()
            .filter(|e| e.seq == seq)
            .map(|e| e.body))
    }

    fn read_document(
        &self,
        sha256: &str,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<(i64, u64)>> {
        Ok(self.documents.get(sha256).map(|b| {
            sink(b);
            (i64::try_from(b.len()).unwrap_or(i64::MAX), b.len() as u64)
        }))
    }
}

/// Report the verifier's findings against the bundle's lines, leaving out those about
/// what the bundle does not have or reports elsewhere.
pub(super) fn ledger_findings(
    findings: Vec<verify::Finding>,
    seen: &Seen,
    matrix_sha: &HashMap<String, (&str, Hash)>,
    out: &mut Findings,
) {
    // The verifier's matrices are the bundle's files: a matrix finding of verify is
    // reported once, against the file (by `verify`'s matrix step).
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
        // A bundle has no derived columns or tables: the verifier makes its rows from the
        // signed bytes, and any disagreement is about them, not the bundle.
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
