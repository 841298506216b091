//! The verification pipeline (`schema/FORMAT.md` §7): the file's layout first (its tables
//! and indexes are the ones the migrations make); then a reader thread fetches the entry
//! rows in chunks (with the Merkle rows each chunk completes, and reads back what the
//! indexes list for the chunk) while the chunk before is pre-checked in parallel, walked in
//! order, and its signatures batch-verified in the background; then the whole-ledger checks
//! (derived tables, index sizes, Merkle root and stray nodes, stored artefacts) and the
//! report. Memory stays flat in ledger size.
//!
//! Entries from elsewhere than a ledger file (a bundle's `entries.jsonl`, §16.9) go through
//! the same pipeline ([`Pipeline::rows`], [`Pipeline::stream_rows`]): every check of the
//! entries themselves, with earlier entries and documents looked up through
//! [`References`]; the checks of the file (layout, `meta`, derived tables, indexes, stored
//! Merkle nodes, stored artefacts) are made only for a ledger file.

use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::mpsc;

use super::derived::{LookupTally, MerkleCheck, check_derived_tables};
use super::precheck::{Pre, pre_check};
use super::walk::{KeyHistory, Walk};
use super::{Check, Finding, Options, References, Report, RevokedUse};
use crate::crypto::{self, Fingerprint, Hasher, PublicKey};
use crate::error::Result;
use crate::format::entry::{Kind, LedgerId, ZERO_HASH};
use crate::format::merkle;
use crate::format::payload::{self, KeyRevocationPayload};
use crate::ledger::Progress;
use crate::ledger::store::{
    self, Access, Engine, EntryRow, KeyEventRow, KeyRow, NodeRow, PartyRow,
};
use chrono::{DateTime, Utc};

/// Rows fetched and checked per step.
const CHUNK: usize = 8192;
/// Signatures per batch verification.
const BATCH: usize = 2048;

/// Stray `merkle_nodes` rows reported at most.
const STRAY_NODES: usize = 20;

/// A chunk whose signatures are being checked: the pending result, the chunk's other
/// findings, and its size.
type InFlight = (mpsc::Receiver<Vec<Finding>>, Vec<Finding>, u64);

/// A chunk of entry rows from the reader thread, with the Merkle rows it completes and
/// what the reader found comparing the indexes with the rows.
type Chunk = Result<(Vec<EntryRow>, Vec<NodeRow>, Vec<Finding>)>;

/// Revocations announced by the `kind` column: key → (entry, since).
type Hints = HashMap<Fingerprint, Vec<(u64, DateTime<Utc>)>>;

/// One verification run: its state, with a method per stage.
pub(super) struct Pipeline<'a> {
    opts: &'a Options,
    progress: &'a dyn Progress,
    report: Report,
    /// Findings so far, in no particular order (sorted at the end).
    findings: Vec<Finding>,
    walk: Walk,
    merkle: MerkleCheck,
    /// The derived tables as stored, read before the walk.
    party_rows: Vec<PartyRow>,
    key_rows: Vec<KeyRow>,
    key_event_rows: Vec<KeyEventRow>,
    /// The lookups (indexes) the layout check found intact, and what the reader read of
    /// them.
    tally: LookupTally,
    /// The entries come from a ledger file, whose own checks are made too.
    file: bool,
}

/// The state of a walk that ended on a clean head, to resume it with later entries
/// ([`super::Resume`]).
pub(super) struct Saved {
    walk: Walk,
    tree: merkle::Builder,
    entries: u64,
    pub(super) head: (u64, [u8; 32]),
}

/// References of a saved walk (replaced when it resumes).
struct Detached;

impl References for Detached {
    fn entry_text(&self, _seq: u64) -> Result<Option<Vec<u8>>> {
        Err(crate::error::Error::new(
            "internal error: a saved walk looked an entry up",
        ))
    }

