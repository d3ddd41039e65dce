-- 0007: hardening.
-- Sign-in attempts get their own table: an attempt is reserved before the
-- password is checked, inside a transaction that serialises attempts for
-- the same email and address, so a burst cannot outrun the throttle.
CREATE TABLE login_attempts (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    ip         TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_attempts_email_idx ON login_attempts (email, created_at);
CREATE INDEX login_attempts_ip_idx ON login_attempts (ip, created_at);
-- Sessions are now stored under the SHA-256 of their token: the plain-text
-- tokens stored so far can no longer be found, so they are removed.
DELETE FROM sessions;
-- API keys have scopes: the keys made so far could score and read.
UPDATE api_keys SET scopes = 'score,read';
