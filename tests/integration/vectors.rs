//! Golden test vectors for the byte formats v1 and v2 (`schema/FORMAT.md` §9).
//!
//! The vectors in `tests/vectors/` (v1) and `tests/vectors/v2/` are rebuilt here through the
//! real ledger code path (fixed seed keys, fixed times, fixed ledger id; the same thirteen
//! entries, written in each version) and compared byte for byte. Set
//! `VOUCH_BLESS=1` to rewrite them after a deliberate format change (which also needs a
//! new format version, a spec change and a CHANGELOG entry).

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vouch::crypto::{PublicKey, SecretKey, sha256};
use vouch::format::entry::{EntryHeader, LedgerId, Version, parse_time};
use vouch::format::payload::{MatrixRef, Role, Verdict};
use vouch::ledger::Access;
use vouch::ledger::evidence::{self, EvidenceInput};
use vouch::ledger::{Ledger, NewParty, NoProgress};

const LEDGER_ID: &str = "0123456789abcdef0123456789abcdef";
const ARTIFACT: &[u8] =
    b"restore of bk-2026-07-14 complete: 12 GiB in 41 min, checksums verified\n";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Where the vectors of `version` are.
fn dir_of(version: Version) -> PathBuf {
    match version {
        Version::V1 => dir(),
        Version::V2 => dir().join("v2"),
    }
}

fn seed(name: &str) -> [u8; 32] {
    sha256(format!("vouch test vector key: {name}").as_bytes())
}

/// Build the vector ledger through the real code path, its entries written in format
/// `version`; return its entries.
fn build(tmp: &Path, version: Version) -> Vec<vouch::ledger::Entry> {
    let provider = SecretKey::from_seed(&seed("provider"));
    let customer = SecretKey::from_seed(&seed("customer"));
    let path = tmp.join("v.db");
    let (mut l, _) = Ledger::init_version(
        &path,
        LedgerId::parse(LEDGER_ID).unwrap(),
        &NewParty {
            id: "cloudtemple".into(),
            name: "Cloud Temple".into(),
            role: Role::Provider,
        },
        &provider,
        parse_time("2026-07-01T08:00:00Z").unwrap(),
        version,
    )
    .unwrap();
    l.add_party(
        &NewParty {
            id: "acme".into(),
            name: "Acme Retail SA".into(),
            role: Role::Customer,
        },
        &customer,
        &provider,
        parse_time("2026-07-01T08:05:00Z").unwrap(),
    )
    .unwrap();
    let art = tmp.join("restore-2026-07-15.log");
    std::fs::write(&art, ARTIFACT).unwrap();
    let mut fields = BTreeMap::new();
    fields.insert("backup_id".to_string(), json!("bk-2026-07-14"));
    fields.insert("rto_minutes".to_string(), json!(41));
    fields.insert("data_verified".to_string(), json!(true));
    let input = EvidenceInput {
        item: "backup.restore-tests".into(),
        kind: "restore-test".into(),
        outcome: "pass".into(),
        performed_at: "2026-07-15T10:00:00+02:00".into(),
        fields,
        artifacts: vec![art],
        note: Some("quarterly restore test, Zürich site".into()),
        supporting: false,
    };
    let now = parse_time("2026-07-15T09:30:00Z").unwrap();
    let d = evidence::draft(&input, now, false).unwrap();
    l.append(&customer, vec![d], now, &NoProgress).unwrap();
    // Entries 4–9: one of each referring kind.
    let matrix = std::fs::read(dir().join("matrix.toml")).unwrap();
    let mref = MatrixRef {
        effective: "2026-01-01".into(),
        id: "vector-matrix".into(),
        sha256: hex::encode(sha256(&matrix)),
        size: matrix.len() as u64,
        version: "1".into(),
    };
    let bindings = [("customer", "acme"), ("provider", "cloudtemple")]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let t = |s: &str| parse_time(s).unwrap();
    l.adopt(
        &provider,
        mref,
        matrix,
        bindings,
        vec![],
        t("2026-07-16T08:00:00Z"),
    )
    .unwrap();
    l.cosign(&customer, 4, Verdict::Ack, None, t("2026-07-16T09:00:00Z"))
        .unwrap();
    l.cosign(
        &provider,
        3,
        Verdict::Dispute,
        Some("the log does not show the data check".into()),
        t("2026-07-17T10:00:00Z"),
    )
    .unwrap();
    l.waive(
        &customer,
        "backup.snapshots",
        "no manual snapshots: changes go through blue-green deployment".into(),
        t("2026-07-18T10:00:00Z"),
    )
    .unwrap();
    l.delegate(
        &customer,
        "backup.restore-tests",
        "cloudtemple",
        Some("managed backup option, order 4471".into()),
        t("2026-07-19T10:00:00Z"),
    )
    .unwrap();
    l.retract(
        &customer,
        7,
        "the waiver needs the provider's review first".into(),
        t("2026-07-20T10:00:00Z"),
    )
    .unwrap();
    let q3 = vouch::period::Period::parse("2026-Q3").unwrap();
    vouch::attestation::attest::sign(&mut l, &provider, &q3, t("2026-10-01T10:00:00Z")).unwrap();
    // Entries 11–13: the provider's checkpoint of entries 1–10; acme rotates to a new key,
    // then revokes its old one from 2026-07-20 (FORMAT.md §13.6, §14).
    l.checkpoint(&provider, t("2026-10-02T10:00:00Z")).unwrap();
    let customer2 = SecretKey::from_seed(&seed("customer-2"));
    l.rotate_key(&customer, &customer2, t("2026-10-03T10:00:00Z"))
        .unwrap();
    l.revoke_key(
        &customer2,
        &customer.public().fingerprint(),
        t("2026-07-20T00:00:00Z"),
        "laptop with the key lost on 2026-07-20".into(),
        t("2026-10-04T10:00:00Z"),
    )
    .unwrap();
    drop(l);
    let l = Ledger::open(&path, Access::ReadOnly).unwrap();
    (1..=13).map(|s| l.entry(s).unwrap().unwrap()).collect()
}