    fn read_document(
        &self,
        _sha256: &str,
        _sink: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<(i64, u64)>> {
        Err(crate::error::Error::new(
            "internal error: a saved walk read a document",
        ))
    }
}

/// A ledger file's engine as the walk's [`References`].
struct StoreReferences(Box<dyn Engine>);

impl References for StoreReferences {
    fn entry_text(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        let Ok(seq) = i64::try_from(seq) else {
            return Ok(None);
        };
        Ok(self.0.entry(seq)?.map(|r| r.body))
    }

    fn read_document(
        &self,
        sha256: &str,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<(i64, u64)>> {
        self.0.read_artifact(sha256, sink)
    }
}

impl<'a> Pipeline<'a> {
    /// Open the ledger at `path` for reading, and read what the walk needs first: the
    /// ledger id, the derived tables and the revocation hints.
    pub(super) fn open(
        path: &Path,
        opts: &'a Options,
        progress: &'a dyn Progress,
    ) -> Result<(Self, Box<dyn Engine>)> {
        let store = store::open(path, Access::ReadOnly)?;
        store.begin_read()?;
        let meta_id = store.meta("ledger_id")?;
        let ledger = meta_id.as_deref().and_then(LedgerId::parse);
        let mut findings = Vec::new();
        super::meta::check_meta(&*store, &mut findings)?;
        if ledger.is_none() {
            findings.push(Finding {
                seq: 0,
                check: Check::Derived,
                what: "ledger id in the file's metadata is missing or malformed".into(),
            });
        }
        // The layout: a table missing, or an index or a statistic that is not the
        // migrations', changes what queries read (FORMAT.md §7).
        let layout = store.layout()?;
        findings.extend(layout.problems.into_iter().map(|what| Finding {
            seq: 0,
            check: Check::Derived,
            what,
        }));
        let party_rows = store.parties()?;
        let key_rows = store.keys()?;
        let key_event_rows = store.key_events()?;
        let hints = revocation_hints(&*store)?;
        let (count, _) = store.count()?;
        progress.start(u64::try_from(count).unwrap_or(0), "verifying");
        let merkle_table = store.merkle_table()?;
        let lookup = Box::new(StoreReferences(store.reopen()?));
        let mut pipeline = Self::new(opts, progress, ledger, lookup, hints);
        pipeline.report.ledger_id = meta_id;
        pipeline.findings = findings;
        pipeline.merkle.compare = merkle_table == Some(true);
        pipeline.party_rows = party_rows;
        pipeline.key_rows = key_rows;
        pipeline.key_event_rows = key_event_rows;
        pipeline.tally = LookupTally::new(&layout.lookups);
        pipeline.file = true;
        Ok((pipeline, store))
    }

    /// Entries from elsewhere than a ledger file, of ledger `ledger` (`None`: unknown),
    /// about `expected` of them (for progress); `lookup` finds earlier entries and
    /// documents.
    pub(super) fn rows(
        ledger: Option<LedgerId>,
        expected: u64,
        lookup: Box<dyn References>,
        opts: &'a Options,
        progress: &'a dyn Progress,
    ) -> Self {
        progress.start(expected, "verifying");
        let mut pipeline = Self::new(opts, progress, ledger, lookup, Hints::new());
        pipeline.report.ledger_id = ledger.map(|l| l.to_string());
        pipeline
    }

    /// Resume a saved walk: the entries after its head come next, looked up in `lookup`.
    pub(super) fn resume(
        saved: &Saved,
        lookup: Box<dyn References>,
        opts: &'a Options,
        progress: &'a dyn Progress,
    ) -> Self {
        let mut pipeline = Self::new(opts, progress, saved.walk.ledger, lookup, Hints::new());
        let lookup = std::mem::replace(&mut pipeline.walk.lookup, Box::new(Detached));
        pipeline.walk = saved.walk.with_lookup(lookup);
        pipeline.merkle.tree = saved.tree.clone();
        pipeline.report.entries = saved.entries;
        pipeline.report.head = Some(saved.head);
        pipeline.report.ledger_id = saved.walk.ledger.map(|l| l.to_string());
        pipeline
    }

