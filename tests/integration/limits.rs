//! Limits on what vouch accepts (issue 11): entry times against the clock, the ledger's
//! `meta` rows, bounded evidence fields and dates, matrices with items, periods in order
//! and of sane length, and one verdict from `verify --checkpoint`.

use crate::util::{Env, attacker};
use vouch::format::entry::parse_time;
use vouch::ledger::evidence::{self, EvidenceInput};
use vouch::ledger::verify::{self, Check, Options};
use vouch::ledger::{Access, Ledger, NoProgress};

/// A patch run by the customer with these `--field` flags (and no others).
fn patch_run<'a>(fields: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "record",
        "--item",
        "guest-os.patching",
        "--kind",
        "patch-run",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-01",
        "--key",
        "keys/customer.key",
    ];
    for f in fields {
        args.extend(["--field", f]);
    }
    args
}

const COUNTS: [&str; 3] = ["hosts=12", "patches_applied=40", "failed=0"];

/// Append one evidence entry through the library, as a writer whose clock says `now`.
fn append_at(env: &Env, now: &str) -> u64 {
    let now = parse_time(now).unwrap();
    let key = vouch::crypto::keyfile::load_secret(&env.p("keys/customer.key")).unwrap();
    let input = EvidenceInput {
        item: "guest-os.patching".into(),
        kind: "patch-run".into(),
        outcome: "pass".into(),
        performed_at: "2026-07-01".into(),
        fields: [
            ("hosts".to_string(), serde_json::json!(1)),
            ("patches_applied".to_string(), serde_json::json!(1)),
            ("failed".to_string(), serde_json::json!(0)),
        ]
        .into(),
        ..EvidenceInput::default()
    };
    let d = evidence::draft(&input, now, false).unwrap();
    let mut l = Ledger::open(&env.p("ledger.db"), Access::ReadWrite).unwrap();
    l.append(&key, vec![d], now, &NoProgress).unwrap()[0].seq
}

