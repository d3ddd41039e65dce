-- 0001: the whole data model of DESIGN.md §3. Every domain table carries tenant_id.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('analyst', 'senior_analyst', 'admin')),
    password_hash  TEXT NOT NULL,
    last_login_at  TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    deleted_at     TIMESTAMPTZ
);
CREATE INDEX users_tenant_idx ON users (tenant_id, email);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    hash          TEXT NOT NULL UNIQUE,
    scopes        TEXT NOT NULL DEFAULT 'score',
    created_by    TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at);

CREATE TABLE sessions (
    token   TEXT PRIMARY KEY,
    data    BYTEA NOT NULL,
    expiry  TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

CREATE TABLE model_versions (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    name          TEXT NOT NULL,
    version       INTEGER NOT NULL,
    stage         TEXT NOT NULL CHECK (stage IN ('staging', 'production', 'archived')),
    bundle        BYTEA NOT NULL,
    metrics       JSONB,
    thresholds    JSONB,
    feature_set   JSONB,
    created_by    TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    activated_at  TIMESTAMPTZ,
    UNIQUE (tenant_id, name, version)
);
CREATE INDEX model_versions_stage_idx ON model_versions (tenant_id, stage);

CREATE TABLE transactions (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    external_id       TEXT NOT NULL,
    step              INTEGER NOT NULL,
    type              TEXT NOT NULL CHECK (type IN ('CASH_IN', 'CASH_OUT', 'DEBIT', 'PAYMENT', 'TRANSFER')),
    amount            DOUBLE PRECISION NOT NULL,
    name_orig         TEXT NOT NULL,
    old_balance_org   DOUBLE PRECISION NOT NULL,
    new_balance_orig  DOUBLE PRECISION NOT NULL,
    name_dest         TEXT NOT NULL,
    old_balance_dest  DOUBLE PRECISION NOT NULL,
    new_balance_dest  DOUBLE PRECISION NOT NULL,
    is_fraud          BOOLEAN,
    received_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, external_id)
);
CREATE INDEX transactions_received_idx ON transactions (tenant_id, received_at, id);
CREATE INDEX transactions_orig_idx ON transactions (tenant_id, name_orig);
CREATE INDEX transactions_dest_idx ON transactions (tenant_id, name_dest);

CREATE TABLE predictions (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    transaction_id    TEXT NOT NULL UNIQUE REFERENCES transactions(id),
    model_version_id  TEXT NOT NULL REFERENCES model_versions(id),
    score             DOUBLE PRECISION NOT NULL,
    raw_margin        DOUBLE PRECISION NOT NULL,
    band              TEXT NOT NULL CHECK (band IN ('low', 'medium', 'high', 'critical')),
    threshold         DOUBLE PRECISION NOT NULL,
    explanation       JSONB,
    latency_us        BIGINT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX predictions_score_idx ON predictions (tenant_id, score, id);
CREATE INDEX predictions_band_idx ON predictions (tenant_id, band, created_at);

CREATE TABLE analyst_decisions (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    transaction_id  TEXT NOT NULL REFERENCES transactions(id),
    user_id         TEXT NOT NULL REFERENCES users(id),
    decision        TEXT NOT NULL CHECK (decision IN ('confirmed_fraud', 'false_positive', 'escalated')),
    rationale       TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX analyst_decisions_tx_idx ON analyst_decisions (tenant_id, transaction_id, created_at);

CREATE TABLE cases (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('open', 'investigating', 'closed')),
    priority     TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    assignee_id  TEXT REFERENCES users(id),
    sla_due_at   TIMESTAMPTZ,
    resolution   TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL REFERENCES users(id),
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    closed_at    TIMESTAMPTZ
);
CREATE INDEX cases_status_idx ON cases (tenant_id, status, sla_due_at);

CREATE TABLE case_transactions (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    case_id         TEXT NOT NULL REFERENCES cases(id),
    transaction_id  TEXT NOT NULL REFERENCES transactions(id),
    added_by        TEXT NOT NULL REFERENCES users(id),
    added_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (case_id, transaction_id)
);
CREATE INDEX case_transactions_tenant_idx ON case_transactions (tenant_id, transaction_id);

CREATE TABLE case_entities (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    case_id    TEXT NOT NULL REFERENCES cases(id),
    account    TEXT NOT NULL,
    role       TEXT NOT NULL DEFAULT '',
    added_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (case_id, account)
);
CREATE INDEX case_entities_tenant_idx ON case_entities (tenant_id, account);

CREATE TABLE case_notes (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    case_id     TEXT NOT NULL REFERENCES cases(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    body        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX case_notes_case_idx ON case_notes (tenant_id, case_id, created_at);

CREATE TABLE watchlist_entries (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    account     TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('blocked', 'trusted')),
    reason      TEXT NOT NULL DEFAULT '',
    created_by  TEXT REFERENCES users(id),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ,
    UNIQUE (tenant_id, account)
);

CREATE TABLE account_geo (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    account    TEXT NOT NULL,
    country    TEXT NOT NULL,
    city       TEXT NOT NULL DEFAULT '',
    lat        DOUBLE PRECISION NOT NULL,
    lon        DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant_id, account)
);

CREATE TABLE drift_snapshots (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    model_version_id  TEXT NOT NULL REFERENCES model_versions(id),
    feature           TEXT NOT NULL,
    psi               DOUBLE PRECISION NOT NULL,
    bins              JSONB,
    window_start      TIMESTAMPTZ NOT NULL,
    window_end        TIMESTAMPTZ NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX drift_snapshots_idx ON drift_snapshots (tenant_id, model_version_id, created_at);

CREATE TABLE upload_audits (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    user_id        TEXT NOT NULL REFERENCES users(id),
    filename       TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    size_bytes     BIGINT NOT NULL,
    rows_total     INTEGER NOT NULL,
    rows_accepted  INTEGER NOT NULL,
    rows_rejected  INTEGER NOT NULL,
    errors         JSONB,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX upload_audits_idx ON upload_audits (tenant_id, created_at);

-- audit_events.tenant_id is NULL only for events before a tenant is known
-- (a failed login for an unknown email).
CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT REFERENCES tenants(id),
    actor_id     TEXT,
    actor_email  TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL DEFAULT '',
    object_id    TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    details      JSONB,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_events_tenant_idx ON audit_events (tenant_id, id);
CREATE INDEX audit_events_email_idx ON audit_events (action, actor_email, created_at);
CREATE INDEX audit_events_ip_idx ON audit_events (action, ip, created_at);
