//! Key history (schema/FORMAT.md §14): `vouch key rotate`, `vouch key revoke`, `vouch key
//! list`; what append refuses, what verify reports, and what status no longer counts.

use crate::util::{Env, attacker};
use serde_json::Value;
use vouch::crypto::{PublicKey, SecretKey, keyfile, sha256};
use vouch::format::entry::{EntryHeader, Kind, LedgerId};
use vouch::format::payload::{
    CosignPayload, KeyRevocationPayload, KeyRotationPayload, Verdict, encode,
};
use vouch::ledger::Access;
use vouch::ledger::verify::{self, Options};
use vouch::ledger::{Draft, Ledger, NoProgress};

fn secret(env: &Env, name: &str) -> SecretKey {
    keyfile::load_secret(&env.p(&format!("keys/{name}.key"))).unwrap()
}

fn fpr(env: &Env, name: &str) -> String {
    secret(env, name).public().fingerprint().to_string()
}

fn ledger_id(env: &Env) -> LedgerId {
    Ledger::open(&env.p("ledger.db"), Access::ReadOnly)
        .unwrap()
        .id()
        .unwrap()
}

fn hash_of(env: &Env, seq: u64) -> String {
    let r = env.ok(&["show", &seq.to_string(), "--format", "json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    v["hash"].as_str().unwrap().to_string()
}

fn json(env: &Env, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    serde_json::from_str(&env.ok(&a).stdout).unwrap()
}

/// Append a correctly signed entry by writing its row directly, bypassing every rule of
/// `Ledger::append` (as an attacker holding a key and the file could). Returns its seq.
fn forge_raw(env: &Env, key: &str, kind: Kind, payload: &[u8]) -> u64 {
    let k = secret(env, key);
    let c = attacker(&env.p("ledger.db"));
    let (seq, body): (i64, Vec<u8>) = c
        .query_row(
            "SELECT seq, body FROM entries ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let tip = EntryHeader::parse(&body).unwrap();
    let h = EntryHeader {
        version: vouch::format::entry::Version::CURRENT,
        ledger: tip.ledger,
        seq: tip.seq + 1,
        prev: sha256(&body),
        time: tip.time + chrono::Duration::seconds(1),
        kind,
        signer: k.public().fingerprint(),
        payload: sha256(payload),
    };
    let text = h.encode().into_bytes();
    c.execute(
        "INSERT INTO entries (seq, body, signature, payload, hash, time, kind, signer, item)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)",
        rusqlite::params![
            seq + 1,
            text,
            k.sign(&text).to_vec(),
            payload,
            sha256(&text).to_vec(),
            vouch::format::entry::format_time(&h.time),
            kind.as_str(),
            h.signer.to_string(),
        ],
    )
    .unwrap();
    h.seq
}

/// Run verify and require exit 1 with `entry SEQ: WHAT…` among the findings.
fn finding(env: &Env, seq: u64, what: &str) {
    let r = env.run(&["verify", "--all"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let want = format!("entry {seq}: {what}");
    assert!(
        r.stdout.lines().any(|l| l.starts_with(&want)),
        "no {want:?} in:\n{}",
        r.stdout
    );
}

fn rotation_payload(env: &Env, party: &str, old: &str, new: &str, prover: &str) -> Vec<u8> {
    // The statement spelt out here from FORMAT.md §14.2, not by the library.
    let statement = format!(
        "vouch/v1 key-rotation\nledger: {}\nparty: {party}\nold: {}\nnew: {}\n",
        ledger_id(env),
        fpr(env, old),
        fpr(env, new)
    );
    let proof = secret(env, prover).sign(statement.as_bytes());
    encode(&KeyRotationPayload {
        party: party.into(),
        proof: base64_std(&proof),
        public_key: secret(env, new).public().spki_base64(),
    })
    .unwrap()
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn rotation_hands_the_party_a_new_key() {
    let env = Env::two_parties();
    for k in ["customer2", "customer3", "customer4"] {
        env.ok(&["keygen", k]);
    }
    env.record("keys/customer.key", "guest-os.patching");
    let r = env.ok(&[
        "key",
        "rotate",
        "--key",
        "keys/customer.key",
        "--new",
        "customer2",
    ]);
    assert!(
        r.stdout.starts_with("entry 4: key-rotation ("),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "acme's key is now {}; key {} is retired",
            fpr(&env, "customer2"),
            fpr(&env, "customer")
        )),
        "{}",
        r.stdout
    );
    // The new key signs; the ledger verifies.
    env.record("keys/customer2.key", "guest-os.patching");
    env.ok(&["verify"]);
    // --new as NEW.pub (private key beside it) and as NEW.key.
    env.ok(&[
        "key",
        "rotate",
        "--key",
        "customer2",
        "--new",
        "keys/customer3.pub",
    ]);
    let v = json(
        &env,
        &[
            "key",
            "rotate",
            "--key",
            "customer3",
            "--new",
            "keys/customer4.key",
        ],
    );
    assert_eq!(v["seq"], 7);
    assert_eq!(v["party"], "acme");
    assert_eq!(v["new_key"], fpr(&env, "customer4").as_str());

    // The entry carries the new key and a proof over the statement of FORMAT.md §14.2.
    let show = json(&env, &["show", "4"]);
    assert_eq!(show["kind"], "key-rotation");
    assert_eq!(show["signer"], fpr(&env, "customer").as_str());
    let p = &show["payload"];
    assert_eq!(p["party"], "acme");
    let new = PublicKey::from_spki_base64(p["public_key"].as_str().unwrap()).unwrap();
    assert_eq!(new.fingerprint().to_string(), fpr(&env, "customer2"));
    let statement = format!(
        "vouch/v1 key-rotation\nledger: {}\nparty: acme\nold: {}\nnew: {}\n",
        ledger_id(&env),
        fpr(&env, "customer"),
        fpr(&env, "customer2")
    );
    use base64::Engine as _;
    let proof = base64::engine::general_purpose::STANDARD
        .decode(p["proof"].as_str().unwrap())
        .unwrap();
    assert!(new.verify(statement.as_bytes(), &proof));

    // Every key and its state.
    let keys = json(&env, &["key", "list"]);
    let acme: Vec<&Value> = keys
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["party"] == "acme")
        .collect();
    assert_eq!(acme.len(), 4);
    let state: Vec<(Value, Value, Value)> = acme
        .iter()
        .map(|k| {
            (
                k["registered"].clone(),
                k["retired_by"].clone(),
                k["valid"].clone(),
            )
        })
        .collect();
    assert_eq!(
        state,
        vec![
            (2.into(), 4.into(), false.into()),
            (4.into(), 6.into(), false.into()),
            (6.into(), 7.into(), false.into()),
            (7.into(), Value::Null, true.into()),
        ]
    );
    let text = env.ok(&["key", "list"]).stdout;
    assert!(
        text.lines()
            .any(|l| l.contains(&fpr(&env, "customer")) && l.ends_with("retired (entry 4)")),
        "{text}"
    );

    // Pinned keys: a rotated-in key must be pinned too.
    let all: Vec<String> = [
        "provider",
        "customer",
        "customer2",
        "customer3",
        "customer4",
    ]
    .iter()
    .map(|k| format!("keys/{k}.pub"))
    .collect();
    let mut args = vec!["verify".to_string()];
    for a in &all {
        args.extend(["--trust".to_string(), a.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.ok(&args);
    let r = env.run(&args[..args.len() - 2]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "entry 7: party \"acme\" rotates to key {}, which is not among the trusted keys",
            fpr(&env, "customer4")
        )),
        "{}",
        r.stdout
    );
}

#[test]
fn a_retired_key_is_refused_and_its_forged_entries_are_findings() {
    let env = Env::two_parties();
    env.ok(&["keygen", "customer2"]);
    env.ok(&["keygen", "customer3"]);
    env.ok(&["key", "rotate", "--key", "customer", "--new", "customer2"]);
    let before = env.snapshot();
    let old = fpr(&env, "customer");
    for args in [
        &[
            "record",
            "--item",
            "guest-os.patching",
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
            "keys/customer.key",
        ][..],
        &["cosign", "1", "--ack", "--key", "customer"],
        &["key", "rotate", "--key", "customer", "--new", "customer3"],
        &["checkpoint", "--key", "customer"],
    ] {
        let r = env.fails(args);
        assert!(
            r.stderr.starts_with(&format!(
                "vouch: error: key {old} of acme was retired by entry 3, which rotated it: it can no longer sign"
            )),
            "{args:?}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!(
                "hint: sign with acme's current key {}",
                fpr(&env, "customer2")
            )),
            "{}",
            r.stderr
        );
        assert_eq!(env.snapshot(), before, "{args:?} changed the ledger");
    }
    // The same entry written into the file directly is a finding of verify.
    let p = encode(&CosignPayload {
        entry: 1,
        entry_sha256: hash_of(&env, 1),
        reason: None,
        verdict: Verdict::Ack,
    })
    .unwrap();
    let seq = forge_raw(&env, "customer", Kind::Cosign, &p);
    finding(
        &env,
        seq,
        &format!("signed by key {old}, which entry 3 retired (key rotation)"),
    );
}

#[test]
fn a_rotation_must_be_proved_by_the_new_key() {
    let env = Env::two_parties();
    env.ok(&["keygen", "customer2"]);
    env.ok(&["keygen", "intruder"]);
    let before = env.snapshot();
    let append = |payload: Vec<u8>| {
        let mut l = Ledger::open(&env.p("ledger.db"), Access::ReadWrite).unwrap();
        let d = Draft {
            kind: Kind::KeyRotation,
            payload,
            party: None,
            store_artifacts: vec![],
        };
        l.append(
            &secret(&env, "customer"),
            vec![d],
            vouch::clock::now(),
            &NoProgress,
        )
        .map(|_| ())
        .unwrap_err()
        .message()
        .to_string()
    };
    // Proved by another key than the new one.
    let wrong = rotation_payload(&env, "acme", "customer", "customer2", "intruder");
    let e = append(wrong.clone());
    assert!(e.contains("proof of possession does not verify"), "{e}");
    // For another party than the signer's.
    let e = append(rotation_payload(
        &env,
        "cloudtemple",
        "customer",
        "customer2",
        "customer2",
    ));
    assert!(e.contains("for party \"cloudtemple\""), "{e}");
    // To a key another party holds.
    let e = append(rotation_payload(
        &env, "acme", "customer", "provider", "provider",
    ));
    assert!(e.contains("is already registered"), "{e}");
    assert_eq!(env.snapshot(), before);

    // Written into the file directly, verify names it.
    let seq = forge_raw(&env, "customer", Kind::KeyRotation, &wrong);
    finding(
        &env,
        seq,
        &format!(
            "key-rotation proof of possession does not verify: it is not key {}'s signature",
            fpr(&env, "customer2")
        ),
    );
    // And the key it names is not acme's: entries it signs are unregistered.
    let p = encode(&CosignPayload {
        entry: 1,
        entry_sha256: hash_of(&env, 1),
        reason: None,
        verdict: Verdict::Ack,
    })
    .unwrap();
    let next = forge_raw(&env, "customer2", Kind::Cosign, &p);
    finding(&env, next, "signed by key");
}

#[test]
fn a_party_cannot_revoke_another_partys_key() {
    let env = Env::two_parties();
    env.ok(&["keygen", "provider2"]);
    env.ok(&["key", "rotate", "--key", "provider", "--new", "provider2"]);
    let before = env.snapshot();
    let target = fpr(&env, "provider");
    let r = env.fails(&[
        "key",
        "revoke",
        &target,
        "--since",
        "2020-01-01",
        "--reason",
        "we do not like it",
        "--key",
        "customer",
    ]);
    assert!(
        r.stderr.starts_with(&format!(
            "vouch: error: key {target} belongs to party \"cloudtemple\", not \"acme\": a party revokes only its own keys"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("vouch cosign SEQ --dispute"),
        "{}",
        r.stderr
    );
    assert_eq!(env.snapshot(), before);

    // Forged into the file, it is a finding, and it voids nothing in status.
    let p = encode(&KeyRevocationPayload {
        key: target.clone(),
        reason: "x".into(),
        since: "2020-01-01T00:00:00Z".into(),
    })
    .unwrap();
    let seq = forge_raw(&env, "customer", Kind::KeyRevocation, &p);
    finding(
        &env,
        seq,
        &format!(
            "\"acme\" revokes key {target} of party \"cloudtemple\" (a party revokes only its own keys)"
        ),
    );
    let (report, noted) =
        verify::verify_noting_revoked(&env.p("ledger.db"), &Options::default(), &NoProgress)
            .unwrap();
    assert!(!report.ok());
    assert!(noted.is_empty(), "{noted:?}");
}

fn restore(env: &Env, key: &str, date: &str) {
    env.ok(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "pass",
        "--performed-at",
        date,
        "--field",
        "backup_id=bk-1",
        "--field",
        "rto_minutes=60",
        "--field",
        "data_verified=true",
        "--key",
        key,
    ]);
}

fn restore_duty(env: &Env) -> Value {
    let v = json(env, &["status", "--period", "2026-Q3"]);
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "backup.restore-tests")
        .and_then(|i| {
            i["duties"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["party"] == "acme")
                .cloned()
        })
        .unwrap()
}

#[test]
fn what_a_revoked_key_signed_after_its_since_is_noted_and_does_not_count() {
    let env = Env::adopted();
    restore(&env, "customer", "2026-08-15"); // entry 5
    let d = restore_duty(&env);
    assert_ne!(d["status"], "missing", "{d}");
    assert_eq!(d["evidence"], serde_json::json!([5]), "{d}");

    env.ok(&["keygen", "customer2"]);
    env.ok(&["key", "rotate", "--key", "customer", "--new", "customer2"]); // entry 6
    let (report, noted) =
        verify::verify_noting_revoked(&env.p("ledger.db"), &Options::default(), &NoProgress)
            .unwrap();
    assert!(report.ok() && noted.is_empty());

    let old = fpr(&env, "customer");
    let r = env.ok(&[
        "key",
        "revoke",
        &old,
        "--since",
        "2020-01-01",
        "--reason",
        "laptop stolen",
        "--key",
        "customer2",
    ]);
    assert!(
        r.stdout.starts_with("entry 7: key-revocation ("),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("key {old} is revoked since 2020-01-01T00:00:00Z")),
        "{}",
        r.stdout
    );

    // Verify: intact (exit 0); the acknowledgement, the evidence and the rotation that the
    // key signed after its revocation time are listed.
    let v = json(&env, &["verify"]);
    assert_eq!(v["ok"], true, "{v}");
    let (report, uses) =
        verify::verify_noting_revoked(&env.p("ledger.db"), &Options::default(), &NoProgress)
            .unwrap();
    assert!(report.ok(), "{:?}", report.findings);
    let noted: Vec<(u64, Kind, String, u64)> = uses
        .iter()
        .map(|u| (u.seq, u.kind, u.key.to_string(), u.revoked_by))
        .collect();
    assert_eq!(
        noted,
        vec![
            (4, Kind::Cosign, old.clone(), 7),
            (5, Kind::Evidence, old.clone(), 7),
            (6, Kind::KeyRotation, old.clone(), 7),
        ]
    );
    assert_eq!(
        uses[0].since,
        vouch::format::entry::parse_time("2020-01-01T00:00:00Z").unwrap()
    );

    // Status: the evidence does not count, and says why.
    let d = restore_duty(&env);
    assert_eq!(d["status"], "missing", "{d}");
    assert_eq!(d["evidence"], serde_json::json!([]), "{d}");
    assert!(
        d["flags"]
            .as_array()
            .unwrap()
            .contains(&"signed-by-revoked-key:5".into()),
        "{d}"
    );
    // Evidence signed with the new key counts.
    restore(&env, "customer2", "2026-08-20"); // entry 8
    let d = restore_duty(&env);
    assert_ne!(d["status"], "missing", "{d}");
    assert_eq!(d["evidence"], serde_json::json!([8]), "{d}");

    // The revoked key signs nothing more.
    let before = env.snapshot();
    let r = env.fails(&["cosign", "1", "--ack", "--key", "customer"]);
    assert!(
        r.stderr.starts_with(&format!(
            "vouch: error: key {old} of acme was revoked by entry 7 (revoked since 2020-01-01T00:00:00Z): it can no longer sign"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(env.snapshot(), before);

    let keys = json(&env, &["key", "list"]);
    let k = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["fingerprint"] == old.as_str())
        .unwrap();
    assert_eq!(k["retired_by"], 6);
    assert_eq!(k["revoked_by"], 7);
    assert_eq!(k["revoked_since"], "2020-01-01T00:00:00Z");
    assert_eq!(k["valid"], false);

    // Forged after the revocation: a finding.
    let p = encode(&CosignPayload {
        entry: 1,
        entry_sha256: hash_of(&env, 1),
        reason: None,
        verdict: Verdict::Ack,
    })
    .unwrap();
    let seq = forge_raw(&env, "customer", Kind::Cosign, &p);
    finding(
        &env,
        seq,
        &format!("signed by key {old}, which entry 7 revoked (since 2020-01-01T00:00:00Z)"),
    );
}

#[test]
fn revocation_bad_input_is_refused_with_the_ledger_unchanged() {
    let env = Env::two_parties();
    env.ok(&["keygen", "customer2"]);
    env.ok(&["key", "rotate", "--key", "customer", "--new", "customer2"]);
    let before = env.snapshot();
    let (old, cur) = (fpr(&env, "customer"), fpr(&env, "customer2"));
    let revoke = |target: &str, since: &str, reason: &str, key: &str| {
        let r = env.fails(&[
            "key", "revoke", target, "--since", since, "--reason", reason, "--key", key,
        ]);
        assert_eq!(env.snapshot(), before, "{}", r.stderr);
        r.stderr
    };
    let says = |stderr: String, what: &str| {
        assert!(
            stderr.starts_with(&format!("vouch: error: {what}")),
            "want {what:?}, got {stderr}"
        );
    };
    says(
        revoke(&"ab".repeat(32), "2020-01-01", "x", "customer2"),
        &format!("key {} is not registered in ", "ab".repeat(32)),
    );
    says(
        revoke("xyz", "2020-01-01", "x", "customer2"),
        "\"xyz\" is not a key fingerprint",
    );
    says(
        revoke(&old.to_uppercase(), "2020-01-01", "x", "customer2"),
        &format!("{:?} is not a key fingerprint", old.to_uppercase()),
    );
    says(
        revoke(&old, "2999-01-01", "x", "customer2"),
        "--since 2999-01-01 is in the future",
    );
    says(
        revoke(&old, "last tuesday", "x", "customer2"),
        "cannot read --since \"last tuesday\"",
    );
    says(
        revoke(&old, "2020-01-01", "", "customer2"),
        "reason is empty",
    );
    says(
        revoke(&old, "2020-01-01", "  ", "customer2"),
        "reason is empty",
    );
    let e = revoke(&cur, "2020-01-01", "x", "customer2");
    says(
        e.clone(),
        &format!(
            "key {cur} is acme's current key: revoking it would leave acme no key to sign with"
        ),
    );
    assert!(e.contains("hint: rotate first"), "{e}");
    // Signed by the retired key itself: it can no longer sign anything.
    says(
        revoke(&old, "2020-01-01", "x", "customer"),
        &format!("key {old} of acme was retired by entry 3"),
    );
    // Revoked once; a revocation is final.
    env.ok(&[
        "key",
        "revoke",
        &old,
        "--since",
        "2026-01-01",
        "--reason",
        "lost",
        "--key",
        "customer2",
    ]);
    let before = env.snapshot();
    let r = env.fails(&[
        "key",
        "revoke",
        &old,
        "--since",
        "2020-01-01",
        "--reason",
        "earlier",
        "--key",
        "customer2",
    ]);
    assert!(
        r.stderr.starts_with(&format!(
            "vouch: error: key {old} is already revoked (entry 4, since 2026-01-01T00:00:00Z); a revocation is final"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(env.snapshot(), before);
    env.ok(&["verify"]);
}

#[test]
fn rotation_bad_input_is_refused_with_the_ledger_unchanged() {
    let env = Env::two_parties();
    env.ok(&["keygen", "customer2"]);
    env.ok(&["keygen", "stray"]);
    std::fs::copy(env.p("keys/customer2.pub"), env.p("lonely.pub")).unwrap();
    let before = env.snapshot();
    let rotate = |key: &str, new: &str, what: &str| {
        let r = env.fails(&["key", "rotate", "--key", key, "--new", new]);
        assert!(
            r.stderr.starts_with(&format!("vouch: error: {what}")),
            "want {what:?}, got {}",
            r.stderr
        );
        assert_eq!(env.snapshot(), before);
    };
    rotate("customer", "nosuchkey", "nosuchkey");
    rotate(
        "customer",
        "customer",
        "the new key is the key it would replace",
    );
    rotate(
        "customer",
        "provider",
        &format!(
            "key {} is already registered (to party \"cloudtemple\")",
            fpr(&env, "provider")
        ),
    );
    rotate(
        "customer",
        "lonely.pub",
        "--new lonely.pub: its private key lonely.key is not there",
    );
    std::fs::copy(env.p("keys/stray.key"), env.p("lonely.key")).unwrap();
    let mut perm = std::fs::metadata(env.p("lonely.key"))
        .unwrap()
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o600);
    std::fs::set_permissions(env.p("lonely.key"), perm).unwrap();
    rotate(
        "customer",
        "lonely.pub",
        "lonely.pub is not the public key of lonely.key",
    );
    rotate(
        "stray",
        "customer2",
        &format!("key {} is not registered", fpr(&env, "stray")),
    );
}

#[test]
fn forged_revocations_break_the_rules_verify_checks() {
    // Revoking the party's only valid key.
    let env = Env::two_parties();
    let cur = fpr(&env, "customer");
    let p = encode(&KeyRevocationPayload {
        key: cur.clone(),
        reason: "x".into(),
        since: "2020-01-01T00:00:00Z".into(),
    })
    .unwrap();
    let seq = forge_raw(&env, "customer", Kind::KeyRevocation, &p);
    finding(
        &env,
        seq,
        &format!("revokes key {cur}, the only valid key of \"acme\""),
    );

    // A since after the revocation's own time, and no reason.
    let env = Env::two_parties();
    env.ok(&["keygen", "customer2"]);
    env.ok(&["key", "rotate", "--key", "customer", "--new", "customer2"]);
    let old = fpr(&env, "customer");
    let p = encode(&KeyRevocationPayload {
        key: old.clone(),
        reason: "x".into(),
        since: "2999-01-01T00:00:00Z".into(),
    })
    .unwrap();
    let seq = forge_raw(&env, "customer2", Kind::KeyRevocation, &p);
    finding(
        &env,
        seq,
        "key-revocation since 2999-01-01T00:00:00Z is after the entry's own time",
    );
    let env = Env::two_parties();
    env.ok(&["keygen", "customer2"]);
    env.ok(&["key", "rotate", "--key", "customer", "--new", "customer2"]);
    let p = encode(&KeyRevocationPayload {
        key: fpr(&env, "customer"),
        reason: " ".into(),
        since: "2020-01-01T00:00:00Z".into(),
    })
    .unwrap();
    let seq = forge_raw(&env, "customer2", Kind::KeyRevocation, &p);
    finding(&env, seq, "payload reason is empty");
}

#[test]
fn key_history_tables_are_checked_against_the_signed_entries() {
    let env = Env::two_parties();
    env.ok(&["keygen", "customer2"]);
    env.ok(&["key", "rotate", "--key", "customer", "--new", "customer2"]);
    let old = fpr(&env, "customer");
    env.ok(&[
        "key",
        "revoke",
        &old,
        "--since",
        "2026-01-01",
        "--reason",
        "lost",
        "--key",
        "customer2",
    ]);
    env.ok(&["verify"]);
    let c = attacker(&env.p("ledger.db"));
    // Un-revoking the key in the derived table does not make it valid to verify.
    c.execute_batch("DELETE FROM key_events WHERE seq = 4")
        .unwrap();
    finding(
        &env,
        4,
        &format!("key_events table lacks the revoked key {old}"),
    );
    c.execute_batch(&format!(
        "INSERT INTO key_events VALUES (4, '{old}', 'revoked', '2026-02-01T00:00:00Z')"
    ))
    .unwrap();
    finding(
        &env,
        4,
        "key_events table row differs from the signed entry",
    );
    c.execute_batch(&format!(
        "DELETE FROM key_events WHERE seq = 4; INSERT INTO key_events VALUES (4, '{old}', 'revoked', '2026-01-01T00:00:00Z');
         DELETE FROM keys WHERE seq = 3"
    ))
    .unwrap();
    finding(
        &env,
        3,
        &format!("keys table lacks key {}", fpr(&env, "customer2")),
    );
}
