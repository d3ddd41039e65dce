-- 0011: the auditor role, and what the investigate page reads.
--
-- The auditor role: users.role accepts 'auditor'. SQLite cannot alter a
-- CHECK constraint; its documented way to loosen one is to edit the table's
-- definition in sqlite_schema (https://www.sqlite.org/lang_altertable.html,
-- "Making Other Kinds Of Table Schema Changes"). Unlike a copy of the table,
-- it keeps every column as it is, also those added after 0001. Adding a
-- value to the list leaves every stored row valid. The CREATE statements
-- below change the schema version, so every connection rereads the schema.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (role IN (''analyst'', ''senior_analyst'', ''admin''))',
    'CHECK (role IN (''analyst'', ''senior_analyst'', ''admin'', ''auditor''))')
    WHERE type = 'table' AND name = 'users';
PRAGMA writable_schema = RESET;

-- Rollups: how many transactions, their total amount and the sum of their
-- scores, per received day (UTC, YYYY-MM-DD) and each value of what the
-- investigate page filters on: type, band (read from the review priority,
-- as the queue's band filters read it: low is no priority or one from 3),
-- whether it needs review (a priority), decision, source, model version,
-- score bucket (store.ScoreEdges) and amount bucket (store.AmountEdges). The statistics of a filtered view are
-- then a sum over a few thousand rows instead of a read of every matching
-- transaction. The store keeps them in the transaction that stores a
-- transaction or changes its label. score is the sum of the scores.
CREATE TABLE transaction_rollups (
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    day               TEXT NOT NULL,
    type              TEXT NOT NULL,
    band              TEXT NOT NULL,
    review            INTEGER NOT NULL,
    label             TEXT NOT NULL,
    source            TEXT NOT NULL,
    model_version_id  TEXT NOT NULL,
    score_bucket      INTEGER NOT NULL,
    amount_bucket     INTEGER NOT NULL,
    n                 BIGINT NOT NULL,
    amount            REAL NOT NULL,
    score             REAL NOT NULL,
    PRIMARY KEY (tenant_id, day, type, band, review, label, source, model_version_id, score_bucket, amount_bucket)
);
INSERT INTO transaction_rollups (tenant_id, day, type, band, review, label, source, model_version_id,
    score_bucket, amount_bucket, n, amount, score)
SELECT t.tenant_id, substr(t.received_at, 1, 10), t.type,
    CASE WHEN t.review_priority IS NULL OR t.review_priority >= 3 THEN 'low'
        WHEN t.review_priority >= 2 THEN 'medium' WHEN t.review_priority >= 1 THEN 'high' ELSE 'critical' END,
    CASE WHEN t.review_priority IS NULL THEN 0 ELSE 1 END,
    t.label, t.source, p.model_version_id,
    CASE WHEN p.score < 0.001 THEN 0 WHEN p.score < 0.01 THEN 1 WHEN p.score < 0.02 THEN 2 WHEN p.score < 0.05 THEN 3
        WHEN p.score < 0.1 THEN 4 WHEN p.score < 0.2 THEN 5 WHEN p.score < 0.3 THEN 6 WHEN p.score < 0.4 THEN 7
        WHEN p.score < 0.5 THEN 8 WHEN p.score < 0.6 THEN 9 WHEN p.score < 0.7 THEN 10 WHEN p.score < 0.8 THEN 11
        WHEN p.score < 0.9 THEN 12 WHEN p.score < 0.95 THEN 13 WHEN p.score < 0.99 THEN 14 ELSE 15 END,
    CASE WHEN t.amount < 1 THEN 0 WHEN t.amount < 2 THEN 1 WHEN t.amount < 5 THEN 2 WHEN t.amount < 10 THEN 3
        WHEN t.amount < 20 THEN 4 WHEN t.amount < 50 THEN 5 WHEN t.amount < 100 THEN 6
        WHEN t.amount < 200 THEN 7 WHEN t.amount < 500 THEN 8 WHEN t.amount < 1000 THEN 9
        WHEN t.amount < 2000 THEN 10 WHEN t.amount < 5000 THEN 11 WHEN t.amount < 10000 THEN 12
        WHEN t.amount < 20000 THEN 13 WHEN t.amount < 50000 THEN 14 WHEN t.amount < 100000 THEN 15
        WHEN t.amount < 200000 THEN 16 WHEN t.amount < 500000 THEN 17 WHEN t.amount < 1000000 THEN 18
        WHEN t.amount < 2000000 THEN 19 WHEN t.amount < 5000000 THEN 20 WHEN t.amount < 10000000 THEN 21 ELSE 22 END,
    COUNT(*), SUM(t.amount), SUM(p.score)
FROM transactions t JOIN predictions p ON p.transaction_id = t.id AND p.tenant_id = t.tenant_id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;

-- Sorting by amount, either way, with keyset pages: one index range from
-- the cursor, as for time (the id) and score (predictions_score_idx).
CREATE INDEX transactions_amount_idx ON transactions (tenant_id, amount, id);
