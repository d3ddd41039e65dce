-- 0009: people. Admins invite, disable and re-enable users; everyone can
-- have a second factor (TOTP); a tenant can make it mandatory.
--
-- A disabled user keeps their row (and their name on past decisions) but
-- cannot sign in. An invited user has no password yet (password_hash '').
-- The TOTP secret becomes active only once a code from it was entered:
-- until then it waits in totp_pending_secret. totp_last_step is the time
-- step of the last code accepted, so that no code is accepted twice.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;
ALTER TABLE users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_pending_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMP;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

-- Who must have a second factor: nobody, the admins, or everyone.
ALTER TABLE tenants ADD COLUMN two_factor TEXT NOT NULL DEFAULT 'optional'
    CHECK (two_factor IN ('optional', 'admins', 'everyone'));

-- One-time set-password links (an invitation or a reset). Only the SHA-256
-- of the link's token is stored; a link is used once, before it expires.
CREATE TABLE password_links (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    token_hash  TEXT NOT NULL UNIQUE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    created_by  TEXT,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX password_links_user_idx ON password_links (tenant_id, user_id);

-- Recovery codes of a second factor, each usable once, stored as SHA-256.
CREATE TABLE recovery_codes (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    code_hash   TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (tenant_id, user_id);

-- Sessions name their user, device and address, so that people can see and
-- end their own sessions and a disabled user's sessions end on every
-- replica at once. id is what pages show (never the token's hash). The
-- sessions so far carry none of it: they end, and everyone signs in again.
DROP TABLE sessions;
CREATE TABLE sessions (
    token         TEXT PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    data          BLOB NOT NULL,
    expiry        TIMESTAMP NOT NULL,
    tenant_id     TEXT,
    user_id       TEXT,
    ip            TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    last_seen_at  TIMESTAMP NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);
CREATE INDEX sessions_user_idx ON sessions (tenant_id, user_id);
