//! The sequential walk over the entries, in seq order (`schema/FORMAT.md` §7): sequence
//! gaps, position and ledger, the hash chain, time order, genesis placement, the key
//! registry (parties and their keys, §14.1, with trust pins) and key history (which key is
//! valid at each entry; entries a later-revoked key signed from its `since` on, §14.4). The
//! per-kind rules the walk applies are in `rules`.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::precheck::{Parsed, Pre};
use super::{Check, Finding, References, RevokedUse, VerifiedParty};
use crate::crypto::{Fingerprint, PublicKey};
use crate::format::entry::{EntryHeader, Kind, LedgerId, Version, format_time};
use crate::format::payload::{PartyPayload, Role};
use crate::ledger::store::KeyEventRow;
use chrono::{DateTime, Utc};

/// A signer's key state before the entry: the entry that retired it, and the one that
/// revoked it with its `since` (`None`: the key is not registered).
type SignerState = Option<(Option<u64>, Option<(u64, DateTime<Utc>)>)>;

/// A key the walk has seen registered, and its state (`FORMAT.md` §14.1).
#[derive(Clone)]
pub(super) struct Registered {
    pub(super) key: PublicKey,
    pub(super) party: String,
    /// The key-rotation entry that retired the key.
    pub(super) retired: Option<u64>,
    /// The key-revocation entry that revoked it, and its `since`.
    pub(super) revoked: Option<(u64, DateTime<Utc>)>,
}

impl Registered {
    pub(super) fn new(key: PublicKey, party: String) -> Self {
        Self {
            key,
            party,
            retired: None,
            revoked: None,
        }
    }
}

/// Key history as the walk derives it (`FORMAT.md` §14).
#[derive(Clone, Default)]
pub(super) struct KeyHistory {
    /// Keys registered by key-rotation entries: fingerprint, party, base64 key, entry.
    pub(super) rotated: Vec<(Fingerprint, String, String, u64)>,
    /// The `key_events` rows the signed entries imply.
    pub(super) events: Vec<KeyEventRow>,
    /// Revocations announced by the `kind` column (read before the walk, so that entries
    /// signed before their key's revocation entry can be noted as the walk passes them).
    pub(super) hints: HashMap<Fingerprint, Vec<(u64, DateTime<Utc>)>>,
    /// Entries noted against a hint, kept if the walk confirms the revocation.
    pub(super) noted: Vec<RevokedUse>,
    /// Revocations the walk found valid: entry → (key, since).
    pub(super) confirmed: HashMap<u64, (Fingerprint, DateTime<Utc>)>,
}

/// The state of the in-order walk over the entries.
pub(super) struct Walk {
    pub(super) ledger: Option<LedgerId>,
    pub(super) next: u64,
    pub(super) prev: [u8; 32],
    pub(super) last_time: Option<chrono::DateTime<chrono::Utc>>,
    /// The newest format version seen so far, and the entry that had it (§8).
    pub(super) version: Option<(Version, u64)>,
    pub(super) keys: HashMap<Fingerprint, Registered>,
    pub(super) party_ids: HashSet<String>,
    pub(super) trust: Option<HashSet<Fingerprint>>,
    pub(super) used_pins: HashSet<Fingerprint>,
    pub(super) parties: Vec<VerifiedParty>,
    pub(super) artifacts: BTreeMap<String, (u64, String, u64)>,
    pub(super) want_artifacts: bool,
    /// Role of each registered party.
    pub(super) roles: HashMap<String, Role>,
    /// The parties an adoption so far binds (who may respond, `FORMAT.md` §4 `response`).
    pub(super) bound: HashSet<String>,
    /// Where entries that later entries reference (and adopted matrices) are looked up: a
    /// second connection to the ledger file, or a bundle's files.
    pub(super) lookup: Box<dyn References>,
    /// Rotations and revocations.
    pub(super) history: KeyHistory,
}

impl Walk {
    /// A copy of the walk's state, looking earlier entries up in `lookup` (to resume the
    /// walk later, `super::Resume`).
    pub(super) fn with_lookup(&self, lookup: Box<dyn References>) -> Walk {
        Walk {
            ledger: self.ledger,
            next: self.next,
            prev: self.prev,
            last_time: self.last_time,
            version: self.version,
            keys: self.keys.clone(),
            party_ids: self.party_ids.clone(),
            trust: self.trust.clone(),
            used_pins: self.used_pins.clone(),
            parties: self.parties.clone(),
            artifacts: self.artifacts.clone(),
            want_artifacts: self.want_artifacts,
            roles: self.roles.clone(),
            bound: self.bound.clone(),
            lookup,
            history: self.history.clone(),
        }
    }

