//! `vouch serve --database postgres://…`: the real binary as child processes on port 0,
//! the library's client over loopback, and a real PostgreSQL server (the private test
//! server of `src/ledger/store/postgres_test_cluster.rs`, or a test's own for a restart).
//!
//! The entries are signed here, on whatever head the server has (as a party's own ledger
//! would sign them), so that writers can race each other and re-sign on `409`.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::Path;
use std::time::{Duration, Instant};

use vouch::bundle::decode_line;
use vouch::crypto::SecretKey;
use vouch::format::entry::{EntryHeader, Kind, LedgerId, Version};
use vouch::format::payload::Role;
use vouch::ledger::evidence::{self, EvidenceInput};
use vouch::ledger::extend::{self, ExtendOptions, Head};
use vouch::ledger::{Access, Ledger, NewParty};
use vouch::protocol::client::{Client, Failure, Line};

use crate::postgres::cluster;
use crate::serve::head_of;
use crate::served::Server;
use crate::util::Env;

/// `vouch serve --admin keys/ops.pub ARGS…` on loopback.
fn start(env: &Env, args: &[&str]) -> Server {
    let mut all = vec!["--admin", "keys/ops.pub"];
    all.extend_from_slice(args);
    Server::spawn(env, &all)
}

/// [`start`] on the PostgreSQL database `url`.
fn on_database(env: &Env, url: &str) -> Server {
    start(env, &["--database", url])
}

/// A two-party ledger with the Cloud Temple matrix adopted, made locally: its three
/// lines, the matrix document and the customer's key (which signs the evidence).
struct Base {
    /// The entries' time: when the fixture was made (a server refuses entries dated more
    /// than 5 minutes from its clock), after every `performed_at` below.
    t0: chrono::DateTime<chrono::Utc>,
    id: LedgerId,
    lines: Vec<Line>,
    matrix: (String, Vec<u8>),
    customer: SecretKey,
}

