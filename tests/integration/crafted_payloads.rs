//! Issue 11 item 3: every payload rule of `schema/FORMAT.md` §1 and §4 is checked by
//! `vouch verify`, not only by the writers. Each case appends, to a real ledger built by the
//! binary, an entry whose payload breaks one rule, validly signed with a party's real key
//! file (as a party running a modified vouch could), and asserts that `vouch verify` exits 1
//! naming that entry and the rule.

use crate::util::{Env, attacker};
use serde_json::{Value, json};
use vouch::crypto::{keyfile, sha256};
use vouch::format::entry::{EntryHeader, Kind, Version, format_time};
use vouch::ledger::{Access, Ledger};

/// The adopted two-party ledger (entries 1–4) of [`Env::adopted`]; each case copies it.
fn base() -> Env {
    let env = Env::adopted();
    env.ok(&["verify"]);
    env
}

/// A fresh copy of `base` (the ledger file and the keys).
fn copy(base: &Env) -> Env {
    let env = Env::new();
    std::fs::copy(base.p("ledger.db"), env.p("ledger.db")).unwrap();
    std::fs::create_dir(env.p("keys")).unwrap();
    for f in std::fs::read_dir(base.p("keys")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), env.p("keys").join(f.file_name())).unwrap();
    }
    env
}

/// Append `payload` as a `kind` entry signed with `keys/<key>.key`, one second after the
/// newest entry, by writing its row directly (as a party holding its key and the file could:
/// the writer would refuse some of these payloads). Derived columns are set as a writer sets
/// them. Returns its seq.
pub fn append(env: &Env, key: &str, kind: Kind, payload: Vec<u8>) -> u64 {
    append_as(env, key, kind, payload, None)
}

/// [`append`], with the entry text's format version given (`None`: the tip's).
pub fn append_as(
    env: &Env,
    key: &str,
    kind: Kind,
    payload: Vec<u8>,
    version: Option<Version>,
) -> u64 {
    let k = keyfile::load_secret(&env.p(&format!("keys/{key}.key"))).unwrap();
    let c = attacker(&env.p("ledger.db"));
    let body: Vec<u8> = c
        .query_row(
            "SELECT body FROM entries ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let tip = EntryHeader::parse(&body).unwrap();
    let h = EntryHeader {
        version: version.unwrap_or(tip.version),
        ledger: tip.ledger,
        seq: tip.seq + 1,
        prev: sha256(&body),
        time: tip.time + chrono::Duration::seconds(1),
        kind,
        signer: k.public().fingerprint(),
        payload: sha256(&payload),
    };
    let item = matches!(kind, Kind::Evidence | Kind::Waiver | Kind::Delegation)
        .then(|| serde_json::from_slice::<Value>(&payload).ok())
        .flatten()
        .and_then(|v| v["item"].as_str().map(str::to_string));
    let text = h.encode().into_bytes();
    c.execute(
        "INSERT INTO entries (seq, body, signature, payload, hash, time, kind, signer, item)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        rusqlite::params![
            i64::try_from(h.seq).unwrap(),
            text,
            k.sign(&text).to_vec(),
            payload,
            sha256(&text).to_vec(),
            format_time(&h.time),
            kind.as_str(),
            h.signer.to_string(),
            item,
        ],
    )
    .unwrap();
    h.seq
}

/// A valid `patch-run` evidence payload of the customer, as a JSON value.
fn evidence() -> Value {
    json!({
        "fields": {"failed": 0, "hosts": 12, "patches_applied": 40},
        "item": "guest-os.patching",
        "kind": "patch-run",
        "outcome": "pass",
        "performed_at": "2026-07-01T00:00:00Z",
    })
}

fn canonical(v: &Value) -> Vec<u8> {
    vouch::format::payload::encode(v).unwrap()
}

/// `evidence()` with `f` applied, canonically encoded.
fn ev(f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = evidence();
    f(&mut v);
    canonical(&v)
}

