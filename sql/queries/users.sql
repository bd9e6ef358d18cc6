-- name: CreateUser :one
-- CreateUser inserts an account; a taken username_key or email_key fails with
-- a unique-constraint error that the caller maps to a conflict.
INSERT INTO users (username, username_key, email, email_key, password_hash, role, created_at, updated_at)
VALUES (@username, @username_key, @email, @email_key, @password_hash, @role, @created_at, @created_at)
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

-- name: RehashUserPassword :execrows
-- RehashUserPassword replaces the hash @old_hash with @password_hash, a hash of
-- the same password with current parameters; zero rows means the account is
-- gone or its password has changed since @old_hash was read, and stays as is.
UPDATE users SET password_hash = @password_hash, updated_at = @updated_at
WHERE id = @id AND password_hash = @old_hash;

-- name: MaxUserID :one
-- MaxUserID returns the highest account id, 0 without accounts. Ids are
-- AUTOINCREMENT: every account inserted later has a higher one.
SELECT CAST(COALESCE(MAX(id), 0) AS INTEGER) FROM users;

-- name: CountUsers :one
-- CountUsers returns the number of accounts.
SELECT COUNT(*) FROM users;

-- name: ListUsers :many
-- ListUsers returns up to @lim accounts with id above @after in id order (keyset
-- pagination), optionally only those with the given status or role, or whose
-- username key or email key starts with the given prefix. The prefixes are
-- compared with substr, so LIKE wildcards in them are plain characters.
SELECT * FROM users
WHERE id > @after
  AND (CAST(sqlc.narg(status) AS TEXT) IS NULL OR status = sqlc.narg(status))
  AND (CAST(sqlc.narg(role) AS TEXT) IS NULL OR role = sqlc.narg(role))
  AND (CAST(sqlc.narg(username_prefix) AS TEXT) IS NULL
       OR substr(username_key, 1, length(sqlc.narg(username_prefix))) = sqlc.narg(username_prefix)
       OR substr(email_key, 1, length(CAST(sqlc.narg(email_prefix) AS TEXT))) = sqlc.narg(email_prefix))
ORDER BY id
LIMIT @lim;

-- name: ListUsersBefore :many
-- ListUsersBefore is ListUsers backwards, for the previous page: up to @lim
-- matching accounts with id below @before, highest id first.
SELECT * FROM users
WHERE id < @before
  AND (CAST(sqlc.narg(status) AS TEXT) IS NULL OR status = sqlc.narg(status))
  AND (CAST(sqlc.narg(role) AS TEXT) IS NULL OR role = sqlc.narg(role))
  AND (CAST(sqlc.narg(username_prefix) AS TEXT) IS NULL
       OR substr(username_key, 1, length(sqlc.narg(username_prefix))) = sqlc.narg(username_prefix)
       OR substr(email_key, 1, length(CAST(sqlc.narg(email_prefix) AS TEXT))) = sqlc.narg(email_prefix))
ORDER BY id DESC
LIMIT @lim;

-- name: UpdateUser :one
-- UpdateUser writes an account's editable fields; a taken username_key or
-- email_key fails with a unique-constraint error. A new email_key clears
-- email_verified_at (SET expressions see the old row).
UPDATE users
SET username = @username, username_key = @username_key, email = @email, email_key = @email_key,
    email_verified_at = CASE WHEN email_key IS @email_key THEN email_verified_at END,
    status = @status, role = @role, updated_at = @updated_at
WHERE id = @id
RETURNING *;

-- name: DeleteUser :execrows
-- DeleteUser removes an account; its sessions go with it (ON DELETE CASCADE).
DELETE FROM users WHERE id = ?;

-- name: CountActiveAdmins :one
-- CountActiveAdmins counts the accounts that can use the admin API.
SELECT COUNT(*) FROM users WHERE role = 'admin' AND status = 'active';

-- name: SetUserEmailVerified :execrows
-- SetUserEmailVerified records that the account receives mail at @email_key,
-- keeping an earlier verification time; zero rows means the account is gone
-- or its address has changed since.
UPDATE users SET email_verified_at = COALESCE(email_verified_at, @now), updated_at = @now
WHERE id = @id AND email_key = @email_key;

-- name: ImportUser :exec
-- ImportUser inserts an account brought from another system, keeping its
-- password hash and creation time; unique violations fail this row alone.
INSERT INTO users (username, username_key, email, email_key, email_verified_at, password_hash, status, role,
                   created_at, updated_at)
VALUES (@username, @username_key, @email, @email_key, @email_verified_at, @password_hash, @status, @role,
        @created_at, @updated_at);

-- name: ListPasswordHashKinds :many
-- ListPasswordHashKinds returns one stored hash of each kind, bcrypt by cost
-- and argon2id by parameters, for timing a verify of each. It reads every
-- account.
SELECT CAST(MIN(password_hash) AS TEXT) AS password_hash
FROM users
GROUP BY CASE
    WHEN password_hash LIKE '$2_$%' THEN substr(password_hash, 5, 2)
    ELSE substr(password_hash, 1, 15 + instr(substr(password_hash, 16), '$'))
END;
