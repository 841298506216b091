//! What an export takes from the ledger's storage (`schema/FORMAT.md` §16.7, §16.8): the
//! exporter's party and the entries the bundle covers, the sample's entries, the lines of
//! `entries.jsonl`, the keys, and the stored matrix and artefact files.
//!
//! It reads only through the ledger's reader ([`crate::ledger::read`]): typed entries whose
//! text, seq and payload hash are checked as they are read.

use rayon::prelude::*;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufWriter, Write as _};
use std::path::Path;

use super::format::{ENTRIES, MatrixFile, encode_line, memfind};
use super::partial::Partial;
use super::{BundleParty, CHUNK, ExportOptions, Selection};
use crate::crypto::{self, Fingerprint, Hasher, PublicKey};
use crate::error::{Error, Result};
use crate::format::entry::{Kind, parse_time};
use crate::format::merkle::{self, Hash, MemoryTree};
use crate::format::payload::{self, AdoptionPayload, EvidencePayload};
use crate::ledger::verify;
use crate::ledger::{Entry, Ledger, NoProgress, Progress};

/// Below this share of the ledger, a sample reads its entries one by one instead of
/// scanning the ledger.
const POINT_READS: u64 = 64;

/// The exporter's party (its key must be registered and not retired), then the start of the
/// export's read snapshot and the number of entries it holds: the checkpoint's size.
pub(super) fn begin(
    ledger: &Ledger,
    ledger_path: &Path,
    fpr: &Fingerprint,
) -> Result<(String, u64)> {
    let party = ledger
        .party_of_key(fpr)?
        .ok_or_else(|| {
            Error::new(format!(
                "key {fpr} is not registered in {}",
                ledger_path.display()
            ))
            .hint("the bundle's checkpoint is signed by a party of the ledger: --key keys/NAME.key")
        })?
        .id;
    // A retired key signs nothing after its rotation (key history): not a bundle either.
    if let Some(r) = ledger
        .entries_of_kind(Kind::KeyRotation, None)?
        .iter()
        .find(|r| r.header.signer == *fpr)
    {
        return Err(Error::new(format!(
            "key {fpr} of {party} was retired by entry {}",
            r.seq()
        ))
        .hint(format!("sign with {party}'s current key")));
    }
    ledger.snapshot()?;
    let size = Some(ledger.size()?)
        .filter(|s| *s > 0)
        .ok_or_else(|| Error::new("the ledger has no entries"))?;
    Ok((party, size))
}

/// The ledger changed while it was exported.
pub(super) fn changed(ledger_path: &Path) -> Error {
    Error::new(format!(
        "{}: the ledger's entries changed during the export",
        ledger_path.display()
    ))
    .hint("run `vouch verify`, then export again")
}

/// Check that what was written is what was verified.
pub(super) fn check_root(
    ledger: &Ledger,
    ledger_path: &Path,
    report: &verify::Report,
    size: u64,
    written: Hash,
) -> Result<()> {
    // What was written is what was verified: verify's snapshot began after the writer's,
    // so it holds at least `size` entries, and the stored tree nodes it checked give the
    // root of the first `size` of them.
    let verified = report.head.map_or(0, |(s, _)| s);
    let root = match verified.cmp(&size) {
        std::cmp::Ordering::Equal => report.merkle_root,
        std::cmp::Ordering::Greater => Some(ledger.merkle_root(size)?),
        std::cmp::Ordering::Less => None,
    };
    if root != Some(written) {
        return Err(changed(ledger_path));
    }
    Ok(())
}

/// What the export pass learns from the entries it writes.
#[derive(Default)]
pub(super) struct Written {
    pub(super) lines: u64,
    /// Adoptions: seq and payload.
    pub(super) adoptions: Vec<(u64, AdoptionPayload)>,
    /// Stored artefacts: SHA-256 → size.
    pub(super) stored: BTreeMap<String, u64>,
    /// The last entry written: seq and signer fingerprint.
    pub(super) last: Option<(u64, Fingerprint)>,
    /// The Merkle root of entries 1 … size.
    pub(super) root: Hash,
}

/// One entry, prepared for writing (in parallel).
struct Out {
    line: Vec<u8>,
    leaf: Hash,
    seq: u64,
    signer: Option<Fingerprint>,
    adoption: Option<AdoptionPayload>,
    stored: Vec<(String, u64)>,
}