    /// The walk's state, if it ended on a clean head (no finding, not stopped early, the
    /// tree intact): what [`Self::resume`] starts from.
    pub(super) fn save(&self) -> Option<Saved> {
        let clean = self.findings.is_empty()
            && !self.report.stopped_early
            && self.merkle.intact
            && self.merkle.tree.size() == self.report.entries;
        Some(Saved {
            walk: self.walk.with_lookup(Box::new(Detached)),
            tree: self.merkle.tree.clone(),
            entries: self.report.entries,
            head: self.report.head?,
        })
        .filter(|_| clean)
    }

    /// The state before the first entry, with nothing of a ledger file.
    fn new(
        opts: &'a Options,
        progress: &'a dyn Progress,
        ledger: Option<LedgerId>,
        lookup: Box<dyn References>,
        hints: Hints,
    ) -> Self {
        let walk = Walk {
            ledger,
            next: 1,
            prev: ZERO_HASH,
            last_time: None,
            version: None,
            keys: HashMap::new(),
            party_ids: HashSet::new(),
            trust: opts.trust.as_ref().map(|t| t.iter().copied().collect()),
            used_pins: HashSet::new(),
            parties: Vec::new(),
            artifacts: BTreeMap::new(),
            want_artifacts: opts.artifacts,
            roles: HashMap::new(),
            bound: HashSet::new(),
            lookup,
            history: KeyHistory {
                hints,
                ..KeyHistory::default()
            },
        };
        Self {
            opts,
            progress,
            report: Report {
                pinned: opts.trust.is_some(),
                ..Report::default()
            },
            findings: Vec::new(),
            walk,
            merkle: MerkleCheck {
                tree: merkle::Builder::new(),
                intact: true,
                compare: false,
                since: (opts.since.as_ref().map_or(0, |c| c.size), None),
            },
            party_rows: Vec::new(),
            key_rows: Vec::new(),
            key_event_rows: Vec::new(),
            tally: LookupTally::new(&[]),
            file: false,
        }
    }

    /// Stream every entry through the checks: a reader thread fetches the chunks, this
    /// thread walks them. Returns the store once the reader is done.
    pub(super) fn stream(&mut self, store: Box<dyn Engine>) -> Result<Box<dyn Engine>> {
        let fetch_nodes = self.merkle.compare;
        let tally = std::mem::take(&mut self.tally);
        let (tx, rx) = mpsc::sync_channel::<Chunk>(2);
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (store, tally) = std::thread::scope(|s| -> Result<_> {
            let reader = s.spawn(move || read_chunks(store, fetch_nodes, tally, tx, stop_rx));
            self.walk_chunks(rx, &|| {
                let _ = stop_tx.send(());
            })?;
            reader.join().map_err(|_| {
                crate::error::Error::new("internal error: verify reader thread failed")
            })
        })?;
        self.tally = tally;
        Ok(store)
    }

    /// Stream entries from elsewhere than a ledger file through the checks, as they come
    /// (in the order they are to be walked); an error ends the walk. When the walk stops
    /// early, the remaining chunks are left unread.
    pub(super) fn stream_rows(
        &mut self,
        chunks: impl IntoIterator<Item = Result<Vec<EntryRow>>>,
    ) -> Result<()> {
        let chunks = chunks
            .into_iter()
            .map(|c| c.map(|rows| (rows, Vec::new(), Vec::new())));
        self.walk_chunks(chunks, &|| {})
    }

    /// Check the chunks as they come, in order; tell the reader to stop (`stop`) when the
    /// walk stops early. Signatures of chunk k are checked in the background while chunk
    /// k+1 is parsed and walked; at most two chunks are in flight, so memory stays flat.
    fn walk_chunks(
        &mut self,
        chunks: impl IntoIterator<Item = Chunk>,
        stop_reader: &dyn Fn(),
    ) -> Result<()> {
        let mut pending: VecDeque<InFlight> = VecDeque::new();
        rayon::in_place_scope(|scope| {
            let mut stop = false;
            for msg in chunks {
                let (rows, nodes, index_findings) = msg?;
                let in_flight = self.check_chunk(scope, rows, nodes, index_findings);
                pending.push_back(in_flight);
                while pending.len() > 2 {
                    stop |= self.settle(&mut pending);
                }
                if stop {
                    break;
                }
            }
            while !pending.is_empty() {
                stop |= self.settle(&mut pending);
            }
            if stop {
                self.report.stopped_early = true;
                stop_reader();
            }
            Ok(())
        })
    }

