-- +goose Up
-- username_skeleton: see sql/schema/00050_username_skeleton.sql. A UNIQUE
-- index allows many NULLs on PostgreSQL too.
ALTER TABLE users ADD COLUMN username_skeleton text;
CREATE UNIQUE INDEX users_username_skeleton ON users (username_skeleton);

-- +goose Down
DROP INDEX users_username_skeleton;
ALTER TABLE users DROP COLUMN username_skeleton;
