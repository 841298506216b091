//! Key history: rotation and revocation of party keys (`schema/FORMAT.md` §14).
//!
//! A party has one valid key at a time: the key it was registered with, replaced by each
//! `key-rotation` entry. The replaced key is *retired*: it signs nothing after the rotation.
//! When a party learns that one of its retired keys was compromised, it *revokes* it from a
//! time on (`key-revocation`): what the key signed from then on does not count as evidence.
//!
//! This module owns the byte layout of the rotation statement (what the new key signs to
//! prove possession, §14.2), the rules append enforces before it writes a key-history
//! entry, and the list of keys with their state. `verify` re-checks the same rules from the
//! signed bytes, with the same [`check_rotation`] and [`check_revocation`].

use chrono::{DateTime, Utc};

use super::store::{KeyEventRow, KeyRow, Txn};
use super::{Appended, Draft, Ledger, NoProgress, check_text};
use crate::crypto::{Fingerprint, PublicKey, SecretKey};
use crate::error::{Error, Result};
use crate::format::entry::{Kind, LedgerId, format_time, parse_time};
use crate::format::payload::{
    self, KeyRevocationPayload, KeyRotationPayload, PartyPayload, decode_proof, encode_proof,
    party_statement, rotation_statement,
};

/// `key_events.event` of a key a rotation replaced.
pub const RETIRED: &str = "retired";
/// `key_events.event` of a revoked key.
pub const REVOKED: &str = "revoked";

/// Longest revocation reason accepted at write time.
const MAX_REASON: usize = 4096;

/// The rules of a `key-rotation` entry signed by `signer`, a valid key of `party`
/// (`FORMAT.md` §4): the payload names that party, the new key is a well-formed key other
/// than the signer, and the proof is the new key's signature over the rotation statement.
/// Returns the new key. (That the new key is not registered yet is the caller's check.)
pub fn check_rotation(
    ledger: &LedgerId,
    party: &str,
    signer: &Fingerprint,
    p: &KeyRotationPayload,
) -> std::result::Result<PublicKey, String> {
    if p.party != party {
        return Err(format!(
            "key-rotation for party {:?} signed by a key of party {party:?}",
            p.party
        ));
    }
    let new = PublicKey::from_spki_base64(&p.public_key)
        .map_err(|e| format!("key-rotation: new key: {}", e.message()))?;
    let new_fpr = new.fingerprint();
    if new_fpr == *signer {
        return Err("key-rotation replaces a key with itself".into());
    }
    let proof = decode_proof(&p.proof)
        .ok_or("key-rotation proof is not the base64 of a 64-byte signature")?;
    if !new.verify(
        rotation_statement(ledger, party, signer, &new_fpr).as_bytes(),
        &proof,
    ) {
        return Err(format!(
            "key-rotation proof of possession does not verify: it is not key {new_fpr}'s signature over the rotation statement"
        ));
    }
    Ok(new)
}

/// A registration request (`FORMAT.md` §4 `party`, format v2): the `party` payload that
/// registers `party` with `key`, carrying the key's proof of possession for the ledger
/// `ledger`. Made by the key's holder (`vouch party request`); any registered party then
/// appends it as it is.
pub fn party_request(
    ledger: &LedgerId,
    party: &super::NewParty,
    key: &SecretKey,
) -> Result<PartyPayload> {
    super::check_party_id(&party.id)?;
    super::rule(crate::format::rules::party_name(&party.name))?;
    let public = key.public();
    let statement = party_statement(
        ledger,
        &party.id,
        &party.name,
        party.role,
        &public.fingerprint(),
    );
    Ok(PartyPayload {
        id: party.id.clone(),
        name: party.name.clone(),
        proof: Some(encode_proof(&key.sign(statement.as_bytes()))),
        public_key: public.spki_base64(),
        role: party.role,
    })
}

