-- +goose Up
-- status decides whether an account may log in and use its sessions; role
-- decides whether it may use the admin API. Existing accounts become active
-- users; the first admin is made with `roster user create -admin`.
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled'));
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin'));

-- users_role_status serves the last-active-admin count.
CREATE INDEX users_role_status ON users (role, status);

-- +goose Down
DROP INDEX users_role_status;
ALTER TABLE users DROP COLUMN role;
ALTER TABLE users DROP COLUMN status;
