//! The SQLite engine's Merkle tree storage (`schema/FORMAT.md` §12): the stored nodes, the
//! leaf hashes read from the entry texts, and the one-time backfill of older files.

use super::*;

// ---- Merkle tree (schema/FORMAT.md §12) --------------------------------------------------
//
// `merkle_nodes` holds the complete subtrees at levels 4, 8, 12, …; everything else is
// computed by `crate::format::merkle` from these rows and the entry texts. Leaf k is entry seq k + 1.

pub(super) fn to_i64(n: u64, what: &str) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::new(format!("{what} {n} is out of range")))
}

pub(super) fn merkle_damaged(path: &Path, what: String) -> Error {
    Error::new(format!("{}: {what}", path.display()))
        .hint("run `vouch verify`: the ledger looks damaged")
}

/// Leaf hashes of leaves `start..end` (entries `start + 1 ..= end`), from the entry texts.
pub(super) fn leaf_hashes(
    conn: &Connection,
    path: &Path,
    start: u64,
    end: u64,
) -> Result<Vec<Hash>> {
    let mut stmt = conn
        .prepare_cached(LEAF_HASHES_SQL)
        .map_err(|e| db_err(path, &e))?;
    let mut rows = stmt
        .query(params![to_i64(start, "leaf")?, to_i64(end, "leaf")?])
        .map_err(|e| db_err(path, &e))?;
    let mut out = Vec::with_capacity(usize::try_from(end.saturating_sub(start)).unwrap_or(0));
    let mut want = start + 1;
    while let Some(r) = rows.next().map_err(|e| db_err(path, &e))? {
        let seq: i64 = r.get(0).map_err(|e| db_err(path, &e))?;
        if u64::try_from(seq).ok() != Some(want) {
            break;
        }
        let ValueRef::Blob(body) = r.get_ref(1).map_err(|e| db_err(path, &e))? else {
            return Err(merkle_damaged(
                path,
                format!("entry {seq} is not stored as bytes"),
            ));
        };
        out.push(merkle::leaf_hash(body));
        want += 1;
    }
    if want <= end {
        return Err(merkle_damaged(
            path,
            format!(
                "entry {want} is missing (the Merkle tree needs entries {}–{end})",
                start + 1
            ),
        ));
    }
    Ok(out)
}

/// Stored hashes of nodes `start..end` of `level`; every one must be there.
pub(super) fn stored_nodes(
    conn: &Connection,
    path: &Path,
    level: u32,
    start: u64,
    end: u64,
) -> Result<Vec<Hash>> {
    let mut stmt = conn
        .prepare_cached(STORED_NODES_SQL)
        .map_err(|e| db_err(path, &e))?;
    let mut rows = stmt
        .query(params![level, to_i64(start, "node")?, to_i64(end, "node")?])
        .map_err(|e| db_err(path, &e))?;
    let mut out = Vec::new();
    let mut want = start;
    while let Some(r) = rows.next().map_err(|e| db_err(path, &e))? {
        let idx: i64 = r.get(0).map_err(|e| db_err(path, &e))?;
        let hash = match r.get_ref(1).map_err(|e| db_err(path, &e))? {
            ValueRef::Blob(b) => Hash::try_from(b).ok(),
            _ => None,
        };
        match hash {
            Some(h) if u64::try_from(idx).ok() == Some(want) => out.push(h),
            _ => break,
        }
        want += 1;
    }
    if want < end {
        return Err(merkle_damaged(
            path,
            format!("merkle_nodes lacks a valid row for level {level}, index {want}"),
        ));
    }
    Ok(out)
}

