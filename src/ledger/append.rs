//! The one writer of entries (`schema/FORMAT.md` §5): who may sign, how seq, prev and time
//! are chosen, and that a batch lands whole or not at all.
//!
//! An append takes the write lock, reads the tip, and then streams its drafts a chunk at a
//! time ([`DraftSource`]): each chunk is checked against the registry and key history,
//! chained (sequential and cheap), signed on every core while the chunk before it is
//! stored with its derived rows (§6) and the Merkle nodes it completes (§12), and the next
//! chunk is read meanwhile. Everything happens in one write transaction, committed after
//! the last chunk: any error rolls the whole batch back. Memory holds a few chunks, however
//! long the batch. [`Ledger::append`] is the same path over a list of drafts.

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc;

use super::keys::{self, KeyChange};
use super::store::{EntryRow, KeyRow, Txn};
use super::{Appended, Draft, Ledger, Progress, evidence};
use crate::crypto::{self, Fingerprint, SecretKey};
use crate::error::{Error, Result};
use crate::format::entry::{EntryHeader, Kind, LedgerId, Version, ZERO_HASH, format_time};
use crate::format::merkle;
use crate::format::payload;

/// Below this many entries, signing stays on the calling thread (no pool start-up).
const PARALLEL_SIGN_MIN: usize = 64;
/// Drafts per chunk of a list (a [`DraftSource`] chooses its own chunks).
const SIGN_CHUNK: usize = 4096;

/// Drafts to append, handed over a chunk at a time (a batch file is read as it is
/// appended, so memory does not grow with it).
pub trait DraftSource {
    /// The next chunk of drafts (a few thousand at most), each with its number in the
    /// source (a batch file's line number); `None` once there are no more.
    ///
    /// # Errors
    ///
    /// A draft that cannot be made: the whole append is rolled back.
    fn next_chunk(&mut self) -> Result<Option<Vec<(usize, Draft)>>>;

    /// How draft `number` is named in messages (`batch.jsonl line 12`); `None`: drafts
    /// are not named.
    fn name(&self, _number: usize) -> Option<String> {
        None
    }

    /// How many drafts there will be, if known (for progress); 0 when unknown.
    fn expected(&self) -> u64 {
        0
    }
}

/// A list of drafts as a [`DraftSource`], in chunks of [`SIGN_CHUNK`].
struct Listed {
    drafts: std::vec::IntoIter<Draft>,
    total: u64,
    number: usize,
}

impl DraftSource for Listed {
    fn next_chunk(&mut self) -> Result<Option<Vec<(usize, Draft)>>> {
        let chunk: Vec<(usize, Draft)> = self
            .drafts
            .by_ref()
            .take(SIGN_CHUNK)
            .map(|d| {
                self.number += 1;
                (self.number, d)
            })
            .collect();
        Ok((!chunk.is_empty()).then_some(chunk))
    }

    fn expected(&self) -> u64 {
        self.total
    }
}

/// Where the next entry goes: the newest entry's seq and hash, and the earliest time the
/// next entry may carry (`now`, or the newest entry's time if later — but never more than
/// [`evidence::MAX_FUTURE`] later: see [`tip`]).
struct Tip {
    exists: bool,
    /// The version the new entries are written in.
    version: Version,
    seq: u64,
    prev: [u8; 32],
    time: DateTime<Utc>,
}

/// An entry text and its hash, chained but not yet signed.
type Chained = (Vec<u8>, [u8; 32]);

/// A chunk chained and sent to be signed, waiting to be stored: the seq of its first
/// entry, the drafts' numbers, the drafts, and the Merkle nodes the chunk completes.
type Waiting = (u64, Vec<usize>, Vec<Draft>, Vec<merkle::Node>);

impl Ledger {
    /// Append drafts signed by `key`, all in one transaction: all land or none.
    ///
    /// # Errors
    ///
    /// A signer that may not sign, drafts that break the rules of appending, I/O.
    pub fn append(
        &mut self,
        key: &SecretKey,
        drafts: Vec<Draft>,
        now: DateTime<Utc>,
        progress: &dyn Progress,
    ) -> Result<Vec<Appended>> {
        let mut out = Vec::with_capacity(drafts.len());
        let mut source = Listed {
            total: drafts.len() as u64,
            drafts: drafts.into_iter(),
            number: 0,
        };
        self.append_stream(key, &mut source, now, progress, &mut |a| {
            out.push(a.clone());
        })?;
        Ok(out)
    }