fn expected(tmp: &Path, version: Version) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let entries = build(tmp, version);
    let mut list = Vec::new();
    for e in &entries {
        let s = e.header.seq;
        files.insert(format!("entry-{s}.txt"), e.body.clone());
        files.insert(format!("entry-{s}.sig"), e.signature.clone());
        files.insert(format!("payload-{s}.json"), e.payload.clone());
        list.push(json!({
            "seq": s,
            "entry": String::from_utf8(e.body.clone()).unwrap(),
            "entry_sha256": hex::encode(sha256(&e.body)),
            "signature": hex::encode(&e.signature),
            "payload": String::from_utf8(e.payload.clone()).unwrap(),
            "payload_sha256": hex::encode(sha256(&e.payload)),
        }));
    }
    let mut keys = serde_json::Map::new();
    for name in ["provider", "customer", "customer-2"] {
        let k = SecretKey::from_seed(&seed(name));
        files.insert(format!("{name}.pub"), k.public().to_pem().into_bytes());
        keys.insert(
            name.into(),
            json!({
                "seed": hex::encode(seed(name)),
                "public_key_spki_base64": k.public().spki_base64(),
                "fingerprint": k.public().fingerprint().to_string(),
            }),
        );
    }
    files.insert("artifact-restore-2026-07-15.log".into(), ARTIFACT.to_vec());
    let mut doc = json!({
        "format": version.as_str(),
        "comment": "Generated by tests/integration/vectors.rs; see schema/FORMAT.md section 9. The seeds are public test keys: never use them for anything else.",
        "ledger_id": LEDGER_ID,
        "keys": Value::Object(keys),
        "entries": list,
    });
    if version >= Version::V2 {
        // The party statement entry 2's proof signs (FORMAT.md §14.6), and the proof, raw,
        // as `openssl pkeyutl -verify -rawin -in statement-2.txt -sigfile proof-2.sig` reads them.
        let p: vouch::format::payload::PartyPayload =
            serde_json::from_slice(&entries[1].payload).unwrap();
        let customer = SecretKey::from_seed(&seed("customer"));
        let statement = vouch::format::payload::party_statement(
            &LedgerId::parse(LEDGER_ID).unwrap(),
            &p.id,
            &p.name,
            p.role,
            &customer.public().fingerprint(),
        );
        let proof = vouch::format::payload::decode_proof(p.proof.as_deref().unwrap()).unwrap();
        files.insert("statement-2.txt".into(), statement.clone().into_bytes());
        files.insert("proof-2.sig".into(), proof.to_vec());
        files.insert(
            "matrix.toml".into(),
            std::fs::read(dir().join("matrix.toml")).unwrap(),
        );
        doc["party_statements"] =
            json!([{"seq": 2, "statement": statement, "proof": hex::encode(proof)}]);
    }
    files.insert(
        format!("v{}.json", version.as_str().trim_start_matches("vouch/v")),
        (serde_json::to_string_pretty(&doc).unwrap() + "\n").into_bytes(),
    );
    files
}

fn match_byte_for_byte(version: Version) {
    let tmp = tempfile::tempdir().unwrap();
    let files = expected(tmp.path(), version);
    let dir = dir_of(version);
    if std::env::var_os("VOUCH_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    for (name, bytes) in &files {
        let got = std::fs::read(dir.join(name))
            .unwrap_or_else(|_| panic!("{}/{name} missing", dir.display()));
        assert!(
            got == *bytes,
            "{}/{name} differs from what the code produces",
            dir.display()
        );
    }
}

#[test]
fn vectors_match_byte_for_byte() {
    match_byte_for_byte(Version::V1);
}

