//! Error answers: RFC 9457 problem documents (`schema/PROTOCOL.md` §4), `detail` being
//! vouch's message and `hint` its hint, with the extension members of each type.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::ledger::extend::Head;

/// One problem document.
#[derive(Debug, Clone)]
pub struct Problem {
    /// HTTP status.
    pub status: u16,
    /// The type, after `urn:vouch:problem:`.
    pub kind: &'static str,
    /// What vouch says went wrong.
    pub detail: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Extension members.
    pub extra: Map<String, Value>,
    /// `Retry-After` seconds (503).
    pub retry_after: Option<u32>,
}

/// The title of each problem type.
fn title(kind: &str) -> &'static str {
    match kind {
        "bad-request" => "bad request",
        "signature" => "the request signature does not verify",
        "forbidden" => "forbidden",
        "not-found" => "not found",
        "timeout" => "request too slow",
        "head-moved" => "the head moved",
        "exists" => "the ledger exists",
        "too-large" => "request too large",
        "rejected" => "entries rejected",
        "unavailable" => "unavailable",
        _ => "internal error",
    }
}

impl Problem {
    /// A problem of `kind` with `status`, from an error's message and hint.
    pub fn new(status: u16, kind: &'static str, e: &Error) -> Self {
        Self {
            status,
            kind,
            detail: e.message().to_string(),
            hint: e.hint_text().map(str::to_string),
            extra: Map::new(),
            retry_after: None,
        }
    }

    /// Add an extension member.
    #[must_use]
    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.extra.insert(name.to_string(), value);
        self
    }

    /// 400: malformed JSON or parameter.
    pub fn bad_request(e: &Error) -> Self {
        Self::new(400, "bad-request", e)
    }

    /// 404, the same for an unknown ledger and a key not registered in it (§3).
    pub fn not_found(id: &str) -> Self {
        Self::new(
            404,
            "not-found",
            &Error::new(format!(
                "ledger {id}: no such ledger, or the signing key is not registered in it"
            ))
            .hint("check the ledger id, and sign with a key registered in that ledger"),
        )
    }

    /// 408: the body stalled.
    pub fn timeout(secs: u64) -> Self {
        Self::new(
            408,
            "timeout",
            &Error::new(format!("the request body stalled for {secs} s"))
                .hint("send the body without pauses"),
        )
    }

    /// 413: over `limit` bytes (what is limited, and the limit).
    pub fn too_large(what: &str, limit: u64) -> Self {
        Self::new(
            413,
            "too-large",
            &Error::new(format!("{what} is larger than the limit of {limit} bytes"))
                .hint("see the limits in GET /v1/"),
        )
        .with("limit", json!(limit))
    }

    /// 409: the entries were signed on another head.
    pub fn head_moved(head: Head) -> Self {
        Self::new(
            409,
            "head-moved",
            &Error::new(format!(
                "the ledger's head is entry {} ({}), not the base the entries were signed on",
                head.seq,
                hex::encode(head.hash)
            ))
            .hint("pull, re-sign on the new head and retry"),
        )
        .with("head", head_json(head))
    }

    /// 500: the server could not do it; 503 with `Retry-After` when the failure is of
    /// the moment (the database restarting, every connection busy: [`Error::is_transient`]).
    pub fn internal(e: &Error) -> Self {
        if e.is_transient() {
            let mut p = Self::new(503, "unavailable", e);
            p.retry_after = Some(1);
            return p;
        }
        Self::new(500, "internal", e)
    }

    /// The document's bytes (members sorted, compact: RFC 8785 for these values).
    pub fn body(&self) -> Vec<u8> {
        let mut m = self.extra.clone();
        m.insert("detail".into(), json!(self.detail));
        if let Some(h) = &self.hint {
            m.insert("hint".into(), json!(h));
        }
        m.insert("status".into(), json!(self.status));
        m.insert("title".into(), json!(title(self.kind)));
        m.insert(
            "type".into(),
            json!(format!("urn:vouch:problem:{}", self.kind)),
        );
        serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
    }
}

/// `{"hash","seq"}` of a head.
pub fn head_json(head: Head) -> Value {
    json!({"hash": hex::encode(head.hash), "seq": head.seq})
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (status, self.body()).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_is_canonical_json_with_message_and_hint() {
        let p = Problem::head_moved(Head {
            seq: 7,
            hash: [0xab; 32],
        });
        let body = String::from_utf8(p.body()).unwrap();
        let ab = "ab".repeat(32);
        assert_eq!(
            body,
            format!(
                "{{\"detail\":\"the ledger's head is entry 7 ({ab}), not the base the entries were signed on\",\"head\":{{\"hash\":\"{ab}\",\"seq\":7}},\"hint\":\"pull, re-sign on the new head and retry\",\"status\":409,\"title\":\"the head moved\",\"type\":\"urn:vouch:problem:head-moved\"}}"
            )
        );
        let r = Problem::too_large("the body", 10).into_response();
        assert_eq!(r.status(), 413);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }

    #[test]
    fn not_found_names_no_key() {
        let a = String::from_utf8(Problem::not_found("0123").body()).unwrap();
        // No fingerprint (64 hex digits) in it: only the ledger id of the request line.
        let longest_hex = a
            .split(|c: char| !c.is_ascii_hexdigit())
            .map(str::len)
            .max()
            .unwrap();
        assert!(longest_hex < 64, "{a}");
        assert!(a.contains("ledger 0123: no such ledger"), "{a}");
        assert_eq!(Problem::not_found("0123").status, 404);
    }
}
