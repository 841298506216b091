//! `vouch serve` over loopback (schema/PROTOCOL.md): the real binary as a child process on
//! port 0, the library's client, and raw HTTP for the requests a client would never send.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vouch::crypto::keyfile::load_secret;
use vouch::ledger::extend::Head;
use vouch::protocol::client::{Client, Failure, Line};
use vouch::protocol::http_sig::{new_nonce, sign_request};

use crate::served::Server;
use crate::util::Env;

/// The entries of a local ledger file, as signed.
pub(crate) fn lines_of(db: &Path) -> Vec<Line> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut s = c
        .prepare("SELECT seq, body, signature, payload FROM entries ORDER BY seq")
        .unwrap();
    s.query_map([], |r| {
        Ok(Line {
            seq: r.get::<_, i64>(0)? as u64,
            body: r.get(1)?,
            signature: r.get(2)?,
            payload: r.get(3)?,
        })
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The stored artefacts of a local ledger file, each written to a file: (sha256, file).
fn artifacts_of(env: &Env, db: &Path) -> Vec<(String, PathBuf)> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut s = c.prepare("SELECT sha256, content FROM artifacts").unwrap();
    let rows: Vec<(String, Vec<u8>)> = s
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.into_iter()
        .map(|(sha, bytes)| {
            let f = env.p(&format!("art-{sha}"));
            std::fs::write(&f, bytes).unwrap();
            (sha, f)
        })
        .collect()
}

pub(crate) fn head_of(l: &Line) -> Head {
    Head {
        seq: l.seq,
        hash: vouch::crypto::sha256(&l.body),
    }
}

pub(crate) fn ledger_id(l: &Line) -> String {
    let text = String::from_utf8(l.body.clone()).unwrap();
    text.lines()
        .find_map(|x| x.strip_prefix("ledger: "))
        .unwrap()
        .to_string()
}

/// A raw HTTP/1.1 exchange: the status and the body.
fn raw(addr: &str, head: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).into_owned();
    let status = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_string())
}

/// A request signed by `key` (`created` seconds from now), sent raw: the status and the
/// problem document (or body).
struct Signed {
    head: String,
    body: Vec<u8>,
}

fn signed(
    srv: &Server,
    key: &Path,
    method: &str,
    path: &str,
    body: &[u8],
    created_offset: i64,
) -> Signed {
    let key = load_secret(key).unwrap();
    let url = format!("{}{path}", srv.url);
    let created = chrono::Utc::now().timestamp() + created_offset;
    let h = sign_request(&key, method, &url, body, created, &new_nonce().unwrap()).unwrap();
    Signed {
        head: format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\nContent-Digest: {}\r\nSignature-Input: {}\r\nSignature: {}\r\n\r\n",
            srv.addr(),
            body.len(),
            h.content_digest,
            h.signature_input,
            h.signature
        ),
        body: body.to_vec(),
    }
}

fn send(srv: &Server, s: &Signed) -> (u16, Value) {
    let (status, body) = raw(&srv.addr(), &s.head, &s.body);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn db_bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

/// A two-party ledger with an adopted matrix and one evidence entry with a stored
/// artefact, made locally: its lines go to a server.
fn local_ledger() -> Env {
    let env = Env::adopted();
    std::fs::write(env.p("restore.log"), b"restore ok\n").unwrap();
    env.ok(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-01",
        "--field",
        "backup_id=bk-1",
        "--field",
        "rto_minutes=45",
        "--field",
        "data_verified=true",
        "--artifact",
        "restore.log",
        "--key",
        "customer",
    ]);
    env.ok(&["keygen", "ops"]);
    env.ok(&["keygen", "stranger"]);
    env
}

