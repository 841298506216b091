//! The one reader of stored entries: typed, hash-checked [`Entry`] values.
//!
//! Everything outside `ledger/` (status, attestation, report, proofs, bundles, the CLI)
//! reads the ledger through these methods and never sees a stored row. Each entry is
//! checked on the way out: its text parses as an entry header (`schema/FORMAT.md` §2), the
//! header's seq is the seq it is stored under, and the stored payload hashes to the
//! header's `payload` line (§3). Signatures and the chain are `verify`'s job
//! ([`super::verify`]); a reader that finds damage says "run vouch verify".
//!
//! Sequence numbers are `u64` here; the stored integer type stays inside the private `store` module.

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use super::Ledger;
use super::store::{Engine, EntryRow, KeyRow, PartyRow};
use crate::crypto;
use crate::error::{Error, Result};
use crate::format::entry::{self, EntryHeader, Kind};
use crate::format::merkle::Hash;

/// Entries fetched per round trip of a scan.
const CHUNK: usize = 8192;

/// One entry as stored: its signed bytes and the header they parse to.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Parsed header (its `seq` is the seq the entry is stored under).
    pub header: EntryHeader,
    /// Exact entry text (what is hashed and signed).
    pub body: Vec<u8>,
    /// Signature as stored (checked by `verify`, not by the reader).
    pub signature: Vec<u8>,
    /// Exact payload bytes (they hash to `header.payload`).
    pub payload: Vec<u8>,
}

impl Entry {
    /// The entry's sequence number.
    pub fn seq(&self) -> u64 {
        self.header.seq
    }

    /// The matrix item the entry concerns (`evidence`, `waiver`, `delegation`).
    pub fn item(&self) -> Option<String> {
        super::store::item_of(self.header.kind, &self.payload)
    }

    /// The entry hash: SHA-256 of the entry text.
    pub fn hash(&self) -> [u8; 32] {
        crypto::sha256(&self.body)
    }
}

/// A registered party, as the ledger's `party` and `genesis` entries registered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// Party id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role (`provider`, `customer`, `third-party`, `auditor`).
    pub role: String,
    /// The registering entry.
    pub seq: u64,
}

/// A registered public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Fingerprint (lowercase hex).
    pub fingerprint: String,
    /// Owning party id.
    pub party: String,
    /// Base64 of the SPKI DER.
    pub public_key: String,
    /// The registering entry.
    pub seq: u64,
}

fn damaged(seq: impl std::fmt::Display, what: impl std::fmt::Display) -> Error {
    Error::new(format!("entry {seq}: {what}")).hint("run vouch verify")
}

/// A stored seq as a `u64` (a negative one is damage).
pub(super) fn seq_of(stored: i64) -> Result<u64> {
    u64::try_from(stored).map_err(|_| damaged(stored, "is stored under a negative sequence number"))
}

/// A `u64` seq as the stored integer (past the largest, the largest: nothing is there).
pub(super) fn stored_seq(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Check one stored entry: header parses, seq matches, payload matches its hash.
pub(super) fn check(row: EntryRow) -> Result<Entry> {
    let seq = seq_of(row.seq)?;
    let header = EntryHeader::parse(&row.body).map_err(|e| damaged(seq, e))?;
    if header.seq != seq {
        return Err(damaged(seq, format!("its text says seq {}", header.seq)));
    }
    if crypto::sha256(&row.payload) != header.payload {
        return Err(damaged(seq, "payload does not match its signed hash"));
    }
    Ok(Entry {
        header,
        body: row.body,
        signature: row.signature,
        payload: row.payload,
    })
}

/// Below this many entries, a chunk is checked on the calling thread (a one-off read in a
/// short command must not pay for starting the thread pool).
const PARALLEL_MIN: usize = 256;

/// Check a chunk of stored entries, on every core when it is large.
fn check_all(rows: Vec<EntryRow>) -> Result<Vec<Entry>> {
    if rows.len() < PARALLEL_MIN {
        rows.into_iter().map(check).collect()
    } else {
        rows.into_par_iter().map(check).collect()
    }
}

impl From<PartyRow> for Party {
    fn from(r: PartyRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            role: r.role,
            seq: u64::try_from(r.seq).unwrap_or(0),
        }
    }
}