#[test]
fn v2_vectors_match_byte_for_byte() {
    match_byte_for_byte(Version::V2);
}

#[test]
fn vectors_verify_independently_of_the_ledger() {
    verify_independently(Version::V1);
}

#[test]
fn v2_vectors_verify_independently_of_the_ledger() {
    verify_independently(Version::V2);
    // The party proof: the registered key's signature over the statement, which is spelt
    // as FORMAT.md §14.6 says.
    let dir = dir_of(Version::V2);
    let statement = std::fs::read_to_string(dir.join("statement-2.txt")).unwrap();
    let customer =
        PublicKey::from_pem(&std::fs::read_to_string(dir.join("customer.pub")).unwrap()).unwrap();
    assert_eq!(
        statement,
        format!(
            "vouch/v2 party\nledger: {LEDGER_ID}\nparty: acme\nname: Acme Retail SA\nrole: customer\nkey: {}\n",
            customer.fingerprint()
        )
    );
    let proof: [u8; 64] = std::fs::read(dir.join("proof-2.sig"))
        .unwrap()
        .try_into()
        .unwrap();
    assert!(customer.verify(statement.as_bytes(), &proof));
    let payload: Value =
        serde_json::from_slice(&std::fs::read(dir.join("payload-2.json")).unwrap()).unwrap();
    assert_eq!(
        payload["proof"].as_str().unwrap(),
        vouch::crypto::base64_encode(&proof)
    );
    // Over another ledger id, or by another key, it does not verify.
    let other = statement.replace(LEDGER_ID, &"f".repeat(32));
    assert!(!customer.verify(other.as_bytes(), &proof));
    let provider = SecretKey::from_seed(&seed("provider"));
    assert!(!provider.public().verify(statement.as_bytes(), &proof));
}

/// Check the committed files of `version` with nothing but the format rules.
fn verify_independently(version: Version) {
    let dir = dir_of(version);
    let name = format!("v{}.json", version.as_str().trim_start_matches("vouch/v"));
    let v: Value = serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap();
    let mut prev = [0u8; 32];
    let signer_of = |s: u64| match s {
        1 | 2 | 4 | 6 | 10 | 11 => "provider",
        13 => "customer-2",
        _ => "customer",
    };
    for e in v["entries"].as_array().unwrap() {
        let s = e["seq"].as_u64().unwrap();
        let body = std::fs::read(dir.join(format!("entry-{s}.txt"))).unwrap();
        let sig = std::fs::read(dir.join(format!("entry-{s}.sig"))).unwrap();
        let payload = std::fs::read(dir.join(format!("payload-{s}.json"))).unwrap();
        let h = EntryHeader::parse(&body).unwrap();
        assert_eq!(h.version, version);
        assert!(body.starts_with(format!("{} entry\n", version.as_str()).as_bytes()));
        assert_eq!(h.seq, s);
        assert_eq!(h.prev, prev);
        assert_eq!(h.payload, sha256(&payload));
        let pem = std::fs::read_to_string(dir.join(format!("{}.pub", signer_of(s)))).unwrap();
        let key = PublicKey::from_pem(&pem).unwrap();
        assert_eq!(h.signer, key.fingerprint());
        assert!(key.verify(&body, &sig));
        assert_eq!(
            hex::encode(sha256(&body)),
            e["entry_sha256"].as_str().unwrap()
        );
        prev = sha256(&body);
    }
}

#[test]
fn altered_vectors_fail_by_kind() {
    let body = std::fs::read_to_string(dir().join("entry-3.txt")).unwrap();
    let sig = std::fs::read(dir().join("entry-3.sig")).unwrap();
    let key =
        PublicKey::from_pem(&std::fs::read_to_string(dir().join("customer.pub")).unwrap()).unwrap();
    // Malformed spellings do not parse at all.
    for bad in [
        body.replace('\n', "\r\n"),
        body.replacen("seq: 3", "seq: 03", 1),
        body.replacen("seq: 3", "seq:  3", 1),
        body.to_uppercase(),
        body.trim_end().to_string(),
        body.replacen("kind: evidence", "kind: Evidence", 1),
        format!("{body}note: x\n"),
    ] {
        assert!(
            EntryHeader::parse(bad.as_bytes()).is_err(),
            "parsed: {bad:?}"
        );
    }
    // Well-formed but changed text fails the signature.
    let changed = body.replacen(
        "time: 2026-07-15T09:30:00Z",
        "time: 2026-07-15T09:30:01Z",
        1,
    );
    assert!(EntryHeader::parse(changed.as_bytes()).is_ok());
    assert!(!key.verify(changed.as_bytes(), &sig));
    // A signature by another key fails.
    let provider = SecretKey::from_seed(&seed("provider"));
    assert!(!key.verify(body.as_bytes(), &provider.sign(body.as_bytes())));
}
