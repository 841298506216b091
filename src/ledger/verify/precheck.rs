//! Pre-check of one stored entry row, on its own (`schema/FORMAT.md` §7): hash the entry
//! text, parse its header and payload, and compare the derived columns (hash, time, kind,
//! signer, item) with the signed bytes. Rows need nothing from each other here, so a chunk
//! is pre-checked in parallel before the in-order walk.

use super::{Check, Finding};
use crate::crypto::{self, PublicKey};
use crate::format::entry::{EntryHeader, Kind, raw_value};
use crate::format::merkle;
use crate::format::payload::{
    self, AdoptionPayload, CheckpointPayload, CosignPayload, DelegationPayload, EvidencePayload,
    KeyRevocationPayload, KeyRotationPayload, PartyPayload, ResponsePayload, RetractionPayload,
    SignoffPayload, WaiverPayload,
};
use crate::ledger::store::EntryRow;

/// An entry's payload, parsed by kind.
pub(super) enum Parsed {
    Party(PartyPayload, Option<PublicKey>),
    /// Evidence: only its stored artefacts, all the walk needs (the payload was checked and
    /// is dropped on the thread that decoded it: verify decodes every payload).
    Evidence(Vec<crate::format::payload::ArtifactRef>),
    Adoption(AdoptionPayload),
    Cosign(CosignPayload),
    Retraction(RetractionPayload),
    Waiver(WaiverPayload),
    Delegation(DelegationPayload),
    Signoff(SignoffPayload),
    Checkpoint(CheckpointPayload),
    KeyRotation(KeyRotationPayload),
    KeyRevocation(KeyRevocationPayload),
    Response(ResponsePayload),
}

impl Parsed {
    /// The item an entry is about (the derived `item` column), evidence aside.
    fn item(&self) -> Option<&str> {
        match self {
            Parsed::Waiver(w) => Some(&w.item),
            Parsed::Delegation(d) => Some(&d.item),
            _ => None,
        }
    }
}

/// What the walk and the derived-column check need of evidence a trusted checkpoint covers
/// (`FORMAT.md` §7.1): its payload bytes are bound, through the payload hash in the entry
/// text, to those the checkpoint's signer verified in full, so its rules are not checked
/// again; only the item and the artefacts are read.
#[derive(serde::Deserialize)]
struct EvidenceFacts<'a> {
    #[serde(borrow)]
    item: std::borrow::Cow<'a, str>,
    #[serde(default)]
    artifacts: Vec<crate::format::payload::ArtifactRef>,
}

/// [`decode_evidence`] of evidence a trusted checkpoint covers: item and stored artefacts
/// only.
fn vouched_evidence(bytes: &[u8], item: &mut Option<String>) -> Result<Parsed, String> {
    let e: EvidenceFacts<'_> = serde_json::from_slice(bytes)
        .map_err(|e| format!("payload does not match its kind: {e}"))?;
    *item = Some(e.item.into_owned());
    Ok(Parsed::Evidence(
        e.artifacts.into_iter().filter(|a| a.stored).collect(),
    ))
}

/// Decode evidence, and keep its item (for the derived column) and stored artefacts.
fn decode_evidence(
    bytes: &[u8],
    h: &EntryHeader,
    item: &mut Option<String>,
) -> Result<Parsed, String> {
    let e = payload::decode_entry::<EvidencePayload>(bytes, h)?;
    let stored = e.artifacts.into_iter().filter(|a| a.stored).collect();
    *item = Some(e.item);
    Ok(Parsed::Evidence(stored))
}

fn decode_as<T: serde::de::DeserializeOwned + serde::Serialize + payload::Checked>(
    bytes: &[u8],
    h: &EntryHeader,
    wrap: fn(T) -> Parsed,
) -> Result<Parsed, String> {
    payload::decode_entry::<T>(bytes, h).map(wrap)
}

