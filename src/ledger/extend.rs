//! Appending entries that were signed elsewhere onto a ledger's head: the seam of
//! `vouch serve` (`schema/PROTOCOL.md` §6.1, §6.2, §6.5) and, later, of replicas (`pull`,
//! `clone`).
//!
//! The entries come as parsed `FORMAT.md` §16.2 lines, with the head they were signed on
//! (`base`). In one write transaction the head is read; if it is not `base`, the request is
//! either a repeat (every entry already stored at its seq with the same bytes: answered as
//! the first time, `PROTOCOL.md` §6.3) or refused with [`Refusal::HeadMoved`]. Otherwise the
//! entries are stored verbatim with their derived rows (§6) and the Merkle nodes they
//! complete (§12) as they stream in, and judged by the verifier of `vouch verify` itself
//! ([`super::verify::verify_rows`]): the ledger's stored entries are walked first (their
//! signatures are not checked again: they hash to the stored Merkle root), then the new
//! ones, so every rule of `FORMAT.md` §4 and §7 holds across the boundary with one owner
//! per rule (signature, registration and key history, payload rules, adopted matrix, time
//! order, and times at most [`super::evidence::MAX_FUTURE`] after `now`). Stored artefacts
//! the new entries name must be in the ledger already. Any finding or error rolls the whole
//! transaction back: all the entries land or none.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::store::{self, Access, Engine, Txn};
use super::verify::{self, Options, References, Resume, SignedEntry, Since};
use super::{Draft, Registration, keys};
use crate::bundle::BundleEntry;
use crate::crypto::{self, Fingerprint, PublicKey};
use crate::error::{Error, Result};
use crate::format::entry::{EntryHeader, Kind, LedgerId, ZERO_HASH};
use crate::format::merkle;
use crate::format::payload::{self, EvidencePayload, PartyPayload};

/// Entries stored and walked per step.
const CHUNK: usize = 4096;

/// A ledger head: the newest entry's seq and hash (seq 0 and zeros: no entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The newest entry's seq.
    pub seq: u64,
    /// Its SHA-256.
    pub hash: [u8; 32],
}

impl Head {
    /// The head of a ledger with no entry.
    pub const EMPTY: Head = Head {
        seq: 0,
        hash: ZERO_HASH,
    };
}

/// What an extension did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extended {
    /// The first entry of the request.
    pub first: u64,
    /// The last.
    pub last: u64,
    /// The ledger's head afterwards.
    pub head: Head,
    /// `false`: every entry was stored already, with the same bytes (nothing written).
    pub created: bool,
}

/// Why entries were not appended. Nothing was written in every case.
#[derive(Debug)]
pub enum Refusal {
    /// The ledger's head is not the base the entries were signed on (its head).
    HeadMoved(Head),
    /// An entry the rules refuse (`seq` 0: the request as a whole).
    Rejected {
        /// The entry.
        seq: u64,
        /// What is wrong with it.
        error: Error,
    },
    /// The request itself is malformed (a line that does not decode).
    Malformed(Error),
    /// The extension could not run (I/O, a damaged ledger).
    Failed(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Failed(e)
    }
}

/// How to extend.
#[derive(Debug, Clone)]
pub struct ExtendOptions {
    /// The server's clock: entries may not be dated more than `MAX_FUTURE` after it.
    pub now: DateTime<Utc>,
    /// Stored artefacts the entries name must be in the ledger (appends); an uploaded
    /// ledger gets its artefacts after its entries (`PROTOCOL.md` §6.2).
    pub require_artifacts: bool,
    /// Documents (adopted matrices) to store with the entries, before them.
    pub documents: Vec<Vec<u8>>,
    /// New entries may not be dated more than this before `now` ([`MAX_PAST`] for appends
    /// of new entries; `None` for an upload of an existing history, `PROTOCOL.md` §6.2).
    pub max_past: Option<chrono::Duration>,
}

