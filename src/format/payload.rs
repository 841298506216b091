//! Entry payloads: the kind-specific facts, encoded canonically.
//!
//! Implements `schema/FORMAT.md` §4 ("Payloads"). A payload is a JSON object encoded with
//! RFC 8785 (JSON Canonicalization Scheme): sorted keys, no whitespace, shortest numbers.
//! Integers must lie within ±(2^53 − 1) so every JSON implementation reads them exactly.
//! A stored payload must be byte-identical to the canonical encoding of what it parses to;
//! anything else is reported by `verify` as non-canonical.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::crypto::Fingerprint;
use crate::error::{Error, Result};
use crate::format::entry::{Kind, LedgerId, Version};
use crate::format::rules;

/// Largest integer magnitude allowed in a payload (2^53 − 1).
pub const MAX_SAFE_INT: i64 = (1 << 53) - 1;

/// The role a party plays in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The cloud provider.
    Provider,
    /// The provider's customer.
    Customer,
    /// A third party that performs duties on someone's behalf.
    ThirdParty,
    /// An auditor: verifies and approves, has no duties of its own.
    Auditor,
}

impl Role {
    /// All roles, in the order they are listed to users.
    pub const ALL: [Role; 4] = [
        Role::Provider,
        Role::Customer,
        Role::ThirdParty,
        Role::Auditor,
    ];

    /// The spelling in payloads and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Provider => "provider",
            Role::Customer => "customer",
            Role::ThirdParty => "third-party",
            Role::Auditor => "auditor",
        }
    }

    /// Parse a role name.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                Error::new(format!("unknown role {s:?}"))
                    .hint("roles are provider, customer, third-party, auditor")
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of a performed duty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Done, and it worked.
    Pass,
    /// Done, and it did not work.
    Fail,
    /// Done in part.
    Partial,
}

impl Outcome {
    /// The spelling in payloads and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Partial => "partial",
        }
    }

    /// Parse an outcome.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "pass" => Ok(Outcome::Pass),
            "fail" => Ok(Outcome::Fail),
            "partial" => Ok(Outcome::Partial),
            _ => Err(Error::new(format!("unknown outcome {s:?}"))
                .hint("outcomes are pass, fail, partial")),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Payload of `genesis` and `party` entries: a party and its key. Members are declared in
/// sorted order (see [`decode`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyPayload {
    /// Stable id (`[a-z0-9][a-z0-9-]*`, at most 64 bytes).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Format v2, `party` entries only: base64 (standard, padded) of the registered key's
    /// 64-byte Ed25519 signature over the party statement ([`party_statement`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// Base64 of the key's DER SubjectPublicKeyInfo.
    pub public_key: String,
    /// Role.
    pub role: Role,
}

/// An artefact referenced by evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactRef {
    /// File name (no directories).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Whether the content is stored in the ledger.
    pub stored: bool,
}

/// Payload of `evidence` entries. Members are declared in sorted order (see [`decode`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidencePayload {
    /// Artefacts, by hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<ArtifactRef>,
    /// Structured fields (string, number, boolean or list of strings).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Value>,
    /// The matrix item this evidence is for.
    pub item: String,
    /// Evidence kind (`restore-test`, `patch-run`, …).
    pub kind: String,
    /// Free-text note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Outcome.
    pub outcome: Outcome,
    /// When the duty was performed, as claimed by the signer (UTC, whole seconds).
    pub performed_at: String,
    /// Recorded by a party that holds neither R nor A for the item: supporting evidence
    /// that does not fulfil anyone's duty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub supporting: bool,
}

/// Rules a decoded payload must meet beyond its JSON shape (`FORMAT.md` §4), each stated
/// once in [`crate::format::rules`] and applied by writers and `verify` alike.
pub trait Checked {
    /// The rules of the payload's members on their own: spellings, lengths, ranges.
    fn check(&self) -> Result<(), String>;

    /// The rules that need the entry's ledger time (evidence: `performed_at`).
    fn check_at(&self, _time: DateTime<Utc>) -> Result<(), String> {
        Ok(())
    }

