//! The PDF attestation, read back: its default place, its content, its determinism, and
//! what a change to the ledger does to its digest and sign-offs.

use crate::util::Env;
use serde_json::Value;

const DEFAULT_PDF: &str = "reports/cloudtemple-vm-instances-2026-Q3.pdf";

/// Provider and customer, the Cloud Temple matrix adopted and acknowledged, a failed and a
/// passing restore test, and the provider's sign-off of 2026-Q3.
fn signed_ledger() -> Env {
    let env = Env::adopted();
    for (outcome, day) in [("fail", "2026-07-15"), ("pass", "2026-07-29")] {
        env.ok(&[
            "record",
            "--item",
            "backup.restore-tests",
            "--kind",
            "restore-test",
            "--outcome",
            outcome,
            "--performed-at",
            day,
            "--field",
            "backup_id=bk-1",
            "--field",
            "rto_minutes=60",
            "--field",
            "data_verified=true",
            "--key",
            "customer",
        ]);
    }
    env.ok(&["attest", "--period", "2026-Q3", "--key", "provider"]);
    env
}

/// All the text of a PDF, page by page, as lopdf extracts it.
pub(crate) fn pdf_text(bytes: &[u8]) -> Vec<String> {
    let doc = lopdf::Document::load_mem(bytes).expect("the PDF parses");
    doc.get_pages()
        .keys()
        .map(|&n| doc.extract_text(&[n]).expect("text extracts"))
        .collect()
}

/// Text with line breaks and runs of spaces collapsed, so a phrase wrapped over two lines
/// of a table cell is still found.
pub(crate) fn flat(pages: &[String]) -> String {
    pages
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn json(env: &Env, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend_from_slice(&["--format", "json"]);
    serde_json::from_str(&env.ok(&a).stdout).unwrap()
}

#[test]
fn report_writes_the_pdf_where_expected_with_every_fact() {
    let env = signed_ledger();
    let r = env.ok(&["report", "--period", "2026-Q3"]);
    assert!(
        r.stdout.starts_with(&format!("wrote {DEFAULT_PDF} (")),
        "{}",
        r.stdout
    );
    let bytes = std::fs::read(env.p(DEFAULT_PDF)).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let pages = pdf_text(&bytes);
    let text = flat(&pages);
    let facts = json(
        &env,
        &["report", "--period", "2026-Q3", "--appendix", "all"],
    );
    // The digest and the head the report was computed at, in full.
    let digest = facts["digest"].as_str().unwrap();
    let head_hash = facts["head"][1].as_str().unwrap();
    assert_eq!(digest.len(), 64);
    assert!(text.contains(digest), "digest {digest} not printed");
    assert!(
        text.contains(head_hash),
        "head hash {head_hash} not printed"
    );
    assert!(text.contains("Shared responsibility attestation"));
    assert!(text.contains("not an audit opinion"));
    // Every activity of the matrix and every duty's status.
    let mut duties = 0;
    for section in facts["sections"].as_array().unwrap() {
        for item in section["items"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap();
            let activity = item["activity"].as_str().unwrap();
            assert!(
                text.contains(activity),
                "activity of {id} missing: {activity}"
            );
            for duty in item["duties"].as_array().unwrap() {
                duties += 1;
                let status = duty["status"].as_str().unwrap();
                assert!(text.contains(status), "status {status} missing");
            }
        }
    }
    assert!(duties > 70, "{duties} duties");
    assert!(text.contains("failed") && text.contains("missing") && text.contains("fulfilled"));
    // Page X of Y on every page, and the running header.
    let n = pages.len();
    assert!(n >= 5, "{n} pages");
    for (i, p) in pages.iter().enumerate() {
        let p = p.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            p.contains(&format!("page {} of {n}", i + 1)),
            "page {} lacks its number: {p}",
            i + 1
        );
        assert!(p.contains("2026-Q3"), "page {} lacks the period", i + 1);
    }
    // The sign-off: the provider signed, the customer did not.
    assert_eq!(facts["signoffs"][0]["party"], "cloudtemple");
    assert_eq!(facts["signoffs"][0]["matches"], true);
    assert!(text.contains("matches this attestation"), "{text}");
    assert!(text.contains("not signed"));
}

