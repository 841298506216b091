//! What the reports show beyond statuses (issue 10 items 6–8), in every format, read back
//! from the real binary: evidence notes, delegated duties and who performed them, duties
//! that are due, waivers, who acknowledged the adoption, statements of every role, flags,
//! header rows, and no "(none)" or "unbound ()".

use crate::pdf::{flat, pdf_text};
use crate::util::Env;
use serde_json::Value;

/// The note of the failed restore test.
const NOTE: &str = "RTO exceeded: 190 minutes, ticket OPS-77";
const PENDING_REASON: &str = "no manual snapshots in this contract";
const AGREED_REASON: &str = "appliances run no general-purpose OS";

/// The number N of the entry a command wrote ("entry N: …").
fn seq_of(stdout: &str) -> String {
    stdout
        .strip_prefix("entry ")
        .and_then(|s| s.split(':').next())
        .unwrap_or_else(|| panic!("no entry number in {stdout:?}"))
        .to_string()
}

/// Today (UTC), and the current year: the report's period, so that the yearly duty's
/// window is still open at the ledger head, whatever the date the tests run on.
fn today() -> (String, String) {
    let d = chrono::Utc::now().date_naive();
    (d.to_string(), d.format("%Y").to_string())
}

/// The Cloud Temple matrix adopted by cloudtemple and acknowledged by acme (entry 4); a
/// third party, orbit, performing acme's guest OS patching; a failed restore test with a
/// note; a pending waiver and one the provider agreed to.
fn ledger() -> Env {
    let env = Env::adopted();
    let (day, _) = today();
    env.ok(&["keygen", "orbit"]);
    env.ok(&[
        "party",
        "add",
        "orbit",
        "--name",
        "Orbit Managed Services",
        "--role",
        "third-party",
        "--new-key",
        "keys/orbit.key",
        "--key",
        "provider",
    ]);
    env.ok(&[
        "delegate",
        "guest-os.patching",
        "--to",
        "orbit",
        "--key",
        "customer",
    ]);
    env.ok(&[
        "record",
        "--item",
        "guest-os.patching",
        "--kind",
        "patch-run",
        "--outcome",
        "pass",
        "--performed-at",
        &day,
        "--field",
        "hosts=12",
        "--field",
        "patches_applied=40",
        "--field",
        "failed=0",
        "--key",
        "orbit",
    ]);
    env.ok(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "fail",
        "--performed-at",
        &day,
        "--field",
        "backup_id=bk-9",
        "--field",
        "rto_minutes=190",
        "--field",
        "data_verified=false",
        "--note",
        NOTE,
        "--key",
        "customer",
    ]);
    env.ok(&[
        "waive",
        "backup.manual-snapshots",
        "--reason",
        PENDING_REASON,
        "--key",
        "customer",
    ]);
    let agreed = env.ok(&[
        "waive",
        "applications.antivirus",
        "--reason",
        AGREED_REASON,
        "--key",
        "customer",
    ]);
    let seq = seq_of(&agreed.stdout);
    env.ok(&["cosign", &seq, "--ack", "--key", "provider"]);
    env
}

fn no_empty_labels(what: &str, text: &str) {
    for bad in ["(none)", "unbound ()", "(, unbound)"] {
        assert!(!text.contains(bad), "{what} shows {bad:?}");
    }
}

