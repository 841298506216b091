-- vouch ledger store for PostgreSQL, migration 1 (schema/FORMAT.md §6, §12, §14).
-- Never edit or remove a released migration: add NNNN_*.sql and a line in
-- src/ledger/store/postgres.rs (MIGRATIONS).
--
-- One database holds many ledgers. The engine applies the migrations when it first reaches a
-- database, in one transaction under a transaction-level advisory lock, and records each in
-- vouch.migrations (the engine creates the schema `vouch` and that table itself, before
-- this file, so that it can tell which migrations ran).
--
-- Scale-out: every table's primary key starts with ledger_id, every index too, and every
-- statement the engine runs names one ledger_id, so each statement touches one ledger. A
-- distributed PostgreSQL such as Citus can distribute every table by ledger_id, co-located:
--   SELECT create_distributed_table('vouch.ledgers', 'ledger_id');
--   SELECT create_distributed_table('vouch.entries', 'ledger_id', colocate_with => 'vouch.ledgers');
--   ... the same for meta, parties, keys, key_events, artifacts, artifact_chunks and
--   merkle_nodes (vouch.migrations stays a local table).
-- There are no foreign keys: rows are only written by the engine, after it has locked the
-- ledger's head row, and `vouch verify` re-derives every derived row.
--
-- What is stored is what the SQLite engine stores (FORMAT.md §6): the signed facts are
-- entries.body (the exact entry text), entries.signature and entries.payload; every other
-- column and table is derived from them and cross-checked by `vouch verify`.