#[test]
fn parties_share_a_ledger_through_the_server() {
    let env = local_ledger();
    let lines = lines_of(&env.p("ledger.db"));
    assert!(lines.len() >= 5, "{}", lines.len());
    let id = ledger_id(&lines[0]);
    let srv = Server::start(&env, "srv", &["--admin", "keys/ops.pub"]);
    let admin = Client::new(&srv.url, load_secret(&env.p("keys/ops.key")).unwrap(), None).unwrap();
    let provider = Client::new(
        &srv.url,
        load_secret(&env.p("keys/provider.key")).unwrap(),
        None,
    )
    .unwrap();
    let info = provider.info().unwrap();
    assert_eq!(info["protocol"], 1);

    // Create from the genesis entry (admin), then append as a party.
    let created = admin.create_ledger(&lines[0]).unwrap();
    assert!(created.created);
    assert_eq!(created.head, head_of(&lines[0]));
    let again = admin.create_ledger(&lines[0]).unwrap_err();
    assert_eq!(again.status(), 409);
    let a = provider
        .append(&id, head_of(&lines[0]), &lines[1..2])
        .unwrap();
    assert_eq!(a.head, head_of(&lines[1]));

    // The adoption needs its matrix document on the server first; the evidence its
    // artefact. Both are stored artefacts of the local ledger.
    let arts = artifacts_of(&env, &env.p("ledger.db"));
    let db = env.p(&format!("srv/{id}.db"));
    let n = lines.len();
    let before = db_bytes(&db);
    let missing = provider
        .append(&id, head_of(&lines[1]), &lines[2..n])
        .unwrap_err();
    assert_eq!(missing.status(), 422, "{missing:?}");
    assert_eq!(
        db_bytes(&db),
        before,
        "a rejected append changed the ledger"
    );
    for (sha, file) in &arts {
        assert!(!provider.has_artifact(&id, sha).unwrap());
        assert!(provider.put_artifact(&id, sha, file).unwrap());
        assert!(!provider.put_artifact(&id, sha, file).unwrap(), "dedup");
        assert!(provider.has_artifact(&id, sha).unwrap());
        let mut got = Vec::new();
        provider
            .get_artifact(&id, sha)
            .unwrap()
            .read_to_end(&mut got)
            .unwrap();
        assert_eq!(got, std::fs::read(file).unwrap());
    }
    let done = provider
        .append(&id, head_of(&lines[1]), &lines[2..n])
        .unwrap();
    assert!(done.created);
    assert_eq!(done.head, head_of(&lines[n - 1]));
    // The same request again: answered as the first time, nothing written.
    let before = db_bytes(&db);
    let repeat = provider
        .append(&id, head_of(&lines[1]), &lines[2..n])
        .unwrap();
    assert!(!repeat.created);
    assert_eq!(repeat.head, done.head);
    assert_eq!(db_bytes(&db), before);

    // Reading back: the head and every line as the local ledger has it.
    assert_eq!(provider.head(&id).unwrap(), head_of(&lines[n - 1]));
    let mut text = String::new();
    provider
        .entries(&id, 0, 100)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let expected: String = lines
        .iter()
        .map(|l| {
            String::from_utf8(
                vouch::bundle::encode_line(l.seq, &l.body, &l.signature, &l.payload, None).unwrap(),
            )
            .unwrap()
        })
        .collect();
    assert_eq!(text, expected);
    let mut tail = String::new();
    provider
        .entries(&id, n as u64 - 1, 100)
        .unwrap()
        .read_to_string(&mut tail)
        .unwrap();
    assert_eq!(tail.lines().count(), 1);

    // A copy of the server's file verifies locally, artefacts included.
    std::fs::copy(&db, env.p("copy.db")).unwrap();
    env.ok(&["verify", "--ledger", "copy.db", "--artifacts"]);

    // 409: the entry below is signed on the head; sent with an older base, then right.
    env.record("provider", "images.official-patching");
    let more = lines_of(&env.p("ledger.db"));
    let new = &more[n..];
    let customer = Client::new(
        &srv.url,
        load_secret(&env.p("keys/customer.key")).unwrap(),
        None,
    )
    .unwrap();
    match customer.append(&id, head_of(&lines[1]), new) {
        Err(Failure::HeadMoved { head, .. }) => {
            assert_eq!(head, head_of(&lines[n - 1]));
            let ok = customer.append(&id, head, new).unwrap();
            assert_eq!(ok.head, head_of(&more[n]));
        }
        other => panic!("expected head-moved, got {other:?}"),
    }
}