/// The proof of possession of a v2 `party` payload (`FORMAT.md` §14.6): the registered
/// key's signature over the party statement of this ledger, party id, name, role and key.
/// Writers check a request with it before appending; `verify` checks every v2 `party`
/// entry with it. Returns the registered key.
pub fn check_party_proof(
    ledger: &LedgerId,
    p: &PartyPayload,
) -> std::result::Result<PublicKey, String> {
    let key = PublicKey::from_spki_base64(&p.public_key)
        .map_err(|e| format!("party {:?}: key: {}", p.id, e.message()))?;
    let proof = p
        .proof
        .as_deref()
        .and_then(decode_proof)
        .ok_or_else(|| format!("party {:?} has no proof of possession", p.id))?;
    let fpr = key.fingerprint();
    if !key.verify(
        party_statement(ledger, &p.id, &p.name, p.role, &fpr).as_bytes(),
        &proof,
    ) {
        return Err(format!(
            "party {:?}: proof of possession does not verify: it is not key {fpr}'s signature over the party statement of this ledger, party id, name and role (§14.6)",
            p.id
        ));
    }
    Ok(key)
}

/// The rules of a `key-revocation` payload on its own (`FORMAT.md` §4): a fingerprint, a
/// reason, and a `since` no later than the entry's ledger time. Returns the key and since.
/// (Whose key it is, and its state, are the caller's checks.)
pub fn check_revocation(
    p: &KeyRevocationPayload,
    time: DateTime<Utc>,
) -> std::result::Result<(Fingerprint, DateTime<Utc>), String> {
    let key = Fingerprint::parse(&p.key).ok_or("key-revocation key is not a fingerprint")?;
    let since = parse_time(&p.since).ok_or("key-revocation since is malformed")?;
    if since > time {
        return Err(format!(
            "key-revocation since {} is after the entry's own time {}",
            p.since,
            format_time(&time)
        ));
    }
    if p.reason.trim().is_empty() {
        return Err("key-revocation without a reason".into());
    }
    Ok((key, since))
}

/// Parse `--since`: RFC 3339 with any offset, or `YYYY-MM-DD` (midnight UTC); fractions of a
/// second are dropped. A time after `now` is refused: a revocation says from when a key was
/// no longer trustworthy, which cannot be later than the revocation itself.
pub fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let Some(t) = crate::format::entry::parse_input_time(s) else {
        return Err(Error::new(format!("cannot read --since {s:?}")).hint(
            "use RFC 3339 (2026-08-02T14:00:00Z, 2026-08-02T16:00:00+02:00) or a date (2026-08-02)",
        ));
    };
    if t > now {
        return Err(Error::new(format!(
            "--since {s} is in the future (now is {})",
            format_time(&now)
        ))
        .hint("--since is when the key stopped being trustworthy (when it was, or may have been, compromised): now or earlier"));
    }
    Ok(t)
}

/// What a key-history entry adds to the derived tables.
#[derive(Debug, Clone)]
pub(crate) struct KeyChange {
    /// The key a rotation registers.
    key: Option<KeyRow>,
    /// The key retired or revoked.
    event: KeyEventRow,
}

impl KeyChange {
    /// The kind of the entry that makes the change.
    pub(crate) fn kind(&self) -> Kind {
        if self.key.is_some() {
            Kind::KeyRotation
        } else {
            Kind::KeyRevocation
        }
    }
}

/// A key's state in the writer's derived tables: the entry that retired it, and the entry
/// that revoked it with its `since`.
type Events = (Option<i64>, Option<(i64, String)>);

/// A key's state as the writer's derived tables have it.
fn events_of(w: &dyn Txn, fpr: &str) -> Result<Events> {
    let mut retired = None;
    let mut revoked = None;
    for e in w.key_events(fpr)? {
        if e.event == REVOKED {
            revoked.get_or_insert((e.seq, e.since.unwrap_or_default()));
        } else {
            retired.get_or_insert(e.seq);
        }
    }
    Ok((retired, revoked))
}

/// The party's current (valid) key, for hints.
fn current_key(w: &dyn Txn, party: &str) -> Result<Option<String>> {
    for k in w.party_keys(party)?.into_iter().rev() {
        if events_of(w, &k.fingerprint)? == (None, None) {
            return Ok(Some(k.fingerprint));
        }
    }
    Ok(None)
}

/// Refuse a signing key that a rotation retired or a revocation revoked (`FORMAT.md` §14.1).
pub(crate) fn check_signer(w: &dyn Txn, signer: &KeyRow) -> Result<()> {
    let (retired, revoked) = events_of(w, &signer.fingerprint)?;
    let what = match (retired, revoked) {
        (_, Some((seq, since))) => format!("was revoked by entry {seq} (revoked since {since})"),
        (Some(seq), None) => format!("was retired by entry {seq}, which rotated it"),
        (None, None) => return Ok(()),
    };
    let hint = match current_key(w, &signer.party)? {
        Some(k) => format!(
            "sign with {}'s current key {k} (vouch key list shows every key and its state)",
            signer.party
        ),
        None => "vouch key list shows every key and its state".to_string(),
    };
    Err(Error::new(format!(
        "key {} of {} {what}: it can no longer sign",
        signer.fingerprint, signer.party
    ))
    .hint(hint))
}