    /// One chunk: pre-check its rows in parallel, walk them in order, follow the Merkle
    /// tree, and start checking its signatures in the background.
    fn check_chunk(
        &mut self,
        scope: &rayon::Scope<'_>,
        rows: Vec<EntryRow>,
        nodes: Vec<NodeRow>,
        mut chunk_findings: Vec<Finding>,
    ) -> InFlight {
        let n = rows.len() as u64;
        self.report.entries += n;
        let vouched = self.merkle.since.0;
        let pre: Vec<Pre> = rows
            .into_par_iter()
            .map(|row| pre_check(row, vouched))
            .collect();
        let mut jobs = Vec::with_capacity(pre.len());
        let (last, now) = (self.walk.last_time, self.opts.now);
        super::meta::future_times(&pre, last, now, &mut chunk_findings);
        // Entries a trusted checkpoint covers: their signatures are vouched for, provided
        // the entries hash to its root (checked in `finish`).
        for (i, p) in pre.iter().enumerate() {
            chunk_findings.extend(p.findings.iter().cloned());
            if let Some(k) = self.walk.step(p, &mut chunk_findings)
                && u64::try_from(p.row.seq).is_ok_and(|s| s > vouched)
            {
                jobs.push((i, k));
            }
        }
        self.merkle.chunk(&pre, nodes, &mut chunk_findings);
        self.report.signatures += jobs.len() as u64;
        if let Some(last) = pre.last() {
            self.report.head = Some((u64::try_from(last.row.seq).unwrap_or(0), last.hash));
        }
        let names: HashMap<Fingerprint, String> = self
            .walk
            .keys
            .iter()
            .map(|(f, r)| (*f, r.party.clone()))
            .collect();
        let (stx, srx) = mpsc::channel();
        scope.spawn(move |_| {
            let _ = stx.send(check_signatures(&pre, &jobs, &names));
        });
        (srx, chunk_findings, n)
    }

    /// Wait for the oldest chunk in flight and take its findings. Returns whether to stop:
    /// it has a problem, and not every problem is wanted.
    fn settle(&mut self, pending: &mut VecDeque<InFlight>) -> bool {
        let Some((srx, mut chunk_findings, n)) = pending.pop_front() else {
            return false;
        };
        chunk_findings.extend(srx.recv().unwrap_or_default());
        self.progress.advance(n);
        let found = !chunk_findings.is_empty();
        self.findings.extend(chunk_findings);
        found && !self.opts.all
    }

    /// After the walk: the whole-ledger checks (those of the file only with `store`, the
    /// ledger file's engine), then the report and the entries noted against a confirmed
    /// revocation.
    pub(super) fn finish(
        mut self,
        store: Option<&dyn Engine>,
    ) -> Result<(Report, Vec<RevokedUse>)> {
        if self.report.entries == 0 {
            self.findings.push(Finding {
                seq: 1,
                check: Check::Missing,
                what: "the ledger has no entries (no genesis)".into(),
            });
        }
        let merkle = &self.merkle;
        if merkle.intact && !self.report.stopped_early {
            self.report.merkle_root = Some(merkle.tree.root());
        }
        self.check_since();
        if let Some(store) = store.filter(|_| self.file) {
            self.check_tables();
            if !self.report.stopped_early {
                self.tally.finish(store, &mut self.findings)?;
            }
            self.check_stray_nodes(store)?;
            if self.opts.artifacts {
                self.check_artifacts(store)?;
            }
        }
        Ok(self.into_report())
    }

    /// The derived tables (whether the tables the schema version has are there is the
    /// layout's check).
    fn check_tables(&mut self) {
        let findings = &mut self.findings;
        check_derived_tables(
            &self.walk,
            &self.party_rows,
            &self.key_rows,
            &self.key_event_rows,
            findings,
        );
    }

