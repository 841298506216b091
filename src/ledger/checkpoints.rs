//! A ledger (or a full export bundle) against a signed checkpoint held outside it
//! (`FORMAT.md` §13.7): does it still contain exactly what the checkpoint committed to, and
//! extend it?

use super::Ledger;
use crate::crypto::{Fingerprint, PublicKey};
use crate::error::{Error, Result};
use crate::format::checkpoint::{Checkpoint, Note, vouch_origin, vouch_verifier};
use crate::format::entry::LedgerId;

/// What the ledger is, against the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relation {
    /// The ledger has exactly the checkpoint's entries.
    Same,
    /// The ledger has the checkpoint's entries and `added` more.
    Extends {
        /// Entries after the checkpoint.
        added: u64,
    },
    /// The ledger has fewer entries than the checkpoint committed to: cut off or rolled
    /// back.
    Truncated {
        /// Entries in the ledger.
        ledger: u64,
    },
    /// The ledger's first `size` entries do not hash to the checkpoint's root: rewritten,
    /// or a fork.
    Forked {
        /// The root the ledger has at the checkpoint's size.
        root: [u8; 32],
    },
}

impl Relation {
    /// The ledger still holds what the checkpoint committed to.
    pub fn ok(&self) -> bool {
        matches!(self, Relation::Same | Relation::Extends { .. })
    }

    /// How `entries` entries, whose first `n` have the Merkle root `root_at(n)`, stand to a
    /// checkpoint of `size` entries and root `root`.
    pub fn of(
        entries: u64,
        size: u64,
        root: &[u8; 32],
        root_at: impl FnOnce(u64) -> Result<[u8; 32]>,
    ) -> Result<Relation> {
        if entries < size {
            return Ok(Relation::Truncated { ledger: entries });
        }
        let have = root_at(size)?;
        Ok(if have != *root {
            Relation::Forked { root: have }
        } else if entries == size {
            Relation::Same
        } else {
            Relation::Extends {
                added: entries - size,
            }
        })
    }
}

/// The result of checking a checkpoint ([`Ledger::check_checkpoint`]).
#[derive(Debug, Clone)]
pub struct CheckpointCheck {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The parties (and fingerprints) whose signatures on it verified.
    pub signed_by: Vec<(String, Fingerprint)>,
    /// Why the signatures do not make it a trusted checkpoint (a signature by a trusted
    /// key that does not verify, or no signature by a trusted key).
    pub signature_problem: Option<String>,
    /// How the ledger relates to it.
    pub relation: Relation,
}

impl CheckpointCheck {
    /// Trusted, and the ledger still holds what it committed to.
    pub fn ok(&self) -> bool {
        self.signature_problem.is_none() && self.relation.ok()
    }
}

/// What a checkpoint is checked against: a ledger file or a bundle.
pub struct Subject<'a> {
    /// The ledger id.
    pub ledger: &'a LedgerId,
    /// How messages name it: "this ledger", "this bundle's ledger".
    pub name: &'a str,
    /// How messages name its keys: "a key registered in this ledger".
    pub keys_name: &'a str,
    /// Every party key: party id and key.
    pub keys: Vec<(String, PublicKey)>,
    /// Number of entries.
    pub entries: u64,
}

/// Check a signed checkpoint note against a subject (`FORMAT.md` §13.7).
///
/// The note's signatures are checked against the subject's keys, limited to `pins` when
/// given (an auditor's pinned fingerprints); a checkpoint no trusted key signed, or with a
/// bad signature by one, is a [`CheckpointCheck::signature_problem`]. `root_at(n)` gives
/// the Merkle root of the subject's first `n` entries.
///
/// # Errors
///
/// A malformed note, one of another ledger, or a failure of `root_at`.
pub fn check_note(
    subject: &Subject<'_>,
    note_text: &str,
    pins: Option<&[Fingerprint]>,
    root_at: impl FnOnce(u64) -> Result<[u8; 32]>,
) -> Result<CheckpointCheck> {
    let id = subject.ledger;
    let note = Note::parse(note_text)?;
    let cp = Checkpoint::parse(&note.text)?;
    let origin = vouch_origin(id);
    if cp.origin != origin {
        return Err(Error::new(format!(
            "the checkpoint is of {:?}, not of {} ({origin})",
            cp.origin, subject.name
        ))
        .hint("check that you passed the checkpoint of this ledger"));
    }
    let cp = Checkpoint::parse_vouch(&note.text, id)?;
    let trusted: Vec<(&str, Fingerprint, crate::format::checkpoint::Verifier)> = subject
        .keys
        .iter()
        .map(|(party, key)| (party.as_str(), key.fingerprint(), vouch_verifier(id, key)))
        .filter(|(_, fpr, _)| pins.is_none_or(|p| p.contains(fpr)))
        .collect();
    let verifiers: Vec<_> = trusted.iter().map(|(_, _, v)| v.clone()).collect();
    let (signed_by, signature_problem) = match note.verify(&verifiers) {
        Ok(verified) => (
            verified
                .iter()
                .filter_map(|s| {
                    trusted
                        .iter()
                        .find(|(_, _, v)| v.key_id() == s.key_id)
                        .map(|(p, f, _)| ((*p).to_string(), *f))
                })
                .collect(),
            None,
        ),
        Err(e) => (
            Vec::new(),
            Some(format!(
                "not a checkpoint signed by {} ({})",
                if pins.is_some() {
                    "a pinned key"
                } else {
                    subject.keys_name
                },
                e.message()
            )),
        ),
    };
    let relation = Relation::of(subject.entries, cp.size, &cp.root, root_at)?;
    Ok(CheckpointCheck {
        checkpoint: cp,
        signed_by,
        signature_problem,
        relation,
    })
}

