//! The resources of `schema/PROTOCOL.md` §5: one handler each. Store work runs on the
//! blocking pool ([`App::store_work`]); writes to one ledger are serialised by its lock in
//! this process, and by the ledger's head row across the processes of one database
//! (readers run beside them).

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::App;
use super::auth;
use super::body::{self, MAX_APPEND, MAX_ARTIFACT, MAX_ENTRIES, MAX_JSON, MAX_LINE, MAX_UPLOAD};
use super::problem::{Problem, head_json};
use crate::bundle::{BundleEntry, decode_line, encode_line};
use crate::crypto::base64_decode;
use crate::error::Error;
use crate::format::entry::EntryHeader;
use crate::ledger::extend::{self, ExtendOptions, Extended, Head, Refusal};
use crate::ledger::{Access, Ledger};

/// The router of every resource.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/", get(info))
        .route("/v1/ledgers", post(create))
        .route("/v1/ledgers/{id}", put(upload))
        .route("/v1/ledgers/{id}/head", get(head))
        .route("/v1/ledgers/{id}/entries", get(entries).post(append))
        .route(
            "/v1/ledgers/{id}/artifacts/{sha}",
            get(get_artifact).head(has_artifact).put(put_artifact),
        )
        // Receipts, cosignatures, proofs and tiles (§11).
        .merge(super::witness::routes())
        .fallback(|| async {
            Problem::new(
                404,
                "not-found",
                &Error::new("no such resource").hint("see schema/PROTOCOL.md section 5"),
            )
        })
        .with_state(app)
}

type Answer = Result<Response, Problem>;

/// A canonical JSON response.
fn json_response(status: u16, v: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut r = (status, serde_json::to_vec(v).unwrap_or_default()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Run `f` on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Problem::internal(&Error::new(format!("internal error: {e}"))))?
}

/// `GET /v1/`: versions and limits.
async fn info() -> Response {
    json_response(
        200,
        &json!({
            "limits": {
                "artifact_bytes": MAX_ARTIFACT,
                "body_stall_seconds": body::BODY_STALL.as_secs(),
                "entries_per_request": MAX_ENTRIES,
                "entry_line_bytes": MAX_LINE,
                "header_bytes": body::MAX_HEADERS,
                "header_timeout_seconds": body::HEADER_TIMEOUT.as_secs(),
                "json_body_bytes": MAX_JSON,
                "append_body_bytes": MAX_APPEND,
                "upload_bytes": MAX_UPLOAD,
            },
            "protocol": 1,
            "server": format!("vouch {}", env!("CARGO_PKG_VERSION")),
        }),
    )
}

/// One entry line of a request body (`FORMAT.md` §16.2), in any JSON spelling.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineJson {
    entry: String,
    payload: String,
    seq: u64,
    signature: String,
}

impl LineJson {
    /// The entry, `at` naming where it is in the body (a JSON pointer).
    fn decode(self, at: &str) -> Result<BundleEntry, Problem> {
        let signature = base64_decode(&self.signature).ok_or_else(|| {
            Problem::bad_request(&Error::new(format!(
                "{at}/signature: not canonical padded base64"
            )))
            .with("pointer", json!(format!("{at}/signature")))
        })?;
        Ok(BundleEntry {
            seq: self.seq,
            body: self.entry.into_bytes(),
            signature,
            payload: self.payload.into_bytes(),
            proof: None,
        })
    }
}

/// Parse a JSON body, a failure naming what is wrong (serde names the member).
fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(bytes).map_err(|e| {
        Problem::bad_request(
            &Error::new(format!("request body: {e}"))
                .hint("see the request bodies in schema/PROTOCOL.md section 6"),
        )
    })
}

