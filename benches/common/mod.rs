//! What the benchmarks share: running the `vouch` binary with its peak memory, the
//! evidence they record, and the two-party ledger they record it in.

use std::path::Path;
use std::process::Command;

use vouch::crypto::SecretKey;
use vouch::format::entry::{LedgerId, parse_time};
use vouch::format::payload::Role;
use vouch::ledger::evidence::EvidenceInput;
use vouch::ledger::{Ledger, NewParty};

pub const BIN: &str = env!("CARGO_BIN_EXE_vouch");

/// Run the vouch binary; return (wall seconds, peak RSS in MiB of the child), read with
/// Python's `resource` module (the machine's python3).
pub fn run_vouch(dir: &Path, args: &[&str]) -> (f64, f64) {
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

/// Evidence number `i`: restore tests spread over the first 300 days of 2026 (none in the
/// future of a late-2026 clock) and over the customer's backup items of the Cloud Temple
/// matrix.
pub fn input(i: usize) -> EvidenceInput {
    let mut fields = std::collections::BTreeMap::new();
    fields.insert(
        "backup_id".to_string(),
        serde_json::json!(format!("bk-{i}")),
    );
    fields.insert("rto_minutes".to_string(), serde_json::json!(45));
    fields.insert("data_verified".to_string(), serde_json::json!(true));
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

/// The benchmarks' keys: the provider's and the customer's, from fixed seeds.
pub fn keys() -> (SecretKey, SecretKey) {
    (
        SecretKey::from_seed(&[1u8; 32]),
        SecretKey::from_seed(&[2u8; 32]),
    )
}

/// A new ledger at `path` with the provider and the customer registered.
pub fn two_parties(path: &Path, provider: &SecretKey, customer: &SecretKey) -> Ledger {
    let t0 = parse_time("2026-07-01T00:00:00Z").unwrap();
    let (mut l, _) = Ledger::init(
        path,
        LedgerId([3u8; 16]),
        &NewParty {
            id: "provider".into(),
            name: "P".into(),
            role: Role::Provider,
        },
        provider,
        t0,
    )
    .unwrap();
    l.add_party(
        &NewParty {
            id: "customer".into(),
            name: "C".into(),
            role: Role::Customer,
        },
        customer,
        provider,
        t0,
    )
    .unwrap();
    l
}

/// The Cloud Temple matrix adopted by the provider, both roles bound.
pub fn adopt_cloud_temple(l: &mut Ledger, provider: &SecretKey) {
    let text = vouch::demo::MATRIX.as_bytes().to_vec();
    let m = vouch::matrix::Matrix::parse(vouch::demo::MATRIX, "ct.toml").unwrap();
    let mref = vouch::attestation::adopted::matrix_ref(&m, &text);
    let bindings = [("provider", "provider"), ("customer", "customer")]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    l.adopt(
        provider,
        mref,
        text,
        bindings,
        vec![],
        parse_time("2026-07-01T00:00:00Z").unwrap(),
    )
    .unwrap();
}