impl Base {
    fn new(dir: &Path, n: u8) -> Self {
        let t0 = vouch::clock::now();
        let (provider, customer) = (
            SecretKey::from_seed(&[1; 32]),
            SecretKey::from_seed(&[2; 32]),
        );
        let party = |id: &str, role| NewParty {
            id: id.into(),
            name: id.into(),
            role,
        };
        let path = dir.join(format!("base-{n}.db"));
        let mut id = [0x5a; 16];
        id[15] = n;
        let (mut l, _) = Ledger::init(
            &path,
            LedgerId(id),
            &party("provider", Role::Provider),
            &provider,
            t0,
        )
        .unwrap();
        l.add_party(&party("customer", Role::Customer), &customer, &provider, t0)
            .unwrap();
        let text = vouch::demo::MATRIX.as_bytes().to_vec();
        let m = vouch::matrix::Matrix::parse(vouch::demo::MATRIX, "ct.toml").unwrap();
        let mref = vouch::attestation::adopted::matrix_ref(&m, &text);
        let bindings = [("provider", "provider"), ("customer", "customer")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        l.adopt(&provider, mref, text.clone(), bindings, vec![], t0)
            .unwrap();
        let lines = l
            .entries_after(0, 10)
            .unwrap()
            .into_iter()
            .map(|e| Line {
                seq: e.seq(),
                body: e.body,
                signature: e.signature,
                payload: e.payload,
            })
            .collect();
        let sha = hex::encode(vouch::crypto::sha256(&text));
        Base {
            t0,
            id: LedgerId(id),
            lines,
            matrix: (sha, text),
            customer,
        }
    }

    fn id(&self) -> String {
        self.id.to_string()
    }

    /// Evidence entry number `i` (a restore test with backup id `bk-i`), signed by the
    /// customer on `head`.
    fn evidence(&self, head: Head, i: usize) -> Line {
        let t0 = self.t0;
        let mut fields = std::collections::BTreeMap::new();
        fields.insert(
            "backup_id".to_string(),
            serde_json::json!(format!("bk-{i}")),
        );
        fields.insert("rto_minutes".to_string(), serde_json::json!(45));
        fields.insert("data_verified".to_string(), serde_json::json!(true));
        let input = EvidenceInput {
            item: "backup.restore-tests".into(),
            kind: "restore-test".into(),
            outcome: "pass".into(),
            performed_at: "2026-10-01T10:00:00Z".into(),
            fields,
            artifacts: vec![],
            note: None,
            supporting: false,
        };
        let payload = evidence::draft(&input, t0, false).unwrap().payload;
        let header = EntryHeader {
            version: Version::CURRENT,
            ledger: self.id,
            seq: head.seq + 1,
            prev: head.hash,
            time: t0,
            kind: Kind::Evidence,
            signer: self.customer.public().fingerprint(),
            payload: vouch::crypto::sha256(&payload),
        };
        let body = header.encode().into_bytes();
        Line {
            seq: head.seq + 1,
            signature: self.customer.sign(&body).to_vec(),
            body,
            payload,
        }
    }

    /// Create the ledger on a server: genesis (admin), the customer's registration, the
    /// matrix, its adoption (the provider).
    fn seed(&self, env: &Env, srv: &Server) {
        self.seed_with(env, &srv.client(env, "ops"), &srv.client(env, "provider"));
    }

    fn seed_with(&self, env: &Env, admin: &Client, provider: &Client) {
        admin.create_ledger(&self.lines[0]).unwrap();
        let id = self.id();
        provider
            .append(&id, head_of(&self.lines[0]), &self.lines[1..2])
            .unwrap();
        let f = env.p(&format!("matrix-{id}"));
        std::fs::write(&f, &self.matrix.1).unwrap();
        provider.put_artifact(&id, &self.matrix.0, &f).unwrap();
        provider
            .append(&id, head_of(&self.lines[1]), &self.lines[2..])
            .unwrap();
    }
}

/// Every entry a server has of ledger `id`, read back page by page.
fn served(c: &Client, id: &str) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    loop {
        let mut text = Vec::new();
        let after = out.last().map_or(0, |l| l.seq);
        c.entries(id, after, 500)
            .unwrap()
            .read_to_end(&mut text)
            .unwrap();
        let before = out.len();
        for l in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let e = decode_line(l).unwrap();
            out.push(Line {
                seq: e.seq,
                body: e.body,
                signature: e.signature,
                payload: e.payload,
            });
        }
        if out.len() == before {
            return out;
        }
    }
}

/// A SQLite ledger `name` rebuilt from served lines (and the documents they adopt), then
/// `vouch verify` through the binary: what a party cloning the ledger does.
fn rebuild(env: &Env, name: &str, lines: &[Line], documents: Vec<Vec<u8>>) -> Result<(), String> {
    let opts = ExtendOptions {
        now: chrono::Utc::now(),
        require_artifacts: false,
        documents,
        max_past: None,
    };
    let entries = lines.iter().map(|l| {
        Ok(vouch::bundle::BundleEntry {
            seq: l.seq,
            body: l.body.clone(),
            signature: l.signature.clone(),
            payload: l.payload.clone(),
            proof: None,
        })
    });
    extend::create(&env.p(name), entries, &opts, &mut None).map_err(|r| format!("{r:?}"))?;
    env.ok(&["verify", "--ledger", name]);
    Ok(())
}

/// The backup ids of the evidence among `lines`.
fn backup_ids(lines: &[Line]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_slice(&l.payload).ok()?;
            Some(v["fields"]["backup_id"].as_str()?.to_string())
        })
        .collect()
}

/// What a writer saw.
#[derive(Debug, Default)]
struct Tally {
    appended: usize,
    moved: usize,
    unavailable: usize,
}