/// The answer to an extension, with the server's receipt when it has a key (§11.2).
fn extended(e: Extended, ledger: Option<&str>, receipt: Option<String>) -> Response {
    let mut v = json!({"first": e.first, "head": head_json(e.head), "last": e.last});
    if let Some(id) = ledger {
        v = json!({"head": head_json(e.head), "ledger": id});
    }
    if let (Some(r), Some(o)) = (receipt, v.as_object_mut()) {
        o.insert("receipt".into(), Value::String(r));
    }
    json_response(if e.created { 201 } else { 200 }, &v)
}

/// The receipt of a write to ledger `id`: its newest server checkpoint (§11.2). The caller
/// holds the ledger's lock.
fn receipt(app: &App, id: &str) -> Result<Option<String>, Problem> {
    let path = app.ledger_path(id).ok_or_else(|| Problem::not_found(id))?;
    Ok(super::witness::current(app, id, &path)?.map(|n| n.to_string()))
}

/// `POST /v1/ledgers` (admin): create a ledger from its genesis entry (§6.1).
async fn create(State(app): State<Arc<App>>, req: Request) -> Answer {
    let (parts, body) = req.into_parts();
    let (bytes, digest) = body::to_memory(body, &parts.headers, "the body", MAX_JSON).await?;
    auth::admin(&app, &parts, &digest)?;
    let line: LineJson = parse_json(&bytes)?;
    let entry = line.decode("")?;
    let header = EntryHeader::parse(&entry.body).map_err(|e| {
        Problem::new(
            422,
            "rejected",
            &Error::new(format!("entry {}: malformed {e}", entry.seq)),
        )
        .with("entry", json!(entry.seq))
    })?;
    let id = header.ledger.to_string();
    let lock = app.lock(&id);
    let _guard = lock.lock().await;
    let (app2, id2) = (Arc::clone(&app), id.clone());
    let (e, r) = app
        .store_work(super::WRITE_CONNECTIONS, move || {
            let max_past = Some(extend::MAX_PAST);
            let e = app2.create_ledger(&id2, vec![Ok(entry)], Vec::new(), max_past)?;
            Ok((e, receipt(&app2, &id2)?))
        })
        .await?;
    app.log(&format!("created ledger {id}"));
    Ok(extended(e, Some(&id), r))
}

/// Read an uploaded file's lines, each at most [`MAX_LINE`] bytes.
fn upload_lines(file: &std::path::Path) -> Result<Vec<Vec<u8>>, Problem> {
    let f = std::fs::File::open(file).map_err(|e| Problem::internal(&Error::io(file, &e)))?;
    let mut r = BufReader::new(f);
    let mut out = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = std::io::Read::take(&mut r, MAX_LINE + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| Problem::internal(&Error::io(file, &e)))?;
        if n == 0 {
            return Ok(out);
        }
        if line.last() != Some(&b'\n') {
            return Err(Problem::bad_request(&Error::new(format!(
                "line {}: longer than {MAX_LINE} bytes, or not ended by a newline",
                out.len() + 1
            )))
            .with("line", json!(out.len() + 1)));
        }
        line.pop();
        out.push(line);
    }
}

