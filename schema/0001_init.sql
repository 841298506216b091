-- vouch ledger schema, version 1 (PRAGMA user_version = 1).
-- Never edit or remove a released migration: add NNNN_*.sql and bump the version.
--
-- The signed facts are `entries.body` (the exact entry text), `entries.signature` and
-- `entries.payload` (the exact payload bytes). Every other column and table is derived
-- from them for queries and is cross-checked by `vouch verify`. See schema/FORMAT.md §6.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE entries (
    seq       INTEGER PRIMARY KEY NOT NULL, -- derived: the "seq:" line of body
    body      BLOB NOT NULL,                -- signed: the exact entry text
    signature BLOB NOT NULL,                -- signed: 64-byte Ed25519 signature over body
    payload   BLOB NOT NULL,                -- signed (by hash): the exact payload bytes
    hash      BLOB NOT NULL,                -- derived: SHA-256(body)
    time      TEXT NOT NULL,                -- derived: the "time:" line
    kind      TEXT NOT NULL,                -- derived: the "kind:" line
    signer    TEXT NOT NULL,                -- derived: the "signer:" line
    item      TEXT                          -- derived: payload "item" of evidence entries
) STRICT;

CREATE INDEX entries_item ON entries (item) WHERE item IS NOT NULL;

-- Derived from genesis and party entries.
CREATE TABLE parties (
    id   TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    seq  INTEGER NOT NULL                   -- the entry that registered the party
) STRICT;

-- Derived from genesis and party entries: every key a party may sign with.
CREATE TABLE keys (
    fingerprint TEXT PRIMARY KEY NOT NULL,
    party       TEXT NOT NULL,
    public_key  TEXT NOT NULL,              -- base64 of the DER SubjectPublicKeyInfo
    seq         INTEGER NOT NULL            -- the entry that registered the key
) STRICT;

-- Artefact content, addressed by SHA-256; referenced from evidence payloads.
CREATE TABLE artifacts (
    sha256  TEXT PRIMARY KEY NOT NULL,
    size    INTEGER NOT NULL,
    content BLOB NOT NULL
) STRICT;

-- Append-only guards. They protect against accidents, not attackers: the signatures and
-- the hash chain are the security boundary.
CREATE TRIGGER meta_no_update BEFORE UPDATE ON meta
BEGIN SELECT RAISE(ABORT, 'vouch: the ledger is append-only: UPDATE on meta refused'); END;
CREATE TRIGGER meta_no_delete BEFORE DELETE ON meta
BEGIN SELECT RAISE(ABORT, 'vouch: the ledger is append-only: DELETE on meta refused'); END;
CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'vouch: the ledger is append-only: UPDATE on entries refused'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'vouch: the ledger is append-only: DELETE on entries refused'); END;
CREATE TRIGGER parties_no_update BEFORE UPDATE ON parties
BEGIN SELECT RAISE(ABORT, 'vouch: the ledger is append-only: UPDATE on parties refused'); END;
CREATE TRIGGER parties_no_delete BEFORE DELETE ON parties
BEGIN SELECT RAISE(ABORT, 'vouch: the ledger is append-only: DELETE on parties refused'); END;
CREATE TRIGGER keys_no_update BEFORE UPDATE ON keys
BEGIN SELECT RAISE(ABORT, 'vouch: the ledger is append-only: UPDATE on keys refused'); END;
CREATE TRIGGER keys_no_delete BEFORE DELETE ON keys
BEGIN SELECT RAISE(ABORT, 'vouch: the ledger is append-only: DELETE on keys refused'); END;
CREATE TRIGGER artifacts_no_update BEFORE UPDATE ON artifacts
BEGIN SELECT RAISE(ABORT, 'vouch: the ledger is append-only: UPDATE on artifacts refused'); END;
CREATE TRIGGER artifacts_no_delete BEFORE DELETE ON artifacts
BEGIN SELECT RAISE(ABORT, 'vouch: the ledger is append-only: DELETE on artifacts refused'); END;