/// Append evidence `first..first + n` to `id`, one entry a request, each signed on the
/// head the writer believes in: re-signed on the server's head after a `409`, sent again
/// unchanged after a `503` or no answer (the server answers a repeat as the first time).
/// Any other failure is a wrong answer.
fn write(c: &Client, base: &Base, first: usize, n: usize, deadline: Instant) -> Tally {
    let id = base.id();
    let mut t = Tally::default();
    let mut head = loop {
        match c.head(&id) {
            Ok(h) => break h,
            Err(f) if retryable(&f) && Instant::now() < deadline => {
                t.unavailable += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(f) => panic!("head: {f:?}"),
        }
    };
    for i in first..first + n {
        let mut line = base.evidence(head, i);
        loop {
            match c.append(&id, head, std::slice::from_ref(&line)) {
                Ok(a) => {
                    assert_eq!(a.head, head_of(&line));
                    head = a.head;
                    t.appended += 1;
                    break;
                }
                Err(Failure::HeadMoved { head: h, .. }) => {
                    t.moved += 1;
                    head = h;
                    line = base.evidence(head, i);
                }
                Err(f) if retryable(&f) && Instant::now() < deadline => {
                    t.unavailable += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(f) => panic!("append of bk-{i}: {f:?}"),
            }
        }
    }
    t
}

/// A clear failure of the moment: `503` (with the problem document), or no answer.
fn retryable(f: &Failure) -> bool {
    matches!(f.status(), 503 | 0)
}

fn keys(env: &Env) {
    for k in ["ops", "stranger"] {
        env.ok(&["keygen", k]);
    }
    // The parties' keys, as key files the clients sign requests with.
    for (name, seed) in [("provider", 1u8), ("customer", 2)] {
        let k = SecretKey::from_seed(&[seed; 32]);
        vouch::crypto::keyfile::write_key_pair(&env.p("keys"), name, &k, false).unwrap();
    }
}

/// The happy path on PostgreSQL, answered exactly as on SQLite: create, artefacts,
/// append, repeat, head, entries; an upload that fails half-way leaves nothing; the
/// served lines rebuild a SQLite ledger that `vouch verify` passes.
#[test]
fn a_ledger_in_postgres_is_served_as_one_on_sqlite() {
    let env = Env::new();
    keys(&env);
    let url = cluster::database("serve_same");
    let base = Base::new(env.path(), 1);
    let id = base.id();
    std::fs::create_dir(env.p("srv")).unwrap();
    let file_srv = start(&env, &["--data", "srv"]);
    let pg_srv = on_database(&env, &url);
    let mut heads = Vec::new();
    let mut texts = Vec::new();
    for srv in [&file_srv, &pg_srv] {
        let (admin, customer) = (srv.client(&env, "ops"), srv.client(&env, "customer"));
        base.seed(&env, srv);
        assert_eq!(
            admin.create_ledger(&base.lines[0]).unwrap_err().status(),
            409
        );
        let mut head = head_of(&base.lines[2]);
        let batch: Vec<Line> = (0..30)
            .map(|i| {
                let l = base.evidence(head, i);
                head = head_of(&l);
                l
            })
            .collect();
        let a = customer
            .append(&id, head_of(&base.lines[2]), &batch)
            .unwrap();
        assert!(a.created);
        let again = customer
            .append(&id, head_of(&base.lines[2]), &batch)
            .unwrap();
        assert!(!again.created, "a repeat is answered as the first time");
        // Signed on an old head: 409 with the server's head.
        let stale = base.evidence(head_of(&base.lines[2]), 99);
        match customer.append(&id, head_of(&base.lines[2]), &[stale]) {
            Err(Failure::HeadMoved { head: h, .. }) => assert_eq!(h, head),
            other => panic!("{other:?}"),
        }
        assert!(customer.has_artifact(&id, &base.matrix.0).unwrap());
        let mut m = Vec::new();
        customer
            .get_artifact(&id, &base.matrix.0)
            .unwrap()
            .read_to_end(&mut m)
            .unwrap();
        assert_eq!(m, base.matrix.1);
        // A stranger's key and an unknown ledger: the same 404.
        let stranger = srv.client(&env, "stranger");
        assert_eq!(stranger.head(&id).unwrap_err().status(), 404);
        assert_eq!(customer.head(&"0".repeat(32)).unwrap_err().status(), 404);
        heads.push(customer.head(&id).unwrap());
        let mut t = String::new();
        customer
            .entries(&id, 0, 1000)
            .unwrap()
            .read_to_string(&mut t)
            .unwrap();
        texts.push(t);
    }
    assert_eq!(heads[0], heads[1]);
    assert_eq!(heads[0].seq, 33);
    assert_eq!(
        texts[0], texts[1],
        "entry for entry the same on both engines"
    );
    let lines = served(&pg_srv.client(&env, "customer"), &id);
    assert_eq!(lines.len(), 33);
    rebuild(&env, "rebuilt.db", &lines, vec![base.matrix.1.clone()]).unwrap();

    // An upload (PUT) whose 20th entry is forged: refused, and the ledger is not there
    // afterwards (one transaction); the same upload unforged then lands whole.
    let other = Base::new(env.path(), 2);
    let mut head = head_of(&other.lines[2]);
    let mut all = other.lines.clone();
    for i in 0..40 {
        let l = other.evidence(head, i);
        head = head_of(&l);
        all.push(l);
    }
    let doc = format!(
        "{{\"document\":\"{}\"}}\n",
        vouch::crypto::base64_encode(&other.matrix.1)
    );
    let upload = |name: &str, lines: &[Line]| {
        let mut text = doc.clone().into_bytes();
        for l in lines {
            text.extend(
                vouch::bundle::encode_line(l.seq, &l.body, &l.signature, &l.payload, None).unwrap(),
            );
        }
        std::fs::write(env.p(name), text).unwrap();
        env.p(name)
    };
    let mut forged = all.clone();
    forged[19].signature[3] ^= 1;
    let admin = pg_srv.client(&env, "ops");
    let r = admin
        .upload_ledger(&other.id(), &upload("forged.jsonl", &forged))
        .unwrap_err();
    assert_eq!(r.status(), 422, "{r:?}");
    assert_eq!(
        pg_srv
            .client(&env, "customer")
            .head(&other.id())
            .unwrap_err()
            .status(),
        404,
        "a refused upload left a ledger behind"
    );
    let mut db = cluster::connect("serve_same");
    let rows: i64 = db
        .query_one(
            "SELECT count(*) FROM vouch.entries WHERE ledger_id = $1",
            &[&other.id()],
        )
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    let a = admin
        .upload_ledger(&other.id(), &upload("good.jsonl", &all))
        .unwrap();
    assert_eq!(a.head, head);
    assert_eq!(served(&pg_srv.client(&env, "customer"), &other.id()), all);
}

/// Two servers on one database, four writers racing on one ledger through them: one
/// linear chain holding every entry exactly once; each server's cached walk state is
/// checked against the head it finds under the row lock, so entries the other server
/// appended are walked before its own.
#[test]
fn two_servers_on_one_database_keep_one_chain() {
    let env = Env::new();
    keys(&env);
    let url = cluster::database("serve_two");
    let base = Base::new(env.path(), 3);
    let (a, b) = (on_database(&env, &url), on_database(&env, &url));
    base.seed(&env, &a);
    let deadline = Instant::now() + Duration::from_secs(120);
    let per = 15;
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|w| {
                let srv = if w % 2 == 0 { &a } else { &b };
                let c = srv.client(&env, "customer");
                let base = &base;
                s.spawn(move || write(&c, base, w * 1000, per, deadline))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(tallies.iter().map(|t| t.appended).sum::<usize>(), 4 * per);
    assert!(
        tallies.iter().map(|t| t.moved).sum::<usize>() > 0,
        "the writers never raced: {tallies:?}"
    );
    for srv in [&a, &b] {
        let lines = served(&srv.client(&env, "customer"), &base.id());
        assert_eq!(lines.len(), 3 + 4 * per);
        let ids = backup_ids(&lines);
        assert_eq!(
            ids.iter().collect::<BTreeSet<_>>().len(),
            4 * per,
            "{ids:?}"
        );
    }
    let lines = served(&b.client(&env, "customer"), &base.id());
    rebuild(&env, "chain.db", &lines, vec![base.matrix.1.clone()]).unwrap();
}

/// PostgreSQL stopped and started again while two writers append: every request either
/// succeeds or fails clearly (503 with a problem document, or no answer), a retry
/// succeeds once the database is back, and nothing is lost or doubled.
#[test]
fn a_database_restart_loses_and_doubles_nothing() {
    let env = Env::new();
    keys(&env);
    let mut own = cluster::Own::start();
    let url = own.database("restart");
    let base = Base::new(env.path(), 4);
    let srv = on_database(&env, &url);
    base.seed(&env, &srv);
    let deadline = Instant::now() + Duration::from_secs(120);
    // Enough appends that the writers are still at work when the database goes away, in a
    // release build too (an append takes a few milliseconds).
    let per = 400;
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|w| {
                let c = srv.client(&env, "customer");
                let base = &base;
                s.spawn(move || write(&c, base, w * 1000, per, deadline))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            handles.iter().all(|h| !h.is_finished()),
            "the writers finished before the restart"
        );
        own.restart(Duration::from_millis(500));
        std::thread::sleep(Duration::from_millis(300));
        own.restart(Duration::from_millis(200));
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    eprintln!("restart: {tallies:?}");
    assert_eq!(tallies.iter().map(|t| t.appended).sum::<usize>(), 2 * per);
    let lines = served(&srv.client(&env, "customer"), &base.id());
    assert_eq!(lines.len(), 3 + 2 * per, "lost or doubled");
    let ids = backup_ids(&lines);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 2 * per);
    rebuild(&env, "after.db", &lines, vec![base.matrix.1.clone()]).unwrap();
}

/// A pool of 3 connections (the least a write needs) for 12 concurrent clients: requests
/// wait their turn (or get 503), never a wrong answer; every entry lands once.
#[test]
fn an_exhausted_pool_makes_requests_wait_never_answer_wrong() {
    let env = Env::new();
    keys(&env);
    let url = cluster::database("serve_pool");
    let small = format!("{url}?pool_max=3");
    let srv = on_database(&env, &small);
    let r = env.fails(&[
        "serve",
        "--database",
        &format!("{url}?pool_max=2"),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(r.stderr.contains("pool_max"), "{}", r.stderr);
    let bases: Vec<Base> = (0..4).map(|n| Base::new(env.path(), 10 + n)).collect();
    for b in &bases {
        b.seed(&env, &srv);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let per = 10;
    std::thread::scope(|s| {
        for (n, b) in bases.iter().enumerate() {
            let c = srv.client(&env, "customer");
            s.spawn(move || {
                let t = write(&c, b, n * 1000, per, deadline);
                assert_eq!(t.appended, per);
            });
            // Two readers per ledger: every answer is a prefix of the chain, or 503.
            for _ in 0..2 {
                let c = srv.client(&env, "customer");
                s.spawn(move || {
                    for _ in 0..15 {
                        match c.head(&b.id()) {
                            Ok(h) => assert!(h.seq >= 3 && h.seq <= 3 + per as u64),
                            Err(f) => assert_eq!(f.status(), 503, "{f:?}"),
                        }
                        let lines = served(&c, &b.id());
                        assert!(lines.len() >= 3);
                        for w in lines.windows(2) {
                            assert_eq!(w[1].seq, w[0].seq + 1);
                            assert!(
                                w[1].body.windows(64).any(|x| x
                                    == hex::encode(vouch::crypto::sha256(&w[0].body)).as_bytes())
                            );
                        }
                    }
                });
            }
        }
    });
    for b in &bases {
        let lines = served(&srv.client(&env, "customer"), &b.id());
        assert_eq!(lines.len(), 3 + per);
    }
}

/// An entry's payload changed in the database (its append-only trigger dropped first): the
/// served lines no longer verify, and a server walking the ledger afresh refuses to append
/// to it, naming the damage.
#[test]
fn a_row_edited_in_the_database_is_reported() {
    let env = Env::new();
    keys(&env);
    let url = cluster::database("serve_tamper");
    let base = Base::new(env.path(), 5);
    let id = base.id();
    {
        let srv = on_database(&env, &url);
        base.seed(&env, &srv);
        let t = write(
            &srv.client(&env, "customer"),
            &base,
            0,
            20,
            Instant::now() + Duration::from_secs(60),
        );
        assert_eq!(t.appended, 20);
    }
    let mut db = cluster::connect("serve_tamper");
    db.batch_execute("DROP TRIGGER entries_append_only ON vouch.entries")
        .unwrap();
    let n = db
        .execute(
            "UPDATE vouch.entries
             SET payload = convert_to(replace(convert_from(payload, 'UTF8'), 'bk-5', 'bk-6'), 'UTF8')
             WHERE ledger_id = $1 AND seq = 9",
            &[&id],
        )
        .unwrap();
    assert_eq!(n, 1);
    let srv = on_database(&env, &url);
    let c = srv.client(&env, "customer");
    // Reading it: the entries up to the damaged one are served, then a 500 naming it.
    let mut text = Vec::new();
    c.entries(&id, 0, 8)
        .unwrap()
        .read_to_end(&mut text)
        .unwrap();
    assert_eq!(
        text.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
        8
    );
    let r = c.entries(&id, 0, 100).map(drop).unwrap_err();
    assert_eq!(r.status(), 500, "{r:?}");
    let msg = vouch::Error::from(r).message().to_string();
    assert!(msg.contains("entry 9"), "{msg}");
    // Appending to it (a server that walks it afresh): refused, naming the damage.
    let head = c.head(&id).unwrap();
    assert_eq!(head.seq, 23);
    let r = c.append(&id, head, &[base.evidence(head, 77)]).unwrap_err();
    assert_eq!(r.status(), 500, "{r:?}");
    let msg = vouch::Error::from(r).message().to_string();
    assert!(msg.contains("entry 9"), "{msg}");
    assert_eq!(c.head(&id).unwrap(), head, "nothing appended");
    // And `vouch verify` of the ledger in the database says the same (exit 1: a finding).
    let r = env.run(&["--ledger", &format!("{url}?ledger={id}"), "verify"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("entry 9"), "{}{}", r.stdout, r.stderr);
}

/// 100 ledgers written at once through two servers on one database, 200 entries each in
/// requests of 50 (the full 1,000 each is `benches/serve_pg.rs`): every ledger's head is
/// the last entry its writer signed, and its entries are all there.
#[test]
fn a_hundred_ledgers_written_at_once() {
    let env = Env::new();
    keys(&env);
    let url = cluster::database("serve_hundred");
    let servers = [on_database(&env, &url), on_database(&env, &url)];
    let bases: Vec<Base> = (0..100u8).map(|n| Base::new(env.path(), n)).collect();
    let done: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|t| {
                let (bases, servers, env) = (&bases, &servers, &env);
                s.spawn(move || {
                    let srv = &servers[t % 2];
                    let (admin, provider, c) = (
                        srv.client(env, "ops"),
                        srv.client(env, "provider"),
                        srv.client(env, "customer"),
                    );
                    let mut done = 0;
                    for b in bases.iter().skip(t).step_by(10) {
                        b.seed_with(env, &admin, &provider);
                        let mut head = head_of(&b.lines[2]);
                        for chunk in 0..4 {
                            let base_head = head;
                            let batch: Vec<Line> = (0..50)
                                .map(|i| {
                                    let l = b.evidence(head, chunk * 50 + i);
                                    head = head_of(&l);
                                    l
                                })
                                .collect();
                            let a = c.append(&b.id(), base_head, &batch).unwrap();
                            assert_eq!(a.head, head);
                        }
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(done, 100);
    let mut db = cluster::connect("serve_hundred");
    let rows: Vec<(String, i64, i64)> = db
        .query(
            "SELECT l.ledger_id, l.head_seq, count(e.seq) FROM vouch.ledgers l
             JOIN vouch.entries e USING (ledger_id) GROUP BY l.ledger_id, l.head_seq",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(rows.len(), 100);
    for (id, head, count) in &rows {
        assert_eq!((*head, *count), (203, 203), "ledger {id}");
    }
    let c = servers[0].client(&env, "customer");
    for b in bases.iter().step_by(33) {
        let lines = served(&c, &b.id());
        assert_eq!(lines.len(), 203);
        assert_eq!(backup_ids(&lines).len(), 200);
    }
}

/// `--import DIR`: the ledger files of a `--data` directory move into the database,
/// verified; a second run skips them; a damaged file is refused, the others still move;
/// the moved ledgers are served as they were.
#[test]
fn import_moves_ledger_files_into_the_database() {
    let env = Env::new();
    keys(&env);
    std::fs::create_dir(env.p("srv")).unwrap();
    let bases: Vec<Base> = (0..3).map(|n| Base::new(env.path(), 20 + n)).collect();
    {
        let srv = start(&env, &["--data", "srv"]);
        for b in &bases {
            b.seed(&env, &srv);
            write(
                &srv.client(&env, "customer"),
                b,
                0,
                5,
                Instant::now() + Duration::from_secs(60),
            );
        }
    }
    // The third file damaged: an entry's payload changed (its trigger dropped first).
    let damaged = env.p(&format!("srv/{}.db", bases[2].id()));
    let c = rusqlite::Connection::open(&damaged).unwrap();
    let triggers: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'entries'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in triggers {
        c.execute_batch(&format!("DROP TRIGGER {t}")).unwrap();
    }
    c.execute(
        "UPDATE entries SET payload = CAST(replace(CAST(payload AS TEXT), 'bk-2', 'bk-7') AS BLOB)
         WHERE seq = 6",
        [],
    )
    .unwrap();
    drop(c);
    let url = cluster::database("serve_import");
    let run = |args: &[&str]| {
        let mut v = vec!["serve", "--database", &url, "--import", "srv"];
        v.extend_from_slice(args);
        v.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let argv = run(&[]);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let r = env.run(&argv);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("2 imported, 0 skipped (already there), 1 refused"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("refused {}", bases[2].id())),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("imported {}: 8 entries", bases[0].id())),
        "{}",
        r.stdout
    );
    let r = env.run(&argv);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("0 imported, 2 skipped (already there), 1 refused"),
        "{}",
        r.stdout
    );
    let srv = on_database(&env, &url);
    let c = srv.client(&env, "customer");
    for b in &bases[..2] {
        let file = Ledger::open(&env.p(&format!("srv/{}.db", b.id())), Access::ReadOnly).unwrap();
        let expected: Vec<Line> = file
            .entries_after(0, 100)
            .unwrap()
            .into_iter()
            .map(|e| Line {
                seq: e.seq(),
                body: e.body,
                signature: e.signature,
                payload: e.payload,
            })
            .collect();
        assert_eq!(served(&c, &b.id()), expected);
        assert!(c.has_artifact(&b.id(), &b.matrix.0).unwrap());
    }
    assert_eq!(c.head(&bases[2].id()).unwrap_err().status(), 404);
}