/// The adoption payload of entry 3 with `f` applied, canonically encoded.
fn adoption(env: &Env, f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let l = Ledger::open(&env.p("ledger.db"), Access::ReadOnly).unwrap();
    let e = l.entry(3).unwrap().unwrap();
    let mut v: Value = serde_json::from_slice(&e.payload).unwrap();
    f(&mut v);
    canonical(&v)
}

/// The entry hash of entry `seq`, lowercase hex.
fn entry_hash(env: &Env, seq: u64) -> String {
    let l = Ledger::open(&env.p("ledger.db"), Access::ReadOnly).unwrap();
    hex::encode(sha256(&l.entry(seq).unwrap().unwrap().body))
}

/// A `party` payload registering a fresh key under `id`, `name`, `role`.
fn party(id: &str, name: &str, role: &str) -> Vec<u8> {
    let key = vouch::crypto::SecretKey::from_seed(&[42; 32]);
    canonical(&json!({
        "id": id, "name": name, "role": role,
        "public_key": key.public().spki_base64(),
    }))
}

/// One crafted entry: who signs it, its kind, its payload, and the words
/// the finding must contain.
struct Case {
    name: &'static str,
    key: &'static str,
    kind: Kind,
    payload: Vec<u8>,
    finding: &'static str,
}

fn case(name: &'static str, kind: Kind, payload: Vec<u8>, finding: &'static str) -> Case {
    let key = match kind {
        Kind::Adoption | Kind::Party => "provider",
        _ => "customer",
    };
    Case {
        name,
        key,
        kind,
        payload,
        finding,
    }
}

/// Replace the first `from` in the canonical evidence payload by `to` (spellings that a
/// canonical encoder cannot produce).
fn ev_raw(from: &str, to: &str) -> Vec<u8> {
    let s = String::from_utf8(canonical(&evidence())).unwrap();
    assert!(s.contains(from), "{s} has no {from}");
    s.replacen(from, to, 1).into_bytes()
}

