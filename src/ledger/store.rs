//! SQLite storage: the only module that imports `rusqlite`.
//!
//! Implements `schema/FORMAT.md` §6 (storage). The schema lives in `schema/NNNN_*.sql` and
//! is applied by `PRAGMA user_version` migrations in one exclusive transaction, the way
//! cargo does it. The store knows rows, not meaning: it never hashes, signs or judges.

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, TransactionBehavior, params};
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

/// The migrations, in order. Index + 1 is the `user_version` each one brings the file to.
const MIGRATIONS: &[&str] = &[
    include_str!("../../schema/0001_init.sql"),
    include_str!("../../schema/0002_kind_index.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a writer waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

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
pub struct EntryRow {
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
pub type SignedRow = (i64, Vec<u8>, Vec<u8>);

/// One row of `parties`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyRow {
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
pub struct KeyRow {
    /// Fingerprint (hex).
    pub fingerprint: String,
    /// Owning party id.
    pub party: String,
    /// Base64 SPKI DER.
    pub public_key: String,
    /// Registering entry.
    pub seq: i64,
}

/// An open ledger file.
pub struct Store {
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

impl Store {
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
                tx.execute_batch(&format!("PRAGMA user_version = {target};"))
                    .map_err(|e| db_err(&path, &e))?;
            }
        }
        tx.commit().map_err(|e| db_err(&path, &e))
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A value from `meta`.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// Number of entry rows and the largest seq.
    pub fn count(&self) -> Result<(i64, i64)> {
        self.conn
            .query_row(
                "SELECT count(*), coalesce(max(seq), 0) FROM entries",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| db_err(&self.path, &e))
    }

    /// One entry row.
    pub fn entry(&self, seq: i64) -> Result<Option<EntryRow>> {
        self.conn
            .query_row(
                "SELECT seq, body, signature, payload, hash, time, kind, signer, item
                 FROM entries WHERE seq = ?1",
                [seq],
                row_to_entry,
            )
            .optional()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// Up to `limit` entry rows with seq greater than `after`, in seq order.
    pub fn entries_after(&self, after: i64, limit: usize) -> Result<Vec<EntryRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, body, signature, payload, hash, time, kind, signer, item
                 FROM entries WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(|e| db_err(&self.path, &e))?;
        let rows = stmt
            .query_map(params![after, limit as i64], row_to_entry)
            .map_err(|e| db_err(&self.path, &e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// Every entry row of one kind (by the derived `kind` column: for lookups only; verify
    /// checks the column against the signed text).
    pub fn entries_of_kind(&self, kind: &str) -> Result<Vec<EntryRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, body, signature, payload, hash, time, kind, signer, item
                 FROM entries WHERE kind = ?1 ORDER BY seq",
            )
            .map_err(|e| db_err(&self.path, &e))?;
        let rows = stmt
            .query_map([kind], row_to_entry)
            .map_err(|e| db_err(&self.path, &e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// Up to `limit` evidence rows with seq greater than `after` and ledger time at or after
    /// `since` (evidence is never recorded before it is performed, so older rows cannot
    /// concern a later period).
    /// Only `seq`, `body` and `payload` are read (the signed bytes).
    pub fn evidence_after(&self, after: i64, since: &str, limit: usize) -> Result<Vec<SignedRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, body, payload
                 FROM entries WHERE seq > ?1 AND +kind = 'evidence' AND time >= ?2
                 ORDER BY seq LIMIT ?3",
            )
            .map_err(|e| db_err(&self.path, &e))?;
        let rows = stmt
            .query_map(params![after, since, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| db_err(&self.path, &e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// A stored artefact's whole content (small documents such as matrices only).
    pub fn artifact_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let mut out = Vec::new();
        Ok(self
            .read_artifact(sha256, |c| out.extend_from_slice(c))?
            .map(|_| out))
    }

    /// Start a read snapshot: later reads see one consistent state of the ledger.
    pub fn begin_read(&self) -> Result<()> {
        self.conn
            .execute_batch("BEGIN DEFERRED; SELECT count(*) FROM meta;")
            .map_err(|e| db_err(&self.path, &e))
    }

    /// All rows of `parties`.
    pub fn parties(&self) -> Result<Vec<PartyRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, role, seq FROM parties ORDER BY seq, id")
            .map_err(|e| db_err(&self.path, &e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(PartyRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    role: r.get(2)?,
                    seq: r.get(3)?,
                })
            })
            .map_err(|e| db_err(&self.path, &e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// All rows of `keys`.
    pub fn keys(&self) -> Result<Vec<KeyRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT fingerprint, party, public_key, seq FROM keys ORDER BY seq, fingerprint",
            )
            .map_err(|e| db_err(&self.path, &e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(KeyRow {
                    fingerprint: r.get(0)?,
                    party: r.get(1)?,
                    public_key: r.get(2)?,
                    seq: r.get(3)?,
                })
            })
            .map_err(|e| db_err(&self.path, &e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// Stream a stored artefact's content to `sink` in chunks. `None` if not stored; the
    /// stored size otherwise.
    pub fn read_artifact(
        &self,
        sha256: &str,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<Option<(i64, u64)>> {
        let row: Option<(i64, i64)> = self
            .conn
            .query_row(
                "SELECT rowid, size FROM artifacts WHERE sha256 = ?1",
                [sha256],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
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
    pub fn write<T>(&mut self, f: impl FnOnce(&mut Writer<'_>) -> Result<T>) -> Result<T> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_err(&path, &e))?;
        let mut w = Writer { tx, path: &path };
        let out = f(&mut w)?;
        w.tx.commit().map_err(|e| db_err(&path, &e))?;
        Ok(out)
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
pub struct Writer<'a> {
    tx: rusqlite::Transaction<'a>,
    path: &'a Path,
}

impl Writer<'_> {
    /// The newest entry row, if any.
    pub fn tip(&self) -> Result<Option<EntryRow>> {
        self.tx
            .query_row(
                "SELECT seq, body, signature, payload, hash, time, kind, signer, item
                 FROM entries ORDER BY seq DESC LIMIT 1",
                [],
                row_to_entry,
            )
            .optional()
            .map_err(|e| db_err(self.path, &e))
    }

    /// A value from `meta`.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.tx
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| db_err(self.path, &e))
    }

    /// The key row of a fingerprint.
    pub fn key(&self, fingerprint: &str) -> Result<Option<KeyRow>> {
        self.tx
            .query_row(
                "SELECT fingerprint, party, public_key, seq FROM keys WHERE fingerprint = ?1",
                [fingerprint],
                |r| {
                    Ok(KeyRow {
                        fingerprint: r.get(0)?,
                        party: r.get(1)?,
                        public_key: r.get(2)?,
                        seq: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(|e| db_err(self.path, &e))
    }

    /// The party row of an id.
    pub fn party(&self, id: &str) -> Result<Option<PartyRow>> {
        self.tx
            .query_row(
                "SELECT id, name, role, seq FROM parties WHERE id = ?1",
                [id],
                |r| {
                    Ok(PartyRow {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        role: r.get(2)?,
                        seq: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(|e| db_err(self.path, &e))
    }

    /// Append entry rows.
    pub fn insert_entries(&self, rows: &[EntryRow]) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO entries (seq, body, signature, payload, hash, time, kind, signer, item)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .map_err(|e| db_err(self.path, &e))?;
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
            .map_err(|e| db_err(self.path, &e))?;
        }
        Ok(())
    }

    /// Record a party and its first key.
    pub fn insert_party(&self, party: &PartyRow, key: &KeyRow) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO parties (id, name, role, seq) VALUES (?1, ?2, ?3, ?4)",
                params![party.id, party.name, party.role, party.seq],
            )
            .map_err(|e| db_err(self.path, &e))?;
        self.tx
            .execute(
                "INSERT INTO keys (fingerprint, party, public_key, seq) VALUES (?1, ?2, ?3, ?4)",
                params![key.fingerprint, key.party, key.public_key, key.seq],
            )
            .map_err(|e| db_err(self.path, &e))?;
        Ok(())
    }

    /// Is an artefact with this hash already stored?
    pub fn has_artifact(&self, sha256: &str) -> Result<bool> {
        self.tx
            .query_row(
                "SELECT 1 FROM artifacts WHERE sha256 = ?1",
                [sha256],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| db_err(self.path, &e))
    }

    /// Store artefact content of `size` bytes read from `source`, under `sha256`, streaming
    /// it through incremental blob I/O (never whole in memory). Every chunk is passed to
    /// `seen` so the caller can re-hash what was actually stored.
    pub fn insert_artifact(
        &self,
        sha256: &str,
        size: u64,
        source: &mut dyn Read,
        mut seen: impl FnMut(&[u8]),
    ) -> Result<()> {
        let size_i = i64::try_from(size).map_err(|_| Error::new("artefact too large"))?;
        self.tx
            .execute(
                "INSERT INTO artifacts (sha256, size, content) VALUES (?1, ?2, zeroblob(?2))",
                params![sha256, size_i],
            )
            .map_err(|e| db_err(self.path, &e))?;
        let rowid = self.tx.last_insert_rowid();
        let mut blob = self
            .tx
            .blob_open(rusqlite::MAIN_DB, c"artifacts", c"content", rowid, false)
            .map_err(|e| db_err(self.path, &e))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            let n = source
                .read(&mut buf)
                .map_err(|e| Error::io(self.path, &e))?;
            if n == 0 {
                break;
            }
            written += n as u64;
            if written > size {
                return Err(Error::new("artefact grew while it was being stored"));
            }
            seen(&buf[..n]);
            blob.write_all(&buf[..n])
                .map_err(|e| Error::io(self.path, &e))?;
        }
        if written != size {
            return Err(Error::new(
                "artefact changed size while it was being stored",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrate_twice_is_a_no_op_and_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        drop(Store::create(&path, &[("ledger_id", "x")]).unwrap());
        for _ in 0..2 {
            let mut s = Store::open(&path, Access::ReadWrite).unwrap();
            s.migrate().unwrap();
            assert_eq!(s.user_version().unwrap(), SCHEMA_VERSION);
            assert_eq!(s.meta("ledger_id").unwrap().as_deref(), Some("x"));
        }
        assert!(
            Store::create(&path, &[]).is_err(),
            "create must refuse an existing file"
        );
        let s = Store::open(&path, Access::ReadWrite).unwrap();
        s.conn.execute_batch("PRAGMA user_version = 99").unwrap();
        drop(s);
        let err = Store::open(&path, Access::ReadOnly).err().unwrap();
        assert!(
            err.message().contains("schema version 99"),
            "{}",
            err.message()
        );
    }
}
