-- 0014: hardened CSV uploads.
--
-- Every upload attempt, accepted or refused, is one row of uploads: who
-- (user and email at the time, client address, user agent), what (file
-- name, declared content type, size, SHA-256), the outcome (status and the
-- reason said to the user, with the HTTP status it got), and for an
-- accepted file its rows: read, scored, already present, refused, and the
-- scored ones by band. The rows of the last minute and day of one user are
-- the upload rate limit's counters (uploads_user_idx), so every replica
-- counts the same. A file of more than a few thousand rows is a background
-- job: status queued/running with owner and heartbeat_at; a job whose
-- heartbeat stopped (its process died) is taken over from rows_done by the
-- next sweep, from its bytes in upload_chunks, or marked interrupted.
CREATE TABLE uploads (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    user_id        TEXT,
    user_email     TEXT NOT NULL DEFAULT '',
    client_ip      TEXT NOT NULL DEFAULT '',
    user_agent     TEXT NOT NULL DEFAULT '',
    file_name      TEXT NOT NULL DEFAULT '',
    content_type   TEXT NOT NULL DEFAULT '',
    size_bytes     BIGINT NOT NULL DEFAULT 0,
    sha256         TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL CHECK (status IN ('refused', 'confirm', 'queued', 'running', 'done',
                                                   'cancelled', 'interrupted', 'failed')),
    reason_code    TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    http_status    INTEGER NOT NULL DEFAULT 0,
    rows_total     BIGINT NOT NULL DEFAULT 0,
    rows_done      BIGINT NOT NULL DEFAULT 0,
    rows_scored    BIGINT NOT NULL DEFAULT 0,
    rows_present   BIGINT NOT NULL DEFAULT 0,
    rows_refused   BIGINT NOT NULL DEFAULT 0,
    band_low       BIGINT NOT NULL DEFAULT 0,
    band_medium    BIGINT NOT NULL DEFAULT 0,
    band_high      BIGINT NOT NULL DEFAULT 0,
    band_critical  BIGINT NOT NULL DEFAULT 0,
    owner          TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    started_at     TIMESTAMPTZ,
    heartbeat_at   TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ
);
CREATE INDEX uploads_list_idx ON uploads (tenant_id, id);
CREATE INDEX uploads_user_idx ON uploads (tenant_id, user_id, created_at);
CREATE INDEX uploads_sha_idx ON uploads (tenant_id, sha256);
CREATE INDEX uploads_jobs_idx ON uploads (status) WHERE status IN ('queued', 'running');

-- The bytes of a file waiting for a job (or a confirmation), as received
-- (gzip stays gzip), in pieces of at most 1 MiB so that a job streams
-- them; deleted when the job ends.
CREATE TABLE upload_chunks (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    upload_id   TEXT NOT NULL REFERENCES uploads(id),
    seq         INTEGER NOT NULL,
    data        BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, upload_id, seq)
);

-- The refused rows of an upload: row number (1 is the first row after the
-- header), column, reason and the cell as given (made safe on export).
CREATE TABLE upload_errors (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    upload_id    TEXT NOT NULL REFERENCES uploads(id),
    row_number   BIGINT NOT NULL,
    column_name  TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL,
    value        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, upload_id, row_number)
);

-- Which upload stored a transaction, so that investigate filters on it.
ALTER TABLE transactions ADD COLUMN upload_id TEXT;
CREATE INDEX transactions_upload_idx ON transactions (tenant_id, upload_id, id) WHERE upload_id IS NOT NULL;

-- upload_audits (0001) was never written; uploads replaces it.
DROP TABLE upload_audits;
