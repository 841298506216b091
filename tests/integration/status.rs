//! Matrices in the ledger: adoption, recording against the adopted matrix, and status.

use crate::util::{CT, Env};
use serde_json::Value;

fn restore(env: &Env, outcome: &str, date: &str, extra: &[&str]) -> crate::util::Run {
    let mut a = vec![
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        outcome,
        "--performed-at",
        date,
        "--field",
        "backup_id=bk-1",
        "--field",
        "rto_minutes=60",
        "--field",
        "data_verified=true",
        "--key",
        "customer",
    ];
    a.extend_from_slice(extra);
    env.run(&a)
}

fn status_json(env: &Env, args: &[&str]) -> Value {
    let mut a = vec!["status", "--format", "json"];
    a.extend_from_slice(args);
    serde_json::from_str(&env.ok(&a).stdout).unwrap()
}

fn duty<'a>(v: &'a Value, item: &str, party: &str) -> &'a Value {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == item)
        .and_then(|i| {
            i["duties"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["party"] == party)
        })
        .unwrap_or_else(|| panic!("no duty {item} {party}"))
}

#[test]
fn adopted_matrix_stored_verified_and_listed() {
    let env = Env::adopted();
    let r = env.ok(&["verify"]);
    assert!(r.stdout.starts_with("ok: 4 entries"), "{}", r.stdout);
    let r = env.ok(&["log"]);
    assert!(
        r.stdout
            .contains("matrix cloudtemple-vm-instances version 1"),
        "{}",
        r.stdout
    );
    // The stored bytes are the file's bytes.
    let c = rusqlite::Connection::open(env.p("ledger.db")).unwrap();
    let stored: Vec<u8> = c
        .query_row("SELECT content FROM artifacts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, std::fs::read(CT).unwrap());
    drop(c);
    // Editing the stored matrix is caught by a plain verify.
    let c = crate::util::attacker(&env.p("ledger.db"));
    c.execute_batch(
        "UPDATE artifacts SET content = CAST(replace(CAST(content AS TEXT), 'RA', 'AR') AS BLOB)",
    )
    .unwrap();
    drop(c);
    let r = env.run(&["verify"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .starts_with("entry 3: stored matrix cloudtemple-vm-instances does not match"),
        "{}",
        r.stdout
    );
}

#[test]
fn record_checks_items_roles_and_typed_fields() {
    let env = Env::adopted();
    let before = env.snapshot();
    let r = env.fails(&[
        "record",
        "--item",
        "backup.restore-test",
        "--kind",
        "attestation",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-01",
        "--key",
        "customer",
    ]);
    assert!(
        r.stderr
            .contains("\"backup.restore-test\" is not an item of matrix cloudtemple-vm-instances"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("vouch: hint: did you mean backup.restore-tests"),
        "{}",
        r.stderr
    );
    // The provider holds no R or A for the customer's restore tests.
    let r = env.fails(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "attestation",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-01",
        "--key",
        "provider",
    ]);
    assert!(
        r.stderr
            .contains("cloudtemple holds neither R nor A for backup.restore-tests"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--supporting"), "{}", r.stderr);
    // A field of the wrong type, a missing required field, an unknown kind.
    let r = env.fails(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-01",
        "--field",
        "backup_id=b",
        "--field",
        "rto_minutes=abc",
        "--field",
        "data_verified=true",
        "--key",
        "customer",
    ]);
    assert!(
        r.stderr.contains("rto_minutes") && r.stderr.contains("\"abc\" is not a number"),
        "{}",
        r.stderr
    );
    let r = env.fails(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-01",
        "--key",
        "customer",
    ]);
    assert!(r.stderr.contains("missing required fields"), "{}", r.stderr);
    let r = env.fails(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-tset",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-01",
        "--key",
        "customer",
    ]);
    assert!(
        r.stderr.contains("unknown evidence kind \"restore-tset\""),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("restore-test"), "{}", r.stderr);
    assert_eq!(before, env.snapshot());
    // Supporting evidence is accepted and marked.
    env.ok(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "attestation",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-01",
        "--supporting",
        "--key",
        "provider",
    ]);
    let r = env.ok(&["show", "5", "--format", "json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["payload"]["supporting"], true);
    // A batch names the line whose item is not in the matrix, and writes nothing.
    std::fs::write(env.p("b.jsonl"), concat!(
        r#"{"item":"backup.restore-tests","kind":"attestation","outcome":"pass","performed_at":"2026-07-02","supporting":true}"#, "\n",
        r#"{"item":"nope","kind":"attestation","outcome":"pass","performed_at":"2026-07-02"}"#, "\n")).unwrap();
    let before = env.snapshot();
    let r = env.fails(&["record", "--batch", "b.jsonl", "--key", "customer"]);
    assert!(
        r.stderr.contains("b.jsonl line 2: \"nope\" is not an item"),
        "{}",
        r.stderr
    );
    assert_eq!(before, env.snapshot());
}

#[test]
fn status_per_window_through_the_cli() {
    let env = Env::adopted();
    assert_eq!(restore(&env, "fail", "2026-07-15", &[]).code, 0); // 5
    assert_eq!(restore(&env, "pass", "2026-07-29", &[]).code, 0); // 6
    let v = status_json(&env, &["--period", "2026-Q3", "--as-of", "2026-10-31"]);
    assert_eq!(v["period"]["from"], "2026-07-01");
    assert_eq!(v["period"]["to"], "2026-09-30");
    let d = duty(&v, "backup.restore-tests", "acme");
    assert_eq!(d["status"], "fulfilled");
    assert_eq!(d["raci"], "RA");
    assert_eq!(d["role"], "customer");
    assert_eq!(d["evidence"], serde_json::json!([5, 6]));
    assert_eq!(d["windows"][0]["state"], "ok");
    assert_eq!(duty(&v, "guest-os.patching", "acme")["status"], "missing");
    // A yearly duty's window is the calendar year: still open at the as-of time, it is
    // due by its last day of grace, never missing (issue 10 item 3).
    let d = duty(&v, "physical.datacenters", "cloudtemple");
    assert_eq!(d["status"], "due");
    assert_eq!(d["due_by"], "2027-01-30"); // 31 December plus 30 grace days
    assert_eq!(d["windows"][0]["from"], "2026-01-01");
    // The provider disputes the passing test: disputed; then acknowledges: fulfilled again.
    env.ok(&[
        "cosign",
        "6",
        "--dispute",
        "the log shows no data check",
        "--key",
        "provider",
    ]);
    let v = status_json(&env, &["--period", "2026-Q3", "--as-of", "2026-10-31"]);
    assert_eq!(
        duty(&v, "backup.restore-tests", "acme")["status"],
        "disputed"
    );
    env.ok(&["cosign", "6", "--ack", "--key", "provider"]);
    let v = status_json(
        &env,
        &[
            "--from",
            "2026-07-01",
            "--to",
            "2026-09-30",
            "--as-of",
            "2026-10-31",
        ],
    );
    assert_eq!(
        duty(&v, "backup.restore-tests", "acme")["status"],
        "fulfilled"
    );
    // Retracting the pass leaves the failure: failed.
    env.ok(&[
        "retract",
        "6",
        "--reason",
        "wrong backup set",
        "--key",
        "customer",
    ]);
    let v = status_json(&env, &["--period", "2026-Q3", "--as-of", "2026-10-31"]);
    assert_eq!(duty(&v, "backup.restore-tests", "acme")["status"], "failed");
    // Over the year the quarterly duty has four windows; later ones are not yet due.
    let v = status_json(&env, &["--period", "2026", "--as-of", "2026-10-31"]);
    let d = duty(&v, "backup.restore-tests", "acme");
    assert_eq!(d["windows"].as_array().unwrap().len(), 4);
    assert_eq!(d["windows"][3]["state"], "open");
    assert_eq!(d["windows"][0]["state"], "empty");
    // A waiver by the customer is pending until the provider agrees; then the item is not
    // applicable (issue 10 item 4: no party waives its own duty alone).
    env.ok(&[
        "waive",
        "backup.manual-snapshots",
        "--reason",
        "no manual snapshots in this contract",
        "--key",
        "customer",
    ]);
    let v = status_json(&env, &["--period", "2026-Q3", "--as-of", "2026-10-31"]);
    assert_eq!(
        duty(&v, "backup.manual-snapshots", "acme")["status"],
        "waiver-pending"
    );
    let w = &v["waivers"][0];
    assert_eq!(w["state"], "pending");
    assert_eq!(w["by"], "acme");
    assert_eq!(w["reason"], "no manual snapshots in this contract");
    let seq = w["seq"].as_u64().unwrap().to_string();
    env.ok(&["cosign", &seq, "--ack", "--key", "provider"]);
    let v = status_json(&env, &["--period", "2026-Q3", "--as-of", "2026-10-31"]);
    assert_eq!(
        duty(&v, "backup.manual-snapshots", "acme")["status"],
        "not-applicable"
    );
    assert_eq!(
        v["waivers"][0]["agreed_by"],
        serde_json::json!(["cloudtemple"])
    );
    assert!(v["summary"]["acme"]["not-applicable"].as_u64().unwrap() >= 1);
    // Text form names the matrix and period.
    let r = env.ok(&["status", "--period", "2026-Q3", "--as-of", "2026-10-31"]);
    assert!(r.stdout.starts_with("Cloud Temple — VM instances shared responsibility (RACI) (version 1, adopted in entry 3) · period 2026-07-01 to 2026-09-30"), "{}", r.stdout);
    assert!(r.stdout.contains("backup.restore-tests"), "{}", r.stdout);
}

#[test]
fn adoption_and_status_bad_input() {
    let env = Env::two_parties();
    let before = env.snapshot();
    let r = env.fails(&["status", "--period", "2026-Q3"]);
    assert!(
        r.stderr.contains("no matrix has been adopted"),
        "{}",
        r.stderr
    );
    let r = env.fails(&[
        "matrix",
        "adopt",
        CT,
        "--bind",
        "provder=cloudtemple",
        "--bind",
        "customer=acme",
        "--key",
        "provider",
    ]);
    assert!(
        r.stderr.contains("unknown role \"provder\""),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("vouch: hint: the matrix's roles are provider, customer"),
        "{}",
        r.stderr
    );
    let r = env.fails(&[
        "matrix",
        "adopt",
        CT,
        "--bind",
        "provider=cloudtemple",
        "--bind",
        "customer=globex",
        "--key",
        "provider",
    ]);
    assert!(r.stderr.contains("no party \"globex\""), "{}", r.stderr);
    let r = env.fails(&[
        "matrix",
        "adopt",
        CT,
        "--bind",
        "provider=acme",
        "--bind",
        "customer=cloudtemple",
        "--key",
        "provider",
    ]);
    assert!(
        r.stderr
            .contains("party \"cloudtemple\" is registered as provider, not customer"),
        "{}",
        r.stderr
    );
    let r = env.fails(&[
        "matrix",
        "adopt",
        CT,
        "--bind",
        "provider=cloudtemple",
        "--key",
        "provider",
    ]);
    assert!(
        r.stderr
            .contains("role customer of matrix cloudtemple-vm-instances is not bound"),
        "{}",
        r.stderr
    );
    // A matrix that does not validate, and one that is not TOML: file:line:column.
    let bad = std::fs::read_to_string(CT).unwrap().replacen(
        "raci = { provider = \"RA\" }",
        "raci = { provider = \"RX\" }",
        1,
    );
    std::fs::write(env.p("bad.toml"), bad).unwrap();
    let r = env.fails(&[
        "matrix",
        "adopt",
        "bad.toml",
        "--bind",
        "provider=cloudtemple",
        "--bind",
        "customer=acme",
        "--key",
        "provider",
    ]);
    assert!(
        r.stderr
            .contains("bad.toml:31:21: raci provider: unknown letter 'X'"),
        "{}",
        r.stderr
    );
    std::fs::write(env.p("broken.toml"), "[matrix\nid = 1\n").unwrap();
    let r = env.fails(&[
        "matrix",
        "adopt",
        "broken.toml",
        "--bind",
        "provider=cloudtemple",
        "--bind",
        "customer=acme",
        "--key",
        "provider",
    ]);
    assert!(r.stderr.contains("broken.toml:1:"), "{}", r.stderr);
    let r = env.fails(&["status", "--period", "2026-Q5"]);
    assert!(r.stderr.contains("cannot read the period"), "{}", r.stderr);
    assert_eq!(before, env.snapshot());
}

#[test]
fn signoffs_match_until_the_ledger_changes() {
    let env = Env::adopted();
    assert_eq!(restore(&env, "pass", "2026-07-29", &[]).code, 0); // 5
    let r = env.ok(&["attest", "--period", "2026-Q3"]);
    assert!(
        r.stdout.contains("at head entry 5") && r.stdout.contains("not signed by anyone yet"),
        "{}",
        r.stdout
    );
    let digest = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("digest "))
        .unwrap()
        .to_string();
    let r = env.ok(&["attest", "--period", "2026-Q3", "--key", "provider"]);
    assert!(r.stdout.starts_with("entry 6: sign-off"), "{}", r.stdout);
    let r = env.ok(&["attest", "--period", "2026-Q3", "--key", "customer"]);
    // Both sign the same digest: sign-offs do not move the attestation head.
    assert!(
        r.stdout.contains(&format!("digest {digest}")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("signed by cloudtemple in entry 6: matches"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("signed by acme in entry 7: matches"),
        "{}",
        r.stdout
    );
    // A dispute changes what the ledger shows: the digest changes, the sign-offs no longer match.
    env.ok(&[
        "cosign",
        "5",
        "--dispute",
        "no data check",
        "--key",
        "provider",
    ]);
    let v: Value = serde_json::from_str(
        &env.ok(&["attest", "--period", "2026-Q3", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_ne!(v["digest"], digest.as_str());
    assert_eq!(v["signoffs"][0]["matches"], false);
    assert_eq!(v["signoffs"][1]["matches"], false);
    assert_eq!(v["attestation"]["head"]["seq"], 8);
    let items = v["attestation"]["items"].as_array().unwrap();
    let rt = items
        .iter()
        .find(|i| i["id"] == "backup.restore-tests")
        .unwrap();
    assert_eq!(rt["duties"][0]["status"], "disputed");
    // The digest is SHA-256 of the canonical attestation, recomputable by anyone.
    let canonical = serde_json_canonicalizer::to_vec(&v["attestation"]).unwrap();
    assert_eq!(
        v["digest"].as_str().unwrap(),
        vouch::ledger::evidence::sha256_hex(&canonical)
    );
    env.ok(&["verify"]);
}

#[test]
fn report_from_a_verified_ledger_only() {
    let env = Env::adopted();
    assert_eq!(restore(&env, "fail", "2026-07-15", &[]).code, 0); // 5
    env.ok(&["attest", "--period", "2026-Q3", "--key", "provider"]);
    let r = env.ok(&[
        "report",
        "--period",
        "2026-Q3",
        "--appendix",
        "all",
        "--format",
        "md",
    ]);
    for needle in [
        "# Shared responsibility attestation",
        "not an audit opinion",
        "| backup.restore-tests | Perform periodic restoration tests | customer RA | acme | failed |",
        "Complementary user entity controls",
        "| 5 | backup.restore-tests | 2026-07-15T00:00:00Z |",
        "| cloudtemple | provider | 6 |",
        "| acme | customer | | | | | | not signed |",
    ] {
        assert!(
            r.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            r.stdout
        );
    }
    let v: Value = serde_json::from_str(
        &env.ok(&["report", "--period", "2026-Q3", "--format", "json"])
            .stdout,
    )
    .unwrap();
    let att: Value = serde_json::from_str(
        &env.ok(&["attest", "--period", "2026-Q3", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(v["digest"], att["digest"]);
    assert_eq!(v["verified"], true);
    assert_eq!(v["head"][0], 5);
    assert_eq!(
        v["exceptions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["item"] == "backup.restore-tests")
            .count(),
        1
    );
    let csv = env
        .ok(&["report", "--period", "2026-Q3", "--format", "csv"])
        .stdout;
    assert!(
        csv.starts_with("period_from,period_to,section,item,activity,role,party,raci,status"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.contains("backup.restore-tests") && l.contains(",failed,")),
        "{csv}"
    );
    // --out writes whole files; the same report again leaves the file alone, another
    // report does not replace it unless --force.
    let md = |extra: &[&'static str]| {
        let mut a = vec!["report", "--period", "2026-Q3", "--format", "md"];
        a.extend_from_slice(extra);
        a
    };
    let r = env.ok(&md(&["--out", "q3.md"]));
    assert!(r.stdout.starts_with("wrote q3.md"), "{}", r.stdout);
    let first = std::fs::read(env.p("q3.md")).unwrap();
    let r = env.ok(&md(&["--out", "q3.md"]));
    assert!(r.stdout.starts_with("unchanged q3.md"), "{}", r.stdout);
    std::fs::write(env.p("q3.md"), "edited by hand").unwrap();
    let r = env.fails(&md(&["--out", "q3.md"]));
    assert!(
        r.stderr
            .contains("q3.md: already exists with other contents")
            && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(env.p("q3.md")).unwrap(), b"edited by hand");
    let r = env.ok(&md(&["--out", "q3.md", "--force"]));
    assert!(r.stdout.starts_with("replaced q3.md"), "{}", r.stdout);
    assert_eq!(std::fs::read(env.p("q3.md")).unwrap(), first);
    // A ledger that does not verify gives no report, unless asked, and then says so.
    crate::util::attacker(&env.p("ledger.db"))
        .execute_batch("UPDATE entries SET signature = zeroblob(64) WHERE seq = 5")
        .unwrap();
    let r = env.run(&["report", "--period", "2026-Q3"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("entry 5: signature does not verify") && r.stdout.contains("no report"),
        "{}",
        r.stdout
    );
    let r = env.run(&[
        "report",
        "--period",
        "2026-Q3",
        "--allow-unverified",
        "--format",
        "md",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("**UNVERIFIED LEDGER**"), "{}", r.stdout);
}

/// Issue 10 item 2: an item that lists evidence kinds is proven only by those kinds.
#[test]
fn only_the_evidence_kinds_an_item_lists_count() {
    let env = Env::adopted();
    let before = env.snapshot();
    let patch_run = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut args = vec![
            "record",
            "--item",
            "backup.restore-tests",
            "--kind",
            "patch-run",
            "--outcome",
            "pass",
            "--performed-at",
            "2026-07-01",
            "--field",
            "hosts=1",
            "--field",
            "patches_applied=1",
            "--field",
            "failed=0",
            "--key",
            "customer",
        ];
        args.extend_from_slice(extra);
        args
    };
    let r = env.fails(&patch_run(&[]));
    assert!(
        r.stderr.contains(
            "--item: backup.restore-tests is proven by evidence of kind restore-test, not \"patch-run\""
        ),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--supporting"), "{}", r.stderr);
    assert_eq!(before, env.snapshot(), "a refused record writes nothing");
    env.ok(&patch_run(&["--supporting"]));
    // Evidence of another kind signed before the rule (written here through the library,
    // as an older vouch would have) does not fulfil the duty, and is flagged.
    let key = vouch::crypto::keyfile::load_secret(&env.p("keys/customer.key")).unwrap();
    let mut l =
        vouch::ledger::Ledger::open(&env.p("ledger.db"), vouch::ledger::Access::ReadWrite).unwrap();
    let t = vouch::format::entry::parse_time("2026-07-02T10:00:00Z").unwrap();
    let input = vouch::ledger::evidence::EvidenceInput {
        item: "backup.restore-tests".into(),
        kind: "patch-run".into(),
        outcome: "pass".into(),
        performed_at: "2026-07-02".into(),
        fields: [
            ("hosts".to_string(), serde_json::json!(1)),
            ("patches_applied".to_string(), serde_json::json!(1)),
            ("failed".to_string(), serde_json::json!(0)),
        ]
        .into(),
        artifacts: vec![],
        note: None,
        supporting: false,
    };
    let d = vouch::ledger::evidence::draft(&input, t, false).unwrap();
    let seq = l
        .append(
            &key,
            vec![d],
            vouch::clock::now(),
            &vouch::ledger::NoProgress,
        )
        .unwrap()[0]
        .seq;
    drop(l);
    let v = status_json(&env, &["--period", "2026-Q3", "--as-of", "2026-10-31"]);
    let d = duty(&v, "backup.restore-tests", "acme");
    assert_eq!(d["status"], "missing", "{d}");
    let flags: Vec<&str> = d["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        flags.contains(&format!("other-kind:{seq}").as_str()),
        "{flags:?}"
    );
    // The listed kind fulfils it.
    assert_eq!(restore(&env, "pass", "2026-07-15", &[]).code, 0);
    let v = status_json(&env, &["--period", "2026-Q3", "--as-of", "2026-10-31"]);
    assert_eq!(
        duty(&v, "backup.restore-tests", "acme")["status"],
        "fulfilled"
    );
}

/// A small matrix a practitioner might write: an item whose customer statement is N/A, one
/// that applies to nobody, and a yearly attestation.
const NA_MATRIX: &str = r#"
[matrix]
id = "na-test"
title = "N/A test"
version = "1"
source = "test"
effective = "2026-01-01"

[roles.provider]
name = "Provider"
[roles.customer]
name = "Customer"

[[sections]]
id = "ops"
title = "Operations"

[[items]]
id = "ops.hypervisor"
section = "ops"
activity = "Patch the hypervisor"
ownership = "provider"
statements = { provider = "Patches the hypervisor monthly.", customer = "N/A" }
cadence = "monthly"
evidence_kinds = ["patch-run"]

[[items]]
id = "ops.unused"
section = "ops"
activity = "A row of the spreadsheet that applies to nobody"
statements = { provider = "—", customer = "n/a" }

[[items]]
id = "ops.soc2"
section = "ops"
activity = "Annual SOC 2 attestation"
raci = { provider = "RA", customer = "I" }
cadence = "yearly"
evidence_kinds = ["attestation"]
"#;

/// Issue 10 items 1 and 3 through the binary: N/A is no duty, an item may apply to nobody,
/// and a yearly duty's window is the calendar year, so a Q4 report does not call it missing.
#[test]
fn not_applicable_roles_and_calendar_windows() {
    let env = Env::two_parties();
    std::fs::write(env.p("na.toml"), NA_MATRIX).unwrap();
    env.ok(&["matrix", "validate", "na.toml"]);
    let v: Value = serde_json::from_str(
        &env.ok(&["matrix", "show", "na.toml", "--format", "json"])
            .stdout,
    )
    .unwrap();
    let items = v["items"].as_array().unwrap();
    let item = |id: &str| items.iter().find(|i| i["id"] == id).unwrap().clone();
    assert_eq!(
        item("ops.hypervisor")["duty_holders"],
        serde_json::json!(["provider"])
    );
    assert_eq!(item("ops.unused")["duty_holders"], serde_json::json!([]));
    env.ok(&[
        "matrix",
        "adopt",
        "na.toml",
        "--bind",
        "provider=cloudtemple",
        "--bind",
        "customer=acme",
        "--key",
        "provider",
    ]);
    // The SOC 2 report was issued on 1 September.
    env.ok(&[
        "record",
        "--item",
        "ops.soc2",
        "--kind",
        "attestation",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-09-01",
        "--field",
        "standard=SOC 2 Type II",
        "--key",
        "provider",
    ]);
    let v = status_json(&env, &["--period", "2026-Q4", "--as-of", "2026-12-31"]);
    let soc2 = duty(&v, "ops.soc2", "cloudtemple");
    assert_eq!(soc2["status"], "fulfilled", "{soc2}");
    assert_eq!(soc2["windows"][0]["from"], "2026-01-01");
    assert_eq!(soc2["windows"][0]["to"], "2026-12-31");
    // Nobody owes the customer side of the hypervisor, nor the unused row.
    let hyp: Vec<&Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["id"] == "ops.hypervisor")
        .flat_map(|i| i["duties"].as_array().unwrap())
        .collect();
    assert_eq!(hyp.len(), 1);
    assert_eq!(hyp[0]["party"], "cloudtemple");
    let unused = duty(&v, "ops.unused", "");
    assert_eq!(unused["status"], "not-applicable");
    assert!(v["summary"].get("(none)").is_none(), "{}", v["summary"]);
    // The monthly duty's December window is open on 31 December: due, not missing.
    let hyp = duty(&v, "ops.hypervisor", "cloudtemple");
    assert_eq!(
        hyp["status"], "missing",
        "October and November are closed and empty"
    );
    let v = status_json(&env, &["--period", "2026-12", "--as-of", "2026-12-15"]);
    let hyp = duty(&v, "ops.hypervisor", "cloudtemple");
    assert_eq!(hyp["status"], "due", "{hyp}");
    assert_eq!(hyp["due_by"], "2026-12-31");
}

/// A delegate's evidence counts for the delegating party's duty, until the delegation is
/// retracted (schema/STATUS.md §4).
#[test]
fn delegated_evidence_counts_until_the_delegation_is_retracted() {
    let env = Env::adopted(); // 1-4
    env.ok(&["keygen", "msp"]);
    env.ok(&[
        "party",
        "add",
        "orbit",
        "--name",
        "Orbit MSP",
        "--role",
        "third-party",
        "--new-key",
        "keys/msp.key",
        "--key",
        "provider",
    ]); // 5
    env.ok(&[
        "delegate",
        "backup.restore-tests",
        "--to",
        "orbit",
        "--key",
        "customer",
    ]); // 6
    let r = env.run(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-20",
        "--field",
        "backup_id=bk-9",
        "--field",
        "rto_minutes=30",
        "--field",
        "data_verified=true",
        "--key",
        "msp",
    ]); // 7
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = status_json(&env, &["--period", "2026-Q3", "--as-of", "2026-10-31"]);
    let d = duty(&v, "backup.restore-tests", "acme");
    assert_eq!(d["status"], "fulfilled", "{d}");
    assert!(
        d["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "delegated-to:orbit")
    );
    env.ok(&[
        "retract",
        "6",
        "--reason",
        "contract ended",
        "--key",
        "customer",
        "--yes",
    ]);
    let v = status_json(&env, &["--period", "2026-Q3", "--as-of", "2026-10-31"]);
    let d = duty(&v, "backup.restore-tests", "acme");
    assert_eq!(d["status"], "missing", "{d}");
}
