-- 0012: entity profiles and watchlists that people manage.
--
-- An entity profile sums an account's traffic in both directions: counts,
-- amounts, bands, decisions, scores, counterparties, days. For a hub (an
-- account in 100,000 transactions of a tenant of a million) that is a read
-- of every one of its transactions, which must come from an index alone: a
-- visit of each row (or of each prediction, for its score) costs several
-- times the 150 ms the page may take (docs/performance.md). So:
--
-- * transactions.score repeats the prediction's score (set from it when the
--   pair is stored, like review_priority; filled in here for the rows so
--   far). A prediction never changes, so neither does the copy.
-- * The account indexes of 0001, (tenant_id, name_orig) and (tenant_id,
--   name_dest), gain the counterparty and the id as keys and cover what a
--   profile sums, so the store reads an account's rows from them alone
--   (index-only scans, once VACUUM has marked the pages all-visible, as
--   autovacuum does), already grouped by counterparty: a hub's 100,000
--   entries are summed per counterparty in one pass, without a sort or a
--   hash table. Each entry grows from about 60 to about 170 bytes.
ALTER TABLE transactions ADD COLUMN score DOUBLE PRECISION NOT NULL DEFAULT 0;
UPDATE transactions SET score = p.score FROM predictions p
WHERE p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id;
DROP INDEX transactions_orig_idx;
DROP INDEX transactions_dest_idx;
CREATE INDEX transactions_orig_idx ON transactions (tenant_id, name_orig, name_dest, id)
    INCLUDE (amount, received_at, score, review_priority, label, old_balance_org, new_balance_orig);
CREATE INDEX transactions_dest_idx ON transactions (tenant_id, name_dest, name_orig, id)
    INCLUDE (amount, received_at, score, review_priority, label);

-- The watchlist page lists entries newest first (ids are UUIDv7), in
-- pages; an account has one entry at most (the UNIQUE of 0001), so adding
-- an account to one list replaces its entry on the other.
CREATE INDEX watchlist_entries_list_idx ON watchlist_entries (tenant_id, id);
