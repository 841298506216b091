//! Request authentication: HTTP Message Signatures (RFC 9421) with Ed25519, as
//! `schema/PROTOCOL.md` §3 profiles them.
//!
//! Every signed request carries three header fields:
//!
//! ```text
//! Content-Digest: sha-256=:<base64 SHA-256 of the body>:
//! Signature-Input: vouch=("@method" "@target-uri" "content-digest");created=<unix s>;keyid="<fingerprint>";nonce="<nonce>";alg="ed25519"
//! Signature: vouch=:<base64 Ed25519 signature over the signature base>:
//! ```
//!
//! The profile admits exactly one spelling of each field: the one an RFC 8941 serializer
//! writes for these values (no optional whitespace, the parameters in this order, one
//! dictionary member). Anything else is refused with an [`AuthError`] naming what was wrong;
//! the server answers it as a 401 problem document (`PROTOCOL.md` §4).
//!
//! Components are used exactly as the client sent them, with no normalisation: `@method` is
//! the request method, which must be uppercase (`[A-Z]+`); `@target-uri` is the absolute URI
//! string the client sent the request to (scheme, authority, path and query, printable ASCII
//! without spaces). A server reconstructs it as its `--public-url` followed by the request
//! line's path and query, byte for byte.

use std::fmt;

use super::replay::NonceCache;
use crate::crypto::{Fingerprint, PublicKey, SecretKey, base64_decode, base64_encode, sha256};
use crate::error::{Error, Result};

/// The signature label.
pub const LABEL: &str = "vouch";
/// The covered components, serialized as an RFC 8941 inner list.
pub const COMPONENTS: &str = r#"("@method" "@target-uri" "content-digest")"#;
/// How far (seconds) `created` may be from the verifier's clock, either way.
pub const WINDOW_SECS: i64 = 300;
/// The shortest nonce accepted.
pub const NONCE_MIN: usize = 16;
/// The longest nonce accepted.
pub const NONCE_MAX: usize = 64;
/// The parameters of `Signature-Input`, in their one order.
const PARAMS: [&str; 4] = ["created", "keyid", "nonce", "alg"];

/// The `Content-Digest` field value of a body (RFC 9530): `sha-256=:<base64>:`.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", base64_encode(&sha256(body)))
}

/// The signature parameters of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    /// Creation time, Unix seconds.
    pub created: i64,
    /// The signing key's fingerprint (`FORMAT.md` §2).
    pub keyid: Fingerprint,
    /// Fresh per request: 16 to 64 characters of `[A-Za-z0-9_-]`.
    pub nonce: String,
}

impl SignatureParams {
    /// The `@signature-params` value: the covered components and the parameters, as the
    /// `Signature-Input` member carries them.
    pub fn serialize(&self) -> String {
        format!(
            "{COMPONENTS};created={};keyid=\"{}\";nonce=\"{}\";alg=\"ed25519\"",
            self.created, self.keyid, self.nonce
        )
    }
}

/// The signature base (RFC 9421 §2.5): one line per covered component and the
/// `@signature-params` line, joined by LF, with no LF after the last.
pub fn signature_base(
    method: &str,
    target_uri: &str,
    content_digest: &str,
    params: &SignatureParams,
) -> String {
    format!(
        "\"@method\": {method}\n\"@target-uri\": {target_uri}\n\"content-digest\": {content_digest}\n\"@signature-params\": {}",
        params.serialize()
    )
}

/// The three header field values of a signed request, exactly as they go on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `Content-Digest`.
    pub content_digest: String,
    /// `Signature-Input`.
    pub signature_input: String,
    /// `Signature`.
    pub signature: String,
}

/// The header field values a server received, each `None` when the field was absent. A
/// field sent on several lines is passed combined (RFC 9110 §5.3), which this profile
/// refuses: it admits one dictionary member.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReceivedHeaders<'a> {
    /// `Content-Digest`.
    pub content_digest: Option<&'a str>,
    /// `Signature-Input`.
    pub signature_input: Option<&'a str>,
    /// `Signature`.
    pub signature: Option<&'a str>,
}

impl SignedHeaders {
    /// The same values as a server receives them.
    pub fn received(&self) -> ReceivedHeaders<'_> {
        ReceivedHeaders {
            content_digest: Some(&self.content_digest),
            signature_input: Some(&self.signature_input),
            signature: Some(&self.signature),
        }
    }
}

