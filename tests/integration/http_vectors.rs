//! Golden test vectors for request signatures (`schema/PROTOCOL.md` §3).
//!
//! `tests/vectors/http/` holds, for three requests, the exact signature base
//! (`base-N.txt`, no LF after the last line, RFC 9421 §2.5) and the whole request as it
//! goes on the wire (`request-N.http`, CRLF line ends), signed with the seed keys of the
//! ledger vectors (`tests/vectors/vectors.rs`), a fixed `created` and fixed nonces. They are
//! rebuilt here through `vouch::protocol::http_sig` and compared byte for byte; set
//! `VOUCH_BLESS=1` to rewrite them after a deliberate change (which also needs a protocol
//! change in `PROTOCOL.md`). CI checks them with OpenSSL and with an RFC 9421 library
//! nobody here wrote (`.ci/check_http_sig.py`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vouch::crypto::{Fingerprint, PublicKey, SecretKey, sha256};
use vouch::protocol::http_sig::{
    ReceivedHeaders, content_digest, parse_signature_input, sign_request, signature_base,
    verify_request,
};
use vouch::protocol::replay::MemoryNonces;

const LEDGER_ID: &str = "0123456789abcdef0123456789abcdef";
const AUTHORITY: &str = "vouch.example.net";
/// 2026-07-15T08:00:00Z.
const CREATED: i64 = 1_784_102_400;
/// The stored artefact of the ledger vectors (`tests/vectors/v2/artifact-restore-2026-07-15.log`).
const ARTIFACT: &[u8] =
    b"restore of bk-2026-07-14 complete: 12 GiB in 41 min, checksums verified\n";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/http")
}

fn key(name: &str) -> SecretKey {
    SecretKey::from_seed(&sha256(format!("vouch test vector key: {name}").as_bytes()))
}

/// One vector request: signer, method, path and query, content type, body, nonce.
struct Vector {
    signer: &'static str,
    method: &'static str,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    nonce: &'static str,
}

fn vectors() -> Vec<Vector> {
    let head = hex::encode(sha256(b"vouch http vector: head 13"));
    vec![
        Vector {
            signer: "customer",
            method: "POST",
            path: format!("/v1/ledgers/{LEDGER_ID}/entries"),
            content_type: Some("application/json"),
            body: format!(r#"{{"base":{{"hash":"{head}","seq":13}},"entries":[]}}"#).into_bytes(),
            nonce: "vector-1-Zm9yIHRoZSBwb3N0",
        },
        Vector {
            signer: "customer",
            method: "GET",
            path: format!("/v1/ledgers/{LEDGER_ID}/entries?after=12&limit=100"),
            content_type: None,
            body: Vec::new(),
            nonce: "vector-2_ZW1wdHkgYm9keQ",
        },
        Vector {
            signer: "provider",
            method: "PUT",
            path: format!(
                "/v1/ledgers/{LEDGER_ID}/artifacts/{}",
                hex::encode(sha256(ARTIFACT))
            ),
            content_type: Some("application/octet-stream"),
            body: ARTIFACT.to_vec(),
            nonce: "vector-3-YW4gYXJ0ZWZhY3Q",
        },
    ]
}

/// The files of `tests/vectors/http/`, by name.
fn expected() -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for name in ["customer", "provider"] {
        files.insert(
            format!("{name}.pub"),
            key(name).public().to_pem().into_bytes(),
        );
    }
    for (i, v) in vectors().iter().enumerate() {
        let n = i + 1;
        let uri = format!("https://{AUTHORITY}{}", v.path);
        let h = sign_request(&key(v.signer), v.method, &uri, &v.body, CREATED, v.nonce).unwrap();
        let params = parse_signature_input(&h.signature_input).unwrap();
        let base = signature_base(v.method, &uri, &h.content_digest, &params);
        files.insert(format!("base-{n}.txt"), base.into_bytes());
        let mut req = format!("{} {} HTTP/1.1\r\nHost: {AUTHORITY}\r\n", v.method, v.path);
        if let Some(ct) = v.content_type {
            req += &format!("Content-Type: {ct}\r\nContent-Length: {}\r\n", v.body.len());
        }
        req += &format!(
            "Content-Digest: {}\r\nSignature-Input: {}\r\nSignature: {}\r\n\r\n",
            h.content_digest, h.signature_input, h.signature
        );
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(&v.body);
        files.insert(format!("request-{n}.http"), bytes);
    }
    files
}

#[test]
fn http_vectors_match_byte_for_byte() {
    let files = expected();
    let dir = dir();
    if std::env::var_os("VOUCH_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    for (name, bytes) in &files {
        let got = std::fs::read(dir.join(name))
            .unwrap_or_else(|_| panic!("{}/{name} missing", dir.display()));
        assert!(
            got == *bytes,
            "{}/{name} differs from what the code produces",
            dir.display()
        );
    }
}

/// A request file split into request line, header fields and body.
fn parse_http(bytes: &[u8]) -> (String, String, BTreeMap<String, String>, Vec<u8>) {
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = std::str::from_utf8(&bytes[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap().split(' ');
    let method = request_line.next().unwrap().to_string();
    let path = request_line.next().unwrap().to_string();
    assert_eq!(request_line.next(), Some("HTTP/1.1"));
    let fields = lines
        .map(|l| {
            let (k, v) = l.split_once(": ").unwrap();
            (k.to_ascii_lowercase(), v.to_string())
        })
        .collect();
    (method, path, fields, bytes[split + 4..].to_vec())
}

/// The stored request files verify as a server would verify them (URI rebuilt from Host
/// and the request target), their bases are the stored bases, and each is refused when
/// replayed or when one byte of the body changes.
#[test]
fn http_vectors_verify_as_a_server_reads_them() {
    let keys: Vec<PublicKey> = ["customer", "provider"]
        .iter()
        .map(|n| {
            PublicKey::from_pem(&std::fs::read_to_string(dir().join(format!("{n}.pub"))).unwrap())
                .unwrap()
        })
        .collect();
    let lookup = |f: &Fingerprint| keys.iter().find(|k| k.fingerprint() == *f).copied();
    let mut cache = MemoryNonces::default();
    for n in 1..=3 {
        let bytes = std::fs::read(dir().join(format!("request-{n}.http"))).unwrap();
        let (method, path, fields, body) = parse_http(&bytes);
        let uri = format!("https://{}{path}", fields["host"]);
        let h = ReceivedHeaders {
            content_digest: fields.get("content-digest").map(String::as_str),
            signature_input: fields.get("signature-input").map(String::as_str),
            signature: fields.get("signature").map(String::as_str),
        };
        assert_eq!(fields["content-digest"], content_digest(&body));
        let params = parse_signature_input(h.signature_input.unwrap()).unwrap();
        let base = signature_base(&method, &uri, &fields["content-digest"], &params);
        assert_eq!(
            base.as_bytes(),
            std::fs::read(dir().join(format!("base-{n}.txt"))).unwrap()
        );
        let mut tampered = body.clone();
        tampered.push(b' ');
        assert!(
            verify_request(
                &method,
                &uri,
                &tampered,
                &h,
                CREATED + 60,
                lookup,
                &mut cache
            )
            .is_err()
        );
        let who =
            verify_request(&method, &uri, &body, &h, CREATED + 60, lookup, &mut cache).unwrap();
        assert_eq!(who, params.keyid);
        assert!(
            verify_request(&method, &uri, &body, &h, CREATED + 61, lookup, &mut cache).is_err()
        );
    }
}
