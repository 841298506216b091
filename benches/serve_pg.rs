//! `vouch serve` on PostgreSQL against `vouch serve` on SQLite files, in one run (issue 15):
//! server append throughput (batches and single entries), 8 clients on 8 ledgers through 2
//! servers on one database against one client, and a clone-equivalent read of a 1M-entry
//! ledger (every entry read over HTTP, then verified into a local file) against a local
//! `vouch verify`. Every figure is printed beside the SQLite figure of the same run.
//!
//! The PostgreSQL server is a private one started for the run (as the tests do:
//! `src/ledger/store/postgres_test_cluster.rs`, fsync off — set it on in `postgresql.conf`
//! for durable figures). `cargo bench --bench serve_pg` (release); `-- --quick` for a tenth
//! of the sizes.

#[path = "../src/ledger/store/postgres_test_cluster.rs"]
#[allow(dead_code)]
mod cluster;

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use vouch::bundle::{BundleEntry, decode_line};
use vouch::crypto::SecretKey;
use vouch::format::entry::{EntryHeader, Kind, LedgerId, Version};
use vouch::format::payload::Role;
use vouch::ledger::evidence::{self, EvidenceInput};
use vouch::ledger::extend::{self, ExtendOptions, Head};
use vouch::ledger::{Ledger, NewParty};
use vouch::protocol::client::{Client, Line};

const BIN: &str = env!("CARGO_BIN_EXE_vouch");

/// A running `vouch serve`, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, args: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .current_dir(dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--admin", "ops.pub"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line["vouch serve: listening on ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    Server { child, url }
}

/// One ledger: its first three lines (genesis, customer, adoption), the matrix, the key.
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
    fn new(dir: &Path, n: u16) -> Self {
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
        let mut id = [0x5b; 16];
        id[14..].copy_from_slice(&n.to_be_bytes());
        let (mut l, _) = Ledger::init(
            &dir.join(format!("base-{n}.db")),
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
        Base {
            t0,
            id: LedgerId(id),
            lines,
            matrix: (hex::encode(vouch::crypto::sha256(&text)), text),
            customer,
        }
    }

    fn id(&self) -> String {
        self.id.to_string()
    }

    /// Evidence `i`, signed by the customer on `head`.
    fn evidence(&self, head: Head, i: usize) -> Line {
        let t0 = self.t0;
        let mut fields = std::collections::BTreeMap::new();
        fields.insert("backup_id".into(), serde_json::json!(format!("bk-{i}")));
        fields.insert("rto_minutes".into(), serde_json::json!(45));
        fields.insert("data_verified".into(), serde_json::json!(true));
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

    /// `n` evidence lines after the base lines.
    fn chain(&self, n: usize) -> Vec<Line> {
        let mut head = head_of(&self.lines[2]);
        (0..n)
            .map(|i| {
                let l = self.evidence(head, i);
                head = head_of(&l);
                l
            })
            .collect()
    }

    fn seed(&self, dir: &Path, srv: &Server) {
        let (admin, provider) = (client(dir, srv, "ops"), client(dir, srv, "provider"));
        let id = self.id();
        admin.create_ledger(&self.lines[0]).unwrap();
        provider
            .append(&id, head_of(&self.lines[0]), &self.lines[1..2])
            .unwrap();
        let f = dir.join(format!("matrix-{id}"));
        std::fs::write(&f, &self.matrix.1).unwrap();
        provider.put_artifact(&id, &self.matrix.0, &f).unwrap();
        provider
            .append(&id, head_of(&self.lines[1]), &self.lines[2..])
            .unwrap();
    }
}

fn head_of(l: &Line) -> Head {
    Head {
        seq: l.seq,
        hash: vouch::crypto::sha256(&l.body),
    }
}

fn client(dir: &Path, srv: &Server, key: &str) -> Client {
    let k = vouch::crypto::keyfile::load_secret(&dir.join(format!("{key}.key"))).unwrap();
    Client::new(&srv.url, k, None).unwrap()
}

/// Append `lines` (after the base) in requests of `per`; seconds.
fn push(c: &Client, b: &Base, lines: &[Line], per: usize) -> f64 {
    let t = Instant::now();
    let mut head = head_of(&b.lines[2]);
    for chunk in lines.chunks(per) {
        head = c.append(&b.id(), head, chunk).unwrap().head;
    }
    t.elapsed().as_secs_f64()
}

/// Read every entry over HTTP and verify it into a new local file (what a clone does);
/// seconds.
fn clone(dir: &Path, c: &Client, b: &Base, name: &str) -> f64 {
    let t = Instant::now();
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let mut text = Vec::new();
        c.entries(&b.id(), after, 100_000)
            .unwrap()
            .read_to_end(&mut text)
            .unwrap();
        let before = all.len();
        for l in text.split(|&x| x == b'\n').filter(|l| !l.is_empty()) {
            let e: BundleEntry = decode_line(l).unwrap();
            after = e.seq;
            all.push(Ok(e));
        }
        if all.len() == before {
            break;
        }
    }
    let opts = ExtendOptions {
        now: chrono::Utc::now(),
        require_artifacts: false,
        documents: vec![b.matrix.1.clone()],
        max_past: None,
    };
    extend::create(&dir.join(name), all, &opts, &mut None).unwrap();
    t.elapsed().as_secs_f64()
}

