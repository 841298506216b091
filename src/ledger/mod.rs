//! The ledger: append-only, hash-chained, signed entries, and the only way to them.
//!
//! Everything above this module reaches stored entries through [`Ledger`]: one writer
//! (`append.rs`, the rules of appending of `schema/FORMAT.md` §5, and [`import`] for entries
//! signed elsewhere), one reader ([`read`]: typed, hash-checked entries), proofs built from
//! it ([`prove`]) and the verifier ([`verify`]). Storage sits behind a private seam
//! (`store/`: the `Engine` trait and its SQLite engine), so nothing outside
//! `ledger/` names an engine, a row, SQL or a stored integer. Byte layouts are
//! [`crate::format`]'s.

pub mod actions;
mod append;
pub mod checkpoints;
pub mod evidence;
pub mod extend;
pub mod import;
pub mod keys;
pub mod prove;
pub mod read;
mod store;
pub mod verify;

pub use append::DraftSource;
pub use read::{Entry, Key, Party};
pub use store::Access;

use chrono::{DateTime, Utc};
use std::path::Path;

use crate::crypto::{Fingerprint, PublicKey, SecretKey};
use crate::error::{Error, Result};
use crate::format::entry::{Kind, LedgerId, Version};
use crate::format::payload::{self, PartyPayload, Role};
use crate::format::rules;
use store::{Engine, KeyRow, PartyRow, Txn};

/// Reports progress of long operations; the CLI draws a bar, the library never prints.
pub trait Progress: Sync {
    /// The total amount of work is known.
    fn start(&self, _total: u64, _what: &str) {}
    /// `n` more units are done.
    fn advance(&self, _n: u64) {}
    /// All done.
    fn finish(&self) {}
}

/// A [`Progress`] that shows nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// A new party, before it is signed into the ledger.
#[derive(Debug, Clone)]
pub struct NewParty {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// An entry to append, before seq/prev/time/signature are known.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Entry kind.
    pub kind: Kind,
    /// Canonical payload bytes.
    pub payload: Vec<u8>,
    /// Derived party and key rows (genesis and party entries).
    pub party: Option<Registration>,
    /// Artefacts whose content goes into the ledger with this entry.
    pub store_artifacts: Vec<evidence::ArtifactSource>,
}

impl Draft {
    /// The matrix item the draft concerns (evidence, waiver, delegation), as stored in the
    /// `item` column (§6).
    pub fn item(&self) -> Option<String> {
        store::item_of(self.kind, &self.payload)
    }
}

/// The party and key rows a `genesis` or `party` entry adds (`FORMAT.md` §6), derived by
/// the ledger from the payload; opaque outside it.
#[derive(Debug, Clone)]
pub struct Registration(PartyRow, KeyRow);

impl Registration {
    /// The rows a `genesis` or `party` entry with this payload adds (§6): the one place they
    /// are derived, for the writer and the importer alike. Their `seq` is set when the entry
    /// is stored.
    pub(crate) fn of(p: &PartyPayload, key: &PublicKey) -> Self {
        Self(
            PartyRow {
                id: p.id.clone(),
                name: p.name.clone(),
                role: p.role.as_str().to_string(),
                seq: 0,
            },
            KeyRow {
                fingerprint: key.fingerprint().to_string(),
                party: p.id.clone(),
                public_key: p.public_key.clone(),
                seq: 0,
            },
        )
    }

    /// Refuse a party id or key that is registered already.
    pub(crate) fn check_new(&self, w: &dyn Txn, path: &Path) -> Result<()> {
        let (p, k) = (&self.0, &self.1);
        if w.party(&p.id)?.is_some() {
            return Err(Error::new(format!(
                "party {:?} is already registered in {}",
                p.id,
                path.display()
            )));
        }
        if w.key(&k.fingerprint)?.is_some() {
            return Err(Error::new(format!(
                "key {} is already registered to a party",
                k.fingerprint
            )));
        }
        Ok(())
    }

    /// Store the rows for entry `seq`.
    pub(crate) fn insert(&self, w: &dyn Txn, seq: u64) -> Result<()> {
        let seq = read::stored_seq(seq);
        let (mut p, mut k) = (self.0.clone(), self.1.clone());
        p.seq = seq;
        k.seq = seq;
        w.insert_party(&p, &k)
    }
}

/// What was appended.
#[derive(Debug, Clone)]
pub struct Appended {
    /// Sequence number.
    pub seq: u64,
    /// Entry hash.
    pub hash: [u8; 32],
    /// Kind.
    pub kind: Kind,
}

/// Check a party id: `[a-z0-9][a-z0-9-]*`, at most 64 bytes (the rule is
/// [`rules::party_id`], which `verify` applies too).
pub fn check_party_id(id: &str) -> Result<()> {
    rules::party_id(id).map_err(|e| {
        Error::new(e).hint("use lowercase letters, digits and '-' (for example: cloudtemple, acme)")
    })
}

/// Check free text that goes into a payload: not blank, bounded length, no control
/// characters but line feed and tab ([`rules::text`], which `verify` applies too).
pub fn check_text(what: &str, s: &str, max: usize) -> Result<()> {
    rules::text(what, s, max).map_err(Error::new)
}

/// Apply a payload rule of [`rules`] at write time.
pub(crate) fn rule(r: std::result::Result<(), String>) -> Result<()> {
    r.map_err(Error::new)
}

/// The draft of a `genesis` or `party` entry with this payload, checked as `verify` checks
/// it for the format version it is written in.
fn party_draft(kind: Kind, payload: &PartyPayload, version: Version) -> Result<Draft> {
    use payload::Checked as _;
    payload
        .check()
        .and_then(|()| payload.check_version(version, kind))
        .map_err(Error::new)?;
    let key = PublicKey::from_spki_base64(&payload.public_key)?;
    Ok(Draft {
        kind,
        payload: payload::encode(payload)?,
        party: Some(Registration::of(payload, &key)),
        store_artifacts: Vec::new(),
    })
}