fn cases(env: &Env) -> Vec<Case> {
    let h = "ab".repeat(32);
    let mut v = vec![
        // §1, §4: one spelling of every value.
        case(
            "number spelt 7.0",
            Kind::Evidence,
            ev_raw("\"hosts\":12", "\"hosts\":7.0"),
            "not in canonical form",
        ),
        case(
            "number spelt 1e-6",
            Kind::Evidence,
            ev_raw("\"hosts\":12", "\"hosts\":1e-6"),
            "not in canonical form",
        ),
        case(
            "note null",
            Kind::Evidence,
            ev_raw("\"outcome\"", "\"note\":null,\"outcome\""),
            "null member",
        ),
        case(
            "supporting false",
            Kind::Evidence,
            ev_raw("\"}", "\",\"supporting\":false}"),
            "default value of an optional member",
        ),
        case(
            "empty artifacts list",
            Kind::Evidence,
            ev_raw("{\"fields\"", "{\"artifacts\":[],\"fields\""),
            "default value of an optional member",
        ),
        case(
            "members out of order",
            Kind::Evidence,
            ev_raw(
                "\"item\":\"guest-os.patching\",\"kind\":\"patch-run\"",
                "\"kind\":\"patch-run\",\"item\":\"guest-os.patching\"",
            ),
            "not in canonical form",
        ),
        case(
            "unknown member",
            Kind::Evidence,
            ev(|v| v["zzz"] = json!(1)),
            "does not match its kind",
        ),
        case(
            "integer beyond 2^53",
            Kind::Evidence,
            ev_raw("\"hosts\":12", "\"hosts\":9007199254740993"),
            "too large",
        ),
        // §4 evidence.
        case(
            "performed_at as a bare date",
            Kind::Evidence,
            ev(|v| v["performed_at"] = json!("2026-07-01")),
            "performed_at \"2026-07-01\" is not a time",
        ),
        case(
            "item with TAB",
            Kind::Evidence,
            ev(|v| v["item"] = json!("guest-os\tpatching")),
            "item contains a control character",
        ),
        case(
            "item with LF",
            Kind::Evidence,
            ev(|v| v["item"] = json!("guest-os\npatching")),
            "item contains a control character",
        ),
        case(
            "item of 300 bytes",
            Kind::Evidence,
            ev(|v| v["item"] = json!("i".repeat(300))),
            "item is longer than 200 bytes",
        ),
        case(
            "field name Hosts",
            Kind::Evidence,
            ev(|v| v["fields"]["Hosts"] = json!(1)),
            "invalid field name \"Hosts\"",
        ),
        case(
            "object field value",
            Kind::Evidence,
            ev(|v| v["fields"]["x_obj"] = json!({"a": 1})),
            "field x_obj: value is not allowed",
        ),
        case(
            "array-of-number field value",
            Kind::Evidence,
            ev(|v| v["fields"]["x_list"] = json!([1, 2])),
            "field x_list: value is a list of non-strings",
        ),
        case(
            "field text with a control character",
            Kind::Evidence,
            ev(|v| v["fields"]["x_text"] = json!("a\u{7}b")),
            "field x_text: value contains control characters",
        ),
        case(
            "uppercase hex artefact hash",
            Kind::Evidence,
            ev(
                |v| v["artifacts"] = json!([{"name": "run.log", "sha256": "AB".repeat(32), "size": 3, "stored": false}]),
            ),
            "is not 64 lowercase hex digits",
        ),
        case(
            "artefact name with a slash",
            Kind::Evidence,
            ev(|v| {
                v["artifacts"] =
                    json!([{"name": "logs/run.log", "sha256": h, "size": 3, "stored": false}])
            }),
            "artefact name \"logs/run.log\" contains '/'",
        ),
        case(
            "note of 9,000 bytes",
            Kind::Evidence,
            ev(|v| v["note"] = json!("n".repeat(9000))),
            "note is 9000 bytes, longer than 8192",
        ),
        case(
            "kind Patch_Run",
            Kind::Evidence,
            ev(|v| v["kind"] = json!("Patch_Run")),
            "invalid evidence kind \"Patch_Run\"",
        ),
        case(
            "unknown outcome",
            Kind::Evidence,
            ev(|v| v["outcome"] = json!("ok")),
            "does not match its kind",
        ),
        case(
            "performed_at after the ledger time",
            Kind::Evidence,
            ev(|v| v["performed_at"] = json!("2099-01-01T00:00:00Z")),
            "performed_at 2099-01-01T00:00:00Z is after the ledger time",
        ),
        // §4 genesis and party.
        case(
            "party name with TAB",
            Kind::Party,
            party("orbit", "Orbit\tMSP", "third-party"),
            "party name contains a control character",
        ),
        case(
            "party name with LF",
            Kind::Party,
            party("orbit", "Orbit\nMSP", "third-party"),
            "party name contains a control character",
        ),
        case(
            "party name of 300 bytes",
            Kind::Party,
            party("orbit", &"o".repeat(300), "third-party"),
            "party name is longer than 200 bytes",
        ),
        case(
            "party id with uppercase",
            Kind::Party,
            party("Orbit", "Orbit MSP", "third-party"),
            "invalid party id \"Orbit\"",
        ),
        case(
            "unknown role",
            Kind::Party,
            party("orbit", "Orbit MSP", "msp"),
            "does not match its kind",
        ),
        // §4 adoption.
        case(
            "adoption matrix id differs from the file",
            Kind::Adoption,
            adoption(env, |v| v["matrix"]["id"] = json!("other-matrix")),
            "matrix id \"other-matrix\", the adopted file says \"cloudtemple-vm-instances\"",
        ),
        case(
            "adoption matrix version differs from the file",
            Kind::Adoption,
            adoption(env, |v| v["matrix"]["version"] = json!("2")),
            "matrix version \"2\", the adopted file says \"1\"",
        ),
        case(
            "adoption of an unknown variant",
            Kind::Adoption,
            adoption(env, |v| v["variants"] = json!(["gold-support"])),
            "variant \"gold-support\", which matrix cloudtemple-vm-instances does not have",
        ),
        case(
            "adoption effective date misspelt",
            Kind::Adoption,
            adoption(env, |v| v["matrix"]["effective"] = json!("2026-1-1")),
            "matrix effective \"2026-1-1\" is not a date",
        ),
        case(
            "adoption binding the auditor role",
            Kind::Adoption,
            adoption(env, |v| v["bindings"]["auditor"] = json!("acme")),
            "binds \"auditor\", which is not a matrix role",
        ),
        case(
            "adoption leaving a role unbound",
            Kind::Adoption,
            adoption(env, |v| {
                v["bindings"].as_object_mut().unwrap().remove("customer");
            }),
            "every role of the matrix is bound",
        ),
        case(
            "adoption with a variant twice",
            Kind::Adoption,
            adoption(env, |v| v["variants"] = json!(["x", "x"])),
            "selects variant \"x\" twice",
        ),
        case(
            "adoption with uppercase hex",
            Kind::Adoption,
            adoption(env, |v| {
                let s = v["matrix"]["sha256"].as_str().unwrap().to_uppercase();
                v["matrix"]["sha256"] = json!(s);
            }),
            "matrix sha256",
        ),
        // §4 cosign, retraction, waiver, delegation, signoff.
        case(
            "cosign hash in uppercase hex",
            Kind::Cosign,
            canonical(&json!({"entry": 3, "entry_sha256": "AB".repeat(32), "verdict": "ack"})),
            "entry_sha256",
        ),
        case(
            "cosign reason with a control character",
            Kind::Cosign,
            canonical(
                &json!({"entry": 3, "entry_sha256": h, "reason": "a\u{1b}b", "verdict": "dispute"}),
            ),
            "reason contains control characters",
        ),
        case(
            "retraction without a reason",
            Kind::Retraction,
            canonical(&json!({"entry": 4, "entry_sha256": h, "reason": " "})),
            "reason is empty",
        ),
        case(
            "waiver reason of 5,000 bytes",
            Kind::Waiver,
            canonical(&json!({"item": "guest-os.patching", "reason": "r".repeat(5000)})),
            "reason is 5000 bytes, longer than 4096",
        ),
        case(
            "waiver item with LF",
            Kind::Waiver,
            canonical(&json!({"item": "guest-os\npatching", "reason": "n/a"})),
            "item contains a control character",
        ),
        case(
            "delegation to a malformed party id",
            Kind::Delegation,
            canonical(&json!({"item": "guest-os.patching", "to": "Cloud Temple"})),
            "invalid party id \"Cloud Temple\"",
        ),
        case(
            "signoff digest in uppercase hex",
            Kind::Signoff,
            canonical(
                &json!({"digest": "AB".repeat(32), "head": 4, "period": {"from": "2026-07-01", "to": "2026-09-30"}}),
            ),
            "digest",
        ),
        case(
            "signoff period misspelt",
            Kind::Signoff,
            canonical(
                &json!({"digest": h, "head": 4, "period": {"from": "2026-7-01", "to": "2026-09-30"}}),
            ),
            "period from \"2026-7-01\" is not a date",
        ),
        case(
            "signoff period backwards",
            Kind::Signoff,
            canonical(
                &json!({"digest": h, "head": 4, "period": {"from": "2026-09-30", "to": "2026-07-01"}}),
            ),
            "period from 2026-09-30 is after its to 2026-07-01",
        ),
        // §4 adoption services, signoff signatory, response (format v2).
        case(
            "adoption of an unknown service",
            Kind::Adoption,
            adoption(env, |v| v["services"] = json!(["gpu"])),
            "service \"gpu\", which matrix cloudtemple-vm-instances does not have",
        ),
        case(
            "adoption services unsorted",
            Kind::Adoption,
            adoption(env, |v| v["services"] = json!(["vps", "db"])),
            "services are not sorted",
        ),
        case(
            "adoption service twice",
            Kind::Adoption,
            adoption(env, |v| v["services"] = json!(["vps", "vps"])),
            "services names \"vps\" twice",
        ),
        case(
            "signoff signatory with LF",
            Kind::Signoff,
            canonical(
                &json!({"digest": h, "head": 4, "period": {"from": "2026-07-01", "to": "2026-09-30"}, "signatory": "Jane Roe\nCISO"}),
            ),
            "signatory contains a control character",
        ),
        case(
            "signoff signatory of 300 bytes",
            Kind::Signoff,
            canonical(
                &json!({"digest": h, "head": 4, "period": {"from": "2026-07-01", "to": "2026-09-30"}, "signatory": "j".repeat(300)}),
            ),
            "signatory is longer than 200 bytes",
        ),
        case(
            "response with an empty text",
            Kind::Response,
            canonical(&json!({"entry": 3, "entry_sha256": entry_hash(env, 3), "text": " "})),
            "text is empty",
        ),
        case(
            "response text of 9,000 bytes",
            Kind::Response,
            canonical(
                &json!({"entry": 3, "entry_sha256": entry_hash(env, 3), "text": "t".repeat(9000)}),
            ),
            "text is 9000 bytes, longer than 8192",
        ),
        case(
            "response naming an entry and an item",
            Kind::Response,
            canonical(
                &json!({"entry": 3, "entry_sha256": h, "item": "guest-os.patching", "period": {"from": "2026-07-01", "to": "2026-09-30"}, "text": "x"}),
            ),
            "one form",
        ),
        case(
            "response naming nothing",
            Kind::Response,
            canonical(&json!({"text": "x"})),
            "one form",
        ),
        case(
            "response period backwards",
            Kind::Response,
            canonical(
                &json!({"item": "guest-os.patching", "period": {"from": "2026-09-30", "to": "2026-07-01"}, "text": "x"}),
            ),
            "period from 2026-09-30 is after its to 2026-07-01",
        ),
        case(
            "response to an adoption",
            Kind::Response,
            canonical(&json!({"entry": 3, "entry_sha256": entry_hash(env, 3), "text": "x"})),
            "responds to entry of kind adoption",
        ),
        case(
            "response by a wrong hash",
            Kind::Response,
            canonical(&json!({"entry": 3, "entry_sha256": h, "text": "x"})),
            "refers to entry 3 by a hash that is not its hash",
        ),
        // §4 key-revocation.
        case(
            "revocation without a reason",
            Kind::KeyRevocation,
            canonical(&json!({"key": h, "reason": "", "since": "2026-07-01T00:00:00Z"})),
            "reason is empty",
        ),
    ];
    v.sort_by_key(|c| c.name);
    v
}

#[test]
fn every_payload_rule_is_checked_by_verify() {
    let base = base();
    // The unmodified payload verifies: each case below breaks one rule and nothing else.
    let env = copy(&base);
    append(&env, "customer", Kind::Evidence, canonical(&evidence()));
    let r = env.run(&["verify"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    let mut failed = Vec::new();
    let cases = cases(&base);
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for c in cases {
        let env = copy(&base);
        let seq = append(&env, c.key, c.kind, c.payload);
        let r = env.run(&["verify"]);
        let first = r.stdout.lines().next().unwrap_or("").to_string();
        let want = format!("entry {seq}: ");
        if r.code != 1 || !first.starts_with(&want) || !first.contains(c.finding) {
            failed.push(format!(
                "{}: expected exit 1 and '{want}…{}…', got exit {}:\n{}{}",
                c.name, c.finding, r.code, r.stdout, r.stderr
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
