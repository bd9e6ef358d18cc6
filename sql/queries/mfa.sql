-- name: GetTOTP :one
-- GetTOTP returns an account's TOTP row, confirmed or pending.
SELECT * FROM mfa_totp WHERE user_id = @user_id;

-- name: PutPendingTOTP :exec
-- PutPendingTOTP starts (or restarts) an enrollment with a new secret; the
-- caller has checked that no confirmed secret exists.
INSERT INTO mfa_totp (user_id, secret, confirmed_at, last_step, created_at)
VALUES (@user_id, @secret, NULL, 0, @created_at)
ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, confirmed_at = NULL, last_step = 0,
    created_at = excluded.created_at;

-- name: UseTOTPStep :execrows
-- UseTOTPStep accepts a code of time step @step: it confirms a pending
-- enrollment (@confirm) or needs a confirmed one, and moves last_step
-- forward. 0 rows means the step, or a later one, was used already (a
-- replay), or the row is gone or in the other state.
UPDATE mfa_totp SET last_step = @step, confirmed_at = COALESCE(confirmed_at, @now)
WHERE user_id = @user_id AND last_step < @step
  AND (confirmed_at IS NULL) = CAST(@confirm AS BOOLEAN);

-- name: SetTOTPSecret :exec
-- SetTOTPSecret stores a secret sealed again under the current key.
UPDATE mfa_totp SET secret = @secret WHERE user_id = @user_id;

-- name: DeleteTOTP :execrows
-- DeleteTOTP removes an account's TOTP, confirmed or pending.
DELETE FROM mfa_totp WHERE user_id = @user_id;

-- name: CreateRecoveryCode :exec
-- CreateRecoveryCode stores one recovery code's hash.
INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES (@user_id, @code_hash);

-- name: DeleteRecoveryCodes :exec
-- DeleteRecoveryCodes removes an account's recovery codes, used or not.
DELETE FROM mfa_recovery_codes WHERE user_id = @user_id;

-- name: UseRecoveryCode :execrows
-- UseRecoveryCode spends one unused code; 0 rows means no such unused code.
UPDATE mfa_recovery_codes SET used_at = @now
WHERE user_id = @user_id AND code_hash = @code_hash AND used_at IS NULL;

-- name: CountRecoveryCodes :one
-- CountRecoveryCodes counts an account's unused recovery codes.
SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = @user_id AND used_at IS NULL;

-- name: CreateMFAChallenge :exec
-- CreateMFAChallenge stores a login's second step.
INSERT INTO mfa_challenges (token_hash, user_id, password_hash, created_at, expires_at)
VALUES (@token_hash, @user_id, @password_hash, @created_at, @expires_at);

-- name: GetMFAChallenge :one
-- GetMFAChallenge reads a challenge without spending an attempt.
SELECT * FROM mfa_challenges WHERE token_hash = @token_hash;

-- name: SpendMFAChallengeAttempt :one
-- SpendMFAChallengeAttempt counts one attempt at a live challenge with
-- attempts left and returns it; no row means it is unknown, expired, used up
-- or spent.
UPDATE mfa_challenges SET attempts = attempts + 1
WHERE token_hash = @token_hash AND expires_at > @now AND attempts < @max_attempts
RETURNING *;

-- name: DeleteMFAChallenge :execrows
-- DeleteMFAChallenge ends a challenge once its login succeeded; 0 rows means
-- another request used it first.
DELETE FROM mfa_challenges WHERE token_hash = @token_hash;

-- name: DeleteExpiredMFAChallenges :execrows
-- DeleteExpiredMFAChallenges removes challenges past their expiry (housekeeping).
DELETE FROM mfa_challenges WHERE expires_at <= @now;

-- name: ListRecoveryCodes :many
-- ListRecoveryCodes returns an account's recovery codes (hashes), for export.
SELECT * FROM mfa_recovery_codes WHERE user_id = @user_id ORDER BY code_hash;

-- name: ListMFAUserIDs :many
-- ListMFAUserIDs returns the accounts that have a second factor or an
-- enrollment, for export.
SELECT user_id FROM mfa_totp
UNION
SELECT user_id FROM webauthn_credentials
ORDER BY user_id;

-- name: ImportTOTP :exec
-- ImportTOTP restores a moved account's TOTP row as it was.
INSERT INTO mfa_totp (user_id, secret, confirmed_at, last_step, created_at)
VALUES (@user_id, @secret, @confirmed_at, @last_step, @created_at);

-- name: ImportRecoveryCode :exec
-- ImportRecoveryCode restores one recovery code of a moved account.
INSERT INTO mfa_recovery_codes (user_id, code_hash, used_at) VALUES (@user_id, @code_hash, @used_at);

-- name: ListTOTPAfter :many
-- ListTOTPAfter returns up to @lim TOTP rows with user_id above @after, in
-- user_id order (keyset pages, for sealing every secret again).
SELECT * FROM mfa_totp WHERE user_id > @after ORDER BY user_id LIMIT @lim;