/// Fill `merkle_nodes` from the entry texts, streaming (memory stays flat): the migration to
/// schema version 3, inside its transaction. Stops at a missing entry (verify reports it).
pub(super) fn backfill_merkle(tx: &rusqlite::Transaction<'_>, path: &Path) -> Result<()> {
    let mut read = tx
        .prepare("SELECT seq, body FROM entries ORDER BY seq")
        .map_err(|e| db_err(path, &e))?;
    let mut insert = tx
        .prepare("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
        .map_err(|e| db_err(path, &e))?;
    let mut tree = merkle::Builder::new();
    let mut rows = read.query([]).map_err(|e| db_err(path, &e))?;
    while let Some(r) = rows.next().map_err(|e| db_err(path, &e))? {
        let seq: i64 = r.get(0).map_err(|e| db_err(path, &e))?;
        let ValueRef::Blob(body) = r.get_ref(1).map_err(|e| db_err(path, &e))? else {
            break;
        };
        if u64::try_from(seq).ok() != Some(tree.size() + 1) {
            break;
        }
        tree.push(merkle::leaf_hash(body));
        for n in tree.take_completed() {
            insert
                .execute(params![n.level, to_i64(n.idx, "node")?, &n.hash[..]])
                .map_err(|e| db_err(path, &e))?;
        }
    }
    Ok(())
}

impl Sqlite {
    /// Whether `merkle_nodes` is there: `None` when the schema predates it (an older ledger
    /// opened read-only: everything is computed from the entry texts), `Some(false)` when
    /// the schema has it but the table was removed.
    pub(super) fn merkle_table_state(&self) -> Result<Option<bool>> {
        self.table_state("merkle_nodes", MERKLE_VERSION)
    }

    /// Whether table `name`, which schema version `since` added, is there: `Some(true)`
    /// yes; `Some(false)` missing although the schema version has it (a damaged file);
    /// `None` for an older schema.
    pub(super) fn table_state(&self, name: &str, since: i64) -> Result<Option<bool>> {
        let present = self
            .conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [name],
                |_| Ok(()),
            )
            .optional()
            .map_err(|e| db_err(&self.path, &e))?
            .is_some();
        Ok(if present {
            Some(true)
        } else if self.user_version()? >= since {
            Some(false)
        } else {
            None
        })
    }

    /// The stored rows completed while the tree grew from `after` to `last` leaves: at each
    /// stored level L, indexes `after >> L` to `(last >> L) − 1`. For verify's reader.
    pub(super) fn nodes_completed(&self, after: i64, last: i64) -> Result<Vec<NodeRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT level, idx, hash FROM merkle_nodes
                 WHERE level = ?1 AND idx >= ?2 AND idx < ?3 ORDER BY idx",
            )
            .map_err(|e| db_err(&self.path, &e))?;
        let mut out = Vec::new();
        for level in (merkle::STRIDE..64).step_by(merkle::STRIDE as usize) {
            let (lo, hi) = (after.max(0) >> level, last.max(0) >> level);
            if hi == 0 {
                break;
            }
            if hi <= lo {
                continue;
            }
            let rows = stmt
                .query_map(params![level, lo, hi], |r| {
                    Ok(NodeRow {
                        level: r.get(0)?,
                        idx: r.get(1)?,
                        hash: r.get(2)?,
                    })
                })
                .map_err(|e| db_err(&self.path, &e))?;
            for row in rows {
                out.push(row.map_err(|e| db_err(&self.path, &e))?);
            }
        }
        Ok(out)
    }

    /// Up to `limit` rows of `merkle_nodes` that are not a stored-level complete subtree of
    /// the tree of `size` leaves (a level that is not stored, or a subtree past the end).
    pub(super) fn stray_nodes(&self, size: i64, limit: usize) -> Result<Vec<NodeRow>> {
        collect_rows(
            &self.conn,
            &self.path,
            "SELECT level, idx, hash FROM merkle_nodes
             WHERE NOT (level >= 4 AND level <= 60 AND level % 4 = 0
                        AND idx >= 0 AND idx < (?1 >> level))
             ORDER BY level, idx LIMIT ?2",
            params![size, limit as i64],
            |r| {
                Ok(NodeRow {
                    level: r.get(0)?,
                    idx: r.get(1)?,
                    hash: r.get(2)?,
                })
            },
        )
    }
}

impl merkle::Source for Sqlite {
    fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>> {
        leaf_hashes(&self.conn, &self.path, start, end)
    }

    fn stored_nodes(&self, level: u32, start: u64, end: u64) -> Result<Option<Vec<Hash>>> {
        if self.merkle_table_state()? != Some(true) {
            return Ok(None);
        }
        stored_nodes(&self.conn, &self.path, level, start, end).map(Some)
    }
}

impl SqliteTxn<'_> {
    /// Record the stored-level nodes an append completed (same transaction as its entries).
    pub(super) fn insert_nodes(&self, nodes: &[merkle::Node]) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
            .map_err(|e| db_err(&self.path, &e))?;
        for n in nodes {
            stmt.execute(params![n.level, to_i64(n.idx, "node")?, &n.hash[..]])
                .map_err(|e| db_err(&self.path, &e))?;
        }
        Ok(())
    }
}

/// A writer has migrated the file, so the table is there.
impl merkle::Source for SqliteTxn<'_> {
    fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>> {
        leaf_hashes(&self.tx, &self.path, start, end)
    }

    fn stored_nodes(&self, level: u32, start: u64, end: u64) -> Result<Option<Vec<Hash>>> {
        stored_nodes(&self.tx, &self.path, level, start, end).map(Some)
    }
}

// ---- end of Merkle tree ------------------------------------------------------------------