/// `PUT /v1/ledgers/{id}` (admin): upload a whole ledger, verified in full (§6.2).
async fn upload(State(app): State<Arc<App>>, UrlPath(id): UrlPath<String>, req: Request) -> Answer {
    let (parts, body) = req.into_parts();
    let (file, _, digest) =
        body::to_file(body, &parts.headers, "the ledger", MAX_UPLOAD, &app.spool).await?;
    auth::admin(&app, &parts, &digest)?;
    let Some(_) = app.ledger_path(&id) else {
        return Err(Problem::bad_request(&Error::new(format!(
            "{id:?} is not a ledger id (32 lowercase hex digits)"
        ))));
    };
    let lock = app.lock(&id);
    let _guard = lock.lock().await;
    let (app2, id2) = (Arc::clone(&app), id.clone());
    let e = app
        .store_work(super::WRITE_CONNECTIONS, move || {
            let lines = upload_lines(file.path())?;
            let mut docs = Vec::new();
            let mut entries = Vec::new();
            for (i, l) in lines.into_iter().enumerate() {
                let no = i + 1;
                if entries.is_empty()
                    && let Ok(d) = serde_json::from_slice::<DocumentLine>(&l)
                {
                    let bytes = base64_decode(&d.document).ok_or_else(|| {
                        Problem::bad_request(&Error::new(format!(
                            "line {no}: document: not canonical padded base64"
                        )))
                        .with("line", json!(no))
                    })?;
                    docs.push(bytes);
                    continue;
                }
                entries.push(
                    decode_line(&l)
                        .map_err(|w| Refusal::Malformed(Error::new(format!("line {no}: {w}")))),
                );
            }
            let first = entries.first().and_then(|e| e.as_ref().ok());
            if let Some(e) = first
                && EntryHeader::parse(&e.body).is_ok_and(|h| h.ledger.to_string() != id2)
            {
                return Err(Problem::bad_request(&Error::new(format!(
                    "the genesis entry is of another ledger than {id2}"
                ))));
            }
            // An existing history keeps its times: no bound before the server's clock.
            let e = app2.create_ledger(&id2, entries, docs, None)?;
            Ok((e, receipt(&app2, &id2)?))
        })
        .await?;
    let (e, r) = e;
    app.log(&format!("uploaded ledger {id} ({} entries)", e.last));
    Ok(extended(e, Some(&id), r))
}

/// A document line of an upload: `{"document":"<base64>"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentLine {
    document: String,
}

/// `GET /v1/ledgers/{id}/head`.
async fn head(State(app): State<Arc<App>>, UrlPath(id): UrlPath<String>, req: Request) -> Answer {
    let (parts, body) = req.into_parts();
    let (_, digest) = body::to_memory(body, &parts.headers, "the body", MAX_JSON).await?;
    auth::party(&app, &id, &parts, &digest).await?;
    let path = app
        .ledger_path(&id)
        .ok_or_else(|| Problem::not_found(&id))?;
    let v = app
        .store_work(1, move || {
            let l = Ledger::open(&path, Access::ReadOnly).map_err(|e| Problem::internal(&e))?;
            let size = l.size().map_err(|e| Problem::internal(&e))?;
            let e = l
                .entry(size)
                .map_err(|e| Problem::internal(&e))?
                .ok_or_else(|| Problem::internal(&Error::new("the ledger has no entry")))?;
            Ok(json!({
                "hash": hex::encode(e.hash()),
                "seq": e.seq(),
                "time": crate::format::entry::format_time(&e.header.time),
            }))
        })
        .await?;
    Ok(json_response(200, &v))
}

/// `after` and `limit` of `GET …/entries` (§6.4).
fn entries_query(query: Option<&str>) -> Result<(u64, usize), Problem> {
    let (mut after, mut limit) = (0u64, 10_000usize);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let bad = |what: &str| {
            Problem::bad_request(&Error::new(format!("query parameter {k}: {what}")))
                .with("pointer", json!(format!("?{k}")))
        };
        match k {
            "after" => after = v.parse().map_err(|_| bad("not a whole number"))?,
            "limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_ENTRIES).contains(n))
                    .ok_or_else(|| bad(&format!("not a number from 1 to {MAX_ENTRIES}")))?;
            }
            _ => return Err(bad("unknown (after and limit are)")),
        }
    }
    Ok((after, limit))
}

