-- +goose Up
-- login_devices: see sql/schema/00045_login_devices.sql.
CREATE TABLE login_devices (
    token_hash   bytea       PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    expires_at   timestamptz
);

CREATE INDEX login_devices_user_id ON login_devices (user_id, last_used_at);
CREATE INDEX login_devices_last_used_at ON login_devices (last_used_at);

-- +goose Down
DROP TABLE login_devices;
