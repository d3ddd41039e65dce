-- 0013: cases with an SLA policy on the server, assignment, notes and a
-- timeline (docs/cases.md).
--
-- The case tables of 0001 were never written by any code path (no store
-- function, route or seed used them), so they are dropped and made again:
-- every table now has tenant_id in its keys (the link tables of 0001 were
-- keyed by case and transaction only), statuses gain waiting and escalated,
-- and the SLA columns (due, pause, breach) are new. case_entities becomes
-- case_accounts.
DROP TABLE case_notes;
DROP TABLE case_entities;
DROP TABLE case_transactions;
DROP TABLE cases;

CREATE TABLE cases (
    tenant_id           TEXT NOT NULL REFERENCES tenants(id),
    id                  TEXT NOT NULL,
    number              BIGINT NOT NULL,
    title               TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL CHECK (status IN ('open', 'investigating', 'waiting', 'escalated', 'closed')),
    priority            TEXT NOT NULL CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    assignee_id         TEXT REFERENCES users(id),
    created_by          TEXT NOT NULL REFERENCES users(id),
    opened_at           TIMESTAMP NOT NULL,
    due_at              TIMESTAMP NOT NULL,
    paused_at           TIMESTAMP,
    paused_seconds      BIGINT NOT NULL DEFAULT 0,
    sort_due            TIMESTAMP NOT NULL,
    transaction_count   BIGINT NOT NULL DEFAULT 0,
    breach_recorded_at  TIMESTAMP,
    outcome             TEXT NOT NULL DEFAULT '' CHECK (outcome IN ('', 'confirmed_fraud', 'false_positive', 'no_action', 'sar_filed', 'referred_law_enforcement')),
    summary             TEXT NOT NULL DEFAULT '',
    closed_at           TIMESTAMP,
    closed_by           TEXT REFERENCES users(id),
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number)
);
-- The list: due time first (sort_due is the far future for cases whose
-- clock is not running: waiting or closed), then the latest change.
CREATE INDEX cases_list_idx ON cases (tenant_id, sort_due, updated_at DESC, id DESC);
CREATE INDEX cases_assignee_idx ON cases (tenant_id, assignee_id, status);
-- The case load (store.CountCases, the list's counts and the dashboard's)
-- reads the cases not closed from this index alone.
CREATE INDEX cases_open_idx ON cases (tenant_id, priority, assignee_id, due_at, paused_at) WHERE status <> 'closed';
-- Breach detection reads only the open cases whose breach is not written
-- yet, from the index alone (a waiting case past its due time by the wall
-- clock is not overdue: paused_at tells).
CREATE INDEX cases_breach_idx ON cases (tenant_id, due_at, paused_at, id) WHERE breach_recorded_at IS NULL AND status <> 'closed';

CREATE TABLE case_transactions (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    case_id         TEXT NOT NULL,
    transaction_id  TEXT NOT NULL REFERENCES transactions(id),
    added_by        TEXT REFERENCES users(id),
    added_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, case_id, transaction_id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases(tenant_id, id)
);
CREATE INDEX case_transactions_tx_idx ON case_transactions (tenant_id, transaction_id);

CREATE TABLE case_accounts (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    case_id    TEXT NOT NULL,
    account    TEXT NOT NULL,
    added_by   TEXT REFERENCES users(id),
    added_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, case_id, account),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases(tenant_id, id)
);
CREATE INDEX case_accounts_account_idx ON case_accounts (tenant_id, account);

CREATE TABLE case_notes (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id),
    body        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases(tenant_id, id)
);
CREATE INDEX case_notes_case_idx ON case_notes (tenant_id, case_id, id);

-- The timeline: every change of a case, who made it (no user for the
-- system's SLA breach), what changed, from what to what.
CREATE TABLE case_events (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    id           TEXT NOT NULL,
    case_id      TEXT NOT NULL,
    actor_id     TEXT REFERENCES users(id),
    actor_email  TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,
    old_value    TEXT NOT NULL DEFAULT '',
    new_value    TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases(tenant_id, id)
);
CREATE INDEX case_events_case_idx ON case_events (tenant_id, case_id, id);

-- The SLA policy: time to resolve per priority, in minutes. A priority
-- without a row takes the default (store.DefaultSLA).
CREATE TABLE case_sla_policies (
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    priority         TEXT NOT NULL CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    resolve_minutes  INTEGER NOT NULL CHECK (resolve_minutes > 0),
    updated_by       TEXT REFERENCES users(id),
    updated_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, priority)
);