    /// The rules that depend on the entry's format version and kind (`FORMAT.md` §8):
    /// members that a version requires or does not know. A member added in a later version
    /// is refused here for the versions before it (see [`since`]).
    fn check_version(&self, _version: Version, _kind: Kind) -> Result<(), String> {
        Ok(())
    }

    /// Whether the payload holds a fractional number (then its canonical encoding is
    /// made by the full RFC 8785 canonicaliser, not serde_json's compact output).
    fn has_fraction(&self) -> bool {
        false
    }
}

/// Prefix a rule's message with `payload `.
fn member(r: Result<(), String>) -> Result<(), String> {
    r.map_err(|e| format!("payload {e}"))
}

impl Checked for PartyPayload {
    fn check(&self) -> Result<(), String> {
        member(rules::party_id(&self.id))?;
        member(rules::party_name(&self.name))?;
        crate::crypto::PublicKey::from_spki_base64(&self.public_key)
            .map_err(|e| format!("payload public_key: {}", e.message()))?;
        if let Some(p) = &self.proof
            && decode_proof(p).is_none()
        {
            return Err("payload proof is not the canonical base64 of a 64-byte signature".into());
        }
        Ok(())
    }

    fn check_version(&self, version: Version, kind: Kind) -> Result<(), String> {
        // The proof of possession is new in v2, and only a `party` entry carries it: a
        // genesis entry is signed by the key it registers, over a text naming the ledger.
        let wants_proof = kind == Kind::Party && version >= Version::V2;
        since(version, Version::V2, "proof", self.proof.is_some())?;
        match (&self.proof, wants_proof) {
            (None, true) => Err(format!(
                "payload of a {version} party entry has no proof (§4: the registered key's proof of possession)"
            )),
            (Some(_), false) if kind == Kind::Genesis => Err(
                "payload of a genesis entry has a proof (§4: genesis is signed by the key it registers)"
                    .into(),
            ),
            _ => Ok(()),
        }
    }
}

/// Refuse a payload member (`present`) in an entry of a version before the one that
/// introduced it (`FORMAT.md` §8): the one place later v2-only members are declared.
pub fn since(version: Version, added: Version, member: &str, present: bool) -> Result<(), String> {
    if present && version < added {
        return Err(format!(
            "payload of a {version} entry has a {member} member, which is new in {added} (§8)"
        ));
    }
    Ok(())
}

impl Checked for EvidencePayload {
    fn check(&self) -> Result<(), String> {
        member(rules::item(&self.item))?;
        member(rules::evidence_kind(&self.kind))?;
        rules::time("performed_at", &self.performed_at).map_err(|e| format!("payload {e}"))?;
        member(rules::fields(&self.fields))?;
        for a in &self.artifacts {
            if let Some(why) = rules::artifact_name_problem(&a.name) {
                return Err(format!("payload artefact name {:?} {why} (§4)", a.name));
            }
            member(rules::hex64(
                &format!("artefact {:?} sha256", a.name),
                &a.sha256,
            ))?;
            if a.size > MAX_SAFE_INT as u64 {
                return Err(format!("payload artefact {:?}: size too large", a.name));
            }
        }
        if let Some(n) = &self.note {
            member(rules::text("note", n, rules::MAX_NOTE))?;
        }
        Ok(())
    }

    fn check_at(&self, time: DateTime<Utc>) -> Result<(), String> {
        let t = rules::time("performed_at", &self.performed_at)?;
        member(rules::performed_at(t, time))
    }

    fn has_fraction(&self) -> bool {
        self.fields.values().any(has_fraction)
    }
}

/// The matrix an adoption binds, by hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixRef {
    /// Effective date of this version (`YYYY-MM-DD`).
    pub effective: String,
    /// Matrix id.
    pub id: String,
    /// SHA-256 of the exact matrix file bytes (stored in the ledger's artefact store).
    pub sha256: String,
    /// Size of the matrix file in bytes.
    pub size: u64,
    /// Matrix version.
    pub version: String,
}

/// Payload of `adoption` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdoptionPayload {
    /// Role id (`provider`, `customer`, `third-party`) → party id.
    pub bindings: BTreeMap<String, String>,
    /// The matrix.
    pub matrix: MatrixRef,
    /// Format v2: the matrix services adopted (sorted, each once); only their items (and
    /// items of no service) are part of the attestation. Empty: every service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Selected matrix variants (contract options).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<String>,
}

