-- +goose Up
-- Second factors: see sql/schema/00075_mfa.sql.
CREATE TABLE mfa_totp (
    user_id      bigint      PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       bytea       NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint      NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL
);

CREATE TABLE mfa_recovery_codes (
    user_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea       NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE mfa_challenges (
    token_hash    bytea       PRIMARY KEY,
    user_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    attempts      bigint      NOT NULL DEFAULT 0
);

CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);

ALTER TABLE sessions ADD COLUMN aal text NOT NULL DEFAULT 'aal1';
ALTER TABLE sessions ADD COLUMN methods text NOT NULL DEFAULT 'pwd';
ALTER TABLE sessions ADD COLUMN mfa_at timestamptz;

-- +goose Down
ALTER TABLE sessions DROP COLUMN mfa_at;
ALTER TABLE sessions DROP COLUMN methods;
ALTER TABLE sessions DROP COLUMN aal;
DROP TABLE mfa_challenges;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
