//! The one writer of entries (`schema/FORMAT.md` §5): who may sign, how seq, prev and time
//! are chosen, and that a batch lands whole or not at all.
//!
//! An append takes the write lock, reads the tip, checks the signer and the drafts against
//! the registry and key history, chains the entry texts (sequential and cheap), signs them
//! on every core while the previous chunk is stored, and commits the entries with their
//! derived rows (§6) and the Merkle nodes they complete (§12) in one transaction.

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::path::Path;

use super::keys::{self, KeyChange};
use super::store::{EntryRow, Txn};
use super::{Appended, Draft, Ledger, Progress, evidence};
use crate::crypto::{self, Fingerprint, SecretKey};
use crate::error::{Error, Result};
use crate::format::entry::{EntryHeader, Kind, LedgerId, Version, ZERO_HASH, format_time};
use crate::format::merkle;
use crate::format::payload;

/// Below this many entries, signing stays on the calling thread (no pool start-up).
const PARALLEL_SIGN_MIN: usize = 64;
/// Entries signed per step of a large append (signing overlaps inserting).
const SIGN_CHUNK: usize = 4096;

/// Where the next entry goes: the newest entry's seq and hash, and the earliest time the
/// next entry may carry (`now`, or the newest entry's time if later — but never more than
/// [`evidence::MAX_FUTURE`] later: see [`tip`]).
struct Tip {
    exists: bool,
    /// The version the new entries are written in.
    version: Version,
    seq: u64,
    prev: [u8; 32],
    time: DateTime<Utc>,
}

/// An entry text and its hash, chained but not yet signed.
type Chained = (Vec<u8>, [u8; 32]);

impl Ledger {
    /// Append drafts signed by `key`, all in one transaction: all land or none.
    ///
    /// # Errors
    ///
    /// A signer that may not sign, drafts that break the rules of appending, I/O.
    pub fn append(
        &mut self,
        key: &SecretKey,
        drafts: Vec<Draft>,
        now: DateTime<Utc>,
        progress: &dyn Progress,
    ) -> Result<Vec<Appended>> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let signer = key.public().fingerprint();
        let path = self.store.path().to_path_buf();
        self.store.write(|w| {
            let id = w
                .meta("ledger_id")?
                .and_then(|s| LedgerId::parse(&s))
                .ok_or_else(|| Error::new(format!("{}: ledger id missing", path.display())))?;
            let tip = tip(w, now, self.version)?;
            let key_change = check_signer(w, &path, &id, &signer, &drafts, &tip)?;
            // The chain is sequential and cheap; signatures are independent of each other.
            progress.start(drafts.len() as u64, "signing");
            // The Merkle tree (FORMAT.md §12) continues from the tip; the stored nodes this
            // batch completes are inserted with its entries.
            let mut tree = merkle::Builder::resume(&*w, tip.seq)?;
            let texts = chain(&drafts, &id, &signer, &tip, &mut tree)?;
            let out = sign_and_store(w, key, drafts, texts, tip.seq + 1, progress)?;
            if let Some(c) = &key_change {
                keys::apply(w, c)?;
            }
            w.insert_merkle_nodes(&tree.take_completed())?;
            progress.finish();
            Ok(out)
        })
    }
}

/// The tip of the ledger inside the write transaction. Refuses a tip dated more than
/// [`evidence::MAX_FUTURE`] after `now` (FORMAT.md §5).
fn tip(w: &dyn Txn, now: DateTime<Utc>, version: Version) -> Result<Tip> {
    Ok(match w.tip()? {
        None => Tip {
            exists: false,
            version,
            seq: 0,
            prev: ZERO_HASH,
            time: now,
        },
        Some(row) => {
            let h = EntryHeader::parse(&row.body).map_err(|e| {
                Error::new(format!("newest entry {}: {e}", row.seq))
                    .hint("run `vouch verify`: the ledger looks damaged")
            })?;
            // Ledger time never goes backwards: appending after an entry dated in the
            // future would date this one (and every later one) in the future too.
            if h.time > now + evidence::MAX_FUTURE {
                return Err(Error::new(format!(
                    "the newest entry ({}) is dated {}, more than {} minutes after this machine's clock ({}): a new entry would have to carry that time",
                    h.seq,
                    format_time(&h.time),
                    evidence::MAX_FUTURE.num_minutes(),
                    format_time(&now)
                ))
                .hint("check this machine's clock; if it is right, the ledger holds an entry dated in the future: run vouch verify and tell the other parties (nothing was written)"));
            }
            // Versions never decrease (FORMAT.md §8): a v1 ledger is upgraded in place by
            // appending v2 entries, but a v2 ledger never gets a v1 entry.
            if h.version > version {
                return Err(Error::new(format!(
                    "the newest entry ({}) is a {} entry: this writer was asked for {version} entries, and versions never decrease",
                    h.seq, h.version
                )));
            }
            Tip {
                exists: true,
                version,
                seq: h.seq,
                prev: crypto::sha256(&row.body),
                time: now.max(h.time),
            }
        }
    })
}