/// How far before the server's clock a newly appended entry may be dated
/// (`PROTOCOL.md` §6.5): the server's clock bounds ledger time on both sides.
pub const MAX_PAST: chrono::Duration = chrono::Duration::minutes(5);

/// An entry dated more than `max_past` before `now`: refused, both times named.
fn too_old(e: &BundleEntry, opts: &ExtendOptions) -> Result<(), Refusal> {
    let Some(max) = opts.max_past else {
        return Ok(());
    };
    let Ok(h) = EntryHeader::parse(&e.body) else {
        return Ok(());
    };
    if h.time >= opts.now - max {
        return Ok(());
    }
    let t = crate::format::entry::format_time;
    Err(Refusal::Rejected {
        seq: e.seq,
        error: Error::new(format!(
            "entry {}: time {} is more than {} minutes before the server's clock ({})",
            e.seq,
            t(&h.time),
            max.num_minutes(),
            t(&opts.now)
        ))
        .hint("sign entries on a machine whose clock is right and send them at once; an existing history is uploaded whole (PUT /v1/ledgers/{id}, PROTOCOL.md section 6.2)"),
    })
}

/// Append `entries`, signed on `base`, to the ledger file at `path`.
///
/// # Errors
///
/// A [`Refusal`]; nothing is written.
pub fn extend(
    path: &Path,
    base: Head,
    entries: impl IntoIterator<Item = Result<BundleEntry, Refusal>>,
    opts: &ExtendOptions,
) -> Result<Extended, Refusal> {
    extend_resuming(path, base, entries, opts, &mut None)
}

/// [`extend`], resuming the walk of `cache` when it ended on the ledger's head (the
/// entries before it are then not walked again), and leaving in `cache` the walk's state
/// at the new head. A long-running writer (`vouch serve`) keeps one per ledger, so an
/// append costs what its own entries cost, not what the ledger holds.
///
/// # Errors
///
/// A [`Refusal`]; nothing is written, and `cache` is emptied unless the ledger is as it was.
pub fn extend_resuming(
    path: &Path,
    base: Head,
    entries: impl IntoIterator<Item = Result<BundleEntry, Refusal>>,
    opts: &ExtendOptions,
    cache: &mut Option<Resume>,
) -> Result<Extended, Refusal> {
    let mut engine = store::open(path, Access::ReadWrite)?;
    let ledger = engine
        .meta("ledger_id")?
        .and_then(|s| LedgerId::parse(&s))
        .ok_or_else(|| Error::new(format!("{}: ledger id missing", path.display())))?;
    run(&mut engine, path, ledger, base, entries, opts, cache)
}

/// Create the ledger file at `path` (which must not exist) from `entries`, the first being
/// its genesis entry, whose ledger id and version the file takes. On a refusal the file is
/// left with no entry; the caller removes it.
///
/// # Errors
///
/// A [`Refusal`].
pub fn create(
    path: &Path,
    entries: impl IntoIterator<Item = Result<BundleEntry, Refusal>>,
    opts: &ExtendOptions,
    cache: &mut Option<Resume>,
) -> Result<Extended, Refusal> {
    let mut entries = entries.into_iter().peekable();
    let header = match entries.peek() {
        None => {
            return Err(Refusal::Malformed(Error::new(
                "no entry: a ledger starts with its genesis entry",
            )));
        }
        Some(Err(_)) => {
            return Err(entries
                .next()
                .and_then(Result::err)
                .unwrap_or_else(|| Refusal::Failed(Error::new("internal error"))));
        }
        Some(Ok(first)) => EntryHeader::parse(&first.body).map_err(|e| Refusal::Rejected {
            seq: first.seq,
            error: Error::new(format!("entry {}: malformed {e}", first.seq)),
        })?,
    };
    let id = header.ledger.to_string();
    // In PostgreSQL the ledger row lands with the entries, in one transaction.
    let mut engine = store::create_staged(
        path,
        &[("ledger_id", &id), ("format", header.version.as_str())],
    )?;
    run(
        &mut engine,
        path,
        header.ledger,
        Head::EMPTY,
        entries,
        opts,
        cache,
    )
}

