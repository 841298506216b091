//! The blocking client of the sharing protocol (`schema/PROTOCOL.md`): each request signed
//! with the party's key (§3, a fresh nonce each time), errors read from the server's problem
//! documents (§4) into [`Error`]s carrying its message and hint, and one typed call per
//! resource of §5. TLS through rustls with the ring provider; a private CA (a self-signed
//! server) is trusted with [`Client::new`]'s `ca`.
//!
//! Replicas (`clone`, `pull`, `push`, writing through a remote) are built on these calls.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use ureq::Agent;
use ureq::http::Response;
use ureq::tls::{PemItem, RootCerts, TlsConfig};

use super::http_sig::{self, SignedHeaders};
use crate::bundle::encode_line;
use crate::crypto::{SecretKey, sha256};
use crate::error::{Error, Result};
use crate::ledger::extend::Head;

mod witness;

pub use witness::{Cosigned, Witnessed};

/// Longest problem document read.
const MAX_PROBLEM: u64 = 1 << 20;

/// A client of one server, signing with one key.
pub struct Client {
    agent: Agent,
    /// The server's public URL, without a trailing slash.
    base: String,
    key: SecretKey,
}

/// Why a request failed.
#[derive(Debug)]
pub enum Failure {
    /// 409 `head-moved`: the entries were signed on another head; the server's head.
    HeadMoved {
        /// The server's head.
        head: Head,
        /// The server's message.
        error: Error,
    },
    /// Any other failure: the server's problem (its status, detail and hint), or the
    /// transport.
    Other {
        /// The HTTP status (0: no answer).
        status: u16,
        /// The message.
        error: Error,
    },
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Self {
        match f {
            Failure::HeadMoved { error, .. } | Failure::Other { error, .. } => error,
        }
    }
}

impl Failure {
    /// The HTTP status (409 for a moved head, 0 when there was no answer).
    pub fn status(&self) -> u16 {
        match self {
            Failure::HeadMoved { .. } => 409,
            Failure::Other { status, .. } => *status,
        }
    }
}

/// What an append or a ledger creation did (§6.1, §6.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The ledger's head afterwards.
    pub head: Head,
    /// `false`: the entries were there already (a repeat, §6.3).
    pub created: bool,
    /// The server's receipt (§11.2): its signed checkpoint of the ledger after the write,
    /// when the server has a key. Not verified here: see [`Client::checkpoint`].
    pub receipt: Option<String>,
}

/// `{"hash","seq"}` as the server writes it.
#[derive(Deserialize)]
struct HeadJson {
    hash: String,
    seq: u64,
}

impl HeadJson {
    fn head(&self) -> Option<Head> {
        let h = hex::decode(&self.hash).ok()?;
        Some(Head {
            seq: self.seq,
            hash: <[u8; 32]>::try_from(h).ok()?,
        })
    }
}

fn transport(url: &str, e: &ureq::Error) -> Failure {
    Failure::Other {
        status: 0,
        error: Error::new(format!("{url}: {e}"))
            .hint("check the server's URL and that it is running (and --ca for a private CA)"),
    }
}

/// Read a problem document into a [`Failure`].
fn problem(url: &str, mut r: Response<ureq::Body>) -> Failure {
    let status = r.status().as_u16();
    let text = r
        .body_mut()
        .with_config()
        .limit(MAX_PROBLEM)
        .read_to_string()
        .unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let detail = v["detail"]
        .as_str()
        .map_or_else(|| format!("{url}: HTTP status {status}"), str::to_string);
    let mut error = Error::new(detail);
    if let Some(h) = v["hint"].as_str() {
        error = error.hint(h);
    }
    if v["type"] == "urn:vouch:problem:head-moved"
        && let Some(head) = serde_json::from_value::<HeadJson>(v["head"].clone())
            .ok()
            .and_then(|h| h.head())
    {
        return Failure::HeadMoved { head, error };
    }
    Failure::Other { status, error }
}

