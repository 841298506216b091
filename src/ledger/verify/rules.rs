//! The rules of each entry kind (`schema/FORMAT.md` §4): who may sign what and what it may
//! refer to; the effect of key rotations and revocations on the key registry (§14); and a
//! checkpoint entry's signed note (§13.6). The walk applies them to each entry in order.

use super::precheck::Parsed;
use super::walk::{Registered, Walk};
use super::{Check, Finding};
use crate::crypto::{self, Hasher, PublicKey};
use crate::format::entry::{EntryHeader, Kind, LedgerId};
use crate::format::payload::{
    self, CheckpointPayload, KeyRevocationPayload, KeyRotationPayload, Role, Verdict,
};
use crate::ledger::keys::{self, RETIRED, REVOKED};
use crate::ledger::store::KeyEventRow;

impl Walk {
    /// The rules of the entry's kind (`FORMAT.md` §4), and the effect of a key rotation or
    /// revocation (§14).
    pub(super) fn kind_rules(
        &mut self,
        seq: u64,
        h: &EntryHeader,
        parsed: Option<&Parsed>,
        signer_valid: bool,
        out: &mut Vec<Finding>,
    ) {
        let mut f2 = |check, what: String| out.push(Finding { seq, check, what });
        match parsed {
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
        if let (Some(p), Some(reg)) = (parsed, self.keys.get(&h.signer)) {
            for (check, what) in self.rules(seq, &reg.party, p) {
                f2(check, what);
            }
            if let Parsed::Adoption(a) = p {
                self.bound.extend(a.bindings.values().cloned());
            }
            if let (Parsed::Checkpoint(c), Some(id)) = (p, &self.ledger) {
                for what in checkpoint_note_rules(seq, c, id, &reg.key) {
                    f2(Check::Reference, what);
                }
            }
        }
    }

    /// The party that signed entry `seq` (an earlier entry), and its hash.
    fn referenced(&self, seq: u64, at: u64) -> Result<(String, [u8; 32], Kind), String> {
        if seq >= at {
            return Err(format!(
                "refers to entry {seq}, which is not an earlier entry"
            ));
        }
        let body = self
            .lookup
            .entry_text(seq)
            .ok()
            .flatten()
            .ok_or_else(|| format!("refers to entry {seq}, which is missing"))?;
        let h = EntryHeader::parse(&body)
            .map_err(|_| format!("refers to entry {seq}, which is malformed"))?;
        let party = self
            .keys
            .get(&h.signer)
            .map(|r| r.party.clone())
            .unwrap_or_default();
        Ok((party, crypto::sha256(&body), h.kind))
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
                let mut bytes = Vec::new();
                match self.lookup.read_document(&a.matrix.sha256, &mut |c| {
                    h.update(c);
                    bytes.extend_from_slice(c);
                }) {
                    // The stored size column, the bytes read and the signed size all agree;
                    // then the payload must say what the file is (§4 `adoption`).
                    Ok(Some((stored, n)))
                        if n == a.matrix.size
                            && u64::try_from(stored).ok() == Some(n)
                            && hex::encode(h.finish()) == a.matrix.sha256 =>
                    {
                        if let Err(e) = crate::attestation::adopted::check_adoption(a, &bytes) {
                            out.push((Check::Reference, e));
                        }
                    }
                    Ok(None) => out.push((
                        Check::Reference,
                        format!("matrix {} is not stored in the ledger", a.matrix.id),
                    )),
                    _ => out.push((
                        Check::Reference,
                        format!(
                            "stored matrix {} does not match its signed SHA-256 and size",
                            a.matrix.id
                        ),
                    )),
                }
            }
            Parsed::Cosign(c) => match reference(c.entry, &c.entry_sha256) {
                Err(e) => out.push((Check::Reference, e)),
                Ok((author, kind)) => {
                    if author == signer {
                        out.push((
                            Check::Registry,
                            format!("{signer:?} co-signs its own entry {}", c.entry),
                        ));
                    }
                    if let Err(why) = payload::cosign_target(kind, c.verdict) {
                        out.push((Check::Reference, format!("{why} (entry {})", c.entry)));
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
                    } else if let Err(why) = payload::retraction_target(kind) {
                        out.push((Check::Reference, format!("{why} (entry {})", r.entry)));
                    }
                }
            },
            Parsed::Response(r) => {
                let author = match (r.entry, &r.entry_sha256) {
                    (Some(e), Some(sha)) => match reference(e, sha) {
                        Err(why) => {
                            out.push((Check::Reference, why));
                            None
                        }
                        Ok((author, kind)) => {
                            if let Err(why) = payload::response_target(kind) {
                                out.push((Check::Reference, format!("{why} (entry {e})")));
                            }
                            Some(author)
                        }
                    },
                    _ => None,
                };
                if let Err(why) =
                    payload::responder(role, author.as_deref() == Some(signer), || {
                        self.bound.contains(signer)
                    })
                {
                    out.push((Check::Registry, format!("{signer:?} {why}")));
                }
            }
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
            Parsed::Delegation(d) if d.to == signer => {
                out.push((
                    Check::Registry,
                    format!("{signer:?} delegates {} to itself", d.item),
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
}

/// A `checkpoint` entry's note (`FORMAT.md` §13.6): a vouch checkpoint of this ledger, of
/// the entries before this one, with the payload's root, signed by the entry's own key.
/// (That the root is the Merkle root of those entries is checked by
/// [`MerkleCheck`](super::derived::MerkleCheck).)
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
