//! The storage seam: everything that touches SQL sits behind [`Engine`] and [`Txn`].
//!
//! `schema/FORMAT.md` §6 says what is stored: the signed bytes of each entry verbatim, and
//! derived columns and tables (parties, keys, key events, Merkle nodes) that a writer keeps
//! beside them and `verify` re-derives. An engine stores and returns rows; it never signs,
//! judges or parses an entry. The rules of appending are [`super`]'s, the typed reading
//! [`super::read`]'s. SQLite ([`sqlite`]) is the first engine, PostgreSQL ([`postgres`]) the
//! second, for many ledgers in one database; [`create`] and [`open`] choose by the location
//! (a file path, or a `postgres://…?ledger=NAME` URL). Every engine passes the conformance
//! suite in `conformance.rs` unchanged.
//!
//! Private to `ledger/`: nothing outside it names an engine, a row or an SQL type.

#[cfg(test)]
mod conformance;
mod postgres;
#[cfg(test)]
pub(crate) mod postgres_test_cluster;
#[cfg(test)]
mod postgres_tests;
mod sqlite;

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::format::entry::{Kind, raw_value};
use crate::format::merkle::{self, Hash};

/// Read-only or read-write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Never writes; works on read-only files and directories.
    ReadOnly,
    /// May append.
    ReadWrite,
}

/// One row of `entries`, exactly as stored.
#[derive(Debug, Clone)]
pub(crate) struct EntryRow {
    /// `seq` column.
    pub seq: i64,
    /// The signed entry text.
    pub body: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
    /// The payload bytes.
    pub payload: Vec<u8>,
    /// Derived: entry hash.
    pub hash: Vec<u8>,
    /// Derived: time.
    pub time: String,
    /// Derived: kind.
    pub kind: String,
    /// Derived: signer fingerprint.
    pub signer: String,
    /// Derived: evidence item.
    pub item: Option<String>,
}

/// The signed bytes of one entry: `seq`, entry text, payload.
pub(crate) type SignedRow = (i64, Vec<u8>, Vec<u8>);

/// One row of `parties`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartyRow {
    /// Party id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Registering entry.
    pub seq: i64,
}

/// One row of `keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRow {
    /// Fingerprint (hex).
    pub fingerprint: String,
    /// Owning party id.
    pub party: String,
    /// Base64 SPKI DER.
    pub public_key: String,
    /// Registering entry.
    pub seq: i64,
}

/// One row of `key_events` (schema version 4): when a key stopped being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyEventRow {
    /// The `key-rotation` or `key-revocation` entry.
    pub seq: i64,
    /// The key retired or revoked (hex fingerprint).
    pub fingerprint: String,
    /// `retired` or `revoked`.
    pub event: String,
    /// For `revoked`: the time from which the key is revoked.
    pub since: Option<String>,
}

/// One row of `merkle_nodes`, exactly as stored (verify compares it with the recomputed
/// node, so nothing is assumed about it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeRow {
    /// `level` column.
    pub level: i64,
    /// `idx` column.
    pub idx: i64,
    /// `hash` column.
    pub hash: Vec<u8>,
}

/// A lookup structure over the entries (an index, §6): what `entries_of_kind` searches by
/// kind, and the search by item. Derived data, like the columns it is built from; `verify`
/// reads it back and compares it with the rows (§7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// By the `kind` column (`entries_of_kind`, and counting the entries).
    Kind,
    /// By the `item` column, for the entries that have one.
    Item,
}

impl Lookup {
    /// Both lookups.
    pub(crate) const ALL: [Lookup; 2] = [Lookup::Kind, Lookup::Item];

    /// The index's name in the schema (`schema/0001_init.sql`, `0002_kind_index.sql`).
    pub(crate) fn index(self) -> &'static str {
        match self {
            Lookup::Kind => "entries_kind",
            Lookup::Item => "entries_item",
        }
    }

    /// The column it searches by.
    pub(crate) fn column(self) -> &'static str {
        match self {
            Lookup::Kind => "kind",
            Lookup::Item => "item",
        }
    }

    /// A row's key in this lookup (`None`: the row is not in it).
    pub(crate) fn key(self, row: &EntryRow) -> Option<&str> {
        match self {
            Lookup::Kind => Some(&row.kind),
            Lookup::Item => row.item.as_deref(),
        }
    }
}

