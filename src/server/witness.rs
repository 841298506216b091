//! The host witnessed (`schema/PROTOCOL.md` §11): the server's signed checkpoints
//! (receipts), the parties' cosignatures of them, consistency proofs, and the ledger's
//! C2SP tlog-tiles.
//!
//! With `--key`, the server signs, after every write that grew a ledger, a checkpoint of its
//! new size (`FORMAT.md` §13) with two lines by its key: the log signature (Ed25519, type
//! `0x01`, key name = the origin) that standard clients verify, and a C2SP tlog-cosignature
//! (type `0x04`, same name) that binds it to the server's clock. That note is the write's
//! receipt. It is kept outside the ledger file, which stays exactly the local format:
//!
//! ```text
//! DIR/<ledger id>.witness/checkpoint              the newest server checkpoint, with every
//!                                                 cosignature made on it (GET …/checkpoint)
//! DIR/<ledger id>.witness/cosigned/<fingerprint>  per cosigning key: the newest checkpoint
//!                                                 it cosigned (the server's lines and its own)
//! ```
//!
//! Each file is written whole to a temporary file in the same directory and renamed over
//! the old one, under the ledger's write lock. A missing or stale `checkpoint` (another size
//! or root than the ledger's) is signed anew when next needed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::App;
use super::auth;
use super::body::{self, MAX_JSON};
use super::problem::Problem;
use crate::crypto::{PublicKey, SecretKey, base64_encode};
use crate::error::Error;
use crate::format::checkpoint::{
    Checkpoint, MAX_NOTE_BYTES, Note, NoteSignature, Verifier, vouch_checkpoint, vouch_origin,
    vouch_verifier,
};
use crate::format::cosignature::{self, AddCheckpoint, Cosigner, Refusal};
use crate::format::entry::LedgerId;
use crate::format::tiles::Tile;
use crate::ledger::{Access, Ledger};

/// The routes of §11, merged into the router of `handlers`.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/ledgers/{id}/checkpoint", get(checkpoint))
        .route("/v1/ledgers/{id}/cosignatures", post(cosignatures))
        .route("/v1/ledgers/{id}/proof/consistency", get(consistency))
        .route("/v1/ledgers/{id}/tile/{*tile}", get(tile))
}

type Answer = Result<Response, Problem>;

/// The server's verifier key (vkey, type `0x01`) for `ledger`: what standard clients pin.
pub fn log_verifier(ledger: &LedgerId, key: &PublicKey) -> Verifier {
    vouch_verifier(ledger, key)
}

/// The server's clock line's cosigner (type `0x04`, name = the origin) for `ledger`.
///
/// # Errors
///
/// None in practice (the origin is a valid key name).
pub fn clock_cosigner(ledger: &LedgerId, key: &PublicKey) -> crate::Result<Cosigner> {
    Cosigner::from_public(&vouch_origin(ledger), key)
}

/// Sign the checkpoint of `size` entries with root `root` at `now`: the log line, then the
/// clock line.
///
/// # Errors
///
/// A time before 1970.
pub fn sign_checkpoint(
    ledger: &LedgerId,
    size: u64,
    root: [u8; 32],
    key: &SecretKey,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::Result<Note> {
    let cp = vouch_checkpoint(ledger, size, root);
    let mut note = cp.sign(&cp.origin, key)?;
    let clock = cosignature::cosign(&note.text, &cp.origin, key, now)?;
    note.add_signature(clock)?;
    Ok(note)
}

/// The server's own state of ledger `id`, beside its file. (With `--database` the server
/// has no key — `vouch serve` refuses `--key` there — so no state is written; the spool
/// directory only keeps this total.)
fn sidecar(app: &App, id: &str) -> PathBuf {
    let dir = match &app.hosting {
        super::Hosting::Directory(d) => d,
        super::Hosting::Database(_) => &app.spool,
    };
    dir.join(format!("{id}.witness"))
}

/// Write `bytes` to `dir/name` whole: a temporary file in `dir`, renamed over the old one.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> crate::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    let mut f = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, &e))?;
    f.write_all(bytes)
        .and_then(|()| f.as_file().sync_all())
        .map_err(|e| Error::io(f.path(), &e))?;
    let to = dir.join(name);
    f.persist(&to).map_err(|e| Error::io(&to, &e.error))?;
    Ok(())
}

