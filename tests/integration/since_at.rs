//! Statements at a head (`--at SEQ`, schema/FORMAT.md §11) and verification from a trusted
//! checkpoint (`--since FILE`, §7.1), through the binary.

use crate::util::{Env, attacker};
use serde_json::Value;

/// An adopted ledger with Q3 evidence by both parties, signed off by both at head `head`,
/// and its Q3 report written to q3.pdf before anything else happened.
fn signed_q3() -> (Env, u64) {
    let env = Env::adopted();
    env.record("customer", "guest-os.patching");
    env.record("provider", "images.official-patching");
    env.record("customer", "guest-os.patching");
    let r = env.ok(&[
        "attest", "--period", "2026-Q3", "--key", "provider", "--yes",
    ]);
    let head = 7;
    assert!(
        r.stdout.contains(&format!("at head entry {head} ")),
        "{}",
        r.stdout
    );
    env.ok(&[
        "attest", "--period", "2026-Q3", "--key", "customer", "--yes",
    ]);
    env.ok(&["report", "--period", "2026-Q3", "--out", "q3.pdf"]);
    (env, head)
}

fn json(env: &Env, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let r = env.run(&a);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

#[test]
fn a_signoff_stays_valid_at_its_head_after_later_entries() {
    let (env, head) = signed_q3();
    // Later: Q4 evidence, a checkpoint.
    env.ok(&[
        "record",
        "--item",
        "guest-os.patching",
        "--kind",
        "patch-run",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-10-20",
        "--field",
        "hosts=12",
        "--field",
        "patches_applied=3",
        "--field",
        "failed=0",
        "--key",
        "customer",
    ]);
    env.ok(&["checkpoint", "--key", "provider"]);
    // The Q3 PDF is judged at the head it names: still exactly the report of that head.
    let r = env.ok(&["verify", "--report", "q3.pdf"]);
    assert!(
        r.stdout.starts_with("ok: q3.pdf is byte for byte"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("still matches (digest"), "{}", r.stdout);
    assert!(r.stdout.contains("and 2 more"), "{}", r.stdout);
    // The report at that head reproduces the same bytes.
    env.ok(&[
        "report",
        "--period",
        "2026-Q3",
        "--at",
        &head.to_string(),
        "--out",
        "again.pdf",
    ]);
    assert_eq!(
        std::fs::read(env.p("again.pdf")).unwrap(),
        std::fs::read(env.p("q3.pdf")).unwrap()
    );
    // attest: the sign-offs are valid at their head, not broken; verify agrees.
    let r = env.ok(&["attest", "--period", "2026-Q3"]);
    assert_eq!(
        r.stdout.matches(&format!("valid at head {head}")).count(),
        2,
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("NOT match"), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "entries after head {head}: no status of 2026-Q3 changes"
        )),
        "{}",
        r.stdout
    );
    let v = json(
        &env,
        &["attest", "--period", "2026-Q3", "--at", &head.to_string()],
    );
    assert_eq!(v["head"]["seq"], head);
    assert!(
        v["signoffs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["matches"] == true)
    );
    env.ok(&["verify"]);
    // status --at leaves the later entries out.
    let at = json(
        &env,
        &["status", "--period", "2026-Q4", "--at", &head.to_string()],
    );
    let now = json(
        &env,
        &["status", "--period", "2026-Q4", "--as-of", "2026-12-31"],
    );
    let counted = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|i| i["duties"].as_array().unwrap().iter())
            .map(|d| d["evidence"].as_array().unwrap().len())
            .sum::<usize>()
    };
    assert_eq!((counted(&at), counted(&now)), (0, 1));
}