/// The head of the ledger a write transaction sees.
fn head_of(tx: &dyn Txn) -> Result<Head> {
    Ok(match tx.tip()? {
        None => Head::EMPTY,
        Some(row) => Head {
            seq: u64::try_from(row.seq).unwrap_or(0),
            hash: crypto::sha256(&row.body),
        },
    })
}

/// The transaction: the head, then the repeat check or the walk. A refusal rolls it back.
fn run(
    engine: &mut Box<dyn Engine>,
    path: &Path,
    ledger: LedgerId,
    base: Head,
    entries: impl IntoIterator<Item = Result<BundleEntry, Refusal>>,
    opts: &ExtendOptions,
    cache: &mut Option<Resume>,
) -> Result<Extended, Refusal> {
    let mut refusal: Option<Refusal> = None;
    // The readers the transaction uses beside it (committed rows): opened from the
    // engine, which sees a ledger whose creation is not committed yet.
    let readers = [engine.reopen()?, engine.reopen()?];
    let cached = cache.take();
    let mut kept = None;
    let mut resumed = None;
    let result = engine.write(|tx| {
        let out = (|| {
            let head = head_of(tx)?;
            let cached = cached.filter(|c| c.head() == (head.seq, head.hash));
            let [reader, other] = readers;
            if head != base {
                kept = cached;
                return repeat(&*reader, head, entries);
            }
            let (e, r) = append(
                tx,
                [reader, other],
                path,
                ledger,
                head,
                entries,
                opts,
                cached,
            )?;
            resumed = r;
            Ok(e)
        })();
        out.map_err(|r| {
            refusal = Some(r);
            Error::new("refused")
        })
    });
    // The walk's state is kept only for what was committed (or left as it was).
    *cache = if result.is_ok() && resumed.is_some() {
        resumed
    } else {
        kept
    };
    match (result, refusal) {
        (Ok(e), _) => Ok(e),
        (Err(_), Some(r)) => Err(r),
        (Err(e), None) => Err(Refusal::Failed(e)),
    }
}

/// The head is not `base`: a repeat of entries stored already (`PROTOCOL.md` §6.3), or
/// entries signed on another head.
fn repeat(
    store: &dyn Engine,
    head: Head,
    entries: impl IntoIterator<Item = Result<BundleEntry, Refusal>>,
) -> Result<Extended, Refusal> {
    let mut first = None;
    let mut last = 0;
    for e in entries {
        let e = e?;
        let stored = match i64::try_from(e.seq) {
            Ok(s) if e.seq >= 1 && e.seq <= head.seq => store.entry(s)?,
            _ => None,
        };
        let same = stored.is_some_and(|r| {
            r.body == e.body && r.signature == e.signature && r.payload == e.payload
        });
        if !same || first.is_some() && e.seq != last + 1 {
            return Err(Refusal::HeadMoved(head));
        }
        first.get_or_insert(e.seq);
        last = e.seq;
    }
    let first = first.ok_or(Refusal::HeadMoved(head))?;
    Ok(Extended {
        first,
        last,
        head,
        created: false,
    })
}

/// Where the walk looks up earlier entries and documents: the new entries' texts as they
/// were stored, the documents of the request, and the ledger file (committed rows).
struct Lookup {
    store: Box<dyn Engine>,
    texts: Arc<Mutex<HashMap<u64, Vec<u8>>>>,
    documents: HashMap<String, Vec<u8>>,
}

impl References for Lookup {
    fn entry_text(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        let new = self
            .texts
            .lock()
            .map_err(|_| Error::new("internal error: the entry index is unusable"))?
            .get(&seq)
            .cloned();
        if new.is_some() {
            return Ok(new);
        }
        let Ok(seq) = i64::try_from(seq) else {
            return Ok(None);
        };
        Ok(self.store.entry(seq)?.map(|r| r.body))
    }

