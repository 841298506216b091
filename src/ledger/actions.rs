//! Entries that refer to other things: matrix adoption, co-signatures, responses,
//! retractions, waivers and delegations (`schema/FORMAT.md` §4).
//!
//! Each function checks at write time the same rules `verify` enforces, so a party gets a
//! clear refusal instead of writing an entry that verification would report.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use super::evidence::ArtifactSource;
use super::{Appended, Draft, Ledger, NoProgress, check_text, rule};
use crate::crypto::{self, SecretKey};
use crate::error::{Error, Result};
use crate::format::entry::Kind;
use crate::format::payload::{
    self, AdoptionPayload, Checked, CosignPayload, DelegationPayload, MatrixRef, PeriodRef,
    ResponsePayload, RetractionPayload, Role, Verdict, WaiverPayload,
};

/// An earlier entry, as a reference target.
struct Target {
    party: String,
    hash: String,
    kind: Kind,
}

/// A draft with no party rows and no stored artefacts.
fn plain(kind: Kind, body: &impl serde::Serialize) -> Result<Draft> {
    Ok(Draft {
        kind,
        payload: payload::encode(body)?,
        party: None,
        store_artifacts: Vec::new(),
    })
}

/// What a management response answers: an evidence entry, or a duty without evidence.
#[derive(Debug, Clone)]
pub enum Responded {
    /// The evidence entry.
    Entry(u64),
    /// The duty of an item in a period.
    Duty {
        /// The matrix item.
        item: String,
        /// The period.
        period: crate::period::Period,
    },
}

/// What an adoption selects of its matrix: variants (contract options) and services.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The variants that apply.
    pub variants: Vec<String>,
    /// The services adopted; empty for every service.
    pub services: Vec<String>,
}

impl Ledger {
    /// The party id and role of the key's owner; refuses an unregistered key.
    pub fn signer_party(&self, key: &SecretKey) -> Result<(String, Role)> {
        let fpr = key.public().fingerprint();
        let p = self.party_of_key(&fpr)?.ok_or_else(|| {
            Error::new(format!(
                "key {fpr} is not registered in {}",
                self.path().display()
            ))
            .hint("a registered party must add it first: vouch party add --request ID.request.json --key THEIR.key (the new party makes the file with vouch party request)")
        })?;
        let role = Role::parse(&p.role)?;
        Ok((p.id, role))
    }

    /// Refuse now a key that [`Ledger::append`] would refuse: unregistered, retired by a
    /// rotation or revoked (`FORMAT.md` §14.1). For callers that show what is about to be
    /// signed and ask first: the refusal comes before anything is shown. The check is
    /// `append`'s own, run in a write transaction that writes nothing.
    pub fn check_signing_key(&mut self, key: &SecretKey) -> Result<()> {
        self.signer_party(key)?;
        let fpr = key.public().fingerprint().to_string();
        self.store.write(|w| match w.key(&fpr)? {
            Some(row) => super::keys::check_signer(w, &row),
            None => Ok(()),
        })
    }

    fn target(&self, seq: u64) -> Result<Target> {
        let e = self
            .entry(seq)?
            .ok_or_else(|| Error::new(format!("no entry {seq} in {}", self.path().display())))?;
        let fpr = e.header.signer;
        let party = self.party_of_key(&fpr)?.map(|p| p.id).unwrap_or_default();
        Ok(Target {
            party,
            hash: hex::encode(crypto::sha256(&e.body)),
            kind: e.header.kind,
        })
    }

    fn append_one(
        &mut self,
        key: &SecretKey,
        draft: Draft,
        now: DateTime<Utc>,
    ) -> Result<Appended> {
        let mut a = self.append(key, vec![draft], now, &NoProgress)?;
        a.pop().ok_or_else(|| Error::new("nothing was appended"))
    }

