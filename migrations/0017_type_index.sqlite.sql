-- 0017: an index on the transaction type (see the PostgreSQL step for why).
-- SQLite has no INCLUDE columns.
CREATE INDEX transactions_type_idx ON transactions (tenant_id, type, id);