    /// The stored nodes that are not nodes of the tree (`FORMAT.md` §12), when every entry
    /// was walked.
    fn check_stray_nodes(&mut self, store: &dyn Engine) -> Result<()> {
        let merkle = &self.merkle;
        if merkle.intact && !self.report.stopped_early && merkle.compare {
            let size = i64::try_from(merkle.tree.size()).unwrap_or(i64::MAX);
            for r in store.merkle_stray_nodes(size, STRAY_NODES)? {
                self.findings.push(Finding {
                    seq: 0,
                    check: Check::Derived,
                    what: format!(
                        "merkle_nodes has a row at level {}, index {}, which is not a stored node of the tree of {size} entries",
                        r.level, r.idx
                    ),
                });
            }
        }
        Ok(())
    }

    /// With a trusted checkpoint: entries 1 … its size must hash to its root, since their
    /// signatures were not checked (`FORMAT.md` §7.1).
    fn check_since(&mut self) {
        let Some(since) = &self.opts.since else {
            return;
        };
        let what = match self.merkle.since.1 {
            Some(root) if root == since.root => {
                self.report.since = Some(since.clone());
                return;
            }
            Some(root) => format!(
                "entries 1–{} do not hash to the root of the trusted checkpoint ({} instead of {}): they were rewritten or forked after it was signed, and their signatures were not checked (verify without --since to find the entry)",
                since.size,
                hex::encode(root),
                hex::encode(since.root)
            ),
            None if self.report.entries < since.size => format!(
                "the trusted checkpoint covers {} entries, but the ledger has {}: truncated or rolled back after it was signed",
                since.size, self.report.entries
            ),
            None => format!(
                "the Merkle root of entries 1–{} could not be recomputed (entries missing), so the trusted checkpoint does not vouch for them",
                since.size
            ),
        };
        self.findings.push(Finding {
            seq: 0,
            check: Check::Trust,
            what,
        });
    }

    /// Re-hash every stored artefact the evidence entries list (with `--artifacts`).
    fn check_artifacts(&mut self, store: &dyn Engine) -> Result<()> {
        for (sha, (seq, name, size)) in &self.walk.artifacts {
            let mut h = Hasher::default();
            let got = store.read_artifact(sha, &mut |c| h.update(c))?;
            self.report.artifacts_checked += 1;
            let problem = match got {
                None => Some("is not stored in the ledger".to_string()),
                Some((stored_size, read)) => {
                    let ok_size = u64::try_from(stored_size).ok() == Some(*size) && read == *size;
                    if !ok_size || hex::encode(h.finish()) != *sha {
                        Some("stored content does not match its signed SHA-256 and size".into())
                    } else {
                        None
                    }
                }
            };
            if let Some(p) = problem {
                self.findings.push(Finding {
                    seq: *seq,
                    check: Check::Artifact,
                    what: format!("artefact {name:?} (sha256 {sha}) {p}"),
                });
            }
        }
        Ok(())
    }