    /// Append the drafts of `source`, signed by `key`, read and stored a chunk at a time but
    /// in one transaction, committed after the last chunk: all land or none, and an error
    /// names the draft concerned (as the source names it). `appended` is told of each entry
    /// once it is stored (not yet committed). Returns how many entries were appended (0 for
    /// an empty source: nothing is written).
    ///
    /// # Errors
    ///
    /// A signer that may not sign, drafts that break the rules of appending or that the
    /// source cannot make, I/O.
    pub fn append_stream(
        &mut self,
        key: &SecretKey,
        source: &mut dyn DraftSource,
        now: DateTime<Utc>,
        progress: &dyn Progress,
        appended: &mut dyn FnMut(&Appended),
    ) -> Result<u64> {
        let signer = key.public().fingerprint();
        let path = self.store.path().to_path_buf();
        self.store.write(|w| {
            let id = w
                .meta("ledger_id")?
                .and_then(|s| LedgerId::parse(&s))
                .ok_or_else(|| Error::new(format!("{}: ledger id missing", path.display())))?;
            let tip = tip(w, now, self.version)?;
            let Some(first) = source.next_chunk()? else {
                return Ok(0);
            };
            let genesis = first.first().is_some_and(|(_, d)| d.kind == Kind::Genesis);
            let key_row = check_signer(w, &path, &signer, genesis, &tip)?;
            progress.start(source.expected(), "signing");
            // The Merkle tree (FORMAT.md §12) continues from the tip; the stored nodes each
            // chunk completes are inserted with its entries.
            let mut batch = Batch {
                path: &path,
                id,
                signer,
                version: tip.version,
                key_row,
                genesis,
                seq: tip.seq,
                prev: tip.prev,
                time: tip.time,
                tree: merkle::Builder::resume(&*w, tip.seq)?,
                key_change: None,
            };
            let n = batch.run(w, key, source, first, progress, appended)?;
            if let Some(c) = &batch.key_change {
                keys::apply(w, c)?;
            }
            progress.finish();
            Ok(n)
        })
    }
}

/// The tip of the ledger inside the write transaction. Refuses a tip dated more than
/// [`evidence::MAX_FUTURE`] after `now` (FORMAT.md §5).
fn tip(w: &dyn Txn, now: DateTime<Utc>, version: Version) -> Result<Tip> {
    Ok(match w.tip()? {
        None => Tip {
            exists: false,
            version,
            seq: 0,
            prev: ZERO_HASH,
            time: now,
        },
        Some(row) => {
            let h = EntryHeader::parse(&row.body).map_err(|e| {
                Error::new(format!("newest entry {}: {e}", row.seq))
                    .hint("run `vouch verify`: the ledger looks damaged")
            })?;
            // Ledger time never goes backwards: appending after an entry dated in the
            // future would date this one (and every later one) in the future too.
            if h.time > now + evidence::MAX_FUTURE {
                return Err(Error::new(format!(
                    "the newest entry ({}) is dated {}, more than {} minutes after this machine's clock ({}): a new entry would have to carry that time",
                    h.seq,
                    format_time(&h.time),
                    evidence::MAX_FUTURE.num_minutes(),
                    format_time(&now)
                ))
                .hint("check this machine's clock; if it is right, the ledger holds an entry dated in the future: run vouch verify and tell the other parties (nothing was written)"));
            }
            // Versions never decrease (FORMAT.md §8): a v1 ledger is upgraded in place by
            // appending v2 entries, but a v2 ledger never gets a v1 entry.
            if h.version > version {
                return Err(Error::new(format!(
                    "the newest entry ({}) is a {} entry: this writer was asked for {version} entries, and versions never decrease",
                    h.seq, h.version
                )));
            }
            Tip {
                exists: true,
                version,
                seq: h.seq,
                prev: crypto::sha256(&row.body),
                time: now.max(h.time),
            }
        }
    })
}