fn rate(n: usize, s: f64) -> f64 {
    n as f64 / s
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 10 } else { 1 };
    let (n_batch, n_single, n_each, n_big) = (
        100_000 / scale,
        2_000 / scale,
        1_000 / scale,
        1_000_000 / scale,
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (name, seed) in [("ops", 9u8), ("provider", 1), ("customer", 2)] {
        let k = SecretKey::from_seed(&[seed; 32]);
        vouch::crypto::keyfile::write_key_pair(dir, name, &k, false).unwrap();
    }
    std::fs::create_dir(dir.join("data")).unwrap();
    let url = cluster::database("bench_serve");
    println!(
        "vouch serve: PostgreSQL against SQLite files{}\n",
        if quick { " (--quick)" } else { "" }
    );
    println!("| figure | PostgreSQL | SQLite | PostgreSQL / SQLite |\n|---|---|---|---|");
    let row = |what: &str, pg: f64, sq: f64, unit: &str| {
        println!(
            "| {what} | {pg:.1} {unit} | {sq:.1} {unit} | {:.0} % |",
            100.0 * pg / sq
        );
    };
    let pg = serve(dir, &["--database", &format!("{url}?pool_max=20")]);
    let pg2 = serve(dir, &["--database", &format!("{url}?pool_max=20")]);
    let sq = serve(dir, &["--data", "data"]);
    let mut next = 0u16;
    let mut base = |srv: &Server| {
        next += 1;
        let b = Base::new(dir, next);
        b.seed(dir, srv);
        b
    };

    // Batch appends: n_batch entries in requests of 10,000.
    let (bp, bs) = (base(&pg), base(&sq));
    let (lp, ls) = (bp.chain(n_batch), bs.chain(n_batch));
    let tp = push(&client(dir, &pg, "customer"), &bp, &lp, 10_000);
    let ts = push(&client(dir, &sq, "customer"), &bs, &ls, 10_000);
    row(
        &format!("append, {n_batch} entries in requests of 10,000"),
        rate(n_batch, tp),
        rate(n_batch, ts),
        "entries/s",
    );

    // Single-entry appends, one client.
    let (bp, bs) = (base(&pg), base(&sq));
    let (lp, ls) = (bp.chain(n_single), bs.chain(n_single));
    let tp = push(&client(dir, &pg, "customer"), &bp, &lp, 1);
    let ts = push(&client(dir, &sq, "customer"), &bs, &ls, 1);
    row(
        &format!("append, {n_single} single-entry requests"),
        rate(n_single, tp),
        rate(n_single, ts),
        "entries/s",
    );
    let one = rate(n_single, tp);

    // 8 clients on 8 ledgers (single-entry appends): through 2 servers on one database,
    // and through one server on files.
    let eight = |servers: &[&Server], bases: &[Base]| {
        let chains: Vec<Vec<Line>> = bases.iter().map(|b| b.chain(n_each)).collect();
        let t = Instant::now();
        std::thread::scope(|s| {
            for (i, (b, l)) in bases.iter().zip(&chains).enumerate() {
                let c = client(dir, servers[i % servers.len()], "customer");
                s.spawn(move || push(&c, b, l, 1));
            }
        });
        rate(8 * n_each, t.elapsed().as_secs_f64())
    };
    let bps: Vec<Base> = (0..8)
        .map(|i| base(if i % 2 == 0 { &pg } else { &pg2 }))
        .collect();
    let bss: Vec<Base> = (0..8).map(|_| base(&sq)).collect();
    let (rp, rs) = (eight(&[&pg, &pg2], &bps), eight(&[&sq], &bss));
    row(
        "8 clients on 8 ledgers, single-entry appends (PostgreSQL: 2 servers)",
        rp,
        rs,
        "entries/s",
    );
    println!(
        "| 8 clients through 2 servers against one client (PostgreSQL) | {:.2}× | | target ≥ 1.6× |",
        rp / one
    );

    // A 1M-entry ledger: clone-equivalent read (entries over HTTP, verified into a file)
    // against a local verify of the same entries.
    let (bp, bs) = (base(&pg), base(&sq));
    let (lp, ls) = (bp.chain(n_big - 3), bs.chain(n_big - 3));
    push(&client(dir, &pg, "customer"), &bp, &lp, 50_000);
    push(&client(dir, &sq, "customer"), &bs, &ls, 50_000);
    drop((lp, ls));
    let cp = clone(dir, &client(dir, &pg, "customer"), &bp, "clone-pg.db");
    let cs = clone(dir, &client(dir, &sq, "customer"), &bs, "clone-sq.db");
    let t = Instant::now();
    let out = Command::new(BIN)
        .current_dir(dir)
        .args(["verify", "--ledger", "clone-pg.db"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let local = t.elapsed().as_secs_f64();
    row(
        &format!("clone-equivalent read of a {n_big}-entry ledger"),
        cp,
        cs,
        "s",
    );
    println!(
        "| local `vouch verify` of the same {n_big} entries | {local:.1} s | | clone / verify (PostgreSQL): {:.2}×, target ≤ 1.5× |",
        cp / local
    );
}