/// Sign a request: `method` uppercase, `target_uri` the absolute URI it is sent to, `body`
/// its content (empty for none), `created` the client's clock (Unix seconds) and `nonce`
/// fresh (see [`new_nonce`]).
pub fn sign_request(
    key: &SecretKey,
    method: &str,
    target_uri: &str,
    body: &[u8],
    created: i64,
    nonce: &str,
) -> Result<SignedHeaders> {
    sign_request_digest(key, method, target_uri, &sha256(body), created, nonce)
}

/// [`sign_request`] for a body that is streamed from elsewhere (a file), `body_sha256`
/// being the SHA-256 of its bytes.
pub fn sign_request_digest(
    key: &SecretKey,
    method: &str,
    target_uri: &str,
    body_sha256: &[u8; 32],
    created: i64,
    nonce: &str,
) -> Result<SignedHeaders> {
    check_method(method).map_err(|e| Error::new(e.to_string()))?;
    check_target_uri(target_uri).map_err(|e| Error::new(e.to_string()))?;
    check_nonce(nonce)
        .map_err(|e| Error::new(e.to_string()).hint("use protocol::http_sig::new_nonce"))?;
    let params = SignatureParams {
        created,
        keyid: key.public().fingerprint(),
        nonce: nonce.to_string(),
    };
    let digest = format!("sha-256=:{}:", base64_encode(body_sha256));
    let base = signature_base(method, target_uri, &digest, &params);
    let signature = key.sign(base.as_bytes());
    Ok(SignedHeaders {
        content_digest: digest,
        signature_input: format!("{LABEL}={}", params.serialize()),
        signature: format!("{LABEL}=:{}:", base64_encode(&signature)),
    })
}

/// A fresh nonce: 22 characters of base64url (128 random bits) from the system's source.
pub fn new_nonce() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::new(format!("cannot read the system random source: {e}")))?;
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = u128::from_be_bytes(bytes);
    let mut out = String::with_capacity(22);
    for _ in 0..22 {
        out.push(char::from(ALPHABET[(bits & 63) as usize]));
        bits >>= 6;
    }
    Ok(out)
}

/// Verify a request as `PROTOCOL.md` §3 says, `now` being the server's clock (Unix
/// seconds) and `key_of` the keys the server knows. On success the request's (`keyid`,
/// `nonce`) is recorded in `replay` and the signing key's fingerprint returned; what the
/// key may do is the caller's decision.
///
/// The checks run cheapest first: the fields' syntax, the time window, the body digest,
/// the key, the signature; the replay cache is consulted last, so that requests that do
/// not verify cannot fill it.
pub fn verify_request(
    method: &str,
    target_uri: &str,
    body: &[u8],
    headers: &ReceivedHeaders<'_>,
    now: i64,
    key_of: impl Fn(&Fingerprint) -> Option<PublicKey>,
    replay: &mut impl NonceCache,
) -> std::result::Result<Fingerprint, AuthError> {
    let digest = sha256(body);
    verify_request_digest(method, target_uri, &digest, headers, now, key_of, replay)
}

/// [`verify_request`] for a body that was streamed elsewhere (to a file) and hashed on the
/// way: `body_sha256` is the SHA-256 of its bytes.
pub fn verify_request_digest(
    method: &str,
    target_uri: &str,
    body_sha256: &[u8; 32],
    headers: &ReceivedHeaders<'_>,
    now: i64,
    key_of: impl Fn(&Fingerprint) -> Option<PublicKey>,
    replay: &mut impl NonceCache,
) -> std::result::Result<Fingerprint, AuthError> {
    let input = headers
        .signature_input
        .ok_or(AuthError::MissingField("Signature-Input"))?;
    let signature = headers
        .signature
        .ok_or(AuthError::MissingField("Signature"))?;
    let digest = headers
        .content_digest
        .ok_or(AuthError::MissingField("Content-Digest"))?;
    check_method(method)?;
    check_target_uri(target_uri)?;
    let params = parse_signature_input(input)?;
    let signature = parse_signature(signature)?;
    if (now - params.created).abs() > WINDOW_SECS {
        return Err(AuthError::OutsideWindow {
            created: params.created,
            now,
        });
    }
    check_digest(digest, body_sha256)?;
    let key = key_of(&params.keyid).ok_or(AuthError::UnknownKey(params.keyid))?;
    let base = signature_base(method, target_uri, digest, &params);
    if !key.verify(base.as_bytes(), &signature) {
        return Err(AuthError::BadSignature);
    }
    replay.check_and_record(&params.keyid, &params.nonce, params.created, now)?;
    Ok(params.keyid)
}

