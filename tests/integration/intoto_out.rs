//! `vouch export --in-toto`: DSSE envelopes of in-toto Statements, one per evidence entry
//! the key's party signed, verified by securesystemslib (.ci/check_intoto.py; Python with
//! securesystemslib must be installed: `.ci/run` installs it, and its absence fails).

use crate::oscal_out::{demo, tool};
use serde_json::Value;

const L: &str = "d/ledger.db";

fn check(env: &crate::util::Env, key: &str, files: &[String]) -> (bool, String) {
    let script = format!("{}/.ci/check_intoto.py", env!("CARGO_MANIFEST_DIR"));
    let mut args = vec![script.as_str(), key];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--artifacts", "d/artifacts"]);
    tool(env.path(), "python3", &args)
}

#[test]
fn in_toto_attestations_of_a_partys_evidence_verify_with_securesystemslib() {
    let env = demo();
    let r = env.ok(&[
        "--ledger",
        L,
        "export",
        "--in-toto",
        "--period",
        "2026-Q3",
        "--key",
        "d/keys/acme.key",
        "--out",
        "att",
    ]);
    let files: Vec<String> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("wrote "))
        .map(str::to_string)
        .collect();
    assert!(files.len() > 20, "{}", r.stdout);
    // Entries of the other party are named, not attested.
    assert!(
        r.stdout
            .contains("signed by cloudtemple; only its key can attest it"),
        "{}",
        r.stdout
    );
    let (ok, out) = check(&env, "d/keys/acme.pub", &files);
    assert!(ok, "securesystemslib: {out}");
    assert_eq!(
        out.matches("\nok ").count() + usize::from(out.starts_with("ok ")),
        files.len()
    );

    // The predicate says what the entry says.
    let env_json: Value =
        serde_json::from_slice(&std::fs::read(env.p(&files[0])).unwrap()).unwrap();
    let payload = base64_decode(env_json["payload"].as_str().unwrap());
    let st: Value = serde_json::from_slice(&payload).unwrap();
    let seq = st["predicate"]["seq"].as_u64().unwrap();
    let shown: Value = serde_json::from_str(
        &env.ok(&["--ledger", L, "--format", "json", "show", &seq.to_string()])
            .stdout,
    )
    .unwrap();
    let p = &shown["payload"];
    for k in ["item", "kind", "outcome", "performed_at", "fields"] {
        assert_eq!(st["predicate"][k], p[k], "{k}");
    }
    assert_eq!(st["predicate"]["matrix"]["id"], "cloudtemple-vm-instances");

    // Another party's key, and one changed byte of the payload, fail.
    assert!(!check(&env, "d/keys/cloudtemple.pub", &files[..1]).0);
    let mut tampered = env_json.clone();
    let mut bytes = payload.clone();
    let at = bytes.iter().position(|b| *b == b'p').unwrap();
    bytes[at] = b'q';
    tampered["payload"] = Value::String(base64_encode(&bytes));
    std::fs::write(env.p("tampered.json"), tampered.to_string()).unwrap();
    let (ok, out) = check(&env, "d/keys/acme.pub", &["tampered.json".to_string()]);
    assert!(!ok && out.contains("FAILED"), "{out}");
}

#[test]
fn in_toto_refuses_what_is_not_evidence_and_needs_a_key() {
    let env = demo();
    let r = env.fails(&[
        "--ledger",
        L,
        "export",
        "--in-toto",
        "1",
        "--key",
        "d/keys/acme.key",
    ]);
    assert!(
        r.stderr.contains("entry 1 is not an evidence entry"),
        "{}",
        r.stderr
    );
    let r = env.fails(&["--ledger", L, "export", "--in-toto", "9"]);
    assert!(r.stderr.contains("--key"), "{}", r.stderr);
}

fn base64_decode(s: &str) -> Vec<u8> {
    vouch::crypto::base64_decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    vouch::crypto::base64_encode(b)
}
