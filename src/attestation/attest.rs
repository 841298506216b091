//! The attestation of a period: the statuses the ledger shows, in a canonical form whose
//! SHA-256 (the attestation digest) each party can sign (`signoff` entries).
//!
//! Implements `schema/FORMAT.md` §11. The attestation is recomputable from the ledger alone:
//! it is computed at the ledger head — the newest entry that is not a sign-off, so that
//! parties signing one after the other sign the same digest — and judged as of that head's
//! ledger time, never the wall clock.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::attestation::status::{Adoption, StatusReport};
use crate::attestation::status_ledger;
use crate::crypto::{self, SecretKey};
use crate::error::{Error, Result};
use crate::format::entry::{Kind, format_time};
use crate::format::payload::{self, PeriodRef, SignoffPayload};
use crate::ledger::{Appended, Draft, Ledger, NoProgress};
use crate::matrix::Matrix;
use crate::period::Period;

/// The format name inside the canonical attestation.
pub const FORMAT: &str = "vouch/v1 attestation";

/// A party's sign-off, and whether it signs the attestation as it stands now.
#[derive(Debug, Clone, Serialize)]
pub struct Signoff {
    /// The sign-off entry.
    pub seq: u64,
    /// Signing party.
    pub party: String,
    /// The signing key's fingerprint.
    pub fingerprint: String,
    /// Ledger time of the sign-off entry.
    pub time: String,
    /// The Ed25519 signature over the sign-off entry (hex), whose payload holds the digest.
    pub signature: String,
    /// The digest it signed.
    pub digest: String,
    /// The head it was computed at.
    pub head: u64,
    /// Its digest is this attestation's (same period, same head).
    pub matches: bool,
    /// Its digest is the attestation of its period recomputed at its own head: a valid
    /// statement about the ledger up to that head, for ever (`FORMAT.md` §11).
    pub valid: bool,
    /// Who signed, and as what (`Jane Roe, CISO`), if the sign-off names them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatory: Option<String>,
}

/// An attestation: canonical bytes, digest, and what they were computed from.
#[derive(Debug, Clone)]
pub struct Attestation {
    /// The exact canonical bytes (RFC 8785 JSON).
    pub canonical: Vec<u8>,
    /// SHA-256 of `canonical`.
    pub digest: [u8; 32],
    /// Head: sequence number, entry hash, ledger time.
    pub head: (u64, [u8; 32], DateTime<Utc>),
    /// The status report it encodes.
    pub report: StatusReport,
    /// The matrix in force.
    pub matrix: Matrix,
    /// The adoption in force.
    pub adoption: Adoption,
    /// Sign-offs of this period, oldest first (every one in the ledger, at any head).
    pub signoffs: Vec<Signoff>,
    /// The last entry of the statement at this head: the head and the sign-offs recorded
    /// right after it (a report at this head covers entries 1 … `extent`).
    pub extent: u64,
}

/// A duty whose status differs between two attestations of a period (an earlier signed
/// head and a later one): what the entries recorded in between changed.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Item id.
    pub item: String,
    /// Duty role.
    pub role: &'static str,
    /// Bound party.
    pub party: String,
    /// Status at the earlier head (`None`: no such duty there).
    pub before: Option<&'static str>,
    /// Status at the later head (`None`: no such duty there).
    pub after: Option<&'static str>,
    /// Entries after the earlier head that the duty now counts or flags.
    pub entries: Vec<u64>,
}

/// The attestation head: the newest entry that is not a sign-off (at or before `upto`).
fn head(ledger: &Ledger, upto: Option<u64>) -> Result<(u64, [u8; 32], DateTime<Utc>)> {
    let size = ledger.size()?;
    if let Some(u) = upto
        && (u == 0 || u > size)
    {
        return Err(
            Error::new(format!("--at {u}: the ledger has entries 1 to {size}"))
                .hint("name an entry of the ledger: vouch log lists them"),
        );
    }
    let mut seq = upto.unwrap_or(size);
    while seq > 0 {
        let e = ledger.entry(seq)?.ok_or_else(|| {
            Error::new(format!("entry {seq} is missing")).hint("run vouch verify")
        })?;
        if e.header.kind != Kind::Signoff {
            return Ok((seq, crypto::sha256(&e.body), e.header.time));
        }
        seq -= 1;
    }
    Err(Error::new("the ledger has no entries"))
}