/// What a co-signature says about the entry it references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The counterparty acknowledges the entry.
    Ack,
    /// The counterparty disputes it (with a reason).
    Dispute,
    /// An auditor approves it.
    Approve,
}

impl Verdict {
    /// The spelling in payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ack => "ack",
            Verdict::Dispute => "dispute",
            Verdict::Approve => "approve",
        }
    }
}

/// Payload of `cosign` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosignPayload {
    /// Sequence number of the referenced entry.
    pub entry: u64,
    /// Its entry hash.
    pub entry_sha256: String,
    /// Reason (required for a dispute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Ack, dispute or approve.
    pub verdict: Verdict,
}

/// Payload of `retraction` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetractionPayload {
    /// Sequence number of the withdrawn entry.
    pub entry: u64,
    /// Its entry hash.
    pub entry_sha256: String,
    /// Why.
    pub reason: String,
}

/// Payload of `waiver` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiverPayload {
    /// The item that does not apply.
    pub item: String,
    /// Why.
    pub reason: String,
}

/// Payload of `delegation` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegationPayload {
    /// The item delegated.
    pub item: String,
    /// Optional note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The party that performs it.
    pub to: String,
}

/// A period, as payloads spell it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodRef {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day (inclusive), `YYYY-MM-DD`.
    pub to: String,
}

/// Payload of `signoff` entries: a party signs the attestation digest of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignoffPayload {
    /// SHA-256 of the canonical attestation (`FORMAT.md` §11), lowercase hex.
    pub digest: String,
    /// The ledger head the attestation was computed at.
    pub head: u64,
    /// The period.
    pub period: PeriodRef,
    /// Format v2: who signs, and as what (`Jane Roe, CISO`): the signer's statement, not
    /// part of the attestation digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory: Option<String>,
}

/// Payload of `response` entries (format v2): a management response to an exception,
/// naming either an evidence entry (`entry`, `entry_sha256`) or an item's duty in a period
/// (`item`, `period`) — one of the two forms, never both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsePayload {
    /// The evidence entry responded to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<u64>,
    /// Its entry hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_sha256: Option<String>,
    /// Or: the matrix item whose duty is responded to (a duty without evidence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// With `item`: the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<PeriodRef>,
    /// The response: free text, at most 8192 bytes.
    pub text: String,
}

impl Checked for ResponsePayload {
    fn check(&self) -> Result<(), String> {
        match (&self.entry, &self.entry_sha256, &self.item, &self.period) {
            (Some(e), Some(sha), None, None) => {
                check_seq(*e)?;
                member(rules::hex64("entry_sha256", sha))?;
            }
            (None, None, Some(item), Some(p)) => {
                member(rules::item(item))?;
                check_period(p)?;
            }
            _ => {
                return Err("payload names neither an entry (entry and entry_sha256) nor a duty (item and period), or both (§4 response: one form)".into());
            }
        }
        member(rules::text("text", &self.text, rules::MAX_RESPONSE))
    }
}

/// Payload of `checkpoint` entries (`FORMAT.md` §13.6): the signed checkpoint of every
/// entry before this one, as the note the party hands out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointPayload {
    /// The complete signed note (checkpoint text, blank line, signature lines).
    pub note: String,
    /// The Merkle root of entries 1..=size, lowercase hex (also in the note, base64).
    pub root: String,
    /// Number of entries covered: always the checkpoint entry's own seq − 1.
    pub size: u64,
}

impl Checked for CheckpointPayload {
    fn check(&self) -> Result<(), String> {
        if self.size > MAX_SAFE_INT as u64 {
            return Err(format!("payload size {} out of range", self.size));
        }
        if crate::crypto::parse_hex32(&self.root).is_none() {
            return Err("payload root is not 64 lowercase hex digits".into());
        }
        Ok(())
    }
}

