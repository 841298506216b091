//! A ledger against a signed checkpoint held outside it (`FORMAT.md` §13.7): does the
//! ledger still contain exactly what the checkpoint committed to, and extend it?

use super::Ledger;
use crate::checkpoint::{Checkpoint, Note, vouch_origin, vouch_verifier};
use crate::crypto::{Fingerprint, PublicKey};
use crate::error::{Error, Result};

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
}

/// The result of [`Ledger::check_checkpoint`].
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

impl Ledger {
    /// Compare the ledger with a signed checkpoint note.
    ///
    /// The note's signatures are checked against the ledger's registered keys, limited to
    /// `pins` when given (an auditor's pinned fingerprints); a checkpoint no trusted key
    /// signed, or with a bad signature by one, is a [`CheckpointCheck::signature_problem`].
    /// A malformed note, or one of another ledger, is an error.
    pub fn check_checkpoint(
        &self,
        note_text: &str,
        pins: Option<&[Fingerprint]>,
    ) -> Result<CheckpointCheck> {
        let id = self.id()?;
        let note = Note::parse(note_text)?;
        let cp = Checkpoint::parse(&note.text)?;
        let origin = vouch_origin(&id);
        if cp.origin != origin {
            return Err(Error::new(format!(
                "the checkpoint is of {:?}, not of this ledger ({origin})",
                cp.origin
            ))
            .hint("check that you passed the checkpoint of this ledger"));
        }
        let cp = Checkpoint::parse_vouch(&note.text, &id)?;
        let keys = self.store().keys()?;
        let mut verifiers = Vec::new();
        let mut owners = Vec::new();
        for k in &keys {
            let Ok(key) = PublicKey::from_spki_base64(&k.public_key) else {
                continue;
            };
            let fpr = key.fingerprint();
            if pins.is_some_and(|p| !p.contains(&fpr)) {
                continue;
            }
            verifiers.push(vouch_verifier(&id, &key));
            owners.push((k.party.clone(), fpr, vouch_verifier(&id, &key).key_id()));
        }
        let (signed_by, signature_problem) = match note.verify(&verifiers) {
            Ok(verified) => (
                verified
                    .iter()
                    .filter_map(|s| {
                        owners
                            .iter()
                            .find(|(_, _, kid)| *kid == s.key_id)
                            .map(|(p, f, _)| (p.clone(), *f))
                    })
                    .collect(),
                None,
            ),
            Err(e) => (
                Vec::new(),
                Some(format!(
                    "{} ({})",
                    if pins.is_some() {
                        "not a checkpoint signed by a pinned key"
                    } else {
                        "not a checkpoint signed by a key registered in this ledger"
                    },
                    e.message()
                )),
            ),
        };
        let (_, max) = self.store().count()?;
        let size = u64::try_from(max).unwrap_or(0);
        let relation = if size < cp.size {
            Relation::Truncated { ledger: size }
        } else {
            let root = self.store().merkle_root(cp.size)?;
            if root != cp.root {
                Relation::Forked { root }
            } else if size == cp.size {
                Relation::Same
            } else {
                Relation::Extends {
                    added: size - cp.size,
                }
            }
        };
        Ok(CheckpointCheck {
            checkpoint: cp,
            signed_by,
            signature_problem,
            relation,
        })
    }
}
