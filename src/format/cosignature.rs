//! Witnessing a ledger's host (`schema/FORMAT.md` §13.8, `schema/PROTOCOL.md` §11): C2SP
//! [tlog-cosignature](https://c2sp.org/tlog-cosignature) (Ed25519, signature type `0x04`) and
//! the checks of C2SP [tlog-witness](https://c2sp.org/tlog-witness) `add-checkpoint`.
//!
//! - A **cosignature** is a signed-note signature line `— <name> base64(key ID ||
//!   timestamp || signature)` whose Ed25519 signature covers `cosignature/v1\ntime
//!   <timestamp>\n` followed by the checkpoint text; the key ID is
//!   `SHA-256(name || 0x0A || 0x04 || public key)[:4]` ([`Cosigner`], [`cosign`]).
//! - **Names**: a party of a ledger cosigns as `vouch.ledger/<ledger id>/<party id>`
//!   ([`cosigner_name`]); the server cosigns its own checkpoints (to bind them to its clock)
//!   as the origin `vouch.ledger/<ledger id>`.
//! - **add-checkpoint** ([`AddCheckpoint`]): the request body of tlog-witness (`old <size>`,
//!   consistency proof lines, an empty line, the signed checkpoint). [`check`] applies its
//!   checks against the newest checkpoint the witness cosigned; [`add_checkpoint`] then
//!   cosigns. A replica is the witness (`vouch pull --cosign`); the server applies the same
//!   checks to the cosignatures parties send it.
//!
//! Pure: no I/O, no clock (the caller passes the time), no printing.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::crypto::{PublicKey, SecretKey, base64_decode, base64_encode, sha256};
use crate::error::{Error, Result};
use crate::format::checkpoint::{
    Checkpoint, Note, NoteSignature, Verifier, check_key_name, raw_public_key, vouch_origin,
};
use crate::format::entry::LedgerId;
use crate::format::merkle::{self, Hash};

/// Signature type byte of Ed25519 cosignatures (tlog-cosignature).
pub const SIG_TYPE_COSIGNATURE: u8 = 0x04;

/// At most this many consistency proof lines in an add-checkpoint request (tlog-witness).
pub const MAX_PROOF: usize = 63;

/// The name under which party `party` of `ledger` cosigns: `vouch.ledger/<id>/<party>`.
pub fn cosigner_name(ledger: &LedgerId, party: &str) -> String {
    format!("{}/{party}", vouch_origin(ledger))
}

/// The bytes an Ed25519 cosignature signs: `cosignature/v1\ntime <t>\n` and the text.
fn message(text: &str, timestamp: u64) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    m.extend_from_slice(text.as_bytes());
    m
}

/// A cosigner's key under a name: what a verifier is configured with (tlog-cosignature:
/// "tuples of cosigner name, public key and cosignature version").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigner {
    name: String,
    key_id: [u8; 4],
    key: PublicKey,
}

