//! Loading entries that were signed elsewhere, exactly as they are, into a new ledger file:
//! the ledger's import API, used by bundle verification (`schema/FORMAT.md` §16.9) and, later,
//! by replicas.
//!
//! Unlike [`Ledger::append`], an import signs nothing and judges nothing: it stores each
//! entry's signed bytes verbatim, with the derived columns and tables of §6 computed by the
//! same functions the writer uses (`EntryRow::derive`, [`Registration`]), and the Merkle
//! nodes of §12 while the entries run on from 1 without a gap. Whether the result is a valid
//! ledger is for [`super::verify`] to say afterwards.

use std::path::Path;

use super::store::{self, EntryRow, Txn};
use super::{Ledger, Registration};
use crate::crypto::{self, PublicKey};
use crate::error::Result;
use crate::format::merkle;
use crate::format::payload::PartyPayload;

/// An import under way: one transaction on a new ledger file.
pub struct Import<'a> {
    tx: &'a mut dyn Txn,
    tree: merkle::Builder,
    rows: Vec<EntryRow>,
}

impl Ledger {
    /// Create a new ledger file at `path` for ledger `ledger_id` and load it with `f`, in one
    /// transaction: all of it lands, or (on an error) the file is left empty of entries.
    ///
    /// # Errors
    ///
    /// An existing file at `path`, I/O, or an error of `f`.
    pub fn import<T>(
        path: &Path,
        ledger_id: &str,
        f: impl FnOnce(&mut Import<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut engine = store::create(path, &[("ledger_id", ledger_id), ("format", "vouch/v1")])?;
        engine.write(|tx| {
            let mut import = Import {
                tx,
                tree: merkle::Builder::new(),
                rows: Vec::new(),
            };
            let out = f(&mut import)?;
            import.flush()?;
            Ok(out)
        })
    }
}

impl Import<'_> {
    /// Add one entry as it was signed. Entries come in increasing `seq` order; they are
    /// written at the next [`Import::flush`].
    ///
    /// # Errors
    ///
    /// A `seq` too large to store.
    pub fn entry(
        &mut self,
        seq: u64,
        body: Vec<u8>,
        signature: Vec<u8>,
        payload: Vec<u8>,
    ) -> Result<()> {
        if seq == self.tree.size() + 1 {
            self.tree.push(merkle::leaf_hash(&body));
        }
        let hash = crypto::sha256(&body);
        self.rows
            .push(EntryRow::derive(seq, hash, body, signature, payload)?);
        Ok(())
    }

    /// Register the party and key that entry `seq` (a `genesis` or `party` entry) adds.
    ///
    /// # Errors
    ///
    /// A party id or key registered before.
    pub fn register(&mut self, seq: u64, party: &PartyPayload, key: &PublicKey) -> Result<()> {
        Registration::of(party, key).insert(self.tx, seq)
    }

    /// Store a document (an adopted matrix) under the SHA-256 of its bytes, once.
    ///
    /// # Errors
    ///
    /// I/O.
    pub fn document(&mut self, bytes: &[u8]) -> Result<()> {
        let sha = hex::encode(crypto::sha256(bytes));
        if self.tx.has_artifact(&sha)? {
            return Ok(());
        }
        let mut src = std::io::Cursor::new(bytes);
        self.tx
            .insert_artifact(&sha, bytes.len() as u64, &mut src, &mut |_| {})
    }

    /// Write the entries added since the last flush, and the Merkle nodes they complete.
    ///
    /// # Errors
    ///
    /// A `seq` stored twice, or I/O.
    pub fn flush(&mut self) -> Result<()> {
        self.tx.insert_entries(&self.rows)?;
        self.rows.clear();
        self.tx.insert_merkle_nodes(&self.tree.take_completed())
    }
}
