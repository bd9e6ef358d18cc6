-- +goose Up
-- login_devices holds the device tokens (OWASP "device cookies") handed out
-- on successful logins: a login that presents one of its account's device
-- tokens is not held by the account-wide cap on failed logins, so its owner
-- gets in from any network while guesses are capped. Only SHA-256(token) is
-- stored. A device unused for a year is forgotten (see the housekeeping).
-- A row with expires_at is a sign-in code mailed to an owner without a
-- device token: it works as one until it expires or a login with it
-- succeeds, which deletes it.
CREATE TABLE login_devices (
    token_hash   BLOB     PRIMARY KEY,
    user_id      INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   DATETIME NOT NULL,
    last_used_at DATETIME NOT NULL,
    expires_at   DATETIME
) WITHOUT ROWID;

CREATE INDEX login_devices_user_id ON login_devices (user_id, last_used_at);
CREATE INDEX login_devices_last_used_at ON login_devices (last_used_at);

-- +goose Down
DROP TABLE login_devices;
