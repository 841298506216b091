//! Reading a ledger for the status engine: the matrix and adoption in force for a period,
//! the facts (co-signatures, retractions, waivers, delegations) and the evidence that can
//! concern it, streamed into [`crate::attestation::status::Engine`].
//!
//! The engine itself does no I/O (`status.rs`); this is its one reader. What a revoked key
//! signed does not count (`schema/FORMAT.md` §14).

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};

use crate::attestation::status::{Adoption, Cosign, Engine, Evidence, Facts, StatusReport, Waiver};
use crate::format::entry::{EntryHeader, Kind};
use crate::format::payload::{
    self, CosignPayload, DelegationPayload, Outcome, RetractionPayload, WaiverPayload,
};
use crate::ledger::Ledger;
use crate::matrix::{Matrix, RoleId};
use crate::period::Period;
use crate::{Error, crypto};

/// The members of an evidence payload that status reads.
#[derive(serde::Deserialize)]
struct LiteEvidence<'a> {
    #[serde(borrow)]
    item: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    outcome: Outcome,
    performed_at: &'a str,
    #[serde(default)]
    supporting: bool,
}

/// The adoption in force for a period (the newest whose matrix is effective by the end of
/// the period, else the newest at all), up to entry `upto`, with its parsed matrix.
fn adoption_in_force(
    ledger: &Ledger,
    period: &Period,
    upto: Option<u64>,
) -> crate::Result<(Matrix, Adoption)> {
    let mut adoptions = ledger.adoptions()?;
    adoptions.retain(|(seq, _, _)| *seq <= upto.unwrap_or(u64::MAX));
    let Some((seq, a, bytes)) = adoptions
        .iter()
        .rev()
        .find(|(_, a, _)| a.matrix.effective.as_str() <= period.to.to_string().as_str())
        .or(adoptions.last())
    else {
        return Err(Error::new("no matrix has been adopted in this ledger")
            .hint("adopt one first: vouch matrix adopt schema/matrices/NAME.toml --bind provider=P --bind customer=C --key K"));
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::new(format!("entry {seq}: the adopted matrix is not UTF-8")))?;
    let matrix = Matrix::parse(
        text,
        &format!("{}.toml (adopted in entry {seq})", a.matrix.id),
    )?;
    let adoption_entry = ledger
        .entry(*seq)?
        .ok_or_else(|| Error::new(format!("entry {seq} is missing")))?;
    let mut bindings = BTreeMap::new();
    for (role, party) in &a.bindings {
        if let Some(r) = RoleId::parse(role) {
            bindings.insert(r, party.clone());
        }
    }
    let adoption = Adoption {
        seq: *seq,
        time: adoption_entry.header.time,
        bindings,
        variants: a.variants.clone(),
        services: a.services.clone(),
    };
    Ok((matrix, adoption))
}

/// Key fingerprint → party.
type Parties = HashMap<crypto::Fingerprint, String>;
/// Revoked key → the time from which what it signs does not count.
type Revoked = HashMap<crypto::Fingerprint, DateTime<Utc>>;

/// The party whose key signed an entry (empty when the key is unknown).
fn party_of<'a>(parties: &'a Parties, h: &EntryHeader) -> &'a str {
    parties.get(&h.signer).map_or("", String::as_str)
}

/// Whether an entry was signed by a key at or after its revocation time.
fn by_revoked_key(revoked: &Revoked, h: &EntryHeader) -> bool {
    !revoked.is_empty() && revoked.get(&h.signer).is_some_and(|since| h.time >= *since)
}

/// A stored entry that does not read: `vouch verify` says more.
fn bad(seq: u64, e: String) -> Error {
    Error::new(format!("entry {seq}: {e}")).hint("run vouch verify")
}

/// Revoked keys (FORMAT.md §14): what a key signed at or after its revocation's `since`
/// does not count. Only a party's revocation of its own key counts (verify checks the
/// rest); one hash lookup per entry, none at all in a ledger without revocations.
fn revoked_keys(ledger: &Ledger, parties: &Parties, upto: Option<u64>) -> crate::Result<Revoked> {
    let mut revoked: Revoked = HashMap::new();
    for e in ledger.entries_of_kind(Kind::KeyRevocation, upto)? {
        let r: payload::KeyRevocationPayload =
            payload::decode(&e.payload).map_err(|m| bad(e.seq(), m))?;
        let (Some(key), Some(since)) = (
            crypto::Fingerprint::parse(&r.key),
            crate::format::entry::parse_time(&r.since),
        ) else {
            continue;
        };
        if parties
            .get(&key)
            .is_some_and(|p| p == party_of(parties, &e.header))
        {
            let t = revoked.entry(key).or_insert(since);
            *t = (*t).min(since);
        }
    }
    Ok(revoked)
}