impl Cosigner {
    /// The cosigner `key` under `name`.
    ///
    /// # Errors
    ///
    /// A name that is not a valid key name (signed-note).
    pub fn from_public(name: &str, key: &PublicKey) -> Result<Self> {
        check_key_name(name)?;
        let mut input = Vec::with_capacity(name.len() + 34);
        input.extend_from_slice(name.as_bytes());
        input.push(b'\n');
        input.push(SIG_TYPE_COSIGNATURE);
        input.extend_from_slice(&raw_public_key(key));
        let h = sha256(&input);
        Ok(Self {
            name: name.to_string(),
            key_id: [h[0], h[1], h[2], h[3]],
            key: *key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The public key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// Whether `sig` is a line of this cosigner (its name and key ID).
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.key_id
    }

    /// Verify this cosigner's line `sig` over the note text `text`; its timestamp.
    ///
    /// # Errors
    ///
    /// A line of another key, a malformed or zero timestamp, a signature that does not
    /// verify.
    pub fn verify(&self, text: &str, sig: &NoteSignature) -> Result<DateTime<Utc>> {
        let label = format!("{}+{}", self.name, hex::encode(self.key_id));
        if !self.matches(sig) {
            return Err(Error::new(format!("the line is not by cosigner {label}")));
        }
        let Some((ts, signature)) = sig.signature.split_first_chunk::<8>() else {
            return Err(Error::new(format!(
                "cosignature by {label}: {} bytes, not a timestamp and a signature",
                sig.signature.len()
            )));
        };
        let ts = u64::from_be_bytes(*ts);
        let time = i64::try_from(ts)
            .ok()
            .filter(|t| *t > 0)
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .ok_or_else(|| {
                Error::new(format!(
                    "cosignature by {label}: timestamp {ts} is zero or out of range"
                ))
            })?;
        if !self.key.verify(&message(text, ts), signature) {
            return Err(
                Error::new(format!("cosignature by {label} does not verify"))
                    .hint("the checkpoint was altered after cosigning, or cosigned by another key"),
            );
        }
        Ok(time)
    }
}

impl fmt::Display for Cosigner {
    /// The verifier key (vkey) with signature type `0x04`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = vec![SIG_TYPE_COSIGNATURE];
        raw.extend_from_slice(&raw_public_key(&self.key));
        write!(
            f,
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            base64_encode(&raw)
        )
    }
}

/// Cosign the note text `text` with `key` under `name` at `time` (tlog-cosignature,
/// Ed25519): the signature line to add to the note.
///
/// # Errors
///
/// A bad name, a time before 1970-01-01T00:00:01Z.
pub fn cosign(
    text: &str,
    name: &str,
    key: &SecretKey,
    time: DateTime<Utc>,
) -> Result<NoteSignature> {
    let c = Cosigner::from_public(name, &key.public())?;
    let ts = u64::try_from(time.timestamp())
        .ok()
        .filter(|t| *t > 0)
        .ok_or_else(|| Error::new(format!("cannot cosign at {time}: before 1970")))?;
    let mut signature = ts.to_be_bytes().to_vec();
    signature.extend_from_slice(&key.sign(&message(text, ts)));
    Ok(NoteSignature {
        name: name.to_string(),
        key_id: c.key_id,
        signature,
    })
}

/// A tlog-witness `add-checkpoint` request body: the size of the newest checkpoint the
/// witness cosigned, a consistency proof from it, and the new signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The old size.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size (empty for 0).
    pub proof: Vec<Hash>,
    /// The signed checkpoint (its signatures include the log's).
    pub note: Note,
}

impl AddCheckpoint {
    /// Parse a request body, strictly: `old <size>` (decimal, no leading zeros), at most
    /// [`MAX_PROOF`] lines of canonical base64 of 32 bytes, an empty line, a signed note.
    ///
    /// # Errors
    ///
    /// What is wrong, naming the 1-based line.
    pub fn parse(body: &str) -> Result<Self> {
        let (head, note) = body.split_once("\n\n").ok_or_else(|| {
            Error::new("no empty line after the old size and the proof")
                .hint("the body is `old <size>`, the proof lines, an empty line, the checkpoint")
        })?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|s| {
                !s.is_empty()
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && (*s == "0" || !s.starts_with('0'))
            })
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| Error::new("line 1: not `old <size>` (a decimal size)"))?;
        let mut proof = Vec::new();
        for (i, l) in lines.enumerate() {
            if proof.len() == MAX_PROOF {
                return Err(Error::new(format!(
                    "more than {MAX_PROOF} consistency proof lines"
                )));
            }
            let h = base64_decode(l)
                .and_then(|h| <[u8; 32]>::try_from(h).ok())
                .ok_or_else(|| {
                    Error::new(format!(
                        "line {}: not a hash in canonical standard base64",
                        i + 2
                    ))
                })?;
            proof.push(h);
        }
        let at = head.matches('\n').count() + 2;
        let note =
            Note::parse(note).map_err(|e| e.context(format!("checkpoint (from line {at})")))?;
        Ok(Self { old, proof, note })
    }
}

impl fmt::Display for AddCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "old {}", self.old)?;
        for h in &self.proof {
            writeln!(f, "{}", base64_encode(h))?;
        }
        writeln!(f)?;
        write!(f, "{}", self.note)
    }
}