/// Payload of `key-rotation` entries (`FORMAT.md` §4, §14): the signer's party replaces the
/// signing key with `public_key`, whose holder proves possession by signing the rotation
/// statement ([`rotation_statement`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRotationPayload {
    /// The party whose key is replaced: always the signer's party.
    pub party: String,
    /// Base64 (standard, padded) of the new key's 64-byte Ed25519 signature over the
    /// rotation statement.
    pub proof: String,
    /// The new key: base64 of its DER SubjectPublicKeyInfo (`FORMAT.md` §2).
    pub public_key: String,
}

impl Checked for KeyRotationPayload {
    fn check(&self) -> Result<(), String> {
        member(rules::party_id(&self.party))?;
        crate::crypto::PublicKey::from_spki_base64(&self.public_key)
            .map_err(|e| format!("payload public_key: {}", e.message()))?;
        if decode_proof(&self.proof).is_none() {
            return Err("payload proof is not the canonical base64 of a 64-byte signature".into());
        }
        Ok(())
    }
}

/// Payload of `key-revocation` entries (`FORMAT.md` §4, §14): the signer's party revokes
/// one of its retired keys from `since` on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRevocationPayload {
    /// Fingerprint of the revoked key, 64 lowercase hex.
    pub key: String,
    /// Why (for example: "laptop stolen on 2026-08-02").
    pub reason: String,
    /// From when the key is no longer trusted (`FORMAT.md` §1 time spelling); at or before
    /// the revocation entry's own time.
    pub since: String,
}

impl Checked for KeyRevocationPayload {
    fn check(&self) -> Result<(), String> {
        if crate::crypto::Fingerprint::parse(&self.key).is_none() {
            return Err("payload key is not a 64-hex-digit key fingerprint".into());
        }
        if crate::format::entry::parse_time(&self.since).is_none() {
            return Err("payload since is not a time spelt YYYY-MM-DDTHH:MM:SSZ".into());
        }
        member(rules::text("reason", &self.reason, rules::MAX_REASON))
    }
}

/// A period's days: spelt `YYYY-MM-DD`, `from` not after `to`.
fn check_period(p: &PeriodRef) -> Result<(), String> {
    let from = rules::date("period from", &p.from).map_err(|e| format!("payload {e}"))?;
    let to = rules::date("period to", &p.to).map_err(|e| format!("payload {e}"))?;
    if from > to {
        return Err(format!(
            "payload period from {} is after its to {}",
            p.from, p.to
        ));
    }
    Ok(())
}

impl Checked for SignoffPayload {
    fn check(&self) -> Result<(), String> {
        check_seq(self.head)?;
        member(rules::hex64("digest", &self.digest))?;
        check_period(&self.period)?;
        if let Some(s) = &self.signatory {
            member(rules::signatory(s))?;
        }
        Ok(())
    }

    fn check_version(&self, version: Version, _kind: Kind) -> Result<(), String> {
        since(version, Version::V2, "signatory", self.signatory.is_some())
    }
}

/// The matrix roles an adoption binds (`FORMAT.md` §4 `adoption`).
pub const MATRIX_ROLES: [&str; 3] = ["provider", "customer", "third-party"];

