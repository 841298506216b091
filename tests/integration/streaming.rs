//! Bounded memory on huge input (issue 11 items 6 and 8): `record --batch` streams the batch
//! in chunks inside one transaction, and `verify --bundle` streams `entries.jsonl` through
//! the verifier with no temporary ledger.

use crate::util::Env;

/// One evidence line for the adopted Cloud Temple matrix (`backup_id` bk-`i`).
fn line(i: usize, item: &str) -> String {
    format!(
        r#"{{"item":"{item}","kind":"restore-test","outcome":"pass","performed_at":"2026-07-01","fields":{{"backup_id":"bk-{i}","rto_minutes":45,"data_verified":true}}}}"#
    )
}

/// A batch of `n` lines, line `bad` (1-based) replaced by `bad_line`.
fn batch(n: usize, bad: Option<(usize, &str)>) -> String {
    let mut s = String::new();
    for i in 1..=n {
        match bad {
            Some((b, text)) if b == i => s.push_str(text),
            _ => s.push_str(&line(i, "backup.restore-tests")),
        }
        s.push('\n');
    }
    s
}

/// A 20 000-line batch (several chunks) with a bad line near its end leaves the ledger as it
/// was and names the line, whether the line does not parse, breaks a field rule, or names an
/// item the adopted matrix does not have; fixed, the whole batch lands and verifies.
#[test]
fn a_huge_batch_with_a_bad_line_near_the_end_changes_nothing() {
    let env = Env::adopted();
    let before = env.snapshot();
    let unknown = line(19_990, "backup.no-such-item");
    let negative = line(19_990, "backup.restore-tests").replace("45", "-45");
    for (bad, what) in [
        (
            "{\"item\":",
            "b.jsonl line 19990, column 8: EOF while parsing",
        ),
        (
            negative.as_str(),
            "b.jsonl line 19990: field rto_minutes of restore-test: -45 is less than 0",
        ),
        (
            unknown.as_str(),
            "b.jsonl line 19990: \"backup.no-such-item\" is not an item of matrix",
        ),
    ] {
        std::fs::write(env.p("b.jsonl"), batch(20_000, Some((19_990, bad)))).unwrap();
        let r = env.fails(&["record", "--batch", "b.jsonl", "--key", "customer"]);
        assert!(r.stderr.contains(what), "{}", r.stderr);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
        assert_eq!(before, env.snapshot(), "nothing of the batch was written");
    }
    // A line over the cap, near the end, by number.
    let mut text = batch(20_000, None);
    text.push_str(&"x".repeat(1024 * 1024 + 1));
    text.push('\n');
    std::fs::write(env.p("b.jsonl"), text).unwrap();
    let r = env.fails(&["record", "--batch", "b.jsonl", "--key", "customer"]);
    assert!(
        r.stderr
            .contains("b.jsonl line 20001 is longer than 1048576 bytes"),
        "{}",
        r.stderr
    );
    assert_eq!(before, env.snapshot());

    std::fs::write(env.p("b.jsonl"), batch(20_000, None)).unwrap();
    let r = env.ok(&["record", "--batch", "b.jsonl", "--key", "customer"]);
    assert_eq!(
        r.stdout,
        "entries 5–20004: 20000 evidence entries recorded by acme\n"
    );
    let v = env.ok(&["verify"]);
    assert!(v.stdout.contains("20004 entries"), "{}", v.stdout);
}

/// `--format json` still lists every entry of a batch (read back from the ledger once the
/// batch is committed), exactly as a JSON document with seq and hash each.
#[test]
fn a_batch_in_json_lists_every_entry() {
    let env = Env::adopted();
    std::fs::write(env.p("b.jsonl"), batch(5000, None)).unwrap();
    let r = env.ok(&[
        "--format", "json", "record", "--batch", "b.jsonl", "--key", "customer",
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["party"], "acme");
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5000);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["seq"], serde_json::json!(i as u64 + 5));
    }
    // The hashes are the entries' own.
    let shown: serde_json::Value =
        serde_json::from_str(&env.ok(&["--format", "json", "show", "5004"]).stdout).unwrap();
    assert_eq!(entries[4999]["hash"], shown["hash"], "{shown}");
    // The document is what print_json would print for the same value.
    assert_eq!(
        r.stdout,
        format!("{}\n", serde_json::to_string_pretty(&v).unwrap())
    );
}

/// `verify --bundle` needs no temporary ledger: it passes with TMPDIR pointing at a file
/// (where nothing can be created), and writes nothing into an empty TMPDIR.
#[test]
fn verify_bundle_writes_no_temporary_file() {
    let env = Env::adopted();
    std::fs::write(env.p("b.jsonl"), batch(3000, None)).unwrap();
    env.ok(&["record", "--batch", "b.jsonl", "--key", "customer"]);
    env.ok(&["export", "--bundle", "bundle", "--key", "provider"]);
    std::fs::write(env.p("not-a-dir"), "x").unwrap();
    let r = env
        .cmd()
        .env("TMPDIR", env.p("not-a-dir"))
        .args(["verify", "--bundle", "bundle"])
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    std::fs::create_dir(env.p("tmp")).unwrap();
    let r = env
        .cmd()
        .env("TMPDIR", env.p("tmp"))
        .args(["verify", "--bundle", "bundle"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("3004 entries"),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
    assert_eq!(std::fs::read_dir(env.p("tmp")).unwrap().count(), 0);
}