#[test]
fn the_same_ledger_gives_the_same_bytes_wherever_it_lives() {
    let env = signed_ledger();
    env.ok(&["report", "--period", "2026-Q3", "--out", "a.pdf"]);
    env.ok(&["report", "--period", "2026-Q3", "--out", "b.pdf"]);
    let a = std::fs::read(env.p("a.pdf")).unwrap();
    assert_eq!(a, std::fs::read(env.p("b.pdf")).unwrap());
    // Elsewhere, under another name: the ledger's path is not in the file.
    let other = tempfile::tempdir().unwrap();
    let moved = other.path().join("moved-ledger.db");
    std::fs::copy(env.p("ledger.db"), &moved).unwrap();
    env.ok(&[
        "--ledger",
        moved.to_str().unwrap(),
        "report",
        "--period",
        "2026-Q3",
        "--out",
        "c.pdf",
    ]);
    assert_eq!(a, std::fs::read(env.p("c.pdf")).unwrap());
    let text = flat(&pdf_text(&a));
    assert!(!text.contains(env.path().to_str().unwrap()));
    // A second run to the default place finds the same bytes and leaves the file alone.
    env.ok(&["report", "--period", "2026-Q3"]);
    let r = env.ok(&["report", "--period", "2026-Q3"]);
    assert!(r.stdout.starts_with("unchanged "), "{}", r.stdout);
}

#[test]
fn a_later_entry_makes_a_new_statement_and_the_old_signoff_stays_valid_at_its_head() {
    let env = signed_ledger();
    env.ok(&["report", "--period", "2026-Q3", "--out", "before.pdf"]);
    let before = json(&env, &["report", "--period", "2026-Q3"]);
    env.record("customer", "guest-os.patching");
    env.ok(&["report", "--period", "2026-Q3", "--out", "after.pdf"]);
    let after = json(&env, &["report", "--period", "2026-Q3"]);
    let (d0, d1) = (
        before["digest"].as_str().unwrap(),
        after["digest"].as_str().unwrap(),
    );
    assert_ne!(d0, d1);
    assert_eq!(after["signoffs"][0]["digest"], d0);
    // Not this attestation's, but a valid statement at its own head (FORMAT.md §11).
    assert_eq!(after["signoffs"][0]["matches"], false);
    assert_eq!(after["signoffs"][0]["valid"], true);
    let text = flat(&pdf_text(&std::fs::read(env.p("after.pdf")).unwrap()));
    assert!(text.contains(d1), "new digest not printed");
    assert!(
        text.contains("valid at its head"),
        "old sign-off not shown as an earlier statement: {text}"
    );
    assert!(!text.contains("does NOT match"), "{text}");
    assert!(!text.contains("matches this attestation"));
    assert_ne!(
        std::fs::read(env.p("before.pdf")).unwrap(),
        std::fs::read(env.p("after.pdf")).unwrap()
    );
    // The report at the signed head is still the one made before.
    let head = before["head"][0].as_u64().unwrap().to_string();
    env.ok(&[
        "report",
        "--period",
        "2026-Q3",
        "--at",
        &head,
        "--out",
        "again.pdf",
    ]);
    assert_eq!(
        std::fs::read(env.p("before.pdf")).unwrap(),
        std::fs::read(env.p("again.pdf")).unwrap()
    );
}