impl Checked for AdoptionPayload {
    fn check(&self) -> Result<(), String> {
        if self.matrix.size > MAX_SAFE_INT as u64 {
            return Err("payload matrix size too large".into());
        }
        member(rules::hex64("matrix sha256", &self.matrix.sha256))?;
        rules::date("matrix effective", &self.matrix.effective)
            .map_err(|e| format!("payload {e}"))?;
        if self.bindings.is_empty() {
            return Err("payload bindings is empty (§4: every role of the matrix is bound)".into());
        }
        for (role, party) in &self.bindings {
            if !MATRIX_ROLES.contains(&role.as_str()) {
                return Err(format!(
                    "payload binds {role:?}, which is not a matrix role (§4: provider, customer, third-party)"
                ));
            }
            member(rules::party_id(party))?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for v in &self.variants {
            if !seen.insert(v) {
                return Err(format!("payload selects variant {v:?} twice"));
            }
        }
        member(rules::sorted_unique("services", &self.services))
    }

    fn check_version(&self, version: Version, _kind: Kind) -> Result<(), String> {
        since(version, Version::V2, "services", !self.services.is_empty())
    }
}

impl Checked for CosignPayload {
    fn check(&self) -> Result<(), String> {
        check_seq(self.entry)?;
        member(rules::hex64("entry_sha256", &self.entry_sha256))?;
        if let Some(r) = &self.reason {
            member(rules::text("reason", r, rules::MAX_REASON))?;
        }
        Ok(())
    }
}

impl Checked for RetractionPayload {
    fn check(&self) -> Result<(), String> {
        check_seq(self.entry)?;
        member(rules::hex64("entry_sha256", &self.entry_sha256))?;
        member(rules::text("reason", &self.reason, rules::MAX_REASON))
    }
}

impl Checked for WaiverPayload {
    fn check(&self) -> Result<(), String> {
        member(rules::item(&self.item))?;
        member(rules::text("reason", &self.reason, rules::MAX_REASON))
    }
}

impl Checked for DelegationPayload {
    fn check(&self) -> Result<(), String> {
        member(rules::item(&self.item))?;
        member(rules::party_id(&self.to))?;
        if let Some(n) = &self.note {
            member(rules::text("note", n, rules::MAX_REASON))?;
        }
        Ok(())
    }
}

fn check_seq(seq: u64) -> Result<(), String> {
    if seq == 0 || seq > MAX_SAFE_INT as u64 {
        return Err(format!("payload entry {seq} out of range"));
    }
    Ok(())
}

/// Encode a payload canonically (RFC 8785).
///
/// The payload structs declare their members in sorted order and keep maps in `BTreeMap`s,
/// so serde_json's compact output already is RFC 8785 when every number is an integer; a
/// payload with a fractional number goes through the full canonicaliser.
pub fn encode<T: Serialize>(payload: &T) -> Result<Vec<u8>> {
    let value = serde_json::to_value(payload)
        .map_err(|e| Error::new(format!("cannot encode payload: {e}")))?;
    check_numbers(&value)?;
    let out = if has_fraction(&value) {
        serde_json_canonicalizer::to_vec(&value)
    } else {
        serde_json::to_vec(&value)
    };
    out.map_err(|e| Error::new(format!("cannot encode payload: {e}")))
}

fn has_fraction(value: &Value) -> bool {
    match value {
        Value::Number(n) => !(n.is_i64() || n.is_u64()),
        Value::Array(a) => a.iter().any(has_fraction),
        Value::Object(o) => o.values().any(has_fraction),
        _ => false,
    }
}

/// Refuse numbers a canonical encoding could not carry exactly.
pub fn check_numbers(value: &Value) -> Result<()> {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                if !(-MAX_SAFE_INT..=MAX_SAFE_INT).contains(&i) {
                    return Err(Error::new(format!(
                        "number {i} is too large (limit ±2^53−1)"
                    )));
                }
            } else if n.as_u64().is_some() {
                return Err(Error::new(format!(
                    "number {n} is too large (limit ±2^53−1)"
                )));
            } else if !n.as_f64().is_some_and(f64::is_finite) {
                return Err(Error::new(format!("number {n} is not finite")));
            }
            Ok(())
        }
        Value::Array(a) => a.iter().try_for_each(check_numbers),
        Value::Object(o) => o.values().try_for_each(check_numbers),
        _ => Ok(()),
    }
}

/// Decode stored payload bytes, requiring them to be the one spelling of what they hold
/// (`FORMAT.md` §1, §4), and check the rules of its members ([`Checked::check`]).
///
/// The stored bytes must equal [`encode`] of the decoded payload: so a number spelt two
/// ways (`7.0`, `1e-6`), an optional member given as `null` or `false`, an empty optional
/// list or object, or any non-RFC 8785 spelling is refused. Fast path: the payload structs
/// declare their members in sorted order and hold maps as `BTreeMap`, so plain serde_json
/// output equals RFC 8785 whenever the payload has no fractional number.
pub fn decode<T: DeserializeOwned + Serialize + Checked>(bytes: &[u8]) -> Result<T, String> {
    let v: T = match serde_json::from_slice::<T>(bytes) {
        Ok(v) => v,
        Err(e) => {
            return Err(match serde_json::from_slice::<Value>(bytes) {
                Err(e) => format!("payload is not JSON: {e}"),
                Ok(x) if !x.is_object() => "payload is not a JSON object".into(),
                Ok(_) => format!("payload does not match its kind: {e}"),
            });
        }
    };
    // Fast path: serde_json's compact output of a struct declared in sorted order without
    // fractional numbers is RFC 8785; otherwise `encode` (through a sorted `Value`) decides.
    let same = (!v.has_fraction() && spells(&v, bytes)) || encode(&v).is_ok_and(|b| b == bytes);
    if !same {
        return Err(non_canonical(bytes));
    }
    v.check()?;
    Ok(v)
}

