-- vouch ledger schema, version 2: an index on the derived kind column, so that status and
-- reports find adoptions, co-signatures, retractions, waivers and delegations without
-- scanning every entry. Derived data only; nothing signed changes.
CREATE INDEX entries_kind ON entries (kind, seq);