/// Who signs: the founding key for genesis (the first entry), otherwise a registered,
/// still valid key, whose row is returned.
fn check_signer(
    w: &dyn Txn,
    path: &Path,
    signer: &Fingerprint,
    genesis: bool,
    tip: &Tip,
) -> Result<Option<KeyRow>> {
    if genesis {
        if tip.exists {
            return Err(Error::new("a genesis entry can only be the first entry"));
        }
        return Ok(None);
    }
    if !tip.exists {
        return Err(Error::new("the ledger has no genesis entry"));
    }
    let Some(row) = w.key(&signer.to_string())? else {
        return Err(Error::new(format!(
            "key {signer} is not registered in {}",
            path.display()
        ))
        .hint("a registered party must add it first: vouch party add --request ID.request.json --key THEIR.key (the new party makes the file with vouch party request)"));
    };
    keys::check_signer(w, &row)?;
    Ok(Some(row))
}

/// An append under way: the chain so far and what the checks found.
struct Batch<'p> {
    path: &'p Path,
    id: LedgerId,
    signer: Fingerprint,
    /// The version the entries are written in.
    version: Version,
    /// The signer's key row (`None` for genesis, which registers it).
    key_row: Option<KeyRow>,
    /// The batch starts with a genesis entry.
    genesis: bool,
    /// The last entry chained: seq and hash; the time every entry carries.
    seq: u64,
    prev: [u8; 32],
    time: DateTime<Utc>,
    tree: merkle::Builder,
    /// The key rotation or revocation of the batch (it is then the only entry).
    key_change: Option<KeyChange>,
}