#[test]
fn refused_requests_change_nothing() {
    let env = local_ledger();
    let lines = lines_of(&env.p("ledger.db"));
    let id = ledger_id(&lines[0]);
    let srv = Server::start(&env, "srv", &["--admin", "keys/ops.pub"]);
    let admin = Client::new(&srv.url, load_secret(&env.p("keys/ops.key")).unwrap(), None).unwrap();
    admin.create_ledger(&lines[0]).unwrap();
    let db = env.p(&format!("srv/{id}.db"));
    let before = db_bytes(&db);
    let head_path = format!("/v1/ledgers/{id}/head");

    // Unsigned.
    let (status, body) = raw(
        &srv.addr(),
        &format!("GET {head_path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        b"",
    );
    assert_eq!(status, 401, "{body}");
    let p: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(p["type"], "urn:vouch:problem:signature");
    assert!(p["detail"].as_str().unwrap().contains("missing"), "{p}");

    // Signed, then the signature altered.
    let mut s = signed(&srv, &env.p("keys/provider.key"), "GET", &head_path, b"", 0);
    let (ok, _) = send(&srv, &s);
    assert_eq!(ok, 200);
    let (status, p) = send(&srv, &s);
    assert_eq!(status, 401, "a replay: {p}");
    assert!(
        p["detail"].as_str().unwrap().contains("already used"),
        "{p}"
    );
    s = signed(&srv, &env.p("keys/provider.key"), "GET", &head_path, b"", 0);
    s.head = s
        .head
        .replace("Signature: vouch=:", "Signature: vouch=:AAAA");
    let (status, p) = send(&srv, &s);
    assert_eq!(status, 401, "{p}");

    // Expired.
    let s = signed(
        &srv,
        &env.p("keys/provider.key"),
        "GET",
        &head_path,
        b"",
        -1000,
    );
    let (status, p) = send(&srv, &s);
    assert_eq!(status, 401);
    assert!(p["detail"].as_str().unwrap().contains("window"), "{p}");
    assert!(p["hint"].as_str().unwrap().contains("clock"), "{p}");

    // A key not registered in the ledger, and a ledger that does not exist: one 404.
    let s = signed(&srv, &env.p("keys/stranger.key"), "GET", &head_path, b"", 0);
    let (status, unregistered) = send(&srv, &s);
    assert_eq!(status, 404);
    let other = format!("/v1/ledgers/{}/head", "0".repeat(32));
    let s = signed(&srv, &env.p("keys/provider.key"), "GET", &other, b"", 0);
    let (status, unknown) = send(&srv, &s);
    assert_eq!(status, 404);
    assert_eq!(
        unregistered["detail"].as_str().unwrap().replace(&id, "ID"),
        unknown["detail"]
            .as_str()
            .unwrap()
            .replace(&"0".repeat(32), "ID")
    );
    assert_eq!(unregistered["hint"], unknown["hint"]);

    // An admin call by a party.
    let body = br#"{"entry":"x","payload":"y","seq":1,"signature":"AA=="}"#;
    let s = signed(
        &srv,
        &env.p("keys/provider.key"),
        "POST",
        "/v1/ledgers",
        body,
        0,
    );
    let (status, p) = send(&srv, &s);
    assert_eq!(status, 403, "{p}");
    assert_eq!(p["type"], "urn:vouch:problem:forbidden");

    // Malformed JSON: the member named.
    let entries = format!("/v1/ledgers/{id}/entries");
    let s = signed(
        &srv,
        &env.p("keys/provider.key"),
        "POST",
        &entries,
        br#"{"base":{"seq":1},"entries":[]}"#,
        0,
    );
    let (status, p) = send(&srv, &s);
    assert_eq!(status, 400, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("hash"), "{p}");

    // A body declared over the limit: refused before it is read.
    let (status, body) = raw(
        &srv.addr(),
        &format!(
            "POST {entries} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            (256u64 << 20) + 1
        ),
        b"{",
    );
    assert_eq!(status, 413, "{body}");
    let p: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(p["limit"], 256u64 << 20);

    // An entry the rules refuse (the party entry with its signature broken): 422.
    let mut bad = lines[1].clone();
    bad.signature[0] ^= 1;
    let provider = Client::new(
        &srv.url,
        load_secret(&env.p("keys/provider.key")).unwrap(),
        None,
    )
    .unwrap();
    let r = provider
        .append(&id, head_of(&lines[0]), &[bad])
        .unwrap_err();
    assert_eq!(r.status(), 422, "{r:?}");
    assert!(vouch::Error::from(r).message().contains("entry 2"));

    assert_eq!(
        db_bytes(&db),
        before,
        "a refused request changed the ledger"
    );
}

#[test]
fn plain_http_only_on_loopback() {
    let env = Env::new();
    std::fs::create_dir(env.p("srv")).unwrap();
    let r = env.fails(&["serve", "--data", "srv", "--listen", "0.0.0.0:0"]);
    assert!(r.stderr.contains("loopback"), "{}", r.stderr);
    assert!(r.stderr.contains("--tls-cert"), "{}", r.stderr);
}

#[test]
fn a_tls_server_is_reached_with_its_ca() {
    let env = local_ledger();
    let lines = lines_of(&env.p("ledger.db"));
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    std::fs::write(env.p("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(env.p("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let srv = Server::start(
        &env,
        "srv",
        &[
            "--admin",
            "keys/ops.pub",
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "key.pem",
        ],
    );
    assert!(srv.url.starts_with("https://127.0.0.1:"), "{}", srv.url);
    // Without the CA the certificate is not trusted.
    let key = || load_secret(&env.p("keys/ops.key")).unwrap();
    let untrusted = Client::new(&srv.url, key(), None).unwrap();
    assert!(untrusted.info().is_err());
    let admin = Client::new(&srv.url, key(), Some(&env.p("cert.pem"))).unwrap();
    assert_eq!(admin.info().unwrap()["protocol"], 1);
    let created = admin.create_ledger(&lines[0]).unwrap();
    assert_eq!(created.head, head_of(&lines[0]));
}
