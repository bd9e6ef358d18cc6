-- +goose Up
-- Second factors (account/mfa.go). mfa_totp holds an account's TOTP secret,
-- encrypted with the server's MFA key (AES-256-GCM: key id, nonce, sealed
-- secret); confirmed_at is NULL while enrollment waits for its first code.
-- last_step is the newest 30-second step whose code was accepted: a code of
-- that step or an older one is refused, so no code works twice.
CREATE TABLE mfa_totp (
    user_id      INTEGER  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       BLOB     NOT NULL,
    confirmed_at DATETIME,
    last_step    INTEGER  NOT NULL DEFAULT 0,
    created_at   DATETIME NOT NULL
);

-- Recovery codes, stored as SHA-256 hashes (each has 80 random bits); a used
-- code keeps its row with used_at until the set is regenerated.
CREATE TABLE mfa_recovery_codes (
    user_id   INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB     NOT NULL,
    used_at   DATETIME,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;

-- A login's second step: the mfa_token (stored as its SHA-256) handed out
-- after the right password. It is bound to the account and to the password
-- hash that was verified, lives five minutes, allows a few attempts and dies
-- once used.
CREATE TABLE mfa_challenges (
    token_hash    BLOB     PRIMARY KEY,
    user_id       INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash TEXT     NOT NULL,
    created_at    DATETIME NOT NULL,
    expires_at    DATETIME NOT NULL,
    attempts      INTEGER  NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);

-- A session's assurance level (aal1: a password; aal2: a second factor too),
-- the methods that signed it in, and when it last proved a second factor
-- (step-up: sensitive changes need that to be recent).
ALTER TABLE sessions ADD COLUMN aal TEXT NOT NULL DEFAULT 'aal1';
ALTER TABLE sessions ADD COLUMN methods TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE sessions ADD COLUMN mfa_at DATETIME;

-- +goose Down
ALTER TABLE sessions DROP COLUMN mfa_at;
ALTER TABLE sessions DROP COLUMN methods;
ALTER TABLE sessions DROP COLUMN aal;
DROP TABLE mfa_challenges;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
