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
        r#"{"item":"backup.restore-tests","kind":"attestation","outcome":"pass","performed_at":"2026-07-02"}"#, "\n",
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