/// The store's layout against the one this build's migrations make for the file's schema
/// version (§6): every table and index by name and definition, and no other table, index,
/// view or trigger (the migrations' own triggers may be missing: they guard against
/// accidents only and act on writes only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Layout {
    /// What differs, one sentence each (empty: exactly the expected layout).
    pub problems: Vec<String>,
    /// The lookups that are there exactly as defined, so that their content can be read
    /// back ([`Engine::lookup_range`]) and compared with the rows.
    pub lookups: Vec<Lookup>,
}

/// The `item` column (§6): the payload's `item` member for `evidence`, `waiver` and
/// `delegation` entries, nothing for other kinds.
pub(crate) fn item_of(kind: Kind, payload: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ItemOnly {
        item: Option<String>,
    }
    match kind {
        Kind::Evidence | Kind::Waiver | Kind::Delegation => {
            serde_json::from_slice::<ItemOnly>(payload).ok()?.item
        }
        _ => None,
    }
}

impl EntryRow {
    /// The row that stores one entry (§6): the signed bytes verbatim beside the columns
    /// derived from them — `hash` (given: the caller has it), `time`, `kind` and `signer` (the
    /// values of lines 5–7 of the text) and `item` ([`item_of`]). The one place a row is
    /// made, for the writer and the importer alike.
    pub(crate) fn derive(
        seq: u64,
        hash: [u8; 32],
        body: Vec<u8>,
        signature: Vec<u8>,
        payload: Vec<u8>,
    ) -> Result<Self> {
        let seq = i64::try_from(seq)
            .map_err(|_| Error::new(format!("entry {seq}: sequence number out of range")))?;
        let line = |l: usize| String::from_utf8_lossy(raw_value(&body, l)).into_owned();
        let (time, kind, signer) = (line(5), line(6), line(7));
        let item = Kind::parse(&kind).and_then(|k| item_of(k, &payload));
        Ok(Self {
            seq,
            hash: hash.to_vec(),
            time,
            kind,
            signer,
            item,
            body,
            signature,
            payload,
        })
    }

    /// A row of the signed bytes alone (derived columns empty), as
    /// [`Engine::evidence_after`] reads them.
    pub(crate) fn signed(seq: i64, body: Vec<u8>, payload: Vec<u8>) -> Self {
        Self {
            seq,
            body,
            signature: Vec::new(),
            payload,
            hash: Vec::new(),
            time: String::new(),
            kind: String::new(),
            signer: String::new(),
            item: None,
        }
    }
}

