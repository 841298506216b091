//! The SQLite engine: the only module that imports `rusqlite`.
//!
//! Implements `schema/FORMAT.md` §6 (storage) behind [`super::Engine`]. The schema lives in `schema/NNNN_*.sql` and
//! is applied by `PRAGMA user_version` migrations in one exclusive transaction, the way
//! cargo does it. The store knows rows, not meaning: it never signs or judges, and hashes
//! only through [`crate::format::merkle`], to keep the derived `merkle_nodes` table (§12).

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, TransactionBehavior, params};
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{
    Access, Engine, EntryRow, KeyEventRow, KeyRow, Layout, Lookup, NodeRow, PartyRow, SignedRow,
    Txn,
};
use crate::error::{Error, Result};
use crate::format::merkle::{self, Hash};

/// The migrations, in order. Index + 1 is the `user_version` each one brings the file to.
mod layout;
mod merkle_nodes;

use layout::{compare_layout, expected_schema, schema_objects};
use merkle_nodes::backfill_merkle;

const MIGRATIONS: &[&str] = &[
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/0001_init.sql")),
    include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/0002_kind_index.sql"
    )),
    include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/0003_merkle.sql"
    )),
    include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/0004_key_history.sql"
    )),
];

/// The schema version that adds `merkle_nodes` (its migration also fills it).
const MERKLE_VERSION: i64 = 3;

/// The schema version that adds `key_events` (key history, `FORMAT.md` §14).
const KEY_HISTORY_VERSION: i64 = 4;

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The statements readers run, by name, so that a test can pin the indexes each one reads
/// (`query_plans_read_only_checked_structures`): `verify` checks what they rely on
/// (`schema/FORMAT.md` §7).
const META_SQL: &str = "SELECT value FROM meta WHERE key = ?1";
const COUNT_SQL: &str = "SELECT count(*), coalesce(max(seq), 0) FROM entries";
const MAX_SEQ_SQL: &str = "SELECT coalesce(max(seq), 0) FROM entries";
const ENTRY_SQL: &str = "SELECT seq, body, signature, payload, hash, time, kind, signer, item
     FROM entries WHERE seq = ?1";
const ENTRIES_AFTER_SQL: &str =
    "SELECT seq, body, signature, payload, hash, time, kind, signer, item
     FROM entries WHERE seq > ?1 ORDER BY seq LIMIT ?2";
const ENTRIES_OF_KIND_SQL: &str =
    "SELECT seq, body, signature, payload, hash, time, kind, signer, item
     FROM entries WHERE kind = ?1 ORDER BY seq";
const EVIDENCE_AFTER_SQL: &str = "SELECT seq, body, payload
     FROM entries WHERE seq > ?1 AND +kind = 'evidence' AND time >= ?2
     ORDER BY seq LIMIT ?3";
const PARTIES_SQL: &str = "SELECT id, name, role, seq FROM parties ORDER BY seq, id";
const KEYS_SQL: &str =
    "SELECT fingerprint, party, public_key, seq FROM keys ORDER BY seq, fingerprint";
const KEY_EVENTS_SQL: &str = "SELECT seq, fingerprint, event, since FROM key_events ORDER BY seq";
const ARTIFACT_SQL: &str = "SELECT rowid, size FROM artifacts WHERE sha256 = ?1";
const LEAF_HASHES_SQL: &str =
    "SELECT seq, body FROM entries WHERE seq > ?1 AND seq <= ?2 ORDER BY seq";
const STORED_NODES_SQL: &str =
    "SELECT idx, hash FROM merkle_nodes WHERE level = ?1 AND idx >= ?2 AND idx < ?3
     ORDER BY idx";

/// How long a writer waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Run a query and collect its rows, naming `path` in errors: the one way the engine reads
/// several rows.
fn collect_rows<T>(
    conn: &Connection,
    path: &Path,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(|e| db_err(path, &e))?;
    let rows = stmt.query_map(params, map).map_err(|e| db_err(path, &e))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| db_err(path, &e))
}

fn row_to_party(r: &rusqlite::Row<'_>) -> rusqlite::Result<PartyRow> {
    Ok(PartyRow {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        seq: r.get(3)?,
    })
}

fn row_to_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok(KeyRow {
        fingerprint: r.get(0)?,
        party: r.get(1)?,
        public_key: r.get(2)?,
        seq: r.get(3)?,
    })
}

fn row_to_key_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyEventRow> {
    Ok(KeyEventRow {
        seq: r.get(0)?,
        fingerprint: r.get(1)?,
        event: r.get(2)?,
        since: r.get(3)?,
    })
}

/// An open ledger file.
pub(crate) struct Sqlite {
    conn: Connection,
    path: PathBuf,
}

fn db_err(path: &Path, e: &rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(f, msg) = e {
        match f.code {
            rusqlite::ErrorCode::NotADatabase => {
                return Error::new(format!(
                    "{} is not a vouch ledger (not an SQLite database)",
                    path.display()
                ))
                .hint("pass the ledger file made by `vouch init` with --ledger PATH");
            }
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                return Error::new(format!(
                    "{}: the ledger is busy (another vouch process held it for {}s)",
                    path.display(),
                    BUSY_TIMEOUT.as_secs()
                ))
                .hint("try again when the other process has finished");
            }
            rusqlite::ErrorCode::ReadOnly => {
                return Error::new(format!("{}: the ledger file is read-only", path.display()));
            }
            rusqlite::ErrorCode::ConstraintViolation => {
                if let Some(m) = msg {
                    return Error::new(format!(
                        "{}: {}",
                        path.display(),
                        m.trim_start_matches("vouch: ")
                    ));
                }
            }
            _ => {}
        }
    }
    Error::new(format!("{}: {e}", path.display()))
}