impl Batch<'_> {
    /// Chain, sign and store every chunk of `source`, starting with `first`: while chunk k
    /// is signed on every core, chunk k+1 is read and chained, then chunk k is stored.
    fn run(
        &mut self,
        w: &dyn Txn,
        key: &SecretKey,
        source: &mut dyn DraftSource,
        first: Vec<(usize, Draft)>,
        progress: &dyn Progress,
        appended: &mut dyn FnMut(&Appended),
    ) -> Result<u64> {
        let sign_chunk = |chunk: &[Chained]| -> Vec<[u8; 64]> {
            let sign = |(t, _): &Chained| key.sign(t);
            let sigs = if chunk.len() >= PARALLEL_SIGN_MIN {
                chunk.par_iter().map(sign).collect()
            } else {
                chunk.iter().map(sign).collect()
            };
            progress.advance(chunk.len() as u64);
            sigs
        };
        std::thread::scope(|scope| -> Result<u64> {
            let (job_tx, job_rx) = mpsc::sync_channel::<Vec<Chained>>(1);
            let (done_tx, done_rx) = mpsc::sync_channel::<(Vec<Chained>, Vec<[u8; 64]>)>(1);
            scope.spawn(move || {
                for c in job_rx {
                    let sigs = sign_chunk(&c);
                    if done_tx.send((c, sigs)).is_err() {
                        break;
                    }
                }
            });
            let lost = || Error::new("internal error: the signing thread stopped");
            let mut waiting: VecDeque<Waiting> = VecDeque::new();
            let mut next = Some(first);
            let mut ended = false;
            let mut count = 0u64;
            while next.is_some() || !waiting.is_empty() {
                if let Some(chunk) = next.take() {
                    let (numbers, drafts): (Vec<usize>, Vec<Draft>) = chunk.into_iter().unzip();
                    let first_seq = self.seq + 1;
                    let texts = self.prepare(w, &numbers, &drafts, source, count > 0)?;
                    count += drafts.len() as u64;
                    job_tx.send(texts).map_err(|_| lost())?;
                    waiting.push_back((first_seq, numbers, drafts, self.tree.take_completed()));
                }
                // Read the next chunk while the last one is signed (two chunks in flight).
                if !ended && waiting.len() < 2 {
                    match source.next_chunk()? {
                        Some(c) => {
                            next = Some(c);
                            continue;
                        }
                        None => ended = true,
                    }
                }
                let (texts, sigs) = done_rx.recv().map_err(|_| lost())?;
                let chunk = waiting.pop_front().ok_or_else(lost)?;
                self.store(w, texts, sigs, chunk, source, appended)?;
            }
            Ok(count)
        })
    }

    /// Check a chunk against the registry, the key history and the genesis rule, and chain
    /// its entry texts (their leaves go into the tree). `more`: drafts came before it.
    fn prepare(
        &mut self,
        w: &dyn Txn,
        numbers: &[usize],
        drafts: &[Draft],
        source: &dyn DraftSource,
        more: bool,
    ) -> Result<Vec<Chained>> {
        let named = |i: usize, e: Error| match source.name(numbers[i]) {
            Some(at) => e.context(at),
            None => e,
        };
        if self.genesis && (more || drafts.len() != 1) {
            return Err(Error::new("a genesis entry can only be the first entry"));
        }
        if let Some(i) = drafts
            .iter()
            .enumerate()
            .skip(usize::from(!more))
            .find_map(|(i, d)| (d.kind == Kind::Genesis).then_some(i))
        {
            return Err(named(
                i,
                Error::new("a genesis entry can only be the first entry"),
            ));
        }
        if let Some(row) = &self.key_row {
            // A rotation retires its signer: nothing may follow it in the same batch.
            let change = keys::check_drafts(w, &self.id, row, drafts, self.seq + 1, self.time)?;
            if let Some(c) = self
                .key_change
                .as_ref()
                .or(change.as_ref().filter(|_| more))
            {
                return Err(Error::new(format!(
                    "a {} entry is appended on its own, not in a batch",
                    c.kind()
                )));
            }
            self.key_change = change;
        }
        for (i, d) in drafts.iter().enumerate() {
            if let Some(r) = &d.party {
                r.check_new(w, self.path).map_err(|e| named(i, e))?;
            }
        }
        let mut texts = Vec::with_capacity(drafts.len());
        for (i, d) in drafts.iter().enumerate() {
            texts.push(self.chain(d).map_err(|e| named(i, e))?);
        }
        Ok(texts)
    }

    /// The entry text of the next draft, chained from the last one, and its hash.
    fn chain(&mut self, d: &Draft) -> Result<Chained> {
        let seq = self.seq + 1;
        // A checkpoint covers every entry before it: refuse one made before another
        // writer appended (nothing is written; making it again is cheap).
        if d.kind == Kind::Checkpoint {
            let c: payload::CheckpointPayload = payload::decode(&d.payload)
                .map_err(|e| Error::new(format!("checkpoint payload: {e}")))?;
            if c.size + 1 != seq {
                return Err(Error::new(format!(
                    "the ledger has {} entries, not the {} the checkpoint covers: it changed while the checkpoint was made",
                    seq - 1,
                    c.size
                ))
                .hint("run vouch checkpoint again"));
            }
        }
        let header = EntryHeader {
            version: self.version,
            ledger: self.id,
            seq,
            prev: self.prev,
            time: self.time,
            kind: d.kind,
            signer: self.signer,
            payload: crypto::sha256(&d.payload),
        };
        let text = header.encode().into_bytes();
        let hash = crypto::sha256(&text);
        self.tree.push(merkle::leaf_hash(&text));
        self.seq = seq;
        self.prev = hash;
        Ok((text, hash))
    }

    /// Store a signed chunk: its entries with their derived rows and artefacts, then the
    /// Merkle nodes it completes.
    fn store(
        &self,
        w: &dyn Txn,
        texts: Vec<Chained>,
        sigs: Vec<[u8; 64]>,
        (first, numbers, drafts, nodes): Waiting,
        source: &dyn DraftSource,
        appended: &mut dyn FnMut(&Appended),
    ) -> Result<()> {
        let mut rows = Vec::with_capacity(drafts.len());
        for (i, (((text, hash), sig), d)) in texts.into_iter().zip(sigs).zip(drafts).enumerate() {
            let seq = first + i as u64;
            let named = |e: Error| match source.name(numbers[i]) {
                Some(at) => e.context(at),
                None => e,
            };
            if let Some(r) = &d.party {
                r.insert(w, seq).map_err(named)?;
            }
            for a in &d.store_artifacts {
                evidence::store_artifact(w, a).map_err(named)?;
            }
            appended(&Appended {
                seq,
                hash,
                kind: d.kind,
            });
            rows.push(EntryRow::derive(seq, hash, text, sig.to_vec(), d.payload)?);
        }
        w.insert_entries(&rows)?;
        w.insert_merkle_nodes(&nodes)
    }
}
