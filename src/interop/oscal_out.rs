//! OSCAL 1.1 assessment results of a period (`schema/FORMAT.md` §18.1), made from the
//! attestation report of a verified ledger ([`crate::attestation::report`]): the statuses
//! are exactly the report's (and `vouch status`'s), never recomputed here.
//!
//! Every UUID is derived from the ledger id and what it names ([`super::derived_uuid`]),
//! every time is a ledger time, and keys are written in sorted order: the same ledger and
//! period always give the same bytes.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

use super::{OSCAL_VERSION, derived_uuid, line, prop, props};
use crate::attestation::report::{
    self, Appendix, EvidenceRow, Exception, Generated, ItemRow, Making, Report,
};
use crate::attestation::status::Status;
use crate::error::{Error, Result};
use crate::ledger::verify::Report as Verification;
use crate::ledger::{Access, Ledger};
use crate::period::Period;

/// The outcome of [`export`].
#[derive(Debug)]
pub enum Exported {
    /// The document, and what it holds.
    Document(Box<Document>),
    /// The ledger does not verify: no document.
    Refused(Box<Verification>),
}

/// An assessment-results document and its counts.
#[derive(Debug)]
pub struct Document {
    /// The JSON bytes (pretty-printed, sorted keys, final newline).
    pub bytes: Vec<u8>,
    /// Observations (evidence entries).
    pub observations: usize,
    /// Findings (duties).
    pub findings: usize,
    /// Risks (exceptions).
    pub risks: usize,
    /// The attestation digest of the period at the head.
    pub digest: String,
    /// The head entry.
    pub head: u64,
    /// Why some evidence is not listed (the report's appendix limit), if so.
    pub limited: Option<String>,
}

/// Verify the ledger at `path` (against `trust` when given) and write the assessment
/// results of `period` at its newest head. A ledger that does not verify gives
/// [`Exported::Refused`].
///
/// # Errors
///
/// I/O, or a ledger without an adopted matrix.
pub fn export(
    path: &std::path::Path,
    period: &Period,
    trust: Option<Vec<crate::crypto::Fingerprint>>,
) -> Result<Exported> {
    let making = Making {
        trust,
        ..Making::default()
    };
    let r = match report::generate(path, period, Appendix::All, making)? {
        Generated::Report(r) => r,
        Generated::Refused(v) => return Ok(Exported::Refused(v)),
    };
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let ledger_id = ledger.id()?.to_string();
    let mut hashes = BTreeMap::new();
    for row in &r.appendix {
        if let Some(e) = ledger.entry(row.seq)? {
            hashes.insert(row.seq, hex::encode(e.hash()));
        }
    }
    let doc = assessment_results(&r, &ledger_id, &hashes);
    let mut bytes = serde_json::to_vec_pretty(&doc).map_err(|e| Error::new(e.to_string()))?;
    bytes.push(b'\n');
    Ok(Exported::Document(Box::new(Document {
        bytes,
        observations: r.appendix.len(),
        findings: count_findings(&r),
        risks: r.exceptions.len(),
        digest: r.digest.clone(),
        head: r.head.0,
        limited: r.appendix_note.clone(),
    })))
}

fn count_findings(r: &Report) -> usize {
    r.sections
        .iter()
        .flat_map(|s| &s.items)
        .flat_map(|i| &i.duties)
        .filter(|d| !d.duty.role.is_empty())
        .count()
}

/// UUIDs of one document: derived from the ledger id and what they name.
struct Ids<'a>(&'a str);

impl Ids<'_> {
    fn of(&self, what: &str, key: &str) -> String {
        derived_uuid(&[self.0, what, key])
    }
}

