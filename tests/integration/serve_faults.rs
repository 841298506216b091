//! `vouch serve` under faults (issue 13): a server killed with SIGKILL in the middle of a
//! batch keeps all of it or none and the client's retry lands it once; a thousand idle
//! connections do not keep others from being answered; a client that sends slowly is cut
//! off. Real binaries over loopback.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vouch::crypto::keyfile::load_secret;
use vouch::protocol::client::Client;

use crate::serve::{head_of, ledger_id, lines_of};
use crate::served::Server;
use crate::util::Env;

/// `n` evidence lines for the adopted Cloud Temple matrix.
fn batch(n: usize) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "{{\"item\":\"backup.restore-tests\",\"kind\":\"restore-test\",\"outcome\":\"pass\",\"performed_at\":\"2026-07-01\",\"fields\":{{\"backup_id\":\"bk-{i}\",\"rto_minutes\":45,\"data_verified\":true}}}}\n"
            )
        })
        .collect()
}

/// A ledger pushed to a server (the provider is its admin), and a local copy of it with a
/// batch of `n` more entries signed on the same head, not sent: (server, ledger id, the
/// copy's entries).
fn pushed_with_batch(env: &Env, n: usize) -> (Server, String, Vec<vouch::protocol::client::Line>) {
    std::fs::copy(env.p("ledger.db"), env.p("work.db")).unwrap();
    let srv = Server::start(env, "srv", &["--admin", "keys/provider.pub"]);
    env.ok(&["push", &srv.url, "--key", "provider"]);
    std::fs::write(env.p("b.jsonl"), batch(n)).unwrap();
    env.ok(&[
        "--ledger", "work.db", "record", "--batch", "b.jsonl", "--key", "customer",
    ]);
    let lines = lines_of(&env.p("work.db"));
    let id = ledger_id(&lines[0]);
    (srv, id, lines)
}

fn client(srv: &Server, env: &Env) -> Client {
    Client::new(
        &srv.url,
        load_secret(&env.p("keys/customer.key")).unwrap(),
        None,
    )
    .unwrap()
}

/// SIGKILL while the server stores a batch of 30,000 entries (killed once its write-ahead
/// log is growing): after a restart the ledger holds all of the batch or none of it and
/// verifies; the client sends the same request again and it lands exactly once.
#[test]
fn a_server_killed_during_a_batch_keeps_all_or_none_and_the_retry_lands_once() {
    let env = Env::adopted();
    let n = 30_000;
    let (mut srv, id, lines) = pushed_with_batch(&env, n);
    let base = head_of(&lines[3]);
    let batch = lines[4..].to_vec();
    let wal = env.p(&format!("srv/{id}.db-wal"));
    let before = std::fs::metadata(&wal).map_or(0, |m| m.len());
    let sender = {
        let c = client(&srv, &env);
        let (id, batch) = (id.clone(), batch.clone());
        std::thread::spawn(move || c.append(&id, base, &batch).is_ok())
    };
    // Kill as soon as the transaction spills pages into the write-ahead log.
    let t = Instant::now();
    while std::fs::metadata(&wal).map_or(0, |m| m.len()) <= before + (1 << 20)
        && t.elapsed() < Duration::from_secs(60)
        && !sender.is_finished()
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    srv.child.kill().unwrap();
    srv.child.wait().unwrap();
    let landed_before_kill = sender.join().unwrap();

    let srv = Server::start(&env, "srv", &["--admin", "keys/provider.pub"]);
    let c = client(&srv, &env);
    let head = c.head(&id).unwrap();
    let all = head_of(lines.last().unwrap());
    assert!(
        head == base || head == all,
        "after SIGKILL the head is entry {}: neither none (4) nor all ({}) of the batch",
        head.seq,
        all.seq
    );
    assert!(
        !landed_before_kill || head == all,
        "an answered append was lost"
    );
    // The retry: the same request, answered as new or as a repeat, lands once.
    let again = c.append(&id, base, &batch).unwrap();
    assert_eq!(again.head, all);
    assert_eq!(again.created, head == base);
    std::fs::copy(env.p(&format!("srv/{id}.db")), env.p("copy.db")).unwrap();
    let v = env.ok(&["--ledger", "copy.db", "verify"]);
    assert!(
        v.stdout.contains(&format!("{} entries", n + 4)),
        "{}",
        v.stdout
    );
}

/// A thousand connections opened and left idle (by a Python process) do not keep the
/// server from answering a signed request from someone else at once.
#[test]
fn a_thousand_idle_connections_do_not_starve_others() {
    let env = Env::adopted();
    let srv = Server::start(&env, "srv", &["--admin", "keys/provider.pub"]);
    env.ok(&["push", &srv.url, "--key", "provider"]);
    let id = ledger_id(&lines_of(&env.p("ledger.db"))[0]);
    let script = "import resource, socket, sys, time\n\
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n\
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))\n\
        host, port = sys.argv[1].rsplit(':', 1)\n\
        s = [socket.create_connection((host, int(port))) for _ in range(1000)]\n\
        print(len(s), flush=True)\n\
        time.sleep(20)\n";
    let mut idle = Command::new("python3")
        .args(["-c", script, &srv.addr()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 opens the idle connections");
    let mut line = String::new();
    BufReader::new(idle.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim(),
        "1000",
        "the idle connections were not all opened"
    );
    let c = client(&srv, &env);
    let t = Instant::now();
    let head = c.head(&id).unwrap();
    let took = t.elapsed();
    let _ = idle.kill();
    let _ = idle.wait();
    assert_eq!(head.seq, 4);
    assert!(
        took < Duration::from_secs(5),
        "answered after {took:?} with 1000 idle connections open"
    );
}

/// A client that never finishes its headers is disconnected, and one that stalls in its
/// body gets a 408 problem, each after the server's 30-second limit, not never.
#[test]
fn a_slow_client_is_cut_off() {
    let env = Env::new();
    std::fs::create_dir_all(env.p("srv")).unwrap();
    let srv = Server::start(&env, "srv", &[]);
    let addr = srv.addr();
    let headers = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
            s.write_all(b"GET /v1/ HTTP/1.1\r\nHost: x\r\n").unwrap();
            let t = Instant::now();
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            (t.elapsed(), String::from_utf8_lossy(&out).into_owned())
        })
    };
    let body = std::thread::spawn(move || {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(
            b"POST /v1/ledgers/0123456789abcdef0123456789abcdef/entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"base\":",
        )
        .unwrap();
        let t = Instant::now();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        (t.elapsed(), String::from_utf8_lossy(&out).into_owned())
    });
    let (t1, _) = headers.join().unwrap();
    assert!(
        (Duration::from_secs(25)..Duration::from_secs(45)).contains(&t1),
        "an unfinished request head was cut off after {t1:?}"
    );
    let (t2, answer) = body.join().unwrap();
    assert!(
        (Duration::from_secs(25)..Duration::from_secs(45)).contains(&t2),
        "a stalled body was cut off after {t2:?}"
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("urn:vouch:problem:timeout"), "{answer}");
}