/// Why a request's authentication failed. The server answers every one with 401 and
/// problem type `signature` (`PROTOCOL.md` §4), `detail` being this error's text, except
/// [`AuthError::ReplayCacheFull`] (503, `unavailable`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// A required header field is absent (its name).
    MissingField(&'static str),
    /// A field is not in the one form this profile admits (the field, and what is wrong).
    Malformed {
        /// The header field.
        field: &'static str,
        /// What is wrong.
        what: String,
    },
    /// A signature label other than `vouch` (the label found).
    WrongLabel(String),
    /// The covered components are not exactly `("@method" "@target-uri" "content-digest")`.
    WrongComponents,
    /// A signature parameter this profile does not define (its name).
    UnknownParam(String),
    /// A parameter given twice (its name).
    DuplicateParam(String),
    /// A required parameter is absent (its name).
    MissingParam(&'static str),
    /// The parameters are not in the order `created`, `keyid`, `nonce`, `alg`.
    ParamOrder,
    /// A parameter's value is not allowed (the parameter, and what is wrong).
    BadParam {
        /// The parameter.
        param: &'static str,
        /// What is wrong.
        what: String,
    },
    /// The method is not an uppercase token.
    BadMethod(String),
    /// The target URI is not an absolute `http`/`https` URI of printable ASCII.
    BadTargetUri(String),
    /// `created` is more than [`WINDOW_SECS`] away from the server's clock.
    OutsideWindow {
        /// The signed creation time.
        created: i64,
        /// The server's clock.
        now: i64,
    },
    /// `Content-Digest` is well formed but is not the digest of the body received.
    DigestMismatch,
    /// No key with this fingerprint is known. For a request that names a ledger the server
    /// answers this with the same 404 as an unknown ledger (`PROTOCOL.md` §3), not 401.
    UnknownKey(Fingerprint),
    /// The Ed25519 signature does not verify over the signature base.
    BadSignature,
    /// This (`keyid`, `nonce`) was accepted before, within the window.
    Replayed {
        /// The key.
        keyid: Fingerprint,
        /// The nonce.
        nonce: String,
    },
    /// The replay cache is full of live entries; the request may be retried later.
    ReplayCacheFull,
}

impl AuthError {
    /// The HTTP status the server answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::ReplayCacheFull => 503,
            _ => 401,
        }
    }

    /// What the client can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::OutsideWindow { .. } => {
                "check the client's clock (it must be within 5 minutes of the server's)"
            }
            Self::Replayed { .. } => "sign every request with a fresh nonce",
            Self::ReplayCacheFull => "retry in a few seconds",
            Self::UnknownKey(_) => "use a key registered with this server",
            Self::DigestMismatch => "send the body the Content-Digest was computed over",
            _ => "sign requests as schema/PROTOCOL.md section 3 says",
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingField(h) => write!(f, "the {h} header field is missing"),
            Self::Malformed { field, what } => write!(f, "{field}: {what}"),
            Self::WrongLabel(l) => write!(f, "signature label {l:?}: expected \"{LABEL}\""),
            Self::WrongComponents => write!(
                f,
                "Signature-Input: the covered components must be exactly {COMPONENTS}"
            ),
            Self::UnknownParam(p) => write!(f, "Signature-Input: unknown parameter {p:?}"),
            Self::DuplicateParam(p) => write!(f, "Signature-Input: parameter {p:?} given twice"),
            Self::MissingParam(p) => write!(f, "Signature-Input: parameter {p:?} is missing"),
            Self::ParamOrder => write!(
                f,
                "Signature-Input: the parameters must be in the order created, keyid, nonce, alg"
            ),
            Self::BadParam { param, what } => write!(f, "Signature-Input: {param}: {what}"),
            Self::BadMethod(m) => write!(f, "method {m:?} is not an uppercase token"),
            Self::BadTargetUri(u) => write!(
                f,
                "target URI {u:?} is not an absolute http(s) URI of printable ASCII"
            ),
            Self::OutsideWindow { created, now } => write!(
                f,
                "signature created at {created}, {}s from the server's clock ({now}); the window is ±{WINDOW_SECS}s",
                created - now
            ),
            Self::DigestMismatch => write!(f, "Content-Digest does not match the body"),
            Self::UnknownKey(k) => write!(f, "unknown key {k}"),
            Self::BadSignature => write!(f, "the signature does not verify"),
            Self::Replayed { keyid, nonce } => {
                write!(f, "nonce {nonce:?} of key {keyid} was already used")
            }
            Self::ReplayCacheFull => write!(f, "too many requests in the replay window"),
        }
    }
}