/// An entry dated 2099 (a writer with a wrong clock) is a verify finding, and no writer
/// with a right clock appends after it: every later entry would be dated 2099 too.
#[test]
fn an_entry_dated_in_the_future_is_found_and_blocks_appending() {
    let env = Env::two_parties();
    env.ok(&patch_run(&COUNTS));
    let seq = append_at(&env, "2099-01-01T00:00:00Z");
    assert_eq!(seq, 4);
    let r = env.run(&["verify"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let first = r.stdout.lines().next().unwrap();
    assert!(
        first.starts_with(
            "entry 4: time 2099-01-01T00:00:00Z is later than this machine's clock (20"
        ) && first.contains(") plus 5 minutes"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("ok: "), "{}", r.stdout);
    let before = env.snapshot();
    let r = env.fails(&patch_run(&COUNTS));
    assert!(
        r.stderr.starts_with(
            "vouch: error: the newest entry (4) is dated 2099-01-01T00:00:00Z, more than 5 minutes after this machine's clock (20"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("check this machine's clock"),
        "{}",
        r.stderr
    );
    assert_eq!(before, env.snapshot(), "nothing appended");
    // A checkpoint is an append too.
    env.fails(&[
        "checkpoint",
        "--key",
        "keys/customer.key",
        "--out",
        "cp.txt",
    ]);
    assert!(!env.p("cp.txt").exists());
    assert_eq!(before, env.snapshot());
}

/// Within the skew allowance is not the future; the verifier's clock is a parameter of
/// the library (here forged: a verifier whose clock is a year behind).
#[test]
fn verify_compares_times_with_the_clock_it_is_given() {
    let env = Env::two_parties();
    env.ok(&patch_run(&COUNTS));
    let now = vouch::clock::now();
    let opts = |at| Options {
        now: Some(at),
        ..Options::default()
    };
    let path = env.p("ledger.db");
    let r = verify::verify(&path, &opts(now), &NoProgress).unwrap();
    assert!(r.ok(), "{:?}", r.findings);
    let r = verify::verify(
        &path,
        &opts(now - chrono::Duration::minutes(4)),
        &NoProgress,
    )
    .unwrap();
    assert!(r.ok(), "within 5 minutes: {:?}", r.findings);
    let behind = now - chrono::Duration::days(365);
    let r = verify::verify(&path, &opts(behind), &NoProgress).unwrap();
    assert_eq!(r.findings.len(), 1, "only the first entry from the future");
    assert_eq!((r.findings[0].seq, r.findings[0].check), (1, Check::Clock));
    let all = Options {
        all: true,
        ..opts(behind)
    };
    let r = verify::verify(&path, &all, &NoProgress).unwrap();
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    // Without a clock, times are not compared with one.
    assert!(
        verify::verify(&path, &Options::default(), &NoProgress)
            .unwrap()
            .ok()
    );
}

/// A `format` this vouch does not know is refused; unknown `meta` rows, and a missing
/// format, are findings.
#[test]
fn meta_rows_are_checked() {
    let env = Env::two_parties();
    attacker(&env.p("ledger.db"))
        .execute_batch("UPDATE meta SET value = 'vouch/v3' WHERE key = 'format'")
        .unwrap();
    let r = env.fails(&["verify"]);
    assert!(
        r.stderr.contains(
            "ledger.db: ledger format \"vouch/v3\" is not one this vouch reads (it reads vouch/v1, vouch/v2)"
        ),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint: upgrade vouch"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);

    let env = Env::two_parties();
    attacker(&env.p("ledger.db"))
        .execute_batch("INSERT INTO meta VALUES ('origin', 'x')")
        .unwrap();
    let r = env.run(&["verify", "--all"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with(
            "entry 0: the file's metadata has an unknown row \"origin\" (a ledger has only format and ledger_id)\n"
        ),
        "{}",
        r.stdout
    );
    attacker(&env.p("ledger.db"))
        .execute_batch("DELETE FROM meta WHERE key = 'format'")
        .unwrap();
    let r = env.run(&["verify", "--all"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("entry 0: the file's metadata has no format row\n"),
        "{}",
        r.stdout
    );
}

/// Counts are whole and not negative, refused before anything is written.
#[test]
fn counts_must_be_whole_and_not_negative() {
    let env = Env::two_parties();
    let before = env.snapshot();
    for (hosts, what) in [
        ("hosts=-1.5", r#""-1.5" is not a whole number"#),
        ("hosts=2.5", r#""2.5" is not a whole number"#),
        ("hosts=-1", r#""-1" is less than 0"#),
    ] {
        let r = env.fails(&patch_run(&[hosts, "patches_applied=40", "failed=0"]));
        assert!(
            r.stderr
                .starts_with(&format!("vouch: error: field hosts of patch-run: {what}\n")),
            "{}",
            r.stderr
        );
    }
    std::fs::write(
        env.p("b.jsonl"),
        r#"{"item":"guest-os.patching","kind":"patch-run","outcome":"pass","performed_at":"2026-07-01","fields":{"hosts":1,"patches_applied":1,"failed":0}}
{"item":"guest-os.patching","kind":"patch-run","outcome":"pass","performed_at":"2026-07-01","fields":{"hosts":1,"patches_applied":-3,"failed":0}}
"#,
    )
    .unwrap();
    let r = env.fails(&["record", "--batch", "b.jsonl", "--key", "keys/customer.key"]);
    assert!(
        r.stderr
            .contains("b.jsonl line 2: field patches_applied of patch-run: -3 is less than 0"),
        "{}",
        r.stderr
    );
    assert_eq!(before, env.snapshot());
    // 12.0 is twelve.
    env.ok(&patch_run(&["hosts=12.0", "patches_applied=0", "failed=0"]));
}

/// performed_at from year 0 or 1 is a typo; the floor is 1970-01-01.
#[test]
fn performed_at_has_a_floor() {
    let env = Env::two_parties();
    let before = env.snapshot();
    for date in ["0000-01-01", "0001-07-01", "1969-12-31T23:59:59Z"] {
        let mut args = patch_run(&COUNTS);
        let at = args.iter().position(|a| *a == "2026-07-01").unwrap();
        args[at] = date;
        let r = env.fails(&args);
        assert!(
            r.stderr.starts_with(&format!(
                "vouch: error: performed_at {date} is before 1970-01-01T00:00:00Z\n"
            )),
            "{}",
            r.stderr
        );
    }
    assert_eq!(before, env.snapshot());
    let mut args = patch_run(&COUNTS);
    let at = args.iter().position(|a| *a == "2026-07-01").unwrap();
    args[at] = "1970-01-01";
    env.ok(&args);
}

/// At most 64 fields, string values of at most 4096 bytes, lists of at most 16 KiB; a
/// batch line with 80 000 custom fields is refused quickly, naming the line.
#[test]
fn evidence_fields_are_bounded() {
    let env = Env::two_parties();
    let before = env.snapshot();
    let many: Vec<String> = (0..62).map(|i| format!("x_f{i}=1")).collect();
    let mut fields: Vec<&str> = COUNTS.to_vec();
    fields.extend(many.iter().map(String::as_str));
    let r = env.fails(&patch_run(&fields));
    assert!(
        r.stderr
            .starts_with("vouch: error: 65 fields; evidence carries at most 64\n"),
        "{}",
        r.stderr
    );
    fields.pop();
    env.ok(&patch_run(&fields));
    let before_big = env.snapshot();
    assert_ne!(before, before_big);

    let big = format!("x_log={}", "a".repeat(4097));
    let mut fields = COUNTS.to_vec();
    fields.push(&big);
    let r = env.fails(&patch_run(&fields));
    assert!(
        r.stderr.starts_with(
            "vouch: error: field x_log: value is 4097 bytes; at most 4096 are allowed\n"
        ),
        "{}",
        r.stderr
    );

    let line = |fields: &str| {
        format!(
            r#"{{"item":"guest-os.patching","kind":"patch-run","outcome":"pass","performed_at":"2026-07-01","fields":{{"hosts":1,"patches_applied":1,"failed":0{fields}}}}}"#
        )
    };
    let list: Vec<String> = (0..2000).map(|i| format!("\"item-{i:04}\"")).collect();
    std::fs::write(
        env.p("list.jsonl"),
        line(&format!(r#","x_list":[{}]"#, list.join(","))),
    )
    .unwrap();
    let r = env.fails(&[
        "record",
        "--batch",
        "list.jsonl",
        "--key",
        "keys/customer.key",
    ]);
    assert!(
        r.stderr.contains(
            "list.jsonl line 1: field x_list: value is 20000 bytes; at most 16384 are allowed"
        ),
        "{}",
        r.stderr
    );

    let custom: String = (0..80_000).map(|i| format!(r#","x_{i:05}":1"#)).collect();
    let text = line(&custom);
    assert!(text.len() < 1024 * 1024, "within the line limit");
    std::fs::write(env.p("many.jsonl"), text).unwrap();
    let t = std::time::Instant::now();
    let r = env.fails(&[
        "record",
        "--batch",
        "many.jsonl",
        "--key",
        "keys/customer.key",
    ]);
    assert!(
        r.stderr
            .contains("many.jsonl line 1: 80003 fields; evidence carries at most 64"),
        "{}",
        r.stderr
    );
    assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
    assert_eq!(before_big, env.snapshot());
}

/// A matrix without items is refused by the reader, naming the file; nothing is adopted.
#[test]
fn a_matrix_with_no_items_is_refused() {
    let env = Env::two_parties();
    let text = std::fs::read_to_string(crate::util::CT).unwrap();
    let head = &text[..text.find("[[items]]").unwrap()];
    std::fs::write(env.p("empty.toml"), head).unwrap();
    let r = env.fails(&["matrix", "validate", "empty.toml"]);
    assert!(
        r.stderr.contains("empty.toml: the matrix has no items"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("[[items]]"), "{}", r.stderr);
    let before = env.snapshot();
    let r = env.fails(&[
        "matrix",
        "adopt",
        "empty.toml",
        "--bind",
        "provider=cloudtemple",
        "--bind",
        "customer=acme",
        "--key",
        "keys/provider.key",
    ]);
    assert!(
        r.stderr.contains("empty.toml: the matrix has no items"),
        "{}",
        r.stderr
    );
    assert_eq!(before, env.snapshot());
    // A CSV with a header row and no rows, too.
    std::fs::write(
        env.p("empty.csv"),
        "id,section,activity,raci_provider,raci_customer\n",
    )
    .unwrap();
    let r = env.fails(&[
        "matrix",
        "import",
        "empty.csv",
        "--header",
        "empty.toml",
        "--out",
        "m.toml",
    ]);
    assert!(
        r.stderr.contains("empty.csv: the matrix has no items"),
        "{}",
        r.stderr
    );
    assert!(!env.p("m.toml").exists());
}

/// Reversed dates are named as such; a period longer than ten years is refused.
#[test]
fn periods_are_in_order_and_at_most_ten_years() {
    let env = Env::adopted();
    let before = env.snapshot();
    let r = env.fails(&["status", "--from", "2026-09-01", "--to", "2026-01-01"]);
    assert!(
        r.stderr.starts_with(
            "vouch: error: --from/--to: the period's dates are reversed: 2026-09-01 is after 2026-01-01\n"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("--from 2026-01-01 --to 2026-09-01"),
        "{}",
        r.stderr
    );
    let r = env.fails(&["report", "--from", "0001-01-01", "--to", "9999-12-31"]);
    assert!(
        r.stderr.starts_with(
            "vouch: error: --from/--to: the period 0001-01-01..9999-12-31 is 3652059 days long; vouch covers at most 10 years\n"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("hint: choose a shorter period"),
        "{}",
        r.stderr
    );
    assert!(!env.p("reports").exists(), "no report written");
    let r = env.fails(&["attest", "--period", "2020-01-01..2030-01-01"]);
    assert!(
        r.stderr
            .contains("--period: the period 2020-01-01..2030-01-01 is 3654 days long"),
        "{}",
        r.stderr
    );
    let r = env.fails(&["status", "--from", "2026-13-01", "--to", "2026-12-31"]);
    assert!(
        r.stderr
            .starts_with("vouch: error: --from: cannot read the date \"2026-13-01\"\n"),
        "{}",
        r.stderr
    );
    assert_eq!(before, env.snapshot());
    env.ok(&["status", "--from", "2020-01-01", "--to", "2029-12-31"]);
}

/// `verify --checkpoint` gives one verdict after every check: never "ok" when a
/// checkpoint is not held.
#[test]
fn verify_with_a_failed_checkpoint_never_says_ok() {
    let env = Env::two_parties();
    env.ok(&patch_run(&COUNTS));
    std::fs::copy(env.p("ledger.db"), env.p("old.db")).unwrap();
    env.ok(&patch_run(&COUNTS));
    env.ok(&[
        "checkpoint",
        "--key",
        "keys/customer.key",
        "--out",
        "cp.txt",
    ]);
    let r = env.ok(&["verify", "--checkpoint", "cp.txt"]);
    assert!(r.stdout.starts_with("ok: 5 entries"), "{}", r.stdout);
    let r = env.run(&["--ledger", "old.db", "verify", "--checkpoint", "cp.txt"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(!r.stdout.contains("ok:"), "{}", r.stdout);
    let failed: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAILED"))
        .collect();
    assert_eq!(failed.len(), 2, "{}", r.stdout);
    assert!(
        failed[0].starts_with(
            "FAILED: 1 of 1 checkpoint(s) not held; the 3 entries are consistent on their own (head entry 3, "
        ) && failed[0].ends_with(')'),
        "{}",
        r.stdout
    );
    assert_eq!(
        failed[1],
        "FAILED: checkpoint cp.txt: it commits to 4 entries but the ledger has 3: entry 4 was cut off (truncated or rolled back)"
    );
}
