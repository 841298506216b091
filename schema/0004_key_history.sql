-- vouch ledger schema, version 4: key history (schema/FORMAT.md §14). Derived data only;
-- nothing signed changes.
--
-- A key registered by a `key-rotation` entry gets its row in `keys` (seq = the rotation),
-- as a party's first key does. `key_events` records when a key stopped being valid: the
-- rotation that retired it, or the revocation that revoked it (and from when). Rows are
-- inserted in the transaction of the entry they derive from and never change, so the
-- append-only triggers stay simple; `vouch verify` recomputes every row from the signed
-- entries. A reader of an older file, which cannot hold key history, sees no rows.
CREATE TABLE key_events (
    seq         INTEGER PRIMARY KEY NOT NULL, -- the key-rotation or key-revocation entry
    fingerprint TEXT NOT NULL,                -- the key it retires or revokes
    event       TEXT NOT NULL,                -- 'retired' (key-rotation) or 'revoked'
    since       TEXT                          -- revoked: the payload's since; NULL if retired
) STRICT;

CREATE INDEX key_events_fingerprint ON key_events (fingerprint);

CREATE TRIGGER key_events_no_update BEFORE UPDATE ON key_events
BEGIN SELECT RAISE(ABORT, 'vouch: the ledger is append-only: UPDATE on key_events refused'); END;
CREATE TRIGGER key_events_no_delete BEFORE DELETE ON key_events
BEGIN SELECT RAISE(ABORT, 'vouch: the ledger is append-only: DELETE on key_events refused'); END;
