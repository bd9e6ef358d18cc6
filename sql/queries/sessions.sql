-- name: CreateSession :exec
-- CreateSession stores a new login under the hash of its token; id is the
-- session's public name; aal and methods say how it signed in, mfa_at when
-- it proved a second factor (NULL for a password alone).
INSERT INTO sessions (token_hash, id, user_id, created_at, expires_at, last_seen_at, user_agent, ip, aal, methods, mfa_at)
VALUES (@token_hash, @id, @user_id, @created_at, @expires_at, @created_at, @user_agent, @ip, @aal, @methods, @mfa_at);

-- name: SetSessionMFA :execrows
-- SetSessionMFA records that a session proved a second factor at @mfa_at
-- (a step-up, or the enrollment that turned MFA on): it is aal2 from then on.
UPDATE sessions SET aal = 'aal2', methods = @methods, mfa_at = @mfa_at WHERE token_hash = @token_hash;

-- name: GetSessionWithUser :one
-- GetSessionWithUser loads a session and its account in one lookup; expiry is
-- judged by the caller against its clock.
SELECT sqlc.embed(sessions), sqlc.embed(users)
FROM sessions JOIN users ON users.id = sessions.user_id
WHERE sessions.token_hash = @token_hash;

-- name: TouchSession :exec
-- TouchSession records activity; callers write it at most once a minute.
UPDATE sessions SET last_seen_at = @last_seen_at WHERE token_hash = @token_hash;

-- name: DeleteSession :execrows
-- DeleteSession ends one session; zero rows means it was already gone.
DELETE FROM sessions WHERE token_hash = @token_hash;

-- name: ListUserSessions :many
-- ListUserSessions returns an account's live sessions, oldest first: those
-- that expire after @now and were last seen after @idle_since.
SELECT * FROM sessions
WHERE user_id = @user_id AND expires_at > @now AND last_seen_at > @idle_since
ORDER BY created_at, id;

-- name: DeleteUserSession :execrows
-- DeleteUserSession ends the session with the given public id if it belongs
-- to the account; zero rows means no such session of this account.
DELETE FROM sessions WHERE id = @id AND user_id = @user_id;

-- name: DeleteUserSessionsExcept :execrows
-- DeleteUserSessionsExcept ends every session of an account but the one whose
-- token hashes to @keep.
DELETE FROM sessions WHERE user_id = @user_id AND token_hash <> @keep;

-- name: DeleteUserSessions :execrows
-- DeleteUserSessions ends every session of an account.
DELETE FROM sessions WHERE user_id = @user_id;

-- name: DeleteExpiredSessions :execrows
-- DeleteExpiredSessions removes at most @batch sessions past their absolute
-- expiry or idle for longer than the idle lifetime, so one call holds the
-- writer only briefly.
DELETE FROM sessions WHERE token_hash IN (
    SELECT s.token_hash FROM sessions AS s
    WHERE s.expires_at <= @now OR s.last_seen_at <= @idle_before
    LIMIT @batch
);

-- name: CountLiveSessions :one
-- CountLiveSessions counts sessions neither expired nor idle at @now.
SELECT COUNT(*) FROM sessions WHERE expires_at > @now AND last_seen_at > @idle_before;
