//! The PostgreSQL engine: one ledger inside a shared database, behind [`super::Engine`].
//!
//! Implements `schema/FORMAT.md` §6 (storage) for a database that holds many ledgers: every
//! table of `schema/postgres/NNNN_*.sql` is keyed by `ledger_id` first (ready for a
//! distributed PostgreSQL such as Citus, distributed by ledger id), and every statement here
//! names one ledger. The migrations are applied when a process first reaches a database, in
//! one transaction under an advisory lock, and recorded in `vouch.migrations`.
//!
//! A ledger's location is a URL: `postgres://USER@HOST:PORT/DB?ledger=NAME` (a Unix socket:
//! `postgres://USER@%2Fvar%2Frun%2Fpostgresql/DB?ledger=NAME`), with an optional
//! `pool_max=N`. Connections come from one `r2d2` pool per database and process; a handle
//! holds one connection while it lives. Appends lock the ledger's head row
//! (`SELECT … FOR UPDATE`) for their transaction: appends to one ledger queue, appends to
//! different ledgers never wait for each other, and any number of processes may share the
//! database. No TLS yet: connect over a Unix socket or a trusted network.
//!
//! Like the SQLite engine, it knows rows, not meaning, and hashes only through
//! [`crate::format::merkle`].

mod layout;
mod merkle_nodes;
mod txn;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator as _;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row};
use r2d2_postgres::PostgresConnectionManager;

use super::{
    Access, Engine, EntryRow, KeyEventRow, KeyRow, Layout, Lookup, NodeRow, PartyRow, SignedRow,
    Txn,
};
use crate::error::{Error, Result};

/// The migrations, in order: (version, name, SQL). Never edit one once released.
const MIGRATIONS: &[(i32, &str, &str)] = &[(
    1,
    "0001_init",
    include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/postgres/0001_init.sql"
    )),
)];

/// The migration version this build writes and expects.
pub(crate) const SCHEMA_VERSION: i32 = 1;

/// The key of the advisory lock that serialises migrations across processes ("vouch").
const MIGRATION_LOCK: i64 = 0x0076_6f75_6368;

/// What the engine creates before the migrations, so that it can tell which ran.
const BOOTSTRAP_SQL: &str = "CREATE SCHEMA IF NOT EXISTS vouch;
    CREATE TABLE IF NOT EXISTS vouch.migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
    );";

/// Connections per database and process, unless the location says `pool_max=N`.
const DEFAULT_POOL_MAX: u32 = 10;

/// How long a handle waits for a free connection of the pool.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// How long the first connection to a database may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Artefact content is stored in chunks of this many bytes.
const CHUNK: usize = 1 << 20;

const ENTRY_COLUMNS: &str = "seq, body, signature, payload, hash, time, kind, signer, item";

type Manager = PostgresConnectionManager<NoTls>;
type Pool = r2d2::Pool<Manager>;
type Pooled = r2d2::PooledConnection<Manager>;

/// Whether a `--ledger` location names a ledger in PostgreSQL.
pub(crate) fn is_location(path: &Path) -> bool {
    path.to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// A parsed location: the connection string for the driver, the ledger, the pool size.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    /// The URL without vouch's own parameters.
    conninfo: String,
    /// The ledger's name in the database (`ledger_id` of every row).
    ledger: String,
    /// Largest number of connections of the pool.
    pool_max: u32,
    /// The location for messages, without a password.
    shown: PathBuf,
}

impl Location {
    /// Parse `postgres://…?ledger=NAME[&pool_max=N]`.
    pub(crate) fn parse(s: &str) -> Result<Self> {
        Self::parse_as(s, true)
    }

    /// Parse a database's URL, `postgres://…[?pool_max=N]`, naming no ledger.
    pub(crate) fn database(s: &str) -> Result<Self> {
        let loc = Self::parse_as(s, false)?;
        if !loc.ledger.is_empty() {
            return Err(Error::new(format!("{}: names a ledger", redact(s))).hint(
                "give the database's URL without ?ledger=NAME: every ledger in it is served",
            ));
        }
        Ok(loc)
    }