#[test]
fn a_late_retraction_is_shown_as_a_later_change_and_a_newer_statement_can_be_signed() {
    let (env, head) = signed_q3();
    env.ok(&[
        "retract",
        "6",
        "--reason",
        "wrong run",
        "--key",
        "provider",
        "--yes",
    ]);
    let r = env.ok(&["attest", "--period", "2026-Q3"]);
    assert!(
        r.stdout.contains(&format!("valid at head {head}")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "entries after head {head} change 1 duty status(es) of 2026-Q3 (current head 10)"
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "images.official-patching (cloudtemple provider): overdue -> missing (entries #10)"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("vouch attest --period 2026-Q3 --key KEY"),
        "{}",
        r.stdout
    );
    // The PDF of head 7 still holds; the newer statement is signed at head 10.
    env.ok(&["verify", "--report", "q3.pdf"]);
    let r = env.ok(&[
        "attest", "--period", "2026-Q3", "--key", "customer", "--yes",
    ]);
    assert!(r.stdout.contains("at head entry 10 "), "{}", r.stdout);
    assert!(r.stdout.contains("in entry 11: matches"), "{}", r.stdout);
    // A sign-off made later at an earlier head (attest --at) is valid there too.
    let r = env.ok(&[
        "attest", "--period", "2026-Q3", "--at", "8", "--key", "customer", "--yes",
    ]);
    assert!(
        r.stdout.contains(&format!("at head entry {head} ")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("in entry 12: matches"), "{}", r.stdout);
    env.ok(&["verify"]);
    // --at beyond the ledger is bad input.
    let r = env.fails(&["attest", "--period", "2026-Q3", "--at", "99"]);
    assert!(
        r.stderr.contains("--at 99: the ledger has entries 1 to 12"),
        "{}",
        r.stderr
    );
    env.fails(&[
        "report", "--period", "2026-Q3", "--at", "0", "--out", "x.pdf",
    ]);
    assert!(!env.p("x.pdf").exists());
}

/// A ledger with a checkpoint by the customer and entries after it.
fn checkpointed() -> Env {
    let (env, _) = signed_q3();
    let r = env.ok(&["checkpoint", "--key", "customer"]);
    assert!(r.stdout.contains("wrote checkpoint-9.txt"), "{}", r.stdout);
    env.record("customer", "guest-os.patching");
    env.record("provider", "images.official-patching");
    env
}

#[test]
fn verify_and_report_since_a_trusted_checkpoint() {
    let env = checkpointed();
    let full = json(&env, &["verify"]);
    let v = json(
        &env,
        &[
            "verify",
            "--since",
            "checkpoint-9.txt",
            "--since-key",
            "keys/customer.pub",
        ],
    );
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(
        (full["signatures"].as_u64(), v["signatures"].as_u64()),
        (Some(12), Some(3))
    );
    assert_eq!(v["since"]["size"], 9);
    assert_eq!(v["merkle_root"], full["merkle_root"]);
    // A pinned key (--trust) is trusted for --since too.
    let pins = [
        "--trust",
        "keys/customer.pub",
        "--trust",
        "keys/provider.pub",
    ];
    let mut a = vec!["verify", "--since", "checkpoint-9.txt"];
    a.extend(pins);
    let r = env.ok(&a);
    assert!(
        r.stdout.contains("since: entries 1–9 rehashed"),
        "{}",
        r.stdout
    );
    // The report from the checkpoint: the same report, and its stamp says how it was verified.
    let mut a = vec!["report", "--period", "2026-Q3", "--format", "json"];
    a.extend(pins);
    let plain: Value = serde_json::from_str(&env.ok(&a).stdout).unwrap();
    a.extend(["--since", "checkpoint-9.txt"]);
    let mut since: Value = serde_json::from_str(&env.ok(&a).stdout).unwrap();
    let stamp = since.as_object_mut().unwrap().remove("since").unwrap();
    assert_eq!(since, plain);
    assert_eq!(stamp["size"], 9);
    let mut a = vec![
        "report",
        "--period",
        "2026-Q3",
        "--out",
        "s.pdf",
        "--since",
        "checkpoint-9.txt",
    ];
    a.extend(pins);
    env.ok(&a);
    let pdf = std::fs::read(env.p("s.pdf")).unwrap();
    let stamp = vouch::attestation::pdf::read_stamp(&pdf).unwrap();
    assert_eq!(stamp.since.unwrap().size, 9);
    let r = env.ok(&["verify", "--report", "s.pdf"]);
    assert!(
        r.stdout.starts_with("ok: s.pdf is byte for byte"),
        "{}",
        r.stdout
    );
}

#[test]
fn since_refuses_untrusted_keys_and_other_ledgers() {
    let env = checkpointed();
    // No trusted key: the ledger's own registry does not make one.
    let r = env.fails(&["verify", "--since", "checkpoint-9.txt"]);
    assert!(
        r.stderr.contains("--since needs the key you trust"),
        "{}",
        r.stderr
    );
    // Signed by the customer; only the provider is trusted.
    let r = env.fails(&[
        "verify",
        "--since",
        "checkpoint-9.txt",
        "--since-key",
        "keys/provider.pub",
    ]);
    assert!(
        r.stderr.contains("not signed by a key you trust"),
        "{}",
        r.stderr
    );
    let r = env.fails(&[
        "report",
        "--period",
        "2026-Q3",
        "--out",
        "x.pdf",
        "--since",
        "checkpoint-9.txt",
        "--since-key",
        "keys/provider.pub",
    ]);
    assert!(
        r.stderr.contains("not signed by a key you trust"),
        "{}",
        r.stderr
    );
    assert!(!env.p("x.pdf").exists());
    // A key the user holds but that is not the signer's, by fingerprint: the same.
    env.ok(&["keygen", "stranger"]);
    let r = env.fails(&[
        "verify",
        "--since",
        "checkpoint-9.txt",
        "--since-key",
        "keys/stranger.pub",
    ]);
    assert!(
        r.stderr.contains("not signed by a key you trust"),
        "{}",
        r.stderr
    );
    // Another ledger's checkpoint.
    let other = Env::two_parties();
    other.ok(&["checkpoint", "--key", "customer"]);
    std::fs::copy(other.p("checkpoint-2.txt"), env.p("other.txt")).unwrap();
    let r = env.fails(&[
        "verify",
        "--since",
        "other.txt",
        "--since-key",
        "keys/customer.pub",
    ]);
    assert!(r.stderr.contains("not of this ledger"), "{}", r.stderr);
    // Not with --report.
    env.fails(&[
        "verify",
        "--report",
        "q3.pdf",
        "--since",
        "checkpoint-9.txt",
    ]);
}

#[test]
fn since_finds_entries_rewritten_below_the_checkpoint_and_a_truncated_ledger() {
    let env = checkpointed();
    let since = [
        "--since",
        "checkpoint-9.txt",
        "--since-key",
        "keys/customer.pub",
    ];
    // Entry 5's text edited: its signature is not checked, but the root no longer matches.
    attacker(&env.p("ledger.db"))
        .execute_batch(
            "UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), 'kind: evidence', 'kind: evidencf') AS BLOB) WHERE seq = 5",
        )
        .unwrap();
    let mut a = vec!["verify"];
    a.extend(since);
    let r = env.run(&a);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .starts_with("entry 0: entries 1–9 do not hash to the root of the trusted checkpoint"),
        "{}",
        r.stdout
    );
    let mut a = vec!["report", "--period", "2026-Q3", "--out", "x.pdf"];
    a.extend(since);
    let r = env.run(&a);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("trusted checkpoint"), "{}", r.stdout);
    assert!(!env.p("x.pdf").exists());

    // A checkpoint larger than the ledger: truncated or rolled back.
    let env = checkpointed();
    attacker(&env.p("ledger.db"))
        .execute_batch("DELETE FROM merkle_nodes; DELETE FROM entries WHERE seq > 6")
        .unwrap();
    let mut a = vec!["verify", "--all"];
    a.extend(since);
    let r = env.run(&a);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("the trusted checkpoint covers 9 entries, but the ledger has 6: truncated or rolled back"),
        "{}",
        r.stdout
    );
}

/// Evidence below a trusted checkpoint is read for its item and artefacts only (its rules
/// were checked by the checkpoint's signer, FORMAT.md §7.1), but the derived columns are
/// still compared with it: an `item` column rewritten below the checkpoint is a finding.
#[test]
fn since_still_checks_derived_columns_below_the_checkpoint() {
    let env = checkpointed();
    let since = [
        "--since",
        "checkpoint-9.txt",
        "--since-key",
        "keys/customer.pub",
    ];
    let mut a = vec!["verify"];
    a.extend(since);
    env.ok(&a);
    attacker(&env.p("ledger.db"))
        .execute_batch("UPDATE entries SET item = 'backup.policy' WHERE seq = 5")
        .unwrap();
    let r = env.run(&a);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("entry 5: stored item column differs from the signed payload"),
        "{}",
        r.stdout
    );
}
