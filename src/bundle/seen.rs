//! What a pass over `entries.jsonl` learns, full or sampled: the line of each entry, the
//! adoptions and stored artefacts the entries name, and the keys they register (with the
//! party or by a key rotation, `schema/FORMAT.md` §14), in order.

use std::collections::{BTreeMap, HashMap};

use super::BundleParty;
use crate::crypto::{Fingerprint, PublicKey};
use crate::format::merkle::Hash;
use crate::format::payload::{AdoptionPayload, PartyPayload, Role};

/// What a pass over `entries.jsonl` learns.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) hash: Option<Hash>,
    pub(super) lines: u64,
    /// (seq, line), in order: to name the line of an entry.
    pub(super) line_of: Vec<(u64, u64)>,
    pub(super) adoptions: Vec<(u64, AdoptionPayload)>,
    /// Stored artefacts the evidence names: SHA-256 → (seq, line, name, size).
    pub(super) stored: BTreeMap<String, (u64, u64, String, u64)>,
    /// Sampled bundles: which lines carried a proof, which did not.
    pub(super) with_proof: u64,
    /// The keys the entries register.
    pub(super) book: KeyBook,
}

impl Seen {
    /// The line of entry `seq`, if the pass read it.
    pub(super) fn line(&self, seq: u64) -> Option<u64> {
        self.line_of
            .binary_search_by_key(&seq, |(s, _)| *s)
            .ok()
            .map(|i| self.line_of[i].1)
    }
}

/// The keys the entries register, in order, as a walk over them finds them.
#[derive(Default)]
pub(super) struct KeyBook {
    pub(super) keys: Vec<BundleParty>,
    by_fpr: HashMap<Fingerprint, usize>,
    pub(super) roles: HashMap<String, Role>,
}

impl KeyBook {
    pub(super) fn get(&self, f: &Fingerprint) -> Option<&BundleParty> {
        self.by_fpr.get(f).map(|&i| &self.keys[i])
    }

    /// A party and its first key.
    pub(super) fn register(
        &mut self,
        p: &PartyPayload,
        key: PublicKey,
        seq: u64,
    ) -> Result<(), String> {
        let fpr = key.fingerprint();
        if self.roles.contains_key(&p.id) {
            return Err(format!("party {:?} is registered twice", p.id));
        }
        if self.by_fpr.contains_key(&fpr) {
            return Err(format!("key {fpr} is registered twice"));
        }
        self.roles.insert(p.id.clone(), p.role);
        self.by_fpr.insert(fpr, self.keys.len());
        self.keys.push(BundleParty {
            id: p.id.clone(),
            role: p.role.as_str().to_string(),
            key,
            seq,
            rotated: false,
            retired_by: None,
        });
        Ok(())
    }

    /// A rotation signed by `signer`: `key` becomes its party's key, `signer` is retired.
    pub(super) fn rotate(
        &mut self,
        signer: &Fingerprint,
        key: PublicKey,
        seq: u64,
    ) -> Result<(), String> {
        let fpr = key.fingerprint();
        let Some(&i) = self.by_fpr.get(signer) else {
            return Err(format!(
                "rotation signed by key {signer}, which is not registered"
            ));
        };
        if self.by_fpr.contains_key(&fpr) {
            return Err(format!("key {fpr} is registered twice"));
        }
        self.keys[i].retired_by.get_or_insert(seq);
        let (id, role) = (self.keys[i].id.clone(), self.keys[i].role.clone());
        self.by_fpr.insert(fpr, self.keys.len());
        self.keys.push(BundleParty {
            id,
            role,
            key,
            seq,
            rotated: true,
            retired_by: None,
        });
        Ok(())
    }
}
