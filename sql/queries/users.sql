-- name: CreateUser :one
-- CreateUser inserts an account; a taken username_key, username_skeleton or
-- email_key fails with a unique-constraint error that the caller maps to a
-- conflict.
INSERT INTO users (username, username_key, username_skeleton, email, email_key, password_hash, role, created_at,
                   updated_at)
VALUES (@username, @username_key, @username_skeleton, @email, @email_key, @password_hash, @role, @created_at,
        @created_at)
RETURNING *;

-- name: GetUser :one
-- GetUser returns the account with the given id.
SELECT * FROM users WHERE id = @id;

-- name: GetUserByUsernameKey :one
-- GetUserByUsernameKey returns the account whose normalized username matches.
SELECT * FROM users WHERE username_key = @username_key;

-- name: GetUserByEmailKey :one
-- GetUserByEmailKey returns the account whose normalized email matches.
SELECT * FROM users WHERE email_key = @email_key;

-- name: UsernameKeyExists :one
-- UsernameKeyExists reports whether a normalized username is taken.
SELECT EXISTS (SELECT 1 FROM users WHERE username_key = @username_key);

-- name: UsernameSkeletonExists :one
-- UsernameSkeletonExists reports whether an account's name has this skeleton.
SELECT EXISTS (SELECT 1 FROM users WHERE username_skeleton = @username_skeleton);

-- name: ListUsernameKeys :many
-- ListUsernameKeys returns every account's id and username key, oldest first.
SELECT id, username_key FROM users ORDER BY id;

-- name: ClearUsernameSkeletons :exec
-- ClearUsernameSkeletons forgets every stored skeleton, before recomputing them.
UPDATE users SET username_skeleton = NULL;

-- name: SetUsernameSkeleton :execrows
-- SetUsernameSkeleton stores an account's skeleton unless another account
-- holds it already; zero rows means one does, and the account keeps NULL.
UPDATE users SET username_skeleton = @username_skeleton
WHERE users.id = @id AND NOT EXISTS (SELECT 1 FROM users AS other WHERE other.username_skeleton = @username_skeleton);

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

-- name: DeleteUser :execrows
-- DeleteUser removes an account; its sessions go with it (ON DELETE CASCADE).
DELETE FROM users WHERE id = @id;

-- name: CountActiveAdmins :one
-- CountActiveAdmins counts the accounts that can use the admin API.
SELECT COUNT(*) FROM users WHERE role = 'admin' AND status = 'active';

-- name: SetUserEmailVerified :execrows
-- SetUserEmailVerified records that the account receives mail at @email_key,
-- keeping an earlier verification time; zero rows means the account is gone
-- or its address has changed since.
UPDATE users SET email_verified_at = COALESCE(email_verified_at, @now), updated_at = @now
WHERE id = @id AND email_key = @email_key;

-- name: ImportUserWithID :execrows
-- ImportUserWithID is ImportUser keeping the account's id, for a move into
-- an empty database (see account.Import); SyncUserIDSequence must follow.
INSERT INTO users (id, username, username_key, username_skeleton, email, email_key, email_verified_at, password_hash,
                   status, role, created_at, updated_at)
VALUES (@id, @username, @username_key, @username_skeleton, @email, @email_key, @email_verified_at, @password_hash,
        @status, @role, @created_at, @updated_at)
ON CONFLICT DO NOTHING;

-- name: ImportUser :execrows
-- ImportUser inserts an account brought from another system, keeping its
-- password hash and creation time. A taken username, skeleton or email
-- inserts nothing (zero rows) without failing the transaction: on
-- PostgreSQL a unique violation would abort the whole import batch, which
-- may race a concurrent sign-up for any of its names. (RETURNING id made
-- SQLite's import 2.4 times slower; AuditImportedUsers finds the rows by
-- their username keys instead.)
INSERT INTO users (username, username_key, username_skeleton, email, email_key, email_verified_at, password_hash,
                   status, role, created_at, updated_at)
VALUES (@username, @username_key, @username_skeleton, @email, @email_key, @email_verified_at, @password_hash,
        @status, @role, @created_at, @updated_at)
ON CONFLICT DO NOTHING;