impl Sqlite {
    /// Create a new ledger file; refuses an existing one.
    pub fn create(path: &Path, meta: &[(&str, &str)]) -> Result<Self> {
        // Claim the path exclusively first, so two `init`s cannot both succeed.
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::new(format!("{} already exists", path.display()))
                    .hint("refusing to overwrite a ledger; choose another path with --ledger"));
            }
            Err(e) => return Err(Error::io(path, &e)),
        }
        let result = (|| {
            let mut store = Self::connect(path, Access::ReadWrite)?;
            store.migrate()?;
            let tx = store
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db_err(path, &e))?;
            for (k, v) in meta {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    params![k, v],
                )
                .map_err(|e| db_err(path, &e))?;
            }
            tx.commit().map_err(|e| db_err(path, &e))?;
            Ok(store)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(path);
            for suffix in ["-wal", "-shm", "-journal"] {
                let mut p = path.as_os_str().to_owned();
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
        }
        result
    }

    /// Open an existing ledger file, migrating an older schema when writing.
    pub fn open(path: &Path, access: Access) -> Result<Self> {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                return Err(Error::new(format!(
                    "{} is a directory, not a ledger",
                    path.display()
                )));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::new(format!("no ledger at {}", path.display())).hint(
                    "create one with `vouch init`, or point to it with --ledger PATH or VOUCH_LEDGER",
                ));
            }
            Err(e) => return Err(Error::io(path, &e)),
        }
        let mut store = match Self::connect(path, access) {
            Ok(s) => s,
            Err(e) if access == Access::ReadOnly => {
                // A WAL ledger in a read-only directory cannot get its -shm file: read it as
                // an immutable file instead (nobody can be writing where nobody may write).
                Self::connect_immutable(path).map_err(|_| e)?
            }
            Err(e) => return Err(e),
        };
        let version = store.user_version()?;
        if version > SCHEMA_VERSION {
            return Err(Error::new(format!(
                "{} has schema version {version}, newer than this vouch understands ({SCHEMA_VERSION})",
                path.display()
            ))
            .hint("upgrade vouch to read this ledger"));
        }
        if version == 0 {
            return Err(Error::new(format!(
                "{} is an SQLite database but not a vouch ledger",
                path.display()
            ))
            .hint("pass the ledger file made by `vouch init` with --ledger PATH"));
        }
        // Migrations only add derived structures (indexes, columns kept beside the signed
        // bytes), so a reader can read an older file as it is; a writer upgrades it.
        if version < SCHEMA_VERSION && access == Access::ReadWrite {
            store.migrate()?;
        }
        Ok(store)
    }

    fn connect(path: &Path, access: Access) -> Result<Self> {
        let flags = match access {
            Access::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            Access::ReadWrite => {
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
            }
        };
        let conn = Connection::open_with_flags(path, flags).map_err(|e| db_err(path, &e))?;
        let store = Self {
            conn,
            path: path.to_path_buf(),
        };
        store
            .conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| db_err(path, &e))?;
        if access == Access::ReadWrite {
            store
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                .map_err(|e| db_err(path, &e))?;
            store
                .conn
                .execute_batch("PRAGMA synchronous = FULL;")
                .map_err(|e| db_err(path, &e))?;
        }
        // Touch the schema now so "not a database" is reported here, not later.
        store.user_version()?;
        Ok(store)
    }

    fn connect_immutable(path: &Path) -> Result<Self> {
        let abs = std::fs::canonicalize(path).map_err(|e| Error::io(path, &e))?;
        let uri = format!("file:{}?immutable=1", abs.display());
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(uri, flags).map_err(|e| db_err(path, &e))?;
        let store = Self {
            conn,
            path: path.to_path_buf(),
        };
        store.user_version()?;
        Ok(store)
    }

    fn user_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db_err(&self.path, &e))
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)
            .map_err(|e| db_err(&path, &e))?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db_err(&path, &e))?;
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let target = i as i64 + 1;
            if version < target {
                tx.execute_batch(sql).map_err(|e| db_err(&path, &e))?;
                if target == MERKLE_VERSION {
                    backfill_merkle(&tx, &path)?;
                }
                tx.execute_batch(&format!("PRAGMA user_version = {target};"))
                    .map_err(|e| db_err(&path, &e))?;
            }
        }
        tx.commit().map_err(|e| db_err(&path, &e))
    }
}

impl Engine for Sqlite {
    /// The file path.
    fn path(&self) -> &Path {
        &self.path
    }

    /// A value from `meta`.
    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row(META_SQL, [key], |r| r.get(0))
            .optional()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// Every key of `meta`, sorted.
    fn meta_keys(&self) -> Result<Vec<String>> {
        collect_rows(
            &self.conn,
            &self.path,
            "SELECT key FROM meta ORDER BY key",
            [],
            |r| r.get(0),
        )
    }

    /// Number of entry rows and the largest seq.
    fn count(&self) -> Result<(i64, i64)> {
        self.conn
            .query_row(COUNT_SQL, [], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| db_err(&self.path, &e))
    }