    /// Adopt a matrix version: record its exact bytes and bind its roles to parties.
    pub fn adopt(
        &mut self,
        key: &SecretKey,
        matrix: MatrixRef,
        bytes: Vec<u8>,
        bindings: BTreeMap<String, String>,
        variants: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<Appended> {
        let scope = Scope {
            variants,
            services: Vec::new(),
        };
        self.adopt_scoped(key, matrix, bytes, bindings, scope, now)
    }

    /// Adopt a matrix version for some of its services only (`scope.services`, empty for
    /// all; sorted and deduplicated here), with the variants selected.
    pub fn adopt_scoped(
        &mut self,
        key: &SecretKey,
        matrix: MatrixRef,
        bytes: Vec<u8>,
        bindings: BTreeMap<String, String>,
        scope: Scope,
        now: DateTime<Utc>,
    ) -> Result<Appended> {
        let Scope {
            variants,
            mut services,
        } = scope;
        services.sort_unstable();
        services.dedup();
        let (signer, _) = self.signer_party(key)?;
        let parties = self.parties()?;
        for (role, party) in &bindings {
            let Some(p) = parties.iter().find(|p| &p.id == party) else {
                return Err(Error::new(format!(
                    "--bind {role}={party}: no party {party:?} in this ledger"
                ))
                .hint(format!(
                    "registered parties: {}",
                    parties
                        .iter()
                        .map(|p| p.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            if &p.role != role {
                return Err(Error::new(format!(
                    "--bind {role}={party}: party {party:?} is registered as {}, not {role}",
                    p.role
                )));
            }
        }
        if !bindings.values().any(|p| *p == signer) {
            return Err(Error::new(format!(
                "{signer:?} is not bound to any role of this matrix"
            ))
            .hint(
                "a party adopts a matrix it is bound to; the others acknowledge with vouch cosign",
            ));
        }
        let source = ArtifactSource::from_bytes(&format!("{}.toml", matrix.id), bytes);
        if source.sha256 != matrix.sha256 || source.size != matrix.size {
            return Err(Error::new("internal: matrix hash does not match its bytes"));
        }
        let body = AdoptionPayload {
            bindings,
            matrix,
            services,
            variants,
        };
        // The rules verify applies to the adoption (one owner: `check_adoption`).
        crate::attestation::adopted::check_adoption(&body, source.bytes.as_deref().unwrap_or_default())
            .map_err(|e| Error::new(e).hint("adopt the matrix file as it is, binding each of its roles once, with variants and services it defines"))?;
        let draft = Draft {
            kind: Kind::Adoption,
            payload: payload::encode(&body)?,
            party: None,
            store_artifacts: vec![source],
        };
        self.append_one(key, draft, now)
    }

    /// Acknowledge, dispute or (as auditor) approve another party's entry.
    pub fn cosign(
        &mut self,
        key: &SecretKey,
        seq: u64,
        verdict: Verdict,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Appended> {
        let draft = self.cosign_draft(key, seq, verdict, reason)?;
        self.append_one(key, draft, now)
    }

    /// Check a co-signature as [`Ledger::cosign`] does and make its draft, without
    /// appending it (so a caller can show the target and ask first, then
    /// [`Ledger::append`] the draft).
    pub fn cosign_draft(
        &self,
        key: &SecretKey,
        seq: u64,
        verdict: Verdict,
        reason: Option<String>,
    ) -> Result<Draft> {
        let (signer, role) = self.signer_party(key)?;
        let t = self.target(seq)?;
        if let Err(why) = payload::cosign_target(t.kind, verdict) {
            return Err(Error::new(format!("entry {seq}: vouch cosign {why}"))
                .hint("vouch show SEQ tells what an entry is; co-sign the evidence, adoption, waiver or delegation itself"));
        }
        if t.party == signer {
            return Err(Error::new(format!("entry {seq} is {signer}'s own entry"))
                .hint("co-signatures come from the other parties; to withdraw your own entry use vouch retract"));
        }
        if verdict == Verdict::Approve && role != Role::Auditor {
            return Err(
                Error::new(format!("{signer} is a {role}; only an auditor approves"))
                    .hint("use --ack to acknowledge or --dispute REASON to dispute"),
            );
        }
        if let Some(r) = &reason {
            check_text("reason", r, 4096)?;
        } else if verdict == Verdict::Dispute {
            return Err(Error::new("a dispute needs a reason"));
        }
        let body = CosignPayload {
            entry: seq,
            entry_sha256: t.hash,
            reason,
            verdict,
        };
        plain(Kind::Cosign, &body)
    }

    /// Check a management response as `verify` does (`FORMAT.md` §4 `response`) and make
    /// its draft, without appending it: to the evidence entry `seq`, or (`seq` `None`) to
    /// the duty of `item` in `period`. The signer is not an auditor, and is the evidence's
    /// signer or a party an adoption binds.
    pub fn respond_draft(&self, key: &SecretKey, to: &Responded, text: String) -> Result<Draft> {
        let (signer, role) = self.signer_party(key)?;
        check_text("--text", &text, crate::format::rules::MAX_RESPONSE)?;
        let bound = || {
            self.adoptions().is_ok_and(|list| {
                list.iter()
                    .any(|(_, a, _)| a.bindings.values().any(|p| *p == signer))
            })
        };
        let (body, own) = match to {
            Responded::Entry(seq) => {
                let t = self.target(*seq)?;
                if let Err(why) = payload::response_target(t.kind) {
                    return Err(Error::new(format!("entry {seq}: vouch respond {why}"))
                        .hint("respond to the evidence entry an exception names (vouch status, vouch report), or to a duty without evidence with --item ITEM --period P"));
                }
                let body = ResponsePayload {
                    entry: Some(*seq),
                    entry_sha256: Some(t.hash),
                    item: None,
                    period: None,
                    text,
                };
                (body, t.party == signer)
            }
            Responded::Duty { item, period } => {
                if let Some(adopted) = crate::attestation::adopted::current(self)? {
                    crate::attestation::adopted::check_item_exists(&adopted, item, "--item")?;
                }
                let body = ResponsePayload {
                    entry: None,
                    entry_sha256: None,
                    item: Some(item.clone()),
                    period: Some(PeriodRef {
                        from: period.from.to_string(),
                        to: period.to.to_string(),
                    }),
                    text,
                };
                (body, false)
            }
        };
        payload::responder(Some(role), own, bound).map_err(|why| {
            Error::new(format!("{signer} {why}")).hint(
                "a party bound by the adopted matrix, or the party whose evidence it is, responds",
            )
        })?;
        rule(body.check())?;
        plain(Kind::Response, &body)
    }

    /// Withdraw one of the signer's own earlier entries.
    pub fn retract(
        &mut self,
        key: &SecretKey,
        seq: u64,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<Appended> {
        let draft = self.retract_draft(key, seq, reason)?;
        self.append_one(key, draft, now)
    }

    /// Check a retraction as [`Ledger::retract`] does and make its draft, without
    /// appending it.
    pub fn retract_draft(&self, key: &SecretKey, seq: u64, reason: String) -> Result<Draft> {
        let (signer, _) = self.signer_party(key)?;
        check_text("reason", &reason, 4096)?;
        let t = self.target(seq)?;
        if t.party != signer {
            return Err(Error::new(format!("entry {seq} was signed by {}, not {signer}", t.party))
                .hint("only its author retracts an entry; dispute another party's entry with vouch cosign SEQ --dispute REASON"));
        }
        if matches!(t.kind, Kind::Genesis | Kind::Party) {
            return Err(Error::new(format!(
                "entry {seq} is a {} entry, which cannot be retracted",
                t.kind
            )));
        }
        if let Err(why) = payload::retraction_target(t.kind) {
            return Err(Error::new(format!("entry {seq}: vouch retract {why}")));
        }
        let body = RetractionPayload {
            entry: seq,
            entry_sha256: t.hash,
            reason,
        };
        plain(Kind::Retraction, &body)
    }

    /// Declare an item not applicable in this ledger, with a reason.
    pub fn waive(
        &mut self,
        key: &SecretKey,
        item: &str,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<Appended> {
        let mut a = self.waive_items(key, &[item.to_string()], reason, now)?;
        a.pop().ok_or_else(|| Error::new("nothing was appended"))
    }

    /// Waive several items with one reason, one entry each, in one transaction (all or
    /// none). Once a matrix is adopted every item must be one of its items.
    pub fn waive_items(
        &mut self,
        key: &SecretKey,
        items: &[String],
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<Vec<Appended>> {
        self.signer_party(key)?;
        check_text("reason", &reason, 4096)?;
        self.check_items(items)?;
        let mut drafts = Vec::new();
        for item in items {
            let body = WaiverPayload {
                item: item.clone(),
                reason: reason.clone(),
            };
            drafts.push(plain(Kind::Waiver, &body)?);
        }
        self.append(key, drafts, now, &NoProgress)
    }

    /// Have another party perform an item; the signer stays accountable.
    pub fn delegate(
        &mut self,
        key: &SecretKey,
        item: &str,
        to: &str,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Appended> {
        let mut a = self.delegate_items(key, &[item.to_string()], to, note, now)?;
        a.pop().ok_or_else(|| Error::new("nothing was appended"))
    }

    /// Delegate several items to one party, one entry each, in one transaction (all or
    /// none). Once a matrix is adopted every item must be one of its items.
    pub fn delegate_items(
        &mut self,
        key: &SecretKey,
        items: &[String],
        to: &str,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Appended>> {
        let (signer, _) = self.signer_party(key)?;
        if to == signer {
            return Err(Error::new("a party cannot delegate to itself"));
        }
        if !self.parties()?.iter().any(|p| p.id == to) {
            return Err(
                Error::new(format!("--to {to}: no party {to:?} in this ledger")).hint(
                    "register the third party first: vouch party add ID --role third-party …",
                ),
            );
        }
        if let Some(n) = &note {
            check_text("note", n, 4096)?;
        }
        self.check_items(items)?;
        let mut drafts = Vec::new();
        for item in items {
            let body = DelegationPayload {
                item: item.clone(),
                note: note.clone(),
                to: to.to_string(),
            };
            drafts.push(plain(Kind::Delegation, &body)?);
        }
        self.append(key, drafts, now, &NoProgress)
    }

    /// At least one item, each valid text and, once a matrix is adopted, one of its items.
    fn check_items(&self, items: &[String]) -> Result<()> {
        if items.is_empty() {
            return Err(Error::new("no item given"));
        }
        for item in items {
            super::rule(crate::format::rules::item(item))?;
        }
        if let Some((_, _, m)) = crate::attestation::adopted::current(self)? {
            m.select_items(items, &[], &[])?;
        }
        Ok(())
    }

    /// Every adoption in the ledger, oldest first, with its matrix bytes.
    pub fn adoptions(&self) -> Result<Vec<(u64, AdoptionPayload, Vec<u8>)>> {
        let mut out = Vec::new();
        for row in self.entries_of_kind(Kind::Adoption, None)? {
            let seq = row.seq();
            let a: AdoptionPayload = payload::decode(&row.payload)
                .map_err(|e| Error::new(format!("entry {seq}: {e}")))?;
            let bytes = self.artifact_bytes(&a.matrix.sha256)?.ok_or_else(|| {
                Error::new(format!(
                    "entry {seq}: adopted matrix {} is not stored",
                    a.matrix.id
                ))
            })?;
            if hex::encode(crypto::sha256(&bytes)) != a.matrix.sha256 {
                return Err(Error::new(format!(
                    "entry {seq}: stored matrix does not match its hash"
                ))
                .hint("run vouch verify"));
            }
            out.push((seq, a, bytes));
        }
        Ok(out)
    }

    /// Sign a checkpoint of every entry so far (`FORMAT.md` §13) and record it as a
    /// `checkpoint` entry. Returns the entry and the signed note to hand out.
    pub fn checkpoint(
        &mut self,
        key: &SecretKey,
        now: DateTime<Utc>,
    ) -> Result<(Appended, crate::format::checkpoint::Note)> {
        self.signer_party(key)?;
        let size = self.size()?;
        let root = self.merkle_root(size)?;
        let note = crate::format::checkpoint::sign_vouch(&self.id()?, size, root, key)?;
        let body = payload::CheckpointPayload {
            note: note.to_string(),
            root: hex::encode(root),
            size,
        };
        let draft = plain(Kind::Checkpoint, &body)?;
        let appended = self.append(key, vec![draft], now, &NoProgress)?;
        let a = appended
            .into_iter()
            .next()
            .ok_or_else(|| Error::new("internal: checkpoint not appended"))?;
        Ok((a, note))
    }
}
