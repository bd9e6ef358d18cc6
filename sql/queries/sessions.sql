-- name: CreateSession :exec
-- CreateSession stores a new login under the hash of its token.
INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, user_agent, ip)
VALUES (@token_hash, @user_id, @created_at, @expires_at, @created_at, @user_agent, @ip);

-- name: GetSessionWithUser :one
-- GetSessionWithUser loads a session and its account in one lookup; expiry is
-- judged by the caller against its clock.
SELECT sqlc.embed(sessions), sqlc.embed(users)
FROM sessions JOIN users ON users.id = sessions.user_id
WHERE sessions.token_hash = ?;

-- name: TouchSession :exec
-- TouchSession records activity; callers write it at most once a minute.
UPDATE sessions SET last_seen_at = @last_seen_at WHERE token_hash = @token_hash;

-- name: DeleteSession :execrows
-- DeleteSession ends one session; zero rows means it was already gone.
DELETE FROM sessions WHERE token_hash = ?;
