//! Issue 12 items 6 and 9, through the binary: an adoption of some services only
//! (`matrix adopt --service`), a sign-off naming its signatory (`attest --signatory`), and
//! management responses to exceptions (`vouch respond`), each shown where the brief says
//! and each rule enforced by the writer and by `verify`.

use crate::crafted_payloads::append;
use crate::pdf::{flat, pdf_text};
use crate::util::Env;
use serde_json::{Value, json};
use vouch::format::entry::Kind;

const DANUBE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/schema/matrices/danubedata.toml"
);

/// Two parties, the DanubeData matrix adopted (entry 3) with `extra` arguments, acknowledged.
fn danube(extra: &[&str]) -> Env {
    let env = Env::two_parties();
    let mut args = vec![
        "matrix",
        "adopt",
        DANUBE,
        "--bind",
        "provider=cloudtemple",
        "--bind",
        "customer=acme",
        "--key",
        "provider",
    ];
    args.extend_from_slice(extra);
    env.ok(&args);
    env.ok(&["cosign", "3", "--ack", "--key", "customer"]);
    env
}

fn json_of(env: &Env, args: &[&str]) -> Value {
    let mut a = vec!["--format", "json"];
    a.extend_from_slice(args);
    let r = env.ok(&a);
    serde_json::from_str(&r.stdout).unwrap()
}

/// The status's item ids, and how many duties are missing.
fn status(env: &Env) -> (Vec<String>, usize) {
    let v = json_of(env, &["status", "--period", "2026-Q3"]);
    let items = v["items"].as_array().unwrap();
    let ids = items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    let missing = items
        .iter()
        .flat_map(|i| i["duties"].as_array().unwrap())
        .filter(|d| d["status"] == "missing")
        .count();
    (ids, missing)
}