/// A stored row after its pre-check.
pub(super) struct Pre {
    pub(super) row: EntryRow,
    pub(super) header: std::result::Result<EntryHeader, String>,
    pub(super) hash: [u8; 32],
    /// Merkle leaf hash of the entry text.
    pub(super) leaf: [u8; 32],
    pub(super) parsed: Option<Parsed>,
    pub(super) findings: Vec<Finding>,
}

/// Pre-check one row. Evidence at or below `vouched` (the size of a trusted checkpoint,
/// `FORMAT.md` §7.1; 0 without one) is read for its item and artefacts only.
pub(super) fn pre_check(row: EntryRow, vouched: u64) -> Pre {
    let seq = u64::try_from(row.seq).unwrap_or(0);
    let hash = crypto::sha256(&row.body);
    let leaf = merkle::leaf_hash(&row.body);
    let mut findings = Vec::new();
    let mut f = |check, what: String| findings.push(Finding { seq, check, what });
    let header = EntryHeader::parse(&row.body).map_err(|e| e.to_string());
    let mut parsed = None;
    let mut evidence_item = None;
    if row.hash != hash {
        f(
            Check::Derived,
            "stored hash column does not match SHA-256 of the entry text".into(),
        );
    }
    if let Ok(h) = &header {
        if crypto::sha256(&row.payload) != h.payload {
            f(
                Check::Payload,
                "payload bytes do not match the payload hash in the signed entry".into(),
            );
        } else {
            parsed = match h.kind {
                Kind::Genesis | Kind::Party => {
                    match payload::decode_entry::<PartyPayload>(&row.payload, h) {
                        Ok(p) => {
                            // decode_entry checked the key's spelling.
                            let key = PublicKey::from_spki_base64(&p.public_key).ok();
                            Some(Parsed::Party(p, key))
                        }
                        Err(e) => {
                            f(Check::Payload, e);
                            None
                        }
                    }
                }
                kind => {
                    let decoded = match kind {
                        Kind::Evidence if seq <= vouched => {
                            vouched_evidence(&row.payload, &mut evidence_item)
                        }
                        Kind::Evidence => decode_evidence(&row.payload, h, &mut evidence_item),
                        Kind::Adoption => decode_as(&row.payload, h, Parsed::Adoption),
                        Kind::Cosign => decode_as(&row.payload, h, Parsed::Cosign),
                        Kind::Retraction => decode_as(&row.payload, h, Parsed::Retraction),
                        Kind::Waiver => decode_as(&row.payload, h, Parsed::Waiver),
                        Kind::Signoff => decode_as(&row.payload, h, Parsed::Signoff),
                        Kind::Checkpoint => decode_as(&row.payload, h, Parsed::Checkpoint),
                        Kind::KeyRotation => decode_as(&row.payload, h, Parsed::KeyRotation),
                        Kind::KeyRevocation => decode_as(&row.payload, h, Parsed::KeyRevocation),
                        Kind::Response => decode_as(&row.payload, h, Parsed::Response),
                        _ => decode_as(&row.payload, h, Parsed::Delegation),
                    };
                    match decoded {
                        Ok(p) => Some(p),
                        Err(e) => {
                            f(Check::Payload, e);
                            None
                        }
                    }
                }
            };
        }
        if row.time.as_bytes() != raw_value(&row.body, 5) {
            f(
                Check::Derived,
                format!(
                    "stored time column {:?} differs from the signed time",
                    row.time
                ),
            );
        }
        if row.kind.as_bytes() != raw_value(&row.body, 6) {
            f(
                Check::Derived,
                format!(
                    "stored kind column {:?} differs from the signed kind",
                    row.kind
                ),
            );
        }
        if row.signer.as_bytes() != raw_value(&row.body, 7) {
            f(
                Check::Derived,
                "stored signer column differs from the signed signer".into(),
            );
        }
        let item = evidence_item
            .as_deref()
            .or_else(|| parsed.as_ref().and_then(Parsed::item));
        if parsed.is_some() && row.item.as_deref() != item {
            f(
                Check::Derived,
                "stored item column differs from the signed payload".into(),
            );
        }
    }
    Pre {
        row,
        header,
        hash,
        leaf,
        parsed,
        findings,
    }
}
