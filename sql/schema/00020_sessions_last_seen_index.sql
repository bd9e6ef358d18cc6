-- +goose Up
-- sessions_last_seen_at lets the housekeeping job find idle-expired sessions
-- without scanning the table.
CREATE INDEX sessions_last_seen_at ON sessions (last_seen_at);

-- +goose Down
DROP INDEX sessions_last_seen_at;