/// `GET /v1/ledgers/{id}/entries?after=N&limit=M`: §16.2 lines.
async fn entries(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    req: Request,
) -> Answer {
    let (parts, body) = req.into_parts();
    let (_, digest) = body::to_memory(body, &parts.headers, "the body", MAX_JSON).await?;
    auth::party(&app, &id, &parts, &digest).await?;
    let (after, limit) = entries_query(parts.uri.query())?;
    let path = app
        .ledger_path(&id)
        .ok_or_else(|| Problem::not_found(&id))?;
    let out = app
        .store_work(1, move || {
            let l = Ledger::open(&path, Access::ReadOnly).map_err(|e| Problem::internal(&e))?;
            let mut out = Vec::new();
            for e in l
                .entries_after(after, limit)
                .map_err(|e| Problem::internal(&e))?
            {
                let line = encode_line(e.seq(), &e.body, &e.signature, &e.payload, None)
                    .map_err(|e| Problem::internal(&e))?;
                out.extend_from_slice(&line);
            }
            Ok(out)
        })
        .await?;
    let mut r = (StatusCode::OK, out).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jsonl"),
    );
    Ok(r)
}

/// The body of `POST …/entries` (§6.5).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppendJson {
    base: BaseJson,
    entries: Vec<LineJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaseJson {
    hash: String,
    seq: u64,
}

/// `POST /v1/ledgers/{id}/entries`: append entries signed on `base` (§6.5).
async fn append(State(app): State<Arc<App>>, UrlPath(id): UrlPath<String>, req: Request) -> Answer {
    let (parts, body) = req.into_parts();
    let (bytes, digest) = body::to_memory(body, &parts.headers, "the body", MAX_APPEND).await?;
    auth::party(&app, &id, &parts, &digest).await?;
    let body: AppendJson = parse_json(&bytes)?;
    let hash = hex::decode(&body.base.hash)
        .ok()
        .and_then(|h| <[u8; 32]>::try_from(h).ok())
        .filter(|_| body.base.hash.bytes().all(|b| !b.is_ascii_uppercase()))
        .ok_or_else(|| {
            Problem::bad_request(&Error::new("/base/hash: not 64 lowercase hex digits"))
                .with("pointer", json!("/base/hash"))
        })?;
    if body.entries.len() > MAX_ENTRIES {
        return Err(Problem::too_large("the entries", MAX_ENTRIES as u64));
    }
    let mut entries = Vec::with_capacity(body.entries.len());
    for (i, l) in body.entries.into_iter().enumerate() {
        entries.push(Ok(l.decode(&format!("/entries/{i}"))?));
    }
    let base = Head {
        seq: body.base.seq,
        hash,
    };
    let path = app
        .ledger_path(&id)
        .ok_or_else(|| Problem::not_found(&id))?;
    let lock = app.lock(&id);
    let mut guard = lock.lock().await;
    let mut cache = guard.take();
    let (app2, id2) = (Arc::clone(&app), id.clone());
    let now = app.ledger_now();
    let (e, cache) = app
        .store_work(super::WRITE_CONNECTIONS, move || {
            let opts = ExtendOptions {
                now,
                require_artifacts: true,
                documents: Vec::new(),
                max_past: Some(extend::MAX_PAST),
            };
            let e = extend::extend_resuming(&path, base, entries, &opts, &mut cache);
            let e = match e {
                Ok(e) => receipt(&app2, &id2).map(|r| (e, r)),
                Err(r) => Err(super::refused(r)),
            };
            Ok((e, cache))
        })
        .await?;
    *guard = cache;
    drop(guard);
    let (e, r) = e?;
    app.log(&format!("ledger {id}: entries {}–{}", e.first, e.last));
    Ok(extended(e, None, r))
}

/// The ledger file and the artefact name of an artefact request, after authentication.
async fn artifact_target(
    app: &App,
    id: &str,
    sha: &str,
    parts: &axum::http::request::Parts,
    digest: &[u8; 32],
) -> Result<PathBuf, Problem> {
    auth::party(app, id, parts, digest).await?;
    if sha.len() != 64
        || !sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(Problem::bad_request(&Error::new(format!(
            "{sha:?} is not a SHA-256 (64 lowercase hex digits)"
        ))));
    }
    app.ledger_path(id).ok_or_else(|| Problem::not_found(id))
}