    /// Check one entry in order; returns the key its signature must verify against.
    pub(super) fn step(&mut self, pre: &Pre, out: &mut Vec<Finding>) -> Option<PublicKey> {
        let seq = u64::try_from(pre.row.seq).unwrap_or(0);
        let gap = self.sequence(seq, out);
        let h = match &pre.header {
            Ok(h) => h,
            Err(e) => {
                out.push(Finding {
                    seq,
                    check: Check::Format,
                    what: format!("malformed {e}"),
                });
                self.prev = pre.hash;
                return None;
            }
        };
        self.order(seq, gap, h, pre.hash, out);

        // Kind placement and the key to check the signature with.
        self.placement(seq, h, out);
        // One lookup per entry: the signer's key and its state (§14.1).
        let (mut key, signer_state) = match self.keys.get(&h.signer) {
            Some(r) => (Some(r.key), Some((r.retired, r.revoked))),
            None => (None, None),
        };
        if let Some(Parsed::Party(p, Some(pk))) = &pre.parsed {
            self.register_party(seq, h, p, pk, &mut key, out);
        }
        if key.is_none() {
            out.push(Finding {
                seq,
                check: Check::Registry,
                what: format!(
                    "signed by key {}, which is not registered in the ledger",
                    h.signer
                ),
            });
        }
        let signer_valid = self.signer_valid(seq, h, signer_state, out);
        self.note_revoked_use(seq, h);
        self.kind_rules(seq, h, pre.parsed.as_ref(), signer_valid, out);
        self.collect_artifacts(seq, pre.parsed.as_ref());
        key
    }

    /// The entry comes next in sequence; if not, the entries skipped are missing. Returns
    /// whether there is such a gap.
    fn sequence(&mut self, seq: u64, out: &mut Vec<Finding>) -> bool {
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
        self.next = seq + 1;
        gap
    }

    /// Position, ledger, chain and time of a well-formed entry with hash `hash`.
    fn order(
        &mut self,
        seq: u64,
        gap: bool,
        h: &EntryHeader,
        hash: [u8; 32],
        out: &mut Vec<Finding>,
    ) {
        let mut f2 = |check, what: String| out.push(Finding { seq, check, what });
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
        // Versions never decrease (FORMAT.md §8): a v1 ledger is upgraded in place.
        match self.version {
            Some((v, at)) if h.version < v => f2(
                Check::Format,
                format!(
                    "a {} entry after the {v} entry {at} (§8: the versions of a ledger's entries never decrease)",
                    h.version
                ),
            ),
            Some((v, _)) if h.version == v => {}
            _ => self.version = Some((h.version, seq)),
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
        self.prev = hash;
    }

    /// Genesis is the first entry, and only the first.
    fn placement(&self, seq: u64, h: &EntryHeader, out: &mut Vec<Finding>) {
        let mut f2 = |check, what: String| out.push(Finding { seq, check, what });
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
    }

    /// A `genesis` or `party` entry: register the party and its key (a genesis entry's
    /// signature is checked with the key it registers: `key`).
    fn register_party(
        &mut self,
        seq: u64,
        h: &EntryHeader,
        p: &PartyPayload,
        pk: &PublicKey,
        key: &mut Option<PublicKey>,
        out: &mut Vec<Finding>,
    ) {
        let mut f2 = |check, what: String| out.push(Finding { seq, check, what });
        let fpr = pk.fingerprint();
        // Format v2: the registered key proves possession (§14.6). (That a v2 party
        // payload has a proof, and v1 none, is checked with the payload.)
        if h.kind == Kind::Party
            && h.version >= Version::V2
            && let Err(e) = crate::ledger::keys::check_party_proof(&h.ledger, p)
        {
            f2(Check::Registry, e);
        }
        if h.kind == Kind::Genesis {
            if fpr != h.signer {
                f2(
                    Check::Registry,
                    "genesis must be signed by the key it registers".into(),
                );
            }
            *key = Some(*pk);
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

    /// Key history (FORMAT.md §14): a retired or revoked key signs nothing more. Returns
    /// whether the signer's key is valid.
    fn signer_valid(
        &self,
        seq: u64,
        h: &EntryHeader,
        signer_state: SignerState,
        out: &mut Vec<Finding>,
    ) -> bool {
        let mut f2 = |check, what: String| out.push(Finding { seq, check, what });
        match signer_state {
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
        }
    }

    /// Key history (FORMAT.md §14.4): what a key signed from its revocation's `since` on
    /// is noted.
    fn note_revoked_use(&mut self, seq: u64, h: &EntryHeader) {
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
    }

    /// Stored artefacts of an `evidence` entry, to re-hash at the end (with `--artifacts`).
    fn collect_artifacts(&mut self, seq: u64, parsed: Option<&Parsed>) {
        if let Some(Parsed::Evidence(stored)) = parsed
            && self.want_artifacts
        {
            for a in stored {
                self.artifacts
                    .entry(a.sha256.clone())
                    .or_insert((seq, a.name.clone(), a.size));
            }
        }
    }
}
