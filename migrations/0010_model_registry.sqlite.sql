-- 0010: the model registry (issue 16).
-- model_versions gains the shadow stage, what an upload was (SHA-256, size,
-- file name), who created and who last promoted it, and a revision that
-- every change of stage or thresholds raises: a replica compares it to
-- notice a threshold change as well as a promotion. At most one production
-- and one shadow version per tenant, enforced by partial unique indexes.
-- SQLite cannot change a CHECK constraint, so the table is rebuilt. The
-- foreign keys from predictions and drift_snapshots are deferred to the
-- commit meanwhile: the rows are back under the same ids by then.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE model_versions_0010 AS SELECT * FROM model_versions;
DROP TABLE model_versions;
CREATE TABLE model_versions (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    name               TEXT NOT NULL,
    version            INTEGER NOT NULL,
    stage              TEXT NOT NULL CHECK (stage IN ('staging', 'production', 'archived', 'shadow')),
    bundle             BLOB NOT NULL,
    metrics            TEXT,
    thresholds         TEXT,
    feature_set        TEXT,
    created_by         TEXT,
    created_at         TIMESTAMP NOT NULL,
    activated_at       TIMESTAMP,
    sha256             TEXT NOT NULL DEFAULT '',
    size_bytes         BIGINT NOT NULL DEFAULT 0,
    file_name          TEXT NOT NULL DEFAULT '',
    created_by_email   TEXT NOT NULL DEFAULT '',
    promoted_by_email  TEXT NOT NULL DEFAULT '',
    revision           INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name, version)
);
INSERT INTO model_versions (id, tenant_id, name, version, stage, bundle, metrics, thresholds, feature_set,
    created_by, created_at, activated_at)
    SELECT id, tenant_id, name, version, stage, bundle, metrics, thresholds, feature_set,
        created_by, created_at, activated_at FROM model_versions_0010;
DROP TABLE model_versions_0010;
CREATE INDEX model_versions_stage_idx ON model_versions (tenant_id, stage);
CREATE UNIQUE INDEX model_versions_one_production_idx ON model_versions (tenant_id) WHERE stage = 'production';
CREATE UNIQUE INDEX model_versions_one_shadow_idx ON model_versions (tenant_id) WHERE stage = 'shadow';

-- A challenger in shadow scores every transaction beside the production
-- model; its score, band and latency sit beside the production prediction.
ALTER TABLE predictions ADD COLUMN shadow_model_version_id TEXT;
ALTER TABLE predictions ADD COLUMN shadow_score REAL;
ALTER TABLE predictions ADD COLUMN shadow_band TEXT CHECK (shadow_band IN ('low', 'medium', 'high', 'critical'));
ALTER TABLE predictions ADD COLUMN shadow_latency_us BIGINT;

-- When each replica last loaded which revision of a live model version.
CREATE TABLE model_loads (
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    model_version_id  TEXT NOT NULL REFERENCES model_versions(id),
    replica           TEXT NOT NULL,
    revision          INTEGER NOT NULL,
    loaded_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, model_version_id, replica)
);