    fn read_document(
        &self,
        sha256: &str,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<(i64, u64)>> {
        if let Some(d) = self.documents.get(sha256) {
            sink(d);
            return Ok(Some((d.len() as i64, d.len() as u64)));
        }
        self.store.read_artifact(sha256, sink)
    }
}

/// The stored entries `1..=head`, in chunks, as the walk takes them.
fn stored_chunks(
    store: Box<dyn Engine>,
    head: u64,
) -> impl Iterator<Item = Result<Vec<SignedEntry>>> {
    let mut after = 0i64;
    let last = i64::try_from(head).unwrap_or(i64::MAX);
    std::iter::from_fn(move || {
        if after >= last {
            return None;
        }
        let rows = match store.entries_after(after, CHUNK) {
            Ok(r) => r,
            Err(e) => {
                after = last;
                return Some(Err(e));
            }
        };
        let Some(end) = rows.last().map(|r| r.seq) else {
            after = last;
            return None;
        };
        after = end;
        let rows = rows
            .into_iter()
            .filter(|r| r.seq <= last)
            .map(|r| SignedEntry {
                seq: u64::try_from(r.seq).unwrap_or(0),
                body: r.body,
                signature: r.signature,
                payload: r.payload,
            })
            .collect();
        Some(Ok(rows))
    })
}

/// The new entries, stored a chunk at a time in the transaction as the walk takes them.
struct Feeder<'t> {
    tx: &'t dyn Txn,
    ledger: LedgerId,
    tree: merkle::Builder,
    texts: Arc<Mutex<HashMap<u64, Vec<u8>>>>,
    /// Stored artefacts the entries name: entry, SHA-256, name, size.
    artifacts: Vec<(u64, String, String, u64)>,
    /// A malformed line (ends the feed; reported before any finding).
    malformed: Option<Refusal>,
    /// An entry that could not be stored (ends the feed after its chunk; reported when
    /// the walk found nothing).
    failed: Option<Refusal>,
    /// The options (the server's clock and how far before it new entries may be dated).
    opts: &'t ExtendOptions,
}

