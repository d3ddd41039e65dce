-- 0018: storing a prediction costs PostgreSQL less (issue 15's upload of
-- 200,000 rows, docs/performance.md).
--
-- Explanations are stored as written, without compression. A prediction row
-- with its frozen explanation is about 2 KB, and PostgreSQL compresses
-- (pglz) every row over 2,032 bytes: 44% of them, which cost about 7 µs of
-- the database's time per stored transaction (COPY of 50,000 predictions:
-- 1.04 s with compression, 0.69 s without; lz4 0.75 s) and a decompression
-- whenever one is read. Rows up to a page now stay in the table
-- uncompressed, for about 17% more space. Rows stored before stay as they
-- are.
ALTER TABLE predictions SET (toast_tuple_target = 8160);

-- Two indexes fewer to update per prediction: the covering index of 0011,
-- (tenant_id, transaction_id), becomes the primary key, and the unique
-- constraint on transaction_id alone and the index on the prediction's own
-- id go. The key of 0005 ties a prediction's (tenant_id, transaction_id) to
-- its transaction, so "one prediction per transaction" holds as before. A prediction is only
-- ever looked up by its transaction; its id (a UUIDv7 the store makes)
-- orders equal scores, and the covering index carries it.
DROP INDEX predictions_cover_idx;
CREATE UNIQUE INDEX predictions_cover_idx ON predictions (tenant_id, transaction_id)
    INCLUDE (id, score, raw_margin, band, model_version_id);
ALTER TABLE predictions DROP CONSTRAINT predictions_transaction_id_key;
ALTER TABLE predictions DROP CONSTRAINT predictions_pkey;
ALTER TABLE predictions ADD CONSTRAINT predictions_pkey PRIMARY KEY USING INDEX predictions_cover_idx;

-- And one fewer per transaction: (tenant_id, id), unique since 0005 and
-- the target of every key but one, becomes the primary key, and the index
-- on id alone goes (ids are UUIDv7s the store makes, and every statement
-- names the tenant). The last key on it, a decision's, now names the tenant
-- too: a decision can only point at a transaction of its own tenant.
ALTER TABLE analyst_decisions DROP CONSTRAINT analyst_decisions_transaction_id_fkey;
ALTER TABLE analyst_decisions ADD CONSTRAINT analyst_decisions_transaction_fkey
    FOREIGN KEY (tenant_id, transaction_id) REFERENCES transactions (tenant_id, id);
ALTER TABLE transactions DROP CONSTRAINT transactions_pkey;
ALTER TABLE transactions ADD CONSTRAINT transactions_pkey PRIMARY KEY USING INDEX transactions_tenant_id_idx;

