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
        version: vouch::format::entry::Version::CURRENT,
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
        "--new-key",
        "keys/mallory.key",
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
            signatory: None,
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
        "--new-key",
        "keys/msp.key",
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

// ---- Issue 11 item 1: the indexes readers search through ------------------------------------
//
// `status`, `attest` and `report` find co-signatures, retractions, waivers, delegations,
// revocations and sign-offs by searching the `entries_kind` index, and SQLite trusts both
// the index's content and its definition in `sqlite_master`. Each test below first shows
// that the change hides a real dispute or retraction from `status` (or, where it cannot,
// says why), then that `verify` names it and `report` refuses the ledger.

/// [`ledger`], then the Cloud Temple matrix adopted (7) and acknowledged (8), then entry 9:
/// the provider disputes entry 4 (the customer's restore test), or with `retract` the
/// customer retracts it.
fn contested(retract: bool) -> Env {
    let env = ledger();
    env.ok(&[
        "matrix",
        "adopt",
        crate::util::CT,
        "--bind",
        "provider=cloudtemple",
        "--bind",
        "customer=acme",
        "--key",
        "keys/provider.key",
    ]);
    env.ok(&["cosign", "7", "--ack", "--key", "keys/customer.key"]);
    let r = if retract {
        env.ok(&[
            "retract",
            "4",
            "--reason",
            "wrong backup",
            "--key",
            "keys/customer.key",
            "--yes",
        ])
    } else {
        env.ok(&[
            "cosign",
            "4",
            "--dispute",
            "the log shows a failed restore",
            "--key",
            "keys/provider.key",
        ])
    };
    assert!(r.stdout.starts_with("entry 9: "), "{}", r.stdout);
    assert_eq!(restore_tests_status(&env), contested_status(retract));
    env
}

/// What `status` says of backup.restore-tests once entry 4 is contested.
fn contested_status(retract: bool) -> &'static str {
    if retract { "missing" } else { "disputed" }
}

/// The status word of backup.restore-tests in `status --period 2026-Q3` (entry 4 alone
/// fulfils it, unless disputed or retracted).
fn restore_tests_status(env: &Env) -> String {
    let r = env.ok(&["status", "--period", "2026-Q3"]);
    let line = r
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("backup.restore-tests "))
        .unwrap_or_else(|| panic!("no backup.restore-tests line:\n{}", r.stdout));
    line.split_whitespace().nth(3).unwrap_or("").to_string()
}

/// Change the definition of `name` in `sqlite_master`, as `PRAGMA writable_schema` lets
/// anyone with the file do.
fn redefine(env: &Env, name: &str, sql: &str) {
    let c = attacker(&env.p("ledger.db"));
    c.execute_batch("PRAGMA writable_schema = ON").unwrap();
    c.execute(
        "UPDATE sqlite_master SET sql = ?1 WHERE name = ?2",
        params![sql, name],
    )
    .unwrap();
}

/// The definitions the migrations give the two indexes of `entries`.
const KIND_INDEX: &str = "CREATE INDEX entries_kind ON entries (kind, seq)";
const ITEM_INDEX: &str = "CREATE INDEX entries_item ON entries (item) WHERE item IS NOT NULL";

/// `verify` with the parties' keys pinned and the artefacts re-hashed: the strictest.
const STRICT: [&str; 5] = [
    "--trust",
    "keys/provider.pub",
    "--trust",
    "keys/customer.pub",
    "--artifacts",
];