impl Feeder<'_> {
    /// The next chunk of entries: stored, then handed to the walk.
    fn next_chunk(
        &mut self,
        entries: &mut dyn Iterator<Item = Result<BundleEntry, Refusal>>,
    ) -> Option<Result<Vec<SignedEntry>>> {
        if self.malformed.is_some() || self.failed.is_some() {
            return None;
        }
        let mut chunk = Vec::new();
        for e in &mut *entries {
            match e {
                Ok(e) if e.proof.is_some() => {
                    self.malformed = Some(Refusal::Malformed(Error::new(format!(
                        "entry {}: an entry line here has no proof member",
                        e.seq
                    ))));
                    break;
                }
                Ok(e) => chunk.push(e),
                Err(r) => {
                    self.malformed = Some(r);
                    break;
                }
            }
            if chunk.len() == CHUNK {
                break;
            }
        }
        if chunk.is_empty() {
            return None;
        }
        if let Err(r) = self.store(&chunk) {
            self.failed = Some(r);
        }
        Some(Ok(chunk
            .into_iter()
            .map(|e| SignedEntry {
                seq: e.seq,
                body: e.body,
                signature: e.signature,
                payload: e.payload,
            })
            .collect()))
    }

    /// Store a chunk with its derived rows and the Merkle nodes it completes.
    fn store(&mut self, chunk: &[BundleEntry]) -> Result<(), Refusal> {
        let mut rows = Vec::with_capacity(chunk.len());
        for e in chunk {
            too_old(e, self.opts)?;
            let named = |error: Error| Refusal::Rejected {
                seq: e.seq,
                error: error.context(format_args!("entry {}", e.seq)),
            };
            if e.seq == self.tree.size() + 1 {
                self.tree.push(merkle::leaf_hash(&e.body));
            }
            self.derived(e).map_err(named)?;
            let hash = crypto::sha256(&e.body);
            rows.push(
                store::EntryRow::derive(
                    e.seq,
                    hash,
                    e.body.clone(),
                    e.signature.clone(),
                    e.payload.clone(),
                )
                .map_err(named)?,
            );
            self.texts
                .lock()
                .map_err(|_| Error::new("internal error: the entry index is unusable"))?
                .insert(e.seq, e.body.clone());
        }
        let first = chunk.first().map_or(0, |e| e.seq);
        self.tx
            .insert_entries(&rows)
            .map_err(|error| Refusal::Rejected { seq: first, error })?;
        Ok(self.tx.insert_merkle_nodes(&self.tree.take_completed())?)
    }

    /// The derived rows of one entry (§6): a party and its key, a key's history; and the
    /// stored artefacts it names. An entry that does not parse derives nothing (the walk
    /// names what is wrong with it).
    fn derived(&mut self, e: &BundleEntry) -> Result<()> {
        let Ok(h) = EntryHeader::parse(&e.body) else {
            return Ok(());
        };
        if crypto::sha256(&e.payload) != h.payload {
            return Ok(());
        }
        match h.kind {
            Kind::Genesis | Kind::Party => {
                let p: PartyPayload = payload::decode(&e.payload).map_err(Error::new)?;
                let key = PublicKey::from_spki_base64(&p.public_key)?;
                Registration::of(&p, &key).insert(self.tx, e.seq)?;
            }
            Kind::KeyRotation | Kind::KeyRevocation => {
                let Some(row) = self.tx.key(&h.signer.to_string())? else {
                    return Ok(());
                };
                let draft = Draft {
                    kind: h.kind,
                    payload: e.payload.clone(),
                    party: None,
                    store_artifacts: Vec::new(),
                };
                if let Some(c) =
                    keys::check_drafts(self.tx, &self.ledger, &row, &[draft], e.seq, h.time)?
                {
                    keys::apply(self.tx, &c)?;
                }
            }
            Kind::Evidence => {
                let p: EvidencePayload = payload::decode(&e.payload).map_err(Error::new)?;
                for a in p.artifacts.into_iter().filter(|a| a.stored) {
                    self.artifacts.push((e.seq, a.sha256, a.name, a.size));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Store the documents of the request (adopted matrices), once each.
fn store_documents(tx: &dyn Txn, documents: &[Vec<u8>]) -> Result<HashMap<String, Vec<u8>>> {
    let mut out = HashMap::new();
    for d in documents {
        let sha = hex::encode(crypto::sha256(d));
        if !tx.has_artifact(&sha)? {
            let mut src = std::io::Cursor::new(d.as_slice());
            tx.insert_artifact(&sha, d.len() as u64, &mut src, &mut |_| {})?;
        }
        out.insert(sha, d.clone());
    }
    Ok(out)
}

/// The head is `base`: store the entries and walk them after the stored ones (`readers`:
/// two read handles on the committed rows).
#[allow(clippy::too_many_arguments)]
fn append(
    tx: &dyn Txn,
    readers: [Box<dyn Engine>; 2],
    path: &Path,
    ledger: LedgerId,
    head: Head,
    entries: impl IntoIterator<Item = Result<BundleEntry, Refusal>>,
    opts: &ExtendOptions,
    cached: Option<Resume>,
) -> Result<(Extended, Option<Resume>), Refusal> {
    let documents = store_documents(tx, &opts.documents)?;
    let texts: Arc<Mutex<HashMap<u64, Vec<u8>>>> = Arc::default();
    let [reader, lookup_store] = readers;
    let since = match head.seq {
        _ if cached.is_some() => None,
        0 => None,
        n => Some(Since {
            size: n,
            root: reader.merkle_root(n)?,
            // Not a checkpoint's signer: the server's own entries, verified on arrival.
            key: Fingerprint([0; 32]),
        }),
    };
    let lookup = Lookup {
        store: lookup_store,
        texts: Arc::clone(&texts),
        documents,
    };
    let options = Options {
        trust: None,
        artifacts: false,
        all: false,
        now: Some(opts.now),
        since,
    };
    let mut feeder = Feeder {
        tx,
        ledger,
        tree: merkle::Builder::resume(tx, head.seq)?,
        texts,
        artifacts: Vec::new(),
        malformed: None,
        failed: None,
        opts,
    };
    let mut entries = entries.into_iter();
    let new = std::iter::from_fn(|| feeder.next_chunk(&mut entries));
    // Resuming, the stored entries were walked already (their state is the cache's).
    let stored = if cached.is_some() { 0 } else { head.seq };
    let chunks = stored_chunks(reader, stored).chain(new);
    let walked = verify::verify_rows_from(
        cached.as_ref(),
        Some(ledger),
        Box::new(lookup),
        &options,
        chunks,
    );
    if let Some(r) = feeder.malformed.take() {
        return Err(r);
    }
    let (report, resume) = walked?;
    if let Some(f) = report.findings.first() {
        return Err(judged(path, head, f));
    }
    if let Some(r) = feeder.failed.take() {
        return Err(r);
    }
    let Some((last, hash)) = report.head.filter(|(s, _)| *s > head.seq) else {
        return Err(Refusal::Malformed(Error::new(
            "no entry to append: `entries` is empty",
        )));
    };
    if opts.require_artifacts {
        check_artifacts(path, &feeder.artifacts)?;
    }
    Ok((
        Extended {
            first: head.seq + 1,
            last,
            head: Head { seq: last, hash },
            created: true,
        },
        resume,
    ))
}

/// The first finding of the walk, as a refusal: a new entry is rejected; a stored one
/// means the ledger file is damaged.
fn judged(path: &Path, head: Head, f: &verify::Finding) -> Refusal {
    if f.seq == 0 || f.seq > head.seq {
        let what = if f.seq == 0 {
            f.what.clone()
        } else {
            format!("entry {}: {}", f.seq, f.what)
        };
        return Refusal::Rejected {
            seq: f.seq,
            error: Error::new(what)
                .hint("nothing was stored: fix the entry (or re-sign it on the ledger's head) and send it again"),
        };
    }
    Refusal::Failed(
        Error::new(format!(
            "{}: stored entry {}: {}",
            path.display(),
            f.seq,
            f.what
        ))
        .hint("the ledger file is damaged: run vouch verify on it"),
    )
}

/// Stored artefacts the new entries name are in the ledger, with the signed size.
fn check_artifacts(path: &Path, artifacts: &[(u64, String, String, u64)]) -> Result<(), Refusal> {
    if artifacts.is_empty() {
        return Ok(());
    }
    let store = store::open(path, Access::ReadOnly)?;
    for (seq, sha, name, size) in artifacts {
        let found = store.read_artifact(sha, &mut |_| {})?;
        let what = match found {
            None => format!("entry {seq}: stored artefact {name} ({sha}) is not on the server"),
            Some((stored, n)) if n != *size || u64::try_from(stored).ok() != Some(n) => format!(
                "entry {seq}: stored artefact {name} ({sha}) has {n} bytes, the entry says {size}"
            ),
            Some(_) => continue,
        };
        return Err(Refusal::Rejected {
            seq: *seq,
            error: Error::new(what).hint(
                "upload the artefact first (PUT …/artifacts/SHA256), then send the entry again",
            ),
        });
    }
    Ok(())
}

/// Whether there is a ledger at `path`: a file, or a `postgres://…?ledger=NAME` location.
///
/// # Errors
///
/// The database cannot be reached.
pub fn exists(path: &Path) -> Result<bool> {
    store::exists(path)
}

/// The ledgers of the PostgreSQL database at `url` (`postgres://…`, without `ledger=`), by
/// name; the database's vouch schema is brought up to date first.
///
/// # Errors
///
/// A malformed URL, a database that cannot be reached or is of a newer schema.
pub fn database_ledgers(url: &str) -> Result<Vec<String>> {
    store::database_ledgers(url)
}

/// Store an artefact (`PROTOCOL.md` §6.6) in the ledger file at `path` under `sha256`, the
/// SHA-256 of the `size` bytes `src` yields (the caller hashed them on arrival). Returns
/// `false` if it was stored already (nothing written).
///
/// # Errors
///
/// I/O.
pub fn store_artifact(
    path: &Path,
    sha256: &str,
    size: u64,
    src: &mut dyn std::io::Read,
) -> Result<bool> {
    let mut engine = store::open(path, Access::ReadWrite)?;
    engine.write(|tx| {
        if tx.has_artifact(sha256)? {
            return Ok(false);
        }
        tx.insert_artifact(sha256, size, src, &mut |_| {})?;
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::format::entry::parse_time;
    use crate::format::payload::Role;
    use crate::ledger::{Ledger, NewParty, NoProgress};

    /// Genesis by `provider`, the customer registered, then `n` customer evidence entries,
    /// all at `time`; the ledger's entries as §16.2 lines.
    fn lines(path: &Path, provider: u8, time: &str, n: usize) -> Vec<BundleEntry> {
        let t = parse_time(time).unwrap();
        let (p, c) = (
            SecretKey::from_seed(&[provider; 32]),
            SecretKey::from_seed(&[2; 32]),
        );
        let party = |id: &str, role| NewParty {
            id: id.into(),
            name: id.into(),
            role,
        };
        let (mut l, _) = Ledger::init(
            path,
            LedgerId([5u8; 16]),
            &party("prov", Role::Provider),
            &p,
            t,
        )
        .unwrap();
        l.add_party(&party("cust", Role::Customer), &c, &p, t)
            .unwrap();
        l.append(&c, crate::ledger::restore_drafts(n, t), t, &NoProgress)
            .unwrap();
        l.entries_after(0, n + 2)
            .unwrap()
            .into_iter()
            .map(|e| BundleEntry {
                seq: e.seq(),
                body: e.body,
                signature: e.signature,
                payload: e.payload,
                proof: None,
            })
            .collect()
    }

    fn head(l: &BundleEntry) -> Head {
        Head {
            seq: l.seq,
            hash: crypto::sha256(&l.body),
        }
    }

    fn ok(ls: &[BundleEntry]) -> Vec<Result<BundleEntry, Refusal>> {
        ls.iter().cloned().map(Ok).collect()
    }

    /// An append that resumes the saved walk judges as a full walk does: it accepts the
    /// ledger's own entries a few at a time, refuses an entry of a fork (same ledger id,
    /// another history) and a forged signature, keeps nothing of a refusal, and the file
    /// it writes is the original ledger's, entry for entry.
    #[test]
    fn a_resumed_walk_judges_as_a_full_walk() {
        let dir = tempfile::tempdir().unwrap();
        let ours = lines(&dir.path().join("a.db"), 1, "2026-07-01T00:00:00Z", 40);
        let fork = lines(&dir.path().join("f.db"), 1, "2026-07-02T00:00:00Z", 40);
        let opts = ExtendOptions {
            now: parse_time("2026-07-03T00:00:00Z").unwrap(),
            require_artifacts: false,
            documents: Vec::new(),
            max_past: None,
        };
        let b = dir.path().join("b.db");
        let mut cache = None;
        create(&b, ok(&ours[..1]), &opts, &mut cache).unwrap();
        assert_eq!(
            cache.as_ref().map(Resume::head),
            Some((1, head(&ours[0]).hash))
        );
        let mut at = 1;
        for step in [1, 5, 13, 2] {
            let e = extend_resuming(
                &b,
                head(&ours[at - 1]),
                ok(&ours[at..at + step]),
                &opts,
                &mut cache,
            )
            .unwrap();
            at += step;
            assert_eq!(e.head, head(&ours[at - 1]));
            assert_eq!(
                cache.as_ref().map(Resume::head),
                Some((e.head.seq, e.head.hash))
            );
        }
        // With the walk resumed, and (cache dropped) walked in full: refused alike.
        for warm in [true, false] {
            if !warm {
                cache = None;
            }
            let base = head(&ours[at - 1]);
            match extend_resuming(&b, base, ok(&fork[at..at + 1]), &opts, &mut cache) {
                Err(Refusal::Rejected { seq, error }) => {
                    assert_eq!(seq, at as u64 + 1);
                    assert!(error.message().contains("prev"), "{}", error.message());
                }
                other => panic!("fork accepted: {other:?}"),
            }
            assert!(cache.is_none(), "a refusal keeps no walk state");
            let mut forged = ours[at].clone();
            forged.signature[3] ^= 1;
            match extend_resuming(&b, base, vec![Ok(forged)], &opts, &mut cache) {
                Err(Refusal::Rejected { seq, .. }) => assert_eq!(seq, at as u64 + 1),
                other => panic!("forged signature accepted: {other:?}"),
            }
            // A full walk restores the state; the next append resumes it.
            extend_resuming(&b, base, ok(&ours[at..at + 1]), &opts, &mut cache).unwrap();
            at += 1;
            assert!(cache.is_some());
        }
        extend_resuming(&b, head(&ours[at - 1]), ok(&ours[at..]), &opts, &mut cache).unwrap();
        let stored = Ledger::open(&b, Access::ReadOnly)
            .unwrap()
            .entries_after(0, 100)
            .unwrap();
        assert_eq!(stored.len(), ours.len());
        assert!(
            stored
                .iter()
                .zip(&ours)
                .all(|(s, o)| s.body == o.body && s.signature == o.signature)
        );
        let report = verify::verify(&b, &Options::default(), &NoProgress).unwrap();
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    /// The server's clock bounds new entries on the past side too: an upload of an
    /// existing history (`max_past: None`) keeps its times, an append of entries dated
    /// more than five minutes before the clock is refused with both times, nothing kept.
    #[test]
    fn new_entries_dated_before_the_servers_clock_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ours = lines(&dir.path().join("a.db"), 1, "2026-07-01T00:00:00Z", 4);
        let now = parse_time("2026-07-01T01:00:00Z").unwrap();
        let upload = ExtendOptions {
            now,
            require_artifacts: false,
            documents: Vec::new(),
            max_past: None,
        };
        let b = dir.path().join("b.db");
        create(&b, ok(&ours[..2]), &upload, &mut None).unwrap();
        let append = ExtendOptions {
            max_past: Some(MAX_PAST),
            ..upload
        };
        let Err(Refusal::Rejected { seq, error }) =
            extend(&b, head(&ours[1]), ok(&ours[2..]), &append)
        else {
            panic!("an entry dated an hour before the clock was accepted");
        };
        assert_eq!(seq, 3);
        let m = error.message();
        assert!(m.starts_with("entry 3: time 2026-07-01T00:00:"), "{m}");
        assert!(m.contains("(2026-07-01T01:00:00Z)"), "{m}");
        let l = crate::ledger::Ledger::open(&b, Access::ReadOnly).unwrap();
        assert_eq!(l.size().unwrap(), 2);
        // Within five minutes of the clock: accepted.
        let close = ExtendOptions {
            now: parse_time("2026-07-01T00:04:00Z").unwrap(),
            ..append
        };
        assert!(extend(&b, head(&ours[1]), ok(&ours[2..]), &close).is_ok());
    }
}
