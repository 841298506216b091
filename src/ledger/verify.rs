//! Verification: re-derive everything from the signed bytes and say what does not hold.
//!
//! Implements `schema/FORMAT.md` §7. A finding is a result, not an error: [`verify`] returns
//! `Err` only when it could not run (no file, not a ledger, I/O). It streams the ledger in
//! chunks (memory flat in ledger size): a reader thread fetches rows while the chunk before
//! is hashed and parsed in parallel, checked in order (sequence, chain, time, key registry),
//! and its signatures batch-verified on every core. A failed batch is re-checked one
//! signature at a time so the entry can be named. The Merkle tree (§12) is rebuilt leaf by
//! leaf on the way (O(log n) memory) and every stored node is compared with it. Key history
//! (§14) is followed on the way too: which key is valid at each entry, and which entries a
//! later-revoked key signed after its `since` ([`verify_noting_revoked`]).

use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::mpsc;

use super::keys::{self, RETIRED, REVOKED};
use super::store::{self, Access, Engine, EntryRow, KeyEventRow, KeyRow, NodeRow, PartyRow};
use super::{Progress, check_party_id};
use crate::crypto::{self, Fingerprint, Hasher, PublicKey};
use crate::error::Result;
use crate::format::entry::{EntryHeader, Kind, LedgerId, ZERO_HASH, format_time, raw_value};
use crate::format::merkle;
use crate::format::payload::{
    self, AdoptionPayload, CheckpointPayload, CosignPayload, DelegationPayload, EvidencePayload,
    KeyRevocationPayload, KeyRotationPayload, PartyPayload, RetractionPayload, Role,
    SignoffPayload, Verdict, WaiverPayload,
};
use chrono::{DateTime, Utc};

/// Rows fetched and checked per step.
const CHUNK: usize = 8192;
/// Signatures per batch verification.
const BATCH: usize = 2048;

/// Stray `merkle_nodes` rows reported at most.
const STRAY_NODES: usize = 20;

/// A chunk whose signatures are being checked: the pending result, the chunk's other
/// findings, and its size.
type InFlight = (mpsc::Receiver<Vec<Finding>>, Vec<Finding>, u64);

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Pinned key fingerprints: every key registered in the ledger must be one of them.
    pub trust: Option<Vec<Fingerprint>>,
    /// Re-hash every stored artefact.
    pub artifacts: bool,
    /// Report every problem, not just the first.
    pub all: bool,
}

/// Kinds of finding, in the order they are reported within one entry (lowest level first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// Entry text does not parse.
    Format,
    /// Entry missing from the sequence.
    Missing,
    /// Signature invalid.
    Signature,
    /// Payload bytes do not match the signed hash, or do not parse.
    Payload,
    /// Entry stored under another seq, or belongs to another ledger.
    Position,
    /// `prev` does not link to the previous entry.
    Chain,
    /// Time goes backwards.
    Time,
    /// Signer unknown, or registry rule broken.
    Registry,
    /// Key not among the pinned keys.
    Trust,
    /// A derived column or table disagrees with the signed bytes.
    Derived,
    /// A reference to another entry, party or stored document does not hold.
    Reference,
    /// Stored artefact content is missing or wrong.
    Artifact,
}

/// One problem, at one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The entry concerned (0: the ledger as a whole).
    pub seq: u64,
    /// Which check failed.
    pub check: Check,
    /// What is wrong, in words.
    pub what: String,
}

/// A party as the verified ledger registers it.
#[derive(Debug, Clone)]
pub struct VerifiedParty {
    /// The party.
    pub party: PartyPayload,
    /// Key fingerprint.
    pub fingerprint: Fingerprint,
    /// Registering entry.
    pub seq: u64,
}

/// An entry signed by a key at or after the time from which the key was later revoked, but
/// before the revocation entry (`FORMAT.md` §14.4): a valid entry (the key was valid when
/// it was written), which does not count as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedUse {
    /// The entry.
    pub seq: u64,
    /// Its kind.
    pub kind: Kind,
    /// The revoked key that signed it.
    pub key: Fingerprint,
    /// The revocation's `since`.
    pub since: DateTime<Utc>,
    /// The `key-revocation` entry.
    pub revoked_by: u64,
}

/// The outcome of verification.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Ledger id from the file's metadata.
    pub ledger_id: Option<String>,
    /// Entry rows read.
    pub entries: u64,
    /// Newest entry: seq and hash.
    pub head: Option<(u64, [u8; 32])>,
    /// Merkle tree root over every entry (`FORMAT.md` §12), recomputed from the entry texts;
    /// `None` if entries are missing or the walk stopped early.
    pub merkle_root: Option<[u8; 32]>,
    /// Signatures checked.
    pub signatures: u64,
    /// Stored artefacts re-hashed (with `--artifacts`).
    pub artifacts_checked: u64,
    /// Whether keys were pinned.
    pub pinned: bool,
    /// Pinned keys that no party in the ledger uses.
    pub unused_pins: Vec<Fingerprint>,
    /// Parties registered, in order.
    pub parties: Vec<VerifiedParty>,
    /// Problems, ordered by entry and by check.
    pub findings: Vec<Finding>,
    /// Whether the walk stopped early at the first problem.
    pub stopped_early: bool,
}

