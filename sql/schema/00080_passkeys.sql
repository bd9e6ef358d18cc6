-- +goose Up
-- Passkeys (WebAuthn credentials, account/passkey.go). credential holds the
-- library's record as JSON: the public key, the sign count and the flags,
-- nothing secret. An account's first passkey turns its second factor on; a
-- discoverable passkey also signs in alone.
CREATE TABLE webauthn_credentials (
    credential_id BLOB     PRIMARY KEY,
    user_id       INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT     NOT NULL,
    credential    TEXT     NOT NULL,
    created_at    DATETIME NOT NULL,
    last_used_at  DATETIME
) WITHOUT ROWID;

CREATE INDEX webauthn_credentials_user_id ON webauthn_credentials (user_id);

-- The WebAuthn user handle of each account that registered a passkey: 32
-- random bytes, so that an authenticator never holds the account's id.
CREATE TABLE webauthn_handles (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle  BLOB    NOT NULL UNIQUE
);

-- A WebAuthn ceremony in progress (registration, a login, a step-up): the
-- library's session data, kept in the database so that any replica can
-- finish what another began. The client holds the id (stored hashed); a
-- ceremony is taken once.
CREATE TABLE webauthn_ceremonies (
    token_hash BLOB     PRIMARY KEY,
    user_id    INTEGER  REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT     NOT NULL,
    session    TEXT     NOT NULL,
    expires_at DATETIME NOT NULL
) WITHOUT ROWID;

CREATE INDEX webauthn_ceremonies_expires_at ON webauthn_ceremonies (expires_at);

-- +goose Down
DROP TABLE webauthn_ceremonies;
DROP TABLE webauthn_handles;
DROP TABLE webauthn_credentials;
