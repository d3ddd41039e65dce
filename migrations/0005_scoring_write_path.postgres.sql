-- 0005: make storing a scored transaction cheaper for PostgreSQL, measured
-- under batch scoring (docs/performance.md).
--
-- Foreign keys: each one runs a locking lookup for every inserted row, and the
-- four on transactions and predictions were a quarter of the database's work.
-- Tenants and model versions are never deleted (a model is archived, not
-- removed), so the keys to them from these two high-volume tables go. The
-- prediction -> transaction key stays, and now covers the tenant as well: a
-- prediction can only point at a transaction of its own tenant.
ALTER TABLE transactions DROP CONSTRAINT transactions_tenant_id_fkey;
ALTER TABLE predictions DROP CONSTRAINT predictions_tenant_id_fkey;
ALTER TABLE predictions DROP CONSTRAINT predictions_model_version_id_fkey;
ALTER TABLE predictions DROP CONSTRAINT predictions_transaction_id_fkey;

-- Collation: ids, account names and labels are compared byte by byte. Under
-- the database's default (often a libc locale) every index comparison of
-- these columns went through strcoll.
ALTER TABLE transactions
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN external_id TYPE TEXT COLLATE "C",
    ALTER COLUMN name_orig TYPE TEXT COLLATE "C",
    ALTER COLUMN name_dest TYPE TEXT COLLATE "C",
    ALTER COLUMN label TYPE TEXT COLLATE "C";
ALTER TABLE predictions
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN transaction_id TYPE TEXT COLLATE "C",
    ALTER COLUMN band TYPE TEXT COLLATE "C";

-- The queue's (tenant_id, id) index becomes unique so that it can anchor the
-- tenant-aware key.
DROP INDEX transactions_tenant_id_idx;
CREATE UNIQUE INDEX transactions_tenant_id_idx ON transactions (tenant_id, id);
ALTER TABLE predictions ADD CONSTRAINT predictions_transaction_fkey
    FOREIGN KEY (tenant_id, transaction_id) REFERENCES transactions (tenant_id, id);
