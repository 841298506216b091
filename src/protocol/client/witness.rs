//! The client's calls of `schema/PROTOCOL.md` §11: the server's checkpoint, consistency
//! proofs, tiles, and witnessing (verify the server's newest checkpoint against the one a
//! party cosigned before, cosign it, send the cosignature).
//!
//! A replica (`vouch pull --cosign`) calls [`Client::witness`] with the newest server
//! checkpoint it cosigned (kept in the replica) and stores the [`Witnessed`] note it gets.

use chrono::{DateTime, Utc};

use super::{Body, Client, Failure, bad_answer, problem, transport};
use crate::crypto::{SecretKey, base64_decode, sha256};
use crate::error::Error;
use crate::format::checkpoint::{Checkpoint, Note, Verifier};
use crate::format::cosignature::{self, AddCheckpoint};
use crate::format::merkle::Hash;

/// Longest checkpoint, proof or tile answer read (a note is at most 1 MiB; a tile 64 KiB;
/// an entry bundle at most 256 entries of 64 KiB).
const MAX_TEXT: u64 = 1 << 24;

/// What `POST …/cosignatures` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cosigned {
    /// Stored: the checkpoint as the server now serves it (with every cosignature on it).
    Stored(String),
    /// 409: the server's record of the newest checkpoint this key cosigned has this size.
    Conflict(u64),
}

/// A witnessing step done: the server's checkpoint, verified and cosigned.
#[derive(Debug, Clone)]
pub struct Witnessed {
    /// The server's checkpoint with the party's cosignature line added (the replica's new
    /// newest cosigned checkpoint).
    pub note: Note,
    /// Its checkpoint.
    pub checkpoint: Checkpoint,
    /// The checkpoint as the server serves it after storing the cosignature.
    pub served: String,
}

impl Client {
    /// A GET of `path` whose body is text or bytes (at most [`MAX_TEXT`]).
    fn get_bytes(&self, path: &str) -> Result<Vec<u8>, Failure> {
        let r = self.send("GET", path, None, Body::Bytes(&[]))?;
        r.into_body()
            .with_config()
            .limit(MAX_TEXT)
            .read_to_vec()
            .map_err(|e| bad_answer(path, e))
    }

    /// `GET …/checkpoint`: the server's newest signed checkpoint with its cosignatures, as
    /// sent (not verified: parse it with [`Note::parse`] and verify it with the server's
    /// pinned verifier key).
    ///
    /// # Errors
    ///
    /// The server's refusal (404 also when it has no key), an answer that is not UTF-8.
    pub fn checkpoint(&self, id: &str) -> Result<String, Failure> {
        let path = format!("/v1/ledgers/{id}/checkpoint");
        String::from_utf8(self.get_bytes(&path)?).map_err(|e| bad_answer(&path, e))
    }

    /// `GET …/proof/consistency?from=M&to=N`.
    ///
    /// # Errors
    ///
    /// The server's refusal, a line that is not a base64 hash.
    pub fn consistency_proof(&self, id: &str, from: u64, to: u64) -> Result<Vec<Hash>, Failure> {
        let path = format!("/v1/ledgers/{id}/proof/consistency?from={from}&to={to}");
        let text = String::from_utf8(self.get_bytes(&path)?).map_err(|e| bad_answer(&path, e))?;
        text.lines()
            .map(|l| {
                base64_decode(l)
                    .and_then(|h| <[u8; 32]>::try_from(h).ok())
                    .ok_or_else(|| bad_answer(&path, format!("{l:?} is not a base64 hash")))
            })
            .collect()
    }

    /// `GET …/tile/…`: the bytes of a tile (`tile` is its C2SP path, `tile/0/000` …), not
    /// verified (a tlog-tiles client checks it against a checkpoint's root).
    ///
    /// # Errors
    ///
    /// The server's refusal (404: not a tile of the newest checkpoint's tree).
    pub fn tile(&self, id: &str, tile: &str) -> Result<Vec<u8>, Failure> {
        self.get_bytes(&format!("/v1/ledgers/{id}/{tile}"))
    }