/// A stored note, if the file exists and parses.
fn read_note(path: &Path) -> Option<Note> {
    let text = std::fs::read_to_string(path).ok()?;
    Note::parse(&text).ok()
}

/// The newest server checkpoint of ledger `id` (file `path`): the stored one when it is of
/// the ledger's size and root and signed by the server's key, else a new one, stored. The
/// caller holds the ledger's write lock. `None`: the server has no key.
pub(super) fn current(app: &App, id: &str, path: &Path) -> Result<Option<Note>, Problem> {
    let Some(key) = app.key.as_deref() else {
        return Ok(None);
    };
    let internal = |e: Error| Problem::internal(&e);
    let ledger_id = LedgerId::parse(id).ok_or_else(|| Problem::not_found(id))?;
    let l = Ledger::open(path, Access::ReadOnly).map_err(internal)?;
    let size = l.size().map_err(internal)?;
    let root = l.merkle_root(size).map_err(internal)?;
    let dir = sidecar(app, id);
    let v = log_verifier(&ledger_id, &key.public());
    if let Some(n) = read_note(&dir.join("checkpoint"))
        && let Ok(cp) = Checkpoint::parse_vouch(&n.text, &ledger_id)
        && cp.size == size
        && cp.root == root
        && n.verify(std::slice::from_ref(&v)).is_ok()
    {
        return Ok(Some(n));
    }
    let note =
        sign_checkpoint(&ledger_id, size, root, key, crate::clock::now()).map_err(internal)?;
    write_atomic(&dir, "checkpoint", note.to_string().as_bytes()).map_err(internal)?;
    Ok(Some(note))
}

/// The newest checkpoint under the ledger's lock, or 404 when the server has no key.
async fn newest(app: &Arc<App>, id: &str) -> Result<(Note, PathBuf), Problem> {
    let path = app.ledger_path(id).ok_or_else(|| Problem::not_found(id))?;
    let lock = app.lock(id);
    let _guard = lock.lock().await;
    let (app2, id2, path2) = (Arc::clone(app), id.to_string(), path.clone());
    let note = super::handlers::blocking(move || current(&app2, &id2, &path2)).await?;
    let note = note.ok_or_else(|| {
        Problem::new(
            404,
            "not-found",
            &Error::new("this server signs no checkpoints: it was started without --key")
                .hint("start vouch serve with --key FILE.key (schema/PROTOCOL.md section 11)"),
        )
    })?;
    Ok((note, path))
}