/// Check the key-history drafts of an append signed by `signer` (a valid key) at ledger
/// time `time`, the first draft getting `seq`: the rules of `FORMAT.md` §4 and §14, with a
/// refusal that says what to do instead. Returns the derived rows to insert.
pub(crate) fn check_drafts(
    w: &dyn Txn,
    ledger: &LedgerId,
    signer: &KeyRow,
    drafts: &[Draft],
    seq: u64,
    time: DateTime<Utc>,
) -> Result<Option<KeyChange>> {
    let Some(d) = drafts
        .iter()
        .find(|d| matches!(d.kind, Kind::KeyRotation | Kind::KeyRevocation))
    else {
        return Ok(None);
    };
    // A rotation retires its signer: nothing may follow it in the same batch.
    if drafts.len() != 1 {
        return Err(Error::new(format!(
            "a {} entry is appended on its own, not in a batch",
            d.kind
        )));
    }
    let seq_i = i64::try_from(seq).map_err(|_| Error::new("ledger is full"))?;
    let signer_fpr = Fingerprint::parse(&signer.fingerprint)
        .ok_or_else(|| Error::new("internal: malformed signer fingerprint"))?;
    let party = signer.party.as_str();
    if d.kind == Kind::KeyRotation {
        let p: KeyRotationPayload = payload::decode(&d.payload)
            .map_err(|e| Error::new(format!("key-rotation payload: {e}")))?;
        let new = check_rotation(ledger, party, &signer_fpr, &p).map_err(Error::new)?;
        let new_fpr = new.fingerprint().to_string();
        if let Some(k) = w.key(&new_fpr)? {
            return Err(Error::new(format!(
                "key {new_fpr} is already registered (to party {:?}, entry {})",
                k.party, k.seq
            ))
            .hint("rotate to a fresh key: vouch keygen NAME, then --new NAME"));
        }
        return Ok(Some(KeyChange {
            key: Some(KeyRow {
                fingerprint: new_fpr,
                party: party.to_string(),
                public_key: p.public_key,
                seq: seq_i,
            }),
            event: KeyEventRow {
                seq: seq_i,
                fingerprint: signer.fingerprint.clone(),
                event: RETIRED.into(),
                since: None,
            },
        }));
    }
    let p: KeyRevocationPayload = payload::decode(&d.payload)
        .map_err(|e| Error::new(format!("key-revocation payload: {e}")))?;
    check_text("reason", &p.reason, MAX_REASON)?;
    let (key, _) = check_revocation(&p, time).map_err(Error::new)?;
    let key_s = key.to_string();
    let Some(target) = w.key(&key_s)? else {
        return Err(
            Error::new(format!("key {key_s} is not registered in this ledger"))
                .hint("vouch key list shows the keys of every party"),
        );
    };
    if target.party != party {
        return Err(Error::new(format!(
            "key {key_s} belongs to party {:?}, not {party:?}: a party revokes only its own keys",
            target.party
        ))
        .hint(format!(
            "{:?} must revoke it; to contest one of its entries, use vouch cosign SEQ --dispute REASON",
            target.party
        )));
    }
    match events_of(w, &key_s)? {
        (_, Some((seq, since))) => Err(Error::new(format!(
            "key {key_s} is already revoked (entry {seq}, since {since}); a revocation is final"
        ))),
        (None, None) => Err(Error::new(format!(
            "key {key_s} is {party}'s current key: revoking it would leave {party} no key to sign with"
        ))
        .hint(format!(
            "rotate first (vouch key rotate --key OLD --new NEW), then revoke the old key signed with the new one: vouch key revoke {key_s} --since TIME --reason TEXT --key NEW"
        ))),
        (Some(_), None) => Ok(Some(KeyChange {
            key: None,
            event: KeyEventRow {
                seq: seq_i,
                fingerprint: key_s,
                event: REVOKED.into(),
                since: Some(p.since),
            },
        })),
    }
}