impl From<KeyRow> for Key {
    fn from(r: KeyRow) -> Self {
        Self {
            fingerprint: r.fingerprint,
            party: r.party,
            public_key: r.public_key,
            seq: u64::try_from(r.seq).unwrap_or(0),
        }
    }
}

impl Ledger {
    pub(super) fn engine(&self) -> &dyn Engine {
        &*self.store
    }

    /// Read one entry; `None` if there is no entry `seq`.
    pub fn entry(&self, seq: u64) -> Result<Option<Entry>> {
        let Ok(stored) = i64::try_from(seq) else {
            return Ok(None);
        };
        self.store.entry(stored)?.map(check).transpose()
    }

    /// Up to `limit` entries after `after`, in seq order.
    pub fn entries_after(&self, after: u64, limit: usize) -> Result<Vec<Entry>> {
        check_all(self.store.entries_after(stored_seq(after), limit)?)
    }

    /// Entries `from..=to` (as far as they exist), handed to `f` in chunks, in seq order.
    pub fn scan(
        &self,
        from: u64,
        to: u64,
        mut f: impl FnMut(Vec<Entry>) -> Result<()>,
    ) -> Result<()> {
        let mut after = from.saturating_sub(1);
        while after < to {
            let mut chunk = self.entries_after(after, CHUNK)?;
            let Some(last) = chunk.last().map(Entry::seq) else {
                break;
            };
            chunk.retain(|e| e.seq() <= to);
            after = last;
            if !chunk.is_empty() {
                f(chunk)?;
            }
        }
        Ok(())
    }

    /// Every entry of one kind, in seq order, up to entry `upto` (all with `None`).
    pub fn entries_of_kind(&self, kind: Kind, upto: Option<u64>) -> Result<Vec<Entry>> {
        let upto = upto.unwrap_or(u64::MAX);
        let mut rows = self.store.entries_of_kind(kind.as_str())?;
        rows.retain(|r| u64::try_from(r.seq).map_or(true, |s| s <= upto));
        let entries = check_all(rows)?;
        if let Some(e) = entries.iter().find(|e| e.header.kind != kind) {
            return Err(damaged(
                e.seq(),
                format!(
                    "is a {} entry, not {}",
                    e.header.kind.as_str(),
                    kind.as_str()
                ),
            ));
        }
        Ok(entries)
    }

