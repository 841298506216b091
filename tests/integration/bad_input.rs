//! Bad input through the CLI: every refusal exits 2 with a message that names what is
//! wrong and where, gives a hint where there is one, and leaves the ledger untouched.

use crate::util::{Env, Run};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;

const CUSTOMER: &str = "keys/customer.key";

/// Two parties and one evidence entry, so the snapshot holds every kind of row.
fn ledger() -> Env {
    let env = Env::two_parties();
    env.record(CUSTOMER, "backup.restore-tests");
    env
}

/// A `record` command: valid except for what the caller passes.
fn record<'a>(
    key: &'a str,
    outcome: &'a str,
    performed_at: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut v = vec![
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        outcome,
        "--performed-at",
        performed_at,
        "--key",
        key,
        "--field",
        "backup_id=bk-2026-07-01",
        "--field",
        "rto_minutes=45",
        "--field",
        "data_verified=true",
    ];
    v.extend_from_slice(extra);
    v
}

/// A valid `record` by the customer plus `extra` flags.
fn record_with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    record(CUSTOMER, "pass", "2026-07-01", extra)
}

/// Run a command that must be refused (exit 2) and must not change the ledger.
fn refused_unchanged(env: &Env, args: &[&str]) -> Run {
    let before = env.snapshot();
    let r = env.fails(args);
    assert_eq!(
        before,
        env.snapshot(),
        "vouch {args:?} failed but changed the ledger; stderr: {}",
        r.stderr
    );
    r
}

/// The `vouch: error: ` line.
fn error_line(r: &Run) -> &str {
    r.stderr
        .lines()
        .find(|l| l.starts_with("vouch: error: "))
        .unwrap_or_else(|| panic!("no error line in stderr: {}", r.stderr))
}

/// The `vouch: hint: ` line (required).
fn hint_line(r: &Run) -> &str {
    r.stderr
        .lines()
        .find(|l| l.starts_with("vouch: hint: "))
        .unwrap_or_else(|| panic!("no hint line in stderr: {}", r.stderr))
}

/// Require each of `parts` in `line`.
fn says(line: &str, parts: &[&str]) {
    for p in parts {
        assert!(line.contains(p), "expected {p:?} in: {line}");
    }
}

fn entry_count(env: &Env) -> usize {
    env.snapshot()
        .iter()
        .filter(|r| r.starts_with("entries: "))
        .count()
}

fn write_file(env: &Env, name: &str, text: &str) {
    std::fs::write(env.p(name), text).unwrap();
}

