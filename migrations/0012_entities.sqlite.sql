-- 0012: entity profiles and watchlists that people manage (see the
-- PostgreSQL step for why).
--
-- transactions.score repeats the prediction's score, so that a profile
-- sums an account's rows without reading its predictions. SQLite has no
-- INCLUDE columns: its account indexes only gain the counterparty and the
-- id as keys.
ALTER TABLE transactions ADD COLUMN score REAL NOT NULL DEFAULT 0;
UPDATE transactions SET score = COALESCE((SELECT p.score FROM predictions p
    WHERE p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id), 0);
DROP INDEX transactions_orig_idx;
DROP INDEX transactions_dest_idx;
CREATE INDEX transactions_orig_idx ON transactions (tenant_id, name_orig, name_dest, id);
CREATE INDEX transactions_dest_idx ON transactions (tenant_id, name_dest, name_orig, id);
CREATE INDEX watchlist_entries_list_idx ON watchlist_entries (tenant_id, id);