    /// Evidence entries recorded at or after `since`, up to entry `upto`, handed to `f` in
    /// chunks in seq order. A second handle streams the rows in a reader thread while this
    /// thread checks each chunk on every core and calls `f`.
    pub fn evidence_since(
        &self,
        since: DateTime<Utc>,
        upto: Option<u64>,
        mut f: impl FnMut(Vec<Entry>) -> Result<()>,
    ) -> Result<()> {
        let upto = stored_seq(upto.unwrap_or(u64::MAX));
        let since = entry::format_time(&since);
        let reader = self.store.reopen()?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<EntryRow>>>(2);
        std::thread::scope(|scope| -> Result<()> {
            let since = &since;
            scope.spawn(move || {
                let mut after = 0i64;
                loop {
                    match reader.evidence_after(after, since, CHUNK) {
                        Ok(rows) if rows.is_empty() => break,
                        Ok(rows) => {
                            after = rows.last().map_or(after, |r| r.0);
                            let done = after > upto;
                            let rows = rows
                                .into_iter()
                                .filter(|r| r.0 <= upto)
                                .map(|(seq, body, payload)| EntryRow::signed(seq, body, payload))
                                .collect();
                            if tx.send(Ok(rows)).is_err() || done {
                                break;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                }
            });
            for rows in rx {
                let entries = check_all(rows?)?;
                if let Some(e) = entries.iter().find(|e| e.header.kind != Kind::Evidence) {
                    return Err(damaged(e.seq(), "is not an evidence entry"));
                }
                f(entries)?;
            }
            Ok(())
        })
    }

    /// The number of the newest entry (0 for an empty ledger).
    pub fn size(&self) -> Result<u64> {
        seq_of(self.store.max_seq()?)
    }

    /// The number of stored entries and the newest seq.
    pub fn count(&self) -> Result<(u64, u64)> {
        let (n, max) = self.store.count()?;
        Ok((u64::try_from(n).unwrap_or(0), seq_of(max)?))
    }

    /// Every registered party, by registering entry.
    pub fn parties(&self) -> Result<Vec<Party>> {
        Ok(self.store.parties()?.into_iter().map(Party::from).collect())
    }

    /// Every registered key, by registering entry.
    pub fn keys(&self) -> Result<Vec<Key>> {
        Ok(self.store.keys()?.into_iter().map(Key::from).collect())
    }

    /// A stored artefact's whole content (small documents such as matrices only).
    pub fn artifact_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        self.store.artifact_bytes(sha256)
    }

    /// Stream a stored artefact to `sink`: `None` if not stored, else (stored size, bytes
    /// read); the two differ only in a damaged ledger.
    pub fn read_artifact(
        &self,
        sha256: &str,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<Option<(u64, u64)>> {
        Ok(self
            .store
            .read_artifact(sha256, &mut sink)?
            .map(|(size, read)| (u64::try_from(size).unwrap_or(u64::MAX), read)))
    }

    /// Hold one consistent view: later reads through this handle see the ledger as it is
    /// now, whatever other writers append meanwhile.
    pub fn snapshot(&self) -> Result<()> {
        self.store.begin_read()
    }

    /// The Merkle tree root over entries `1..=size` (`FORMAT.md` §12).
    pub fn merkle_root(&self, size: u64) -> Result<Hash> {
        self.engine().merkle_root(size)
    }

    /// The inclusion proof of entry `seq` in the tree of entries `1..=size`.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>> {
        self.engine().inclusion_proof(seq, size)
    }

    /// The consistency proof from the tree of size `m` to the tree of size `n`.
    pub fn consistency_proof(&self, m: u64, n: u64) -> Result<Vec<Hash>> {
        self.engine().consistency_proof(m, n)
    }

    /// The bytes of `tile` (C2SP tlog-tiles, `FORMAT.md` §19) in the tree of entries
    /// `1..=size`: `None` when the tile is not a tile of that tree (it would hold a hash or
    /// an entry beyond `size`).
    ///
    /// # Errors
    ///
    /// A `size` beyond the ledger, an entry missing or damaged, I/O.
    pub fn tile(&self, tile: &crate::format::tiles::Tile, size: u64) -> Result<Option<Vec<u8>>> {
        use crate::format::tiles::{self, Content};
        if !tile.in_tree(size) {
            return Ok(None);
        }
        let engine = self.engine();
        engine.merkle_size(size)?;
        let Some((start, end)) = tile.leaves() else {
            return Ok(None);
        };
        match tile.content {
            Content::Hashes { .. } => tile.hashes(engine).map(Some),
            Content::Entries => {
                let width = usize::try_from(end - start).unwrap_or(usize::MAX);
                let entries = self.entries_after(start, width)?;
                if entries.len() != width
                    || entries.iter().zip(start + 1..).any(|(e, s)| e.seq() != s)
                {
                    return Err(Error::new(format!(
                        "entries {}–{end} are not all stored in {}",
                        start + 1,
                        self.path().display()
                    ))
                    .hint("run `vouch verify`: the ledger looks damaged"));
                }
                tiles::entry_bundle(entries.iter().map(|e| e.body.as_slice())).map(Some)
            }
        }
    }

    /// Where the ledger is, for messages.
    pub fn path(&self) -> &std::path::Path {
        self.store.path()
    }
}