/// Whether serde_json's compact output of `v` is exactly `bytes`, compared as it is written
/// (no buffer: `verify` decodes every payload of the ledger).
pub(crate) fn spells<T: Serialize>(v: &T, bytes: &[u8]) -> bool {
    /// Compares what is written with the rest of `expected`.
    struct Same<'b> {
        expected: &'b [u8],
    }
    impl std::io::Write for Same<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            match self.expected.strip_prefix(buf) {
                Some(rest) => {
                    self.expected = rest;
                    Ok(buf.len())
                }
                None => Err(std::io::ErrorKind::InvalidData.into()),
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = Same { expected: bytes };
    serde_json::to_writer(&mut w, v).is_ok() && w.expected.is_empty()
}

/// Decode an entry's payload ([`decode`]) and check the rules that need its entry text
/// (`FORMAT.md` §4, §8): against the entry's ledger time ([`Checked::check_at`]) and for its
/// format version ([`Checked::check_version`]). What `verify` applies to every entry.
pub fn decode_entry<T: DeserializeOwned + Serialize + Checked>(
    bytes: &[u8],
    h: &crate::format::entry::EntryHeader,
) -> Result<T, String> {
    let v = decode::<T>(bytes)?;
    v.check_at(h.time)?;
    v.check_version(h.version, h.kind)?;
    Ok(v)
}

/// Why bytes that decode are still not the canonical spelling, as precisely as can be said.
fn non_canonical(bytes: &[u8]) -> String {
    let rule = "(§1, §4: one spelling: RFC 8785, optional members omitted, never null or false)";
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return format!("payload is not in canonical form {rule}");
    };
    if has_null(&value) {
        return format!("payload has a null member {rule}");
    }
    match serde_json_canonicalizer::to_vec(&value) {
        Ok(c) if c != bytes => format!("payload is not in canonical form (RFC 8785) {rule}"),
        _ => format!("payload spells a default value of an optional member {rule}"),
    }
}

fn has_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(a) => a.iter().any(has_null),
        Value::Object(o) => o.values().any(has_null),
        _ => false,
    }
}

// ---- What entries may refer to (FORMAT.md §4) ----------------------------------------------

/// Whether a co-signature with `verdict` may refer to an entry of kind `target`
/// (`FORMAT.md` §4, `cosign`): acknowledgements and disputes concern evidence, adoptions,
/// waivers and delegations; approvals concern evidence only. `Err` says why not.
pub fn cosign_target(
    target: crate::format::entry::Kind,
    verdict: Verdict,
) -> std::result::Result<(), String> {
    use crate::format::entry::Kind;
    match (target, verdict) {
        (Kind::Evidence, _) => Ok(()),
        (Kind::Adoption | Kind::Waiver | Kind::Delegation, Verdict::Ack | Verdict::Dispute) => {
            Ok(())
        }
        (_, Verdict::Approve) => Err(format!(
            "approves a {target} entry: an auditor approves evidence only"
        )),
        _ => Err(format!(
            "co-signs a {target} entry: only evidence, adoptions, waivers and delegations are acknowledged or disputed"
        )),
    }
}

/// Whether a retraction may refer to an entry of kind `target` (`FORMAT.md` §4,
/// `retraction`): its author withdraws evidence, a co-signature, a waiver, a delegation or
/// a response;
/// registrations, adoptions, retractions, sign-offs, checkpoints and key history stay.
pub fn retraction_target(target: crate::format::entry::Kind) -> std::result::Result<(), String> {
    use crate::format::entry::Kind;
    match target {
        Kind::Evidence | Kind::Cosign | Kind::Waiver | Kind::Delegation | Kind::Response => Ok(()),
        _ => Err(format!(
            "retracts a {target} entry: only evidence, co-signatures, waivers, delegations and responses are retracted"
        )),
    }
}