fn text_response(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Authenticate a bodiless request by a party of ledger `id`.
async fn party(app: &App, id: &str, req: Request) -> Result<axum::http::request::Parts, Problem> {
    let (parts, body) = req.into_parts();
    let (_, digest) = body::to_memory(body, &parts.headers, "the body", MAX_JSON).await?;
    auth::party(app, id, &parts, &digest).await?;
    Ok(parts)
}

/// `GET …/checkpoint`: the newest server checkpoint with its cosignatures (text/plain).
async fn checkpoint(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    req: Request,
) -> Answer {
    party(&app, &id, req).await?;
    let (note, _) = newest(&app, &id).await?;
    let mut r = text_response(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        note.to_string().into_bytes(),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// `from` and `to` of `GET …/proof/consistency`.
fn proof_query(query: Option<&str>) -> Result<(u64, u64), Problem> {
    let (mut from, mut to) = (None, None);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let n = v
            .parse::<u64>()
            .ok()
            .filter(|_| v == "0" || !v.starts_with('0'));
        let bad = |what: &str| {
            Problem::bad_request(&Error::new(format!("query parameter {k}: {what}")))
                .with("pointer", json!(format!("?{k}")))
        };
        match k {
            "from" => from = Some(n.ok_or_else(|| bad("not a whole number"))?),
            "to" => to = Some(n.ok_or_else(|| bad("not a whole number"))?),
            _ => return Err(bad("unknown (from and to are)")),
        }
    }
    match (from, to) {
        (Some(f), Some(t)) if f <= t => Ok((f, t)),
        (Some(f), Some(t)) => Err(Problem::bad_request(&Error::new(format!(
            "from {f} is larger than to {t}"
        )))),
        _ => Err(Problem::bad_request(
            &Error::new("from and to are both needed").hint("GET …/proof/consistency?from=M&to=N"),
        )),
    }
}

/// `GET …/proof/consistency?from=M&to=N`: the proof, one base64 hash a line.
async fn consistency(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    req: Request,
) -> Answer {
    let parts = party(&app, &id, req).await?;
    let (from, to) = proof_query(parts.uri.query())?;
    let (note, path) = newest(&app, &id).await?;
    let size = Checkpoint::from_note(&note).map_or(0, |c| c.size);
    if to > size {
        return Err(Problem::new(
            404,
            "not-found",
            &Error::new(format!(
                "to {to} is beyond the server's newest checkpoint (size {size})"
            ))
            .hint("read GET …/checkpoint first"),
        ));
    }
    let proof = super::handlers::blocking(move || {
        let l = Ledger::open(&path, Access::ReadOnly).map_err(|e| Problem::internal(&e))?;
        l.consistency_proof(from, to)
            .map_err(|e| Problem::internal(&e))
    })
    .await?;
    let text: String = proof
        .iter()
        .map(|h| format!("{}\n", base64_encode(h)))
        .collect();
    Ok(text_response(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        text.into_bytes(),
    ))
}

/// `GET …/tile/<L>/<N>[.p/<W>]` and `…/tile/entries/<N>[.p/<W>]` (C2SP tlog-tiles) of the
/// tree of the newest server checkpoint; 404 for any other path or a tile beyond it.
async fn tile(
    State(app): State<Arc<App>>,
    UrlPath((id, rest)): UrlPath<(String, String)>,
    req: Request,
) -> Answer {
    party(&app, &id, req).await?;
    let t = Tile::parse(&format!("tile/{rest}")).map_err(|e| Problem::new(404, "not-found", &e))?;
    let (note, path) = newest(&app, &id).await?;
    let size = Checkpoint::from_note(&note).map_or(0, |c| c.size);
    let bytes = super::handlers::blocking(move || {
        let l = Ledger::open(&path, Access::ReadOnly).map_err(|e| Problem::internal(&e))?;
        l.tile(&t, size).map_err(|e| Problem::internal(&e))
    })
    .await?
    .ok_or_else(|| {
        Problem::new(
            404,
            "not-found",
            &Error::new(format!(
                "tile/{rest} is not a tile of the tree of the server's newest checkpoint (size {size})"
            ))
            .hint("tiles exist up to the size of GET …/checkpoint"),
        )
    })?;
    let mut r = text_response(StatusCode::OK, "application/octet-stream", bytes);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    Ok(r)
}

/// The answer to a witness refusal: tlog-witness's 409 (`text/x.tlog.size`), or a problem.
fn refusal(r: Refusal) -> Response {
    match r {
        Refusal::Conflict(n) => text_response(
            StatusCode::CONFLICT,
            "text/x.tlog.size",
            format!("{n}\n").into_bytes(),
        ),
        r => {
            let status = r.status();
            let kind = match status {
                403 => "forbidden",
                400 => "bad-request",
                _ => "rejected",
            };
            Problem::new(status, kind, &r.into_error()).into_response()
        }
    }
}

/// A cosignature line of a registered, valid key: its cosigner and the key's fingerprint.
fn registered_cosigner(
    l: &Ledger,
    ledger: &LedgerId,
    sig: &NoteSignature,
) -> Result<(Cosigner, String), Problem> {
    let label = format!("{}+{}", sig.name, hex::encode(sig.key_id));
    let refused = || {
        Problem::new(
            403,
            "forbidden",
            &Error::new(format!(
                "the cosignature by {label} is not by a valid key registered in ledger {ledger}"
            ))
            .hint("cosign with your party's current key, under the name vouch.ledger/<ledger id>/<party id>"),
        )
    };
    let prefix = format!("{}/", vouch_origin(ledger));
    let party = sig.name.strip_prefix(&prefix).ok_or_else(refused)?;
    let internal = |e: Error| Problem::internal(&e);
    let valid: Vec<String> = l
        .key_list()
        .map_err(internal)?
        .into_iter()
        .filter(|k| k.party == party && k.valid())
        .map(|k| k.fingerprint)
        .collect();
    for k in l.keys().map_err(internal)? {
        if !valid.contains(&k.fingerprint) {
            continue;
        }
        let pk = PublicKey::from_spki_base64(&k.public_key).map_err(internal)?;
        let c = Cosigner::from_public(&sig.name, &pk).map_err(|e| Problem::bad_request(&e))?;
        if c.matches(sig) {
            return Ok((c, k.fingerprint));
        }
    }
    Err(refused())
}

/// `POST …/cosignatures`: a tlog-witness add-checkpoint body whose checkpoint (one the
/// server signed) carries the party's cosignature line(s) (§11.4).
async fn cosignatures(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    req: Request,
) -> Answer {
    let (parts, body) = req.into_parts();
    let limit = MAX_NOTE_BYTES as u64 + 64 * 1024;
    let (bytes, digest) = body::to_memory(body, &parts.headers, "the body", limit).await?;
    auth::party(&app, &id, &parts, &digest).await?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Problem::bad_request(&Error::new("the body is not UTF-8")))?;
    let req = AddCheckpoint::parse(&text).map_err(|e| Problem::bad_request(&e))?;
    let (_, path) = newest(&app, &id).await?;
    let lock = app.lock(&id);
    let _guard = lock.lock().await;
    let (app2, id2) = (Arc::clone(&app), id.clone());
    let r = super::handlers::blocking(move || store_cosignatures(&app2, &id2, &path, &req)).await?;
    if r.status() == StatusCode::OK {
        app.log(&format!("ledger {id}: cosignature stored"));
    }
    Ok(r)
}

/// Check and store the cosignatures of `req` (the caller holds the ledger's lock).
fn store_cosignatures(app: &App, id: &str, path: &Path, req: &AddCheckpoint) -> Answer {
    let internal = |e: Error| Problem::internal(&e);
    let key = app
        .key
        .as_deref()
        .ok_or_else(|| Problem::internal(&Error::new("no server key")))?;
    let ledger = LedgerId::parse(id).ok_or_else(|| Problem::not_found(id))?;
    Checkpoint::parse_vouch(&req.note.text, &ledger).map_err(|e| Problem::bad_request(&e))?;
    let log = log_verifier(&ledger, &key.public());
    let clock = clock_cosigner(&ledger, &key.public()).map_err(internal)?;
    let newest = current(app, id, path)?.ok_or_else(|| internal(Error::new("no server key")))?;
    let is_newest = newest.text == req.note.text;
    let ours =
        |s: &NoteSignature| (s.name == log.name() && s.key_id == log.key_id()) || clock.matches(s);
    let lines: Vec<&NoteSignature> = req
        .note
        .signatures
        .iter()
        .filter(|s| !(ours(s) || is_newest && newest.signatures.contains(s)))
        .collect();
    if lines.is_empty() && !is_newest {
        return Err(Problem::bad_request(
            &Error::new("the checkpoint carries no cosignature line")
                .hint("add your cosignature (C2SP tlog-cosignature) to the server's checkpoint"),
        ));
    }
    let l = Ledger::open(path, Access::ReadOnly).map_err(internal)?;
    let dir = sidecar(app, id).join("cosigned");
    let mut checked = Vec::new();
    for sig in lines {
        let (c, fp) = registered_cosigner(&l, &ledger, sig)?;
        c.verify(&req.note.text, sig)
            .map_err(|e| Problem::new(422, "rejected", &e))?;
        let latest =
            read_note(&dir.join(&fp)).and_then(|n| Checkpoint::parse_vouch(&n.text, &ledger).ok());
        if let Err(r) = cosignature::check(latest.as_ref(), req, std::slice::from_ref(&log)) {
            return Ok(refusal(r));
        }
        checked.push((fp, sig.clone()));
    }
    let server_lines: Vec<NoteSignature> = req
        .note
        .signatures
        .iter()
        .filter(|s| ours(s))
        .cloned()
        .collect();
    let mut newest = newest;
    for (fp, sig) in checked {
        let mut signatures = server_lines.clone();
        signatures.push(sig.clone());
        let record = Note {
            text: req.note.text.clone(),
            signatures,
        };
        write_atomic(&dir, &fp, record.to_string().as_bytes()).map_err(internal)?;
        if is_newest && !newest.signatures.contains(&sig) {
            newest
                .add_signature(sig)
                .map_err(|e| Problem::bad_request(&e))?;
        }
    }
    if is_newest {
        write_atomic(
            &sidecar(app, id),
            "checkpoint",
            newest.to_string().as_bytes(),
        )
        .map_err(internal)?;
    }
    let answer = if is_newest {
        newest.to_string()
    } else {
        req.note.to_string()
    };
    Ok(text_response(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        answer.into_bytes(),
    ))
}