/// An open ledger.
pub struct Ledger {
    store: Box<dyn Engine>,
    /// The format version new entries are written in ([`Ledger::write_version`]).
    version: Version,
}

impl Ledger {
    /// Create a ledger at `path` whose genesis entry registers `founder` with `key`.
    pub fn init(
        path: &Path,
        id: LedgerId,
        founder: &NewParty,
        key: &SecretKey,
        now: DateTime<Utc>,
    ) -> Result<(Self, Appended)> {
        Self::init_version(path, id, founder, key, now, Version::CURRENT)
    }

    /// [`Ledger::init`], writing entries in format `version` (an older version only to
    /// reproduce ledgers of that version, such as the test vectors of `FORMAT.md` §9).
    pub fn init_version(
        path: &Path,
        id: LedgerId,
        founder: &NewParty,
        key: &SecretKey,
        now: DateTime<Utc>,
        version: Version,
    ) -> Result<(Self, Appended)> {
        check_party_id(&founder.id)?;
        let genesis = PartyPayload {
            id: founder.id.clone(),
            name: founder.name.clone(),
            proof: None,
            public_key: key.public().spki_base64(),
            role: founder.role,
        };
        let draft = party_draft(Kind::Genesis, &genesis, version)?;
        let id_s = id.to_string();
        let store = store::create(path, &[("ledger_id", &id_s), ("format", version.as_str())])?;
        let mut ledger = Self { store, version };
        match ledger.append(key, vec![draft], now, &NoProgress) {
            Ok(mut a) => Ok((ledger, a.remove(0))),
            Err(e) => {
                drop(ledger);
                let _ = std::fs::remove_file(path);
                Err(e)
            }
        }
    }

    /// Open an existing ledger.
    pub fn open(path: &Path, access: Access) -> Result<Self> {
        Ok(Self {
            store: store::open(path, access)?,
            version: Version::CURRENT,
        })
    }

    /// Write new entries in format `version` instead of [`Version::CURRENT`]: only to
    /// reproduce a ledger of an older version (the test vectors, `FORMAT.md` §9). Appending
    /// still refuses to write an entry of a version older than the newest entry's (§8).
    pub fn write_version(&mut self, version: Version) {
        self.version = version;
    }

    /// The ledger id.
    pub fn id(&self) -> Result<LedgerId> {
        let s = self.store.meta("ledger_id")?.unwrap_or_default();
        LedgerId::parse(&s).ok_or_else(|| {
            Error::new(format!(
                "{}: ledger id missing or malformed",
                self.store.path().display()
            ))
        })
    }

    /// Register another party with its key `new`, signed by a registered party's key
    /// `signer`: the caller holds the new party's private key and makes its proof of
    /// possession (`FORMAT.md` §14.6) here. Otherwise the new party makes a request
    /// ([`keys::party_request`]) and the caller appends it with [`Ledger::register`].
    pub fn add_party(
        &mut self,
        party: &NewParty,
        new: &SecretKey,
        signer: &SecretKey,
        now: DateTime<Utc>,
    ) -> Result<Appended> {
        let mut request = keys::party_request(&self.id()?, party, new)?;
        if self.version < Version::V2 {
            request.proof = None;
        }
        self.register(&request, signer, now)
    }

    /// Append a registration request (a `party` payload with its proof of possession, made
    /// by the new party with [`keys::party_request`]), signed by a registered party's key.
    /// The proof must be for this ledger.
    pub fn register(
        &mut self,
        request: &PartyPayload,
        signer: &SecretKey,
        now: DateTime<Utc>,
    ) -> Result<Appended> {
        if self.version >= Version::V2 {
            keys::check_party_proof(&self.id()?, request).map_err(|e| {
                Error::new(e).hint("the new party makes its request for this ledger: vouch party request ID --name NAME --role ROLE --key ITS.key --ledger-id ID")
            })?;
        }
        let draft = party_draft(Kind::Party, request, self.version)?;
        let mut a = self.append(signer, vec![draft], now, &NoProgress)?;
        Ok(a.remove(0))
    }

    /// The party that owns a key, if the key is registered.
    pub fn party_of_key(&self, key: &Fingerprint) -> Result<Option<Party>> {
        let fpr = key.to_string();
        let Some(k) = self
            .store
            .keys()?
            .into_iter()
            .find(|k| k.fingerprint == fpr)
        else {
            return Ok(None);
        };
        Ok(self.parties()?.into_iter().find(|p| p.id == k.party))
    }
}

/// Test support: `n` restore-test evidence drafts (backup ids `bk-0` …), performed and
/// recorded at `at`.
#[cfg(test)]
pub(crate) fn restore_drafts(n: usize, at: DateTime<Utc>) -> Vec<Draft> {
    (0..n)
        .map(|i| {
            let input = evidence::EvidenceInput {
                item: "backup.restore-tests".into(),
                kind: "restore-test".into(),
                outcome: "pass".into(),
                performed_at: crate::format::entry::format_time(&at),
                fields: [
                    (
                        "backup_id".to_string(),
                        serde_json::json!(format!("bk-{i}")),
                    ),
                    ("rto_minutes".to_string(), serde_json::json!(45)),
                    ("data_verified".to_string(), serde_json::json!(true)),
                ]
                .into(),
                artifacts: vec![],
                note: None,
                supporting: false,
            };
            evidence::draft(&input, at, false).unwrap_or_else(|e| panic!("{e:?}"))
        })
        .collect()
}
