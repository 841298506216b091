//! Verification: re-derive everything from the signed bytes and say what does not hold.
//!
//! Implements `schema/FORMAT.md` §7. A finding is a result, not an error: [`verify`] returns
//! `Err` only when it could not run (no file, not a ledger, I/O). It first compares the
//! file's layout (tables, indexes, their definitions) with the migrations'. Then it streams
//! the ledger in chunks (memory flat in ledger size): a reader thread fetches rows while the
//! chunk before is hashed and parsed in parallel, checked in order (sequence, chain, time,
//! key registry), and its signatures batch-verified on every core. A failed batch is
//! re-checked one signature at a time so the entry can be named. The Merkle tree (§12) is
//! rebuilt leaf by leaf on the way (O(log n) memory) and every stored node is compared with
//! it. Key history (§14) is followed on the way too: which key is valid at each entry, and
//! which entries a later-revoked key signed after its `since` ([`verify_noting_revoked`]).
//! The indexes readers search through are read back chunk by chunk and compared with the
//! rows, since a search sees what an index lists, not the rows (§7, *Indexes and layout*).
//!
//! This file holds the public types and functions; the work is done in the submodules:
//! `precheck` (per stored row, in parallel), `walk` (in order), `rules` (per entry kind,
//! §4), `derived` (derived tables, the Merkle nodes and the indexes), `meta` (the file's
//! `meta` rows, and entry times against the verifier's clock) and `pipeline` (threads,
//! chunks and batch signature verification).
//!
//! The entries need not come from a ledger file: [`verify_rows`] streams them from a
//! bundle's `entries.jsonl` (`schema/FORMAT.md` §16.9) through the same checks, with no
//! temporary copy, looking earlier entries and documents up through [`References`].

mod derived;
mod meta;
mod pipeline;
mod precheck;
mod rules;
mod walk;

use std::path::Path;

use super::Progress;
use super::store::EntryRow;
use crate::crypto::Fingerprint;
use crate::error::Result;
use crate::format::entry::{Kind, LedgerId};
use crate::format::payload::PartyPayload;
use chrono::{DateTime, Utc};
use pipeline::Pipeline;
use rayon::prelude::*;

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Pinned key fingerprints: every key registered in the ledger must be one of them.
    pub trust: Option<Vec<Fingerprint>>,
    /// Re-hash every stored artefact.
    pub artifacts: bool,
    /// Report every problem, not just the first.
    pub all: bool,
    /// The verifier's clock (`clock::now()` from the command line): an entry dated more
    /// than the skew allowance after it is a finding. `None`: times are not compared with
    /// a clock.
    pub now: Option<DateTime<Utc>>,
    /// Verify from a trusted checkpoint (`FORMAT.md` §7.1): entries 1 … `size` must hash to
    /// its Merkle root, and their signatures are not checked again. The caller has checked
    /// that a key the user trusts signed it ([`crate::ledger::checkpoints::trusted_since`]).
    pub since: Option<Since>,
}

/// A checkpoint the user trusts (`FORMAT.md` §7.1): entries 1 … `size` have the Merkle root
/// `root`, and the signer vouched for their signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Since {
    /// Entries covered.
    pub size: u64,
    /// Their Merkle root (§12).
    pub root: [u8; 32],
    /// The trusted key that signed the checkpoint.
    pub key: Fingerprint,
}

/// Kinds of finding, in the order they are reported within one entry (lowest level first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// Entry text does not parse.
    Format,
    /// Entry missing from the sequence.
    Missing,
    /// Signature invalid.
    Signature,
    /// Payload bytes do not match the signed hash, or do not parse.
    Payload,
    /// Entry stored under another seq, or belongs to another ledger.
    Position,
    /// `prev` does not link to the previous entry.
    Chain,
    /// Time goes backwards.
    Time,
    /// Signer unknown, or registry rule broken.
    Registry,
    /// Key not among the pinned keys.
    Trust,
    /// A derived column or table disagrees with the signed bytes.
    Derived,
    /// A reference to another entry, party or stored document does not hold.
    Reference,
    /// Stored artefact content is missing or wrong.
    Artifact,
    /// Entry dated later than the verifier's clock allows ([`Options::now`]).
    Clock,
}

/// One problem, at one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The entry concerned (0: the ledger as a whole).
    pub seq: u64,
    /// Which check failed.
    pub check: Check,
    /// What is wrong, in words.
    pub what: String,
}

/// A party as the verified ledger registers it.
#[derive(Debug, Clone)]
pub struct VerifiedParty {
    /// The party.
    pub party: PartyPayload,
    /// Key fingerprint.
    pub fingerprint: Fingerprint,
    /// Registering entry.
    pub seq: u64,
}

/// An entry signed by a key at or after the time from which the key was later revoked, but
/// before the revocation entry (`FORMAT.md` §14.4): a valid entry (the key was valid when
/// it was written), which does not count as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedUse {
    /// The entry.
    pub seq: u64,
    /// Its kind.
    pub kind: Kind,
    /// The revoked key that signed it.
    pub key: Fingerprint,
    /// The revocation's `since`.
    pub since: DateTime<Utc>,
    /// The `key-revocation` entry.
    pub revoked_by: u64,
}