/// The canonical attestation document (`FORMAT.md` §11).
pub fn canonical(
    ledger_id: &str,
    head: (u64, [u8; 32], DateTime<Utc>),
    period: &Period,
    adoption_seq: u64,
    matrix_sha256: &str,
    matrix: &Matrix,
    report: &StatusReport,
) -> Result<Vec<u8>> {
    let items: Vec<serde_json::Value> = report
        .items
        .iter()
        .map(|it| {
            let duties: Vec<serde_json::Value> = it
                .duties
                .iter()
                .map(|d| json!({"party": d.party, "role": d.role, "status": d.status.as_str()}))
                .collect();
            json!({"duties": duties, "id": it.id})
        })
        .collect();
    let doc = json!({
        "as_of": format_time(&head.2),
        "format": FORMAT,
        "head": {"seq": head.0, "sha256": hex::encode(head.1)},
        "items": items,
        "ledger": ledger_id,
        "matrix": {"adoption": adoption_seq, "id": matrix.header.id, "sha256": matrix_sha256, "version": matrix.header.version},
        "period": {"from": period.from.to_string(), "to": period.to.to_string()},
    });
    payload::encode(&doc)
}

/// Compute the attestation of a period at the current head, with its sign-offs.
pub fn build(ledger: &Ledger, period: &Period) -> Result<Attestation> {
    build_at(ledger, period, None)
}

/// Compute the attestation of a period at the head at or before entry `at` (the current
/// head with `None`), with the period's sign-offs, each judged at its own head.
///
/// # Errors
///
/// `at` is not an entry of the ledger; I/O; a ledger too damaged to compute statuses.
pub fn build_at(ledger: &Ledger, period: &Period, at: Option<u64>) -> Result<Attestation> {
    let mut att = compute(ledger, period, at)?;
    let mut earlier: std::collections::HashMap<u64, [u8; 32]> = std::collections::HashMap::new();
    earlier.insert(att.head.0, att.digest);
    for s in &mut att.signoffs {
        if s.matches {
            continue;
        }
        let digest = match earlier.get(&s.head) {
            Some(d) => *d,
            None => {
                let d = compute(ledger, period, Some(s.head))
                    .map(|a| {
                        if a.head.0 == s.head {
                            a.digest
                        } else {
                            [0; 32]
                        }
                    })
                    .unwrap_or([0; 32]);
                earlier.insert(s.head, d);
                d
            }
        };
        s.valid = s.digest == hex::encode(digest);
    }
    Ok(att)
}

