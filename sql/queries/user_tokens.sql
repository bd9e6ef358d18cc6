-- name: CreateUserToken :exec
-- CreateUserToken stores a new single-use token under its hash.
INSERT INTO user_tokens (token_hash, user_id, kind, email_key, created_at, expires_at)
VALUES (@token_hash, @user_id, @kind, @email_key, @created_at, @expires_at);

-- name: GetUserByLiveToken :one
-- GetUserByLiveToken returns the account a token of the given kind belongs to
-- if the token is unused, unexpired at @now and was mailed to the account's
-- current address.
SELECT sqlc.embed(users) FROM user_tokens JOIN users ON users.id = user_tokens.user_id
WHERE user_tokens.token_hash = @token_hash AND user_tokens.kind = @kind
  AND user_tokens.used_at IS NULL AND user_tokens.expires_at > @now
  AND users.email_key = user_tokens.email_key;

-- name: ConsumeUserToken :one
-- ConsumeUserToken marks a live token used and returns whose it is and where
-- it was mailed. The conditional UPDATE decides races: of two concurrent
-- calls with one token, only one changes a row; the other gets no row.
UPDATE user_tokens SET used_at = @now
WHERE token_hash = @token_hash AND kind = @kind AND used_at IS NULL AND expires_at > @now
RETURNING user_id, email_key;

-- name: VoidUserTokens :execrows
-- VoidUserTokens uses up every live token of one kind of an account, so none
-- of them works any more.
UPDATE user_tokens SET used_at = @now
WHERE user_id = @user_id AND kind = @kind AND used_at IS NULL;

-- name: DeleteExpiredUserTokens :exec
-- DeleteExpiredUserTokens forgets an account's tokens that expired before @now.
DELETE FROM user_tokens WHERE user_id = @user_id AND expires_at <= @now;

-- name: PurgeExpiredUserTokens :execrows
-- PurgeExpiredUserTokens deletes at most @batch tokens of any account that
-- expired at or before @now, for the housekeeping job.
DELETE FROM user_tokens WHERE token_hash IN (
    SELECT t.token_hash FROM user_tokens AS t WHERE t.expires_at <= @now LIMIT @batch
);