/// Co-signatures, retractions, waivers and delegations up to entry `upto`, leaving out
/// what a revoked key signed.
fn read_facts(
    ledger: &Ledger,
    upto: Option<u64>,
    parties: &Parties,
    revoked: &Revoked,
) -> crate::Result<Facts> {
    let mut facts = Facts::default();
    for e in ledger.entries_of_kind(Kind::Cosign, upto)? {
        if by_revoked_key(revoked, &e.header) {
            continue;
        }
        let c: CosignPayload = payload::decode(&e.payload).map_err(|m| bad(e.seq(), m))?;
        facts.cosigns.push(Cosign {
            seq: e.seq(),
            party: party_of(parties, &e.header).to_string(),
            target: c.entry,
            verdict: c.verdict,
        });
    }
    for e in ledger.entries_of_kind(Kind::Retraction, upto)? {
        if by_revoked_key(revoked, &e.header) {
            continue;
        }
        let r: RetractionPayload = payload::decode(&e.payload).map_err(|m| bad(e.seq(), m))?;
        facts.retracted.insert(r.entry);
    }
    for e in ledger.entries_of_kind(Kind::Waiver, upto)? {
        if by_revoked_key(revoked, &e.header) {
            continue;
        }
        let w: WaiverPayload = payload::decode(&e.payload).map_err(|m| bad(e.seq(), m))?;
        facts.waivers.push(Waiver {
            seq: e.seq(),
            party: party_of(parties, &e.header).to_string(),
            item: w.item,
            reason: w.reason,
        });
    }
    for e in ledger.entries_of_kind(Kind::Delegation, upto)? {
        // A retracted delegation no longer lets its delegate's evidence count.
        if by_revoked_key(revoked, &e.header) || facts.retracted.contains(&e.seq()) {
            continue;
        }
        let d: DelegationPayload = payload::decode(&e.payload).map_err(|m| bad(e.seq(), m))?;
        facts
            .delegations
            .push((party_of(parties, &e.header).to_string(), d.item, d.to));
    }
    Ok(facts)
}

/// Evidence: never recorded before it was performed (less a 5-minute clock allowance),
/// so entries recorded before the earliest window that overlaps the period cannot concern
/// it. The reader streams them in
/// chunks; each chunk's payloads are parsed on every core, then fed to the engine.
fn add_evidence(
    engine: &mut Engine<'_>,
    ledger: &Ledger,
    upto: Option<u64>,
    parties: &Parties,
    revoked: &Revoked,
) -> crate::Result<()> {
    let since = engine.earliest_start() - crate::ledger::evidence::MAX_FUTURE;
    ledger.evidence_since(since, upto, |entries| {
        let parsed: Vec<crate::Result<Evidence<std::borrow::Cow<'_, str>>>> = entries
            .par_iter()
            .map(|entry| {
                let seq = entry.seq();
                let h = &entry.header;
                // Only the members status needs, borrowed (verify checks the rest).
                let e: LiteEvidence<'_> = serde_json::from_slice(&entry.payload)
                    .map_err(|e| bad(seq, format!("payload: {e}")))?;
                let performed = crate::format::entry::parse_time(e.performed_at)
                    .ok_or_else(|| bad(seq, "performed_at is malformed".into()))?;
                Ok(Evidence {
                    seq,
                    party: std::borrow::Cow::Borrowed(party_of(parties, h)),
                    item: e.item,
                    kind: e.kind,
                    outcome: e.outcome,
                    performed_at: performed,
                    recorded_at: h.time,
                    supporting: e.supporting,
                    signed_by_revoked_key: by_revoked_key(revoked, h),
                })
            })
            .collect();
        for p in parsed {
            engine.add(&p?);
        }
        Ok(())
    })
}

/// The matrix and adoption in force for a period, and the facts of the ledger, read in one
/// pass over the entries that can concern the period.
///
/// This reads the signed bytes (entry text and payloads, each payload checked against its
/// signed hash, and the adopted matrix against its signed hash) but does not check
/// signatures or the chain: run `vouch verify` for that. Status is a view; reports verify.
pub fn from_ledger(
    ledger: &Ledger,
    period: &Period,
    as_of: DateTime<Utc>,
    upto: Option<u64>,
) -> crate::Result<(StatusReport, Matrix, Adoption)> {
    let parties: Parties = ledger
        .keys()?
        .into_iter()
        .filter_map(|k| crypto::Fingerprint::parse(&k.fingerprint).map(|f| (f, k.party)))
        .collect();
    let revoked = revoked_keys(ledger, &parties, upto)?;
    let (matrix, adoption) = adoption_in_force(ledger, period, upto)?;
    let facts = read_facts(ledger, upto, &parties, &revoked)?;
    let mut engine = Engine::new(&matrix, &adoption, &facts, *period, as_of);
    add_evidence(&mut engine, ledger, upto, &parties, &revoked)?;
    let report = engine.finish();
    Ok((report, matrix, adoption))
}
