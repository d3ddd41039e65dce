-- 0010: the model registry (issue 16).
-- model_versions gains the shadow stage, what an upload was (SHA-256, size,
-- file name), who created and who last promoted it, and a revision that
-- every change of stage or thresholds raises: a replica compares it to
-- notice a threshold change as well as a promotion. At most one production
-- and one shadow version per tenant, enforced by partial unique indexes.
ALTER TABLE model_versions DROP CONSTRAINT model_versions_stage_check;
ALTER TABLE model_versions ADD CONSTRAINT model_versions_stage_check
    CHECK (stage IN ('staging', 'production', 'archived', 'shadow'));
ALTER TABLE model_versions
    ADD COLUMN sha256 TEXT NOT NULL DEFAULT '',
    ADD COLUMN size_bytes BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN file_name TEXT NOT NULL DEFAULT '',
    ADD COLUMN created_by_email TEXT NOT NULL DEFAULT '',
    ADD COLUMN promoted_by_email TEXT NOT NULL DEFAULT '',
    ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX model_versions_one_production_idx ON model_versions (tenant_id) WHERE stage = 'production';
CREATE UNIQUE INDEX model_versions_one_shadow_idx ON model_versions (tenant_id) WHERE stage = 'shadow';

-- A challenger in shadow scores every transaction beside the production
-- model; its score, band and latency sit beside the production prediction.
-- Nullable columns without a default: adding them rewrites nothing.
ALTER TABLE predictions
    ADD COLUMN shadow_model_version_id TEXT COLLATE "C",
    ADD COLUMN shadow_score DOUBLE PRECISION,
    ADD COLUMN shadow_band TEXT COLLATE "C" CHECK (shadow_band IN ('low', 'medium', 'high', 'critical')),
    ADD COLUMN shadow_latency_us BIGINT;

-- When each replica last loaded which revision of a live model version.
CREATE TABLE model_loads (
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    model_version_id  TEXT NOT NULL REFERENCES model_versions(id),
    replica           TEXT NOT NULL,
    revision          INTEGER NOT NULL,
    loaded_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, model_version_id, replica)
);