impl std::error::Error for AuthError {}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        let hint = e.hint();
        Error::new(e.to_string()).hint(hint)
    }
}

fn check_method(method: &str) -> std::result::Result<(), AuthError> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(AuthError::BadMethod(method.to_string()));
    }
    Ok(())
}

fn check_target_uri(uri: &str) -> std::result::Result<(), AuthError> {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        && uri.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        return Err(AuthError::BadTargetUri(uri.to_string()));
    }
    Ok(())
}

fn check_nonce(nonce: &str) -> std::result::Result<(), AuthError> {
    let what = if !(NONCE_MIN..=NONCE_MAX).contains(&nonce.len()) {
        format!("{} characters, not {NONCE_MIN} to {NONCE_MAX}", nonce.len())
    } else if !nonce
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        "characters outside [A-Za-z0-9_-]".to_string()
    } else {
        return Ok(());
    };
    Err(AuthError::BadParam {
        param: "nonce",
        what,
    })
}

fn malformed(field: &'static str, what: impl Into<String>) -> AuthError {
    AuthError::Malformed {
        field,
        what: what.into(),
    }
}

/// Split `label=rest` of a one-member dictionary, checking the label.
fn split_label<'a>(field: &'static str, value: &'a str) -> std::result::Result<&'a str, AuthError> {
    let Some((label, rest)) = value.split_once('=') else {
        return Err(malformed(field, "not a dictionary member label=value"));
    };
    let is_key = label
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'*')
        && label.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.' | b'*')
        });
    if !is_key {
        return Err(malformed(field, "not a dictionary member label=value"));
    }
    if label != LABEL {
        return Err(AuthError::WrongLabel(label.to_string()));
    }
    Ok(rest)
}

/// The `keyid` a request claims, if its `Signature-Input` parses (to look the key up
/// before [`verify_request`] runs).
pub fn claimed_keyid(signature_input: Option<&str>) -> Option<Fingerprint> {
    parse_signature_input(signature_input?)
        .ok()
        .map(|p| p.keyid)
}

/// Parse `Signature-Input` (see the module documentation for the one form admitted).
pub fn parse_signature_input(value: &str) -> std::result::Result<SignatureParams, AuthError> {
    const F: &str = "Signature-Input";
    let rest = split_label(F, value)?;
    let Some(mut rest) = rest.strip_prefix(COMPONENTS) else {
        return Err(if rest.starts_with('(') {
            AuthError::WrongComponents
        } else {
            malformed(F, "the member is not an inner list")
        });
    };
    let mut seen: Vec<(String, String)> = Vec::new();
    while let Some(after) = rest.strip_prefix(';') {
        let name_len = after
            .bytes()
            .take_while(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'_' | b'-' | b'.' | b'*')
            })
            .count();
        let (name, after) = after.split_at(name_len);
        if name.is_empty() {
            return Err(malformed(F, "a parameter has no name"));
        }
        let after = after
            .strip_prefix('=')
            .ok_or_else(|| malformed(F, format!("parameter {name:?} has no value")))?;
        let (raw, after) = parse_bare_item(after).ok_or_else(|| {
            malformed(F, format!("parameter {name:?}: not an integer or a string"))
        })?;
        if !PARAMS.contains(&name) {
            return Err(AuthError::UnknownParam(name.to_string()));
        }
        if seen.iter().any(|(n, _)| n == name) {
            return Err(AuthError::DuplicateParam(name.to_string()));
        }
        seen.push((name.to_string(), raw.to_string()));
        rest = after;
    }
    if !rest.is_empty() {
        return Err(malformed(
            F,
            "unexpected text after the parameters (one signature, no whitespace)",
        ));
    }
    for p in PARAMS {
        if !seen.iter().any(|(n, _)| n == p) {
            return Err(AuthError::MissingParam(p));
        }
    }
    if seen.iter().map(|(n, _)| n.as_str()).ne(PARAMS) {
        return Err(AuthError::ParamOrder);
    }
    params_from(&seen)
}

