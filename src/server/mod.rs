//! `vouch serve`: the server of the sharing protocol (`schema/PROTOCOL.md`).
//!
//! It hosts many ledgers in one directory, each `DIR/<ledger id>.db` in exactly the local
//! format (copy one out and `vouch verify` it), and never signs anything: it authenticates
//! requests (§3), sequences appends through [`crate::ledger::extend`], which judges them
//! with the verifier of `vouch verify`, and serves what the parties signed.
//!
//! Parts: `handlers` (the resources of §5), `auth` (§3), `body` (the limits of §2),
//! `problem` (the errors of §4) and `listen` (the accept loop: TLS, timeouts, shutdown).
//! The library never prints: what the server does is told to a [`Log`] the caller passes.

mod auth;
mod body;
mod handlers;
mod listen;
pub mod problem;
pub mod witness;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::http::request::Parts;

use crate::bundle::BundleEntry;
use crate::crypto::{Fingerprint, PublicKey, SecretKey};
use crate::error::{Error, Result};
use crate::ledger::extend::{self, ExtendOptions, Extended, Refusal};
use crate::ledger::verify::Resume;
use crate::protocol::replay::MemoryNonces;

pub use body::{
    BODY_STALL, HEADER_TIMEOUT, MAX_ARTIFACT, MAX_ENTRIES, MAX_HEADERS, MAX_JSON, MAX_LINE,
    MAX_UPLOAD,
};

/// Where the server tells what it does (one line per event).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// How to serve.
#[derive(Clone)]
pub struct Config {
    /// The directory of ledger files.
    pub data: PathBuf,
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
}

/// The server is listening.
#[derive(Debug, Clone)]
pub struct Ready {
    /// The bound address (the port chosen when asked for port 0).
    pub addr: SocketAddr,
    /// The public URL requests are signed for.
    pub url: String,
    /// Ledgers in the data directory.
    pub ledgers: usize,
}

/// The state the handlers share.
pub(crate) struct App {
    data: PathBuf,
    admins: HashMap<Fingerprint, PublicKey>,
    public_url: String,
    replay: Mutex<MemoryNonces>,
    /// Per ledger: the write lock, guarding the walk's state at the ledger's head (so an
    /// append walks only its own entries, `extend::extend_resuming`).
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Resume>>>>>,
    log: Log,
    /// The server's key, signing its checkpoints (§11).
    key: Option<Arc<SecretKey>>,
}

impl App {
    /// The file of ledger `id`, if `id` is a ledger id (32 lowercase hex).
    fn ledger_path(&self, id: &str) -> Option<PathBuf> {
        let ok = id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| self.data.join(format!("{id}.db")))
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

    /// Create ledger `id` from `entries` (verified in full) in a temporary file, renamed
    /// into place once everything verified: nothing is visible before. The caller holds
    /// the ledger's lock.
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
        if path.exists() {
            return Err(Problem::new(
                409,
                "exists",
                &Error::new(format!("ledger {id} exists on this server"))
                    .hint("append to it, or choose another ledger id"),
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix(".creating-")
            .tempdir_in(&self.data)
            .map_err(|e| Problem::internal(&Error::io(&self.data, &e)))?;
        let tmp = dir.path().join(format!("{id}.db"));
        let opts = ExtendOptions {
            now: crate::clock::now(),
            require_artifacts: false,
            documents,
            max_past,
        };
        let e = extend::create(&tmp, entries, &opts, &mut None).map_err(refused)?;
        std::fs::rename(&tmp, &path).map_err(|e| Problem::internal(&Error::io(&path, &e)))?;
        Ok(e)
    }
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

/// Check the configuration before anything is bound: the data directory exists, and a
/// non-loopback address has TLS.
///
/// # Errors
///
/// What is wrong, with a hint.
pub fn check(config: &Config) -> Result<()> {
    if !config.data.is_dir() {
        return Err(
            Error::new(format!("{}: not a directory", config.data.display())).hint(
                "create the data directory first (mkdir), or name an existing one with --data",
            ),
        );
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

/// Ledgers in `dir` (files named `<ledger id>.db`).
fn count_ledgers(dir: &Path) -> Result<usize> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, &e))?;
    Ok(rd
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.strip_suffix(".db")
                .is_some_and(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
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
            data: config.data.clone(),
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
        });
        ready(&Ready {
            addr,
            url,
            ledgers: count_ledgers(&config.data)?,
        });
        listen::accept_loop(listener, tls, handlers::router(app), log).await;
        Ok(())
    })
}