/// The duties whose status differs between an earlier attestation of a period and a later
/// one, with the entries after the earlier head that each now counts or flags.
pub fn changes(before: &Attestation, after: &Attestation) -> Vec<Change> {
    use std::collections::BTreeMap;
    let key =
        |item: &str, role: &'static str, party: &str| (item.to_string(), role, party.to_string());
    let mut old: BTreeMap<(String, &'static str, String), &'static str> = BTreeMap::new();
    for it in &before.report.items {
        for d in &it.duties {
            old.insert(key(&it.id, d.role, &d.party), d.status.as_str());
        }
    }
    let mut out = Vec::new();
    for it in &after.report.items {
        for d in &it.duties {
            let was = old.remove(&key(&it.id, d.role, &d.party));
            if was == Some(d.status.as_str()) {
                continue;
            }
            let mut entries: Vec<u64> = d
                .evidence
                .iter()
                .copied()
                .chain(
                    d.flags
                        .iter()
                        .filter_map(|f| f.rsplit(':').next()?.parse::<u64>().ok()),
                )
                .filter(|s| *s > before.head.0)
                .collect();
            entries.sort_unstable();
            entries.dedup();
            out.push(Change {
                item: it.id.clone(),
                role: d.role,
                party: d.party.clone(),
                before: was,
                after: Some(d.status.as_str()),
                entries,
            });
        }
    }
    for ((item, role, party), was) in old {
        out.push(Change {
            item,
            role,
            party,
            before: Some(was),
            after: None,
            entries: Vec::new(),
        });
    }
    out
}

/// Entries after an earlier head read at most by [`responsible`].
const RESPONSIBLE_SCAN: usize = 100_000;

/// Add to each change (from [`changes`]`(before, after)`) the entries after `before`'s head
/// that concern it: evidence, waivers and delegations of its item, and retractions and
/// co-signatures of an entry the duty counted at either head. Reads at most
/// [`RESPONSIBLE_SCAN`] entries after the earlier head.
///
/// # Errors
///
/// I/O, or a damaged entry.
pub fn responsible(
    ledger: &Ledger,
    before: &Attestation,
    after: &Attestation,
    changes: &mut [Change],
) -> Result<()> {
    use std::collections::{HashMap, HashSet};
    if changes.is_empty() {
        return Ok(());
    }
    let mut counted: HashMap<(String, &'static str, String), HashSet<u64>> = HashMap::new();
    for att in [before, after] {
        for it in &att.report.items {
            for d in &it.duties {
                counted
                    .entry((it.id.clone(), d.role, d.party.clone()))
                    .or_default()
                    .extend(d.evidence.iter().copied());
            }
        }
    }
    let upto = after.head.0;
    for e in ledger.entries_after(before.head.0, RESPONSIBLE_SCAN)? {
        let seq = e.seq();
        if seq > upto {
            break;
        }
        let item = e.item();
        let refers = match e.header.kind {
            Kind::Retraction | Kind::Cosign => {
                serde_json::from_slice::<serde_json::Value>(&e.payload)
                    .ok()
                    .and_then(|v| v.get("entry").and_then(serde_json::Value::as_u64))
            }
            _ => None,
        };
        for c in changes.iter_mut() {
            let key = (c.item.clone(), c.role, c.party.clone());
            let concerns = item.as_deref() == Some(c.item.as_str())
                || refers.is_some_and(|r| counted.get(&key).is_some_and(|s| s.contains(&r)));
            if concerns && !c.entries.contains(&seq) {
                c.entries.push(seq);
            }
        }
    }
    for c in changes.iter_mut() {
        c.entries.sort_unstable();
    }
    Ok(())
}

/// The attestation at the head at or before `at`, with the period's sign-offs judged only
/// against it (`valid` when they match it).
pub fn compute(ledger: &Ledger, period: &Period, at: Option<u64>) -> Result<Attestation> {
    let head = head(ledger, at)?;
    let (report, matrix, adoption) =
        status_ledger::from_ledger(ledger, period, head.2, Some(head.0))?;
    let sha = ledger
        .adoptions()?
        .into_iter()
        .find(|(s, _, _)| *s == adoption.seq)
        .map(|(_, a, _)| a.matrix.sha256)
        .unwrap_or_default();
    let id = ledger.id()?.to_string();
    let canonical = canonical(&id, head, period, adoption.seq, &sha, &matrix, &report)?;
    let digest = crypto::sha256(&canonical);
    let parties: std::collections::HashMap<String, String> = ledger
        .keys()?
        .into_iter()
        .map(|k| (k.fingerprint, k.party))
        .collect();
    let mut signoffs = Vec::new();
    for e in ledger.entries_of_kind(Kind::Signoff, None)? {
        let (seq, h) = (e.seq(), &e.header);
        let s: SignoffPayload =
            payload::decode(&e.payload).map_err(|m| Error::new(format!("entry {seq}: {m}")))?;
        if s.period.from != period.from.to_string() || s.period.to != period.to.to_string() {
            continue;
        }
        signoffs.push(Signoff {
            seq,
            party: parties
                .get(&h.signer.to_string())
                .cloned()
                .unwrap_or_default(),
            fingerprint: h.signer.to_string(),
            time: format_time(&h.time),
            signature: hex::encode(&e.signature),
            matches: s.head == head.0 && s.digest == hex::encode(digest),
            valid: s.head == head.0 && s.digest == hex::encode(digest),
            signatory: s.signatory,
            digest: s.digest,
            head: s.head,
        });
    }
    let extent = extent(ledger, head.0)?;
    Ok(Attestation {
        canonical,
        digest,
        head,
        report,
        matrix,
        adoption,
        signoffs,
        extent,
    })
}

/// The last entry of the statement at head `head`: the head, and the sign-offs recorded
/// right after it.
fn extent(ledger: &Ledger, head: u64) -> Result<u64> {
    let size = ledger.size()?;
    let mut last = head;
    while last < size {
        match ledger.entry(last + 1)? {
            Some(e) if e.header.kind == Kind::Signoff => last += 1,
            _ => break,
        }
    }
    Ok(last)
}

/// Sign the attestation of a period as it stands: append a `signoff` entry.
pub fn sign(
    ledger: &mut Ledger,
    key: &SecretKey,
    period: &Period,
    now: DateTime<Utc>,
) -> Result<(Appended, Attestation)> {
    let (draft, att) = prepare(ledger, key, period, None)?;
    let mut a = ledger.append(key, vec![draft], now, &NoProgress)?;
    let appended = a.pop().ok_or_else(|| Error::new("nothing was appended"))?;
    Ok((appended, att))
}

/// Check that the key's party may sign, and compute the attestation and the `signoff`
/// draft over its digest, without appending it: a caller shows the attestation, asks,
/// then [`Ledger::append`]s the draft, which signs exactly the digest shown (at the head
/// shown, even if entries were appended meanwhile). With `at`, the attestation at the head
/// at or before that entry (an earlier statement, `FORMAT.md` §11).
pub fn prepare(
    ledger: &Ledger,
    key: &SecretKey,
    period: &Period,
    at: Option<u64>,
) -> Result<(Draft, Attestation)> {
    let (party, _) = ledger.signer_party(key)?;
    let att = build_at(ledger, period, at)?;
    if !att.adoption.bindings.values().any(|p| *p == party) {
        let role = ledger
            .parties()?
            .into_iter()
            .find(|p| p.id == party)
            .map(|p| p.role);
        if role.as_deref() != Some("auditor") {
            return Err(
                Error::new(format!("{party} is not bound by the adopted matrix"))
                    .hint("the bound parties and auditors sign attestations"),
            );
        }
    }
    let body = SignoffPayload {
        digest: hex::encode(att.digest),
        head: att.head.0,
        period: PeriodRef {
            from: period.from.to_string(),
            to: period.to.to_string(),
        },
        signatory: None,
    };
    let draft = Draft {
        kind: Kind::Signoff,
        payload: payload::encode(&body)?,
        party: None,
        store_artifacts: Vec::new(),
    };
    Ok((draft, att))
}

/// Name the signatory (`Jane Roe, CISO`) in a `signoff` draft made by [`prepare`] (format
/// v2, `FORMAT.md` §4): the signer's statement of who signs, not part of the digest.
/// `None` leaves the draft as it is.
pub fn with_signatory(mut draft: Draft, signatory: Option<&str>) -> Result<Draft> {
    let Some(name) = signatory else {
        return Ok(draft);
    };
    crate::format::rules::signatory(name).map_err(|e| {
        Error::new(format!("--signatory: {e}"))
            .hint("give a name and title on one line, e.g. --signatory \"Jane Roe, CISO\"")
    })?;
    let mut body: SignoffPayload = payload::decode(&draft.payload)
        .map_err(|e| Error::new(format!("internal: sign-off draft: {e}")))?;
    body.signatory = Some(name.to_string());
    draft.payload = payload::encode(&body)?;
    Ok(draft)
}

/// A problem with a sign-off entry, found by [`check_signoffs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignoffProblem {
    /// The sign-off entry.
    pub seq: u64,
    /// What is wrong.
    pub what: String,
}

/// Check every sign-off of a (verified) ledger (`schema/FORMAT.md` §11, `schema/STATUS.md`
/// §9): its signer is bound by the adoption in force for its period or is an auditor, its
/// `head` is an attestation head, and its digest is the attestation of its period
/// recomputed at that head — a sign-off stays valid for ever as a statement about the ledger
/// up to its head.
///
/// # Errors
///
/// I/O, or a ledger too damaged to compute an attestation (run `vouch verify` first).
pub fn check_signoffs(ledger: &Ledger) -> Result<Vec<SignoffProblem>> {
    let parties = ledger.parties()?;
    let party_of: std::collections::HashMap<String, String> = ledger
        .keys()?
        .into_iter()
        .map(|k| (k.fingerprint, k.party))
        .collect();
    let mut cache: std::collections::HashMap<(Period, u64), Attestation> =
        std::collections::HashMap::new();
    let mut out = Vec::new();
    for e in ledger.entries_of_kind(Kind::Signoff, None)? {
        let seq = e.seq();
        let mut problem = |what: String| out.push(SignoffProblem { seq, what });
        let s: SignoffPayload =
            payload::decode(&e.payload).map_err(|m| Error::new(format!("entry {seq}: {m}")))?;
        let Some(period) = Period::parse(&format!("{}..{}", s.period.from, s.period.to)) else {
            problem(format!(
                "signs off the period {}..{}, which is not a period",
                s.period.from, s.period.to
            ));
            continue;
        };
        let att = match cache.entry((period, s.head)) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(compute(ledger, &period, Some(s.head))?)
            }
        };
        if att.head.0 != s.head {
            problem(format!(
                "signs off at head {}, which is a sign-off, not an attestation head (that is entry {})",
                s.head, att.head.0
            ));
            continue;
        }
        let party = party_of
            .get(&e.header.signer.to_string())
            .cloned()
            .unwrap_or_default();
        let auditor = parties.iter().any(|p| p.id == party && p.role == "auditor");
        if !auditor && !att.adoption.bindings.values().any(|p| *p == party) {
            problem(format!(
                "signed off by {party:?}, which the adoption in force (entry {}) does not bind and which is not an auditor",
                att.adoption.seq
            ));
        }
        let digest = hex::encode(att.digest);
        if s.digest != digest {
            problem(format!(
                "signs digest {} for {}, but the attestation of that period at head {} is {digest}",
                s.digest,
                period.name(),
                s.head
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::status::{Adoption, Facts, compute};
    use crate::format::entry::parse_time;
    use std::collections::BTreeMap;

    const GOLDEN_DIGEST: &str = "302e9fcbb7651d80a8e5f3b08e2ea2c192a06a72df9346d2e7e13a4175e43e42";

    #[test]
    fn canonical_encoding_is_golden() {
        let m = Matrix::parse(
            r#"
[matrix]
id = "g"
title = "G"
version = "2"
source = "golden"
effective = "2026-01-01"
[roles.provider]
name = "P"
[roles.customer]
name = "C"
[[sections]]
id = "s"
title = "S"
[[items]]
id = "s.a"
section = "s"
activity = "a"
raci = { customer = "RA", provider = "R" }
cadence = "quarterly"
evidence_kinds = ["attestation"]
[[items]]
id = "s.b"
section = "s"
activity = "b"
raci = { customer = "I" }
"#,
            "g.toml",
        )
        .unwrap();
        let mut bindings = BTreeMap::new();
        bindings.insert(crate::matrix::RoleId::Provider, "prov".to_string());
        bindings.insert(crate::matrix::RoleId::Customer, "cust".to_string());
        let adoption = Adoption {
            seq: 3,
            time: parse_time("2026-01-02T00:00:00Z").unwrap(),
            bindings,
            variants: vec![],
            services: vec![],
        };
        let period = Period::parse("2026-Q3").unwrap();
        let head_time = parse_time("2026-10-01T00:00:00Z").unwrap();
        let report = compute(&m, &adoption, &Facts::default(), &[], &period, head_time);
        let bytes = canonical(
            "00112233445566778899aabbccddeeff",
            (9, [7u8; 32], head_time),
            &period,
            3,
            &"ab".repeat(32),
            &m,
            &report,
        )
        .unwrap();
        let expected = concat!(
            r#"{"as_of":"2026-10-01T00:00:00Z","format":"vouch/v1 attestation","#,
            r#""head":{"seq":9,"sha256":"0707070707070707070707070707070707070707070707070707070707070707"},"#,
            r#""items":[{"duties":[{"party":"prov","role":"provider","status":"missing"},{"party":"cust","role":"customer","status":"missing"}],"id":"s.a"},"#,
            r#"{"duties":[{"party":"","role":"","status":"informational"}],"id":"s.b"}],"#,
            r#""ledger":"00112233445566778899aabbccddeeff","#,
            r#""matrix":{"adoption":3,"id":"g","sha256":"abababababababababababababababababababababababababababababababab","version":"2"},"#,
            r#""period":{"from":"2026-07-01","to":"2026-09-30"}}"#
        );
        assert_eq!(std::str::from_utf8(&bytes).unwrap(), expected);
        // The digest is SHA-256 of exactly these bytes (`printf '%s' "$json" | sha256sum`).
        assert_eq!(hex::encode(crypto::sha256(&bytes)), GOLDEN_DIGEST);
    }
}
