//! Replicas over loopback (schema/PROTOCOL.md §7): two parties, each in its own directory
//! with its own key, share a ledger through the real `vouch serve`: `init --remote`,
//! `clone`, writing through the remote, `pull`, `push`, `remote`; a server whose history
//! was rewritten is refused and the replica kept; concurrent writers land in one chain.

use serde_json::Value;
use std::path::Path;

use crate::served::Server;
use crate::util::{CT, Env, Run};

/// Run vouch in the subdirectory `dir` of the scratch directory.
fn at(env: &Env, dir: &str, args: &[&str]) -> Run {
    let out = env
        .cmd()
        .current_dir(env.p(dir))
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// [`at`], requiring exit 0.
fn ok(env: &Env, dir: &str, args: &[&str]) -> Run {
    let r = at(env, dir, args);
    assert_eq!(
        r.code, 0,
        "{dir}: vouch {args:?}:\nstdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    r
}

/// A shared ledger: the provider (directory `prov`, key `provider`, an admin of the
/// server) creates it with `init --remote`, registers the customer from its request and
/// adopts the matrix; the customer (directory `cust`, key `customer`) clones it and
/// acknowledges the adoption; the provider pulls. Returns the server and the ledger id.
fn shared(env: &Env) -> (Server, String) {
    for (dir, key) in [("prov", "provider"), ("cust", "customer")] {
        std::fs::create_dir_all(env.p(dir)).unwrap();
        ok(env, dir, &["keygen", key]);
    }
    let srv = Server::start(env, "srv", &["--admin", "prov/keys/provider.pub"]);
    let r = ok(
        env,
        "prov",
        &[
            "init",
            "--remote",
            &srv.url,
            "--party",
            "cloudtemple",
            "--name",
            "Cloud Temple",
            "--role",
            "provider",
            "--key",
            "provider",
            "--format",
            "json",
        ],
    );
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let id = v["ledger_id"].as_str().unwrap().to_string();
    assert!(env.p("prov/ledger.db.remote").exists());
    assert!(env.p(&format!("srv/{id}.db")).exists());
    ok(
        env,
        "cust",
        &[
            "party",
            "request",
            "acme",
            "--name",
            "Acme",
            "--role",
            "customer",
            "--ledger-id",
            &id,
            "--key",
            "customer",
            "--out",
            "acme.request.json",
        ],
    );
    let r = ok(
        env,
        "prov",
        &[
            "party",
            "add",
            "--request",
            "../cust/acme.request.json",
            "--key",
            "provider",
        ],
    );
    assert!(r.stdout.contains("entry 2"), "{}", r.stdout);
    ok(
        env,
        "prov",
        &[
            "matrix",
            "adopt",
            CT,
            "--bind",
            "provider=cloudtemple",
            "--bind",
            "customer=acme",
            "--key",
            "provider",
        ],
    );
    let r = ok(
        env,
        "cust",
        &["clone", &format!("{}/{id}", srv.url), "--key", "customer"],
    );
    assert!(r.stdout.contains("entries 1–3"), "{}", r.stdout);
    ok(env, "cust", &["cosign", "3", "--ack", "--key", "customer"]);
    let r = ok(env, "prov", &["pull"]);
    assert!(r.stdout.contains("pulled entries 4–4"), "{}", r.stdout);
    (srv, id)
}

fn record(env: &Env, dir: &str, key: &str, item: &str, kind: &str, extra: &[&str]) -> Run {
    let mut a = vec![
        "record",
        "--item",
        item,
        "--kind",
        kind,
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-15",
        "--key",
        key,
    ];
    a.extend_from_slice(extra);
    ok(env, dir, &a)
}

fn provider_records(env: &Env) -> Run {
    record(
        env,
        "prov",
        "provider",
        "images.official-patching",
        "patch-run",
        &[
            "--field",
            "hosts=12",
            "--field",
            "patches_applied=40",
            "--field",
            "failed=0",
        ],
    )
}

fn customer_records(env: &Env) -> Run {
    std::fs::write(env.p("cust/restore.log"), "restore of bk-1: 41 minutes\n").unwrap();
    record(
        env,
        "cust",
        "customer",
        "backup.restore-tests",
        "restore-test",
        &[
            "--field",
            "backup_id=bk-1",
            "--field",
            "rto_minutes=41",
            "--field",
            "data_verified=true",
            "--artifact",
            "restore.log",
        ],
    )
}

fn head(env: &Env, dir: &str) -> (u64, String) {
    let r = ok(env, dir, &["remote", "--format", "json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let h = &v["replica"]["head"];
    (
        h["seq"].as_u64().unwrap(),
        h["hash"].as_str().unwrap().to_string(),
    )
}

fn report(env: &Env, dir: &str, at_seq: u64) -> Vec<u8> {
    ok(
        env,
        dir,
        &[
            "report",
            "--period",
            "2026-Q3",
            "--at",
            &at_seq.to_string(),
            "--format",
            "pdf",
            "--out",
            "q3.pdf",
            "--force",
        ],
    );
    std::fs::read(env.p(&format!("{dir}/q3.pdf"))).unwrap()
}

#[test]
fn two_parties_share_a_quarter_and_get_the_same_pdf() {
    let env = Env::new();
    let (srv, id) = shared(&env);
    let r = provider_records(&env);
    assert!(r.stdout.contains("entry 5"), "{}", r.stdout);
    assert!(!r.stdout.contains(".vouch-replica-"), "{}", r.stdout);
    let r = customer_records(&env);
    assert!(r.stdout.contains("entry 6"), "{}", r.stdout);
    ok(&env, "prov", &["cosign", "6", "--ack", "--key", "provider"]);
    ok(&env, "cust", &["pull"]);
    let r = ok(&env, "prov", &["pull"]);
    assert!(r.stdout.starts_with("up to date: entry 7"), "{}", r.stdout);
    assert_eq!(head(&env, "prov"), head(&env, "cust"));
    // Both replicas and a copy of the server's file verify, artefacts included.
    std::fs::create_dir_all(env.p("copy")).unwrap();
    std::fs::copy(env.p(&format!("srv/{id}.db")), env.p("copy/ledger.db")).unwrap();
    for dir in ["prov", "cust", "copy"] {
        ok(&env, dir, &["verify", "--artifacts"]);
    }
    let pdf = report(&env, "prov", 7);
    assert!(pdf.starts_with(b"%PDF"));
    assert_eq!(
        pdf,
        report(&env, "cust", 7),
        "provider and customer PDFs differ"
    );
    assert_eq!(
        pdf,
        report(&env, "copy", 7),
        "replica and server PDFs differ"
    );
    // The replica files are plain ledgers: byte for byte the server's entries.
    let r = ok(&env, "cust", &["remote"]);
    assert!(
        r.stdout.contains(&srv.url) && r.stdout.contains(&id),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("server:  entry 7 (up to date)"),
        "{}",
        r.stdout
    );
    // Reading commands work offline.
    drop(srv);
    ok(&env, "cust", &["status", "--period", "2026-Q3"]);
    ok(&env, "cust", &["log"]);
    let r = ok(&env, "cust", &["remote"]);
    assert!(r.stdout.contains("not reachable"), "{}", r.stdout);
}

/// Replace the server's ledger file by a fork of the same id made locally: same entries
/// 1–4, then another entry 5.
fn fork_server(env: &Env, id: &str) {
    std::fs::create_dir_all(env.p("fork")).unwrap();
    std::fs::copy(env.p("cust/ledger.db"), env.p("fork/ledger.db")).unwrap();
    std::fs::copy(env.p("cust/keys/customer.key"), env.p("fork/customer.key")).unwrap();
    let r = ok(
        env,
        "fork",
        &[
            "record",
            "--item",
            "guest-os.patching",
            "--kind",
            "patch-run",
            "--outcome",
            "fail",
            "--performed-at",
            "2026-07-20",
            "--field",
            "hosts=3",
            "--field",
            "patches_applied=0",
            "--field",
            "failed=3",
            "--key",
            "customer.key",
        ],
    );
    assert!(r.stdout.contains("entry 5"), "{}", r.stdout);
    std::fs::copy(env.p("fork/ledger.db"), env.p(&format!("srv/{id}.db"))).unwrap();
}

#[test]
fn a_rewritten_server_history_is_refused_and_the_replica_kept() {
    let env = Env::new();
    let (_srv, id) = shared(&env);
    // The provider's replica has entry 5; the server's file is then replaced by a fork
    // whose entry 5 is another entry.
    provider_records(&env);
    let (seq, mine) = head(&env, "prov");
    assert_eq!(seq, 5);
    fork_server(&env, &id);
    let before = std::fs::read(env.p("prov/ledger.db")).unwrap();
    let r = at(&env, "prov", &["pull"]);
    assert_eq!(r.code, 1, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("does not extend the replica's"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("entry 5 ({mine})")),
        "{}",
        r.stderr
    );
    let forked = crate::util::snapshot(&env.p("fork/ledger.db"));
    assert!(!forked.is_empty());
    let theirs = hash_of(&env.p("fork/ledger.db"), 5);
    assert!(r.stderr.contains(&theirs), "{}", r.stderr);
    assert_eq!(before, std::fs::read(env.p("prov/ledger.db")).unwrap());
    // A writing command pulls first: refused the same way, nothing sent.
    let r = at(&env, "prov", &["cosign", "4", "--ack", "--key", "provider"]);
    assert_eq!(r.code, 1, "stderr: {}", r.stderr);
    assert_eq!(before, std::fs::read(env.p("prov/ledger.db")).unwrap());
    assert_eq!(hash_of(&env.p(&format!("srv/{id}.db")), 5), theirs);
}

/// The hash of entry `seq` of a ledger file.
fn hash_of(db: &Path, seq: i64) -> String {
    let c = rusqlite::Connection::open(db).unwrap();
    let body: Vec<u8> = c
        .query_row("SELECT body FROM entries WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .unwrap();
    hex::encode(vouch::crypto::sha256(&body))
}

#[test]
fn a_server_with_fewer_entries_is_refused() {
    let env = Env::new();
    let (_srv, id) = shared(&env);
    let old = std::fs::read(env.p(&format!("srv/{id}.db"))).unwrap();
    provider_records(&env);
    std::fs::write(env.p(&format!("srv/{id}.db")), old).unwrap();
    let before = std::fs::read(env.p("prov/ledger.db")).unwrap();
    let r = at(&env, "prov", &["pull"]);
    assert_eq!(r.code, 1, "stderr: {}", r.stderr);
    assert!(r.stderr.contains("fewer entries"), "{}", r.stderr);
    assert!(
        r.stderr.contains("the server's head is entry 4"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("the replica's head is entry 5"),
        "{}",
        r.stderr
    );
    assert_eq!(before, std::fs::read(env.p("prov/ledger.db")).unwrap());
}

#[test]
fn concurrent_writers_land_in_one_chain() {
    let env = Env::new();
    let (srv, id) = shared(&env);
    // Eight writers at once (issue 13): the provider's replica, the customer's, and six more
    // replicas of the customer's, each in its own directory.
    let extra = ["cust2", "cust3", "cust4", "cust5", "cust6", "cust7"];
    for dir in extra {
        std::fs::create_dir_all(env.p(&format!("{dir}/keys"))).unwrap();
        std::fs::copy(
            env.p("cust/keys/customer.key"),
            env.p(&format!("{dir}/keys/customer.key")),
        )
        .unwrap();
        ok(
            &env,
            dir,
            &["clone", &format!("{}/{id}", srv.url), "--key", "customer"],
        );
    }
    let mut writers = vec![
        ("prov", "provider", "images.official-patching"),
        ("cust", "customer", "guest-os.patching"),
    ];
    writers.extend(extra.iter().map(|d| (*d, "customer", "guest-os.patching")));
    let seqs: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = writers
            .iter()
            .map(|&(dir, key, item)| {
                let env = &env;
                s.spawn(move || {
                    (0..3)
                        .map(|i| {
                            // Distinct payloads: the same entry signed twice on one head
                            // is one entry (PROTOCOL.md §6.3).
                            let hosts = format!(
                                "hosts={}{i}",
                                dir.len() * 10 + dir.as_bytes()[dir.len() - 1] as usize
                            );
                            let r = record(
                                env,
                                dir,
                                key,
                                item,
                                "patch-run",
                                &[
                                    "--field",
                                    &hosts,
                                    "--field",
                                    "patches_applied=1",
                                    "--field",
                                    "failed=0",
                                ],
                            );
                            let at = r.stdout.find("entry ").unwrap() + 6;
                            r.stdout[at..]
                                .split(|c: char| !c.is_ascii_digit())
                                .next()
                                .unwrap()
                                .parse()
                                .unwrap()
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (5..=28).collect::<Vec<u64>>(), "{seqs:?}");
    for &(dir, _, _) in &writers {
        ok(&env, dir, &["pull"]);
        ok(&env, dir, &["verify"]);
    }
    for &(dir, _, _) in &writers {
        assert_eq!(head(&env, "prov"), head(&env, dir), "{dir}");
    }
    assert_eq!(head(&env, "prov").0, 28);
}

#[test]
fn push_makes_a_local_ledger_a_replica_and_clone_refuses_unknown_ledgers() {
    let env = Env::adopted();
    env.record("customer", "guest-os.patching");
    let srv = Server::start(&env, "srv", &["--admin", "keys/provider.pub"]);
    let r = env.ok(&["push", &srv.url, "--key", "provider"]);
    assert!(r.stdout.contains("entries 1–5"), "{}", r.stdout);
    assert!(env.p("ledger.db.remote").exists());
    let id = {
        let r = env.ok(&["remote", "--format", "json"]);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        v["ledger_id"].as_str().unwrap().to_string()
    };
    // Writes now go through the server.
    let r = env.record("customer", "guest-os.patching");
    assert!(r.stdout.contains("entry 6"), "{}", r.stdout);
    assert_eq!(
        hash_of(&env.p(&format!("srv/{id}.db")), 6),
        hash_of(&env.p("ledger.db"), 6)
    );
    // A second push refuses: the file is a replica.
    let r = env.fails(&["push", &srv.url, "--key", "provider"]);
    assert!(r.stderr.contains("is a replica already"), "{}", r.stderr);
    // A clone by the customer matches.
    let r = env.ok(&[
        "clone",
        &format!("{}/{id}", srv.url),
        "--key",
        "customer",
        "--ledger",
        "c.db",
    ]);
    assert!(r.stdout.contains("entries 1–6"), "{}", r.stdout);
    assert_eq!(hash_of(&env.p("c.db"), 6), hash_of(&env.p("ledger.db"), 6));
    // Unknown ledger: the protocol's 404, exit 2, nothing written.
    let r = env.fails(&[
        "clone",
        &format!("{}/0123456789abcdef0123456789abcdef", srv.url),
        "--key",
        "customer",
        "--ledger",
        "x.db",
    ]);
    assert!(r.stderr.contains("no such ledger"), "{}", r.stderr);
    assert!(!env.p("x.db").exists() && !env.p("x.db.remote").exists());
    // Cloning onto an existing file is refused.
    let r = env.fails(&[
        "clone",
        &format!("{}/{id}", srv.url),
        "--key",
        "customer",
        "--ledger",
        "c.db",
    ]);
    assert!(r.stderr.contains("c.db exists"), "{}", r.stderr);
    // pull on a local ledger says so.
    std::fs::copy(env.p("c.db"), env.p("plain.db")).unwrap();
    let r = env.fails(&["pull", "--ledger", "plain.db"]);
    assert!(r.stderr.contains("is a local ledger"), "{}", r.stderr);
}