    /// One entry row.
    fn entry(&self, seq: i64) -> Result<Option<EntryRow>> {
        self.conn
            .query_row(ENTRY_SQL, [seq], row_to_entry)
            .optional()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// Up to `limit` entry rows with seq greater than `after`, in seq order.
    fn entries_after(&self, after: i64, limit: usize) -> Result<Vec<EntryRow>> {
        collect_rows(
            &self.conn,
            &self.path,
            ENTRIES_AFTER_SQL,
            params![after, limit as i64],
            row_to_entry,
        )
    }

    /// Every entry row of one kind (by the derived `kind` column: for lookups only; verify
    /// checks the column against the signed text).
    fn entries_of_kind(&self, kind: &str) -> Result<Vec<EntryRow>> {
        collect_rows(
            &self.conn,
            &self.path,
            ENTRIES_OF_KIND_SQL,
            [kind],
            row_to_entry,
        )
    }

    /// Up to `limit` evidence rows with seq greater than `after` and ledger time at or after
    /// `since` (evidence is never recorded before it is performed, so older rows cannot
    /// concern a later period).
    /// Only `seq`, `body` and `payload` are read (the signed bytes).
    fn evidence_after(&self, after: i64, since: &str, limit: usize) -> Result<Vec<SignedRow>> {
        collect_rows(
            &self.conn,
            &self.path,
            EVIDENCE_AFTER_SQL,
            params![after, since, limit as i64],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    /// Start a read snapshot: later reads see one consistent state of the ledger.
    fn begin_read(&self) -> Result<()> {
        self.conn
            .execute_batch("BEGIN DEFERRED; SELECT count(*) FROM meta;")
            .map_err(|e| db_err(&self.path, &e))
    }

    fn layout(&self) -> Result<Layout> {
        let expected = expected_schema(self.user_version()?, &self.path)?;
        let actual = schema_objects(&self.conn, &self.path)?;
        Ok(compare_layout(&expected, &actual))
    }

    /// A covering search of the index alone (`INDEXED BY`: never the table, never another
    /// index), as `entries_of_kind` searches it.
    fn lookup_range(&self, lookup: Lookup, key: &str, after: i64, last: i64) -> Result<Vec<i64>> {
        let sql = match lookup {
            Lookup::Kind => {
                "SELECT seq FROM entries INDEXED BY entries_kind
                 WHERE kind = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq"
            }
            Lookup::Item => {
                "SELECT seq FROM entries INDEXED BY entries_item
                 WHERE item = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq"
            }
        };
        collect_rows(
            &self.conn,
            &self.path,
            sql,
            params![key, after, last],
            |r| r.get(0),
        )
    }

    /// `count(seq)`, not `count(*)`: SQLite counts a bare `count(*)` on the smallest index
    /// of the table whatever `INDEXED BY` says.
    fn lookup_len(&self, lookup: Lookup) -> Result<i64> {
        let sql = match lookup {
            Lookup::Kind => "SELECT count(seq) FROM entries INDEXED BY entries_kind",
            Lookup::Item => {
                "SELECT count(seq) FROM entries INDEXED BY entries_item WHERE item IS NOT NULL"
            }
        };
        self.conn
            .query_row(sql, [], |r| r.get(0))
            .map_err(|e| db_err(&self.path, &e))
    }

    /// Each index entry looked up in the table by its rowid (`NOT INDEXED`).
    fn lookup_strays(&self, lookup: Lookup, limit: usize) -> Result<Vec<(i64, String)>> {
        let sql = match lookup {
            Lookup::Kind => {
                "SELECT i.seq, coalesce(i.kind, '') FROM entries AS i INDEXED BY entries_kind
                 WHERE NOT EXISTS (SELECT 1 FROM entries AS e NOT INDEXED
                                   WHERE e.seq = i.seq AND e.kind = i.kind)
                 ORDER BY i.seq LIMIT ?1"
            }
            Lookup::Item => {
                "SELECT i.seq, i.item FROM entries AS i INDEXED BY entries_item
                 WHERE i.item IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM entries AS e NOT INDEXED
                                   WHERE e.seq = i.seq AND e.item = i.item)
                 ORDER BY i.seq LIMIT ?1"
            }
        };
        collect_rows(&self.conn, &self.path, sql, [limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
    }

    /// All rows of `parties`.
    fn parties(&self) -> Result<Vec<PartyRow>> {
        collect_rows(&self.conn, &self.path, PARTIES_SQL, [], row_to_party)
    }

    /// All rows of `keys`.
    fn keys(&self) -> Result<Vec<KeyRow>> {
        collect_rows(&self.conn, &self.path, KEYS_SQL, [], row_to_key)
    }

    /// Whether the `key_events` table is there: `Some(true)` yes; `Some(false)` missing
    /// although the schema version has it (a damaged file); `None` for an older schema,
    /// which cannot hold key history.
    fn key_events_table(&self) -> Result<Option<bool>> {
        self.table_state("key_events", KEY_HISTORY_VERSION)
    }

    /// All rows of `key_events`, in entry order (none when the table is not there).
    fn key_events(&self) -> Result<Vec<KeyEventRow>> {
        if self.key_events_table()? != Some(true) {
            return Ok(Vec::new());
        }
        collect_rows(&self.conn, &self.path, KEY_EVENTS_SQL, [], row_to_key_event)
    }

    /// Stream a stored artefact's content to `sink` in chunks. `None` if not stored; the
    /// stored size otherwise.
    fn read_artifact(
        &self,
        sha256: &str,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<(i64, u64)>> {
        let row: Option<(i64, i64)> = self
            .conn
            .query_row(ARTIFACT_SQL, [sha256], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(|e| db_err(&self.path, &e))?;
        let Some((rowid, size)) = row else {
            return Ok(None);
        };
        let mut blob = self
            .conn
            .blob_open(rusqlite::MAIN_DB, c"artifacts", c"content", rowid, true)
            .map_err(|e| db_err(&self.path, &e))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = blob.read(&mut buf).map_err(|e| Error::io(&self.path, &e))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            sink(&buf[..n]);
        }
        Ok(Some((size, total)))
    }

    /// Run `f` inside one write transaction taken up front (`BEGIN IMMEDIATE`), so
    /// concurrent writers queue instead of deadlocking. Commits if `f` succeeds, rolls back
    /// otherwise: a failed command leaves the ledger as it was.
    fn begin_write(&mut self) -> Result<Box<dyn Txn + '_>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_err(&self.path, &e))?;
        Ok(Box::new(SqliteTxn {
            tx,
            path: self.path.clone(),
        }))
    }

    fn reopen(&self) -> Result<Box<dyn Engine>> {
        Ok(Box::new(Self::open(&self.path, Access::ReadOnly)?))
    }

    fn max_seq(&self) -> Result<i64> {
        self.conn
            .query_row(MAX_SEQ_SQL, [], |r| r.get(0))
            .map_err(|e| db_err(&self.path, &e))
    }

    fn merkle_table(&self) -> Result<Option<bool>> {
        self.merkle_table_state()
    }

    fn merkle_nodes_completed(&self, after: i64, last: i64) -> Result<Vec<NodeRow>> {
        self.nodes_completed(after, last)
    }

    fn merkle_stray_nodes(&self, size: i64, limit: usize) -> Result<Vec<NodeRow>> {
        self.stray_nodes(size, limit)
    }
}

fn row_to_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntryRow> {
    Ok(EntryRow {
        seq: r.get(0)?,
        body: r.get(1)?,
        signature: r.get(2)?,
        payload: r.get(3)?,
        hash: r.get(4)?,
        time: r.get(5)?,
        kind: r.get(6)?,
        signer: r.get(7)?,
        item: r.get(8)?,
    })
}

/// Writes inside one transaction.
pub(crate) struct SqliteTxn<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
}

impl Txn for SqliteTxn<'_> {
    /// The newest entry row, if any.
    fn tip(&self) -> Result<Option<EntryRow>> {
        self.tx
            .query_row(
                "SELECT seq, body, signature, payload, hash, time, kind, signer, item
                 FROM entries ORDER BY seq DESC LIMIT 1",
                [],
                row_to_entry,
            )
            .optional()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// A value from `meta`.
    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.tx
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// The key row of a fingerprint.
    fn key(&self, fingerprint: &str) -> Result<Option<KeyRow>> {
        self.tx
            .query_row(
                "SELECT fingerprint, party, public_key, seq FROM keys WHERE fingerprint = ?1",
                [fingerprint],
                row_to_key,
            )
            .optional()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// The party row of an id.
    fn party(&self, id: &str) -> Result<Option<PartyRow>> {
        self.tx
            .query_row(
                "SELECT id, name, role, seq FROM parties WHERE id = ?1",
                [id],
                row_to_party,
            )
            .optional()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// Append entry rows.
    fn insert_entries(&self, rows: &[EntryRow]) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO entries (seq, body, signature, payload, hash, time, kind, signer, item)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .map_err(|e| db_err(&self.path, &e))?;
        for r in rows {
            stmt.execute(params![
                r.seq,
                r.body,
                r.signature,
                r.payload,
                r.hash,
                r.time,
                r.kind,
                r.signer,
                r.item
            ])
            .map_err(|e| db_err(&self.path, &e))?;
        }
        Ok(())
    }

    /// Record a party and its first key.
    fn insert_party(&self, party: &PartyRow, key: &KeyRow) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO parties (id, name, role, seq) VALUES (?1, ?2, ?3, ?4)",
                params![party.id, party.name, party.role, party.seq],
            )
            .map_err(|e| db_err(&self.path, &e))?;
        self.tx
            .execute(
                "INSERT INTO keys (fingerprint, party, public_key, seq) VALUES (?1, ?2, ?3, ?4)",
                params![key.fingerprint, key.party, key.public_key, key.seq],
            )
            .map_err(|e| db_err(&self.path, &e))?;
        Ok(())
    }

    /// The `key_events` rows of one key (a writer has migrated the file: the table is there).
    fn key_events(&self, fingerprint: &str) -> Result<Vec<KeyEventRow>> {
        collect_rows(
            &self.tx,
            &self.path,
            "SELECT seq, fingerprint, event, since FROM key_events
             WHERE fingerprint = ?1 ORDER BY seq",
            [fingerprint],
            row_to_key_event,
        )
    }

    /// The key rows of one party, oldest first.
    fn party_keys(&self, party: &str) -> Result<Vec<KeyRow>> {
        collect_rows(
            &self.tx,
            &self.path,
            "SELECT fingerprint, party, public_key, seq FROM keys WHERE party = ?1
             ORDER BY seq, fingerprint",
            [party],
            row_to_key,
        )
    }

    /// Record a key a rotation registers (its party is registered already).
    fn insert_key(&self, key: &KeyRow) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO keys (fingerprint, party, public_key, seq) VALUES (?1, ?2, ?3, ?4)",
                params![key.fingerprint, key.party, key.public_key, key.seq],
            )
            .map_err(|e| db_err(&self.path, &e))?;
        Ok(())
    }