/// The assessment-results document of a report. `hashes`: entry hashes (hex) of the
/// evidence entries.
pub fn assessment_results(r: &Report, ledger_id: &str, hashes: &BTreeMap<u64, String>) -> Value {
    let ids = Ids(ledger_id);
    let period = r.period.name();
    let doc_key = format!("{period}@{}", r.head.0);
    let matrix_id = r.matrix.get("id").cloned().unwrap_or_default();
    let matrix_title = r.matrix.get("title").cloned().unwrap_or_default();
    let matrix_resource = ids.of("resource-matrix", &doc_key);
    let metadata = json!({
        "title": line(&format!("{} — {matrix_title}, {period}", report::TITLE)),
        "last-modified": r.as_of,
        "version": format!("{period} at entry {}", r.head.0),
        "oscal-version": OSCAL_VERSION,
        "roles": roles(r),
        "parties": r.parties.iter().map(|p| json!({
            "uuid": ids.of("party", &p.id),
            "type": "organization",
            "name": line(&p.name),
            "short-name": p.id,
            "props": props([prop("vouch-role", &p.role), prop("key-fingerprints", &p.fingerprints.join(" "))]),
        })).collect::<Vec<_>>(),
        "responsible-parties": responsible_parties(r, &ids),
        "remarks": report::STATEMENT,
    });
    let result = json!({
        "uuid": ids.of("result", &doc_key),
        "title": line(&format!("{matrix_title}: {period}")),
        "description": r.headline(),
        "start": r.period.start().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "end": r.period.end().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "props": result_props(r, ledger_id),
        "reviewed-controls": {
            "description": format!("The items of the matrix {matrix_id} adopted in entry {}.", r.adoption.seq),
            "control-selections": [{"include-controls": r.sections.iter().flat_map(|s| &s.items)
                .map(|i| json!({"control-id": i.id})).collect::<Vec<_>>()}],
        },
        "attestations": r.signoffs.iter().map(|s| signoff(s, &ids)).collect::<Vec<_>>(),
        "observations": r.appendix.iter().map(|e| observation(e, &ids, hashes)).collect::<Vec<_>>(),
        "findings": findings(r, &ids),
        "risks": r.exceptions.iter().map(|x| risk(x, &ids)).collect::<Vec<_>>(),
        "remarks": r.appendix_note.clone().unwrap_or_else(|| "Every evidence entry a duty's status rests on is an observation.".into()),
    });
    let mut result = result;
    drop_empty(
        &mut result,
        &["attestations", "observations", "findings", "risks"],
    );
    json!({"assessment-results": {
        "uuid": ids.of("assessment-results", &doc_key),
        "metadata": metadata,
        "import-ap": {"href": format!("#{matrix_resource}")},
        "results": [result],
        "back-matter": {"resources": resources(r, &ids, &matrix_resource)},
    }})
}

/// OSCAL forbids empty arrays: leave such members out.
fn drop_empty(v: &mut Value, keys: &[&str]) {
    if let Some(m) = v.as_object_mut() {
        for k in keys {
            if m.get(*k)
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
            {
                m.remove(*k);
            }
        }
    }
}

/// The roles: each party's role in the ledger, and the matrix roles parties are bound to.
fn roles(r: &Report) -> Vec<Value> {
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    for p in &r.parties {
        ids.insert(&p.role);
        if let Some(b) = &p.bound_as {
            ids.insert(b);
        }
    }
    if !r.signoffs.is_empty() {
        ids.insert("signatory");
    }
    ids.into_iter()
        .map(|id| json!({"id": id, "title": line(id)}))
        .collect()
}

fn responsible_parties(r: &Report, ids: &Ids) -> Vec<Value> {
    let mut by_role: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for p in &r.parties {
        let uuid = ids.of("party", &p.id);
        by_role.entry(&p.role).or_default().insert(uuid.clone());
        if let Some(b) = &p.bound_as {
            by_role.entry(b).or_default().insert(uuid);
        }
    }
    by_role
        .into_iter()
        .map(|(role, uuids)| json!({"role-id": role, "party-uuids": uuids}))
        .collect()
}

fn result_props(r: &Report, ledger_id: &str) -> Vec<Value> {
    let mut props = vec![
        prop("ledger-id", ledger_id),
        prop("head-seq", &r.head.0.to_string()),
        prop("head-hash", &r.head.1),
        prop("attestation-digest", &r.digest),
        prop("as-of", &r.as_of),
        prop("matrix-id", r.matrix.get("id").map_or("", String::as_str)),
        prop(
            "matrix-version",
            r.matrix.get("version").map_or("", String::as_str),
        ),
        prop(
            "matrix-sha256",
            r.matrix.get("sha256").map_or("", String::as_str),
        ),
        prop("adoption-seq", &r.adoption.seq.to_string()),
        prop("verified", if r.verified { "true" } else { "false" }),
        prop("keys-pinned", if r.keys_pinned { "true" } else { "false" }),
    ];
    // The checkpoint text (FORMAT.md §13.1): origin, size, root, one prop each.
    if let Some(c) = &r.checkpoint {
        let mut lines = c.lines();
        for name in ["checkpoint-origin", "checkpoint-size", "checkpoint-root"] {
            props.push(prop(name, lines.next().unwrap_or_default()));
        }
    }
    if let Some((seq, _)) = &r.signed_checkpoint {
        props.push(prop("signed-checkpoint-seq", &seq.to_string()));
    }
    props.into_iter().flatten().collect()
}

