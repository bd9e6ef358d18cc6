-- name: UpdateUser :one
-- UpdateUser writes an account's editable fields; a taken username_key,
-- username_skeleton or email_key fails with a unique-constraint error. A new email_key clears
-- email_verified_at (SET expressions see the old row).
UPDATE users
SET username = @username, username_key = @username_key, username_skeleton = @username_skeleton,
    email = @email, email_key = @email_key,
    email_verified_at = CASE WHEN email_key IS @email_key THEN email_verified_at END,
    status = @status, role = @role, updated_at = @updated_at
WHERE id = @id
RETURNING *;

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