/// Type-check the four parameters (in [`PARAMS`] order; strings still quoted).
fn params_from(seen: &[(String, String)]) -> std::result::Result<SignatureParams, AuthError> {
    let bad = |param, what: &str| AuthError::BadParam {
        param,
        what: what.to_string(),
    };
    let string = |param, raw: &str| {
        raw.strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .map(str::to_string)
            .ok_or_else(|| bad(param, "not a string"))
    };
    let created_raw = &seen[0].1;
    let created = if created_raw.starts_with('"') {
        return Err(bad("created", "not an integer"));
    } else {
        created_raw
            .parse::<i64>()
            .map_err(|_| bad("created", "not an integer"))?
    };
    if created < 0 {
        return Err(bad("created", "negative"));
    }
    let keyid = Fingerprint::parse(&string("keyid", &seen[1].1)?)
        .ok_or_else(|| bad("keyid", "not a key fingerprint (64 lowercase hex digits)"))?;
    let nonce = string("nonce", &seen[2].1)?;
    check_nonce(&nonce)?;
    let alg = string("alg", &seen[3].1)?;
    if alg != "ed25519" {
        return Err(bad("alg", "must be \"ed25519\""));
    }
    Ok(SignatureParams {
        created,
        keyid,
        nonce,
    })
}

/// One RFC 8941 bare item of the kinds used here: an integer (`-?[0-9]{1,15}`) or a string
/// without escapes (`"…"`, printable ASCII other than `"` and `\`). Returns the item's text
/// (strings with their quotes) and what follows.
fn parse_bare_item(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    if b.first() == Some(&b'"') {
        let end = 1 + b[1..].iter().position(|&c| c == b'"')?;
        let inner = &b[1..end];
        if !inner
            .iter()
            .all(|&c| (0x20..0x7f).contains(&c) && c != b'\\')
        {
            return None;
        }
        return Some(s.split_at(end + 1));
    }
    let sign = usize::from(b.first() == Some(&b'-'));
    let digits = b[sign..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 15 {
        return None;
    }
    Some(s.split_at(sign + digits))
}

/// Parse `Signature`: `vouch=:<base64 of 64 bytes>:`.
pub fn parse_signature(value: &str) -> std::result::Result<[u8; 64], AuthError> {
    const F: &str = "Signature";
    let rest = split_label(F, value)?;
    let b64 = rest
        .strip_prefix(':')
        .and_then(|r| r.strip_suffix(':'))
        .filter(|r| !r.contains(':'))
        .ok_or_else(|| malformed(F, "the member is not one byte sequence :…:"))?;
    let bytes = base64_decode(b64).ok_or_else(|| malformed(F, "not canonical padded base64"))?;
    <[u8; 64]>::try_from(bytes.as_slice()).map_err(|_| {
        malformed(
            F,
            format!("{} bytes, not a 64-byte Ed25519 signature", bytes.len()),
        )
    })
}

/// Check `Content-Digest` is `sha-256=:<base64>:` and the digest of `body`.
fn check_digest(value: &str, body_sha256: &[u8; 32]) -> std::result::Result<(), AuthError> {
    const F: &str = "Content-Digest";
    let b64 = value
        .strip_prefix("sha-256=:")
        .and_then(|r| r.strip_suffix(':'))
        .filter(|r| !r.contains(':'))
        .ok_or_else(|| malformed(F, "must be exactly one member sha-256=:<base64>:"))?;
    let bytes = base64_decode(b64).ok_or_else(|| malformed(F, "not canonical padded base64"))?;
    if bytes.len() != 32 {
        return Err(malformed(
            F,
            format!("{} bytes, not a SHA-256 digest", bytes.len()),
        ));
    }
    if bytes != body_sha256 {
        return Err(AuthError::DigestMismatch);
    }
    Ok(())
}

#[cfg(test)]
#[path = "http_sig_tests.rs"]
mod tests;