fn prepare_out(row: &Entry, tree: Option<&MemoryTree>, size: u64, artifacts: bool) -> Result<Out> {
    let seq = row.seq();
    let proof = match tree {
        Some(t) => Some(merkle::inclusion_proof(t, seq - 1, size)?),
        None => None,
    };
    let line = encode_line(
        seq,
        &row.body,
        &row.signature,
        &row.payload,
        proof.as_deref(),
    )?;
    let kind = Some(row.header.kind);
    let err = |e: String| Error::new(format!("entry {seq}: {e}"));
    let adoption = match kind {
        Some(Kind::Adoption) => {
            Some(payload::decode::<AdoptionPayload>(&row.payload).map_err(err)?)
        }
        _ => None,
    };
    let mut stored = Vec::new();
    if artifacts && kind == Some(Kind::Evidence) && memfind(&row.payload, b"\"stored\":true") {
        let e: EvidencePayload = payload::decode(&row.payload).map_err(err)?;
        stored.extend(
            e.artifacts
                .into_iter()
                .filter(|a| a.stored)
                .map(|a| (a.sha256, a.size)),
        );
    }
    Ok(Out {
        line,
        leaf: merkle::leaf_hash(&row.body),
        seq,
        signer: Some(row.header.signer),
        adoption,
        stored,
    })
}

/// The entries a sample holds, and the tree its proofs come from.
pub(super) struct Sampled {
    tree: MemoryTree,
    include: Vec<bool>,
    count: u64,
    pub(super) chosen: u64,
}

#[derive(Deserialize)]
struct TargetOnly {
    entry: u64,
}

#[derive(Deserialize)]
struct PerformedOnly {
    performed_at: String,
}

/// Choose the entries of a sample (FORMAT.md, "Export bundles"): the selection, every party
/// registration and key-history entry (the keys signatures are checked with), every
/// adoption, and the co-signatures and retractions of any of those.
fn select(ledger: &Ledger, size: u64, sel: &Selection, progress: &dyn Progress) -> Result<Sampled> {
    for &s in &sel.seqs {
        if s == 0 || s > size {
            return Err(Error::new(format!(
                "--seq {s}: there is no entry {s} (the ledger has entries 1–{size})"
            )));
        }
    }
    let seqs: HashSet<u64> = sel.seqs.iter().copied().collect();
    let items: HashSet<&str> = sel.items.iter().map(String::as_str).collect();
    let filter = !(sel.items.is_empty() && sel.period.is_none());
    let n = usize::try_from(size).map_err(|_| Error::new("ledger too large"))?;
    let mut include = vec![false; n + 1];
    let mut refs: Vec<(u64, u64)> = Vec::new();
    let mut chosen = 0u64;
    let mut tree = MemoryTree::new();
    progress.start(size, "selecting");
    let mut after = 0u64;
    loop {
        let mut rows = ledger.entries_after(after, CHUNK)?;
        rows.retain(|r| r.seq() <= size);
        let Some(last) = rows.last() else { break };
        after = last.seq();
        // 0: not chosen, 1: chosen, 2: context, 3: a reference to the target.
        let class: Vec<(u8, u64)> = rows
            .par_iter()
            .map(|r| {
                if seqs.contains(&r.seq()) {
                    return (1, 0);
                }
                match r.header.kind {
                    Kind::Genesis
                    | Kind::Party
                    | Kind::Adoption
                    | Kind::KeyRotation
                    | Kind::KeyRevocation => (2, 0),
                    Kind::Cosign | Kind::Retraction | Kind::Response => {
                        serde_json::from_slice::<TargetOnly>(&r.payload)
                            .map_or((0, 0), |t| (3, t.entry))
                    }
                    Kind::Evidence | Kind::Waiver | Kind::Delegation if filter => {
                        let item_ok = items.is_empty()
                            || r.item().is_some_and(|i| items.contains(i.as_str()));
                        let period_ok = match (&sel.period, r.header.kind) {
                            (Some(p), Kind::Evidence) => {
                                serde_json::from_slice::<PerformedOnly>(&r.payload)
                                    .ok()
                                    .and_then(|x| parse_time(&x.performed_at))
                                    .map(|t| t.date_naive())
                                    .is_some_and(|d| p.from <= d && d <= p.to)
                            }
                            _ => true,
                        };
                        (u8::from(item_ok && period_ok), 0)
                    }
                    _ => (0, 0),
                }
            })
            .collect();
        for (r, (c, target)) in rows.iter().zip(class) {
            tree.push(&r.body);
            let seq = r.seq();
            let i = usize::try_from(seq).unwrap_or(0);
            match c {
                1 => {
                    include[i] = true;
                    chosen += 1;
                }
                2 => include[i] = true,
                3 => refs.push((seq, target)),
                _ => {}
            }
        }
        progress.advance(rows.len() as u64);
    }
    progress.finish();
    if tree.size() != size {
        return Err(Error::new(format!(
            "{}: entries 1–{size} are not all there",
            ledger.path().display()
        ))
        .hint("run `vouch verify`"));
    }
    if chosen == 0 {
        return Err(
            Error::new("the selection matches no entry: nothing to sample")
                .hint("check --items against `vouch matrix show --adopted`, or the --period"),
        );
    }
    for (seq, target) in refs {
        if usize::try_from(target)
            .ok()
            .and_then(|t| include.get(t))
            .copied()
            .unwrap_or(false)
            && let Ok(i) = usize::try_from(seq)
        {
            include[i] = true;
        }
    }
    let count = include.iter().filter(|b| **b).count() as u64;
    Ok(Sampled {
        tree,
        include,
        count,
        chosen,
    })
}