/// The ids of the matrix file's items of `service`, from `matrix show` of the file.
fn items_of(env: &Env, service: &str) -> Vec<String> {
    let v = json_of(env, &["matrix", "show", DANUBE]);
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["service"] == service)
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn adopting_one_service_scopes_status_show_and_record() {
    let all = danube(&[]);
    let (all_ids, all_missing) = status(&all);
    assert_eq!(all_ids.len(), 58);

    let env = danube(&["--service", "vps"]);
    let vps = items_of(&env, "vps");
    assert!(!vps.is_empty() && vps.len() < 58, "{vps:?}");
    let (ids, missing) = status(&env);
    assert_eq!(
        ids, vps,
        "status lists exactly the vps items, in matrix order"
    );
    assert!(missing < all_missing, "missing {missing} of {all_missing}");
    env.ok(&["verify"]);

    // The adoption entry names the service; the attestation leaves the others out.
    let show = json_of(&env, &["show", "3"]);
    assert_eq!(show["payload"]["services"], json!(["vps"]));
    let att = json_of(&env, &["attest", "--period", "2026-Q3"]);
    assert_eq!(
        att["attestation"]["items"].as_array().unwrap().len(),
        vps.len()
    );

    // matrix show --adopted: only the vps items, and the services named.
    let r = env.ok(&["matrix", "show", "--adopted"]);
    assert!(r.stdout.contains("services vps"), "{}", r.stdout);
    assert!(r.stdout.contains("vps.hypervisor-host-os"), "{}", r.stdout);
    assert!(!r.stdout.contains("managed-databases."), "{}", r.stdout);
    let j = json_of(&env, &["matrix", "show", "--adopted"]);
    assert_eq!(j["items"].as_array().unwrap().len(), vps.len());
    assert_eq!(j["adopted"]["services"], json!(["vps"]));

    // Evidence for an item of another service is refused, and nothing is written.
    let other = items_of(&env, "managed-databases")[0].clone();
    let before = env.snapshot();
    let r = env.fails(&[
        "record",
        "--item",
        &other,
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
            .contains("which the adoption in entry 3 does not adopt (it adopts vps)"),
        "{}",
        r.stderr
    );
    assert_eq!(before, env.snapshot());
}

#[test]
fn an_unknown_service_is_refused_naming_the_known_ones() {
    let env = Env::two_parties();
    let before = env.snapshot();
    let r = env.run(&[
        "matrix",
        "adopt",
        DANUBE,
        "--bind",
        "provider=cloudtemple",
        "--bind",
        "customer=acme",
        "--service",
        "gpu",
        "--key",
        "provider",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--service gpu: matrix danubedata has no such service"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("vps, managed-databases"), "{}", r.stderr);
    assert_eq!(before, env.snapshot());
}

/// Sign Q3 as the provider with a signatory, then as the customer without: both sign the
/// same digest, and the signatory is shown in attest (text, JSON), Markdown and the PDF.
#[test]
fn a_signoff_names_its_signatory() {
    let env = Env::adopted();
    let r = env.ok(&[
        "attest",
        "--period",
        "2026-Q3",
        "--key",
        "provider",
        "--signatory",
        "Jane Roe, CISO",
        "--yes",
    ]);
    assert!(
        r.stdout
            .contains("sign-off of 2026-07-01 to 2026-09-30, signed by Jane Roe, CISO"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("signed by Jane Roe, CISO for cloudtemple in entry 5: matches"),
        "{}",
        r.stdout
    );
    env.ok(&[
        "attest", "--period", "2026-Q3", "--key", "customer", "--yes",
    ]);
    let v = json_of(&env, &["attest", "--period", "2026-Q3"]);
    let so = v["signoffs"].as_array().unwrap();
    assert_eq!(so.len(), 2);
    assert_eq!(so[0]["signatory"], "Jane Roe, CISO");
    assert!(so[1].get("signatory").is_none(), "{}", so[1]);
    // The signatory is not part of the digest: both sign the same one.
    assert_eq!(so[0]["digest"], so[1]["digest"]);
    assert!(so.iter().all(|s| s["matches"] == true));
    env.ok(&["verify"]);

    let md = env.ok(&["report", "--period", "2026-Q3", "--format", "md"]);
    assert!(
        md.stdout
            .contains("| cloudtemple (signed by Jane Roe, CISO) |"),
        "{}",
        md.stdout
    );
    env.ok(&["report", "--period", "2026-Q3", "--out", "q3.pdf"]);
    let text = flat(&pdf_text(&std::fs::read(env.p("q3.pdf")).unwrap()));
    assert!(text.contains("signed by Jane Roe, CISO"), "{text}");
    assert!(
        text.contains("signed by Jane Roe, CISO for Cloud Temple (cloudtemple)"),
        "{text}"
    );

    // A signatory on two lines is refused before anything is signed.
    let before = env.snapshot();
    let r = env.fails(&[
        "attest",
        "--period",
        "2026-Q3",
        "--key",
        "customer",
        "--signatory",
        "Jane\nRoe",
        "--yes",
    ]);
    assert!(
        r.stderr
            .contains("--signatory: signatory contains a control character"),
        "{}",
        r.stderr
    );
    assert_eq!(before, env.snapshot());
}

/// A failed patch run (entry 5) by the customer: an exception of the customer's duty.
fn failed_run(env: &Env) {
    env.ok(&[
        "record",
        "--item",
        "guest-os.patching",
        "--kind",
        "patch-run",
        "--outcome",
        "fail",
        "--performed-at",
        "2026-07-01",
        "--field",
        "hosts=12",
        "--field",
        "patches_applied=0",
        "--field",
        "failed=12",
        "--key",
        "customer",
    ]);
}

/// The exception of `item` in the JSON report.
fn exception(env: &Env, item: &str) -> Value {
    let v = json_of(env, &["report", "--period", "2026-Q3", "--out", "-"]);
    v["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["item"] == item)
        .cloned()
        .unwrap_or_else(|| panic!("no exception of {item} in {v}"))
}

#[test]
fn responses_are_shown_beside_their_exception() {
    let env = Env::adopted();
    failed_run(&env);
    let before = exception(&env, "guest-os.patching");
    assert_eq!(before["status"], "failed");
    assert!(before.get("responses").is_none(), "{before}");

    // The customer responds twice (the latest counts), the provider (bound) once.
    let r = env.ok(&[
        "respond",
        "5",
        "--text",
        "Vault sealed; rerun planned",
        "--key",
        "customer",
    ]);
    assert!(
        r.stdout.starts_with("entry 6: response to entry 5"),
        "{}",
        r.stdout
    );
    env.ok(&[
        "respond",
        "5",
        "--item",
        "guest-os.patching",
        "--text",
        "Rerun done on 2026-10-02, see SEC-10",
        "--key",
        "customer",
    ]);
    env.ok(&["respond", "5", "--text", "Noted", "--key", "provider"]);
    env.ok(&["verify"]);
    let e = exception(&env, "guest-os.patching");
    assert_eq!(e["status"], "failed", "responses never change a status");
    assert_eq!(
        e["responses"],
        json!([
            {"seq": 7, "party": "acme", "time": e["responses"][0]["time"], "entry": 5,
             "text": "Rerun done on 2026-10-02, see SEC-10"},
            {"seq": 8, "party": "cloudtemple", "time": e["responses"][1]["time"], "entry": 5,
             "text": "Noted"},
        ])
    );

    // Markdown and the PDF show them beside the exception.
    let md = env.ok(&["report", "--period", "2026-Q3", "--format", "md"]);
    let line = md
        .stdout
        .lines()
        .find(|l| l.starts_with("| guest-os.patching | acme | failed |"))
        .unwrap();
    assert!(
        line.contains("#7 by acme: \u{201c}Rerun done on 2026-10-02, see SEC-10\u{201d}"),
        "{line}"
    );
    env.ok(&["report", "--period", "2026-Q3", "--out", "q3.pdf"]);
    let text = flat(&pdf_text(&std::fs::read(env.p("q3.pdf")).unwrap()));
    assert!(text.contains("#8 response by cloudtemple"), "{text}");

    // A retracted response is no longer shown; the earlier one of its party is not revived.
    env.ok(&[
        "retract",
        "8",
        "--reason",
        "posted too early",
        "--key",
        "provider",
        "--yes",
    ]);
    let e = exception(&env, "guest-os.patching");
    let seqs: Vec<u64> = e["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![7]);

    // log and show name the new kind.
    let log = env.ok(&["log"]);
    assert!(
        log.stdout.contains("responds to entry 5: Noted"),
        "{}",
        log.stdout
    );
}

#[test]
fn a_response_to_a_duty_without_evidence() {
    let env = Env::adopted();
    let before = exception(&env, "guest-os.patching");
    assert_eq!(before["status"], "missing");
    env.ok(&[
        "respond",
        "--item",
        "guest-os.patching",
        "--period",
        "2026-Q3",
        "--text",
        "Patching moved to the new fleet in Q4",
        "--key",
        "customer",
    ]);
    // Another period's response is not shown for this one.
    env.ok(&[
        "respond",
        "--item",
        "guest-os.patching",
        "--period",
        "2026-Q2",
        "--text",
        "Q2 only",
        "--key",
        "customer",
    ]);
    env.ok(&["verify"]);
    let e = exception(&env, "guest-os.patching");
    let r = e["responses"].as_array().unwrap();
    assert_eq!(r.len(), 1, "{e}");
    assert_eq!(r[0]["seq"], 5);
    assert!(r[0].get("entry").is_none());
    // An item that is not the matrix's is refused.
    let r = env.fails(&[
        "respond", "--item", "no.such", "--period", "2026-Q3", "--text", "x", "--key", "customer",
    ]);
    assert!(
        r.stderr.contains("is not an item of matrix"),
        "{}",
        r.stderr
    );
}

/// Register `auditor` (key `auditor`) and `orbit`, a third party no adoption binds.
fn with_outsiders(env: &Env) {
    env.ok(&["keygen", "auditor"]);
    env.ok(&["keygen", "orbit"]);
    for (id, role, key) in [
        ("kpmg", "auditor", "auditor"),
        ("orbit", "third-party", "orbit"),
    ] {
        env.ok(&[
            "party",
            "add",
            id,
            "--name",
            id,
            "--role",
            role,
            "--new-key",
            &format!("keys/{key}.key"),
            "--key",
            "provider",
        ]);
    }
}

#[test]
fn who_may_respond_and_to_what() {
    let env = Env::adopted();
    failed_run(&env); // entry 5
    with_outsiders(&env); // entries 6, 7
    let before = env.snapshot();
    let refused = [
        (
            vec!["respond", "3", "--text", "x", "--key", "customer"],
            "responds to entry of kind adoption",
        ),
        (
            vec!["respond", "5", "--text", "x", "--key", "auditor"],
            "kpmg is an auditor",
        ),
        (
            vec!["respond", "5", "--text", "x", "--key", "orbit"],
            "orbit responds, but no adoption binds it",
        ),
        (
            vec!["respond", "5", "--text", " ", "--key", "customer"],
            "--text is empty",
        ),
        (
            vec!["respond", "99", "--text", "x", "--key", "customer"],
            "no entry 99",
        ),
    ];
    for (args, words) in refused {
        let r = env.fails(&args);
        assert!(r.stderr.contains(words), "{args:?}: {}", r.stderr);
    }
    assert_eq!(before, env.snapshot());
    // A response cannot be acknowledged or disputed.
    env.ok(&["respond", "5", "--text", "ok", "--key", "customer"]); // entry 8
    let r = env.fails(&["cosign", "8", "--ack", "--key", "provider", "--yes"]);
    assert!(
        r.stderr.contains("co-signs a response entry"),
        "{}",
        r.stderr
    );

    // verify enforces the same rules on crafted entries signed with the real keys.
    let h5 = json_of(&env, &["show", "5"])["hash"]
        .as_str()
        .unwrap()
        .to_string();
    let payload =
        vouch::format::payload::encode(&json!({"entry": 5, "entry_sha256": h5, "text": "crafted"}))
            .unwrap();
    for (key, words) in [
        ("auditor", "\"kpmg\" is an auditor"),
        ("orbit", "\"orbit\" responds, but no adoption binds it"),
    ] {
        let e = Env::new();
        std::fs::copy(env.p("ledger.db"), e.p("ledger.db")).unwrap();
        std::fs::create_dir(e.p("keys")).unwrap();
        for k in ["auditor", "orbit"] {
            std::fs::copy(
                env.p(&format!("keys/{k}.key")),
                e.p(&format!("keys/{k}.key")),
            )
            .unwrap();
        }
        let seq = append(&e, key, Kind::Response, payload.clone());
        let r = e.run(&["verify"]);
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
        assert!(
            r.stdout
                .lines()
                .any(|l| l.starts_with(&format!("entry {seq}: ")) && l.contains(words)),
            "{}",
            r.stdout
        );
    }
}

#[test]
fn a_response_entry_does_not_exist_in_v1() {
    let env = Env::adopted();
    let payload = vouch::format::payload::encode(
        &json!({"item": "guest-os.patching", "period": {"from": "2026-07-01", "to": "2026-09-30"}, "text": "x"}),
    )
    .unwrap();
    let seq = crate::crafted_payloads::append_as(
        &env,
        "customer",
        Kind::Response,
        payload,
        Some(vouch::format::entry::Version::V1),
    );
    let r = env.run(&["verify"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with(&format!("entry {seq}: "))
                && l.contains("kind \"response\" does not exist in vouch/v1")),
        "{}",
        r.stdout
    );
}