    fn parse_as(s: &str, need_ledger: bool) -> Result<Self> {
        let (base, query) = s.split_once('?').unwrap_or((s, ""));
        let (mut ledger, mut pool_max, mut rest) = (None, DEFAULT_POOL_MAX, Vec::new());
        for param in query.split('&').filter(|p| !p.is_empty()) {
            match param.split_once('=') {
                Some(("ledger", v)) => ledger = Some(v.to_string()),
                Some(("pool_max", v)) => {
                    pool_max = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        Error::new(format!(
                            "{}: pool_max={v} is not a positive number",
                            redact(s)
                        ))
                    })?;
                }
                _ => rest.push(param),
            }
        }
        let ledger = match ledger {
            Some(l) => l,
            None if !need_ledger => String::new(),
            None => {
                return Err(Error::new(format!("{}: no ledger named", redact(s))).hint(
                    "add ?ledger=NAME to the postgres:// URL (letters, digits, '.', '_', '-')",
                ));
            }
        };
        if (need_ledger || !ledger.is_empty()) && !valid_ledger_name(&ledger) {
            return Err(Error::new(format!(
                "{}: ledger name {ledger:?} is not allowed",
                redact(s)
            ))
            .hint(
                "use up to 128 letters, digits, '.', '_' and '-', starting with a letter or digit",
            ));
        }
        let conninfo = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        Ok(Self {
            conninfo,
            ledger,
            pool_max,
            shown: PathBuf::from(redact(s)),
        })
    }
}

/// The ledger names the schema accepts (`ledgers.ledger_id`'s CHECK).
fn valid_ledger_name(name: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    (1..=128).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(ok)
}

/// A URL without its password (in the user part or a `password=` parameter).
fn redact(url: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((user, host)) => {
                let user = user.split_once(':').map_or(user, |(u, _)| u);
                format!("{scheme}://{user}@{host}")
            }
            None => base.to_string(),
        },
        None => base.to_string(),
    };
    if let Some(q) = query {
        let kept: Vec<&str> = q
            .split('&')
            .filter(|p| !p.starts_with("password="))
            .collect();
        out = format!("{out}?{}", kept.join("&"));
    }
    out
}

/// An error of the database, naming the ledger's location. The append-only triggers'
/// message is given as the database words it.
fn db_err(at: &Path, e: &postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let msg = db.message().trim_start_matches("vouch: ");
        let err = Error::new(format!("{}: {msg}", at.display()));
        return if transient_state(db.code().code()) {
            err.hint("the database is restarting or overloaded: try again")
                .transient()
        } else {
            err
        };
    }
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        // No answer from the server: the connection broke, or it could not be made.
        let what = if e.is_closed() {
            "the connection to the database was lost".to_string()
        } else {
            format!("{e}")
        };
        return Error::new(format!("{}: {what}", at.display()))
            .hint("check that the PostgreSQL server is running, then try again")
            .transient();
    }
    Error::new(format!("{}: {e}", at.display()))
}

/// SQLSTATEs of a failure of the moment: connection exceptions (class 08), the server
/// shutting down or starting (57P01–57P03), too many connections (53300), and a
/// serialization failure or deadlock (40001, 40P01).
fn transient_state(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01"
        )
}

