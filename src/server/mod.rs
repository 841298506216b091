//! `vouch serve`: the server of the sharing protocol (`schema/PROTOCOL.md`).
//!
//! It hosts many ledgers in one directory, each `DIR/<ledger id>.db` in exactly the local
//! format (copy one out and `vouch verify` it), or in one PostgreSQL database, each the
//! ledger named by its id there ([`Hosting`]); one code path serves both, a ledger being a
//! location the storage seam opens. It never signs anything: it authenticates
//! requests (§3), sequences appends through [`crate::ledger::extend`], which judges them
//! with the verifier of `vouch verify`, and serves what the parties signed.
//!
//! Parts: `handlers` (the resources of §5), `auth` (§3), `body` (the limits of §2),
//! `problem` (the errors of §4), `listen` (the accept loop: TLS, timeouts, shutdown) and
//! `import` (moving ledger files into a database).
//! The library never prints: what the server does is told to a [`Log`] the caller passes.

mod auth;
mod body;
mod handlers;
mod import;
mod listen;
pub mod problem;
pub mod witness;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::http::request::Parts;

use crate::bundle::BundleEntry;
use crate::crypto::{Fingerprint, PublicKey, SecretKey};
use crate::error::{Error, Result};
use crate::ledger::extend::{self, ExtendOptions, Extended, Refusal};
use crate::ledger::verify::Resume;
use crate::protocol::replay::MemoryNonces;

pub use import::{Imported, import};

pub use body::{
    BODY_STALL, HEADER_TIMEOUT, MAX_APPEND, MAX_ARTIFACT, MAX_ENTRIES, MAX_HEADERS, MAX_JSON,
    MAX_LINE, MAX_UPLOAD,
};

/// Where the server tells what it does (one line per event).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// Where the ledgers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hosting {
    /// A directory of ledger files, `DIR/<ledger id>.db`.
    Directory(PathBuf),
    /// A PostgreSQL database (`postgres://USER@HOST:PORT/DB[?pool_max=N]`): ledger `ID` is
    /// the ledger named `ID` there.
    Database(String),
}

/// Connections a write holds at once: its transaction and two readers of the committed
/// rows (`ledger::extend`). A database's pool must have at least this many.
const WRITE_CONNECTIONS: u32 = 3;

/// The database pool's size unless the URL says `pool_max=N` (the engine's default).
const DEFAULT_POOL_MAX: u32 = 10;

impl Hosting {
    /// The location of ledger `id`: a file path, or the database URL naming the ledger.
    fn location(&self, id: &str) -> PathBuf {
        match self {
            Hosting::Directory(d) => d.join(format!("{id}.db")),
            Hosting::Database(url) => {
                let sep = if url.contains('?') { '&' } else { '?' };
                PathBuf::from(format!("{url}{sep}ledger={id}"))
            }
        }
    }

    /// The connections the server may hold at once (`None`: no limit).
    fn connections(&self) -> Option<u32> {
        let Hosting::Database(url) = self else {
            return None;
        };
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let n = query
            .split('&')
            .find_map(|p| p.strip_prefix("pool_max="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_POOL_MAX);
        Some(n)
    }

    /// What the startup line says: the directory, or the database without a password.
    pub fn shown(&self) -> String {
        match self {
            Hosting::Directory(d) => d.display().to_string(),
            Hosting::Database(url) => redact(url),
        }
    }
}

/// A URL without the password of its user part or a `password=` parameter.
fn redact(url: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let mut out = match base
        .split_once("://")
        .and_then(|(s, r)| Some((s, r.split_once('@')?)))
    {
        Some((scheme, (user, host))) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{scheme}://{user}@{host}")
        }
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

/// How to serve.
#[derive(Clone)]
pub struct Config {
    /// Where the ledgers are.
    pub hosting: Hosting,
    /// Where to listen.
    pub listen: SocketAddr,
    /// TLS certificate chain and private key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Keys that may create ledgers.
    pub admins: Vec<PublicKey>,
    /// The URL clients reach the server at (`None`: the scheme and the bound address).
    pub public_url: Option<String>,
    /// The server's own key (`--key`): it signs checkpoints (receipts, §11); `None`: no
    /// receipts, checkpoints, cosignatures or tiles.
    pub key: Option<Arc<SecretKey>>,
    /// The clock ledger time is judged against (`None`: the wall clock). Only a server
    /// inside a simulation sets it — `vouch demo --serve` runs its server on the story's
    /// clock; request signatures are always judged against the wall clock.
    pub ledger_clock: Option<LedgerClock>,
}

/// A clock for ledger time (see [`Config::ledger_clock`]).
pub type LedgerClock = Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;

/// The server is listening.
#[derive(Debug, Clone)]
pub struct Ready {
    /// The bound address (the port chosen when asked for port 0).
    pub addr: SocketAddr,
    /// The public URL requests are signed for.
    pub url: String,
    /// Ledgers served (files in the directory, or ledgers in the database).
    pub ledgers: usize,
}

/// The state the handlers share.
pub(crate) struct App {
    hosting: Hosting,
    /// Where request bodies are spooled (the data directory, or the system's temporary
    /// directory).
    spool: PathBuf,
    /// With a database: one permit per connection of the pool, so that requests wait
    /// here, in turn, rather than each holding some connections while waiting for more.
    connections: Option<Arc<tokio::sync::Semaphore>>,
    admins: HashMap<Fingerprint, PublicKey>,
    public_url: String,
    replay: Mutex<MemoryNonces>,
    /// Per ledger: the write lock, guarding the walk's state at the ledger's head (so an
    /// append walks only its own entries, `extend::extend_resuming`).
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Resume>>>>>,
    log: Log,
    /// The server's key, signing its checkpoints (§11).
    key: Option<Arc<SecretKey>>,
    ledger_clock: Option<LedgerClock>,
}

impl App {
    /// The location of ledger `id` (a file, or a ledger in the database), if `id` is a
    /// ledger id (32 lowercase hex).
    fn ledger_path(&self, id: &str) -> Option<PathBuf> {
        is_ledger_id(id).then(|| self.hosting.location(id))
    }

    /// Run `f`, which holds up to `connections` database connections at once, on the
    /// blocking pool, once that many of the pool's connections are free.
    async fn store_work<T: Send + 'static>(
        &self,
        connections: u32,
        f: impl FnOnce() -> std::result::Result<T, problem::Problem> + Send + 'static,
    ) -> std::result::Result<T, problem::Problem> {
        let _permits = match &self.connections {
            Some(s) => Some(
                Arc::clone(s)
                    .acquire_many_owned(connections)
                    .await
                    .map_err(|_| {
                        problem::Problem::internal(&Error::new("the server is shutting down"))
                    })?,
            ),
            None => None,
        };
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| problem::Problem::internal(&Error::new(format!("internal error: {e}"))))?
    }