/// Every key of a (verified) ledger, from its key table: registered with its party, or by a
/// rotation (then the key it replaced is retired by that entry).
pub(super) fn ledger_keys(ledger: &Ledger) -> Result<Vec<BundleParty>> {
    let parties: HashMap<String, (String, u64)> = ledger
        .parties()?
        .into_iter()
        .map(|p| (p.id, (p.role, p.seq)))
        .collect();
    let mut out: Vec<BundleParty> = Vec::new();
    for k in ledger.keys()? {
        let Some((role, first)) = parties.get(&k.party) else {
            return Err(Error::new(format!("key {} has no party", k.fingerprint))
                .hint("run `vouch verify`"));
        };
        let seq = k.seq;
        let rotated = k.seq != *first;
        if rotated
            && let Some(prev) = out
                .iter_mut()
                .rev()
                .find(|p| p.id == k.party && p.retired_by.is_none())
        {
            prev.retired_by = Some(seq);
        }
        out.push(BundleParty {
            id: k.party.clone(),
            role: role.clone(),
            key: PublicKey::from_spki_base64(&k.public_key)?,
            seq,
            rotated,
            retired_by: None,
        });
    }
    Ok(out)
}

/// Copy the matrix files (byte for byte) and the artefacts (streamed) from the ledger's
/// stored files into the bundle.
pub(super) fn write_stored(
    out: &mut Partial,
    ledger: &Ledger,
    ledger_path: &Path,
    matrices: &[MatrixFile],
    artifacts: &BTreeMap<String, u64>,
) -> Result<()> {
    // Matrices, byte for byte.
    for m in matrices {
        let bytes = ledger.artifact_bytes(&m.sha256)?.ok_or_else(|| {
            Error::new(format!("matrix {} is not stored in the ledger", m.sha256))
                .hint("run `vouch verify`")
        })?;
        if hex::encode(crypto::sha256(&bytes)) != m.sha256 {
            return Err(changed(ledger_path));
        }
        out.small(&m.file, &bytes)?;
    }
    // Artefacts, streamed.
    for (sha, size) in artifacts {
        let rel = format!("artifacts/{sha}");
        let (f, path) = out.create(&rel)?;
        let mut w = BufWriter::new(f);
        let mut h = Hasher::default();
        let mut io_err = None;
        let got = ledger.read_artifact(sha, |c| {
            h.update(c);
            if io_err.is_none()
                && let Err(e) = w.write_all(c)
            {
                io_err = Some(e);
            }
        })?;
        if let Some(e) = io_err {
            return Err(Error::io(&path, &e));
        }
        let f = w.into_inner().map_err(|e| Error::io(&path, e.error()))?;
        f.sync_all().map_err(|e| Error::io(&path, &e))?;
        let hash = h.finish();
        match got {
            Some((_, n)) if n == *size && hex::encode(hash) == *sha => {}
            _ => {
                return Err(Error::new(format!(
                    "stored artefact {sha} is missing or does not match its SHA-256"
                ))
                .hint("run `vouch verify --artifacts`"));
            }
        }
        out.bytes += size;
        out.manifest.insert(rel, hash);
    }
    Ok(())
}