    /// The report: unused pins, the findings in order (only the first without `--all`), the
    /// parties; beside it the entries noted against a revocation the walk confirmed.
    fn into_report(self) -> (Report, Vec<RevokedUse>) {
        let Self {
            opts,
            mut report,
            mut findings,
            walk,
            ..
        } = self;
        if let Some(trust) = &walk.trust {
            let mut unused: Vec<Fingerprint> = trust.difference(&walk.used_pins).copied().collect();
            unused.sort();
            report.unused_pins = unused;
        }
        findings.sort_by_key(|f| (f.seq, f.check));
        // An index entry found stray in its chunk is found again by the final count.
        let mut once = HashSet::new();
        findings.retain(|f| once.insert((f.seq, f.check, f.what.clone())));
        if !opts.all {
            findings.truncate(1);
        }
        report.findings = findings;
        let confirmed = &walk.history.confirmed;
        let noted = walk
            .history
            .noted
            .into_iter()
            .filter(|u| confirmed.get(&u.revoked_by) == Some(&(u.key, u.since)))
            .collect();
        report.parties = walk.parties;
        (report, noted)
    }
}

/// Revocations by the derived kind column, only to know which entries to note on the way
/// (FORMAT.md §14.4); each is confirmed from the signed bytes when the walk gets to it.
fn revocation_hints(store: &dyn Engine) -> Result<Hints> {
    let mut hints: Hints = HashMap::new();
    for row in store.entries_of_kind(Kind::KeyRevocation.as_str())? {
        let Ok(p) = payload::decode::<KeyRevocationPayload>(&row.payload) else {
            continue;
        };
        if let (Some(key), Some(since), Ok(seq)) = (
            Fingerprint::parse(&p.key),
            crate::format::entry::parse_time(&p.since),
            u64::try_from(row.seq),
        ) {
            hints.entry(key).or_default().push((seq, since));
        }
    }
    Ok(hints)
}

/// The reader thread: fetch the entry rows chunk by chunk (with the Merkle rows each
/// completes, and what the indexes list for it) until the end, an error or a stop; then
/// hand the store back, with what it read of the indexes.
fn read_chunks(
    store: Box<dyn Engine>,
    fetch_nodes: bool,
    mut tally: LookupTally,
    tx: mpsc::SyncSender<Chunk>,
    stop_rx: mpsc::Receiver<()>,
) -> (Box<dyn Engine>, LookupTally) {
    let mut after = 0i64;
    loop {
        if stop_rx.try_recv().is_ok() {
            break;
        }
        match store.entries_after(after, CHUNK) {
            Ok(rows) if rows.is_empty() => {
                tally.complete = true;
                break;
            }
            Ok(rows) => {
                let last = rows.last().map_or(after, |r| r.seq);
                let chunk = read_beside(&*store, &mut tally, fetch_nodes, &rows, after, last);
                after = last;
                let failed = chunk.is_err();
                if tx.send(chunk.map(|(n, f)| (rows, n, f))).is_err() || failed {
                    break;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                break;
            }
        }
    }
    (store, tally)
}

/// What the reader reads beside a chunk of rows (seqs `after+1..=last`): the Merkle rows
/// it completes (by seq: a gap stops the Merkle check anyway), and the indexes read back.
fn read_beside(
    store: &dyn Engine,
    tally: &mut LookupTally,
    fetch_nodes: bool,
    rows: &[EntryRow],
    after: i64,
    last: i64,
) -> Result<(Vec<NodeRow>, Vec<Finding>)> {
    let nodes = if fetch_nodes {
        store.merkle_nodes_completed(after, last)?
    } else {
        Vec::new()
    };
    let mut findings = Vec::new();
    tally.chunk(store, rows, after, last, &mut findings)?;
    Ok((nodes, findings))
}

/// Batch-verify a chunk's signatures (`jobs`: entry index and key), on every core; a failed
/// batch is re-checked one signature at a time so the entry can be named.
fn check_signatures(
    chunk: &[Pre],
    jobs: &[(usize, PublicKey)],
    names: &HashMap<Fingerprint, String>,
) -> Vec<Finding> {
    jobs.par_chunks(BATCH)
        .flat_map_iter(|part| {
            let ks: Vec<PublicKey> = part.iter().map(|(_, k)| *k).collect();
            let ms: Vec<&[u8]> = part
                .iter()
                .map(|(i, _)| chunk[*i].row.body.as_slice())
                .collect();
            let ss: Vec<&[u8]> = part
                .iter()
                .map(|(i, _)| chunk[*i].row.signature.as_slice())
                .collect();
            let bad: Vec<Finding> = if crypto::verify_batch(&ks, &ms, &ss) {
                Vec::new()
            } else {
                part.iter()
                    .filter(|(i, k)| !k.verify(&chunk[*i].row.body, &chunk[*i].row.signature))
                    .map(|(i, k)| {
                        let fpr = k.fingerprint();
                        let who = names
                            .get(&fpr)
                            .map(|p| format!(" (party {p:?})"))
                            .unwrap_or_default();
                        Finding {
                            seq: u64::try_from(chunk[*i].row.seq).unwrap_or(0),
                            check: Check::Signature,
                            what: format!("signature does not verify against key {fpr}{who}"),
                        }
                    })
                    .collect()
            };
            bad
        })
        .collect()
}
