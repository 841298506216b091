-- vouch ledger schema, version 3: the Merkle tree over the entries (schema/FORMAT.md §12).
-- Derived data only; nothing signed changes.
--
-- A row is the hash of a complete subtree at a stored level (4, 8, 12, …): level L, index i
-- covers leaves i·2^L … (i+1)·2^L − 1, leaf k being the text of entry seq k + 1. Leaf hashes
-- and the other levels are not stored: they are computed from entries.body and from at most
-- 8 rows of the stored level below. Rows are written in the transaction of the entries that
-- complete them; a writer upgrading an older ledger fills the table in this migration's
-- transaction; `vouch verify` recomputes every row from the entry texts.
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,                    -- 32 bytes: RFC 6962 hash of the subtree
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
BEGIN SELECT RAISE(ABORT, 'vouch: the ledger is append-only: UPDATE on merkle_nodes refused'); END;
CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
BEGIN SELECT RAISE(ABORT, 'vouch: the ledger is append-only: DELETE on merkle_nodes refused'); END;
