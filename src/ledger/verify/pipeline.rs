//! The verification pipeline (`schema/FORMAT.md` §7): the file's layout first (its tables
//! and indexes are the ones the migrations make); then a reader thread fetches the entry
//! rows in chunks (with the Merkle rows each chunk completes, and reads back what the
//! indexes list for the chunk) while the chunk before is pre-checked in parallel, walked in
//! order, and its signatures batch-verified in the background; then the whole-ledger checks
//! (derived tables, index sizes, Merkle root and stray nodes, stored artefacts) and the
//! report. Memory stays flat in ledger size.

use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::mpsc;

use super::derived::{LookupTally, MerkleCheck, check_derived_tables};
use super::precheck::{Pre, pre_check};
use super::walk::{KeyHistory, Walk};
use super::{Check, Finding, Options, Report, RevokedUse};
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
        let mut report = Report {
            pinned: opts.trust.is_some(),
            ..Report::default()
        };
        let meta_id = store.meta("ledger_id")?;
        report.ledger_id.clone_from(&meta_id);
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
        let merkle = MerkleCheck {
            tree: merkle::Builder::new(),
            intact: true,
            compare: merkle_table == Some(true),
        };

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
            lookup: store.reopen()?,
            history: KeyHistory {
                hints,
                ..KeyHistory::default()
            },
        };
        let pipeline = Self {
            opts,
            progress,
            report,
            findings,
            walk,
            merkle,
            party_rows,
            key_rows,
            key_event_rows,
            tally: LookupTally::new(&layout.lookups),
        };
        Ok((pipeline, store))
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
            self.walk_chunks(rx, &stop_tx)?;
            reader.join().map_err(|_| {
                crate::error::Error::new("internal error: verify reader thread failed")
            })
        })?;
        self.tally = tally;
        Ok(store)
    }

    /// Check the chunks as they come, in order; tell the reader to stop when the walk stops
    /// early. Signatures of chunk k are checked in the background while chunk k+1 is parsed
    /// and walked; at most two chunks are in flight, so memory stays flat.
    fn walk_chunks(&mut self, rx: mpsc::Receiver<Chunk>, stop_tx: &mpsc::Sender<()>) -> Result<()> {
        let mut pending: VecDeque<InFlight> = VecDeque::new();
        rayon::in_place_scope(|scope| {
            let mut stop = false;
            for msg in rx {
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
                let _ = stop_tx.send(());
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
        let pre: Vec<Pre> = rows.into_par_iter().map(pre_check).collect();
        let mut jobs = Vec::with_capacity(pre.len());
        let (last, now) = (self.walk.last_time, self.opts.now);
        super::meta::future_times(&pre, last, now, &mut chunk_findings);
        for (i, p) in pre.iter().enumerate() {
            chunk_findings.extend(p.findings.iter().cloned());
            if let Some(k) = self.walk.step(p, &mut chunk_findings) {
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

    /// After the walk: the whole-ledger checks, then the report and the entries noted
    /// against a confirmed revocation.
    pub(super) fn finish(mut self, store: &dyn Engine) -> Result<(Report, Vec<RevokedUse>)> {
        self.check_tables();
        if !self.report.stopped_early {
            self.tally.finish(store, &mut self.findings)?;
        }
        self.check_merkle_root(store)?;
        if self.opts.artifacts {
            self.check_artifacts(store)?;
        }
        Ok(self.into_report())
    }

    /// No entries at all; the derived tables (whether the tables the schema version has
    /// are there is the layout's check).
    fn check_tables(&mut self) {
        let findings = &mut self.findings;
        if self.report.entries == 0 {
            findings.push(Finding {
                seq: 1,
                check: Check::Missing,
                what: "the ledger has no entries (no genesis)".into(),
            });
        }
        check_derived_tables(
            &self.walk,
            &self.party_rows,
            &self.key_rows,
            &self.key_event_rows,
            findings,
        );
    }

    /// The Merkle root, when every entry was walked; and the stored nodes that are not
    /// nodes of the tree (`FORMAT.md` §12).
    fn check_merkle_root(&mut self, store: &dyn Engine) -> Result<()> {
        let merkle = &self.merkle;
        if merkle.intact && !self.report.stopped_early {
            self.report.merkle_root = Some(merkle.tree.root());
            if merkle.compare {
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
        }
        Ok(())
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