/// The artefact's size, if the ledger has it.
async fn artifact_size(app: &App, path: PathBuf, sha: String) -> Result<Option<u64>, Problem> {
    app.store_work(1, move || {
        let l = Ledger::open(&path, Access::ReadOnly).map_err(|e| Problem::internal(&e))?;
        let found = l
            .read_artifact(&sha, &mut |_: &[u8]| {})
            .map_err(|e| Problem::internal(&e))?;
        Ok(found.map(|(_, n)| n))
    })
    .await
}

fn no_artifact(sha: &str) -> Problem {
    Problem::new(
        404,
        "not-found",
        &Error::new(format!("no artefact {sha} in this ledger"))
            .hint("upload it with PUT …/artifacts/SHA256"),
    )
}

/// `HEAD …/artifacts/{sha}`.
async fn has_artifact(
    State(app): State<Arc<App>>,
    UrlPath((id, sha)): UrlPath<(String, String)>,
    req: Request,
) -> Answer {
    let (parts, body) = req.into_parts();
    let (_, digest) = body::to_memory(body, &parts.headers, "the body", MAX_JSON).await?;
    let path = artifact_target(&app, &id, &sha, &parts, &digest).await?;
    let n = artifact_size(&app, path, sha.clone())
        .await?
        .ok_or_else(|| no_artifact(&sha))?;
    let mut r = StatusCode::OK.into_response();
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    Ok(r)
}

/// `GET …/artifacts/{sha}`: the bytes.
async fn get_artifact(
    State(app): State<Arc<App>>,
    UrlPath((id, sha)): UrlPath<(String, String)>,
    req: Request,
) -> Answer {
    let (parts, body) = req.into_parts();
    let (_, digest) = body::to_memory(body, &parts.headers, "the body", MAX_JSON).await?;
    let path = artifact_target(&app, &id, &sha, &parts, &digest).await?;
    let sha2 = sha.clone();
    let bytes = app
        .store_work(1, move || {
            let l = Ledger::open(&path, Access::ReadOnly).map_err(|e| Problem::internal(&e))?;
            l.artifact_bytes(&sha2).map_err(|e| Problem::internal(&e))
        })
        .await?
        .ok_or_else(|| no_artifact(&sha))?;
    let mut r = (StatusCode::OK, Body::from(bytes)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    Ok(r)
}

/// `PUT …/artifacts/{sha}`: hashed while it streams to a temporary file, kept only if it
/// is the SHA-256 of the path (§6.6).
async fn put_artifact(
    State(app): State<Arc<App>>,
    UrlPath((id, sha)): UrlPath<(String, String)>,
    req: Request,
) -> Answer {
    let (parts, body) = req.into_parts();
    let (file, size, digest) = body::to_file(
        body,
        &parts.headers,
        "the artefact",
        MAX_ARTIFACT,
        &app.spool,
    )
    .await?;
    let path = artifact_target(&app, &id, &sha, &parts, &digest).await?;
    if hex::encode(digest) != sha {
        return Err(Problem::new(
            422,
            "rejected",
            &Error::new(format!(
                "the body's SHA-256 is {}, not {sha}",
                hex::encode(digest)
            ))
            .hint("send the artefact's bytes to the path of their SHA-256"),
        ));
    }
    let lock = app.lock(&id);
    let _guard = lock.lock().await;
    let sha2 = sha.clone();
    let created = app
        .store_work(1, move || {
            let mut f = std::fs::File::open(file.path())
                .map_err(|e| Problem::internal(&Error::io(file.path(), &e)))?;
            extend::store_artifact(&path, &sha2, size, &mut f).map_err(|e| Problem::internal(&e))
        })
        .await?;
    if created {
        app.log(&format!("ledger {id}: artefact {sha} ({size} bytes)"));
    }
    Ok(json_response(
        if created { 201 } else { 200 },
        &json!({"sha256": sha, "size": size}),
    ))
}
