-- 0016 (SQLite; see the PostgreSQL step): where money moves, the dashboard's hourly rollups, replay runs.
--
-- Countries (ISO 3166-1 alpha-2) and regions (ISO 3166-2) of the sender
-- and the receiver, '' when not given. Investigate filters by the sender's.
ALTER TABLE transactions ADD COLUMN orig_country TEXT NOT NULL DEFAULT '';
ALTER TABLE transactions ADD COLUMN dest_country TEXT NOT NULL DEFAULT '';
ALTER TABLE transactions ADD COLUMN orig_region TEXT NOT NULL DEFAULT '';
ALTER TABLE transactions ADD COLUMN dest_region TEXT NOT NULL DEFAULT '';
CREATE INDEX transactions_orig_country_idx ON transactions (tenant_id, orig_country, id) WHERE orig_country <> '';
CREATE INDEX transactions_orig_region_idx ON transactions (tenant_id, orig_region, id) WHERE orig_region <> '';

-- The dashboard's rollups, kept by the store in the transaction that stores
-- a transaction or changes its decision, so that no panel reads the
-- transactions table:
--
-- hourly_rollups: per received hour (UTC, 'YYYY-MM-DD HH'), type and band
-- (from the review priority, as transaction_rollups): how many, their
-- amount and score sums, how many were given a review priority (flagged),
-- how many carry each decision (and the amount of confirmed fraud), and a
-- score histogram (h0..h15 over store.ScoreEdges). Decisions are columns,
-- not a key: a month is some 20 rows an hour.
CREATE TABLE hourly_rollups (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    hour          TEXT NOT NULL,
    type          TEXT NOT NULL,
    band          TEXT NOT NULL,
    n             INTEGER NOT NULL,
    amount        REAL NOT NULL,
    score         REAL NOT NULL,
    flagged       INTEGER NOT NULL,
    fraud         INTEGER NOT NULL,
    fraud_amount  REAL NOT NULL,
    false_pos     INTEGER NOT NULL,
    escalated     INTEGER NOT NULL,
    h0 INTEGER NOT NULL DEFAULT 0,
    h1 INTEGER NOT NULL DEFAULT 0,
    h2 INTEGER NOT NULL DEFAULT 0,
    h3 INTEGER NOT NULL DEFAULT 0,
    h4 INTEGER NOT NULL DEFAULT 0,
    h5 INTEGER NOT NULL DEFAULT 0,
    h6 INTEGER NOT NULL DEFAULT 0,
    h7 INTEGER NOT NULL DEFAULT 0,
    h8 INTEGER NOT NULL DEFAULT 0,
    h9 INTEGER NOT NULL DEFAULT 0,
    h10 INTEGER NOT NULL DEFAULT 0,
    h11 INTEGER NOT NULL DEFAULT 0,
    h12 INTEGER NOT NULL DEFAULT 0,
    h13 INTEGER NOT NULL DEFAULT 0,
    h14 INTEGER NOT NULL DEFAULT 0,
    h15 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, hour, type, band)
);
INSERT INTO hourly_rollups (tenant_id, hour, type, band, n, amount, score, flagged, fraud, fraud_amount, false_pos, escalated,
    h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15)
SELECT t.tenant_id, substr(t.received_at, 1, 13), t.type,
    CASE WHEN t.review_priority IS NULL OR t.review_priority >= 3 THEN 'low'
        WHEN t.review_priority >= 2 THEN 'medium' WHEN t.review_priority >= 1 THEN 'high' ELSE 'critical' END,
    COUNT(*), SUM(t.amount), SUM(t.score), SUM(CASE WHEN t.review_priority IS NOT NULL THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.label = 'confirmed_fraud' THEN 1 ELSE 0 END), SUM(CASE WHEN t.label = 'confirmed_fraud' THEN t.amount ELSE 0 END),
    SUM(CASE WHEN t.label = 'false_positive' THEN 1 ELSE 0 END), SUM(CASE WHEN t.label = 'escalated' THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score < 0.001 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.001 AND t.score < 0.01 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.01 AND t.score < 0.02 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.02 AND t.score < 0.05 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.05 AND t.score < 0.1 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.1 AND t.score < 0.2 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.2 AND t.score < 0.3 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.3 AND t.score < 0.4 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.4 AND t.score < 0.5 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.5 AND t.score < 0.6 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.6 AND t.score < 0.7 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.7 AND t.score < 0.8 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.8 AND t.score < 0.9 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.9 AND t.score < 0.95 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.95 AND t.score < 0.99 THEN 1 ELSE 0 END),
    SUM(CASE WHEN t.score >= 0.99 THEN 1 ELSE 0 END)
FROM transactions t
GROUP BY 1, 2, 3, 4;

-- place_rollups: per received hour and the sender's country and region
-- ('' when not given): how many, their amount and score sums, how many in
-- the high or critical band, how many confirmed fraud.
CREATE TABLE place_rollups (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    hour       TEXT NOT NULL,
    country    TEXT NOT NULL,
    region     TEXT NOT NULL,
    n          INTEGER NOT NULL,
    amount     REAL NOT NULL,
    score      REAL NOT NULL,
    risky      INTEGER NOT NULL,
    fraud      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, hour, country, region)
);
INSERT INTO place_rollups (tenant_id, hour, country, region, n, amount, score, risky, fraud)
SELECT t.tenant_id, substr(t.received_at, 1, 13), t.orig_country, t.orig_region, COUNT(*), SUM(t.amount), SUM(t.score),
    SUM(CASE WHEN t.review_priority IS NOT NULL AND t.review_priority < 2 THEN 1 ELSE 0 END), SUM(CASE WHEN t.label = 'confirmed_fraud' THEN 1 ELSE 0 END)
FROM transactions t
GROUP BY 1, 2, 3, 4;

-- Replay runs: simulated or uploaded traffic scored at a set rate. One
-- runs per tenant at a time (the unique partial index), held by the
-- replica named in holder while its heartbeat is fresh: another replica
-- takes over (resumes) a run whose heartbeat went stale.
CREATE TABLE replay_runs (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    state          TEXT NOT NULL CHECK (state IN ('running', 'finished', 'stopped', 'interrupted', 'failed')),
    rate           INTEGER NOT NULL,
    duration_s     INTEGER NOT NULL,
    fraud_share    REAL NOT NULL,
    seed           INTEGER NOT NULL,
    file_name      TEXT NOT NULL DEFAULT '',
    file_data      BLOB,
    started_by     TEXT,
    started_email  TEXT NOT NULL DEFAULT '',
    started_at     TIMESTAMP NOT NULL,
    finished_at    TIMESTAMP,
    active_s       REAL NOT NULL DEFAULT 0,
    replayed       INTEGER NOT NULL DEFAULT 0,
    flagged        INTEGER NOT NULL DEFAULT 0,
    invalid        INTEGER NOT NULL DEFAULT 0,
    holder         TEXT NOT NULL DEFAULT '',
    heartbeat_at   TIMESTAMP,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    error          TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX replay_runs_one_running ON replay_runs (tenant_id) WHERE state = 'running';
CREATE INDEX replay_runs_list_idx ON replay_runs (tenant_id, id);
