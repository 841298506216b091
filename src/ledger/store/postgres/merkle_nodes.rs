//! The PostgreSQL engine's Merkle tree storage (`schema/FORMAT.md` §12): the stored nodes
//! of one ledger, and the leaf hashes read from its entry texts.

use postgres::Client;
use postgres::fallible_iterator::FallibleIterator as _;
use postgres::types::ToSql;

use super::txn::PgTxn;
use super::{Postgres, limit_of};
use crate::error::{Error, Result};
use crate::format::merkle::{self, Hash};
use crate::ledger::store::{Engine as _, NodeRow};

/// A node's (level, idx) as stored.
pub(super) fn position(n: &merkle::Node) -> Result<(i32, i64)> {
    let level = i32::try_from(n.level).map_err(|_| Error::new("Merkle level out of range"))?;
    let idx = i64::try_from(n.idx).map_err(|_| Error::new("Merkle index out of range"))?;
    Ok((level, idx))
}

fn to_i64(n: u64, what: &str) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::new(format!("{what} {n} is out of range")))
}

fn damaged(pg: &Postgres, what: String) -> Error {
    Error::new(format!("{}: {what}", pg.path().display()))
        .hint("run `vouch verify`: the ledger looks damaged")
}

fn node_row(r: &postgres::Row) -> std::result::Result<NodeRow, postgres::Error> {
    Ok(NodeRow {
        level: i64::from(r.try_get::<_, i32>(0)?),
        idx: r.try_get(1)?,
        hash: r.try_get(2)?,
    })
}

/// Leaf hashes of leaves `start..end` (entries `start + 1 ..= end`), streamed from the
/// entry texts; an error naming the first missing entry.
fn leaf_hashes(pg: &Postgres, start: u64, end: u64) -> Result<Vec<Hash>> {
    let (lo, hi) = (to_i64(start, "leaf")?, to_i64(end, "leaf")?);
    let ledger = pg.loc.ledger.as_str();
    let read = |c: &mut Client| {
        let params: [&dyn ToSql; 3] = [&ledger, &lo, &hi];
        let mut rows = c.query_raw(
            "SELECT seq, body FROM vouch.entries WHERE ledger_id = $1 AND seq > $2 AND seq <= $3
             ORDER BY seq",
            params,
        )?;
        let mut out = Vec::with_capacity(usize::try_from(hi - lo).unwrap_or(0));
        let mut want = lo + 1;
        while let Some(r) = rows.next()? {
            if r.try_get::<_, i64>(0)? != want {
                break;
            }
            out.push(merkle::leaf_hash(r.try_get::<_, &[u8]>(1)?));
            want += 1;
        }
        Ok((out, want))
    };
    let (out, want) = pg.with(read)?;
    if want <= hi {
        return Err(damaged(
            pg,
            format!(
                "entry {want} is missing (the Merkle tree needs entries {}–{end})",
                start + 1
            ),
        ));
    }
    Ok(out)
}

/// Stored hashes of nodes `start..end` of `level`; every one must be there.
fn stored_nodes(pg: &Postgres, level: u32, start: u64, end: u64) -> Result<Vec<Hash>> {
    let level_i = i32::try_from(level).map_err(|_| Error::new("Merkle level out of range"))?;
    let (lo, hi) = (to_i64(start, "node")?, to_i64(end, "node")?);
    let rows = pg.rows(
        "SELECT idx, hash FROM vouch.merkle_nodes
         WHERE ledger_id = $1 AND level = $2 AND idx >= $3 AND idx < $4 ORDER BY idx",
        &[&level_i, &lo, &hi],
        |r| Ok((r.try_get::<_, i64>(0)?, r.try_get::<_, Vec<u8>>(1)?)),
    )?;
    let mut out = Vec::with_capacity(rows.len());
    let mut want = lo;
    for (idx, hash) in rows {
        match Hash::try_from(hash.as_slice()) {
            Ok(h) if idx == want => out.push(h),
            _ => break,
        }
        want += 1;
    }
    if want < hi {
        return Err(damaged(
            pg,
            format!("merkle_nodes lacks a valid row for level {level}, index {want}"),
        ));
    }
    Ok(out)
}

/// The stored rows completed while the tree grew from `after` to `last` leaves: at each
/// stored level L, indexes `after >> L` to `(last >> L) − 1`.
pub(super) fn completed(pg: &Postgres, after: i64, last: i64) -> Result<Vec<NodeRow>> {
    let mut out = Vec::new();
    for level in (merkle::STRIDE..64).step_by(merkle::STRIDE as usize) {
        let (lo, hi) = (after.max(0) >> level, last.max(0) >> level);
        if hi == 0 {
            break;
        }
        if hi <= lo {
            continue;
        }
        let level = i32::try_from(level).map_err(|_| Error::new("Merkle level out of range"))?;
        out.extend(pg.rows(
            "SELECT level, idx, hash FROM vouch.merkle_nodes
             WHERE ledger_id = $1 AND level = $2 AND idx >= $3 AND idx < $4 ORDER BY idx",
            &[&level, &lo, &hi],
            node_row,
        )?);
    }
    Ok(out)
}

/// Up to `limit` rows that are not a stored-level complete subtree of the tree of `size`
/// leaves (a level that is not stored, or a subtree past the end).
pub(super) fn strays(pg: &Postgres, size: i64, limit: usize) -> Result<Vec<NodeRow>> {
    pg.rows(
        "SELECT level, idx, hash FROM vouch.merkle_nodes
         WHERE ledger_id = $1
           AND NOT (level >= 4 AND level <= 60 AND level % 4 = 0
                    AND idx >= 0 AND idx < ($2::bigint >> level))
         ORDER BY level, idx LIMIT $3",
        &[&size, &limit_of(limit)],
        node_row,
    )
}

impl merkle::Source for Postgres {
    fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>> {
        leaf_hashes(self, start, end)
    }

    /// Every schema version has the table (a missing one is an error, named).
    fn stored_nodes(&self, level: u32, start: u64, end: u64) -> Result<Option<Vec<Hash>>> {
        stored_nodes(self, level, start, end).map(Some)
    }
}

/// Inside a transaction: its own rows and nodes.
impl merkle::Source for PgTxn<'_> {
    fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>> {
        leaf_hashes(self.pg, start, end)
    }

    fn stored_nodes(&self, level: u32, start: u64, end: u64) -> Result<Option<Vec<Hash>>> {
        stored_nodes(self.pg, level, start, end).map(Some)
    }
}