/// Who signs: the founding key for genesis, otherwise a registered, still valid key; a
/// rotation or revocation must follow its rules (§14); a party or key registers once.
fn check_signer(
    w: &dyn Txn,
    path: &Path,
    id: &LedgerId,
    signer: &Fingerprint,
    drafts: &[Draft],
    tip: &Tip,
) -> Result<Option<KeyChange>> {
    let genesis = drafts[0].kind == Kind::Genesis;
    if genesis {
        if tip.exists || drafts.len() != 1 {
            return Err(Error::new("a genesis entry can only be the first entry"));
        }
    } else if !tip.exists {
        return Err(Error::new("the ledger has no genesis entry"));
    }
    let mut key_change = None;
    if !genesis {
        let Some(row) = w.key(&signer.to_string())? else {
            return Err(Error::new(format!(
                "key {signer} is not registered in {}",
                path.display()
            ))
            .hint("a registered party must add it first: vouch party add --request ID.request.json --key THEIR.key (the new party makes the file with vouch party request)"));
        };
        keys::check_signer(w, &row)?;
        key_change = keys::check_drafts(w, id, &row, drafts, tip.seq + 1, tip.time)?;
    }
    for d in drafts {
        if let Some(r) = &d.party {
            r.check_new(w, path)?;
        }
    }
    Ok(key_change)
}

/// The entry texts of the drafts, chained from the tip, each with its hash; their leaves go
/// into `tree`.
fn chain(
    drafts: &[Draft],
    id: &LedgerId,
    signer: &Fingerprint,
    tip: &Tip,
    tree: &mut merkle::Builder,
) -> Result<Vec<Chained>> {
    let (mut seq, mut prev) = (tip.seq, tip.prev);
    let mut texts = Vec::with_capacity(drafts.len());
    for d in drafts {
        seq += 1;
        // A checkpoint covers every entry before it: refuse one made before another
        // writer appended (nothing is written; making it again is cheap).
        if d.kind == Kind::Checkpoint {
            let c: payload::CheckpointPayload = payload::decode(&d.payload)
                .map_err(|e| Error::new(format!("checkpoint payload: {e}")))?;
            if c.size + 1 != seq {
                return Err(Error::new(format!(
                    "the ledger has {} entries, not the {} the checkpoint covers: it changed while the checkpoint was made",
                    seq - 1,
                    c.size
                ))
                .hint("run vouch checkpoint again"));
            }
        }
        let header = EntryHeader {
            version: tip.version,
            ledger: *id,
            seq,
            prev,
            time: tip.time,
            kind: d.kind,
            signer: *signer,
            payload: crypto::sha256(&d.payload),
        };
        let text = header.encode().into_bytes();
        prev = crypto::sha256(&text);
        tree.push(merkle::leaf_hash(&text));
        texts.push((text, prev));
    }
    Ok(texts)
}

/// Sign the chained texts and store them with their drafts' rows and artefacts: chunk k+1
/// is signed on every core while chunk k is inserted.
fn sign_and_store(
    w: &dyn Txn,
    key: &SecretKey,
    drafts: Vec<Draft>,
    texts: Vec<Chained>,
    first: u64,
    progress: &dyn Progress,
) -> Result<Vec<Appended>> {
    let sign_chunk = |chunk: &[Chained]| -> Vec<[u8; 64]> {
        let sign = |(t, _): &Chained| key.sign(t);
        let sigs = if chunk.len() >= PARALLEL_SIGN_MIN {
            chunk.par_iter().map(sign).collect()
        } else {
            chunk.iter().map(sign).collect()
        };
        progress.advance(chunk.len() as u64);
        sigs
    };
    let mut next = first;
    let mut out = Vec::with_capacity(drafts.len());
    let mut drafts = drafts.into_iter();
    let mut chunks = Vec::new();
    let mut texts = texts.into_iter().peekable();
    while texts.peek().is_some() {
        chunks.push(texts.by_ref().take(SIGN_CHUNK).collect::<Vec<_>>());
    }
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        scope.spawn(move || {
            for c in chunks {
                let sigs = sign_chunk(&c);
                if tx.send((c, sigs)).is_err() {
                    break;
                }
            }
        });
        for (chunk, sigs) in rx {
            let mut rows = Vec::with_capacity(chunk.len());
            for ((text, hash), sig) in chunk.into_iter().zip(sigs) {
                let Some(d) = drafts.next() else { break };
                if let Some(r) = &d.party {
                    r.insert(w, next)?;
                }
                for a in &d.store_artifacts {
                    evidence::store_artifact(w, a)?;
                }
                out.push(Appended {
                    seq: next,
                    hash,
                    kind: d.kind,
                });
                rows.push(EntryRow::derive(next, hash, text, sig.to_vec(), d.payload)?);
                next += 1;
            }
            w.insert_entries(&rows)?;
        }
        Ok(())
    })?;
    Ok(out)
}
