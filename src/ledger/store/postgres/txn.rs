//! The PostgreSQL engine's write transaction: the ledger's head row locked, multi-row
//! inserts, artefacts streamed in chunks.

use std::cell::Cell;
use std::io::Read;

use postgres::types::ToSql;

use super::{
    CHUNK, ENTRY_COLUMNS, Postgres, query_ledger, row_to_entry, row_to_key, row_to_key_event,
    row_to_party,
};
use crate::error::{Error, Result};
use crate::format::merkle;
use crate::ledger::store::{Engine as _, EntryRow, KeyEventRow, KeyRow, PartyRow, Txn};

/// Entry rows per INSERT statement (9 parameters each, well under PostgreSQL's 65,535).
const ROWS_PER_INSERT: usize = 500;

/// One write transaction on one ledger; rolled back when dropped uncommitted.
pub(crate) struct PgTxn<'a> {
    pub(super) pg: &'a Postgres,
    open: Cell<bool>,
    /// A statement failed: PostgreSQL has aborted the transaction, and a COMMIT would roll
    /// it back without an error, so commit refuses.
    failed: Cell<bool>,
}

impl<'a> PgTxn<'a> {
    /// Begin (or, `continued`, go on with the transaction open on the connection), and
    /// lock the ledger's head row until commit or rollback.
    pub(super) fn begin(pg: &'a Postgres, continued: bool) -> Result<Self> {
        if !continued {
            pg.with(|c| c.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED"))?;
        }
        let txn = Self {
            pg,
            open: Cell::new(true),
            failed: Cell::new(false),
        };
        let sql = "SELECT head_seq FROM vouch.ledgers WHERE ledger_id = $1 FOR UPDATE";
        if txn.rows(sql, &[], |r| r.try_get::<_, i64>(0))?.is_empty() {
            return Err(Error::new(format!("no ledger at {}", pg.path().display())));
        }
        Ok(txn)
    }

    /// Query rows with the ledger as `$1`, inside the transaction.
    pub(super) fn rows<T>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        map: impl Fn(&postgres::Row) -> std::result::Result<T, postgres::Error>,
    ) -> Result<Vec<T>> {
        self.noted(self.pg.rows(sql, params, map))
    }

    /// Note a failed statement.
    fn noted<T>(&self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.failed.set(true);
        }
        r
    }

    /// Run a statement with the ledger as `$1`.
    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<()> {
        self.rows(sql, params, |_| Ok(())).map(drop)
    }

    /// One multi-row INSERT of up to [`ROWS_PER_INSERT`] entry rows.
    fn insert_chunk(&self, rows: &[EntryRow]) -> Result<()> {
        let mut sql = format!("INSERT INTO vouch.entries (ledger_id, {ENTRY_COLUMNS}) VALUES ");
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(rows.len() * 9);
        for (i, r) in rows.iter().enumerate() {
            let at = 2 + i * 9;
            let holders: Vec<String> = (at..at + 9).map(|n| format!("${n}")).collect();
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("($1, {})", holders.join(", ")));
            params.extend_from_slice(&[
                &r.seq,
                &r.body,
                &r.signature,
                &r.payload,
                &r.hash,
                &r.time,
                &r.kind,
                &r.signer,
                &r.item,
            ]);
        }
        let done = self
            .pg
            .with(|c| query_ledger(c, &self.pg.loc.ledger, &sql, &params, |_| Ok(())));
        self.noted(done).map(drop)
    }

    /// Insert one artefact chunk.
    fn insert_piece(&self, sha256: &str, n: i32, data: &[u8]) -> Result<()> {
        self.execute(
            "INSERT INTO vouch.artifact_chunks (ledger_id, sha256, n, data) VALUES ($1, $2, $3, $4)",
            &[&sha256, &n, &data],
        )
    }
}

impl Drop for PgTxn<'_> {
    fn drop(&mut self) {
        if self.open.replace(false) {
            let _ = self.pg.with(|c| c.batch_execute("ROLLBACK"));
        }
    }
}

