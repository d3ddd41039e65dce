-- 0020: rollups of the accounts with many transactions (hubs), so that an
-- entity profile of a hub reads a few rows per counterparty and per day
-- instead of every transaction of the account. A hub of 100,000
-- transactions among a million took about 250 ms to sum from the account
-- indexes on a two-core machine, against the 150 the page may take
-- (docs/performance.md, "Fifth pass").
--
-- Kept for every account, these rollups cost the write path four rows a
-- transaction, most of them new (an ordinary account has a transaction or
-- two): the upload fell from about 8,000 to 5,000 rows a second. So they
-- are kept only for the accounts listed in account_rollups: the store lists
-- an account, and sums its transactions so far into both tables, when a
-- profile finds it has many transactions; from then on every writer adds
-- to them in the database transaction that stores a transaction or changes
-- its decision, as it adds to the dashboard's (0016). Other accounts'
-- profiles are summed from their transactions, as before.

CREATE TABLE account_rollups (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    account    TEXT NOT NULL,
    since      TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, account)
);

-- account_pairs: per kept account and other account it dealt with (a
-- transaction to itself is not a pair), what went each way: how many, the
-- amount, the last time, and the highest band as a rank (0 critical, 1
-- high, 2 medium, 3 low; 9 when nothing went that way). The profile ranks
-- and counts an account's counterparties from its rows. Transactions are
-- never deleted and their bands never change, so the last times and bands
-- only ever grow and fall.
CREATE TABLE account_pairs (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    account       TEXT NOT NULL,
    counterparty  TEXT NOT NULL,
    out_n         BIGINT NOT NULL,
    out_amount    REAL NOT NULL,
    out_last      TIMESTAMP,
    out_band      INTEGER NOT NULL,
    in_n          BIGINT NOT NULL,
    in_amount     REAL NOT NULL,
    in_last       TIMESTAMP,
    in_band       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, account, counterparty)
);
-- A profile's graph draws an account's top counterparties: by the highest
-- band either way, then amount, then account. In that order here, the top
-- 25 of a hub's 50,000 pairs are the first 25 entries.
CREATE INDEX account_pairs_rank_idx ON account_pairs (tenant_id, account,
    (CASE WHEN out_band < in_band THEN out_band ELSE in_band END), (out_amount + in_amount) DESC, counterparty);

-- account_days: per kept account, day (UTC, as days since 1970-01-01) and
-- direction ('out' counts its transactions to itself, 'in' does not), the
-- sums the profile shows: counts per band, flagged ones (with a review
-- priority), decisions, scores and, for what it sent, the balances it
-- found and moved.
CREATE TABLE account_days (
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    account          TEXT NOT NULL,
    day              INTEGER NOT NULL,
    dir              TEXT NOT NULL CHECK (dir IN ('out', 'in')),
    n                BIGINT NOT NULL,
    amount           REAL NOT NULL,
    first_seen       TIMESTAMP NOT NULL,
    last_seen        TIMESTAMP NOT NULL,
    critical         BIGINT NOT NULL,
    high             BIGINT NOT NULL,
    medium           BIGINT NOT NULL,
    low              BIGINT NOT NULL,
    flagged          BIGINT NOT NULL,
    confirmed_fraud  BIGINT NOT NULL,
    false_positives  BIGINT NOT NULL,
    score_sum        REAL NOT NULL,
    score_max        REAL NOT NULL,
    balance_before   REAL NOT NULL,
    balance_moved    REAL NOT NULL,
    emptied          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account, day, dir)
);