-- One row per ledger: its name in this database and its head (the largest seq and that
-- entry's hash). An append locks this row (SELECT … FOR UPDATE) for its transaction, so
-- appends to one ledger queue and appends to different ledgers never wait for each other.
CREATE TABLE vouch.ledgers (
    ledger_id text PRIMARY KEY CHECK (ledger_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
    head_seq  bigint NOT NULL DEFAULT 0,
    head_hash bytea,
    created   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vouch.meta (
    ledger_id text NOT NULL,
    key       text NOT NULL,
    value     text NOT NULL,
    PRIMARY KEY (ledger_id, key)
);

CREATE TABLE vouch.entries (
    ledger_id text   NOT NULL,
    seq       bigint NOT NULL,   -- derived: the "seq:" line of body
    body      bytea  NOT NULL,   -- signed: the exact entry text
    signature bytea  NOT NULL,   -- signed: 64-byte Ed25519 signature over body
    payload   bytea  NOT NULL,   -- signed (by hash): the exact payload bytes
    hash      bytea  NOT NULL,   -- derived: SHA-256(body)
    time      text   NOT NULL,   -- derived: the "time:" line
    kind      text   NOT NULL,   -- derived: the "kind:" line
    signer    text   NOT NULL,   -- derived: the "signer:" line
    item      text,              -- derived: payload "item" of evidence, waiver, delegation
    PRIMARY KEY (ledger_id, seq)
);

-- The two lookups of FORMAT.md §6 (Engine::lookup_*): by kind, and by item.
CREATE INDEX entries_kind ON vouch.entries (ledger_id, kind, seq);
CREATE INDEX entries_item ON vouch.entries (ledger_id, item, seq) WHERE item IS NOT NULL;

-- Derived from genesis and party entries.
CREATE TABLE vouch.parties (
    ledger_id text   NOT NULL,
    id        text   NOT NULL,
    name      text   NOT NULL,
    role      text   NOT NULL,
    seq       bigint NOT NULL,   -- the entry that registered the party
    PRIMARY KEY (ledger_id, id)
);

-- Derived from genesis, party and key-rotation entries: every key a party may sign with.
CREATE TABLE vouch.keys (
    ledger_id   text   NOT NULL,
    fingerprint text   NOT NULL,
    party       text   NOT NULL,
    public_key  text   NOT NULL, -- base64 of the DER SubjectPublicKeyInfo
    seq         bigint NOT NULL, -- the entry that registered the key
    PRIMARY KEY (ledger_id, fingerprint)
);

CREATE INDEX keys_party ON vouch.keys (ledger_id, party);

-- Derived from key-rotation and key-revocation entries (FORMAT.md §14).
CREATE TABLE vouch.key_events (
    ledger_id   text   NOT NULL,
    seq         bigint NOT NULL, -- the key-rotation or key-revocation entry
    fingerprint text   NOT NULL, -- the key it retires or revokes
    event       text   NOT NULL, -- 'retired' or 'revoked'
    since       text,            -- revoked: the payload's since; NULL if retired
    PRIMARY KEY (ledger_id, seq)
);

CREATE INDEX key_events_fingerprint ON vouch.key_events (ledger_id, fingerprint);

-- Artefact content, addressed by SHA-256; referenced from evidence payloads. The content
-- is stored in chunks of at most 1 MiB, numbered from 0, so that it streams in and out.
CREATE TABLE vouch.artifacts (
    ledger_id text   NOT NULL,
    sha256    text   NOT NULL,
    size      bigint NOT NULL,
    PRIMARY KEY (ledger_id, sha256)
);

CREATE TABLE vouch.artifact_chunks (
    ledger_id text    NOT NULL,
    sha256    text    NOT NULL,
    n         integer NOT NULL,
    data      bytea   NOT NULL,
    PRIMARY KEY (ledger_id, sha256, n)
);

-- The Merkle tree's stored nodes (FORMAT.md §12): level L, index i covers leaves
-- i·2^L … (i+1)·2^L − 1, at levels 4, 8, 12, …; written with the entries that complete them.
CREATE TABLE vouch.merkle_nodes (
    ledger_id text    NOT NULL,
    level     integer NOT NULL,
    idx       bigint  NOT NULL,
    hash      bytea   NOT NULL,  -- 32 bytes: RFC 6962 hash of the subtree
    PRIMARY KEY (ledger_id, level, idx)
);

-- Append-only, enforced by the database (FORMAT.md §6). Like the SQLite triggers they
-- guard against accidents, not attackers: the signatures and the hash chain are the
-- security boundary. Statement-level, so that an UPDATE, DELETE or TRUNCATE is refused
-- even when it matches no row.
CREATE FUNCTION vouch.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'vouch: the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER meta_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON vouch.meta
    FOR EACH STATEMENT EXECUTE FUNCTION vouch.refuse_change();
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON vouch.entries
    FOR EACH STATEMENT EXECUTE FUNCTION vouch.refuse_change();
CREATE TRIGGER parties_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON vouch.parties
    FOR EACH STATEMENT EXECUTE FUNCTION vouch.refuse_change();
CREATE TRIGGER keys_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON vouch.keys
    FOR EACH STATEMENT EXECUTE FUNCTION vouch.refuse_change();
CREATE TRIGGER key_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON vouch.key_events
    FOR EACH STATEMENT EXECUTE FUNCTION vouch.refuse_change();
CREATE TRIGGER artifacts_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON vouch.artifacts
    FOR EACH STATEMENT EXECUTE FUNCTION vouch.refuse_change();
CREATE TRIGGER artifact_chunks_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON vouch.artifact_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION vouch.refuse_change();
CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON vouch.merkle_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION vouch.refuse_change();

-- The head row moves forward only: a ledger is never deleted, renamed or rewound.
CREATE FUNCTION vouch.head_moves_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.ledger_id <> OLD.ledger_id OR NEW.created <> OLD.created
       OR NEW.head_seq < OLD.head_seq THEN
        RAISE EXCEPTION 'vouch: the ledger is append-only: % on % refused (the head only moves forward)',
            TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER ledgers_head_forward BEFORE UPDATE ON vouch.ledgers
    FOR EACH ROW EXECUTE FUNCTION vouch.head_moves_forward();
CREATE TRIGGER ledgers_append_only BEFORE DELETE OR TRUNCATE ON vouch.ledgers
    FOR EACH STATEMENT EXECUTE FUNCTION vouch.refuse_change();