/// Choose a sample's entries (if the selection asks for one), then write them.
pub(super) fn write_selected(
    out: &mut Partial,
    ledger: &Ledger,
    size: u64,
    sel: &Selection,
    opts: &ExportOptions,
) -> Result<(Written, Option<Sampled>)> {
    let sample = if sel.is_full() {
        None
    } else {
        Some(select(ledger, size, sel, &NoProgress)?)
    };
    let written = write_entries(out, ledger, size, sample.as_ref(), opts, &NoProgress)?;
    Ok((written, sample))
}

/// Write `entries.jsonl`: read in chunks, lines made on every core, written in order.
/// Returns, with what the entries say, the Merkle root of entries 1 … `size`: computed from
/// the texts written (full), or from the sample's tree of every text.
fn write_entries(
    out: &mut Partial,
    ledger: &Ledger,
    size: u64,
    sample: Option<&Sampled>,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<Written> {
    let (f, path) = out.create(ENTRIES)?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    let mut hasher = Hasher::default();
    let mut tree = merkle::Builder::new();
    let mut done = Written::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut bytes = 0u64;
    let tree_src = sample.map(|s| &s.tree);
    // A small sample reads its entries one by one; otherwise the ledger is scanned.
    let pointwise: Option<Vec<u64>> = sample.filter(|s| s.count * POINT_READS < size).map(|s| {
        s.include
            .iter()
            .enumerate()
            .filter(|(_, b)| **b)
            .map(|(i, _)| i as u64)
            .collect()
    });
    progress.start(sample.map_or(size, |s| s.count), "exporting");
    let mut after = 0u64;
    let mut next_point = 0usize;
    loop {
        let rows: Vec<Entry> = match &pointwise {
            Some(list) => {
                let mut rows = Vec::new();
                while rows.len() < CHUNK && next_point < list.len() {
                    let s = list[next_point];
                    next_point += 1;
                    rows.push(ledger.entry(s)?.ok_or_else(|| {
                        Error::new(format!("entry {s} changed during the export"))
                    })?);
                }
                rows
            }
            None => {
                if after >= size {
                    break;
                }
                let mut rows = ledger.entries_after(after, CHUNK)?;
                let Some(l) = rows.last() else { break };
                after = l.seq();
                rows.retain(|r| {
                    let s = r.seq();
                    s <= size
                        && sample.is_none_or(|x| {
                            usize::try_from(s)
                                .ok()
                                .and_then(|i| x.include.get(i))
                                .copied()
                                .unwrap_or(false)
                        })
                });
                if rows.is_empty() {
                    continue;
                }
                rows
            }
        };
        if rows.is_empty() {
            break;
        }
        let prepared: Vec<Result<Out>> = rows
            .par_iter()
            .map(|r| prepare_out(r, tree_src, size, opts.artifacts))
            .collect();
        for p in prepared {
            let o = p?;
            w.write_all(&o.line).map_err(|e| Error::io(&path, &e))?;
            hasher.update(&o.line);
            bytes += o.line.len() as u64;
            if sample.is_none() {
                if o.seq != tree.size() + 1 {
                    return Err(Error::new(format!(
                        "entry {} is missing: the ledger changed during the export",
                        tree.size() + 1
                    )));
                }
                tree.push(o.leaf);
                tree.take_completed();
            }
            if let Some(a) = o.adoption {
                done.adoptions.push((o.seq, a));
            }
            for (sha, n) in o.stored {
                if seen.insert(sha.clone()) {
                    done.stored.insert(sha, n);
                }
            }
            if let Some(s) = o.signer {
                done.last = Some((o.seq, s));
            }
            done.lines += 1;
        }
        progress.advance(rows.len() as u64);
    }
    progress.finish();
    let f = w.into_inner().map_err(|e| Error::io(&path, e.error()))?;
    f.sync_all().map_err(|e| Error::io(&path, &e))?;
    done.root = match sample {
        Some(s) => merkle::root(&s.tree, size)?,
        None if tree.size() == size => tree.root(),
        None => return Err(Error::new("the ledger changed during the export")),
    };
    out.bytes += bytes;
    out.manifest.insert(ENTRIES.to_string(), hasher.finish());
    Ok(done)
}