    /// `POST …/cosignatures` with a tlog-witness add-checkpoint body whose checkpoint
    /// carries the cosignature line(s).
    ///
    /// # Errors
    ///
    /// The server's refusal other than 409, the transport.
    pub fn post_cosignature(&self, id: &str, body: &AddCheckpoint) -> Result<Cosigned, Failure> {
        let path = format!("/v1/ledgers/{id}/cosignatures");
        let url = format!("{}{path}", self.base);
        let bytes = body.to_string().into_bytes();
        let s = self.sign("POST", &url, &sha256(&bytes))?;
        let req = ureq::http::Request::builder()
            .method("POST")
            .uri(&url)
            .header("content-type", "text/plain; charset=utf-8")
            .header("content-digest", &s.content_digest)
            .header("signature-input", &s.signature_input)
            .header("signature", &s.signature)
            .body(bytes)
            .map_err(|e| bad_answer(&url, e))?;
        let mut r = self.agent.run(req).map_err(|e| transport(&url, &e))?;
        let status = r.status().as_u16();
        let is_size = r
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/x.tlog.size"));
        if status == 409 && is_size {
            let text = r
                .body_mut()
                .with_config()
                .limit(64)
                .read_to_string()
                .map_err(|e| bad_answer(&url, e))?;
            let n = text
                .strip_suffix('\n')
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| bad_answer(&url, format!("409 with size {text:?}")))?;
            return Ok(Cosigned::Conflict(n));
        }
        if status >= 400 {
            return Err(problem(&url, r));
        }
        let text = r
            .body_mut()
            .with_config()
            .limit(MAX_TEXT)
            .read_to_string()
            .map_err(|e| bad_answer(&url, e))?;
        Ok(Cosigned::Stored(text))
    }

    /// Witness the server (tlog-witness `add-checkpoint`, the party being the witness):
    /// read its newest checkpoint and the consistency proof from `latest` (the newest
    /// checkpoint this party cosigned; `None`: none yet), verify both with the server's
    /// verifier keys `log` ([`cosignature::check`]), cosign under `name`
    /// ([`cosignature::cosigner_name`]) with `key` at `now`, and send the cosignature.
    ///
    /// # Errors
    ///
    /// A checkpoint that does not extend `latest` (naming both), not signed by `log`, or
    /// the server's refusal (a 409 names the size it has on record).
    pub fn witness(
        &self,
        id: &str,
        latest: Option<&Checkpoint>,
        log: &[Verifier],
        name: &str,
        key: &SecretKey,
        now: DateTime<Utc>,
    ) -> Result<Witnessed, Failure> {
        let local = |error: Error| Failure::Other { status: 0, error };
        let text = self.checkpoint(id)?;
        let mut note =
            Note::parse(&text).map_err(|e| local(e.context("the server's checkpoint")))?;
        // Only the server's own lines are sent back with ours.
        note.signatures.retain(|s| {
            log.iter()
                .any(|v| v.name() == s.name && v.key_id() == s.key_id)
                || s.name == note_origin(&note.text)
        });
        let new = Checkpoint::from_note(&note).map_err(local)?;
        let old = latest.map_or(0, |c| c.size);
        let proof = if old == 0 || old >= new.size {
            Vec::new()
        } else {
            self.consistency_proof(id, old, new.size)?
        };
        let req = AddCheckpoint { old, proof, note };
        let (checkpoint, sig) = cosignature::add_checkpoint(latest, &req, log, name, key, now)
            .map_err(|r| {
                let status = r.status();
                Failure::Other {
                    status: if status == 409 { 0 } else { status },
                    error: r.into_error(),
                }
            })?;
        let mut body = req;
        body.note.add_signature(sig).map_err(local)?;
        match self.post_cosignature(id, &body)? {
            Cosigned::Stored(served) => Ok(Witnessed {
                note: body.note,
                checkpoint,
                served,
            }),
            Cosigned::Conflict(n) => Err(Failure::Other {
                status: 409,
                error: Error::new(format!(
                    "the server has size {n} on record as the newest checkpoint this key cosigned, not {}",
                    body.old
                ))
                .hint("the replica's record of its newest cosigned checkpoint and the server's differ: compare them before cosigning again"),
            }),
        }
    }
}

/// The first line of a note text (the checkpoint's origin).
fn note_origin(text: &str) -> &str {
    text.split('\n').next().unwrap_or("")
}
