//! Tamper tests: open the real SQLite file as an attacker would (triggers dropped), change
//! it, and assert that `vouch verify` exits 1 naming the entry concerned.

use crate::util::{Env, attacker};
use rusqlite::params;
use vouch::crypto::{SecretKey, sha256};
use vouch::format::entry::{EntryHeader, Kind, LedgerId, parse_time};

/// Provider + customer, then four evidence entries by the customer (seq 3–6); entry 4 has
/// a stored artefact.
fn ledger() -> Env {
    let env = Env::two_parties();
    env.record("keys/customer.key", "backup.restore-tests");
    std::fs::write(env.p("restore.log"), "restore ok\n").unwrap();
    env.ok(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-02",
        "--field",
        "backup_id=bk-0702",
        "--field",
        "rto_minutes=50",
        "--field",
        "data_verified=true",
        "--artifact",
        "restore.log",
        "--key",
        "keys/customer.key",
    ]);
    env.record("keys/customer.key", "guest-os.patching");
    env.record("keys/customer.key", "guest-os.patching");
    let r = env.ok(&["verify", "--artifacts"]);
    assert!(r.stdout.contains("ok: 6 entries"), "{}", r.stdout);
    env
}

/// Run verify (with extra args) and require exit 1 with the first finding at `seq`
/// containing `what`.
fn expect_finding(env: &Env, extra: &[&str], seq: u64, what: &str) {
    let mut args = vec!["verify"];
    args.extend_from_slice(extra);
    let r = env.run(&args);
    assert_eq!(
        r.code, 1,
        "expected exit 1\nstdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    let first = r.stdout.lines().next().unwrap_or("");
    assert!(
        first.starts_with(&format!("entry {seq}: ")) && first.contains(what),
        "expected first finding 'entry {seq}: …{what}…', got:\n{}",
        r.stdout
    );
}

fn exec(env: &Env, sql: &str) {
    attacker(&env.p("ledger.db")).execute_batch(sql).unwrap();
}

#[test]
fn edit_body_is_a_bad_signature_at_that_entry() {
    let env = ledger();
    let c = attacker(&env.p("ledger.db"));
    let body: Vec<u8> = c
        .query_row("SELECT body FROM entries WHERE seq = 4", [], |r| r.get(0))
        .unwrap();
    let edited = String::from_utf8(body)
        .unwrap()
        .replacen("time: 2", "time: 1", 1);
    c.execute(
        "UPDATE entries SET body = ?1 WHERE seq = 4",
        params![edited.as_bytes()],
    )
    .unwrap();
    drop(c);
    expect_finding(&env, &[], 4, "signature does not verify");
}

#[test]
fn edit_signature() {
    let env = ledger();
    exec(
        &env,
        "UPDATE entries SET signature = zeroblob(64) WHERE seq = 4",
    );
    expect_finding(&env, &[], 4, "signature does not verify");
}

#[test]
fn edit_payload() {
    let env = ledger();
    exec(
        &env,
        "UPDATE entries SET payload = CAST(replace(CAST(payload AS TEXT), '\"pass\"', '\"fail\"') AS BLOB) WHERE seq = 4",
    );
    expect_finding(&env, &[], 4, "payload bytes do not match");
}

#[test]
fn edit_derived_columns() {
    for (sql, what) in [
        (
            "UPDATE entries SET hash = zeroblob(32) WHERE seq = 4",
            "hash column",
        ),
        (
            "UPDATE entries SET time = '2026-01-01T00:00:00Z' WHERE seq = 4",
            "time column",
        ),
        (
            "UPDATE entries SET kind = 'party' WHERE seq = 4",
            "kind column",
        ),
        (
            "UPDATE entries SET signer = (SELECT signer FROM entries WHERE seq = 1) WHERE seq = 4",
            "signer column",
        ),
        (
            "UPDATE entries SET item = 'physical.datacenters' WHERE seq = 4",
            "item column",
        ),
    ] {
        let env = ledger();
        exec(&env, sql);
        expect_finding(&env, &[], 4, what);
    }
}

#[test]
fn edit_seq_column_is_a_missing_entry() {
    let env = ledger();
    exec(&env, "UPDATE entries SET seq = 100 WHERE seq = 4");
    expect_finding(&env, &[], 4, "entry 4 is missing");
}

#[test]
fn delete_middle_row() {
    let env = ledger();
    exec(&env, "DELETE FROM entries WHERE seq = 4");
    expect_finding(&env, &[], 4, "entry 4 is missing");
}

#[test]
fn swap_two_rows_keeping_seq() {
    let env = ledger();
    exec(
        &env,
        "CREATE TEMP TABLE t AS SELECT * FROM entries WHERE seq IN (4, 5);
         UPDATE entries SET (body, signature, payload, hash, time, kind, signer, item) =
           (SELECT body, signature, payload, hash, time, kind, signer, item FROM t WHERE t.seq = 9 - entries.seq)
         WHERE seq IN (4, 5);",
    );
    expect_finding(&env, &[], 4, "signed as entry 5");
}

#[test]
fn replayed_copy_of_an_old_entry() {
    let env = ledger();
    exec(
        &env,
        "INSERT INTO entries SELECT 7, body, signature, payload, hash, time, kind, signer, item FROM entries WHERE seq = 3",
    );
    expect_finding(&env, &[], 7, "signed as entry 3");
}

#[test]
fn entry_signed_by_an_unregistered_key() {
    let env = ledger();
    let c = attacker(&env.p("ledger.db"));
    let (id, tip): (String, Vec<u8>) = c
        .query_row(
            "SELECT (SELECT value FROM meta WHERE key = 'ledger_id'), body FROM entries WHERE seq = 6",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let payload: Vec<u8> = c
        .query_row("SELECT payload FROM entries WHERE seq = 6", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mallory = SecretKey::from_seed(&[9u8; 32]);
    let header = EntryHeader {
        ledger: LedgerId::parse(&id).unwrap(),
        seq: 7,
        prev: sha256(&tip),
        time: parse_time("2099-01-01T00:00:00Z").unwrap(),
        kind: Kind::Evidence,
        signer: mallory.public().fingerprint(),
        payload: sha256(&payload),
    };
    let text = header.encode();
    c.execute(
        "INSERT INTO entries VALUES (7, ?1, ?2, ?3, ?4, '2099-01-01T00:00:00Z', 'evidence', ?5,
           (SELECT item FROM entries WHERE seq = 6))",
        params![
            text.as_bytes(),
            mallory.sign(text.as_bytes()).to_vec(),
            payload,
            sha256(text.as_bytes()).to_vec(),
            mallory.public().fingerprint().to_string()
        ],
    )
    .unwrap();
    drop(c);
    expect_finding(&env, &[], 7, "not registered in the ledger");
}

#[test]
fn substituted_party_key_is_caught_with_trust() {
    // The provider (who founded the ledger) registers "acme" with a key it controls and
    // signs evidence in acme's name. The ledger is consistent with itself…
    let env = Env::new();
    env.ok(&["keygen", "provider"]);
    env.ok(&["keygen", "customer"]);
    env.ok(&["keygen", "mallory"]);
    env.ok(&[
        "init",
        "--party",
        "cloudtemple",
        "--name",
        "Cloud Temple",
        "--role",
        "provider",
        "--key",
        "provider",
    ]);
    env.ok(&[
        "party",
        "add",
        "acme",
        "--name",
        "Acme",
        "--role",
        "customer",
        "--pubkey",
        "keys/mallory.pub",
        "--key",
        "provider",
    ]);
    env.record("keys/mallory.key", "backup.restore-tests");
    let r = env.ok(&["verify"]);
    assert!(r.stdout.contains("self-consistency only"), "{}", r.stdout);
    // …but not with the keys the auditor holds.
    expect_finding(
        &env,
        &[
            "--trust",
            "keys/provider.pub",
            "--trust",
            "keys/customer.pub",
        ],
        2,
        "not among the trusted keys",
    );
    // Pinning the genuine keys of a genuine ledger passes.
    let good = Env::two_parties();
    let r = good.ok(&[
        "verify",
        "--trust",
        "keys/provider.pub",
        "--trust",
        "keys/customer.pub",
    ]);
    assert!(
        r.stdout
            .contains("every party key is one of the 2 pinned key(s)"),
        "{}",
        r.stdout
    );
}

#[test]
fn substituted_key_in_derived_table() {
    let env = ledger();
    exec(
        &env,
        "UPDATE keys SET public_key = 'MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=' WHERE party = 'acme'",
    );
    expect_finding(&env, &[], 2, "keys table row");
}

#[test]
fn edited_artifact_is_caught_with_artifacts() {
    let env = ledger();
    exec(
        &env,
        "UPDATE artifacts SET content = CAST('restore FAILED\n' AS BLOB)",
    );
    env.ok(&["verify"]);
    expect_finding(&env, &["--artifacts"], 4, "stored content does not match");
}

#[test]
fn all_lists_every_problem_in_order() {
    let env = ledger();
    exec(
        &env,
        "UPDATE entries SET signature = zeroblob(64) WHERE seq = 3; UPDATE entries SET time = 'x' WHERE seq = 5;",
    );
    let r = env.run(&["verify", "--all"]);
    assert_eq!(r.code, 1);
    let lines: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("entry "))
        .collect();
    assert!(lines[0].starts_with("entry 3: signature"), "{}", r.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("entry 5: stored time column")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("FAILED: 2 problem(s)"), "{}", r.stdout);
}

#[test]
fn truncation_is_not_visible_without_a_checkpoint() {
    // Documented limit (FORMAT.md §7): deleting the newest entries leaves a valid chain.
    let env = ledger();
    exec(&env, "DELETE FROM entries WHERE seq >= 5");
    let r = env.ok(&["verify"]);
    assert!(r.stdout.contains("ok: 4 entries"), "{}", r.stdout);
}

/// Append a correctly signed entry that breaks a rule of its kind (as a party could with
/// its own key and a modified vouch), then expect verify to report it.
fn forge(env: &Env, key: &str, kind: vouch::format::entry::Kind, payload: Vec<u8>) {
    let k = vouch::crypto::keyfile::load_secret(&env.p(key)).unwrap();
    let mut l =
        vouch::ledger::Ledger::open(&env.p("ledger.db"), vouch::ledger::Access::ReadWrite).unwrap();
    let d = vouch::ledger::Draft {
        kind,
        payload,
        party: None,
        store_artifacts: vec![],
    };
    l.append(&k, vec![d], vouch::clock::now(), &vouch::ledger::NoProgress)
        .unwrap();
}

fn hash_of(env: &Env, seq: u64) -> String {
    let r = env.ok(&["show", &seq.to_string(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    v["hash"].as_str().unwrap().to_string()
}

#[test]
fn kind_rules_are_enforced_by_verify() {
    use vouch::format::payload::{CosignPayload, RetractionPayload, Verdict, encode};
    // A party co-signing its own evidence.
    let env = ledger();
    let p = encode(&CosignPayload {
        entry: 3,
        entry_sha256: hash_of(&env, 3),
        reason: None,
        verdict: Verdict::Ack,
    })
    .unwrap();
    forge(&env, "keys/customer.key", Kind::Cosign, p);
    expect_finding(&env, &[], 7, "co-signs its own entry 3");

    // A co-signature whose hash names another entry.
    let env = ledger();
    let p = encode(&CosignPayload {
        entry: 3,
        entry_sha256: hash_of(&env, 4),
        reason: None,
        verdict: Verdict::Ack,
    })
    .unwrap();
    forge(&env, "keys/provider.key", Kind::Cosign, p);
    expect_finding(&env, &[], 7, "by a hash that is not its hash");

    // An approval by a party that is not an auditor.
    let env = ledger();
    let p = encode(&CosignPayload {
        entry: 3,
        entry_sha256: hash_of(&env, 3),
        reason: None,
        verdict: Verdict::Approve,
    })
    .unwrap();
    forge(&env, "keys/provider.key", Kind::Cosign, p);
    expect_finding(&env, &[], 7, "not an auditor");

    // The provider retracting the customer's evidence.
    let env = ledger();
    let p = encode(&RetractionPayload {
        entry: 4,
        entry_sha256: hash_of(&env, 4),
        reason: "x".into(),
    })
    .unwrap();
    forge(&env, "keys/provider.key", Kind::Retraction, p);
    expect_finding(&env, &[], 7, "retracts entry 4, which \"acme\" signed");

    // A reference to a later entry.
    let env = ledger();
    let p = encode(&RetractionPayload {
        entry: 9,
        entry_sha256: "00".repeat(32),
        reason: "x".into(),
    })
    .unwrap();
    forge(&env, "keys/customer.key", Kind::Retraction, p);
    expect_finding(&env, &[], 7, "not an earlier entry");
}

/// Issue 10 item 5: rules the verifier did not enforce, each with a crafted entry signed by
/// a real key (as a party could with a modified vouch).
#[test]
fn reference_rules_of_cosign_retraction_and_delegation_are_enforced_by_verify() {
    use vouch::format::payload::{
        CosignPayload, DelegationPayload, RetractionPayload, Verdict, encode,
    };
    let cosign = |env: &Env, entry: u64, verdict: Verdict| {
        encode(&CosignPayload {
            entry,
            entry_sha256: hash_of(env, entry),
            reason: Some("no".into()),
            verdict,
        })
        .unwrap()
    };
    let retraction = |env: &Env, entry: u64| {
        encode(&RetractionPayload {
            entry,
            entry_sha256: hash_of(env, entry),
            reason: "x".into(),
        })
        .unwrap()
    };
    // Disputing a retraction.
    let env = ledger();
    env.ok(&[
        "retract",
        "3",
        "--reason",
        "wrong item",
        "--key",
        "keys/customer.key",
    ]); // 7
    forge(
        &env,
        "keys/provider.key",
        Kind::Cosign,
        cosign(&env, 7, Verdict::Dispute),
    );
    expect_finding(&env, &[], 8, "co-signs a retraction entry");
    // Retracting a retraction.
    let env = ledger();
    env.ok(&[
        "retract",
        "3",
        "--reason",
        "wrong item",
        "--key",
        "keys/customer.key",
    ]); // 7
    forge(
        &env,
        "keys/customer.key",
        Kind::Retraction,
        retraction(&env, 7),
    );
    expect_finding(&env, &[], 8, "retracts a retraction entry");
    // Co-signing genesis.
    let env = ledger();
    forge(
        &env,
        "keys/customer.key",
        Kind::Cosign,
        cosign(&env, 1, Verdict::Ack),
    );
    expect_finding(&env, &[], 7, "co-signs a genesis entry");
    // Retracting a key revocation.
    let env = ledger();
    env.ok(&["keygen", "customer2"]);
    env.ok(&[
        "key",
        "rotate",
        "--key",
        "keys/customer.key",
        "--new",
        "customer2",
    ]); // 7
    let old = vouch::crypto::keyfile::load_public(&env.p("keys/customer.pub"))
        .unwrap()
        .fingerprint()
        .to_string();
    env.ok(&[
        "key",
        "revoke",
        &old,
        "--since",
        "2026-12-01",
        "--reason",
        "lost",
        "--key",
        "keys/customer2.key",
    ]); // 8
    forge(
        &env,
        "keys/customer2.key",
        Kind::Retraction,
        retraction(&env, 8),
    );
    expect_finding(&env, &[], 9, "retracts a key-revocation entry");
    // Delegating to oneself.
    let env = ledger();
    let p = encode(&DelegationPayload {
        item: "backup.restore-tests".into(),
        to: "acme".into(),
        note: None,
    })
    .unwrap();
    forge(&env, "keys/customer.key", Kind::Delegation, p);
    expect_finding(&env, &[], 7, "delegates backup.restore-tests to itself");
}

/// Issue 10 item 5: `verify` recomputes the attestation each sign-off claims, and refuses a
/// sign-off by a party the adoption does not bind.
#[test]
fn signoffs_are_recomputed_and_their_signers_checked_by_verify() {
    use vouch::format::payload::{PeriodRef, SignoffPayload, encode};
    let signoff = |digest: String, head: u64| {
        encode(&SignoffPayload {
            digest,
            head,
            period: PeriodRef {
                from: "2026-07-01".into(),
                to: "2026-09-30".into(),
            },
        })
        .unwrap()
    };
    // A real sign-off verifies; one with an arbitrary digest does not.
    let env = Env::adopted(); // entries 1-4
    env.ok(&[
        "attest", "--period", "2026-Q3", "--key", "provider", "--yes",
    ]); // 5
    env.ok(&["verify"]);
    forge(
        &env,
        "keys/customer.key",
        Kind::Signoff,
        signoff("ab".repeat(32), 4),
    );
    expect_finding(&env, &[], 6, &format!("signs digest {}", "ab".repeat(32)));
    // A sign-off by a registered party the adoption does not bind (a third party).
    let env = Env::adopted();
    env.ok(&["keygen", "msp"]);
    env.ok(&[
        "party",
        "add",
        "orbit",
        "--name",
        "Orbit MSP",
        "--role",
        "third-party",
        "--pubkey",
        "keys/msp.pub",
        "--key",
        "provider",
    ]); // 5
    let r = env.ok(&["attest", "--period", "2026-Q3", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let digest = v["digest"].as_str().unwrap().to_string();
    let head = v["head"]["seq"].as_u64().unwrap();
    forge(&env, "keys/msp.key", Kind::Signoff, signoff(digest, head));
    expect_finding(
        &env,
        &[],
        6,
        "signed off by \"orbit\", which the adoption in force",
    );
}