/// `report` refuses the ledger (exit 1, nothing written) and, when allowed, marks it.
fn report_refuses(env: &Env) {
    let r = env.run(&["report", "--period", "2026-Q3", "--format", "md"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("no report"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("# "),
        "a report was printed:\n{}",
        r.stdout
    );
    let r = env.run(&[
        "report",
        "--period",
        "2026-Q3",
        "--format",
        "md",
        "--allow-unverified",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("**UNVERIFIED LEDGER**"), "{}", r.stdout);
}

#[test]
fn kind_index_rebuilt_without_an_entry_hides_it_and_verify_names_it() {
    for retract in [false, true] {
        let env = contested(retract);
        // The index rebuilt without entry 9, then given back its definition: `entries` and
        // the schema text are as they were.
        let before = env.snapshot();
        exec(
            &env,
            "DROP INDEX entries_kind;
             CREATE INDEX entries_kind ON entries (kind, seq) WHERE seq != 9;",
        );
        redefine(&env, "entries_kind", KIND_INDEX);
        assert_eq!(env.snapshot(), before, "the rows did not change");
        assert_eq!(
            restore_tests_status(&env),
            "fulfilled",
            "the attack hides entry 9 from status"
        );
        let kind = if retract { "retraction" } else { "cosign" };
        expect_finding(
            &env,
            &STRICT,
            9,
            &format!("the entries_kind index does not list this entry under its kind \"{kind}\""),
        );
        report_refuses(&env);
        if !retract {
            // The PDF too: none without --allow-unverified, every page stamped with it.
            let r = env.run(&["report", "--period", "2026-Q3", "--out", "q3.pdf"]);
            assert_eq!(r.code, 1, "{}", r.stdout);
            assert!(!env.p("q3.pdf").exists());
            let r = env.run(&[
                "report",
                "--period",
                "2026-Q3",
                "--out",
                "q3.pdf",
                "--allow-unverified",
            ]);
            assert_eq!(r.code, 1, "{}", r.stderr);
            assert!(r.stdout.contains("UNVERIFIED"), "{}", r.stdout);
            assert!(env.p("q3.pdf").exists());
        }
    }
}

#[test]
fn kind_index_listing_an_entry_under_another_kind_is_named() {
    // Entry 9 listed as a waiver instead of a co-signature (an index over an expression,
    // given the plain definition): searches for co-signatures miss it.
    let env = contested(false);
    exec(
        &env,
        "DROP INDEX entries_kind;
         CREATE INDEX entries_kind ON entries
           ((CASE WHEN seq = 9 THEN 'waiver' ELSE kind END), seq);",
    );
    redefine(&env, "entries_kind", KIND_INDEX);
    let r = env.run(&["status", "--period", "2026-Q3"]);
    assert_ne!(r.code, 0, "status reads a co-signature as a waiver");
    let r = env.run(&["verify", "--all"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "entry 9: the entries_kind index does not list this entry under its kind \"cosign\""
        ) && r
            .stdout
            .contains("entry 9: the entries_kind index lists seq 9 under kind \"waiver\": no stored entry matches"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("FAILED: 2 problem(s)"), "{}", r.stdout);
}

#[test]
fn dropped_kind_index_is_a_finding_though_status_then_reads_the_rows() {
    // Without the index, searches by kind read the whole table: nothing is hidden (status
    // still sees the dispute), but the file is no longer as vouch made it.
    let env = contested(false);
    exec(&env, "DROP INDEX entries_kind");
    assert_eq!(restore_tests_status(&env), "disputed");
    expect_finding(
        &env,
        &[],
        0,
        "the entries_kind index is missing (schema version 2 has it)",
    );
    report_refuses(&env);
}

#[test]
fn stale_index_definitions_are_findings() {
    // The partial index of the first test, with a definition that reads as complete but is
    // not the migrations' text.
    let env = contested(true);
    exec(
        &env,
        "DROP INDEX entries_kind;
         CREATE INDEX entries_kind ON entries (kind, seq) WHERE seq != 9;",
    );
    redefine(
        &env,
        "entries_kind",
        "CREATE INDEX entries_kind ON entries(kind,seq)",
    );
    assert_eq!(restore_tests_status(&env), "fulfilled");
    expect_finding(
        &env,
        &[],
        0,
        "the entries_kind index is not as schema version 2 defines it: the file has index \"CREATE INDEX entries_kind ON entries(kind,seq)\"",
    );
    report_refuses(&env);

    // Both indexes intact, their definitions swapped: searches by kind read the item index
    // and find nothing, not even the adoption. Only the definitions say so.
    let env = contested(false);
    redefine(
        &env,
        "entries_item",
        KIND_INDEX.replace("entries_kind", "entries_item").as_str(),
    );
    redefine(
        &env,
        "entries_kind",
        &ITEM_INDEX.replace("entries_item", "entries_kind"),
    );
    let r = env.run(&["status", "--period", "2026-Q3"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("no matrix has been adopted"),
        "{}",
        r.stderr
    );
    let r = env.run(&["verify", "--all"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("entry 0: the entries_item index is not as schema version 1 defines it")
            && r.stdout
                .contains("entry 0: the entries_kind index is not as schema version 2 defines it"),
        "{}",
        r.stdout
    );
    let r = env.run(&["report", "--period", "2026-Q3", "--format", "md"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("no report"), "{}", r.stdout);
    // Allowed, the report cannot be made at all: its searches do not find the adoption.
    let r = env.run(&[
        "report",
        "--period",
        "2026-Q3",
        "--format",
        "md",
        "--allow-unverified",
    ]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("no matrix has been adopted"),
        "{}",
        r.stderr
    );
}

#[test]
fn partial_item_index_is_a_finding() {
    // No reader searches by item today (status, attest and report filter the evidence
    // stream by item), so this hides nothing yet: status still sees the dispute of entry 4.
    // verify reads the item index back all the same, so that a search by item added
    // later cannot be misled by it.
    let env = contested(false);
    exec(
        &env,
        "DROP INDEX entries_item;
         CREATE INDEX entries_item ON entries (item) WHERE item IS NOT NULL AND seq != 4;",
    );
    redefine(&env, "entries_item", ITEM_INDEX);
    assert_eq!(restore_tests_status(&env), "disputed");
    expect_finding(
        &env,
        &[],
        4,
        "the entries_item index does not list this entry under its item \"backup.restore-tests\"",
    );
    report_refuses(&env);
}

#[test]
fn extra_index_is_a_finding() {
    // Another index on (kind, seq), without entry 9, defined as complete: SQLite prefers
    // it for searches by kind. entries_kind itself is whole, so only the layout check
    // (nothing but the migrations' tables and indexes) sees it.
    for retract in [false, true] {
        let env = contested(retract);
        exec(
            &env,
            "CREATE INDEX entries_by_kind ON entries (kind, seq) WHERE seq != 9",
        );
        redefine(
            &env,
            "entries_by_kind",
            "CREATE INDEX entries_by_kind ON entries (kind, seq)",
        );
        assert_eq!(restore_tests_status(&env), "fulfilled");
        let r = env.run(&["verify", "--all"]);
        assert_eq!(r.code, 1, "{}", r.stdout);
        assert!(
            r.stdout.starts_with(
                "entry 0: the file has index entries_by_kind on entries (\"CREATE INDEX entries_by_kind ON entries (kind, seq)\"), which vouch's migrations do not make"
            ),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains("FAILED: 1 problem(s)"), "{}", r.stdout);
        report_refuses(&env);
        // A plain extra index, which hides nothing, is named too.
        let env = contested(retract);
        exec(&env, "CREATE INDEX entries_by_time ON entries (time)");
        assert_eq!(restore_tests_status(&env), contested_status(retract));
        expect_finding(
            &env,
            &[],
            0,
            "the file has index entries_by_time on entries",
        );
    }
}

/// Issue 11 item 5: the adopted matrix's stored size is compared with its content.
#[test]
fn adopted_matrix_stored_size_is_checked() {
    let env = Env::adopted();
    env.ok(&["verify"]);
    exec(&env, "UPDATE artifacts SET size = size + 1000");
    expect_finding(
        &env,
        &[],
        3,
        "stored matrix cloudtemple-vm-instances does not match its signed SHA-256 and size",
    );
}