/// Insert the derived rows of a checked key-history entry (same transaction as the entry).
pub(crate) fn apply(w: &dyn Txn, change: &KeyChange) -> Result<()> {
    if let Some(k) = &change.key {
        w.insert_key(k)?;
    }
    w.insert_key_event(&change.event)
}

/// One key of the ledger and its state (`vouch key list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    /// Fingerprint (hex).
    pub fingerprint: String,
    /// Owning party.
    pub party: String,
    /// The entry that registered it (genesis, party or key-rotation).
    pub seq: u64,
    /// The key-rotation entry that retired it.
    pub retired_by: Option<u64>,
    /// The key-revocation entry that revoked it, and since when.
    pub revoked: Option<(u64, String)>,
}

impl KeyState {
    /// Neither retired nor revoked: the party's key.
    pub fn valid(&self) -> bool {
        self.retired_by.is_none() && self.revoked.is_none()
    }
}

impl Ledger {
    /// Replace the party's key `old` by `new` (`FORMAT.md` §14): a `key-rotation` entry
    /// signed by `old`, carrying `new`'s public key and its proof of possession. From the
    /// next entry on, `new` is the party's key and `old` signs nothing more.
    pub fn rotate_key(
        &mut self,
        old: &SecretKey,
        new: &SecretKey,
        now: DateTime<Utc>,
    ) -> Result<Appended> {
        let (party, _) = self.signer_party(old)?;
        let old_fpr = old.public().fingerprint();
        let new_pub = new.public();
        let new_fpr = new_pub.fingerprint();
        if new_fpr == old_fpr {
            return Err(Error::new("the new key is the key it would replace")
                .hint("make a fresh key with vouch keygen NAME and pass --new NAME"));
        }
        if let Some(p) = self.party_of_key(&new_fpr)? {
            return Err(Error::new(format!(
                "key {new_fpr} is already registered (to party {:?})",
                p.id
            ))
            .hint("rotate to a fresh key: vouch keygen NAME, then --new NAME"));
        }
        let statement = rotation_statement(&self.id()?, &party, &old_fpr, &new_fpr);
        let body = KeyRotationPayload {
            party,
            proof: encode_proof(&new.sign(statement.as_bytes())),
            public_key: new_pub.spki_base64(),
        };
        self.append_key_entry(old, Kind::KeyRotation, payload::encode(&body)?, now)
    }

