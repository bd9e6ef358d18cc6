-- name: CreateUser :one
-- CreateUser inserts an account; a taken username_key or email_key fails with
-- a unique-constraint error that the caller maps to a conflict.
INSERT INTO users (username, username_key, email, email_key, password_hash, created_at, updated_at)
VALUES (@username, @username_key, @email, @email_key, @password_hash, @created_at, @created_at)
RETURNING *;

-- name: GetUser :one
-- GetUser returns the account with the given id.
SELECT * FROM users WHERE id = ?;

-- name: GetUserByUsernameKey :one
-- GetUserByUsernameKey returns the account whose normalized username matches.
SELECT * FROM users WHERE username_key = ?;

-- name: GetUserByEmailKey :one
-- GetUserByEmailKey returns the account whose normalized email matches.
SELECT * FROM users WHERE email_key = ?;

-- name: UsernameKeyExists :one
-- UsernameKeyExists reports whether a normalized username is taken.
SELECT EXISTS (SELECT 1 FROM users WHERE username_key = ?);

-- name: UpdateUserPasswordHash :execrows
-- UpdateUserPasswordHash replaces a stored hash, for example after a rehash to
-- current parameters; zero rows means the account is gone.
UPDATE users SET password_hash = @password_hash, updated_at = @updated_at WHERE id = @id;

-- name: CountUsers :one
-- CountUsers returns the number of accounts.
SELECT COUNT(*) FROM users;