/// A sign-off as an OSCAL attestation: the signing party and what it signed.
fn signoff(s: &crate::attestation::attest::Signoff, ids: &Ids) -> Value {
    let state = if s.matches {
        "it signs this attestation"
    } else if s.valid {
        "it signs the attestation of this period at an earlier head"
    } else {
        "its digest does NOT match the attestation at its head"
    };
    let who = s
        .signatory
        .as_ref()
        .map_or(s.party.clone(), |n| format!("{n} for {}", s.party));
    let props = [
        prop("entry-seq", &s.seq.to_string()),
        prop("signed-digest", &s.digest),
        prop("signed-head", &s.head.to_string()),
        prop("signer-fingerprint", &s.fingerprint),
        prop("signature", &s.signature),
        prop("time", &s.time),
        prop("matches", if s.matches { "true" } else { "false" }),
        prop("valid", if s.valid { "true" } else { "false" }),
    ];
    json!({
        "responsible-parties": [{"role-id": "signatory", "party-uuids": [ids.of("party", &s.party)]}],
        "parts": [{
            "name": "sign-off",
            "title": line(&format!("Sign-off by {who} (entry {})", s.seq)),
            "props": props.into_iter().flatten().collect::<Vec<_>>(),
            "prose": format!("{who} signed the attestation digest {} at head {} on {}: {state}.", s.digest, s.head, s.time),
        }],
    })
}

/// One evidence entry as an observation.
fn observation(e: &EvidenceRow, ids: &Ids, hashes: &BTreeMap<u64, String>) -> Value {
    let method = if e.kind.contains("test") {
        "TEST"
    } else {
        "EXAMINE"
    };
    let mut props = vec![
        prop("entry-seq", &e.seq.to_string()),
        prop("entry-hash", hashes.get(&e.seq).map_or("", String::as_str)),
        prop("item", &e.item),
        prop("kind", &e.kind),
        prop("outcome", &e.outcome),
        prop("performed-at", &e.performed_at),
        prop("recorded-at", &e.recorded_at),
        prop("signer-fingerprint", &e.signer),
    ];
    for (k, v) in &e.fields {
        let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        props.push(prop(&format!("field.{k}"), &v));
    }
    for (seq, party, verdict) in &e.cosignatures {
        props.push(prop("cosignature", &format!("{seq} {party} {verdict}")));
    }
    let evidence: Vec<Value> = e
        .artifacts
        .iter()
        .map(|(name, sha)| {
            json!({
                "href": format!("#{}", ids.of("resource-artifact", sha)),
                "description": format!("Artefact {name}, SHA-256 {sha}"),
                "props": super::props([prop("artifact-sha256", sha), prop("artifact-name", name)]),
            })
        })
        .collect();
    let mut o = json!({
        "uuid": ids.of("observation", &e.seq.to_string()),
        "title": line(&format!("Entry {}: {} {} for {}", e.seq, e.kind, e.outcome, e.item)),
        "description": format!("{} recorded {} evidence ({}) for {}: performed {}, recorded {}.", e.party, e.kind, e.outcome, e.item, e.performed_at, e.recorded_at),
        "props": props.into_iter().flatten().collect::<Vec<_>>(),
        "methods": [method],
        "types": ["control-objective"],
        "origins": [{"actors": [{"type": "party", "actor-uuid": ids.of("party", &e.party)}]}],
        "relevant-evidence": evidence,
        "collected": e.performed_at,
    });
    if let Some(n) = &e.note {
        o["remarks"] = json!(n);
    }
    drop_empty(&mut o, &["relevant-evidence"]);
    o
}

/// One finding per item and duty holder.
fn findings(r: &Report, ids: &Ids) -> Vec<Value> {
    let shown: BTreeSet<u64> = r.appendix.iter().map(|e| e.seq).collect();
    let risky: BTreeSet<(&str, &str)> = r
        .exceptions
        .iter()
        .map(|x| (x.item.as_str(), x.role.as_str()))
        .collect();
    let mut out = Vec::new();
    for item in r.sections.iter().flat_map(|s| &s.items) {
        for d in item.duties.iter().filter(|d| !d.duty.role.is_empty()) {
            out.push(finding(item, d, ids, &shown, &risky));
        }
    }
    out
}