    /// The absolute URI a request was signed for: the public URL and the request line's
    /// path and query, byte for byte (§3).
    fn target_uri(&self, parts: &Parts) -> String {
        let pq = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path(), |p| p.as_str());
        format!("{}{pq}", self.public_url)
    }

    /// Now, for judging ledger time ([`Config::ledger_clock`]).
    fn ledger_now(&self) -> chrono::DateTime<chrono::Utc> {
        self.ledger_clock
            .as_ref()
            .map_or_else(crate::clock::now, |c| c())
    }

    /// The write lock of ledger `id`.
    fn lock(&self, id: &str) -> Arc<tokio::sync::Mutex<Option<Resume>>> {
        let mut locks = self
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(locks.entry(id.to_string()).or_default())
    }

    fn log(&self, line: &str) {
        (self.log)(line);
    }

    /// Create ledger `id` from `entries` (verified in full), nothing visible before
    /// everything verified: a file is written under a temporary name and renamed into
    /// place; in a database, the ledger row and its entries land in one transaction. The
    /// caller holds the ledger's lock (this process's; another server on the same database
    /// creating the same ledger waits for the row, then finds it there).
    fn create_ledger(
        &self,
        id: &str,
        entries: Vec<std::result::Result<BundleEntry, Refusal>>,
        documents: Vec<Vec<u8>>,
        max_past: Option<chrono::Duration>,
    ) -> std::result::Result<Extended, problem::Problem> {
        use problem::Problem;
        let Some(path) = self.ledger_path(id) else {
            return Err(Problem::bad_request(&Error::new(format!(
                "{id:?} is not a ledger id"
            ))));
        };
        let exists = || {
            Problem::new(
                409,
                "exists",
                &Error::new(format!("ledger {id} exists on this server"))
                    .hint("append to it, or choose another ledger id"),
            )
        };
        if extend::exists(&path).map_err(|e| Problem::internal(&e))? {
            return Err(exists());
        }
        let opts = ExtendOptions {
            now: self.ledger_now(),
            require_artifacts: false,
            documents,
            max_past,
        };
        let Hosting::Directory(data) = &self.hosting else {
            return extend::create(&path, entries, &opts, &mut None).map_err(|r| {
                // Another server created it meanwhile: the insert found its row.
                match extend::exists(&path) {
                    Ok(true) if !matches!(r, Refusal::Rejected { .. }) => exists(),
                    _ => refused(r),
                }
            });
        };
        let dir = tempfile::Builder::new()
            .prefix(".creating-")
            .tempdir_in(data)
            .map_err(|e| Problem::internal(&Error::io(data, &e)))?;
        let tmp = dir.path().join(format!("{id}.db"));
        let e = extend::create(&tmp, entries, &opts, &mut None).map_err(refused)?;
        std::fs::rename(&tmp, &path).map_err(|e| Problem::internal(&Error::io(&path, &e)))?;
        Ok(e)
    }
}

