//! Report benchmark: the PDF report of a year over a 1M-entry ledger, verified from a trusted
//! checkpoint (`report --since`, `schema/FORMAT.md` §7.1) and, for comparison, in full.
//!
//! Run: `cargo bench --bench report_since` (release build). `-- --quick` uses 10× smaller
//! sizes; `-- --since-only` skips the full-verification run. Peak memory of the `vouch`
//! processes is read with Python's `resource` module, as in `benches/ledger.rs`.

use std::time::Instant;

use vouch::crypto::SecretKey;
use vouch::ledger::evidence;
use vouch::ledger::{Ledger, NoProgress};

mod common;
use common::{input, run_vouch};

/// Append evidence `from..to` in chunks of 100,000.
fn append(l: &mut Ledger, key: &SecretKey, from: usize, to: usize) {
    let now = vouch::clock::now();
    let mut i = from;
    while i < to {
        let k = 100_000.min(to - i);
        let drafts: Vec<_> = (i..i + k)
            .map(|j| evidence::draft(&input(j), now, false).unwrap())
            .collect();
        l.append(key, drafts, now, &NoProgress).unwrap();
        i += k;
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let since_only = std::env::args().any(|a| a == "--since-only");
    let n = 1_000_000 / if quick { 10 } else { 1 };
    // Entries recorded after the checkpoint: their signatures are checked.
    let after = 10_000 / if quick { 10 } else { 1 };
    // VOUCH_BENCH_DIR keeps the ledger and checkpoint there (to profile them afterwards).
    let tmp = tempfile::tempdir().unwrap();
    let kept = std::env::var_os("VOUCH_BENCH_DIR").map(std::path::PathBuf::from);
    let dir = kept.as_deref().unwrap_or(tmp.path());
    std::fs::create_dir_all(dir).unwrap();

    // The ledger of benches/ledger.rs: two parties, the Cloud Temple matrix, evidence.
    let (provider, customer) = common::keys();
    let big = dir.join("big.db");
    let mut l = common::two_parties(&big, &provider, &customer);
    common::adopt_cloud_temple(&mut l, &provider);
    let t = Instant::now();
    // The customer verified the ledger and wrote a checkpoint; then life went on.
    append(&mut l, &customer, 0, n - 4 - after);
    let (_, note) = l.checkpoint(&customer, vouch::clock::now()).unwrap();
    std::fs::write(dir.join("ckpt.txt"), note.to_string()).unwrap();
    append(&mut l, &customer, n - 4 - after, n - 4);
    let build_s = t.elapsed().as_secs_f64();
    drop(l);
    let key = customer.public().fingerprint().to_string();

    let report = |since: bool| {
        let mut args = vec![
            "--ledger",
            "big.db",
            "report",
            "--period",
            "2026",
            "--appendix",
            "all",
            "--force",
            "--out",
            "big.pdf",
        ];
        if since {
            args.extend(["--since", "ckpt.txt", "--since-key", key.as_str()]);
        }
        run_vouch(dir, &args)
    };
    let (since_wall, since_rss) = report(true);
    println!("vouch report benchmark: {n} entries (built in {build_s:.0} s)\n");
    println!("| vouch operation | result |\n|---|---|");
    println!(
        "| `report --period 2026 --appendix all --since CKPT` ({} entries after the checkpoint) | {since_wall:.2} s, peak {since_rss:.0} MiB |",
        after + 1
    );
    if !since_only {
        let (full_wall, full_rss) = report(false);
        println!(
            "| `report --period 2026 --appendix all` (every signature checked) | {full_wall:.2} s, peak {full_rss:.0} MiB |"
        );
    }
}