impl Ledger {
    /// Compare the ledger with a signed checkpoint note ([`check_note`], with the keys
    /// registered in the ledger).
    pub fn check_checkpoint(
        &self,
        note_text: &str,
        pins: Option<&[Fingerprint]>,
    ) -> Result<CheckpointCheck> {
        let id = self.id()?;
        let keys = self
            .keys()?
            .into_iter()
            .filter_map(|k| {
                PublicKey::from_spki_base64(&k.public_key)
                    .ok()
                    .map(|key| (k.party, key))
            })
            .collect();
        let subject = Subject {
            ledger: &id,
            name: "this ledger",
            keys_name: "a key registered in this ledger",
            keys,
            entries: self.size()?,
        };
        check_note(&subject, note_text, pins, |n| self.merkle_root(n))
    }
}

/// A key the user trusts to vouch for a checkpoint (`verify --since`, `FORMAT.md` §7.1): a
/// public key as given, or a fingerprint held outside the ledger (it selects the registered
/// key with that fingerprint: the fingerprint is the key's hash, so the ledger cannot
/// substitute another key).
#[derive(Debug, Clone)]
pub enum TrustedKey {
    /// A public key (from a `.pub` file).
    Key(PublicKey),
    /// A key fingerprint.
    Fingerprint(Fingerprint),
}

impl Ledger {
    /// Read a signed checkpoint note that a key the user trusts signed, to verify the
    /// ledger from it (`FORMAT.md` §7.1). Only the `trusted` keys count: a key is never
    /// trusted because the ledger registers it.
    ///
    /// # Errors
    ///
    /// No trusted key given; a malformed note; a checkpoint of another ledger; no valid
    /// signature by a trusted key, or a trusted key's signature that does not verify.
    pub fn trusted_since(
        &self,
        note_text: &str,
        trusted: &[TrustedKey],
    ) -> Result<crate::ledger::verify::Since> {
        if trusted.is_empty() {
            return Err(Error::new(
                "--since needs the key you trust to have signed the checkpoint",
            )
            .hint("pass it with --since-key FILE.pub|FINGERPRINT (or pin it with --trust): a key is never trusted because the ledger registers it"));
        }
        let id = self.id()?;
        let note = Note::parse(note_text)?;
        let cp = Checkpoint::parse(&note.text)?;
        if cp.origin != vouch_origin(&id) {
            return Err(Error::new(format!(
                "the checkpoint is of {:?}, not of this ledger ({})",
                cp.origin,
                vouch_origin(&id)
            ))
            .hint("pass a checkpoint written for this ledger (vouch checkpoint)"));
        }
        let cp = Checkpoint::parse_vouch(&note.text, &id)?;
        let registered = self.keys()?;
        let keys: Vec<PublicKey> = trusted
            .iter()
            .filter_map(|t| match t {
                TrustedKey::Key(k) => Some(*k),
                TrustedKey::Fingerprint(f) => registered
                    .iter()
                    .filter_map(|k| PublicKey::from_spki_base64(&k.public_key).ok())
                    .find(|k| k.fingerprint() == *f),
            })
            .collect();
        let verifiers: Vec<_> = keys.iter().map(|k| vouch_verifier(&id, k)).collect();
        let verified = note.verify(&verifiers).map_err(|e| {
            Error::new(format!(
                "the checkpoint is not signed by a key you trust ({})",
                e.message()
            ))
            .hint("verify from a checkpoint that you (or a party you trust) signed after a full verify, and pass that key with --since-key FILE.pub|FINGERPRINT")
        })?;
        let key = verified
            .first()
            .and_then(|s| verifiers.iter().find(|v| v.key_id() == s.key_id))
            .map(|v| v.key().fingerprint())
            .ok_or_else(|| Error::new("the checkpoint is not signed by a key you trust"))?;
        Ok(crate::ledger::verify::Since {
            size: cp.size,
            root: cp.root,
            key,
        })
    }
}
