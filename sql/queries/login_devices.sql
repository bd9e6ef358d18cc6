-- name: GetLoginDeviceUser :one
-- GetLoginDeviceUser returns the account a device token was issued to, if it
-- was used since the cutoff, or a sign-in code was mailed to, if it has not
-- expired.
SELECT user_id FROM login_devices
WHERE token_hash = @token_hash AND last_used_at >= @cutoff AND (expires_at IS NULL OR expires_at > @now);

-- name: CreateLoginDevice :exec
-- CreateLoginDevice records a device token issued on a successful login.
INSERT INTO login_devices (token_hash, user_id, created_at, last_used_at)
VALUES (@token_hash, @user_id, @created_at, @created_at);

-- name: TouchLoginDevice :execrows
-- TouchLoginDevice records a successful login with an account's device token;
-- zero rows means the token is not (or no longer) that account's.
UPDATE login_devices SET last_used_at = @last_used_at
WHERE token_hash = @token_hash AND user_id = @user_id AND expires_at IS NULL;

-- name: CreateSignInCode :exec
-- CreateSignInCode records a sign-in code mailed to an account.
INSERT INTO login_devices (token_hash, user_id, created_at, last_used_at, expires_at)
VALUES (@token_hash, @user_id, @created_at, @created_at, @expires_at);

-- name: DeleteSignInCode :exec
-- DeleteSignInCode consumes a sign-in code after a successful login with it.
DELETE FROM login_devices WHERE token_hash = @token_hash AND user_id = @user_id AND expires_at IS NOT NULL;

-- name: DeleteUserSignInCodes :exec
-- DeleteUserSignInCodes voids the sign-in codes mailed to an account before.
DELETE FROM login_devices WHERE user_id = @user_id AND expires_at IS NOT NULL;

-- name: DeleteExcessLoginDevices :exec
-- DeleteExcessLoginDevices keeps only an account's most recently used devices.
DELETE FROM login_devices WHERE user_id = CAST(@user_id AS BIGINT) AND expires_at IS NULL AND token_hash NOT IN (
    SELECT d.token_hash FROM login_devices AS d WHERE d.user_id = CAST(@user_id AS BIGINT) AND d.expires_at IS NULL
    ORDER BY d.last_used_at DESC, d.created_at DESC LIMIT CAST(@keep AS BIGINT)
);

-- name: DeleteStaleLoginDevices :execrows
-- DeleteStaleLoginDevices forgets at most batch devices unused since the
-- cutoff or sign-in codes expired by now.
DELETE FROM login_devices WHERE token_hash IN (
    SELECT d.token_hash FROM login_devices AS d WHERE d.last_used_at < @cutoff OR d.expires_at <= @now LIMIT @batch
);