fn bad_answer(url: &str, what: impl std::fmt::Display) -> Failure {
    Failure::Other {
        status: 0,
        error: Error::new(format!("{url}: unexpected answer: {what}"))
            .hint("is this a vouch server of protocol version 1?"),
    }
}

impl Client {
    /// A client of the server at `url` (its public URL), signing with `key`; `ca`: a PEM
    /// file of certificates to trust instead of the public roots.
    ///
    /// # Errors
    ///
    /// A URL that is not http(s), an unreadable CA file.
    pub fn new(url: &str, key: SecretKey, ca: Option<&Path>) -> Result<Self> {
        let base = url.trim_end_matches('/').to_string();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(Error::new(format!("{url:?} is not an http(s) URL"))
                .hint("for example https://vouch.example.net"));
        }
        let mut tls = TlsConfig::builder();
        if let Some(ca) = ca {
            let pem = std::fs::read(ca).map_err(|e| Error::io(ca, &e))?;
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|i| match i {
                    Ok(PemItem::Certificate(c)) => Some(c.to_owned()),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(Error::new(format!("{}: no PEM certificate", ca.display()))
                    .hint("give the CA (or self-signed) certificate the server's is issued by"));
            }
            tls = tls.root_certs(RootCerts::Specific(Arc::new(certs)));
        }
        let agent: Agent = Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .build()
            .into();
        Ok(Self { agent, base, key })
    }

    /// The server's public URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Signed headers for a request whose body has SHA-256 `digest`.
    fn sign(&self, method: &str, url: &str, digest: &[u8; 32]) -> Result<SignedHeaders, Failure> {
        let nonce = http_sig::new_nonce().map_err(|error| Failure::Other { status: 0, error })?;
        let now = crate::clock::now().timestamp();
        http_sig::sign_request_digest(&self.key, method, url, digest, now, &nonce)
            .map_err(|error| Failure::Other { status: 0, error })
    }

    /// Send a signed request with `body` (read from `src` when given, else `bytes`).
    fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Body<'_>,
    ) -> Result<Response<ureq::Body>, Failure> {
        let url = format!("{}{path}", self.base);
        let digest = match &body {
            Body::Bytes(b) => sha256(b),
            Body::File(_, d, _) => *d,
        };
        let s = self.sign(method, &url, &digest)?;
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("content-digest", &s.content_digest)
            .header("signature-input", &s.signature_input)
            .header("signature", &s.signature);
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        let r = match body {
            Body::Bytes(b) => {
                let req = req.body(b.to_vec()).map_err(|e| bad_answer(&url, e))?;
                self.agent.run(req)
            }
            Body::File(f, _, len) => {
                let req = req
                    .header("content-length", len)
                    .body(ureq::SendBody::from_owned_reader(f))
                    .map_err(|e| bad_answer(&url, e))?;
                self.agent.run(req)
            }
        }
        .map_err(|e| transport(&url, &e))?;
        if r.status().as_u16() >= 400 {
            return Err(problem(&url, r));
        }
        Ok(r)
    }

    /// A JSON answer.
    fn json(&self, path: &str, mut r: Response<ureq::Body>) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.base);
        let text = r
            .body_mut()
            .with_config()
            .limit(MAX_PROBLEM)
            .read_to_string()
            .map_err(|e| bad_answer(&url, e))?;
        serde_json::from_str(&text).map_err(|e| bad_answer(&url, e))
    }

    /// `GET /v1/`: the server's versions and limits (unsigned).
    ///
    /// # Errors
    ///
    /// The transport, or an answer that is not JSON.
    pub fn info(&self) -> Result<Value, Failure> {
        let url = format!("{}/v1/", self.base);
        let r = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| transport(&url, &e))?;
        if r.status().as_u16() >= 400 {
            return Err(problem(&url, r));
        }
        self.json("/v1/", r)
    }

    /// The `{"head":…}` of an answer.
    fn appended(&self, path: &str, r: Response<ureq::Body>) -> Result<Appended, Failure> {
        let created = r.status().as_u16() == 201;
        let v = self.json(path, r)?;
        let head = serde_json::from_value::<HeadJson>(v["head"].clone())
            .ok()
            .and_then(|h| h.head())
            .ok_or_else(|| bad_answer(path, "no head"))?;
        let receipt = v["receipt"].as_str().map(str::to_string);
        Ok(Appended {
            head,
            created,
            receipt,
        })
    }

    /// `POST /v1/ledgers` (admin key): create a ledger from its genesis entry (§6.1).
    ///
    /// # Errors
    ///
    /// The server's refusal.
    pub fn create_ledger(&self, genesis: &Line) -> Result<Appended, Failure> {
        let body = serde_json::to_vec(&genesis.json()?).map_err(|e| bad_answer("", e))?;
        let path = "/v1/ledgers";
        let r = self.send("POST", path, Some("application/json"), Body::Bytes(&body))?;
        self.appended(path, r)
    }

    /// `PUT /v1/ledgers/{id}` (admin key): upload a whole ledger (§6.2) from `file`, its
    /// JSON lines (documents first, then `FORMAT.md` §16.2 entry lines), streamed.
    ///
    /// # Errors
    ///
    /// An unreadable file, the server's refusal.
    pub fn upload_ledger(&self, id: &str, file: &Path) -> Result<Appended, Failure> {
        let local = |e: std::io::Error| Failure::Other {
            status: 0,
            error: Error::io(file, &e),
        };
        let mut f = std::fs::File::open(file).map_err(local)?;
        let mut h = crate::crypto::Hasher::default();
        let mut buf = vec![0u8; 1 << 16];
        let mut len = 0u64;
        loop {
            let n = f.read(&mut buf).map_err(local)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            len += n as u64;
        }
        let f = std::fs::File::open(file).map_err(local)?;
        let path = format!("/v1/ledgers/{id}");
        let r = self.send(
            "PUT",
            &path,
            Some("application/jsonl"),
            Body::File(Box::new(f), h.finish(), len),
        )?;
        self.appended(&path, r)
    }

    /// `GET …/head`.
    ///
    /// # Errors
    ///
    /// The server's refusal.
    pub fn head(&self, id: &str) -> Result<Head, Failure> {
        let path = format!("/v1/ledgers/{id}/head");
        let r = self.send("GET", &path, None, Body::Bytes(&[]))?;
        let v = self.json(&path, r)?;
        serde_json::from_value::<HeadJson>(v)
            .ok()
            .and_then(|h| h.head())
            .ok_or_else(|| bad_answer(&path, "not a head"))
    }

    /// `GET …/entries?after=N&limit=M`: a reader of `FORMAT.md` §16.2 lines (§6.4).
    ///
    /// # Errors
    ///
    /// The server's refusal.
    pub fn entries(
        &self,
        id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Box<dyn BufRead + Send>, Failure> {
        let path = format!("/v1/ledgers/{id}/entries?after={after}&limit={limit}");
        let r = self.send("GET", &path, None, Body::Bytes(&[]))?;
        Ok(Box::new(BufReader::new(
            r.into_body().into_with_config().limit(u64::MAX).reader(),
        )))
    }

    /// `POST …/entries`: append entries signed on `base` (§6.5).
    ///
    /// # Errors
    ///
    /// [`Failure::HeadMoved`] with the server's head, or the server's refusal.
    pub fn append(&self, id: &str, base: Head, lines: &[Line]) -> Result<Appended, Failure> {
        let entries = lines
            .iter()
            .map(Line::json)
            .collect::<Result<Vec<_>, _>>()?;
        let body = json!({
            "base": {"hash": hex::encode(base.hash), "seq": base.seq},
            "entries": entries,
        });
        let body = serde_json::to_vec(&body).map_err(|e| bad_answer("", e))?;
        let path = format!("/v1/ledgers/{id}/entries");
        let r = self.send("POST", &path, Some("application/json"), Body::Bytes(&body))?;
        self.appended(&path, r)
    }

    /// `PUT …/artifacts/{sha256}` from `file` (its SHA-256 is `sha256`), streamed. Returns
    /// whether it was stored now (`false`: the server had it).
    ///
    /// # Errors
    ///
    /// An unreadable file, the server's refusal.
    pub fn put_artifact(&self, id: &str, sha256: &str, file: &Path) -> Result<bool, Failure> {
        let local = |e: std::io::Error| Failure::Other {
            status: 0,
            error: Error::io(file, &e),
        };
        let digest = hex::decode(sha256)
            .ok()
            .and_then(|d| <[u8; 32]>::try_from(d).ok())
            .ok_or_else(|| Failure::Other {
                status: 0,
                error: Error::new(format!("{sha256:?} is not a SHA-256")),
            })?;
        let f = std::fs::File::open(file).map_err(local)?;
        let len = f.metadata().map_err(local)?.len();
        let path = format!("/v1/ledgers/{id}/artifacts/{sha256}");
        let r = self.send(
            "PUT",
            &path,
            Some("application/octet-stream"),
            Body::File(Box::new(f), digest, len),
        )?;
        Ok(r.status().as_u16() == 201)
    }

    /// `PUT …/artifacts/{sha256}` of `bytes` (small artefacts and documents). Returns
    /// whether it was stored now.
    ///
    /// # Errors
    ///
    /// The server's refusal.
    pub fn put_artifact_bytes(&self, id: &str, bytes: &[u8]) -> Result<bool, Failure> {
        let path = format!("/v1/ledgers/{id}/artifacts/{}", hex::encode(sha256(bytes)));
        let r = self.send(
            "PUT",
            &path,
            Some("application/octet-stream"),
            Body::Bytes(bytes),
        )?;
        Ok(r.status().as_u16() == 201)
    }

    /// `HEAD …/artifacts/{sha256}`: whether the server has it.
    ///
    /// # Errors
    ///
    /// The server's refusal other than "no such artefact".
    pub fn has_artifact(&self, id: &str, sha256: &str) -> Result<bool, Failure> {
        let path = format!("/v1/ledgers/{id}/artifacts/{sha256}");
        match self.send("HEAD", &path, None, Body::Bytes(&[])) {
            Ok(_) => Ok(true),
            // A HEAD answer has no body: a 404 here is the artefact's (the ledger's own
            // 404 comes on every other call too).
            Err(Failure::Other { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `GET …/artifacts/{sha256}`: a reader of its bytes.
    ///
    /// # Errors
    ///
    /// The server's refusal.
    pub fn get_artifact(&self, id: &str, sha256: &str) -> Result<Box<dyn Read + Send>, Failure> {
        let path = format!("/v1/ledgers/{id}/artifacts/{sha256}");
        let r = self.send("GET", &path, None, Body::Bytes(&[]))?;
        Ok(Box::new(
            r.into_body().into_with_config().limit(u64::MAX).reader(),
        ))
    }
}

/// A request body: bytes, or a file with its SHA-256 and length.
enum Body<'a> {
    Bytes(&'a [u8]),
    File(Box<dyn Read + Send + Sync>, [u8; 32], u64),
}

/// One entry as signed (`FORMAT.md` §16.2 without a proof).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The entry's seq.
    pub seq: u64,
    /// The exact entry text.
    pub body: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
    /// The exact payload bytes.
    pub payload: Vec<u8>,
}

impl Line {
    /// The line's JSON object.
    fn json(&self) -> Result<Value, Failure> {
        let line = encode_line(self.seq, &self.body, &self.signature, &self.payload, None)
            .map_err(|error| Failure::Other { status: 0, error })?;
        serde_json::from_slice(&line).map_err(|e| bad_answer("", e))
    }
}