#[test]
fn notes_delegates_due_duties_and_waivers_in_every_format() {
    let env = ledger();
    let (_, year) = today();
    let next = year.parse::<i32>().unwrap() + 1;
    let due_by = format!("due by {next}-01-30");

    // PDF.
    env.ok(&["report", "--period", &year, "--out", "parts.pdf"]);
    let pages = pdf_text(&std::fs::read(env.p("parts.pdf")).unwrap());
    let text = flat(&pages);
    // The note of the failed evidence: next to its exception and in the appendix.
    assert!(
        text.matches(NOTE).count() >= 2,
        "note shown {} times",
        text.matches(NOTE).count()
    );
    assert!(text.contains("performed by orbit (third-party)"), "{text}");
    assert!(text.contains(&due_by), "{text}");
    for needle in [
        "Waivers",
        PENDING_REASON,
        AGREED_REASON,
        "pending (no counterparty has agreed yet)",
        "effective",
        // Who acknowledged the adoption, on the cover.
        "Acme (acme) in entry 4",
        // Flags in the matrix, in short words.
        "delegated to orbit",
        // The appendix says what it lists: by default, the evidence of every duty.
        "The evidence each duty of the period rests on, fulfilled duties and exceptions alike",
    ] {
        assert!(text.contains(needle), "the PDF lacks {needle:?}");
    }
    assert!(!text.contains("Each evidence entry counted"), "{text}");
    no_empty_labels("the PDF", &text);
    let n = pages.len();
    for (i, p) in pages.iter().enumerate() {
        let p = p.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            p.contains(&format!("page {} of {n}", i + 1)),
            "page {}: {p}",
            i + 1
        );
        assert!(
            p.contains(&format!("period {year}")),
            "page {} lacks its header",
            i + 1
        );
    }

    // Markdown.
    let md = env
        .ok(&["report", "--period", &year, "--format", "md"])
        .stdout;
    for needle in [
        "| guest-os.patching | Apply security patches and updates to the guest operating system | customer RA | acme (customer), performed by orbit (third-party) |",
        "## Waivers",
        &format!("| {PENDING_REASON} | - | pending (no counterparty has agreed yet) |"),
        &format!("| {AGREED_REASON} | cloudtemple | effective |"),
        &due_by,
        &format!("#{}: \u{201c}{NOTE}\u{201d}", 8),
        &format!("| fail | {NOTE} |"),
        "- Adoption acknowledged by: Acme (acme) in entry 4",
        "| guest-os.patching | Apply security patches and updates to the guest operating system | performed by orbit (third-party) |",
    ] {
        assert!(md.contains(needle), "the Markdown lacks {needle:?}:\n{md}");
    }
    no_empty_labels("the Markdown", &md);

    // JSON.
    let v: Value = serde_json::from_str(
        &env.ok(&["report", "--period", &year, "--format", "json"])
            .stdout,
    )
    .unwrap();
    let exc = v["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["item"] == "backup.restore-tests")
        .unwrap();
    assert_eq!(exc["notes"][0]["seq"], 8);
    assert_eq!(exc["notes"][0]["note"], NOTE);
    let row = v["appendix"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["seq"] == 8)
        .unwrap();
    assert_eq!(row["note"], NOTE);
    let duty = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["items"].as_array().unwrap())
        .find(|i| i["id"] == "guest-os.patching")
        .unwrap()["duties"][0]
        .clone();
    assert_eq!(duty["performed_by"], serde_json::json!(["orbit"]));
    assert_eq!(duty["party"], "acme");
    let states: Vec<&str> = v["waivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["pending", "effective"]);
    assert_eq!(
        v["waivers"][1]["agreed_by"],
        serde_json::json!(["cloudtemple"])
    );
    assert_eq!(v["adoption"]["by"], "cloudtemple");
    assert_eq!(
        v["adoption"]["acknowledged_by"],
        serde_json::json!([{"party": "acme", "entry": 4}])
    );
    let cuec = v["cuecs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["item"] == "guest-os.patching")
        .unwrap();
    assert_eq!(cuec["performed_by"], serde_json::json!(["orbit"]));
    assert!(v["summary"].get("(none)").is_none());

    // CSV: the new columns, by name.
    let csv = env
        .ok(&["report", "--period", &year, "--format", "csv"])
        .stdout;
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    let head = rd.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    let of = |item: &str| rows.iter().find(|r| &r[col("item")] == item).unwrap();
    assert_eq!(&of("guest-os.patching")[col("performed_by")], "orbit");
    assert_eq!(
        &of("backup.restore-tests")[col("notes")],
        format!("#8: {NOTE}")
    );
    assert_eq!(
        &of("physical.datacenters")[col("due_by")],
        format!("{next}-01-30")
    );
    assert!(
        of("backup.manual-snapshots")[col("waiver")].contains(PENDING_REASON),
        "{csv}"
    );

    // `vouch status`: a header row, "due by", flags in words.
    let st = env.ok(&["status", "--period", &year]).stdout;
    let header = st
        .lines()
        .find(|l| l.trim_start().starts_with("item "))
        .unwrap_or_else(|| panic!("no header row:\n{st}"));
    for col in ["party RACI", "status", "evidence", "flags"] {
        assert!(header.contains(col), "{header}");
    }
    assert!(st.contains(&due_by), "{st}");
    assert!(st.contains("delegated to orbit"), "{st}");
    assert!(st.contains("waiver pending #"), "{st}");
    no_empty_labels("status", &st);
}

/// A matrix with a third-party role and duty statements for every role.
const MSP: &str = r#"
[matrix]
id = "msp-test"
title = "Managed service test matrix"
version = "1"
source = "test"
effective = "2026-01-01"

[roles.provider]
name = "Provider"
[roles.customer]
name = "Customer"
[roles.third-party]
name = "Managed service partner"

[[sections]]
id = "ops"
title = "Operations"

[[items]]
id = "ops.patching"
section = "ops"
activity = "Patch the guest operating systems"
raci = { customer = "A", third-party = "R" }
statements = { customer = "Approve the monthly patch window", third-party = "Apply the patches every month" }
cadence = "monthly"
evidence_kinds = ["patch-run"]

[[items]]
id = "ops.platform"
section = "ops"
activity = "Keep the platform up to date"
raci = { provider = "RA", customer = "I" }
statements = { provider = "Patch the hypervisors every quarter" }
cadence = "quarterly"
evidence_kinds = ["patch-run"]
"#;

#[test]
fn third_party_duties_and_every_roles_statement_are_shown() {
    let env = Env::two_parties();
    let (day, year) = today();
    env.ok(&["keygen", "orbit"]);
    env.ok(&[
        "party",
        "add",
        "orbit",
        "--name",
        "Orbit Managed Services",
        "--role",
        "third-party",
        "--new-key",
        "keys/orbit.key",
        "--key",
        "provider",
    ]);
    std::fs::write(env.p("msp.toml"), MSP).unwrap();
    env.ok(&[
        "matrix",
        "adopt",
        "msp.toml",
        "--bind",
        "provider=cloudtemple",
        "--bind",
        "customer=acme",
        "--bind",
        "third-party=orbit",
        "--key",
        "provider",
    ]);
    env.ok(&[
        "record",
        "--item",
        "ops.patching",
        "--kind",
        "patch-run",
        "--outcome",
        "pass",
        "--performed-at",
        &day,
        "--field",
        "hosts=3",
        "--field",
        "patches_applied=9",
        "--field",
        "failed=0",
        "--key",
        "orbit",
    ]);
    let md = env
        .ok(&["report", "--period", &year, "--format", "md"])
        .stdout;
    for needle in [
        // The customer is accountable, the third party performs: a CUEC.
        "| ops.patching | Approve the monthly patch window | performed by orbit (third-party) |",
        "third-party: Apply the patches every month",
        "provider: Patch the hypervisors every quarter",
        // Nobody acknowledged the adoption yet.
        "- Adoption acknowledged by: no other party yet",
        "## Waivers\n\nNo waivers.",
    ] {
        assert!(md.contains(needle), "the Markdown lacks {needle:?}:\n{md}");
    }
    env.ok(&["report", "--period", &year, "--out", "msp.pdf"]);
    let text = flat(&pdf_text(&std::fs::read(env.p("msp.pdf")).unwrap()));
    for needle in [
        "Approve the monthly patch window",
        // Each role's duty statement, under the party that holds the duty.
        "(third-party) Apply the patches every month",
        "(provider) Patch the hypervisors every quarter",
        "performed by orbit (third-party)",
        "No waivers.",
    ] {
        assert!(text.contains(needle), "the PDF lacks {needle:?}: {text}");
    }
    no_empty_labels("the PDF", &text);
}