/// Why a witness does not cosign (tlog-witness's answers).
#[derive(Debug)]
pub enum Refusal {
    /// 409: the old size is not the size of the newest checkpoint cosigned (that size).
    Conflict(u64),
    /// 400: the old size is larger than the checkpoint's, or another origin.
    BadRequest(Error),
    /// 403: no valid signature by the log's key.
    Forbidden(Error),
    /// 422: the checkpoint does not extend the newest cosigned one.
    Unprocessable(Error),
}

impl Refusal {
    /// The HTTP status tlog-witness gives it.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Conflict(_) => 409,
            Refusal::BadRequest(_) => 400,
            Refusal::Forbidden(_) => 403,
            Refusal::Unprocessable(_) => 422,
        }
    }

    /// The error (for a conflict: naming both sizes).
    pub fn into_error(self) -> Error {
        match self {
            Refusal::Conflict(n) => Error::new(format!(
                "the newest checkpoint cosigned has size {n}, not the old size given"
            ))
            .hint(format!(
                "send the request again with `old {n}` and a proof from {n}"
            )),
            Refusal::BadRequest(e) | Refusal::Forbidden(e) | Refusal::Unprocessable(e) => e,
        }
    }
}

/// How a checkpoint is named in messages: `size N (root <base64>)`.
pub fn describe(c: &Checkpoint) -> String {
    format!("size {} (root {})", c.size, base64_encode(&c.root))
}

/// The checks of tlog-witness `add-checkpoint`, in its order: the checkpoint is signed by a
/// key of `log` (403), is of `latest`'s origin (400), `old` ≤ its size (400), `old` is the
/// size of `latest`, the newest checkpoint cosigned (`None`: none yet, size 0) (409), and it
/// is consistent with `latest` (422). Returns the new checkpoint.
///
/// # Errors
///
/// A [`Refusal`]; an inconsistent checkpoint names both checkpoints.
pub fn check(
    latest: Option<&Checkpoint>,
    req: &AddCheckpoint,
    log: &[Verifier],
) -> std::result::Result<Checkpoint, Refusal> {
    req.note.verify(log).map_err(Refusal::Forbidden)?;
    let new = Checkpoint::from_note(&req.note).map_err(Refusal::BadRequest)?;
    if let Some(l) = latest
        && l.origin != new.origin
    {
        return Err(Refusal::BadRequest(Error::new(format!(
            "the checkpoint's origin {:?} is not {:?}",
            new.origin, l.origin
        ))));
    }
    if req.old > new.size {
        return Err(Refusal::BadRequest(Error::new(format!(
            "old size {} is larger than the checkpoint's size {}",
            req.old, new.size
        ))));
    }
    let latest_size = latest.map_or(0, |l| l.size);
    if req.old != latest_size {
        return Err(Refusal::Conflict(latest_size));
    }
    if new.size == 0 && new.root != merkle::empty_root() {
        return Err(Refusal::Unprocessable(Error::new(
            "a checkpoint of size 0 must have the empty tree's root",
        )));
    }
    let (old_root, old_desc) = match latest {
        Some(l) => (l.root, describe(l)),
        None => (merkle::empty_root(), "size 0".to_string()),
    };
    if !merkle::verify_consistency(req.old, new.size, &old_root, &new.root, &req.proof) {
        return Err(Refusal::Unprocessable(
            Error::new(format!(
                "the checkpoint of {} does not extend the checkpoint of {old_desc}: the consistency proof does not verify",
                describe(&new)
            ))
            .hint("the host rewrote or forked the ledger's history, or sent a wrong proof: do not cosign; keep both checkpoints as evidence"),
        ));
    }
    Ok(new)
}

