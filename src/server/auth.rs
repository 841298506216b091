//! Who sent a request (`schema/PROTOCOL.md` §3): the request's signature verified against
//! the keys registered in the ledger it names, or against the server's admin keys.

use std::path::Path;

use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::App;
use super::problem::Problem;
use crate::crypto::{Fingerprint, PublicKey};
use crate::error::Error;
use crate::ledger::{Access, Ledger};
use crate::protocol::http_sig::{self, AuthError, ReceivedHeaders};

/// A header field's value as received, several lines combined with `, ` (RFC 9110 §5.3),
/// which the profile then refuses; `None` when absent or not visible ASCII.
fn field(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap_or("\u{1}"))
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// The answer to a failed authentication (§3, §4).
fn refused(e: &AuthError) -> Problem {
    let mut p = Problem::new(
        e.status(),
        if e.status() == 503 {
            "unavailable"
        } else {
            "signature"
        },
        &Error::from(e.clone()),
    );
    if e.status() == 503 {
        p.retry_after = Some(5);
    }
    p
}

/// Verify the request with the key `key` (the one its `keyid` names, if the server
/// knows it). `digest`: the SHA-256 of the body.
fn verify(
    app: &App,
    parts: &Parts,
    digest: &[u8; 32],
    key: Option<PublicKey>,
) -> Result<Fingerprint, AuthError> {
    let h = &parts.headers;
    let (d, i, s) = (
        field(h, "content-digest"),
        field(h, "signature-input"),
        field(h, "signature"),
    );
    let received = ReceivedHeaders {
        content_digest: d.as_deref(),
        signature_input: i.as_deref(),
        signature: s.as_deref(),
    };
    let target = app.target_uri(parts);
    let now = crate::clock::now().timestamp();
    let mut replay = app.replay.lock().map_err(|_| AuthError::ReplayCacheFull)?;
    http_sig::verify_request_digest(
        parts.method.as_str(),
        &target,
        digest,
        &received,
        now,
        |fp| key.filter(|k| &k.fingerprint() == fp),
        &mut *replay,
    )
}

/// The key the request claims to be signed with.
fn claimed(parts: &Parts) -> Option<Fingerprint> {
    http_sig::claimed_keyid(field(&parts.headers, "signature-input").as_deref())
}

/// The key `fp` if it is registered in the ledger at `path` and valid (neither retired
/// nor revoked, `FORMAT.md` §14).
fn registered(path: &Path, fp: &Fingerprint) -> crate::Result<Option<PublicKey>> {
    if !crate::ledger::extend::exists(path)? {
        return Ok(None);
    }
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let fp_s = fp.to_string();
    if !ledger
        .key_list()?
        .iter()
        .any(|k| k.fingerprint == fp_s && k.valid())
    {
        return Ok(None);
    }
    let key = ledger.keys()?.into_iter().find(|k| k.fingerprint == fp_s);
    key.map(|k| PublicKey::from_spki_base64(&k.public_key))
        .transpose()
}

/// A request on ledger `id` by one of its parties; an unknown ledger and an unregistered
/// key get the same 404.
pub async fn party(
    app: &App,
    id: &str,
    parts: &Parts,
    digest: &[u8; 32],
) -> Result<Fingerprint, Problem> {
    let Some(path) = app.ledger_path(id) else {
        return Err(Problem::not_found(id));
    };
    let key = match claimed(parts) {
        Some(fp) => {
            app.store_work(1, move || {
                registered(&path, &fp).map_err(|e| Problem::internal(&e))
            })
            .await?
        }
        None => None,
    };
    verify(app, parts, digest, key).map_err(|e| match e {
        AuthError::UnknownKey(_) => Problem::not_found(id),
        e => refused(&e),
    })
}

/// An admin-only request: signed by one of the server's `--admin` keys (403 otherwise).
pub fn admin(app: &App, parts: &Parts, digest: &[u8; 32]) -> Result<Fingerprint, Problem> {
    let key = claimed(parts).and_then(|fp| app.admins.get(&fp).copied());
    verify(app, parts, digest, key).map_err(|e| match e {
        AuthError::UnknownKey(k) => Problem::new(
            403,
            "forbidden",
            &Error::new(format!("key {k} is not an admin key of this server")).hint(
                "creating and uploading ledgers needs a key given to vouch serve with --admin",
            ),
        ),
        e => refused(&e),
    })
}
