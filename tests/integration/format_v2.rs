//! Format v2 (issue 11 item 4, second half; `schema/FORMAT.md` §8, §14.6): a `party` entry
//! carries the registered key's proof of possession. A v1 ledger still verifies under the
//! v1 rules and is upgraded in place by appending v2 entries; versions never decrease; a v2
//! `party` entry without a valid proof is a finding; an unknown version is not read.

use crate::crafted_payloads::{append, append_as};
use crate::util::{Env, attacker};
use serde_json::{Value, json};
use vouch::crypto::{SecretKey, keyfile, sha256};
use vouch::format::entry::{EntryHeader, Kind, LedgerId, Version, format_time, parse_time};
use vouch::format::payload::{Role, encode, encode_proof, party_statement};
use vouch::ledger::{Access, Ledger, NewParty};

fn secret(env: &Env, name: &str) -> SecretKey {
    keyfile::load_secret(&env.p(&format!("keys/{name}.key"))).unwrap()
}

fn ledger_id(env: &Env) -> LedgerId {
    Ledger::open(&env.p("ledger.db"), Access::ReadOnly)
        .unwrap()
        .id()
        .unwrap()
}

/// The exact entry text of entry `seq`.
fn text(env: &Env, seq: u64) -> String {
    let r = env.ok(&["show", &seq.to_string(), "--format", "json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    v["entry"].as_str().unwrap().to_string()
}

/// Verify with `--all` and require exit 1 with a finding `entry SEQ: …WHAT…`.
fn finding(env: &Env, seq: u64, what: &str) {
    let r = env.run(&["verify", "--all"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let want = format!("entry {seq}: ");
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with(&want) && l.contains(what)),
        "no '{want}…{what}…' in:\n{}",
        r.stdout
    );
}

/// A v1 ledger made as vouch wrote them before v2 (the same code, asked for v1 entries):
/// genesis of `cloudtemple`, `acme` registered without a proof.
fn v1_ledger() -> Env {
    let env = Env::new();
    env.ok(&["keygen", "provider"]);
    env.ok(&["keygen", "customer"]);
    let t = parse_time("2026-07-01T08:00:00Z").unwrap();
    let (mut l, _) = Ledger::init_version(
        &env.p("ledger.db"),
        LedgerId([7; 16]),
        &NewParty {
            id: "cloudtemple".into(),
            name: "Cloud Temple".into(),
            role: Role::Provider,
        },
        &secret(&env, "provider"),
        t,
        Version::V1,
    )
    .unwrap();
    l.add_party(
        &NewParty {
            id: "acme".into(),
            name: "Acme".into(),
            role: Role::Customer,
        },
        &secret(&env, "customer"),
        &secret(&env, "provider"),
        t,
    )
    .unwrap();
    env
}

#[test]
fn a_v1_ledger_verifies_and_is_upgraded_in_place() {
    let env = v1_ledger();
    assert!(text(&env, 2).starts_with("vouch/v1 entry\n"));
    let payload = Ledger::open(&env.p("ledger.db"), Access::ReadOnly)
        .unwrap()
        .entry(2)
        .unwrap()
        .unwrap()
        .payload;
    assert!(!String::from_utf8(payload).unwrap().contains("proof"));
    let r = env.ok(&["verify"]);
    assert!(r.stdout.contains("ok: 2 entries"), "{}", r.stdout);

    // Writers append v2 entries to it: evidence, then a party with its proof.
    env.record("keys/customer.key", "guest-os.patching");
    assert!(text(&env, 3).starts_with("vouch/v2 entry\n"));
    env.ok(&["keygen", "orbit"]);
    env.ok(&[
        "party",
        "add",
        "orbit",
        "--name",
        "Orbit MSP",
        "--role",
        "third-party",
        "--new-key",
        "keys/orbit.key",
        "--key",
        "provider",
    ]);
    assert!(text(&env, 4).starts_with("vouch/v2 entry\n"));
    let r = env.ok(&["verify"]);
    assert!(r.stdout.contains("ok: 4 entries"), "{}", r.stdout);

    // Versions never decrease: the writer refuses a v1 entry now…
    let mut l = Ledger::open(&env.p("ledger.db"), Access::ReadWrite).unwrap();
    l.write_version(Version::V1);
    let e = l
        .add_party(
            &NewParty {
                id: "late".into(),
                name: "Late".into(),
                role: Role::Auditor,
            },
            &SecretKey::from_seed(&[5; 32]),
            &secret(&env, "provider"),
            vouch::clock::now(),
        )
        .unwrap_err();
    assert!(e.message().contains("versions never decrease"), "{e:?}");
    drop(l);
    // …and verify reports one that is there anyway.
    let p = encode(&json!({
        "item": "guest-os.patching", "kind": "patch-run", "outcome": "pass",
        "performed_at": "2026-07-01T00:00:00Z",
    }))
    .unwrap();
    let seq = append_as(&env, "customer", Kind::Evidence, p, Some(Version::V1));
    finding(
        &env,
        seq,
        "a vouch/v1 entry after the vouch/v2 entry 3 (§8: the versions of a ledger's entries never decrease)",
    );
}

/// A `party` payload registering `key` as `orbit` (third-party), with `proof`.
fn orbit(key: &SecretKey, proof: Option<String>) -> Vec<u8> {
    let mut v = json!({
        "id": "orbit", "name": "Orbit MSP", "role": "third-party",
        "public_key": key.public().spki_base64(),
    });
    if let Some(p) = proof {
        v["proof"] = json!(p);
    }
    encode(&v).unwrap()
}

/// The proof of `signer` over the party statement of `orbit` with `key` in `ledger`.
fn proof(ledger: &LedgerId, key: &SecretKey, signer: &SecretKey) -> String {
    let s = party_statement(
        ledger,
        "orbit",
        "Orbit MSP",
        Role::ThirdParty,
        &key.public().fingerprint(),
    );
    encode_proof(&signer.sign(s.as_bytes()))
}

#[test]
fn a_party_entry_without_a_valid_proof_is_a_finding() {
    let base = Env::two_parties();
    assert!(text(&base, 2).starts_with("vouch/v2 entry\n"));
    base.ok(&["verify"]);
    let id = ledger_id(&base);
    let victim = SecretKey::from_seed(&[11; 32]);
    let other = SecretKey::from_seed(&[12; 32]);
    let cases = [
        // The lock-out of issue 11: the provider registers a key it does not hold.
        (
            "missing",
            orbit(&victim, None),
            "payload of a vouch/v2 party entry has no proof",
        ),
        (
            "by another key",
            orbit(&victim, Some(proof(&id, &victim, &other))),
            "proof of possession does not verify",
        ),
        (
            "over another ledger id",
            orbit(
                &victim,
                Some(proof(&LedgerId([0xff; 16]), &victim, &victim)),
            ),
            "proof of possession does not verify",
        ),
        (
            "not a signature",
            orbit(&victim, Some("AAAA".into())),
            "proof is not the canonical base64 of a 64-byte signature",
        ),
    ];
    for (name, payload, what) in cases {
        let env = Env::two_parties();
        let seq = append(&env, "provider", Kind::Party, payload);
        eprintln!("case {name}");
        finding(&env, seq, what);
    }
    // The same entry with the key's own proof verifies (rows derived as a writer does).
    let env = Env::two_parties();
    let mut l = Ledger::open(&env.p("ledger.db"), Access::ReadWrite).unwrap();
    let req = vouch::ledger::keys::party_request(
        &ledger_id(&env),
        &NewParty {
            id: "orbit".into(),
            name: "Orbit MSP".into(),
            role: Role::ThirdParty,
        },
        &victim,
    )
    .unwrap();
    l.register(&req, &secret(&env, "provider"), vouch::clock::now())
        .unwrap();
    drop(l);
    env.ok(&["verify"]);
    // A request for another ledger, or edited, is refused by the writer.
    let mut wrong = req.clone();
    wrong.name = "Orbit Holdings".into();
    let env = Env::two_parties();
    let before = env.snapshot();
    let mut l = Ledger::open(&env.p("ledger.db"), Access::ReadWrite).unwrap();
    let e = l
        .register(&wrong, &secret(&env, "provider"), vouch::clock::now())
        .unwrap_err();
    assert!(e.message().contains("does not verify"), "{e:?}");
    drop(l);
    assert_eq!(before, env.snapshot());
}

#[test]
fn a_proof_in_a_v1_party_entry_is_a_finding() {
    let env = v1_ledger();
    let id = ledger_id(&env);
    let k = SecretKey::from_seed(&[13; 32]);
    let seq = append(
        &env,
        "provider",
        Kind::Party,
        orbit(&k, Some(proof(&id, &k, &k))),
    );
    finding(&env, seq, "has a proof member, which is new in vouch/v2");
}

#[test]
fn registration_requests_through_the_cli() {
    let env = Env::two_parties();
    env.ok(&["keygen", "orbit"]);
    let r = env.ok(&[
        "party",
        "request",
        "orbit",
        "--name",
        "Orbit MSP",
        "--role",
        "third-party",
        "--key",
        "keys/orbit.key",
    ]);
    assert!(
        r.stdout
            .starts_with("orbit.request.json: request to register orbit"),
        "{}",
        r.stdout
    );
    // Never overwritten.
    let again = env.fails(&[
        "party",
        "request",
        "orbit",
        "--name",
        "Orbit MSP",
        "--role",
        "third-party",
        "--key",
        "keys/orbit.key",
    ]);
    assert!(
        again.stderr.contains("orbit.request.json"),
        "{}",
        again.stderr
    );
    // A request for another ledger is refused, and nothing is written.
    env.ok(&[
        "party",
        "request",
        "orbit",
        "--name",
        "Orbit MSP",
        "--role",
        "third-party",
        "--key",
        "keys/orbit.key",
        "--ledger-id",
        &"f".repeat(32),
        "--out",
        "other.json",
    ]);
    let before = env.snapshot();
    let r = env.fails(&[
        "party",
        "add",
        "--request",
        "other.json",
        "--key",
        "provider",
    ]);
    assert!(
        r.stderr.contains("proof of possession does not verify"),
        "{}",
        r.stderr
    );
    assert_eq!(before, env.snapshot());
    // A bare public key no longer registers anybody.
    let r = env.fails(&[
        "party",
        "add",
        "orbit",
        "--name",
        "Orbit MSP",
        "--role",
        "third-party",
        "--pubkey",
        "keys/orbit.pub",
        "--key",
        "provider",
    ]);
    assert!(
        r.stderr.contains("the key's holder proves possession"),
        "{}",
        r.stderr
    );
    assert_eq!(before, env.snapshot());
    // The request made for this ledger is appended as it is.
    let r = env.ok(&[
        "party",
        "add",
        "--request",
        "orbit.request.json",
        "--key",
        "provider",
    ]);
    assert!(
        r.stdout
            .starts_with("entry 3: party orbit (third-party) registered"),
        "{}",
        r.stdout
    );
    let stored = Ledger::open(&env.p("ledger.db"), Access::ReadOnly)
        .unwrap()
        .entry(3)
        .unwrap()
        .unwrap()
        .payload;
    let file = std::fs::read(env.p("orbit.request.json")).unwrap();
    assert_eq!([stored.as_slice(), b"\n"].concat(), file);
    env.ok(&["verify"]);
}

#[test]
fn an_entry_of_an_unknown_version_is_not_read() {
    let env = Env::two_parties();
    let k = secret(&env, "customer");
    let c = attacker(&env.p("ledger.db"));
    let body: Vec<u8> = c
        .query_row("SELECT body FROM entries WHERE seq = 2", [], |r| r.get(0))
        .unwrap();
    let tip = EntryHeader::parse(&body).unwrap();
    let payload = br#"{"entry":2,"entry_sha256":"00","verdict":"ack"}"#.to_vec();
    let h = EntryHeader {
        seq: 3,
        prev: sha256(&body),
        kind: Kind::Cosign,
        signer: k.public().fingerprint(),
        payload: sha256(&payload),
        ..tip
    };
    let text = h
        .encode()
        .replacen("vouch/v2 entry", "vouch/v3 entry", 1)
        .into_bytes();
    c.execute(
        "INSERT INTO entries (seq, body, signature, payload, hash, time, kind, signer, item)
         VALUES (3, ?1, ?2, ?3, ?4, ?5, 'cosign', ?6, NULL)",
        rusqlite::params![
            text,
            k.sign(&text).to_vec(),
            payload,
            sha256(&text).to_vec(),
            format_time(&h.time),
            h.signer.to_string(),
        ],
    )
    .unwrap();
    drop(c);
    let r = env.run(&["verify"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .starts_with("entry 3: malformed entry text line 1: first line must be"),
        "{}",
        r.stdout
    );
}
