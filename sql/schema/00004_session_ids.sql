-- +goose Up
-- id names a session in the API (GET /v1/me/sessions, DELETE …/{id}) without
-- revealing its token or the token's hash: 16 random bytes in hex, minted by
-- the application for new sessions and here for existing ones.
ALTER TABLE sessions ADD COLUMN id TEXT NOT NULL DEFAULT '';
UPDATE sessions SET id = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX sessions_id ON sessions (id);

-- +goose Down
DROP INDEX sessions_id;
ALTER TABLE sessions DROP COLUMN id;