/// Whether a response may refer to an entry of kind `target` (`FORMAT.md` §4,
/// `response`): a management response answers an exception, so it names evidence only.
pub fn response_target(target: crate::format::entry::Kind) -> std::result::Result<(), String> {
    if target == crate::format::entry::Kind::Evidence {
        Ok(())
    } else {
        Err(format!(
            "responds to entry of kind {target}: a response names an evidence entry (or an item and a period)"
        ))
    }
}

/// Whether a party may respond (`FORMAT.md` §4, `response`): never an auditor (who judges,
/// not responds); the party that signed the evidence responded to (`own`), or a party an
/// earlier adoption binds (`bound`). `Err` says why not, after the party's id.
pub fn responder(
    role: Option<Role>,
    own: bool,
    bound: impl FnOnce() -> bool,
) -> std::result::Result<(), String> {
    if role == Some(Role::Auditor) {
        return Err(
            "is an auditor: auditors do not respond to exceptions (they dispute or approve)".into(),
        );
    }
    if own || bound() {
        Ok(())
    } else {
        Err("responds, but no adoption binds it and the evidence is not its own (§4 response: a bound party, or the evidence's signer)".into())
    }
}

// ---- Key rotation statement (FORMAT.md §14.2) ---------------------------------------------

/// First line of the rotation statement: format, version and domain separator (no entry
/// text or checkpoint starts with it, so a proof can never pass for another signature).
pub const ROTATION_MAGIC: &str = "vouch/v1 key-rotation";

/// The rotation statement (`FORMAT.md` §14.2) that the new key signs: five lines, each
/// ending in one LF, binding the format version, the ledger, the party and both keys.
pub fn rotation_statement(
    ledger: &LedgerId,
    party: &str,
    old: &Fingerprint,
    new: &Fingerprint,
) -> String {
    format!("{ROTATION_MAGIC}\nledger: {ledger}\nparty: {party}\nold: {old}\nnew: {new}\n")
}

// ---- Party statement (FORMAT.md §14.6) -----------------------------------------------------

/// First line of the party statement: format, version and domain separator.
pub const PARTY_MAGIC: &str = "vouch/v2 party";

/// The party statement (`FORMAT.md` §14.6) that a key being registered signs (format v2):
/// six lines, each ending in one LF, binding the ledger, the party id, its display name,
/// its role and the key. The name holds no control character (§4), so no line can bleed
/// into another.
pub fn party_statement(
    ledger: &LedgerId,
    party: &str,
    name: &str,
    role: Role,
    key: &Fingerprint,
) -> String {
    format!(
        "{PARTY_MAGIC}\nledger: {ledger}\nparty: {party}\nname: {name}\nrole: {role}\nkey: {key}\n"
    )
}

/// The payload spelling of a proof: standard padded base64 of the 64-byte signature.
pub fn encode_proof(signature: &[u8; 64]) -> String {
    crate::crypto::base64_encode(signature)
}