impl Txn for PgTxn<'_> {
    fn tip(&self) -> Result<Option<EntryRow>> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM vouch.entries WHERE ledger_id = $1
             ORDER BY seq DESC LIMIT 1"
        );
        Ok(self.rows(&sql, &[], row_to_entry)?.pop())
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        let sql = "SELECT value FROM vouch.meta WHERE ledger_id = $1 AND key = $2";
        Ok(self.rows(sql, &[&key], |r| r.try_get(0))?.pop())
    }

    fn key(&self, fingerprint: &str) -> Result<Option<KeyRow>> {
        let sql = "SELECT fingerprint, party, public_key, seq FROM vouch.keys
                   WHERE ledger_id = $1 AND fingerprint = $2";
        Ok(self.rows(sql, &[&fingerprint], row_to_key)?.pop())
    }

    fn party(&self, id: &str) -> Result<Option<PartyRow>> {
        let sql = "SELECT id, name, role, seq FROM vouch.parties WHERE ledger_id = $1 AND id = $2";
        Ok(self.rows(sql, &[&id], row_to_party)?.pop())
    }

    /// Multi-row INSERTs, then the head row moves to the largest seq inserted.
    fn insert_entries(&self, rows: &[EntryRow]) -> Result<()> {
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            self.insert_chunk(chunk)?;
        }
        let Some(top) = rows.iter().max_by_key(|r| r.seq) else {
            return Ok(());
        };
        self.execute(
            "UPDATE vouch.ledgers SET head_seq = $2, head_hash = $3
             WHERE ledger_id = $1 AND head_seq < $2",
            &[&top.seq, &top.hash],
        )
    }

    fn insert_party(&self, party: &PartyRow, key: &KeyRow) -> Result<()> {
        self.execute(
            "INSERT INTO vouch.parties (ledger_id, id, name, role, seq) VALUES ($1, $2, $3, $4, $5)",
            &[&party.id, &party.name, &party.role, &party.seq],
        )?;
        self.insert_key(key)
    }

    fn key_events(&self, fingerprint: &str) -> Result<Vec<KeyEventRow>> {
        let sql = "SELECT seq, fingerprint, event, since FROM vouch.key_events
                   WHERE ledger_id = $1 AND fingerprint = $2 ORDER BY seq";
        self.rows(sql, &[&fingerprint], row_to_key_event)
    }

    fn party_keys(&self, party: &str) -> Result<Vec<KeyRow>> {
        let sql = "SELECT fingerprint, party, public_key, seq FROM vouch.keys
                   WHERE ledger_id = $1 AND party = $2 ORDER BY seq, fingerprint";
        self.rows(sql, &[&party], row_to_key)
    }

    fn insert_key(&self, key: &KeyRow) -> Result<()> {
        self.execute(
            "INSERT INTO vouch.keys (ledger_id, fingerprint, party, public_key, seq)
             VALUES ($1, $2, $3, $4, $5)",
            &[&key.fingerprint, &key.party, &key.public_key, &key.seq],
        )
    }

    fn insert_key_event(&self, event: &KeyEventRow) -> Result<()> {
        self.execute(
            "INSERT INTO vouch.key_events (ledger_id, seq, fingerprint, event, since)
             VALUES ($1, $2, $3, $4, $5)",
            &[&event.seq, &event.fingerprint, &event.event, &event.since],
        )
    }

    fn has_artifact(&self, sha256: &str) -> Result<bool> {
        let sql = "SELECT 1 FROM vouch.artifacts WHERE ledger_id = $1 AND sha256 = $2";
        Ok(!self.rows(sql, &[&sha256], |_| Ok(()))?.is_empty())
    }

    /// The `artifacts` row, then the content in chunks of [`CHUNK`] bytes as it is read
    /// (never whole in memory); every byte is shown to `seen`.
    fn insert_artifact(
        &self,
        sha256: &str,
        size: u64,
        source: &mut dyn Read,
        seen: &mut dyn FnMut(&[u8]),
    ) -> Result<()> {
        let size_i = i64::try_from(size).map_err(|_| Error::new("artefact too large"))?;
        self.execute(
            "INSERT INTO vouch.artifacts (ledger_id, sha256, size) VALUES ($1, $2, $3)",
            &[&sha256, &size_i],
        )?;
        let at = self.pg.path().to_path_buf();
        let mut piece = Vec::with_capacity(CHUNK.min(usize::try_from(size).unwrap_or(CHUNK)));
        let mut buf = vec![0u8; 64 * 1024];
        let (mut written, mut n) = (0u64, 0i32);
        loop {
            let got = source.read(&mut buf).map_err(|e| Error::io(&at, &e))?;
            if got == 0 {
                break;
            }
            written += got as u64;
            if written > size {
                return Err(Error::new("artefact grew while it was being stored"));
            }
            seen(&buf[..got]);
            piece.extend_from_slice(&buf[..got]);
            if piece.len() >= CHUNK {
                self.insert_piece(sha256, n, &piece)?;
                piece.clear();
                n += 1;
            }
        }
        if written != size {
            return Err(Error::new(
                "artefact changed size while it was being stored",
            ));
        }
        if !piece.is_empty() {
            self.insert_piece(sha256, n, &piece)?;
        }
        Ok(())
    }

    fn insert_merkle_nodes(&self, nodes: &[merkle::Node]) -> Result<()> {
        for n in nodes {
            let (level, idx) = super::merkle_nodes::position(n)?;
            self.execute(
                "INSERT INTO vouch.merkle_nodes (ledger_id, level, idx, hash) VALUES ($1, $2, $3, $4)",
                &[&level, &idx, &&n.hash[..]],
            )?;
        }
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<()> {
        if self.failed.get() {
            return Err(Error::new(format!(
                "{}: a statement of this transaction failed; nothing was written",
                self.pg.path().display()
            )));
        }
        self.open.set(false);
        self.pg.with(|c| c.batch_execute("COMMIT"))
    }
}