/// Read access to one ledger's stored rows. Reads see the state at the start of
/// [`Engine::begin_read`] when one was taken, otherwise each read sees the latest commit.
pub(crate) trait Engine: merkle::Source + Send {
    /// Where the ledger is (a file path), for messages.
    fn path(&self) -> &Path;
    /// A value from `meta`.
    fn meta(&self, key: &str) -> Result<Option<String>>;
    /// Every key of `meta`, sorted.
    fn meta_keys(&self) -> Result<Vec<String>>;
    /// Number of entry rows and the largest seq (0 when empty).
    fn count(&self) -> Result<(i64, i64)>;
    /// The largest seq (0 when empty); one index lookup.
    fn max_seq(&self) -> Result<i64>;
    /// One entry row.
    fn entry(&self, seq: i64) -> Result<Option<EntryRow>>;
    /// Up to `limit` entry rows with seq greater than `after`, in seq order.
    fn entries_after(&self, after: i64, limit: usize) -> Result<Vec<EntryRow>>;
    /// Every entry row of one kind, by the derived `kind` column, in seq order.
    fn entries_of_kind(&self, kind: &str) -> Result<Vec<EntryRow>>;
    /// Up to `limit` evidence rows (seq, text, payload) with seq greater than `after` and
    /// ledger time at or after `since`.
    fn evidence_after(&self, after: i64, since: &str, limit: usize) -> Result<Vec<SignedRow>>;
    /// Start a read snapshot: later reads see one consistent state of the ledger.
    fn begin_read(&self) -> Result<()>;
    /// The store's layout against the one this build makes for the file's schema version.
    fn layout(&self) -> Result<Layout>;
    /// The seqs greater than `after` and at most `last` that `lookup` lists under `key`, in
    /// seq order, read from the lookup structure alone (what a search through it finds,
    /// without the rows). Only for a lookup that [`Engine::layout`] says is intact.
    fn lookup_range(&self, lookup: Lookup, key: &str, after: i64, last: i64) -> Result<Vec<i64>>;
    /// How many entries the lookup structure holds in all.
    fn lookup_len(&self, lookup: Lookup) -> Result<i64>;
    /// Up to `limit` entries of the lookup structure, (seq, key), that no stored row has.
    fn lookup_strays(&self, lookup: Lookup, limit: usize) -> Result<Vec<(i64, String)>>;
    /// All rows of `parties`, by seq then id.
    fn parties(&self) -> Result<Vec<PartyRow>>;
    /// All rows of `keys`, by seq then fingerprint.
    fn keys(&self) -> Result<Vec<KeyRow>>;
    /// Whether `key_events` is there: `Some(true)` yes, `Some(false)` missing although the
    /// schema version has it, `None` for an older schema.
    fn key_events_table(&self) -> Result<Option<bool>>;
    /// All rows of `key_events`, in entry order.
    fn key_events(&self) -> Result<Vec<KeyEventRow>>;
    /// Stream a stored artefact to `sink`: `None` if not stored, else (stored size, bytes
    /// read).
    fn read_artifact(
        &self,
        sha256: &str,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<(i64, u64)>>;
    /// Whether `merkle_nodes` is there (as [`Engine::key_events_table`]).
    fn merkle_table(&self) -> Result<Option<bool>>;
    /// The stored Merkle nodes completed by leaves `after..last` (seq numbers).
    fn merkle_nodes_completed(&self, after: i64, last: i64) -> Result<Vec<NodeRow>>;
    /// Up to `limit` stored nodes that no tree of `size` leaves has.
    fn merkle_stray_nodes(&self, size: i64, limit: usize) -> Result<Vec<NodeRow>>;
    /// Take the write lock and start one transaction; dropping it uncommitted rolls back.
    fn begin_write(&mut self) -> Result<Box<dyn Txn + '_>>;
    /// A second, read-only handle on the same ledger (for a reader thread).
    fn reopen(&self) -> Result<Box<dyn Engine>>;
}

/// One write transaction: reads see its own writes; nothing lands until
/// [`Txn::commit`].
pub(crate) trait Txn: merkle::Source {
    /// The newest entry row.
    fn tip(&self) -> Result<Option<EntryRow>>;
    /// A value from `meta`.
    fn meta(&self, key: &str) -> Result<Option<String>>;
    /// The `keys` row of a fingerprint.
    fn key(&self, fingerprint: &str) -> Result<Option<KeyRow>>;
    /// The `parties` row of an id.
    fn party(&self, id: &str) -> Result<Option<PartyRow>>;
    /// Insert entry rows (seq order).
    fn insert_entries(&self, rows: &[EntryRow]) -> Result<()>;
    /// Insert a party and its first key.
    fn insert_party(&self, party: &PartyRow, key: &KeyRow) -> Result<()>;
    /// The `key_events` rows of one key, in entry order.
    fn key_events(&self, fingerprint: &str) -> Result<Vec<KeyEventRow>>;
    /// The `keys` rows of one party.
    fn party_keys(&self, party: &str) -> Result<Vec<KeyRow>>;
    /// Insert a key row.
    fn insert_key(&self, key: &KeyRow) -> Result<()>;
    /// Insert a key event row.
    fn insert_key_event(&self, event: &KeyEventRow) -> Result<()>;
    /// Whether an artefact is stored.
    fn has_artifact(&self, sha256: &str) -> Result<bool>;
    /// Store an artefact of `size` bytes streamed from `source`, showing each chunk to
    /// `seen` (the caller hashes it); an error if the source's length differs from `size`.
    fn insert_artifact(
        &self,
        sha256: &str,
        size: u64,
        source: &mut dyn Read,
        seen: &mut dyn FnMut(&[u8]),
    ) -> Result<()>;
    /// Insert completed Merkle nodes.
    fn insert_merkle_nodes(&self, nodes: &[merkle::Node]) -> Result<()>;
    /// Commit.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// Create a new ledger with its `meta` rows: a file, or a ledger in a PostgreSQL database
/// when `path` is a `postgres://` URL; refuses an existing one.
pub(crate) fn create(path: &Path, meta: &[(&str, &str)]) -> Result<Box<dyn Engine>> {
    if let Some(url) = postgres_url(path) {
        return Ok(Box::new(postgres::Postgres::create(url, meta)?));
    }
    Ok(Box::new(sqlite::Sqlite::create(path, meta)?))
}

/// [`create`], but in PostgreSQL the creation lands with the first write transaction's
/// commit (nothing is visible before, and nothing is left if that transaction rolls back);
/// a file is created at once, as by [`create`] (the caller writes it under a temporary
/// name).
pub(crate) fn create_staged(path: &Path, meta: &[(&str, &str)]) -> Result<Box<dyn Engine>> {
    if let Some(url) = postgres_url(path) {
        return Ok(Box::new(postgres::Postgres::create_staged(url, meta)?));
    }
    Ok(Box::new(sqlite::Sqlite::create(path, meta)?))
}

/// Whether there is a ledger at a location: a file, or a ledger in a PostgreSQL database.
pub(crate) fn exists(path: &Path) -> Result<bool> {
    if let Some(url) = postgres_url(path) {
        return postgres::Postgres::exists(url);
    }
    Ok(path.is_file())
}

/// The ledgers of the PostgreSQL database at `url` (a `postgres://` URL without
/// `ledger=`), by name.
pub(crate) fn database_ledgers(url: &str) -> Result<Vec<String>> {
    postgres::Postgres::ledgers(url)
}

/// Open an existing ledger: a file, or a ledger in a PostgreSQL database.
pub(crate) fn open(path: &Path, access: Access) -> Result<Box<dyn Engine>> {
    if let Some(url) = postgres_url(path) {
        return Ok(Box::new(postgres::Postgres::open(url, access)?));
    }
    Ok(Box::new(sqlite::Sqlite::open(path, access)?))
}

/// The URL, when a location names a ledger in PostgreSQL.
fn postgres_url(path: &Path) -> Option<&str> {
    postgres::is_location(path).then(|| path.to_str()).flatten()
}

impl dyn Engine + '_ {
    /// Run `f` in one write transaction: commits if `f` succeeds, rolls back otherwise, so
    /// a failed command leaves the ledger as it was.
    pub(crate) fn write<T>(&mut self, f: impl FnOnce(&mut dyn Txn) -> Result<T>) -> Result<T> {
        let mut tx = self.begin_write()?;
        let out = f(&mut *tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// A stored artefact's whole content (small documents such as matrices only).
    pub(crate) fn artifact_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let mut out = Vec::new();
        Ok(self
            .read_artifact(sha256, &mut |c| out.extend_from_slice(c))?
            .map(|_| out))
    }

    /// Check that the ledger has a tree of `size` leaves (at least `size` entries). By the
    /// largest seq, one index lookup (`count(*)` would read the whole table); a missing
    /// entry below it is an error when its leaf is read, and a finding of verify.
    pub(crate) fn merkle_size(&self, size: u64) -> Result<()> {
        let count = self.max_seq()?;
        if u64::try_from(count).is_ok_and(|c| size <= c) {
            return Ok(());
        }
        Err(Error::new(format!(
            "{} has {count} entries: there is no tree of size {size}",
            self.path().display()
        ))
        .hint(format!("choose a tree size of at most {count}")))
    }

    /// The Merkle tree root over entries `1..=size` (§12; the empty tree's root for 0).
    pub(crate) fn merkle_root(&self, size: u64) -> Result<Hash> {
        self.merkle_size(size)?;
        merkle::root(self, size)
    }

    /// The inclusion proof of entry `seq` in the tree of entries `1..=size` (RFC 9162
    /// §2.1.3.1, leaf index `seq − 1`).
    pub(crate) fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>> {
        if seq == 0 {
            return Err(Error::new(
                "there is no entry 0: entries are numbered from 1",
            ));
        }
        if seq > size {
            return Err(Error::new(format!(
                "entry {seq} is not in the tree of size {size} (entries 1–{size})"
            ))
            .hint("prove it in a tree at least as large as the entry's seq"));
        }
        self.merkle_size(size)?;
        merkle::inclusion_proof(self, seq - 1, size)
    }

    /// The consistency proof from the tree of size `m` to the tree of size `n` (RFC 9162
    /// §2.1.4.1; empty when `m` is 0 or equals `n`).
    pub(crate) fn consistency_proof(&self, m: u64, n: u64) -> Result<Vec<Hash>> {
        if m > n {
            return Err(Error::new(format!(
                "no consistency proof from tree size {m} to the smaller size {n}"
            ))
            .hint("the older checkpoint's size comes first"));
        }
        self.merkle_size(n)?;
        merkle::consistency_proof(self, m, n)
    }
}