fn write_batch(env: &Env, name: &str, lines: &[&str]) {
    let mut f = std::fs::File::create(env.p(name)).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

const GOOD_LINE: &str = r#"{"item":"backup.restore-tests","kind":"restore-test","outcome":"pass","performed_at":"2026-07-01T10:00:00Z","fields":{"backup_id":"bk-1","rto_minutes":45,"data_verified":true}}"#;

// 1. Missing ledger.

#[test]
fn log_on_a_missing_ledger_names_it_and_suggests_init() {
    let env = Env::new();
    let r = env.fails(&["--ledger", "nope.db", "log"]);
    says(error_line(&r), &["no ledger at nope.db"]);
    says(hint_line(&r), &["vouch init"]);
    assert!(!env.p("nope.db").exists(), "a read created the ledger file");
}

#[test]
fn record_on_a_missing_ledger_names_it_and_creates_nothing() {
    let env = Env::new();
    env.ok(&["keygen", "customer"]);
    let mut args = vec!["--ledger", "nope.db"];
    args.extend(record_with(&[]));
    let r = env.fails(&args);
    says(error_line(&r), &["no ledger at nope.db"]);
    says(hint_line(&r), &["vouch init"]);
    for f in ["nope.db", "nope.db-wal", "nope.db-shm", "nope.db-journal"] {
        assert!(!env.p(f).exists(), "record created {f}");
    }
}

// 2. Not an SQLite file.

#[test]
fn a_text_file_is_not_a_ledger() {
    let env = Env::new();
    let text = "these are my notes, not a database\n";
    write_file(&env, "x.db", text);
    for cmd in ["verify", "log"] {
        let r = env.fails(&["--ledger", "x.db", cmd]);
        says(
            error_line(&r),
            &["x.db", "not a vouch ledger", "not an SQLite database"],
        );
        says(hint_line(&r), &["--ledger"]);
    }
    assert_eq!(std::fs::read_to_string(env.p("x.db")).unwrap(), text);
}

// 3. Newer schema.

#[test]
fn a_ledger_from_a_newer_schema_is_refused_naming_the_version() {
    let env = ledger();
    {
        let c = rusqlite::Connection::open(env.p("ledger.db")).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    let r = refused_unchanged(&env, &["verify"]);
    says(error_line(&r), &["ledger.db", "schema version 99", "newer"]);
    says(hint_line(&r), &["upgrade vouch"]);

    let r = refused_unchanged(&env, &record_with(&[]));
    says(error_line(&r), &["ledger.db", "schema version 99", "newer"]);
    says(hint_line(&r), &["upgrade vouch"]);

    let c = rusqlite::Connection::open(env.p("ledger.db")).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 99, "a refused command rewrote the schema version");
}

// 4–6. Keys.

#[test]
fn a_garbled_key_file_is_refused_naming_it() {
    let env = ledger();
    write_file(
        &env,
        "garbled.key",
        "q8#Zp!x0 this is no key\nr4nd0m t3xt 0xdeadbeef\n",
    );
    std::fs::set_permissions(env.p("garbled.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = refused_unchanged(&env, &record("garbled.key", "pass", "2026-07-01", &[]));
    says(
        error_line(&r),
        &["garbled.key", "not an Ed25519 private key"],
    );
    says(hint_line(&r), &["BEGIN PRIVATE KEY"]);
}

#[test]
fn a_world_readable_key_is_refused_with_a_chmod_hint() {
    let env = ledger();
    let key = env.p(CUSTOMER);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = refused_unchanged(&env, &record_with(&[]));
    says(
        error_line(&r),
        &[CUSTOMER, "readable by other users", "0644"],
    );
    says(hint_line(&r), &["chmod 600", CUSTOMER]);
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o644,
        "vouch must not change the key's mode behind the user's back"
    );
}

#[test]
fn a_key_of_an_unregistered_party_is_refused_naming_its_fingerprint() {
    let env = ledger();
    env.ok(&["keygen", "stranger"]);
    let pem = std::fs::read_to_string(env.p("keys/stranger.pub")).unwrap();
    let fpr = vouch::crypto::PublicKey::from_pem(&pem)
        .unwrap()
        .fingerprint()
        .to_string();
    let r = refused_unchanged(
        &env,
        &record("keys/stranger.key", "pass", "2026-07-01", &[]),
    );
    says(error_line(&r), &[&fpr, "not registered", "ledger.db"]);
    says(hint_line(&r), &["vouch party add"]);
}

// 7–8. Artefacts.

#[test]
fn a_missing_artefact_is_named() {
    let env = ledger();
    let r = refused_unchanged(&env, &record_with(&["--artifact", "nope.txt"]));
    says(error_line(&r), &["artefact", "nope.txt", "no such file"]);
}

#[test]
fn an_artefact_that_is_a_directory_is_refused() {
    let env = ledger();
    std::fs::create_dir(env.p("restore-logs")).unwrap();
    let r = refused_unchanged(&env, &record_with(&["--artifact", "restore-logs"]));
    says(error_line(&r), &["artefact restore-logs", "is a directory"]);
    says(hint_line(&r), &["--artifact takes a file"]);
}

// 9. performed_at.

#[test]
fn an_unparseable_performed_at_is_refused() {
    let env = ledger();
    let r = refused_unchanged(&env, &record(CUSTOMER, "pass", "yesterday", &[]));
    says(error_line(&r), &["performed_at", "\"yesterday\""]);
    says(hint_line(&r), &["RFC 3339", "2026-10-05"]);
}

#[test]
fn a_future_performed_at_is_refused() {
    let env = ledger();
    let r = refused_unchanged(&env, &record(CUSTOMER, "pass", "2099-01-01", &[]));
    says(
        error_line(&r),
        &["performed_at 2099-01-01", "in the future"],
    );
    says(hint_line(&r), &["clock"]);
}

// 10. Outcome.

#[test]
fn an_unknown_outcome_is_refused_listing_the_valid_ones() {
    let env = ledger();
    let r = refused_unchanged(&env, &record(CUSTOMER, "passed", "2026-07-01", &[]));
    says(error_line(&r), &["outcome", "\"passed\""]);
    says(hint_line(&r), &["pass", "fail", "partial"]);
}

// 11. JSONL batches: all or nothing.

#[test]
fn a_batch_whose_line_2_is_not_json_writes_nothing() {
    let env = ledger();
    write_batch(
        &env,
        "evidence.jsonl",
        &[GOOD_LINE, "this is not json", GOOD_LINE],
    );
    let n = entry_count(&env);
    let r = refused_unchanged(
        &env,
        &["record", "--batch", "evidence.jsonl", "--key", CUSTOMER],
    );
    says(
        error_line(&r),
        &["evidence.jsonl line 2, column 2: expected ident"],
    );
    says(hint_line(&r), &["one JSON object"]);
    assert_eq!(entry_count(&env), n, "line 1 was written");
}

#[test]
fn a_batch_whose_line_3_has_an_unknown_field_writes_nothing() {
    let env = ledger();
    let bad = r#"{"item":"backup.restore-tests","kind":"restore-test","outcome":"pass","performed_at":"2026-07-01","colour":"red"}"#;
    write_batch(&env, "evidence.jsonl", &[GOOD_LINE, GOOD_LINE, bad]);
    let n = entry_count(&env);
    let r = refused_unchanged(
        &env,
        &["record", "--batch", "evidence.jsonl", "--key", CUSTOMER],
    );
    says(
        error_line(&r),
        &["evidence.jsonl line 3, column ", "unknown field", "colour"],
    );
    says(hint_line(&r), &["one JSON object"]);
    assert_eq!(entry_count(&env), n, "lines 1 and 2 were written");
}

#[test]
fn an_empty_batch_holds_no_entries() {
    let env = ledger();
    write_file(&env, "empty.jsonl", "");
    let r = refused_unchanged(
        &env,
        &["record", "--batch", "empty.jsonl", "--key", CUSTOMER],
    );
    says(error_line(&r), &["batch empty.jsonl holds no entries"]);
    says(hint_line(&r), &["one JSON object per line"]);
}

#[test]
fn a_batch_of_blank_lines_holds_no_entries() {
    let env = ledger();
    write_file(&env, "blank.jsonl", "\n   \n\t\n\n");
    let r = refused_unchanged(
        &env,
        &["record", "--batch", "blank.jsonl", "--key", CUSTOMER],
    );
    says(error_line(&r), &["batch blank.jsonl holds no entries"]);
    says(hint_line(&r), &["one JSON object per line"]);
}

// 12–13. Never overwrite.

#[test]
fn init_over_an_existing_ledger_is_refused() {
    let env = ledger();
    let r = refused_unchanged(
        &env,
        &[
            "init", "--party", "acme", "--name", "Acme", "--role", "customer", "--key", CUSTOMER,
        ],
    );
    says(error_line(&r), &["ledger.db already exists"]);
    says(hint_line(&r), &["refusing to overwrite", "--ledger"]);
    env.ok(&["verify"]);
}

#[test]
fn keygen_over_an_existing_key_is_refused_until_forced() {
    let env = Env::new();
    env.ok(&["keygen", "ops"]);
    let old_key = std::fs::read(env.p("keys/ops.key")).unwrap();
    let old_pub = std::fs::read(env.p("keys/ops.pub")).unwrap();

    let r = env.fails(&["keygen", "ops"]);
    says(error_line(&r), &["keys/ops.key already exists"]);
    says(hint_line(&r), &["--force"]);
    assert_eq!(std::fs::read(env.p("keys/ops.key")).unwrap(), old_key);
    assert_eq!(std::fs::read(env.p("keys/ops.pub")).unwrap(), old_pub);

    env.ok(&["keygen", "ops", "--force"]);
    let key = env.p("keys/ops.key");
    assert_ne!(
        std::fs::read(&key).unwrap(),
        old_key,
        "--force kept the old key"
    );
    assert_ne!(std::fs::read(env.p("keys/ops.pub")).unwrap(), old_pub);
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

// Also.

#[test]
fn a_field_without_equals_is_refused() {
    let env = ledger();
    let r = refused_unchanged(&env, &record_with(&["--field", "backup_id"]));
    says(error_line(&r), &["--field \"backup_id\"", "no '='"]);
    says(hint_line(&r), &["key=value"]);
}

#[test]
fn party_add_with_a_registered_id_is_refused() {
    let env = ledger();
    env.ok(&["keygen", "newco"]);
    let r = refused_unchanged(
        &env,
        &[
            "party",
            "add",
            "acme",
            "--name",
            "Another Acme",
            "--role",
            "customer",
            "--new-key",
            "keys/newco.key",
            "--key",
            "keys/provider.key",
        ],
    );
    says(error_line(&r), &["party \"acme\"", "already registered"]);
}

#[test]
fn show_past_the_end_says_the_range() {
    let env = ledger();
    let r = refused_unchanged(&env, &["show", "999"]);
    says(error_line(&r), &["no entry 999", "ledger.db"]);
    says(hint_line(&r), &["entries run from 1 to 3"]);
}

#[test]
fn report_formats_elsewhere_and_bad_report_options_are_refused() {
    let env = ledger();
    let r = refused_unchanged(&env, &["log", "--format", "pdf"]);
    says(error_line(&r), &["--format pdf", "only for `vouch report`"]);
    let r = refused_unchanged(&env, &["report", "--period", "2026-Q3", "--format", "toml"]);
    says(error_line(&r), &["--format toml is not a report format"]);
    says(hint_line(&r), &["pdf", "md", "json", "csv"]);
    let r = refused_unchanged(&env, &["report", "--period", "2026-Q5"]);
    assert!(r.stderr.contains("2026-Q5"), "{}", r.stderr);
    // A ledger with no adopted matrix has nothing to report; no file is written.
    let r = refused_unchanged(&env, &["report", "--period", "2026-Q3"]);
    assert!(r.stderr.contains("matrix"), "{}", r.stderr);
    assert!(!env.p("reports").exists());
}