/// The outcome of verification.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Ledger id from the file's metadata.
    pub ledger_id: Option<String>,
    /// Entry rows read.
    pub entries: u64,
    /// Newest entry: seq and hash.
    pub head: Option<(u64, [u8; 32])>,
    /// Merkle tree root over every entry (`FORMAT.md` §12), recomputed from the entry texts;
    /// `None` if entries are missing or the walk stopped early.
    pub merkle_root: Option<[u8; 32]>,
    /// Signatures checked.
    pub signatures: u64,
    /// The trusted checkpoint whose entries' signatures were not checked again (with
    /// [`Options::since`], when entries 1 … its size hash to its root).
    pub since: Option<Since>,
    /// Stored artefacts re-hashed (with `--artifacts`).
    pub artifacts_checked: u64,
    /// Whether keys were pinned.
    pub pinned: bool,
    /// Pinned keys that no party in the ledger uses.
    pub unused_pins: Vec<Fingerprint>,
    /// Parties registered, in order.
    pub parties: Vec<VerifiedParty>,
    /// Problems, ordered by entry and by check.
    pub findings: Vec<Finding>,
    /// Whether the walk stopped early at the first problem.
    pub stopped_early: bool,
}

impl Report {
    /// No problem found.
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Verify the ledger at `path`.
pub fn verify(path: &Path, opts: &Options, progress: &dyn Progress) -> Result<Report> {
    verify_noting_revoked(path, opts, progress).map(|(report, _)| report)
}

/// Verify the ledger at `path`, and list the entries signed by a key at or after the time
/// from which it was later revoked, before the revocation entry (`FORMAT.md` §14.4): not
/// problems (they were valid when written), but they do not count as evidence. In entry
/// order.
///
/// (The list is returned beside the [`Report`] rather than in it: `report::Generated`
/// holds a `Report` by value, and a larger one trips clippy's `large_enum_variant` there.)
pub fn verify_noting_revoked(
    path: &Path,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<(Report, Vec<RevokedUse>)> {
    let (mut pipeline, store) = Pipeline::open(path, opts, progress)?;
    let store = pipeline.stream(store)?;
    progress.finish();
    pipeline.finish(Some(&*store))
}

/// Where the walk finds what entries refer to, for entries that do not come from a ledger
/// file (see [`verify_rows`]).
pub(crate) trait References: Send {
    /// The signed text of entry `seq` (an earlier entry than the one being walked), if
    /// there is one.
    ///
    /// # Errors
    ///
    /// I/O (reported as the entry missing).
    fn entry_text(&self, seq: u64) -> Result<Option<Vec<u8>>>;

    /// Stream the document (an adopted matrix) stored under `sha256` into `sink`: its
    /// recorded size and the bytes read, or `None` if there is none.
    ///
    /// # Errors
    ///
    /// I/O.
    fn read_document(
        &self,
        sha256: &str,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<(i64, u64)>>;
}

/// An entry as it was signed, found elsewhere than in a ledger file: the seq it is found
/// under, its text, signature and payload.
pub(crate) struct SignedEntry {
    pub seq: u64,
    pub body: Vec<u8>,
    pub signature: Vec<u8>,
    pub payload: Vec<u8>,
}

/// Verify entries of ledger `ledger` that do not come from a ledger file (a bundle's
/// `entries.jsonl`, `schema/FORMAT.md` §16.9), with the checks of [`verify`] on the
/// entries themselves: format, sequence, chain, time, signatures (batch-verified on every
/// core), the rules of each kind, key history, trust pins and the Merkle root. The entries
/// come in chunks, in the order they are walked; each is made the row a writer would
/// store (the checks of derived columns, tables, indexes and stored nodes are those of a
/// ledger file, and not made here); `expected` is their number, for progress. Memory
/// stays flat: a few chunks at a time.
///
/// # Errors
///
/// An error from `rows`.
pub(crate) fn verify_rows(
    ledger: Option<LedgerId>,
    expected: u64,
    lookup: Box<dyn References>,
    opts: &Options,
    progress: &dyn Progress,
    entries: impl IntoIterator<Item = Result<Vec<SignedEntry>>>,
) -> Result<Report> {
    let pipeline = Pipeline::rows(ledger, expected, lookup, opts, progress);
    walk_rows(pipeline, progress, entries).map(|(report, _)| report)
}

/// Where a clean walk ended: its state, to check entries appended after its head without
/// walking the entries before it again (`vouch serve` keeps one per ledger). Only a walk
/// with no finding is saved; one is resumed only with the same options.
pub struct Resume(pipeline::Saved);

impl Resume {
    /// The head the walk ended on: seq and entry hash.
    pub fn head(&self) -> (u64, [u8; 32]) {
        self.0.head
    }
}

/// [`verify_rows`] of the entries after `resume`'s head (or from the first entry, with
/// `None`); returns the report and, when it is clean, the walk's state at the new head.
///
/// # Errors
///
/// An error from `entries`.
pub(crate) fn verify_rows_from(
    resume: Option<&Resume>,
    ledger: Option<LedgerId>,
    lookup: Box<dyn References>,
    opts: &Options,
    entries: impl IntoIterator<Item = Result<Vec<SignedEntry>>>,
) -> Result<(Report, Option<Resume>)> {
    let progress = &crate::ledger::NoProgress;
    let pipeline = match resume {
        Some(r) => Pipeline::resume(&r.0, lookup, opts, progress),
        None => Pipeline::rows(ledger, 0, lookup, opts, progress),
    };
    walk_rows(pipeline, progress, entries)
}

fn walk_rows(
    mut pipeline: Pipeline<'_>,
    progress: &dyn Progress,
    entries: impl IntoIterator<Item = Result<Vec<SignedEntry>>>,
) -> Result<(Report, Option<Resume>)> {
    let rows = entries.into_iter().map(|chunk| {
        chunk?
            .into_par_iter()
            .map(|e| {
                let hash = crate::crypto::sha256(&e.body);
                EntryRow::derive(e.seq, hash, e.body, e.signature, e.payload)
            })
            .collect::<Result<Vec<_>>>()
    });
    pipeline.stream_rows(rows)?;
    progress.finish();
    let saved = pipeline.save().map(Resume);
    pipeline.finish(None).map(|(report, _)| (report, saved))
}