#[test]
fn an_unverified_ledger_gets_no_pdf_unless_allowed_and_then_every_page_says_so() {
    let env = signed_ledger();
    crate::util::attacker(&env.p("ledger.db"))
        .execute_batch("UPDATE entries SET signature = zeroblob(64) WHERE seq = 5")
        .unwrap();
    let r = env.run(&["report", "--period", "2026-Q3"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("no report"), "{}", r.stdout);
    assert!(!env.p(DEFAULT_PDF).exists());
    let r = env.run(&["report", "--period", "2026-Q3", "--allow-unverified"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("UNVERIFIED"), "{}", r.stdout);
    let pages = pdf_text(&std::fs::read(env.p(DEFAULT_PDF)).unwrap());
    for (i, p) in pages.iter().enumerate() {
        assert!(p.contains("UNVERIFIED"), "page {} is not stamped", i + 1);
    }
}

#[test]
fn demo_writes_its_pdf_and_is_deterministic() {
    let a = Env::new();
    let r = a.ok(&["demo"]);
    assert!(
        r.stdout.contains("reports/demo-attestation.pdf"),
        "{}",
        r.stdout
    );
    let first = std::fs::read(a.p("reports/demo-attestation.pdf")).unwrap();
    // Run again (rebuilds the demo) and somewhere else: the same bytes.
    a.ok(&["demo"]);
    assert_eq!(
        first,
        std::fs::read(a.p("reports/demo-attestation.pdf")).unwrap()
    );
    let b = Env::new();
    b.ok(&["demo", "--dir", "elsewhere", "--pdf", "out/x.pdf"]);
    assert_eq!(first, std::fs::read(b.p("out/x.pdf")).unwrap());
    let text = flat(&pdf_text(&first));
    for needle in ["failed", "disputed", "overdue", "missing", "late-recorded"] {
        assert!(text.contains(needle), "the demo PDF shows no {needle}");
    }
    assert!(!text.contains("does NOT match"));
    assert!(!text.contains("not signed") || text.contains("auditor"));
}

#[test]
fn verify_report_says_whether_the_pdf_still_matches_the_ledger() {
    let env = signed_ledger();
    env.ok(&["report", "--period", "2026-Q3", "--out", "q3.pdf"]);
    let r = env.ok(&["verify", "--report", "q3.pdf"]);
    assert!(
        r.stdout.contains("byte for byte") && r.stdout.contains("attestation: still matches"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("checkpoint: the ledger holds exactly the 7 entries the report was built on"),
        "{}",
        r.stdout
    );
    // An edited PDF (a valid PDF, its stamp intact) against the unchanged ledger.
    let mut doc = lopdf::Document::load_mem(&std::fs::read(env.p("q3.pdf")).unwrap()).unwrap();
    let info = doc.trailer.get(b"Info").unwrap().as_reference().unwrap();
    doc.get_object_mut(info)
        .unwrap()
        .as_dict_mut()
        .unwrap()
        .set(
            "Title",
            lopdf::Object::string_literal("All duties fulfilled"),
        );
    doc.save(env.p("edited.pdf")).unwrap();
    let r = env.run(&["verify", "--report", "edited.pdf"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("the PDF was altered"), "{}", r.stdout);
    // A later entry moves the ledger's head, not the PDF's: it is judged at the head it
    // names, where the ledger still holds what the report was built on (FORMAT.md §11).
    env.record("customer", "guest-os.patching");
    let r = env.ok(&["verify", "--report", "q3.pdf"]);
    assert!(
        r.stdout.contains("byte for byte")
            && r.stdout.contains("attestation: still matches")
            && r.stdout
                .contains("the 7 entries the report was built on, and 1 more"),
        "{}",
        r.stdout
    );
    // Truncated below the report's checkpoint.
    crate::util::attacker(&env.p("ledger.db"))
        .execute_batch("DELETE FROM entries WHERE seq >= 7")
        .unwrap();
    let r = env.run(&["verify", "--report", "q3.pdf"]);
    assert_eq!(r.code, 1);
    // Not a vouch PDF, not a PDF.
    std::fs::write(env.p("x.pdf"), b"hello").unwrap();
    let r = env.run(&["verify", "--report", "x.pdf"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("x.pdf: not a readable PDF"),
        "{}",
        r.stderr
    );
}