fn finding(
    item: &ItemRow,
    d: &report::DutyRow,
    ids: &Ids,
    shown: &BTreeSet<u64>,
    risky: &BTreeSet<(&str, &str)>,
) -> Value {
    let duty = &d.duty;
    let key = format!("{}/{}", item.id, duty.role);
    let status = duty.status.as_str();
    let state = match duty.status {
        Status::Fulfilled | Status::NotApplicable => "satisfied",
        _ => "not-satisfied",
    };
    let holder = if duty.party.is_empty() {
        format!("{} (not bound)", duty.role)
    } else {
        format!("{} ({} {})", duty.party, duty.role, duty.raci)
    };
    let mut props = vec![
        prop("status", status),
        prop("role", duty.role),
        prop("party", &duty.party),
        prop("raci", &duty.raci),
        prop("due-by", duty.due_by.as_deref().unwrap_or_default()),
        prop(
            "last-performed",
            duty.last_performed.as_deref().unwrap_or_default(),
        ),
    ];
    props.extend(duty.flags.iter().map(|f| prop("flag", f)));
    props.extend(item.refs.iter().map(|x| prop("control-reference", x)));
    let mut f = json!({
        "uuid": ids.of("finding", &key),
        "title": line(&format!("{}: {holder}", item.id)),
        "description": format!("{}. {}: {}.", item.activity, holder, report::status_words(duty)),
        "props": props.into_iter().flatten().collect::<Vec<_>>(),
        "target": {
            "type": "objective-id",
            "target-id": item.id,
            "title": line(&item.activity),
            "status": {"state": state, "reason": status},
        },
        "related-observations": duty.evidence.iter().filter(|s| shown.contains(s))
            .map(|s| json!({"observation-uuid": ids.of("observation", &s.to_string())})).collect::<Vec<_>>(),
    });
    if !duty.party.is_empty() {
        f["origins"] =
            json!([{"actors": [{"type": "party", "actor-uuid": ids.of("party", &duty.party)}]}]);
    }
    if let Some(s) = &d.statement {
        f["remarks"] = json!(s);
    }
    if risky.contains(&(item.id.as_str(), duty.role)) {
        f["related-risks"] = json!([{"risk-uuid": ids.of("risk", &key)}]);
    }
    drop_empty(&mut f, &["related-observations"]);
    f
}

/// An exception (failed, overdue, missing or disputed duty) as an open risk.
fn risk(x: &Exception, ids: &Ids) -> Value {
    let key = format!("{}/{}", x.item, x.role);
    let status = x.status.as_str();
    let mut r = json!({
        "uuid": ids.of("risk", &key),
        "title": line(&format!("{}: {} duty of {} is {status}", x.item, x.role, x.party)),
        "description": format!("{}. {}", x.activity, x.detail),
        "statement": format!("The {} duty of {} ({}) for {} is {status} in the period: {}.", x.role, x.party, x.activity, x.item, x.detail),
        "status": "open",
        "props": props([prop("status", status), prop("party", &x.party), prop("role", &x.role)]),
        "origins": [{"actors": [{"type": "party", "actor-uuid": ids.of("party", &x.party)}]}],
    });
    let notes: Vec<String> = x
        .notes
        .iter()
        .map(|n| format!("Note of entry {}: {}", n.seq, n.note))
        .collect();
    if !notes.is_empty() {
        r["description"] = json!(format!(
            "{}. {}\n\n{}",
            x.activity,
            x.detail,
            notes.join("\n\n")
        ));
    }
    // Management responses (`vouch respond`) as the risk's log.
    if !x.responses.is_empty() {
        let entries: Vec<Value> = x
            .responses
            .iter()
            .map(|p| {
                json!({
                    "uuid": ids.of("risk-log", &p.seq.to_string()),
                    "title": line(&format!("Management response of {} (entry {})", p.party, p.seq)),
                    "description": p.text,
                    "start": p.time,
                    "logged-by": [{"party-uuid": ids.of("party", &p.party)}],
                    "props": props([prop("entry-seq", &p.seq.to_string())]),
                })
            })
            .collect();
        r["risk-log"] = json!({ "entries": entries });
    }
    r
}

/// Back matter: the adopted matrix and every artefact, with their SHA-256 hashes.
fn resources(r: &Report, ids: &Ids, matrix_uuid: &str) -> Vec<Value> {
    let sha = r.matrix.get("sha256").cloned().unwrap_or_default();
    let mut out = vec![json!({
        "uuid": matrix_uuid,
        "title": line(&format!("Matrix {} version {}", r.matrix.get("id").map_or("", String::as_str), r.matrix.get("version").map_or("", String::as_str))),
        "description": format!("The shared-responsibility matrix adopted in entry {}: its exact bytes are in the ledger.", r.adoption.seq),
        "rlinks": [{"href": format!("matrices/{sha}.toml"), "hashes": [{"algorithm": "SHA-256", "value": sha}]}],
    })];
    let mut seen = BTreeSet::new();
    for e in &r.appendix {
        for (name, sha) in &e.artifacts {
            if seen.insert(sha.clone()) {
                out.push(json!({
                    "uuid": ids.of("resource-artifact", sha),
                    "title": line(name),
                    "description": format!("Artefact {name} of entry {}.", e.seq),
                    "rlinks": [{"href": format!("artifacts/{sha}"), "hashes": [{"algorithm": "SHA-256", "value": sha}]}],
                }));
            }
        }
    }
    out
}
