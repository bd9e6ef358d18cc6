-- +goose Up
-- Passkeys: see sql/schema/00080_passkeys.sql.
CREATE TABLE webauthn_credentials (
    credential_id bytea       PRIMARY KEY,
    user_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text        NOT NULL,
    credential    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz
);

CREATE INDEX webauthn_credentials_user_id ON webauthn_credentials (user_id);

CREATE TABLE webauthn_handles (
    user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle  bytea  NOT NULL UNIQUE
);

CREATE TABLE webauthn_ceremonies (
    token_hash bytea       PRIMARY KEY,
    user_id    bigint      REFERENCES users (id) ON DELETE CASCADE,
    kind       text        NOT NULL,
    session    text        NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX webauthn_ceremonies_expires_at ON webauthn_ceremonies (expires_at);

-- +goose Down
DROP TABLE webauthn_ceremonies;
DROP TABLE webauthn_handles;
DROP TABLE webauthn_credentials;
