//! in-toto attestations of evidence entries (`schema/FORMAT.md` §18.3): per entry, an
//! in-toto Statement v1 whose subjects are the entry itself and its artefacts by SHA-256,
//! with the [`PREDICATE_TYPE`] predicate, in a DSSE envelope ([`super::dsse`]) signed by a
//! key of the party that signed the entry. Only the holder of that party's key can make
//! them: vouch never signs for another party.

use serde_json::{Value, json};

use super::dsse::{Envelope, STATEMENT_TYPE};
use crate::crypto::SecretKey;
use crate::error::{Error, Result};
use crate::format::entry::{Kind, format_time};
use crate::format::payload::{self, AdoptionPayload, EvidencePayload};
use crate::ledger::verify::{self, Options, Report as Verification};
use crate::ledger::{Access, Ledger, NoProgress};
use crate::period::Period;

/// The predicate type of a vouch evidence attestation.
pub const PREDICATE_TYPE: &str = "urn:vouch:evidence:v1";

/// Which evidence entries to attest.
#[derive(Debug, Clone)]
pub enum Which {
    /// These entries.
    Seqs(Vec<u64>),
    /// The evidence performed in this period.
    Period(Period),
}

/// One attestation made.
#[derive(Debug)]
pub struct Attested {
    /// The evidence entry.
    pub seq: u64,
    /// The envelope.
    pub envelope: Envelope,
}

/// What [`export`] did.
#[derive(Debug)]
pub enum Exported {
    /// The envelopes, and the entries left out because another party signed them
    /// (entry, party).
    Made(Vec<Attested>, Vec<(u64, String)>),
    /// The ledger does not verify: nothing made.
    Refused(Box<Verification>),
}

/// Verify the ledger at `path`, then attest the chosen evidence entries that `key`'s
/// party signed.
///
/// # Errors
///
/// I/O, a key that is not a party's, or a chosen entry that is not evidence.
pub fn export(path: &std::path::Path, which: &Which, key: &SecretKey) -> Result<Exported> {
    let v = verify::verify(
        path,
        &Options {
            trust: None,
            artifacts: false,
            all: true,
            now: None,
            since: None,
        },
        &NoProgress,
    )?;
    if !v.ok() {
        return Ok(Exported::Refused(Box::new(v)));
    }
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let (party, _) = ledger.signer_party(key)?;
    let ledger_id = ledger.id()?.to_string();
    let entries = match which {
        Which::Seqs(seqs) => seqs
            .iter()
            .map(|&s| {
                ledger
                    .entry(s)?
                    .filter(|e| e.header.kind == Kind::Evidence)
                    .ok_or_else(|| {
                        Error::new(format!("entry {s} is not an evidence entry"))
                            .hint("name evidence entries: vouch log lists them")
                    })
            })
            .collect::<Result<Vec<_>>>()?,
        Which::Period(p) => ledger
            .entries_of_kind(Kind::Evidence, None)?
            .into_iter()
            .filter(|e| {
                payload::decode::<EvidencePayload>(&e.payload).is_ok_and(|ev| {
                    crate::format::entry::parse_time(&ev.performed_at)
                        .is_some_and(|t| t >= p.start() && t < p.end())
                })
            })
            .collect(),
    };
    let (mut made, mut skipped) = (Vec::new(), Vec::new());
    for e in entries {
        let author = ledger
            .party_of_key(&e.header.signer)?
            .map(|p| p.id)
            .unwrap_or_default();
        if author != party {
            skipped.push((e.seq(), author));
            continue;
        }
        let matrix = matrix_at(&ledger, e.seq())?;
        let statement = statement(&ledger_id, &e, &author, matrix.as_ref())?;
        made.push(Attested {
            seq: e.seq(),
            envelope: Envelope::sign(&statement, key)?,
        });
    }
    Ok(Exported::Made(made, skipped))
}

/// The matrix adopted in force at entry `seq` (the newest adoption before it).
fn matrix_at(ledger: &Ledger, seq: u64) -> Result<Option<payload::MatrixRef>> {
    let adoption = ledger
        .entries_of_kind(Kind::Adoption, Some(seq))?
        .into_iter()
        .rfind(|a| a.seq() < seq);
    adoption
        .map(|a| {
            payload::decode::<AdoptionPayload>(&a.payload)
                .map(|p| p.matrix)
                .map_err(|m| Error::new(format!("entry {}: {m}", a.seq())))
        })
        .transpose()
}

/// The in-toto Statement of one evidence entry.
///
/// # Errors
///
/// A payload that does not decode (not expected in a verified ledger).
pub fn statement(
    ledger_id: &str,
    e: &crate::ledger::read::Entry,
    party: &str,
    matrix: Option<&payload::MatrixRef>,
) -> Result<Value> {
    let ev: EvidencePayload =
        payload::decode(&e.payload).map_err(|m| Error::new(format!("entry {}: {m}", e.seq())))?;
    let entry_hash = hex::encode(e.hash());
    let mut subject = vec![json!({
        "name": format!("vouch.ledger/{ledger_id}/entry/{}", e.seq()),
        "digest": {"sha256": entry_hash},
    })];
    subject.extend(ev.artifacts.iter().map(|a| {
        json!({"name": a.name, "digest": {"sha256": a.sha256}, "annotations": {"size": a.size, "stored": a.stored}})
    }));
    Ok(json!({
        "_type": STATEMENT_TYPE,
        "subject": subject,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "ledger": ledger_id,
            "seq": e.seq(),
            "entry_sha256": entry_hash,
            "party": party,
            "signer": e.header.signer.to_string(),
            "item": ev.item,
            "kind": ev.kind,
            "outcome": ev.outcome.as_str(),
            "performed_at": ev.performed_at,
            "recorded_at": format_time(&e.header.time),
            "fields": ev.fields,
            "note": ev.note,
            "supporting": ev.supporting,
            "matrix": matrix.map(|m| json!({"id": m.id, "version": m.version, "sha256": m.sha256})),
        },
    }))
}
