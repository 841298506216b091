//! Ledger benchmark: raw crypto and SQLite rates, then vouch's own operations, measured in
//! the same run so each figure can be read as a ratio of the raw rate.
//!
//! Run: `cargo bench --bench ledger` (release build). `-- --quick` uses 10× smaller sizes.
//! Peak memory of the `vouch` processes is read with Python's `resource` module (the
//! machine's python3), which reports the children's maximum resident set size.

use rayon::prelude::*;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use vouch::crypto::{self, PublicKey, SecretKey};
use vouch::ledger::evidence;
use vouch::ledger::verify::{self, Options};
use vouch::ledger::{Ledger, NoProgress};

mod common;
use common::{BIN, input, run_vouch};

fn rate(n: usize, secs: f64) -> f64 {
    n as f64 / secs
}

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed().as_secs_f64())
}

/// Best of three runs (least disturbed by the rest of the machine).
fn best(mut f: impl FnMut()) -> f64 {
    (0..3).map(|_| time(&mut f).1).fold(f64::INFINITY, f64::min)
}

fn message(i: usize) -> Vec<u8> {
    format!("vouch/v1 entry\nledger: {:032x}\nseq: {i}\nprev: {:064x}\ntime: 2026-07-01T00:00:00Z\nkind: evidence\nsigner: {:064x}\npayload: {:064x}\n", i, i, i, i).into_bytes()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 10 } else { 1 };
    let n_batch = 100_000 / scale;
    let n_verify = 1_000_000 / scale;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cores = rayon::current_num_threads();
    println!(
        "vouch ledger benchmark ({} cores{})\n",
        cores,
        if quick { ", --quick" } else { "" }
    );

    // --- Raw rates -------------------------------------------------------------------
    let key = SecretKey::from_seed(&[7u8; 32]);
    let pk = key.public();
    let n = 20_000;
    let msgs: Vec<Vec<u8>> = (0..n).map(message).collect();
    let sigs: Vec<[u8; 64]> = msgs.iter().map(|m| key.sign(m)).collect();
    let raw_sign = rate(
        n,
        best(|| {
            for m in &msgs {
                std::hint::black_box(key.sign(m));
            }
        }),
    );
    let raw_verify = rate(
        n,
        best(|| assert!(msgs.iter().zip(&sigs).all(|(m, g)| pk.verify(m, g)))),
    );
    let keys: Vec<PublicKey> = vec![pk; 4096];
    let batch_once = |range: std::ops::Range<usize>| {
        let ms: Vec<&[u8]> = msgs[range.clone()].iter().map(Vec::as_slice).collect();
        let ss: Vec<&[u8]> = sigs[range].iter().map(|g| g.as_slice()).collect();
        assert!(crypto::verify_batch(&keys[..ms.len()], &ms, &ss));
    };
    let batch_rate = |size: usize, parallel: bool| {
        let k = n / size;
        let secs = best(|| {
            if parallel {
                (0..k)
                    .into_par_iter()
                    .for_each(|b| batch_once(b * size..(b + 1) * size));
            } else {
                (0..k).for_each(|b| batch_once(b * size..(b + 1) * size));
            }
        });
        rate(k * size, secs)
    };
    let raw_batch = batch_rate(1024, false);
    let raw_batch_all = batch_rate(1024, true);
    let raw_batch_2048 = batch_rate(2048, false);
    let raw_sha = rate(
        n,
        best(|| {
            for m in &msgs {
                std::hint::black_box(crypto::sha256(m));
            }
        }),
    );

    // Raw SQLite: 300-byte rows, one WAL transaction.
    let raw_sqlite = (0..3)
        .map(|run| {
            let c = rusqlite::Connection::open(dir.join(format!("raw{run}.db"))).unwrap();
            c.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
                .unwrap();
            c.execute_batch(
                "PRAGMA synchronous=FULL; CREATE TABLE t (seq INTEGER PRIMARY KEY, body BLOB)",
            )
            .unwrap();
            let row = vec![0x5au8; 300];
            let rows = 200_000 / scale;
            let (_, s) = time(|| {
                let tx = c.unchecked_transaction().unwrap();
                {
                    let mut st = tx.prepare("INSERT INTO t VALUES (?1, ?2)").unwrap();
                    for i in 0..rows {
                        st.execute(rusqlite::params![i as i64 + 1, row]).unwrap();
                    }
                }
                tx.commit().unwrap();
            });
            rate(rows, s)
        })
        .fold(0.0, f64::max);

    println!("| raw operation | rate |\n|---|---|");
    println!("| Ed25519 sign, one core | {:.0}/s |", raw_sign);
    println!("| Ed25519 verify_strict, one core | {:.0}/s |", raw_verify);
    println!(
        "| Ed25519 verify_batch (1024), one core | {:.0}/s |",
        raw_batch
    );
    println!(
        "| Ed25519 verify_batch (1024), {cores} cores | {:.0}/s |",
        raw_batch_all
    );
    println!(
        "| Ed25519 verify_batch (2048, the size verify uses), one core | {:.0}/s |",
        raw_batch_2048
    );
    println!("| SHA-256 of a 350-byte entry text | {:.0}/s |", raw_sha);
    println!(
        "| SQLite 300-byte rows, one WAL transaction | {:.0}/s |\n",
        raw_sqlite
    );

    // --- Ledger with two parties -------------------------------------------------------
    let (provider, customer) = common::keys();
    let make = |path: &Path| common::two_parties(path, &provider, &customer);
    std::fs::write(dir.join("customer.key"), customer.to_pem().unwrap()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            dir.join("customer.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    let now = vouch::clock::now();

    // record --batch of n_batch entries, through the binary.
    drop(make(&dir.join("batch.db")));
    {
        use std::io::Write as _;
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(dir.join("batch.jsonl")).unwrap());
        for i in 0..n_batch {
            writeln!(f, r#"{{"item":"backup.restore-tests","kind":"restore-test","outcome":"pass","performed_at":"2026-07-01T10:00:00Z","fields":{{"backup_id":"bk-{i}","rto_minutes":45,"data_verified":true}}}}"#).unwrap();
        }
    }
    let (batch_wall, batch_rss) = run_vouch(
        dir,
        &[
            "--ledger",
            "batch.db",
            "record",
            "--batch",
            "batch.jsonl",
            "--key",
            "customer.key",
        ],
    );
    let batch_rate = rate(n_batch, batch_wall);

    // Library append (no process start, no JSON parsing of the input file).
    let mut l = make(&dir.join("lib.db"));
    let drafts: Vec<_> = (0..n_batch)
        .map(|i| evidence::draft(&input(i), now, false).unwrap())
        .collect();
    let (_, s) = time(|| l.append(&customer, drafts, now, &NoProgress).unwrap());
    let lib_rate = rate(n_batch, s);
    drop(l);

    // A ledger of n_verify entries, then verify it (library and binary).
    let big = dir.join("big.db");
    let mut l = make(&big);
    common::adopt_cloud_temple(&mut l, &provider);
    let chunk = 100_000 / scale;
    let (_, build_s) = time(|| {
        for c in 0..(n_verify - 3) / chunk + 1 {
            let k = chunk.min(n_verify - 3 - c * chunk);
            if k == 0 {
                break;
            }
            let drafts: Vec<_> = (0..k)
                .map(|i| evidence::draft(&input(c * chunk + i), now, false).unwrap())
                .collect();
            l.append(&customer, drafts, now, &NoProgress).unwrap();
        }
    });
    drop(l);
    let (report, s) = time(|| verify::verify(&big, &Options::default(), &NoProgress).unwrap());
    assert!(
        report.ok() && report.entries == n_verify as u64,
        "{:?}",
        report.findings.first()
    );
    let verify_lib = rate(n_verify, s);
    let (verify_wall, verify_rss) = run_vouch(dir, &["--ledger", "big.db", "verify"]);
    let verify_bin = rate(n_verify, verify_wall);
    let (small_wall, small_rss) = run_vouch(dir, &["--ledger", "lib.db", "verify"]);
    let (status_wall, status_rss) = run_vouch(
        dir,
        &[
            "--ledger",
            "big.db",
            "status",
            "--period",
            "2026",
            "--as-of",
            "2027-02-01",
            "--format",
            "json",
        ],
    );
    // The PDF report of the year: the whole command (which verifies the ledger first), and
    // its phases in the library: the attestation/status pass with the report model, and
    // the PDF rendering.
    let (report_wall, report_rss) = run_vouch(
        dir,
        &[
            "--ledger",
            "big.db",
            "report",
            "--period",
            "2026",
            "--appendix",
            "all",
            "--out",
            "big.pdf",
        ],
    );
    let pdf_bytes = std::fs::metadata(dir.join("big.pdf")).unwrap().len();
    let year = vouch::period::Period::parse("2026").unwrap();
    let big_ledger = Ledger::open(&big, vouch::ledger::Access::ReadOnly).unwrap();
    let (model, model_s) = time(|| {
        vouch::attestation::report::build(
            &big_ledger,
            &year,
            &report,
            vouch::attestation::report::Appendix::All,
            None,
            &[],
        )
        .unwrap()
    });
    let ((_, pages), render_s) = time(|| vouch::attestation::pdf::render_counted(&model).unwrap());
    drop(big_ledger);

    // One `vouch record` process, durable commit included: median of 41 runs.
    let one = |db: &str| {
        let mut walls: Vec<f64> = (0..41)
            .map(|i| {
                let t = Instant::now();
                let st = Command::new(BIN)
                    .current_dir(dir)
                    .args([
                        "--ledger",
                        db,
                        "record",
                        "--item",
                        "guest-os.patching",
                        "--kind",
                        "patch-run",
                        "--outcome",
                        "pass",
                        "--performed-at",
                        "2026-07-01",
                        "--field",
                        "hosts=32",
                        "--field",
                        "patches_applied=120",
                        "--field",
                        "failed=0",
                        "--field",
                        &format!("x_run={i}"),
                        "--key",
                        "customer.key",
                    ])
                    .stdout(std::process::Stdio::null())
                    .status()
                    .unwrap();
                assert!(st.success());
                t.elapsed().as_secs_f64()
            })
            .collect();
        walls.sort_by(f64::total_cmp);
        walls[walls.len() / 2] * 1000.0
    };
    let one_small = one("batch.db");
    let one_big = one("big.db");

    println!("| vouch operation | result | against the raw rate |\n|---|---|---|");
    println!(
        "| `record --batch` {n_batch} entries (process, JSONL in) | {:.2} s = {:.0}/s, peak {:.0} MiB | {:.0} % of one-core sign |",
        batch_wall,
        batch_rate,
        batch_rss,
        100.0 * batch_rate / raw_sign
    );
    println!(
        "| library append of {n_batch} entries | {:.0}/s | {:.0} % of one-core sign |",
        lib_rate,
        100.0 * lib_rate / raw_sign
    );
    println!(
        "| building the {n_verify}-entry ledger (library) | {:.1} s | |",
        build_s
    );
    println!(
        "| `verify` {n_verify} entries (library) | {:.2} s = {:.0}/s | {:.0} % of batch-verify × {cores} cores ({:.0}/s) |",
        n_verify as f64 / verify_lib,
        verify_lib,
        100.0 * verify_lib / (raw_batch * cores as f64),
        raw_batch * cores as f64
    );
    println!(
        "| `verify` {n_verify} entries (process) | {:.2} s = {:.0}/s, peak {:.0} MiB | {:.0} % |",
        verify_wall,
        verify_bin,
        verify_rss,
        100.0 * verify_bin / (raw_batch * cores as f64)
    );
    println!(
        "| `verify` {} entries (process), for memory | peak {:.0} MiB ({:.2} s) | |",
        n_batch + 2,
        small_rss,
        small_wall
    );
    println!(
        "| one `vouch record` process, {}-entry ledger, median of 41 | {:.1} ms | |",
        n_batch + 43,
        one_small
    );
    println!(
        "| one `vouch record` process, {n_verify}-entry ledger with an adopted matrix, median of 41 | {:.1} ms | |",
        one_big
    );
    println!(
        "| `status --period 2026` over {n_verify} entries, Cloud Temple matrix (process) | {:.2} s, peak {:.0} MiB | |",
        status_wall, status_rss
    );
    println!(
        "| `report --period 2026 --appendix all` PDF over {n_verify} entries (process: verify, then build and render) | {:.2} s, peak {:.0} MiB; {pages} pages, {:.0} KiB, appendix {} rows{} | |",
        report_wall,
        report_rss,
        pdf_bytes as f64 / 1024.0,
        model.appendix.len(),
        if model.appendix_note.is_some() {
            " (limited; the page says so)"
        } else {
            ""
        }
    );
    println!(
        "| report phases (library): status + report model {:.2} s, PDF rendering {:.2} s | {:.2} s | |",
        model_s,
        render_s,
        model_s + render_s
    );

    // `vouch checkpoint` on the big ledger (FORMAT.md §13.6): root, signed note, recorded
    // entry (durable commit) and the file.
    let (cp_wall, cp_rss) = run_vouch(
        dir,
        &[
            "--ledger",
            "big.db",
            "checkpoint",
            "--key",
            "customer.key",
            "--out",
            "big-checkpoint.txt",
        ],
    );
    let cp_size = std::fs::read_to_string(dir.join("big-checkpoint.txt"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    println!(
        "| `checkpoint` of the {cp_size}-entry ledger (process: root, sign, record, write) | {:.1} ms, peak {:.0} MiB | target ≤ 1 s |",
        cp_wall * 1000.0,
        cp_rss
    );

    // Proofs on the big ledger (FORMAT.md §15): a checkpoint of every entry signed with the
    // library, then `prove` (inclusion of the middle entry; consistency from a third of the
    // ledger) and `verify --proof` with no ledger, each the median of 21 process runs.
    let big_ledger = Ledger::open(&big, vouch::ledger::Access::ReadOnly).unwrap();
    let size = big_ledger.size().unwrap();
    let origin = vouch::format::checkpoint::vouch_origin(&big_ledger.id().unwrap());
    for (cp_size, file) in [(size, "big.cp"), (size / 3, "third.cp")] {
        let note = vouch::format::checkpoint::Checkpoint {
            origin: origin.clone(),
            size: cp_size,
            root: big_ledger.merkle_root(cp_size).unwrap(),
            extensions: vec![],
        }
        .sign(&origin, &customer)
        .unwrap();
        std::fs::write(dir.join(file), note.to_string()).unwrap();
    }
    drop(big_ledger);
    std::fs::write(dir.join("customer.pub"), customer.public().to_pem()).unwrap();
    let median_ms = |args: &[&str]| {
        let mut walls: Vec<f64> = (0..21)
            .map(|_| {
                let t = Instant::now();
                let st = Command::new(BIN)
                    .current_dir(dir)
                    .args(args)
                    .stdout(std::process::Stdio::null())
                    .status()
                    .unwrap();
                assert!(st.success(), "vouch {args:?} failed");
                t.elapsed().as_secs_f64()
            })
            .collect();
        walls.sort_by(f64::total_cmp);
        walls[walls.len() / 2] * 1000.0
    };
    let seq = (size / 2 + 1).to_string();
    let prove_ms = median_ms(&[
        "--ledger",
        "big.db",
        "prove",
        &seq,
        "--checkpoint",
        "big.cp",
        "--out",
        "big.tlog-proof",
    ]);
    let verify_proof_ms = median_ms(&[
        "verify",
        "--proof",
        "big.tlog-proof",
        "--trust",
        "customer.pub",
    ]);
    let prove_c_ms = median_ms(&[
        "--ledger",
        "big.db",
        "prove",
        "--from",
        "third.cp",
        "--to",
        "big.cp",
        "--out",
        "big.consistency",
    ]);
    let verify_c_ms = median_ms(&[
        "verify",
        "--proof",
        "big.consistency",
        "--trust",
        "customer.pub",
    ]);
    println!(
        "| `prove {seq} --checkpoint` on the {size}-entry ledger (process, median of 21) | {prove_ms:.1} ms | target ≤ 50 ms |"
    );
    println!(
        "| `verify --proof` of that inclusion proof, no ledger (process, median of 21) | {verify_proof_ms:.1} ms | target ≤ 20 ms |"
    );
    println!(
        "| `prove --from` (size {}) `--to` (size {size}), and its `verify --proof` (processes, medians of 21) | {prove_c_ms:.1} ms, {verify_c_ms:.1} ms | targets ≤ 50 ms, ≤ 20 ms |",
        size / 3
    );

    // Export bundle of the big ledger (FORMAT.md, "Export bundles"): the whole command
    // (verification and writing run concurrently), then `verify --bundle` of it without the
    // ledger file (it streams entries.jsonl through the same verify, with no temporary
    // ledger). Peak memory of `record --batch` at 1M and 10M lines, and the temporary disk of
    // `verify --bundle`, are measured by benches/stream.sh.
    let (export_wall, export_rss) = run_vouch(
        dir,
        &[
            "--ledger",
            "big.db",
            "export",
            "--bundle",
            "big.bundle",
            "--key",
            "customer.key",
        ],
    );
    let jsonl = std::fs::metadata(dir.join("big.bundle/entries.jsonl"))
        .unwrap()
        .len();
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("big.bundle/bundle.json")).unwrap())
            .unwrap();
    let exported = info["entries"].as_u64().unwrap();
    let (vbundle_wall, vbundle_rss) = run_vouch(dir, &["verify", "--bundle", "big.bundle"]);
    println!(
        "| `export --bundle` of the {exported}-entry ledger (process: verify + write) | {:.2} s, peak {:.0} MiB, entries.jsonl {:.0} MiB | target ≤ 15 s; `verify` of {n_verify} alone {:.2} s |",
        export_wall,
        export_rss,
        jsonl as f64 / (1024.0 * 1024.0),
        verify_wall
    );
    println!(
        "| `verify --bundle` of it, no ledger file (process: entries streamed through verify) | {:.2} s, peak {:.0} MiB | |",
        vbundle_wall, vbundle_rss
    );
}
