//! Reading request bodies within the limits of `schema/PROTOCOL.md` §2: a declared
//! `Content-Length` over the limit is refused before any byte is read (413), a body that
//! grows past it is cut off as soon as it does, and a body that stalls is cut off (408).
//! Bodies are hashed as they arrive, for `Content-Digest` and artefact names.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use axum::body::Body;
use axum::http::HeaderMap;
use http_body_util::BodyExt as _;

use super::problem::Problem;
use crate::crypto::Hasher;
use crate::error::Error;

/// Request headers, at most (bytes).
pub const MAX_HEADERS: usize = 16 << 10;
/// A JSON request body, at most.
pub const MAX_JSON: u64 = 64 << 20;
/// An append request's JSON body, at most: [`MAX_ENTRIES`] entries of about 1.2 KiB each
/// as JSON lines fit (`record --batch` of 100,000 entries is one request).
pub const MAX_APPEND: u64 = 256 << 20;
/// One artefact, at most.
pub const MAX_ARTIFACT: u64 = 1 << 30;
/// A whole-ledger upload (`PUT /v1/ledgers/{id}`), at most.
pub const MAX_UPLOAD: u64 = 16 << 30;
/// Entries in one append request, at most.
pub const MAX_ENTRIES: usize = 100_000;
/// One JSON line of an upload, at most.
pub const MAX_LINE: u64 = 1 << 20;
/// Longest pause within a request body.
pub const BODY_STALL: Duration = Duration::from_secs(30);
/// Longest time for a request's headers to arrive, counted from the connection's start or
/// the previous response (so also how long an idle connection is kept).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Refuse a declared length over `limit`.
fn check_declared(headers: &HeaderMap, what: &str, limit: u64) -> Result<(), Problem> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Problem::too_large(what, limit));
    }
    Ok(())
}

/// The next data of `body`, cut off when it stalls.
async fn next_data(body: &mut Body) -> Result<Option<bytes_of::Bytes>, Problem> {
    loop {
        let frame = tokio::time::timeout(BODY_STALL, body.frame())
            .await
            .map_err(|_| Problem::timeout(BODY_STALL.as_secs()))?;
        let Some(frame) = frame else {
            return Ok(None);
        };
        let frame = frame.map_err(|e| {
            Problem::bad_request(&Error::new(format!("reading the request body: {e}")))
        })?;
        if let Ok(data) = frame.into_data() {
            return Ok(Some(data));
        }
    }
}

mod bytes_of {
    pub use axum::body::Bytes;
}

/// The whole body in memory (at most `limit` bytes), and its SHA-256.
pub async fn to_memory(
    body: Body,
    headers: &HeaderMap,
    what: &str,
    limit: u64,
) -> Result<(Vec<u8>, [u8; 32]), Problem> {
    check_declared(headers, what, limit)?;
    let mut body = body;
    let mut out = Vec::new();
    let mut h = Hasher::default();
    while let Some(data) = next_data(&mut body).await? {
        if (out.len() + data.len()) as u64 > limit {
            return Err(Problem::too_large(what, limit));
        }
        h.update(&data);
        out.extend_from_slice(&data);
    }
    Ok((out, h.finish()))
}

/// The whole body in a temporary file in `dir` (at most `limit` bytes): the file, its
/// size and SHA-256. The file is removed when dropped.
pub async fn to_file(
    body: Body,
    headers: &HeaderMap,
    what: &str,
    limit: u64,
    dir: &Path,
) -> Result<(tempfile::NamedTempFile, u64, [u8; 32]), Problem> {
    check_declared(headers, what, limit)?;
    let mut file = tempfile::Builder::new()
        .prefix(".incoming-")
        .tempfile_in(dir)
        .map_err(|e| Problem::internal(&Error::io(dir, &e)))?;
    let mut body = body;
    let mut h = Hasher::default();
    let mut n = 0u64;
    while let Some(data) = next_data(&mut body).await? {
        n += data.len() as u64;
        if n > limit {
            return Err(Problem::too_large(what, limit));
        }
        h.update(&data);
        file.write_all(&data)
            .map_err(|e| Problem::internal(&Error::io(file.path(), &e)))?;
    }
    file.flush()
        .map_err(|e| Problem::internal(&Error::io(file.path(), &e)))?;
    Ok((file, n, h.finish()))
}