    /// Record that a key was retired or revoked.
    fn insert_key_event(&self, event: &KeyEventRow) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO key_events (seq, fingerprint, event, since) VALUES (?1, ?2, ?3, ?4)",
                params![event.seq, event.fingerprint, event.event, event.since],
            )
            .map_err(|e| db_err(&self.path, &e))?;
        Ok(())
    }

    /// Is an artefact with this hash already stored?
    fn has_artifact(&self, sha256: &str) -> Result<bool> {
        self.tx
            .query_row(
                "SELECT 1 FROM artifacts WHERE sha256 = ?1",
                [sha256],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| db_err(&self.path, &e))
    }

    /// Store artefact content of `size` bytes read from `source`, under `sha256`, streaming
    /// it through incremental blob I/O (never whole in memory). Every chunk is passed to
    /// `seen` so the caller can re-hash what was actually stored.
    fn insert_artifact(
        &self,
        sha256: &str,
        size: u64,
        source: &mut dyn Read,
        seen: &mut dyn FnMut(&[u8]),
    ) -> Result<()> {
        let size_i = i64::try_from(size).map_err(|_| Error::new("artefact too large"))?;
        self.tx
            .execute(
                "INSERT INTO artifacts (sha256, size, content) VALUES (?1, ?2, zeroblob(?2))",
                params![sha256, size_i],
            )
            .map_err(|e| db_err(&self.path, &e))?;
        let rowid = self.tx.last_insert_rowid();
        let mut blob = self
            .tx
            .blob_open(rusqlite::MAIN_DB, c"artifacts", c"content", rowid, false)
            .map_err(|e| db_err(&self.path, &e))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            let n = source
                .read(&mut buf)
                .map_err(|e| Error::io(&self.path, &e))?;
            if n == 0 {
                break;
            }
            written += n as u64;
            if written > size {
                return Err(Error::new("artefact grew while it was being stored"));
            }
            seen(&buf[..n]);
            blob.write_all(&buf[..n])
                .map_err(|e| Error::io(&self.path, &e))?;
        }
        if written != size {
            return Err(Error::new(
                "artefact changed size while it was being stored",
            ));
        }
        Ok(())
    }

    fn insert_merkle_nodes(&self, nodes: &[merkle::Node]) -> Result<()> {
        self.insert_nodes(nodes)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        let Self { tx, path } = *self;
        tx.commit().map_err(|e| db_err(&path, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A second handle on the ledger at `path` (reads see the latest commit).
    fn handle(path: &Path) -> Sqlite {
        Sqlite::open(path, Access::ReadOnly).unwrap()
    }

    impl Sqlite {
        fn merkle_root(&self, size: u64) -> Result<Hash> {
            (self as &dyn Engine).merkle_root(size)
        }
        fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>> {
            (self as &dyn Engine).inclusion_proof(seq, size)
        }
        fn consistency_proof(&self, m: u64, n: u64) -> Result<Vec<Hash>> {
            (self as &dyn Engine).consistency_proof(m, n)
        }
    }

    #[test]
    fn migrate_twice_is_a_no_op_and_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        drop(Sqlite::create(&path, &[("ledger_id", "x")]).unwrap());
        for _ in 0..2 {
            let mut s = Sqlite::open(&path, Access::ReadWrite).unwrap();
            s.migrate().unwrap();
            assert_eq!(s.user_version().unwrap(), SCHEMA_VERSION);
            assert_eq!(s.meta("ledger_id").unwrap().as_deref(), Some("x"));
        }
        assert!(
            Sqlite::create(&path, &[]).is_err(),
            "create must refuse an existing file"
        );
        let s = Sqlite::open(&path, Access::ReadWrite).unwrap();
        s.conn.execute_batch("PRAGMA user_version = 99").unwrap();
        drop(s);
        let err = Sqlite::open(&path, Access::ReadOnly).err().unwrap();
        assert!(
            err.message().contains("schema version 99"),
            "{}",
            err.message()
        );
    }

    // ---- Merkle tree ---------------------------------------------------------------------

    use crate::crypto::SecretKey;
    use crate::format::entry::{LedgerId, parse_time};
    use crate::format::merkle::{MemoryTree, Source as _};
    use crate::format::payload::Role;
    use crate::ledger::verify::{self, Check, Options};
    use crate::ledger::{Ledger, NewParty, NoProgress};

    fn key() -> SecretKey {
        SecretKey::from_seed(&[9u8; 32])
    }

    /// Append `n` evidence entries in one batch.
    fn append(l: &mut Ledger, n: usize) {
        let t = parse_time("2026-07-01T00:00:00Z").unwrap();
        l.append(&key(), crate::ledger::restore_drafts(n, t), t, &NoProgress)
            .unwrap();
    }

    /// A ledger of genesis plus evidence entries appended in `batches`.
    fn ledger(path: &Path, batches: &[usize]) -> Ledger {
        let party = NewParty {
            id: "provider".into(),
            name: "P".into(),
            role: Role::Provider,
        };
        let t = parse_time("2026-07-01T00:00:00Z").unwrap();
        let (mut l, _) = Ledger::init(path, LedgerId([5u8; 16]), &party, &key(), t).unwrap();
        for &b in batches {
            append(&mut l, b);
        }
        l
    }

    /// The tree of the stored entry texts, in memory.
    fn memory_tree(s: &Sqlite) -> MemoryTree {
        let mut t = MemoryTree::new();
        for row in s.entries_after(0, usize::MAX >> 1).unwrap() {
            t.push(&row.body);
        }
        t
    }

    fn node_rows(s: &Sqlite) -> Vec<(i64, i64, Vec<u8>)> {
        let mut stmt = s
            .conn
            .prepare("SELECT level, idx, hash FROM merkle_nodes ORDER BY level, idx")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
    }

    fn memory_rows(t: &MemoryTree) -> Vec<(i64, i64, Vec<u8>)> {
        t.nodes()
            .iter()
            .map(|(&(l, i), h)| (i64::from(l), i as i64, h.to_vec()))
            .collect()
    }

    #[test]
    fn merkle_store_matches_the_tree_of_the_entry_texts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        // Batches cross the level 4, 8 and 12 boundaries at odd places.
        let _l = ledger(&path, &[1, 13, 1, 17, 240, 3, 30, 3900]);
        let s = &handle(&path);
        let mem = memory_tree(s);
        let n = mem.size();
        assert_eq!(n, 4206);
        assert_eq!(node_rows(s), memory_rows(&mem), "stored rows");
        assert!(mem.nodes().contains_key(&(12, 0)));
        let sizes: Vec<u64> = (0..=320).chain([4095, 4096, 4097, n - 1, n]).collect();
        for &size in &sizes {
            let want = merkle::root(&mem, size).unwrap();
            assert_eq!(s.merkle_root(size).unwrap(), want, "root of {size}");
        }
        for (seq, size) in [
            (1, 1),
            (1, n),
            (16, 16),
            (17, 300),
            (256, 257),
            (4096, n),
            (n, n),
        ] {
            let p = s.inclusion_proof(seq, size).unwrap();
            assert_eq!(p, merkle::inclusion_proof(&mem, seq - 1, size).unwrap());
            let leaf = s.leaf_hashes(seq - 1, seq).unwrap()[0];
            let root = s.merkle_root(size).unwrap();
            assert!(merkle::verify_inclusion(&leaf, seq - 1, size, &p, &root));
        }
        for (m, size) in [
            (0, 5),
            (1, n),
            (16, 17),
            (15, 4096),
            (300, n),
            (4097, n),
            (n, n),
        ] {
            let p = s.consistency_proof(m, size).unwrap();
            assert_eq!(p, merkle::consistency_proof(&mem, m, size).unwrap());
            let (rm, rn) = (s.merkle_root(m).unwrap(), s.merkle_root(size).unwrap());
            assert!(
                merkle::verify_consistency(m, size, &rm, &rn, &p),
                "{m} to {size}"
            );
        }
        // verify recomputes the same tree and finds every row right.
        let report = verify::verify(&path, &Options::default(), &NoProgress).unwrap();
        assert!(report.ok(), "{:?}", report.findings);
        assert_eq!(report.merkle_root, Some(s.merkle_root(n).unwrap()));
    }

    #[test]
    fn merkle_errors_name_the_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let _l = ledger(&path, &[9]);
        let s = &handle(&path);
        let msg = |r: Result<Vec<Hash>>| r.unwrap_err().message().to_string();
        assert!(msg(s.inclusion_proof(0, 5)).contains("no entry 0"));
        assert!(msg(s.inclusion_proof(7, 5)).contains("entry 7 is not in the tree of size 5"));
        let e = msg(s.inclusion_proof(3, 11));
        assert!(e.contains("has 10 entries") && e.contains("size 11"), "{e}");
        let e = s.merkle_root(12).unwrap_err().message().to_string();
        assert!(e.contains("has 10 entries") && e.contains("size 12"), "{e}");
        let e = msg(s.consistency_proof(6, 4));
        assert!(e.contains("size 6") && e.contains("smaller size 4"), "{e}");
        assert!(msg(s.consistency_proof(4, 11)).contains("size 11"));
        assert_eq!(s.merkle_root(0).unwrap(), merkle::empty_root());
        assert!(s.consistency_proof(10, 10).unwrap().is_empty());
    }

    /// Make the file look like a ledger written before migration 0003.
    fn downgrade(path: &Path) {
        let c = Connection::open(path).unwrap();
        c.execute_batch("DROP TABLE merkle_nodes; DROP TABLE key_events; PRAGMA user_version = 2;")
            .unwrap();
    }

    #[test]
    fn key_history_table_is_optional_for_readers_and_added_by_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        drop(ledger(&path, &[3]));
        // A ledger written before migration 0004.
        let c = Connection::open(&path).unwrap();
        c.execute_batch("DROP TABLE key_events; PRAGMA user_version = 3;")
            .unwrap();
        drop(c);
        let r = Sqlite::open(&path, Access::ReadOnly).unwrap();
        assert_eq!(r.key_events_table().unwrap(), None);
        assert_eq!(r.key_events().unwrap(), vec![]);
        let report = verify::verify(&path, &Options::default(), &NoProgress).unwrap();
        assert!(report.ok(), "{:?}", report.findings);
        drop(r);
        let l = Ledger::open(&path, Access::ReadWrite).unwrap();
        assert_eq!(handle(&path).user_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(handle(&path).key_events_table().unwrap(), Some(true));
        drop(l);
        // At schema version 4 the table is required: its absence is a finding.
        let c = Connection::open(&path).unwrap();
        c.execute_batch("DROP TABLE key_events;").unwrap();
        drop(c);
        let report = verify::verify(&path, &Options::default(), &NoProgress).unwrap();
        assert_eq!(
            report
                .findings
                .iter()
                .map(|f| f.what.as_str())
                .collect::<Vec<_>>(),
            vec!["the key_events table is missing (schema version 4 has it)"]
        );
    }

    #[test]
    fn merkle_older_ledger_is_read_from_the_texts_and_backfilled_by_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let l = ledger(&path, &[299]);
        let before = node_rows(&handle(&path));
        let root = handle(&path).merkle_root(300).unwrap();
        let proof = handle(&path).inclusion_proof(77, 300).unwrap();
        drop(l);
        downgrade(&path);

        // A reader leaves the file as it is and computes from the entry texts.
        let r = Sqlite::open(&path, Access::ReadOnly).unwrap();
        assert_eq!(r.merkle_table().unwrap(), None);
        assert_eq!(r.stored_nodes(4, 0, 1).unwrap(), None);
        assert_eq!(r.merkle_root(300).unwrap(), root);
        assert_eq!(r.inclusion_proof(77, 300).unwrap(), proof);
        let report = verify::verify(&path, &Options::default(), &NoProgress).unwrap();
        assert!(report.ok(), "{:?}", report.findings);
        assert_eq!(report.merkle_root, Some(root));
        drop(r);

        // A writer migrates: the table is filled in the migration, row for row.
        let mut l = Ledger::open(&path, Access::ReadWrite).unwrap();
        assert_eq!(handle(&path).user_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(node_rows(&handle(&path)), before);
        append(&mut l, 50);
        let mem = memory_tree(&handle(&path));
        assert_eq!(node_rows(&handle(&path)), memory_rows(&mem));
        assert_eq!(
            handle(&path).merkle_root(350).unwrap(),
            merkle::root(&mem, 350).unwrap()
        );
    }

    #[test]
    fn merkle_tampered_rows_are_verify_findings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        drop(ledger(&path, &[39]));
        let all = Options {
            all: true,
            ..Options::default()
        };
        let findings = || {
            verify::verify(&path, &all, &NoProgress)
                .unwrap()
                .findings
                .into_iter()
                .map(|f| (f.seq, f.check, f.what))
                .collect::<Vec<_>>()
        };
        assert_eq!(findings(), vec![]);
        let attacker = Connection::open(&path).unwrap();
        // Triggers refuse the edit; an attacker drops them first.
        assert!(
            attacker
                .execute("DELETE FROM merkle_nodes WHERE level = 4 AND idx = 0", [])
                .is_err()
        );
        attacker
            .execute_batch(
                "DROP TRIGGER merkle_nodes_no_update; DROP TRIGGER merkle_nodes_no_delete;
                 UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 4 AND idx = 1;",
            )
            .unwrap();
        assert_eq!(
            findings(),
            vec![(
                32,
                Check::Derived,
                "merkle_nodes row at level 4, index 1 (entries 17–32) does not match the entry texts"
                    .to_string()
            )]
        );
        attacker
            .execute_batch(
                "DELETE FROM merkle_nodes WHERE level = 4 AND idx = 0;
                 INSERT INTO merkle_nodes VALUES (4, 2, zeroblob(32)), (6, 0, zeroblob(32));",
            )
            .unwrap();
        assert_eq!(
            findings(),
            vec![
                (
                    0,
                    Check::Derived,
                    "merkle_nodes has a row at level 4, index 2, which is not a stored node of the tree of 40 entries"
                        .to_string()
                ),
                (
                    0,
                    Check::Derived,
                    "merkle_nodes has a row at level 6, index 0, which is not a stored node of the tree of 40 entries"
                        .to_string()
                ),
                (
                    16,
                    Check::Derived,
                    "merkle_nodes lacks the row at level 4, index 0 (entries 1–16)".to_string()
                ),
                (
                    32,
                    Check::Derived,
                    "merkle_nodes row at level 4, index 1 (entries 17–32) does not match the entry texts"
                        .to_string()
                ),
            ]
        );
        // A damaged table is an error for proofs, named, not a wrong answer.
        let s = Sqlite::open(&path, Access::ReadOnly).unwrap();
        let e = s.merkle_root(40).unwrap_err();
        assert!(e.message().contains("level 4, index 0"), "{}", e.message());
        drop(s);
        attacker.execute_batch("DROP TABLE merkle_nodes").unwrap();
        assert_eq!(
            findings(),
            vec![(
                0,
                Check::Derived,
                "the merkle_nodes table is missing (schema version 3 has it)".to_string()
            )]
        );
    }

    // ---- layout and lookups ----------------------------------------------------------------

    /// The indexes a query plan reads (`EXPLAIN QUERY PLAN`); an automatic index, which
    /// SQLite builds from the table for one statement, is `(automatic)`.
    fn plan_indexes(c: &Connection, sql: &str) -> (Vec<String>, String) {
        let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
        let details: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut names = Vec::new();
        for d in &details {
            let words: Vec<&str> = d.split_whitespace().collect();
            for (i, w) in words.iter().enumerate() {
                if *w == "INDEX" {
                    let next = words.get(i + 1).copied().unwrap_or("(");
                    names.push(if next.starts_with('(') {
                        "(automatic)".to_string()
                    } else {
                        next.to_string()
                    });
                }
            }
        }
        (names, details.join(" | "))
    }

    /// Whatever a reader's statement reads, `verify` checked (`FORMAT.md` §7): the table
    /// rows, the `entries_kind` index (read back by `lookup_*`), or the key indexes of
    /// `meta` and `artifacts` through the very statements verify runs itself. A new
    /// statement or index that changes this needs a check in verify first.
    #[test]
    fn query_plans_read_only_checked_structures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        drop(ledger(&path, &[40]));
        let c = Connection::open(&path).unwrap();
        let checked = [
            "entries_kind",
            "sqlite_autoindex_meta_1",
            "sqlite_autoindex_artifacts_1",
            "(automatic)",
        ];
        for sql in [
            META_SQL,
            COUNT_SQL,
            MAX_SEQ_SQL,
            ENTRY_SQL,
            ENTRIES_AFTER_SQL,
            ENTRIES_OF_KIND_SQL,
            EVIDENCE_AFTER_SQL,
            PARTIES_SQL,
            KEYS_SQL,
            KEY_EVENTS_SQL,
            ARTIFACT_SQL,
            LEAF_HASHES_SQL,
            STORED_NODES_SQL,
        ] {
            let (names, plan) = plan_indexes(&c, sql);
            assert!(
                names.iter().all(|n| checked.contains(&n.as_str())),
                "{sql}\nreads {names:?}: {plan}"
            );
        }
        // The two the issue is about: kind lookups read entries_kind, evidence the rows.
        let (names, plan) = plan_indexes(&c, ENTRIES_OF_KIND_SQL);
        assert_eq!(names, vec!["entries_kind"], "{plan}");
        let (names, plan) = plan_indexes(&c, EVIDENCE_AFTER_SQL);
        assert!(
            names.is_empty() && plan.contains("INTEGER PRIMARY KEY"),
            "{plan}"
        );
    }

    /// Rebuild index `name` over `columns` leaving out what `leave_out` (a WHERE clause)
    /// excludes, then give it back the definition of the migrations: its text is the
    /// migrations', its content is not (the attack of issue 11).
    fn rebuild_partial(c: &Connection, name: &str, columns: &str, leave_out: &str) {
        let sql: String = c
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .unwrap();
        c.execute_batch(&format!(
            "DROP INDEX {name}; CREATE INDEX {name} ON entries ({columns}) WHERE {leave_out};"
        ))
        .unwrap();
        c.execute_batch("PRAGMA writable_schema = ON").unwrap();
        c.execute(
            "UPDATE sqlite_master SET sql = ?1 WHERE name = ?2",
            params![sql, name],
        )
        .unwrap();
        c.execute_batch("PRAGMA writable_schema = OFF").unwrap();
    }

    #[test]
    fn lookups_read_their_own_index_and_see_what_searches_see() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        drop(ledger(&path, &[40]));
        let c = Connection::open(&path).unwrap();
        // Another (kind, seq) index, without entry 7, described as complete: kind searches
        // now read it. The lookups still read entries_kind, which is whole.
        rebuild_partial(&c, "entries_kind", "kind, seq", "1");
        c.execute_batch("CREATE INDEX other ON entries (kind, seq) WHERE seq != 7")
            .unwrap();
        c.execute_batch("PRAGMA writable_schema = ON").unwrap();
        c.execute(
            "UPDATE sqlite_master SET sql = 'CREATE INDEX other ON entries (kind, seq)'
             WHERE name = 'other'",
            [],
        )
        .unwrap();
        drop(c);
        let s = handle(&path);
        let (names, _) = plan_indexes(&s.conn, ENTRIES_OF_KIND_SQL);
        assert_eq!(names, vec!["other"], "the attack needs searches to read it");
        assert_eq!(s.entries_of_kind("evidence").unwrap().len(), 39);
        let layout = s.layout().unwrap();
        assert_eq!(layout.lookups, Lookup::ALL.to_vec());
        assert_eq!(layout.problems.len(), 1, "{:?}", layout.problems);
        assert!(
            layout.problems[0].starts_with("the file has index other on entries"),
            "{:?}",
            layout.problems
        );
        assert_eq!(s.lookup_len(Lookup::Kind).unwrap(), 41);
        assert_eq!(
            s.lookup_range(Lookup::Kind, "evidence", 0, 41)
                .unwrap()
                .len(),
            40
        );
        drop(s);

        // The index itself without entry 9, described as complete: the layout is right,
        // the content is not, and searches miss entry 9.
        let c = Connection::open(&path).unwrap();
        c.execute_batch("DROP INDEX other").unwrap();
        rebuild_partial(&c, "entries_kind", "kind, seq", "seq != 9");
        rebuild_partial(&c, "entries_item", "item", "item IS NOT NULL AND seq != 12");
        drop(c);
        let s = handle(&path);
        assert_eq!(s.layout().unwrap().problems, Vec::<String>::new());
        assert_eq!(s.entries_of_kind("evidence").unwrap().len(), 39);
        assert_eq!(s.lookup_len(Lookup::Kind).unwrap(), 40);
        assert_eq!(s.lookup_len(Lookup::Item).unwrap(), 39);
        let got = s.lookup_range(Lookup::Kind, "evidence", 8, 10).unwrap();
        assert_eq!(got, vec![10]);
        let all = Options {
            all: true,
            ..Options::default()
        };
        let report = verify::verify(&path, &all, &NoProgress).unwrap();
        let found: Vec<(u64, Check, String)> = report
            .findings
            .into_iter()
            .map(|f| (f.seq, f.check, f.what))
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    9,
                    Check::Derived,
                    "the entries_kind index does not list this entry under its kind \"evidence\": searches by kind miss it".to_string()
                ),
                (
                    12,
                    Check::Derived,
                    "the entries_item index does not list this entry under its item \"backup.restore-tests\": searches by item miss it".to_string()
                ),
            ]
        );
    }

    #[test]
    fn layout_names_what_differs_from_the_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        drop(ledger(&path, &[3]));
        let problems = || handle(&path).layout().unwrap().problems;
        assert_eq!(problems(), Vec::<String>::new());
        let c = Connection::open(&path).unwrap();
        // Dropped triggers are not problems (they guard against accidents only).
        c.execute_batch(
            "DROP TRIGGER entries_no_update; DROP TRIGGER entries_no_delete;
             DROP INDEX entries_kind; ANALYZE;
             CREATE TRIGGER note AFTER INSERT ON entries BEGIN SELECT 1; END;",
        )
        .unwrap();
        c.execute_batch("PRAGMA writable_schema = ON").unwrap();
        c.execute(
            "UPDATE sqlite_master SET sql = 'CREATE INDEX entries_item ON entries (item)'
             WHERE name = 'entries_item'",
            [],
        )
        .unwrap();
        drop(c);
        assert_eq!(
            problems(),
            vec![
                "the entries_item index is not as schema version 1 defines it: the file has index \"CREATE INDEX entries_item ON entries (item)\"",
                "the entries_kind index is missing (schema version 2 has it)",
                "the file has table sqlite_stat1 on sqlite_stat1 (\"CREATE TABLE sqlite_stat1(tbl,idx,stat)\"), which vouch's migrations do not make: its statistics change which index a query reads",
                "the file has table sqlite_stat4 on sqlite_stat4 (\"CREATE TABLE sqlite_stat4(tbl,idx,neq,nlt,ndlt,sample)\"), which vouch's migrations do not make: its statistics change which index a query reads",
                "the file has trigger note on entries (\"CREATE TRIGGER note AFTER INSERT ON entries BEGIN SELECT 1; END\"), which vouch's migrations do not make: it acts on later writes",
            ]
        );
        assert_eq!(handle(&path).layout().unwrap().lookups, vec![]);
        // An older file is compared with the migrations of its own version.
        let old = dir.path().join("old.db");
        drop(ledger(&old, &[3]));
        downgrade(&old);
        assert_eq!(
            handle(&old).layout().unwrap().problems,
            Vec::<String>::new()
        );
    }
}