/// A witness's `add-checkpoint`: [`check`], then cosign the new checkpoint with `key` under
/// `name` at `time`. The caller then records the new checkpoint as its newest cosigned one
/// (atomically with the check, tlog-witness says) and adds the line to the note.
///
/// # Errors
///
/// A [`Refusal`].
pub fn add_checkpoint(
    latest: Option<&Checkpoint>,
    req: &AddCheckpoint,
    log: &[Verifier],
    name: &str,
    key: &SecretKey,
    time: DateTime<Utc>,
) -> std::result::Result<(Checkpoint, NoteSignature), Refusal> {
    let new = check(latest, req, log)?;
    let sig = cosign(&req.note.text, name, key, time).map_err(Refusal::BadRequest)?;
    Ok((new, sig))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::checkpoint::{vouch_checkpoint, vouch_verifier};

    fn tree(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("entry {i}\n").into_bytes())
            .collect()
    }

    fn root(d: &[Vec<u8>]) -> Hash {
        let mut t = merkle::MemoryTree::new();
        for x in d {
            t.push(x);
        }
        merkle::root(&t, d.len() as u64).unwrap()
    }

    #[test]
    fn a_witness_cosigns_what_extends_and_refuses_a_fork() {
        let ledger = LedgerId([7; 16]);
        let log = SecretKey::from_seed(&[1; 32]);
        let w = SecretKey::from_seed(&[2; 32]);
        let lv = vouch_verifier(&ledger, &log.public());
        let d = tree(10);
        let cp = |n: usize, d: &[Vec<u8>]| vouch_checkpoint(&ledger, n as u64, root(&d[..n]));
        let note = |c: &Checkpoint| c.sign(&c.origin, &log).unwrap();
        let name = cosigner_name(&ledger, "acme");
        let t = DateTime::from_timestamp(1_784_102_400, 0).unwrap();

        // First: old 0, no proof.
        let first = AddCheckpoint {
            old: 0,
            proof: vec![],
            note: note(&cp(4, &d)),
        };
        let text = first.to_string();
        assert_eq!(AddCheckpoint::parse(&text).unwrap(), first);
        let (c4, sig) =
            add_checkpoint(None, &first, std::slice::from_ref(&lv), &name, &w, t).unwrap();
        let cos = Cosigner::from_public(&name, &w.public()).unwrap();
        assert_eq!(cos.verify(&first.note.text, &sig).unwrap(), t);
        let mut n = first.note.clone();
        n.add_signature(sig.clone()).unwrap();
        // The log's verifier ignores the cosignature; a cosigner is not a log key.
        assert_eq!(
            Note::parse(&n.to_string())
                .unwrap()
                .verify(std::slice::from_ref(&lv))
                .unwrap()
                .len(),
            1
        );
        // Altered text: refused.
        assert!(cos.verify("x\n", &sig).is_err());

        // Next: a proof from 4 to 10.
        let mut src = merkle::MemoryTree::new();
        for x in &d {
            src.push(x);
        }
        let proof = merkle::consistency_proof(&src, 4, 10).unwrap();
        let next = AddCheckpoint {
            old: 4,
            proof: proof.clone(),
            note: note(&cp(10, &d)),
        };
        assert!(add_checkpoint(Some(&c4), &next, std::slice::from_ref(&lv), &name, &w, t).is_ok());
        // A wrong old size: 409 with the witness's size.
        let wrong = AddCheckpoint {
            old: 3,
            ..next.clone()
        };
        match check(Some(&c4), &wrong, std::slice::from_ref(&lv)) {
            Err(Refusal::Conflict(4)) => {}
            other => panic!("{other:?}"),
        }
        // A forked history (entry 2 changed): the proof cannot verify; both named.
        let mut forked = d.clone();
        forked[1] = b"another entry\n".to_vec();
        let fork = AddCheckpoint {
            old: 4,
            proof,
            note: note(&cp(10, &forked)),
        };
        let e = check(Some(&c4), &fork, std::slice::from_ref(&lv)).unwrap_err();
        assert_eq!(e.status(), 422);
        let m = e.into_error().message().to_string();
        assert!(m.contains("size 10") && m.contains("size 4"), "{m}");
        // Not signed by the log: 403.
        let other = vouch_verifier(&ledger, &w.public());
        assert_eq!(check(Some(&c4), &next, &[other]).unwrap_err().status(), 403);
        // Old larger than the checkpoint: 400.
        let back = AddCheckpoint { old: 11, ..next };
        assert_eq!(check(Some(&c4), &back, &[lv]).unwrap_err().status(), 400);
    }

    #[test]
    fn parse_is_strict() {
        for bad in [
            "old 01\n\nx",
            "old\n\n",
            "old 1\nAAAA\n\n",
            "1\n\n",
            "old 1",
        ] {
            assert!(AddCheckpoint::parse(bad).is_err(), "{bad:?}");
        }
    }
}