/// Read a proof, accepting only the canonical spelling [`encode_proof`] writes.
pub fn decode_proof(s: &str) -> Option<[u8; 64]> {
    crate::crypto::base64_decode(s)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_and_strict() {
        let p = PartyPayload {
            id: "acme".into(),
            name: "Acme".into(),
            proof: None,
            role: Role::Customer,
            public_key: crate::crypto::SecretKey::from_seed(&[1; 32])
                .public()
                .spki_base64(),
        };
        let bytes = encode(&p).unwrap();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            format!(
                r#"{{"id":"acme","name":"Acme","public_key":"{}","role":"customer"}}"#,
                p.public_key
            )
        );
        assert_eq!(decode::<PartyPayload>(&bytes).unwrap(), p);
        assert!(
            decode::<PartyPayload>(
                br#"{"name":"Acme","id":"acme","public_key":"x","role":"customer"}"#
            )
            .is_err()
        );
        assert!(
            decode::<PartyPayload>(
                br#"{"id":"acme","name":"Acme","public_key":"x","role":"customer","x":1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn the_party_proof_belongs_to_v2_party_entries() {
        let mut p = PartyPayload {
            id: "acme".into(),
            name: "Acme".into(),
            proof: None,
            public_key: crate::crypto::SecretKey::from_seed(&[1; 32])
                .public()
                .spki_base64(),
            role: Role::Customer,
        };
        assert!(p.check_version(Version::V1, Kind::Party).is_ok());
        assert!(p.check_version(Version::V2, Kind::Genesis).is_ok());
        assert!(p.check_version(Version::V2, Kind::Party).is_err());
        p.proof = Some(encode_proof(&[0; 64]));
        assert!(p.check_version(Version::V2, Kind::Party).is_ok());
        let e = p.check_version(Version::V1, Kind::Party).unwrap_err();
        assert!(e.contains("new in vouch/v2"), "{e}");
        let e = p.check_version(Version::V2, Kind::Genesis).unwrap_err();
        assert!(e.contains("genesis"), "{e}");
    }

    #[test]
    fn services_signatory_and_responses_are_v2_only() {
        let so = SignoffPayload {
            digest: "ab".repeat(32),
            head: 4,
            period: PeriodRef {
                from: "2026-07-01".into(),
                to: "2026-09-30".into(),
            },
            signatory: Some("Jane Roe, CISO".into()),
        };
        assert!(so.check().is_ok());
        assert!(so.check_version(Version::V2, Kind::Signoff).is_ok());
        let e = so.check_version(Version::V1, Kind::Signoff).unwrap_err();
        assert!(
            e.contains("signatory member, which is new in vouch/v2"),
            "{e}"
        );
        let mut a = AdoptionPayload {
            bindings: [("provider".to_string(), "p".to_string())].into(),
            matrix: MatrixRef {
                effective: "2026-01-01".into(),
                id: "m".into(),
                sha256: "ab".repeat(32),
                size: 1,
                version: "1".into(),
            },
            services: vec!["vps".into()],
            variants: vec![],
        };
        assert!(a.check().is_ok());
        let e = a.check_version(Version::V1, Kind::Adoption).unwrap_err();
        assert!(
            e.contains("services member, which is new in vouch/v2"),
            "{e}"
        );
        a.services = vec!["vps".into(), "db".into()];
        assert!(a.check().unwrap_err().contains("not sorted"));
        assert_eq!(Kind::Response.since(), Version::V2);
        let r = ResponsePayload {
            entry: Some(5),
            entry_sha256: Some("ab".repeat(32)),
            item: None,
            period: None,
            text: "fixed\nin SEC-10".into(),
        };
        assert!(r.check().is_ok());
        let both = ResponsePayload {
            item: Some("a.b".into()),
            ..r.clone()
        };
        assert!(both.check().unwrap_err().contains("one form"));
        assert!(responder(Some(Role::Auditor), true, || true).is_err());
        assert!(responder(Some(Role::Customer), false, || false).is_err());
        assert!(responder(Some(Role::ThirdParty), true, || false).is_ok());
    }
    #[test]
    fn fast_path_is_rfc8785() {
        let v = serde_json::json!({"b": [1, "x\u{1}\"\\é\u{2028}"], "a": {"z": true, "y": null}, "n": -45, "f": 1.5e-7, "g": 1e21});
        let jcs = serde_json_canonicalizer::to_vec(&v).unwrap();
        assert_eq!(encode(&v).unwrap(), jcs);
        let w = serde_json::json!({"b": [1, "x\u{1}\"\\é\u{7f}"], "a": {"z": true, "y": null}, "n": -45});
        assert_eq!(
            encode(&w).unwrap(),
            serde_json_canonicalizer::to_vec(&w).unwrap()
        );
    }

    #[test]
    fn big_integers_refused() {
        let v = serde_json::json!({"n": 9_007_199_254_740_993_u64});
        assert!(check_numbers(&v).is_err());
        assert!(check_numbers(&serde_json::json!({"n": 45, "f": 1.5})).is_ok());
    }
}