/// Whether `id` is a ledger id (32 lowercase hex digits).
fn is_ledger_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The answer to a refusal (§4).
fn refused(r: Refusal) -> problem::Problem {
    use problem::Problem;
    use serde_json::json;
    match r {
        Refusal::HeadMoved(h) => Problem::head_moved(h),
        Refusal::Rejected { seq, error } => {
            Problem::new(422, "rejected", &error).with("entry", json!(seq))
        }
        Refusal::Malformed(e) => Problem::bad_request(&e),
        Refusal::Failed(e) => Problem::internal(&e),
    }
}

/// Whether `addr` is a loopback address (plain HTTP is allowed only there, §2).
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Check the configuration before anything is bound: the data directory exists (or the
/// database URL is one, its pool large enough), and a non-loopback address has TLS.
///
/// # Errors
///
/// What is wrong, with a hint.
pub fn check(config: &Config) -> Result<()> {
    match &config.hosting {
        Hosting::Directory(data) if !data.is_dir() => {
            return Err(
                Error::new(format!("{}: not a directory", data.display())).hint(
                    "create the data directory first (mkdir), or name an existing one with --data",
                ),
            );
        }
        Hosting::Directory(_) => {}
        Hosting::Database(url) => {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(Error::new(format!(
                    "--database {}: not a postgres:// URL",
                    redact(url)
                ))
                .hint("for example --database postgres://vouch@db.internal:5432/vouch"));
            }
            if config
                .hosting
                .connections()
                .is_some_and(|n| n < WRITE_CONNECTIONS)
            {
                return Err(Error::new(format!(
                    "--database {}: pool_max is below {WRITE_CONNECTIONS}, the connections one append holds",
                    redact(url)
                ))
                .hint(format!("give pool_max={WRITE_CONNECTIONS} or more (default {DEFAULT_POOL_MAX})")));
            }
        }
    }
    if config.tls.is_none() && !is_loopback(&config.listen) {
        return Err(Error::new(format!(
            "--listen {}: plain HTTP is allowed only on a loopback address (127.0.0.0/8, ::1)",
            config.listen
        ))
        .hint("give --tls-cert FILE --tls-key FILE, or listen on 127.0.0.1 behind a TLS reverse proxy"));
    }
    if let Some(u) = &config.public_url {
        let ok = (u.starts_with("https://") || u.starts_with("http://"))
            && !u.ends_with('/')
            && u.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(Error::new(format!("--public-url {u:?}: not an http(s) URL without a trailing slash"))
                .hint("for example --public-url https://vouch.example.net (requests are signed for this URL followed by the path)"));
        }
    }
    Ok(())
}

/// The ledgers served: files named `<ledger id>.db`, or ledgers of the database named by
/// a ledger id (connecting to the database, and migrating it, at start-up).
fn count_ledgers(hosting: &Hosting) -> Result<usize> {
    let dir = match hosting {
        Hosting::Database(url) => {
            let names = extend::database_ledgers(url)?;
            return Ok(names.iter().filter(|n| is_ledger_id(n)).count());
        }
        Hosting::Directory(dir) => dir,
    };
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, &e))?;
    Ok(rd
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.strip_suffix(".db").is_some_and(is_ledger_id)
        })
        .count())
}

/// Serve until SIGTERM or ctrl-c; `ready` is called once listening.
///
/// # Errors
///
/// A bad configuration, an address that cannot be bound, unreadable TLS files.
pub fn serve(config: Config, ready: impl FnOnce(&Ready), log: Log) -> Result<()> {
    check(&config)?;
    let tls = match &config.tls {
        Some((cert, key)) => Some(listen::tls_config(cert, key)?),
        None => None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start the server's runtime: {e}")))?;
    // A database is reached (and migrated) before the port is bound: a wrong URL or a
    // stopped database is said at once.
    let ledgers = count_ledgers(&config.hosting)?;
    let spool = match &config.hosting {
        Hosting::Directory(d) => d.clone(),
        Hosting::Database(_) => std::env::temp_dir(),
    };
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| {
                Error::new(format!("--listen {}: {e}", config.listen))
                    .hint("choose a free address and port (port 0: any free port)")
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::new(format!("--listen {}: {e}", config.listen)))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{addr}"));
        let app = Arc::new(App {
            hosting: config.hosting.clone(),
            spool,
            connections: config
                .hosting
                .connections()
                .map(|n| Arc::new(tokio::sync::Semaphore::new(n as usize))),
            admins: config
                .admins
                .iter()
                .map(|k| (k.fingerprint(), *k))
                .collect(),
            public_url: url.clone(),
            replay: Mutex::new(MemoryNonces::default()),
            locks: Mutex::default(),
            log: Arc::clone(&log),
            key: config.key.clone(),
            ledger_clock: config.ledger_clock.clone(),
        });
        ready(&Ready { addr, url, ledgers });
        listen::accept_loop(listener, tls, handlers::router(app), log).await;
        Ok(())
    })
}
