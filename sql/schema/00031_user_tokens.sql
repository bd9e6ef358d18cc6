-- +goose Up
-- user_tokens holds the single-use tokens roster mails: email verification
-- (24 hours) and password reset (30 minutes). Only SHA-256(token) is stored.
-- email_key is the address the token was mailed to: a token works only while
-- the account still has that address. A token is consumed by setting used_at
-- with a conditional UPDATE, so of two concurrent uses exactly one wins.
CREATE TABLE user_tokens (
    token_hash BLOB     PRIMARY KEY,
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT     NOT NULL CHECK (kind IN ('email_verification', 'password_reset')),
    email_key  TEXT     NOT NULL,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at    DATETIME
) WITHOUT ROWID;

CREATE INDEX user_tokens_user_id ON user_tokens (user_id, kind);

-- email_verified_at is when the account proved it receives mail at its
-- current email; NULL when it has not, or has no email. Changing the email
-- clears it.
ALTER TABLE users ADD COLUMN email_verified_at DATETIME;

-- +goose Down
ALTER TABLE users DROP COLUMN email_verified_at;
DROP TABLE user_tokens;
