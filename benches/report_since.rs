//! Report benchmark: the PDF report of a year over a 1M-entry ledger, verified from a trusted
//! checkpoint (`report --since`, `schema/FORMAT.md` §7.1) and, for comparison, in full.
//!
//! Run: `cargo bench --bench report_since` (release build). `-- --quick` uses 10× smaller
//! sizes; `-- --since-only` skips the full-verification run. Peak memory of the `vouch`
//! processes is read with Python's `resource` module, as in `benches/ledger.rs`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use vouch::crypto::SecretKey;
use vouch::format::entry::{LedgerId, parse_time};
use vouch::format::payload::Role;
use vouch::ledger::evidence::{self, EvidenceInput};
use vouch::ledger::{Ledger, NewParty, NoProgress};

const BIN: &str = env!("CARGO_BIN_EXE_vouch");

/// Run the vouch binary; return (wall seconds, peak RSS in MiB of the child).
fn run_vouch(dir: &Path, args: &[&str]) -> (f64, f64) {
    let script = "import resource,subprocess,sys,time\n\
        t=time.perf_counter(); r=subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n\
        w=time.perf_counter()-t\n\
        if r.returncode: sys.exit(r.returncode)\n\
        print(w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024)";
    let out = Command::new("python3")
        .current_dir(dir)
        .arg("-c")
        .arg(script)
        .arg(BIN)
        .args(args)
        .output()
        .expect("python3 is needed to measure peak memory");
    assert!(
        out.status.success(),
        "vouch {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    let mut it = s.split_whitespace().map(|x| x.parse::<f64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

/// The evidence of `benches/ledger.rs`: restore tests spread over 2026.
fn input(i: usize) -> EvidenceInput {
    let mut fields = std::collections::BTreeMap::new();
    fields.insert(
        "backup_id".to_string(),
        serde_json::json!(format!("bk-{i}")),
    );
    fields.insert("rto_minutes".to_string(), serde_json::json!(45));
    fields.insert("data_verified".to_string(), serde_json::json!(true));
    // Spread over the first 300 days of 2026 (none in the future of a late-2026 clock).
    let day =
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new((i % 300) as u64);
    let items = [
        "backup.restore-tests",
        "backup.verify-restorability",
        "backup.policy",
    ];
    EvidenceInput {
        item: items[i % items.len()].into(),
        kind: "restore-test".into(),
        outcome: if i.is_multiple_of(97) { "fail" } else { "pass" }.into(),
        performed_at: format!("{day}T10:00:00Z"),
        fields,
        artifacts: vec![],
        note: None,
        supporting: false,
    }
}

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
    let provider = SecretKey::from_seed(&[1u8; 32]);
    let customer = SecretKey::from_seed(&[2u8; 32]);
    let t0 = parse_time("2026-07-01T00:00:00Z").unwrap();
    let big = dir.join("big.db");
    let (mut l, _) = Ledger::init(
        &big,
        LedgerId([3u8; 16]),
        &NewParty {
            id: "provider".into(),
            name: "P".into(),
            role: Role::Provider,
        },
        &provider,
        t0,
    )
    .unwrap();
    l.add_party(
        &NewParty {
            id: "customer".into(),
            name: "C".into(),
            role: Role::Customer,
        },
        &customer,
        &provider,
        t0,
    )
    .unwrap();
    let text = vouch::demo::MATRIX.as_bytes().to_vec();
    let m = vouch::matrix::Matrix::parse(vouch::demo::MATRIX, "ct.toml").unwrap();
    let mref = vouch::attestation::adopted::matrix_ref(&m, &text);
    let bindings = [("provider", "provider"), ("customer", "customer")]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    l.adopt(&provider, mref, text, bindings, vec![], t0)
        .unwrap();
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