    /// Revoke `key`, a retired key of the signer's own party, from `since` on
    /// (`FORMAT.md` §14): what it signed from then on does not count as evidence.
    pub fn revoke_key(
        &mut self,
        signer: &SecretKey,
        key: &Fingerprint,
        since: DateTime<Utc>,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<Appended> {
        let (party, _) = self.signer_party(signer)?;
        check_text("reason", &reason, MAX_REASON)?;
        if since > now {
            return Err(Error::new(format!(
                "--since {} is in the future (now is {})",
                format_time(&since),
                format_time(&now)
            )));
        }
        match self.party_of_key(key)? {
            None => {
                return Err(Error::new(format!(
                    "key {key} is not registered in {}",
                    self.store.path().display()
                ))
                .hint("vouch key list shows the keys of every party"));
            }
            Some(p) if p.id != party => {
                return Err(Error::new(format!(
                    "key {key} belongs to party {:?}, not {party:?}: a party revokes only its own keys",
                    p.id
                ))
                .hint(format!(
                    "{:?} must revoke it; to contest one of its entries, use vouch cosign SEQ --dispute REASON",
                    p.id
                )));
            }
            Some(_) => {}
        }
        let body = KeyRevocationPayload {
            key: key.to_string(),
            reason,
            since: format_time(&since),
        };
        self.append_key_entry(signer, Kind::KeyRevocation, payload::encode(&body)?, now)
    }

    fn append_key_entry(
        &mut self,
        key: &SecretKey,
        kind: Kind,
        payload: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<Appended> {
        let draft = Draft {
            kind,
            payload,
            party: None,
            store_artifacts: Vec::new(),
        };
        let mut a = self.append(key, vec![draft], now, &NoProgress)?;
        a.pop().ok_or_else(|| Error::new("nothing was appended"))
    }

    /// Every key of the ledger with its state, in registration order (from the derived
    /// tables; `vouch verify` checks them against the signed entries).
    pub fn key_list(&self) -> Result<Vec<KeyState>> {
        let events = self.store.key_events()?;
        Ok(self
            .store
            .keys()?
            .into_iter()
            .map(|k| {
                let mine = events.iter().filter(|e| e.fingerprint == k.fingerprint);
                let mut state = KeyState {
                    fingerprint: k.fingerprint.clone(),
                    party: k.party,
                    seq: u64::try_from(k.seq).unwrap_or(0),
                    retired_by: None,
                    revoked: None,
                };
                for e in mine {
                    let seq = u64::try_from(e.seq).unwrap_or(0);
                    if e.event == REVOKED {
                        state
                            .revoked
                            .get_or_insert((seq, e.since.clone().unwrap_or_default()));
                    } else {
                        state.retired_by.get_or_insert(seq);
                    }
                }
                state
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_statement_bytes() {
        let id = LedgerId([0x01; 16]);
        let s = rotation_statement(
            &id,
            "acme",
            &Fingerprint([0xaa; 32]),
            &Fingerprint([0xbb; 32]),
        );
        assert_eq!(
            s,
            format!(
                "vouch/v1 key-rotation\nledger: {}\nparty: acme\nold: {}\nnew: {}\n",
                "01".repeat(16),
                "aa".repeat(32),
                "bb".repeat(32)
            )
        );
    }

    #[test]
    fn proof_spelling_is_strict() {
        let sig = [7u8; 64];
        let s = encode_proof(&sig);
        assert_eq!(decode_proof(&s), Some(sig));
        assert_eq!(s.len(), 88);
        assert!(decode_proof(&s[..87]).is_none(), "unpadded");
        assert!(
            decode_proof(&encode_proof(&[7u8; 64])[..84]).is_none(),
            "short"
        );
        // Non-zero unused trailing bits: another spelling of the same bytes.
        let mut other = s.clone().into_bytes();
        other[85] = b'x';
        assert!(decode_proof(std::str::from_utf8(&other).unwrap()).is_none());
    }

    #[test]
    fn rotation_rules() {
        let id = LedgerId([0x02; 16]);
        let old = SecretKey::from_seed(&[1u8; 32]);
        let new = SecretKey::from_seed(&[2u8; 32]);
        let other = SecretKey::from_seed(&[3u8; 32]);
        let (of, nf) = (old.public().fingerprint(), new.public().fingerprint());
        let payload = |signer: &SecretKey, party: &str| KeyRotationPayload {
            party: party.into(),
            proof: encode_proof(&signer.sign(rotation_statement(&id, "acme", &of, &nf).as_bytes())),
            public_key: new.public().spki_base64(),
        };
        assert_eq!(
            check_rotation(&id, "acme", &of, &payload(&new, "acme")).unwrap(),
            new.public()
        );
        let e = check_rotation(&id, "acme", &of, &payload(&other, "acme")).unwrap_err();
        assert!(e.contains("proof of possession does not verify"), "{e}");
        // The proof binds the ledger and the old key.
        let e = check_rotation(&LedgerId([9; 16]), "acme", &of, &payload(&new, "acme"));
        assert!(e.is_err());
        let third = other.public().fingerprint();
        assert!(check_rotation(&id, "acme", &third, &payload(&new, "acme")).is_err());
        let e = check_rotation(&id, "acme", &of, &payload(&new, "globex")).unwrap_err();
        assert!(e.contains("for party \"globex\""), "{e}");
    }

    #[test]
    fn revocation_rules_and_since() {
        let t = parse_time("2026-08-02T10:00:00Z").unwrap();
        let p = |since: &str, reason: &str| KeyRevocationPayload {
            key: "ab".repeat(32),
            reason: reason.into(),
            since: since.into(),
        };
        assert!(check_revocation(&p("2026-08-02T10:00:00Z", "lost"), t).is_ok());
        assert!(check_revocation(&p("2026-08-02T10:00:01Z", "lost"), t).is_err());
        assert!(check_revocation(&p("2026-01-01T00:00:00Z", " "), t).is_err());
        assert_eq!(
            parse_since("2026-08-01", t).unwrap(),
            parse_time("2026-08-01T00:00:00Z").unwrap()
        );
        assert_eq!(
            parse_since("2026-08-02T11:30:00+02:00", t).unwrap(),
            parse_time("2026-08-02T09:30:00Z").unwrap()
        );
        let e = parse_since("2026-08-03", t).unwrap_err();
        assert!(e.message().contains("in the future"), "{}", e.message());
        assert!(parse_since("yesterday", t).is_err());
    }
}
