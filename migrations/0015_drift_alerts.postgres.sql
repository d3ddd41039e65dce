-- 0015: drift against the training baseline, the cost tuner's cost model,
-- alert rules and alerts with webhook deliveries, and job leases (issue 17).
--
-- job_leases: one row per tenant and singleton job; a replica takes or
-- renews it in one statement (INSERT .. ON CONFLICT DO UPDATE .. WHERE the
-- lease expired or is its own), so at most one replica runs the job.
CREATE TABLE job_leases (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    job         TEXT NOT NULL,
    holder      TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, job)
);

-- drift_snapshots (from 0001) gets one row per tenant, model, variable and
-- hour: bins holds that hour's counts in the baseline's bins, psi the PSI
-- of the 24 hours that end with it. The unique key makes a second writer of
-- the same hour a no-op.
CREATE UNIQUE INDEX drift_snapshots_hour_idx ON drift_snapshots (tenant_id, model_version_id, feature, window_start);
-- The page and the evaluator read every variable of a time range.
CREATE INDEX drift_snapshots_window_idx ON drift_snapshots (tenant_id, model_version_id, window_start);

-- drift_baselines: the baseline of a model whose bundle has none, computed
-- once from the tenant's first 7 days of traffic on it.
CREATE TABLE drift_baselines (
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    model_version_id  TEXT NOT NULL REFERENCES model_versions(id),
    baseline          JSONB NOT NULL,
    traffic_from      TIMESTAMPTZ NOT NULL,
    traffic_to        TIMESTAMPTZ NOT NULL,
    computed_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, model_version_id)
);

-- The cost tuner sums the labelled transactions by score: the partial label
-- index (0006) covers the columns it reads, so that is an index-only scan
-- of the decided rows, never a visit of each.
DROP INDEX transactions_label_idx;
CREATE INDEX transactions_label_idx ON transactions (tenant_id, label, id) INCLUDE (score, amount, received_at) WHERE label <> '';

-- cost_models: one per tenant; a tenant without a row uses the defaults.
CREATE TABLE cost_models (
    tenant_id         TEXT NOT NULL PRIMARY KEY REFERENCES tenants(id),
    missed_share      DOUBLE PRECISION NOT NULL,
    missed_fixed      DOUBLE PRECISION NOT NULL,
    review_cost       DOUBLE PRECISION NOT NULL,
    decline_cost      DOUBLE PRECISION NOT NULL,
    updated_by_email  TEXT NOT NULL DEFAULT '',
    updated_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE alert_rules (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    kind              TEXT NOT NULL,
    feature           TEXT NOT NULL DEFAULT '',
    threshold         DOUBLE PRECISION NOT NULL,
    enabled           BOOLEAN NOT NULL DEFAULT TRUE,
    webhook_url       TEXT NOT NULL DEFAULT '',
    webhook_secret    TEXT NOT NULL DEFAULT '',
    created_by_email  TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX alert_rules_tenant_idx ON alert_rules (tenant_id, id);

-- alerts: at most one open alert per rule (the partial unique index), so
-- two evaluators can never open it twice.
CREATE TABLE alerts (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants(id),
    rule_id                TEXT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    kind                   TEXT NOT NULL,
    feature                TEXT NOT NULL DEFAULT '',
    threshold              DOUBLE PRECISION NOT NULL,
    value                  DOUBLE PRECISION NOT NULL,
    opened_at              TIMESTAMPTZ NOT NULL,
    resolved_at            TIMESTAMPTZ,
    acknowledged_at        TIMESTAMPTZ,
    acknowledged_by_email  TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX alerts_one_open_idx ON alerts (tenant_id, rule_id) WHERE resolved_at IS NULL;
CREATE INDEX alerts_tenant_idx ON alerts (tenant_id, opened_at DESC, id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    rule_id          TEXT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    alert_id         TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    url              TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (tenant_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_rule_idx ON webhook_deliveries (tenant_id, rule_id, created_at DESC);