impl Report {
    /// No problem found.
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

enum Parsed {
    Party(PartyPayload, Option<PublicKey>),
    Evidence(EvidencePayload),
    Adoption(AdoptionPayload),
    Cosign(CosignPayload),
    Retraction(RetractionPayload),
    Waiver(WaiverPayload),
    Delegation(DelegationPayload),
    Signoff(SignoffPayload),
    Checkpoint(CheckpointPayload),
    KeyRotation(KeyRotationPayload),
    KeyRevocation(KeyRevocationPayload),
}

impl Parsed {
    /// The item an entry is about (the derived `item` column).
    fn item(&self) -> Option<&str> {
        match self {
            Parsed::Evidence(e) => Some(&e.item),
            Parsed::Waiver(w) => Some(&w.item),
            Parsed::Delegation(d) => Some(&d.item),
            _ => None,
        }
    }
}

fn decode_as<T: serde::de::DeserializeOwned + serde::Serialize + payload::Checked>(
    bytes: &[u8],
    wrap: fn(T) -> Parsed,
) -> Result<Parsed, String> {
    payload::decode::<T>(bytes).map(wrap)
}

struct Pre {
    row: EntryRow,
    header: std::result::Result<EntryHeader, String>,
    hash: [u8; 32],
    /// Merkle leaf hash of the entry text.
    leaf: [u8; 32],
    parsed: Option<Parsed>,
    findings: Vec<Finding>,
}

fn pre_check(row: EntryRow) -> Pre {
    let seq = u64::try_from(row.seq).unwrap_or(0);
    let hash = crypto::sha256(&row.body);
    let leaf = merkle::leaf_hash(&row.body);
    let mut findings = Vec::new();
    let mut f = |check, what: String| findings.push(Finding { seq, check, what });
    let header = EntryHeader::parse(&row.body).map_err(|e| e.to_string());
    let mut parsed = None;
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
                    match payload::decode::<PartyPayload>(&row.payload) {
                        Ok(p) => {
                            let key = PublicKey::from_spki_base64(&p.public_key);
                            if let Err(e) = &key {
                                f(Check::Payload, format!("party {:?}: {e}", p.id));
                            }
                            if let Err(e) = check_party_id(&p.id) {
                                f(Check::Payload, e.to_string());
                            }
                            Some(Parsed::Party(p, key.ok()))
                        }
                        Err(e) => {
                            f(Check::Payload, e);
                            None
                        }
                    }
                }
                kind => {
                    let decoded = match kind {
                        Kind::Evidence => decode_as(&row.payload, Parsed::Evidence),
                        Kind::Adoption => decode_as(&row.payload, Parsed::Adoption),
                        Kind::Cosign => decode_as(&row.payload, Parsed::Cosign),
                        Kind::Retraction => decode_as(&row.payload, Parsed::Retraction),
                        Kind::Waiver => decode_as(&row.payload, Parsed::Waiver),
                        Kind::Signoff => decode_as(&row.payload, Parsed::Signoff),
                        Kind::Checkpoint => decode_as(&row.payload, Parsed::Checkpoint),
                        Kind::KeyRotation => decode_as(&row.payload, Parsed::KeyRotation),
                        Kind::KeyRevocation => decode_as(&row.payload, Parsed::KeyRevocation),
                        _ => decode_as(&row.payload, Parsed::Delegation),
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
        let item = parsed.as_ref().and_then(Parsed::item);
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

struct Registered {
    key: PublicKey,
    party: String,
    /// The key-rotation entry that retired the key.
    retired: Option<u64>,
    /// The key-revocation entry that revoked it, and its `since`.
    revoked: Option<(u64, DateTime<Utc>)>,
}

impl Registered {
    fn new(key: PublicKey, party: String) -> Self {
        Self {
            key,
            party,
            retired: None,
            revoked: None,
        }
    }
}

/// Key history as the walk derives it (`FORMAT.md` §14).
#[derive(Default)]
struct KeyHistory {
    /// Keys registered by key-rotation entries: fingerprint, party, base64 key, entry.
    rotated: Vec<(Fingerprint, String, String, u64)>,
    /// The `key_events` rows the signed entries imply.
    events: Vec<KeyEventRow>,
    /// Revocations announced by the `kind` column (read before the walk, so that entries
    /// signed before their key's revocation entry can be noted as the walk passes them).
    hints: HashMap<Fingerprint, Vec<(u64, DateTime<Utc>)>>,
    /// Entries noted against a hint, kept if the walk confirms the revocation.
    noted: Vec<RevokedUse>,
    /// Revocations the walk found valid: entry → (key, since).
    confirmed: HashMap<u64, (Fingerprint, DateTime<Utc>)>,
}

struct Walk {
    ledger: Option<LedgerId>,
    next: u64,
    prev: [u8; 32],
    last_time: Option<chrono::DateTime<chrono::Utc>>,
    keys: HashMap<Fingerprint, Registered>,
    party_ids: HashSet<String>,
    trust: Option<HashSet<Fingerprint>>,
    used_pins: HashSet<Fingerprint>,
    parties: Vec<VerifiedParty>,
    artifacts: BTreeMap<String, (u64, String, u64)>,
    want_artifacts: bool,
    /// Role of each registered party.
    roles: HashMap<String, Role>,
    /// A second connection, to look up entries that later entries reference.
    lookup: Box<dyn Engine>,
    /// Rotations and revocations.
    history: KeyHistory,
}

impl Walk {
    /// The party that signed entry `seq` (an earlier entry), and its hash.
    fn referenced(&self, seq: u64, at: u64) -> Result<(String, [u8; 32], Kind), String> {
        if seq >= at {
            return Err(format!(
                "refers to entry {seq}, which is not an earlier entry"
            ));
        }
        let row = i64::try_from(seq)
            .ok()
            .and_then(|s| self.lookup.entry(s).ok().flatten())
            .ok_or_else(|| format!("refers to entry {seq}, which is missing"))?;
        let h = EntryHeader::parse(&row.body)
            .map_err(|_| format!("refers to entry {seq}, which is malformed"))?;
        let party = self
            .keys
            .get(&h.signer)
            .map(|r| r.party.clone())
            .unwrap_or_default();
        Ok((party, crypto::sha256(&row.body), h.kind))
    }

    /// Kind-specific rules (`FORMAT.md` §4): who may sign what, and what it may refer to.
    fn rules(&self, seq: u64, signer: &str, parsed: &Parsed) -> Vec<(Check, String)> {
        let mut out = Vec::new();
        let role = self.roles.get(signer).copied();
        let reference = |entry: u64, sha: &str| -> Result<(String, Kind), String> {
            let (party, hash, kind) = self.referenced(entry, seq)?;
            if hex::encode(hash) != sha {
                return Err(format!(
                    "refers to entry {entry} by a hash that is not its hash"
                ));
            }
            Ok((party, kind))
        };
        match parsed {
            Parsed::Adoption(a) => {
                if !a.bindings.values().any(|p| p == signer) {
                    out.push((
                        Check::Registry,
                        format!("adoption signed by {signer:?}, which it does not bind to a role"),
                    ));
                }
                for (r, p) in &a.bindings {
                    match self.roles.get(p) {
                        None => out.push((
                            Check::Reference,
                            format!("binds role {r} to unknown party {p:?}"),
                        )),
                        Some(pr) if pr.as_str() != r => out.push((
                            Check::Reference,
                            format!("binds role {r} to party {p:?}, whose role is {pr}"),
                        )),
                        _ => {}
                    }
                }
                let mut h = Hasher::default();
                match self
                    .lookup
                    .read_artifact(&a.matrix.sha256, &mut |c| h.update(c))
                {
                    Ok(Some((_, n)))
                        if n == a.matrix.size && hex::encode(h.finish()) == a.matrix.sha256 => {}
                    Ok(None) => out.push((
                        Check::Reference,
                        format!("matrix {} is not stored in the ledger", a.matrix.id),
                    )),
                    _ => out.push((
                        Check::Reference,
                        format!(
                            "stored matrix {} does not match its signed SHA-256",
                            a.matrix.id
                        ),
                    )),
                }
            }
            Parsed::Cosign(c) => match reference(c.entry, &c.entry_sha256) {
                Err(e) => out.push((Check::Reference, e)),
                Ok((author, _)) => {
                    if author == signer {
                        out.push((
                            Check::Registry,
                            format!("{signer:?} co-signs its own entry {}", c.entry),
                        ));
                    }
                    if c.verdict == Verdict::Approve && role != Some(Role::Auditor) {
                        out.push((
                            Check::Registry,
                            format!("approval by {signer:?}, which is not an auditor"),
                        ));
                    }
                    if c.verdict == Verdict::Dispute
                        && c.reason.as_deref().is_none_or(|r| r.trim().is_empty())
                    {
                        out.push((Check::Payload, "dispute without a reason".into()));
                    }
                }
            },
            Parsed::Retraction(r) => match reference(r.entry, &r.entry_sha256) {
                Err(e) => out.push((Check::Reference, e)),
                Ok((author, kind)) => {
                    if author != signer {
                        out.push((
                            Check::Registry,
                            format!(
                                "{signer:?} retracts entry {}, which {author:?} signed",
                                r.entry
                            ),
                        ));
                    }
                    if matches!(kind, Kind::Genesis | Kind::Party) {
                        out.push((
                            Check::Registry,
                            format!("retracts entry {}, a {kind} entry", r.entry),
                        ));
                    }
                }
            },
            Parsed::Signoff(so) if so.head >= seq => {
                out.push((
                    Check::Reference,
                    format!(
                        "signs off at head {}, which is not an earlier entry",
                        so.head
                    ),
                ));
            }
            Parsed::Delegation(d) if !self.roles.contains_key(&d.to) => {
                out.push((
                    Check::Reference,
                    format!("delegates to unknown party {:?}", d.to),
                ));
            }
            _ => {}
        }
        out
    }

    /// A `key-rotation` entry (`FORMAT.md` §4, §14): the rules, then (signed by a valid
    /// key) its effect: the new key is the party's, the signer is retired.
    fn key_rotation(
        &mut self,
        seq: u64,
        h: &EntryHeader,
        p: &KeyRotationPayload,
        signer_valid: bool,
    ) -> Vec<(Check, String)> {
        let Some(party) = self.keys.get(&h.signer).map(|r| r.party.clone()) else {
            return Vec::new();
        };
        let new = match keys::check_rotation(&h.ledger, &party, &h.signer, p) {
            Ok(k) => k,
            Err(e) => return vec![(Check::Registry, e)],
        };
        let fpr = new.fingerprint();
        if self.keys.contains_key(&fpr) {
            return vec![(Check::Registry, format!("key {fpr} is registered twice"))];
        }
        let mut out = Vec::new();
        if let Some(trust) = &self.trust {
            if trust.contains(&fpr) {
                self.used_pins.insert(fpr);
            } else {
                out.push((
                    Check::Trust,
                    format!(
                        "party {party:?} rotates to key {fpr}, which is not among the trusted keys"
                    ),
                ));
            }
        }
        if signer_valid {
            if let Some(old) = self.keys.get_mut(&h.signer) {
                old.retired = Some(seq);
            }
            self.keys.insert(fpr, Registered::new(new, party.clone()));
            self.history
                .rotated
                .push((fpr, party, p.public_key.clone(), seq));
            self.history.events.push(KeyEventRow {
                seq: i64::try_from(seq).unwrap_or(i64::MAX),
                fingerprint: h.signer.to_string(),
                event: RETIRED.into(),
                since: None,
            });
        }
        out
    }

    /// A `key-revocation` entry (`FORMAT.md` §4, §14): a party revokes one of its own
    /// retired keys, once; then (signed by a valid key) its effect.
    fn key_revocation(
        &mut self,
        seq: u64,
        h: &EntryHeader,
        p: &KeyRevocationPayload,
        signer_valid: bool,
    ) -> Vec<(Check, String)> {
        let Some(party) = self.keys.get(&h.signer).map(|r| r.party.clone()) else {
            return Vec::new();
        };
        let (key, since) = match keys::check_revocation(p, h.time) {
            Ok(x) => x,
            Err(e) => return vec![(Check::Payload, e)],
        };
        let Some(target) = self.keys.get_mut(&key) else {
            return vec![(
                Check::Reference,
                format!("revokes key {key}, which is not registered"),
            )];
        };
        let what = if target.party != party {
            format!(
                "{party:?} revokes key {key} of party {:?} (a party revokes only its own keys)",
                target.party
            )
        } else if let Some((v, _)) = target.revoked {
            format!("revokes key {key}, which entry {v} already revoked")
        } else if target.retired.is_none() {
            format!(
                "revokes key {key}, the only valid key of {party:?} (a party rotates first, then revokes the retired key)"
            )
        } else {
            if signer_valid {
                target.revoked = Some((seq, since));
                self.history.events.push(KeyEventRow {
                    seq: i64::try_from(seq).unwrap_or(i64::MAX),
                    fingerprint: key.to_string(),
                    event: REVOKED.into(),
                    since: Some(p.since.clone()),
                });
                self.history.confirmed.insert(seq, (key, since));
            }
            return Vec::new();
        };
        vec![(Check::Registry, what)]
    }

    /// Check one entry in order; returns the key its signature must verify against.
    fn step(&mut self, pre: &Pre, out: &mut Vec<Finding>) -> Option<PublicKey> {
        let seq = u64::try_from(pre.row.seq).unwrap_or(0);
        let gap = seq != self.next;
        if gap {
            let what = if seq == self.next + 1 {
                format!("entry {} is missing (deleted?)", self.next)
            } else {
                format!("entries {}–{} are missing (deleted?)", self.next, seq - 1)
            };
            out.push(Finding {
                seq: self.next,
                check: Check::Missing,
                what,
            });
        }
        let mut f2 = |check, what: String| out.push(Finding { seq, check, what });
        self.next = seq + 1;
        let h = match &pre.header {
            Ok(h) => h,
            Err(e) => {
                f2(Check::Format, format!("malformed {e}"));
                self.prev = pre.hash;
                return None;
            }
        };
        if h.seq != seq {
            f2(
                Check::Position,
                format!(
                    "stored as entry {seq} but signed as entry {} (moved, swapped or replayed)",
                    h.seq
                ),
            );
        }
        match self.ledger {
            Some(id) if id != h.ledger => {
                f2(
                    Check::Position,
                    format!("belongs to ledger {}, not {id}", h.ledger),
                );
            }
            _ => {}
        }
        if !gap && h.prev != self.prev {
            let what = if seq == 1 {
                "first entry must have prev of 64 zeros".to_string()
            } else {
                format!("chain broken: prev is not the hash of entry {}", seq - 1)
            };
            f2(Check::Chain, what);
        }
        if let Some(t) = self.last_time
            && h.time < t
        {
            f2(
                Check::Time,
                format!(
                    "time {} is earlier than the entry before it",
                    format_time(&h.time)
                ),
            );
        }
        self.last_time = Some(h.time);
        self.prev = pre.hash;

        // Kind placement and the key to check the signature with.
        if (h.kind == Kind::Genesis) != (seq == 1) {
            f2(
                Check::Registry,
                if seq == 1 {
                    format!("the first entry must be genesis, not {}", h.kind)
                } else {
                    "genesis entry after the first entry".to_string()
                },
            );
        }
        // One lookup per entry: the signer's key and its state (§14.1).
        let (mut key, signer_state) = match self.keys.get(&h.signer) {
            Some(r) => (Some(r.key), Some((r.retired, r.revoked))),
            None => (None, None),
        };
        if let Some(Parsed::Party(p, Some(pk))) = &pre.parsed {
            let fpr = pk.fingerprint();
            if h.kind == Kind::Genesis {
                if fpr != h.signer {
                    f2(
                        Check::Registry,
                        "genesis must be signed by the key it registers".into(),
                    );
                }
                key = Some(*pk);
            }
            if !self.party_ids.insert(p.id.clone()) {
                f2(
                    Check::Registry,
                    format!("party {:?} is registered twice", p.id),
                );
            } else if self.keys.contains_key(&fpr) {
                f2(Check::Registry, format!("key {fpr} is registered twice"));
            } else {
                if let Some(trust) = &self.trust {
                    if trust.contains(&fpr) {
                        self.used_pins.insert(fpr);
                    } else {
                        f2(
                            Check::Trust,
                            format!(
                                "party {:?} is registered with key {fpr}, which is not among the trusted keys",
                                p.id
                            ),
                        );
                    }
                }
                self.roles.insert(p.id.clone(), p.role);
                self.keys.insert(fpr, Registered::new(*pk, p.id.clone()));
                self.parties.push(VerifiedParty {
                    party: p.clone(),
                    fingerprint: fpr,
                    seq,
                });
            }
        }
        if key.is_none() {
            f2(
                Check::Registry,
                format!(
                    "signed by key {}, which is not registered in the ledger",
                    h.signer
                ),
            );
        }
        // Key history (FORMAT.md §14): a retired or revoked key signs nothing more, and
        // what a key signed from its revocation's `since` on is noted.
        let signer_valid = match signer_state {
            Some((retired, revoked)) => {
                if let Some((v, since)) = revoked {
                    f2(
                        Check::Registry,
                        format!(
                            "signed by key {}, which entry {v} revoked (since {})",
                            h.signer,
                            format_time(&since)
                        ),
                    );
                } else if let Some(r) = retired {
                    f2(
                        Check::Registry,
                        format!(
                            "signed by key {}, which entry {r} retired (key rotation)",
                            h.signer
                        ),
                    );
                }
                retired.is_none() && revoked.is_none()
            }
            None => false,
        };
        if !self.history.hints.is_empty()
            && let Some(list) = self.history.hints.get(&h.signer)
        {
            for &(revoked_by, since) in list {
                if seq < revoked_by && h.time >= since {
                    self.history.noted.push(RevokedUse {
                        seq,
                        kind: h.kind,
                        key: h.signer,
                        since,
                        revoked_by,
                    });
                }
            }
        }
        match &pre.parsed {
            Some(Parsed::KeyRotation(p)) => {
                for (check, what) in self.key_rotation(seq, h, p, signer_valid) {
                    f2(check, what);
                }
            }
            Some(Parsed::KeyRevocation(p)) => {
                for (check, what) in self.key_revocation(seq, h, p, signer_valid) {
                    f2(check, what);
                }
            }
            _ => {}
        }
        if let (Some(p), Some(reg)) = (&pre.parsed, self.keys.get(&h.signer)) {
            for (check, what) in self.rules(seq, &reg.party, p) {
                f2(check, what);
            }
            if let (Parsed::Checkpoint(c), Some(id)) = (p, &self.ledger) {
                for what in checkpoint_note_rules(seq, c, id, &reg.key) {
                    f2(Check::Reference, what);
                }
            }
        }
        if let Some(Parsed::Evidence(e)) = &pre.parsed
            && self.want_artifacts
        {
            for a in e.artifacts.iter().filter(|a| a.stored) {
                self.artifacts
                    .entry(a.sha256.clone())
                    .or_insert((seq, a.name.clone(), a.size));
            }
        }
        key
    }
}

/// A `checkpoint` entry's note (`FORMAT.md` §13.6): a vouch checkpoint of this ledger, of
/// the entries before this one, with the payload's root, signed by the entry's own key.
/// (That the root is the Merkle root of those entries is checked by [`MerkleCheck`].)
fn checkpoint_note_rules(
    seq: u64,
    c: &CheckpointPayload,
    ledger: &LedgerId,
    key: &PublicKey,
) -> Vec<String> {
    use crate::format::checkpoint::{Checkpoint, Note, vouch_verifier};
    let mut out = Vec::new();
    if c.size + 1 != seq {
        out.push(format!(
            "checkpoint of {} entries recorded as entry {seq} (it must cover every earlier entry)",
            c.size
        ));
    }
    let note = match Note::parse(&c.note) {
        Ok(n) => n,
        Err(e) => {
            out.push(format!("checkpoint note does not parse: {e}"));
            return out;
        }
    };
    match Checkpoint::parse_vouch(&note.text, ledger) {
        Ok(cp) => {
            if cp.size != c.size || hex::encode(cp.root) != c.root {
                out.push(format!(
                    "checkpoint note says {} entries, root {}; the payload says {}, root {}",
                    cp.size,
                    hex::encode(cp.root),
                    c.size,
                    c.root
                ));
            }
        }
        Err(e) => out.push(format!("checkpoint note: {e}")),
    }
    match note.verify(&[vouch_verifier(ledger, key)]) {
        Ok(_) => {}
        Err(e) => out.push(format!(
            "checkpoint note is not signed by the entry's key: {e}"
        )),
    }
    out
}

fn check_signatures(
    chunk: &[Pre],
    jobs: &[(usize, PublicKey)],
    names: &HashMap<Fingerprint, String>,
) -> Vec<Finding> {
    jobs.par_chunks(BATCH)
        .flat_map_iter(|part| {
            let ks: Vec<PublicKey> = part.iter().map(|(_, k)| *k).collect();
            let ms: Vec<&[u8]> = part
                .iter()
                .map(|(i, _)| chunk[*i].row.body.as_slice())
                .collect();
            let ss: Vec<&[u8]> = part
                .iter()
                .map(|(i, _)| chunk[*i].row.signature.as_slice())
                .collect();
            let bad: Vec<Finding> = if crypto::verify_batch(&ks, &ms, &ss) {
                Vec::new()
            } else {
                part.iter()
                    .filter(|(i, k)| !k.verify(&chunk[*i].row.body, &chunk[*i].row.signature))
                    .map(|(i, k)| {
                        let fpr = k.fingerprint();
                        let who = names
                            .get(&fpr)
                            .map(|p| format!(" (party {p:?})"))
                            .unwrap_or_default();
                        Finding {
                            seq: u64::try_from(chunk[*i].row.seq).unwrap_or(0),
                            check: Check::Signature,
                            what: format!("signature does not verify against key {fpr}{who}"),
                        }
                    })
                    .collect()
            };
            bad
        })
        .collect()
}

/// Rebuilds the Merkle tree from the entry texts as the walk goes, and compares the
/// `merkle_nodes` rows each chunk completes (`FORMAT.md` §12): one node hash per entry on
/// the walking thread; the leaf hashes are made with the chunk's parallel pre-check and the
/// rows are read by the reader thread.
struct MerkleCheck {
    tree: merkle::Builder,
    /// Entries so far are exactly 1..=size. After a gap, leaf positions are unknown (the
    /// gap itself is reported as missing entries), so the tree is not followed further.
    intact: bool,
    /// The `merkle_nodes` table is there to compare with.
    compare: bool,
}

impl MerkleCheck {
    fn chunk(&mut self, pre: &[Pre], stored: Vec<NodeRow>, out: &mut Vec<Finding>) {
        if !self.intact {
            return;
        }
        for p in pre {
            if u64::try_from(p.row.seq).ok() != Some(self.tree.size() + 1) {
                self.intact = false;
                break;
            }
            if let Some(Parsed::Checkpoint(c)) = &p.parsed
                && c.size == self.tree.size()
                && hex::encode(self.tree.root()) != c.root
            {
                out.push(Finding {
                    seq: self.tree.size() + 1,
                    check: Check::Reference,
                    what: format!(
                        "checkpoint root {} is not the Merkle root of entries 1–{} ({})",
                        c.root,
                        c.size,
                        hex::encode(self.tree.root())
                    ),
                });
            }
            self.tree.push(p.leaf);
        }
        let completed = self.tree.take_completed();
        if !self.compare {
            return;
        }
        let stored: HashMap<(i64, i64), Vec<u8>> = stored
            .into_iter()
            .map(|r| ((r.level, r.idx), r.hash))
            .collect();
        for n in completed {
            let (first, last) =
                merkle::node_span(n.level, n.idx).map_or((0, 0), |(a, b)| (a + 1, b));
            let at = format!(
                "level {}, index {} (entries {first}–{last})",
                n.level, n.idx
            );
            let row = i64::try_from(n.idx)
                .ok()
                .and_then(|i| stored.get(&(i64::from(n.level), i)));
            let what = match row {
                Some(h) if h.as_slice() == n.hash => continue,
                Some(_) => format!("merkle_nodes row at {at} does not match the entry texts"),
                None => format!("merkle_nodes lacks the row at {at}"),
            };
            out.push(Finding {
                seq: last,
                check: Check::Derived,
                what,
            });
        }
    }
}

fn check_derived_tables(
    walk: &Walk,
    parties: &[PartyRow],
    keys: &[KeyRow],
    key_events: &[KeyEventRow],
    out: &mut Vec<Finding>,
) {
    let mut expect_p: BTreeMap<&str, &VerifiedParty> = BTreeMap::new();
    for p in &walk.parties {
        expect_p.insert(&p.party.id, p);
    }
    for row in parties {
        let seq = u64::try_from(row.seq).unwrap_or(0);
        match expect_p.remove(row.id.as_str()) {
            Some(v)
                if v.party.name == row.name
                    && v.party.role.as_str() == row.role
                    && v.seq == seq => {}
            Some(v) => out.push(Finding {
                seq: v.seq,
                check: Check::Derived,
                what: format!(
                    "parties table row {:?} differs from the signed entry",
                    row.id
                ),
            }),
            None => out.push(Finding {
                seq,
                check: Check::Derived,
                what: format!(
                    "parties table has party {:?}, which no entry registers",
                    row.id
                ),
            }),
        }
    }
    for v in expect_p.values() {
        out.push(Finding {
            seq: v.seq,
            check: Check::Derived,
            what: format!("parties table lacks party {:?}", v.party.id),
        });
    }
    // Every key: registered with its party, or by a key rotation (FORMAT.md §14).
    let mut expect_k: BTreeMap<String, (&str, &str, u64)> = BTreeMap::new();
    for p in &walk.parties {
        expect_k.insert(
            p.fingerprint.to_string(),
            (&p.party.id, &p.party.public_key, p.seq),
        );
    }
    for (fpr, party, key, seq) in &walk.history.rotated {
        expect_k.insert(fpr.to_string(), (party, key, *seq));
    }
    for row in keys {
        let seq = u64::try_from(row.seq).unwrap_or(0);
        match expect_k.remove(&row.fingerprint) {
            Some((party, key, at)) if party == row.party && key == row.public_key && at == seq => {}
            Some((_, _, at)) => out.push(Finding {
                seq: at,
                check: Check::Derived,
                what: format!(
                    "keys table row {} differs from the signed entry",
                    row.fingerprint
                ),
            }),
            None => out.push(Finding {
                seq,
                check: Check::Derived,
                what: format!(
                    "keys table has key {} for party {:?}, which no entry registers",
                    row.fingerprint, row.party
                ),
            }),
        }
    }
    for (fpr, (_, _, seq)) in &expect_k {
        out.push(Finding {
            seq: *seq,
            check: Check::Derived,
            what: format!("keys table lacks key {fpr}"),
        });
    }
    let mut expect_e: BTreeMap<i64, &KeyEventRow> =
        walk.history.events.iter().map(|e| (e.seq, e)).collect();
    for row in key_events {
        let seq = u64::try_from(row.seq).unwrap_or(0);
        match expect_e.remove(&row.seq) {
            Some(e) if e == row => {}
            Some(_) => out.push(Finding {
                seq,
                check: Check::Derived,
                what: "key_events table row differs from the signed entry".into(),
            }),
            None => out.push(Finding {
                seq,
                check: Check::Derived,
                what: format!(
                    "key_events table says key {} was {}, which no entry says",
                    row.fingerprint, row.event
                ),
            }),
        }
    }
    for e in expect_e.values() {
        out.push(Finding {
            seq: u64::try_from(e.seq).unwrap_or(0),
            check: Check::Derived,
            what: format!(
                "key_events table lacks the {} key {}",
                e.event, e.fingerprint
            ),
        });
    }
}

/// Verify the ledger at `path`.
pub fn verify(path: &Path, opts: &Options, progress: &dyn Progress) -> Result<Report> {
    verify_noting_revoked(path, opts, progress).map(|(report, _)| report)
}

/// Verify the ledger at `path`, and list the entries signed by a key at or after the time
/// from which it was later revoked, before the revocation entry (`FORMAT.md` §14.4): not
/// problems (they were valid when written), but they do not count as evidence. In entry
/// order.
///
/// (The list is returned beside the [`Report`] rather than in it: `report::Generated`
/// holds a `Report` by value, and a larger one trips clippy's `large_enum_variant` there.)
pub fn verify_noting_revoked(
    path: &Path,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<(Report, Vec<RevokedUse>)> {
    let store = store::open(path, Access::ReadOnly)?;
    store.begin_read()?;
    let mut report = Report {
        pinned: opts.trust.is_some(),
        ..Report::default()
    };
    let meta_id = store.meta("ledger_id")?;
    report.ledger_id.clone_from(&meta_id);
    let ledger = meta_id.as_deref().and_then(LedgerId::parse);
    let mut findings = Vec::new();
    if ledger.is_none() {
        findings.push(Finding {
            seq: 0,
            check: Check::Derived,
            what: "ledger id in the file's metadata is missing or malformed".into(),
        });
    }
    let party_rows = store.parties()?;
    let key_rows = store.keys()?;
    let key_events_table = store.key_events_table()?;
    let key_event_rows = store.key_events()?;
    // Revocations by the derived kind column, only to know which entries to note on the
    // way (FORMAT.md §14.4); each is confirmed from the signed bytes when the walk gets to it.
    let mut hints: HashMap<Fingerprint, Vec<(u64, DateTime<Utc>)>> = HashMap::new();
    for row in store.entries_of_kind(Kind::KeyRevocation.as_str())? {
        let Ok(p) = payload::decode::<KeyRevocationPayload>(&row.payload) else {
            continue;
        };
        if let (Some(key), Some(since), Ok(seq)) = (
            Fingerprint::parse(&p.key),
            crate::format::entry::parse_time(&p.since),
            u64::try_from(row.seq),
        ) {
            hints.entry(key).or_default().push((seq, since));
        }
    }
    let (count, _) = store.count()?;
    progress.start(u64::try_from(count).unwrap_or(0), "verifying");
    let merkle_table = store.merkle_table()?;
    let mut merkle = MerkleCheck {
        tree: merkle::Builder::new(),
        intact: true,
        compare: merkle_table == Some(true),
    };
    let fetch_nodes = merkle.compare;

    let mut walk = Walk {
        ledger,
        next: 1,
        prev: ZERO_HASH,
        last_time: None,
        keys: HashMap::new(),
        party_ids: HashSet::new(),
        trust: opts.trust.as_ref().map(|t| t.iter().copied().collect()),
        used_pins: HashSet::new(),
        parties: Vec::new(),
        artifacts: BTreeMap::new(),
        want_artifacts: opts.artifacts,
        roles: HashMap::new(),
        lookup: store.reopen()?,
        history: KeyHistory {
            hints,
            ..KeyHistory::default()
        },
    };

    let (tx, rx) = mpsc::sync_channel::<Result<(Vec<EntryRow>, Vec<NodeRow>)>>(2);
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let store = std::thread::scope(|s| -> Result<Box<dyn Engine>> {
        let reader = s.spawn(move || {
            let mut after = 0i64;
            loop {
                if stop_rx.try_recv().is_ok() {
                    break;
                }
                match store.entries_after(after, CHUNK) {
                    Ok(rows) if rows.is_empty() => break,
                    Ok(rows) => {
                        let last = rows.last().map_or(after, |r| r.seq);
                        // The Merkle rows this chunk completes (by seq: a gap stops the
                        // Merkle check anyway).
                        let nodes = if fetch_nodes {
                            store.merkle_nodes_completed(after, last)
                        } else {
                            Ok(Vec::new())
                        };
                        after = last;
                        let failed = nodes.is_err();
                        if tx.send(nodes.map(|n| (rows, n))).is_err() || failed {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
            store
        });
        // Signatures of chunk k are checked in the background while chunk k+1 is parsed
        // and walked; at most two chunks are in flight, so memory stays flat.
        let mut pending: VecDeque<InFlight> = VecDeque::new();
        let mut settle = |pending: &mut VecDeque<InFlight>| -> bool {
            let Some((srx, mut chunk_findings, n)) = pending.pop_front() else {
                return false;
            };
            chunk_findings.extend(srx.recv().unwrap_or_default());
            progress.advance(n);
            let found = !chunk_findings.is_empty();
            findings.extend(chunk_findings);
            found && !opts.all
        };
        let run: Result<()> = rayon::in_place_scope(|scope| {
            let mut stop = false;
            for msg in rx {
                let (rows, nodes) = msg?;
                let n = rows.len() as u64;
                report.entries += n;
                let pre: Vec<Pre> = rows.into_par_iter().map(pre_check).collect();
                let mut chunk_findings = Vec::new();
                let mut jobs = Vec::with_capacity(pre.len());
                for (i, p) in pre.iter().enumerate() {
                    chunk_findings.extend(p.findings.iter().cloned());
                    if let Some(k) = walk.step(p, &mut chunk_findings) {
                        jobs.push((i, k));
                    }
                }
                merkle.chunk(&pre, nodes, &mut chunk_findings);
                report.signatures += jobs.len() as u64;
                if let Some(last) = pre.last() {
                    report.head = Some((u64::try_from(last.row.seq).unwrap_or(0), last.hash));
                }
                let names: HashMap<Fingerprint, String> = walk
                    .keys
                    .iter()
                    .map(|(f, r)| (*f, r.party.clone()))
                    .collect();
                let (stx, srx) = mpsc::channel();
                scope.spawn(move |_| {
                    let _ = stx.send(check_signatures(&pre, &jobs, &names));
                });
                pending.push_back((srx, chunk_findings, n));
                while pending.len() > 2 {
                    stop |= settle(&mut pending);
                }
                if stop {
                    break;
                }
            }
            while !pending.is_empty() {
                stop |= settle(&mut pending);
            }
            if stop {
                report.stopped_early = true;
                let _ = stop_tx.send(());
            }
            Ok(())
        });
        run?;
        reader
            .join()
            .map_err(|_| crate::error::Error::new("internal error: verify reader thread failed"))
    })?;
    progress.finish();

    if report.entries == 0 {
        findings.push(Finding {
            seq: 1,
            check: Check::Missing,
            what: "the ledger has no entries (no genesis)".into(),
        });
    }
    check_derived_tables(
        &walk,
        &party_rows,
        &key_rows,
        &key_event_rows,
        &mut findings,
    );
    if key_events_table == Some(false) {
        findings.push(Finding {
            seq: 0,
            check: Check::Derived,
            what: "the key_events table is missing (schema version 4 has it)".into(),
        });
    }
    if merkle_table == Some(false) {
        findings.push(Finding {
            seq: 0,
            check: Check::Derived,
            what: "the merkle_nodes table is missing (schema version 3 has it)".into(),
        });
    }
    if merkle.intact && !report.stopped_early {
        report.merkle_root = Some(merkle.tree.root());
        if merkle.compare {
            let size = i64::try_from(merkle.tree.size()).unwrap_or(i64::MAX);
            for r in store.merkle_stray_nodes(size, STRAY_NODES)? {
                findings.push(Finding {
                    seq: 0,
                    check: Check::Derived,
                    what: format!(
                        "merkle_nodes has a row at level {}, index {}, which is not a stored node of the tree of {size} entries",
                        r.level, r.idx
                    ),
                });
            }
        }
    }
    if opts.artifacts {
        for (sha, (seq, name, size)) in &walk.artifacts {
            let mut h = Hasher::default();
            let got = store.read_artifact(sha, &mut |c| h.update(c))?;
            report.artifacts_checked += 1;
            let problem = match got {
                None => Some("is not stored in the ledger".to_string()),
                Some((stored_size, read)) => {
                    let ok_size = u64::try_from(stored_size).ok() == Some(*size) && read == *size;
                    if !ok_size || hex::encode(h.finish()) != *sha {
                        Some("stored content does not match its signed SHA-256 and size".into())
                    } else {
                        None
                    }
                }
            };
            if let Some(p) = problem {
                findings.push(Finding {
                    seq: *seq,
                    check: Check::Artifact,
                    what: format!("artefact {name:?} (sha256 {sha}) {p}"),
                });
            }
        }
    }
    if let Some(trust) = &walk.trust {
        let mut unused: Vec<Fingerprint> = trust.difference(&walk.used_pins).copied().collect();
        unused.sort();
        report.unused_pins = unused;
    }
    findings.sort_by_key(|f| (f.seq, f.check));
    findings.dedup();
    if !opts.all {
        findings.truncate(1);
    }
    report.findings = findings;
    let confirmed = &walk.history.confirmed;
    let noted = walk
        .history
        .noted
        .into_iter()
        .filter(|u| confirmed.get(&u.revoked_by) == Some(&(u.key, u.since)))
        .collect();
    report.parties = walk.parties;
    Ok((report, noted))
}