/// The pools of this process, one per database (connection string).
fn pools() -> &'static Mutex<HashMap<String, Pool>> {
    static POOLS: OnceLock<Mutex<HashMap<String, Pool>>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The pool of a database; the first time in this process, connect once directly (so that a
/// wrong URL or a stopped server is reported at once) and apply the migrations.
fn pool(loc: &Location) -> Result<Pool> {
    let mut map = pools().lock().map_err(|_| {
        Error::new("the PostgreSQL connection pools are unusable (a thread panicked)")
    })?;
    if let Some(p) = map.get(&loc.conninfo) {
        return Ok(p.clone());
    }
    let mut config: postgres::Config = loc.conninfo.parse().map_err(|e| {
        Error::new(format!(
            "{}: not a PostgreSQL connection URL: {e}",
            loc.shown.display()
        ))
        .hint("write it as postgres://USER@HOST:PORT/DB?ledger=NAME")
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let mut first = config.connect(NoTls).map_err(|e| {
        Error::new(format!("{}: cannot connect: {e}", loc.shown.display()))
            .hint("check the URL, and that the PostgreSQL server is running and reachable")
    })?;
    migrate(&mut first, &loc.shown)?;
    let pool = r2d2::Pool::builder()
        .error_handler(Box::new(r2d2::NopErrorHandler))
        .max_size(loc.pool_max)
        .min_idle(Some(0))
        .idle_timeout(Some(Duration::from_secs(60)))
        .connection_timeout(POOL_WAIT)
        .build_unchecked(Manager::new(config, NoTls));
    map.insert(loc.conninfo.clone(), pool.clone());
    Ok(pool)
}

/// Apply the migrations this database lacks, in one transaction under the advisory lock
/// (two processes starting at once: the second waits, then finds them applied).
fn migrate(client: &mut Client, at: &Path) -> Result<()> {
    let err = |e: postgres::Error| db_err(at, &e);
    let mut tx = client.transaction().map_err(err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(err)?;
    tx.batch_execute(BOOTSTRAP_SQL).map_err(err)?;
    let done: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM vouch.migrations",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(err)?;
    if done > SCHEMA_VERSION {
        return Err(Error::new(format!(
            "{}: the database has vouch schema version {done}, newer than this vouch understands ({SCHEMA_VERSION})",
            at.display()
        ))
        .hint("upgrade vouch to use this database"));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > done) {
        tx.batch_execute(sql).map_err(err)?;
        tx.execute(
            "INSERT INTO vouch.migrations (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .map_err(err)?;
    }
    tx.commit().map_err(err)
}

/// One ledger in a PostgreSQL database, through one pooled connection.
pub(crate) struct Postgres {
    conn: RefCell<Pooled>,
    loc: Arc<Location>,
    pool: Pool,
    access: Access,
    /// A read snapshot (`begin_read`) is open on the connection.
    snapshot: Cell<bool>,
    /// [`Postgres::create_staged`]: the ledger's creation is an open transaction that the
    /// first write transaction continues.
    staged: Cell<bool>,
}

impl Postgres {
    /// Create a ledger (its head row and `meta` rows); refuses a name the database has.
    pub(crate) fn create(location: &str, meta: &[(&str, &str)]) -> Result<Self> {
        let store = Self::connect(location, Access::ReadWrite)?;
        store
            .with(|c| {
                let mut tx = c.transaction()?;
                let made = tx.execute(
                    "INSERT INTO vouch.ledgers (ledger_id) VALUES ($1) ON CONFLICT DO NOTHING",
                    &[&store.loc.ledger],
                )?;
                if made == 1 {
                    for (k, v) in meta {
                        tx.execute(
                            "INSERT INTO vouch.meta (ledger_id, key, value) VALUES ($1, $2, $3)",
                            &[&store.loc.ledger, k, v],
                        )?;
                    }
                    tx.commit()?;
                }
                Ok(made == 1)
            })
            .and_then(|made| {
                if made {
                    return Ok(());
                }
                Err(
                    Error::new(format!("{} already exists", store.path().display()))
                        .hint("refusing to overwrite a ledger; choose another ledger=NAME"),
                )
            })?;
        Ok(store)
    }

    /// Create a ledger whose creation lands with its first write transaction: the head row
    /// and `meta` rows are written in a transaction left open, which
    /// [`Engine::begin_write`] continues; nothing is visible to others until that commits,
    /// and dropping the handle before rolls the creation back. A second creation of the
    /// same name waits for the first to end, then is refused if it committed.
    pub(crate) fn create_staged(location: &str, meta: &[(&str, &str)]) -> Result<Self> {
        let store = Self::connect(location, Access::ReadWrite)?;
        store.with(|c| c.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED"))?;
        store.staged.set(true);
        let made = store.with(|c| {
            c.execute(
                "INSERT INTO vouch.ledgers (ledger_id) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&store.loc.ledger],
            )
        })?;
        if made != 1 {
            return Err(
                Error::new(format!("{} already exists", store.path().display()))
                    .hint("refusing to overwrite a ledger; choose another ledger=NAME"),
            );
        }
        for (k, v) in meta {
            store.with(|c| {
                c.execute(
                    "INSERT INTO vouch.meta (ledger_id, key, value) VALUES ($1, $2, $3)",
                    &[&store.loc.ledger, k, v],
                )
            })?;
        }
        Ok(store)
    }

    /// Whether the database has the ledger.
    pub(crate) fn exists(location: &str) -> Result<bool> {
        let store = Self::connect(location, Access::ReadOnly)?;
        let found = store.with(|c| {
            c.query_opt(
                "SELECT 1 FROM vouch.ledgers WHERE ledger_id = $1",
                &[&store.loc.ledger],
            )
        })?;
        Ok(found.is_some())
    }

    /// The names of the ledgers of the database at `url` (no `ledger=`), sorted; the
    /// migrations are applied first if the database lacks them.
    pub(crate) fn ledgers(url: &str) -> Result<Vec<String>> {
        let loc = Location::database(url)?;
        let pool = pool(&loc)?;
        let store = Self::on(pool, Arc::new(loc), Access::ReadOnly)?;
        store.with(|c| {
            c.query(
                "SELECT ledger_id FROM vouch.ledgers ORDER BY ledger_id",
                &[],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect()
        })
    }

    /// Open an existing ledger.
    pub(crate) fn open(location: &str, access: Access) -> Result<Self> {
        let store = Self::connect(location, access)?;
        let known = store.with(|c| {
            c.query_opt(
                "SELECT 1 FROM vouch.ledgers WHERE ledger_id = $1",
                &[&store.loc.ledger],
            )
        })?;
        if known.is_none() {
            return Err(
                Error::new(format!("no ledger at {}", store.path().display())).hint(format!(
                    "create it with `vouch init --ledger '{}'`, or check ledger=NAME",
                    store.path().display()
                )),
            );
        }
        Ok(store)
    }

    fn connect(location: &str, access: Access) -> Result<Self> {
        let loc = Location::parse(location)?;
        let pool = pool(&loc)?;
        Self::on(pool, Arc::new(loc), access)
    }

    /// A handle on `pool`'s database, with a connection of its own.
    fn on(pool: Pool, loc: Arc<Location>, access: Access) -> Result<Self> {
        let conn =
            pool.get().map_err(|e| {
                Error::new(format!("{}: no database connection: {e}", loc.shown.display())).hint(
                "the server may be down, or every connection of the pool busy (raise pool_max=N)",
            ).transient()
            })?;
        Ok(Self {
            conn: RefCell::new(conn),
            loc,
            pool,
            access,
            snapshot: Cell::new(false),
            staged: Cell::new(false),
        })
    }

    /// Run `f` on the connection, naming the ledger in errors.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Client) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut conn = self.conn.try_borrow_mut().map_err(|_| {
            Error::new(format!(
                "{}: the connection is already in use",
                self.path().display()
            ))
        })?;
        f(&mut conn).map_err(|e| db_err(&self.loc.shown, &e))
    }

    /// Query rows with the ledger as `$1` and `params` after it, mapping each.
    fn rows<T>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        map: impl Fn(&Row) -> std::result::Result<T, postgres::Error>,
    ) -> Result<Vec<T>> {
        self.with(|c| query_ledger(c, &self.loc.ledger, sql, params, map))
    }

    /// The first column of the one row a query returns.
    fn value<T: for<'a> postgres::types::FromSql<'a>>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<T> {
        let mut v = self.rows(sql, params, |r| r.try_get(0))?;
        v.pop()
            .ok_or_else(|| Error::new(format!("{}: no answer to a query", self.path().display())))
    }

    /// Whether table `vouch.NAME` is there (every table is in schema version 1).
    fn table_state(&self, name: &str) -> Result<Option<bool>> {
        let qualified = format!("vouch.{name}");
        let found: Option<Row> = self
            .with(|c| c.query_opt("SELECT 1 WHERE to_regclass($1) IS NOT NULL", &[&qualified]))?;
        Ok(Some(found.is_some()))
    }
}

/// Run `sql` with `ledger` as `$1` and `params` after it.
fn query_ledger<T>(
    c: &mut Client,
    ledger: &str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    map: impl Fn(&Row) -> std::result::Result<T, postgres::Error>,
) -> std::result::Result<Vec<T>, postgres::Error> {
    let mut all: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(params.len() + 1);
    all.push(&ledger);
    all.extend_from_slice(params);
    c.query(sql, &all)?.iter().map(map).collect()
}

fn row_to_entry(r: &Row) -> std::result::Result<EntryRow, postgres::Error> {
    Ok(EntryRow {
        seq: r.try_get(0)?,
        body: r.try_get(1)?,
        signature: r.try_get(2)?,
        payload: r.try_get(3)?,
        hash: r.try_get(4)?,
        time: r.try_get(5)?,
        kind: r.try_get(6)?,
        signer: r.try_get(7)?,
        item: r.try_get(8)?,
    })
}

fn row_to_party(r: &Row) -> std::result::Result<PartyRow, postgres::Error> {
    Ok(PartyRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        role: r.try_get(2)?,
        seq: r.try_get(3)?,
    })
}

fn row_to_key(r: &Row) -> std::result::Result<KeyRow, postgres::Error> {
    Ok(KeyRow {
        fingerprint: r.try_get(0)?,
        party: r.try_get(1)?,
        public_key: r.try_get(2)?,
        seq: r.try_get(3)?,
    })
}

fn row_to_key_event(r: &Row) -> std::result::Result<KeyEventRow, postgres::Error> {
    Ok(KeyEventRow {
        seq: r.try_get(0)?,
        fingerprint: r.try_get(1)?,
        event: r.try_get(2)?,
        since: r.try_get(3)?,
    })
}

/// A row limit as the database takes it.
fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl Drop for Postgres {
    /// A connection goes back to the pool outside any transaction.
    fn drop(&mut self) {
        if self.snapshot.get() || self.staged.get() {
            let _ = self.conn.get_mut().batch_execute("ROLLBACK");
        }
    }
}

impl Engine for Postgres {
    /// The location, without a password.
    fn path(&self) -> &Path {
        &self.loc.shown
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        let sql = "SELECT value FROM vouch.meta WHERE ledger_id = $1 AND key = $2";
        Ok(self.rows(sql, &[&key], |r| r.try_get(0))?.pop())
    }

    fn meta_keys(&self) -> Result<Vec<String>> {
        let sql = "SELECT key FROM vouch.meta WHERE ledger_id = $1 ORDER BY key";
        self.rows(sql, &[], |r| r.try_get(0))
    }

    fn count(&self) -> Result<(i64, i64)> {
        let sql = "SELECT count(*), coalesce(max(seq), 0) FROM vouch.entries WHERE ledger_id = $1";
        let mut v = self.rows(sql, &[], |r| Ok((r.try_get(0)?, r.try_get(1)?)))?;
        Ok(v.pop().unwrap_or((0, 0)))
    }

    fn max_seq(&self) -> Result<i64> {
        self.value(
            "SELECT coalesce(max(seq), 0) FROM vouch.entries WHERE ledger_id = $1",
            &[],
        )
    }

    fn entry(&self, seq: i64) -> Result<Option<EntryRow>> {
        let sql =
            format!("SELECT {ENTRY_COLUMNS} FROM vouch.entries WHERE ledger_id = $1 AND seq = $2");
        Ok(self.rows(&sql, &[&seq], row_to_entry)?.pop())
    }

    fn entries_after(&self, after: i64, limit: usize) -> Result<Vec<EntryRow>> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM vouch.entries WHERE ledger_id = $1 AND seq > $2
             ORDER BY seq LIMIT $3"
        );
        self.rows(&sql, &[&after, &limit_of(limit)], row_to_entry)
    }

    fn entries_of_kind(&self, kind: &str) -> Result<Vec<EntryRow>> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM vouch.entries WHERE ledger_id = $1 AND kind = $2
             ORDER BY seq"
        );
        self.rows(&sql, &[&kind], row_to_entry)
    }

    fn evidence_after(&self, after: i64, since: &str, limit: usize) -> Result<Vec<SignedRow>> {
        let sql = "SELECT seq, body, payload FROM vouch.entries
             WHERE ledger_id = $1 AND seq > $2 AND kind = 'evidence' AND time >= $3
             ORDER BY seq LIMIT $4";
        self.rows(sql, &[&after, &since, &limit_of(limit)], |r| {
            Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
        })
    }

    /// A REPEATABLE READ, READ ONLY transaction, held until the handle is dropped.
    fn begin_read(&self) -> Result<()> {
        if self.snapshot.get() {
            return Ok(());
        }
        self.with(|c| {
            c.batch_execute(
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
                 SELECT 1 FROM vouch.ledgers LIMIT 1;",
            )
        })?;
        self.snapshot.set(true);
        Ok(())
    }

    fn layout(&self) -> Result<Layout> {
        layout::layout(self)
    }

    fn lookup_range(&self, lookup: Lookup, key: &str, after: i64, last: i64) -> Result<Vec<i64>> {
        layout::lookup_range(self, lookup, key, after, last)
    }

    fn lookup_len(&self, lookup: Lookup) -> Result<i64> {
        layout::lookup_len(self, lookup)
    }

    fn lookup_strays(&self, lookup: Lookup, limit: usize) -> Result<Vec<(i64, String)>> {
        layout::lookup_strays(self, lookup, limit)
    }

    fn parties(&self) -> Result<Vec<PartyRow>> {
        let sql = "SELECT id, name, role, seq FROM vouch.parties WHERE ledger_id = $1
                   ORDER BY seq, id";
        self.rows(sql, &[], row_to_party)
    }

    fn keys(&self) -> Result<Vec<KeyRow>> {
        let sql = "SELECT fingerprint, party, public_key, seq FROM vouch.keys
                   WHERE ledger_id = $1 ORDER BY seq, fingerprint";
        self.rows(sql, &[], row_to_key)
    }

    fn key_events_table(&self) -> Result<Option<bool>> {
        self.table_state("key_events")
    }

    fn key_events(&self) -> Result<Vec<KeyEventRow>> {
        let sql = "SELECT seq, fingerprint, event, since FROM vouch.key_events
                   WHERE ledger_id = $1 ORDER BY seq";
        self.rows(sql, &[], row_to_key_event)
    }

    /// The chunks in order, streamed (never the whole content in memory).
    fn read_artifact(
        &self,
        sha256: &str,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<(i64, u64)>> {
        let sql = "SELECT size FROM vouch.artifacts WHERE ledger_id = $1 AND sha256 = $2";
        let Some(size) = self
            .rows(sql, &[&sha256], |r| r.try_get::<_, i64>(0))?
            .pop()
        else {
            return Ok(None);
        };
        let ledger = self.loc.ledger.as_str();
        let total = self.with(|c| {
            let params: [&dyn ToSql; 2] = [&ledger, &sha256];
            let mut rows = c.query_raw(
                "SELECT data FROM vouch.artifact_chunks WHERE ledger_id = $1 AND sha256 = $2
                 ORDER BY n",
                params,
            )?;
            let mut total = 0u64;
            while let Some(row) = rows.next()? {
                let data: &[u8] = row.try_get(0)?;
                total += data.len() as u64;
                sink(data);
            }
            Ok(total)
        })?;
        Ok(Some((size, total)))
    }

    fn merkle_table(&self) -> Result<Option<bool>> {
        self.table_state("merkle_nodes")
    }

    fn merkle_nodes_completed(&self, after: i64, last: i64) -> Result<Vec<NodeRow>> {
        merkle_nodes::completed(self, after, last)
    }

    fn merkle_stray_nodes(&self, size: i64, limit: usize) -> Result<Vec<NodeRow>> {
        merkle_nodes::strays(self, size, limit)
    }

    /// A READ COMMITTED transaction that first locks the ledger's head row: writers of one
    /// ledger queue there, in any process; later statements see what the previous writer
    /// committed.
    fn begin_write(&mut self) -> Result<Box<dyn Txn + '_>> {
        if self.access == Access::ReadOnly {
            return Err(Error::new(format!(
                "{}: this handle on the ledger is read-only",
                self.path().display()
            )));
        }
        if self.snapshot.replace(false) {
            self.with(|c| c.batch_execute("ROLLBACK"))?;
        }
        // A staged creation's transaction becomes this one (committed or rolled back
        // with it).
        let continued = self.staged.replace(false);
        txn::PgTxn::begin(self, continued).map(|t| Box::new(t) as Box<dyn Txn + '_>)
    }

    fn reopen(&self) -> Result<Box<dyn Engine>> {
        let again = Self::on(self.pool.clone(), Arc::clone(&self.loc), Access::ReadOnly)?;
        Ok(Box::new(again))
    }
}
