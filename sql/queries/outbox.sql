-- name: CreateOutboxMessage :exec
-- CreateOutboxMessage queues a mail; call it in the transaction of the change
-- that causes the mail.
INSERT INTO outbox (message_id, user_id, kind, recipient, subject, body, created_at, next_attempt_at)
VALUES (@message_id, @user_id, @kind, @recipient, @subject, @body, @created_at, @created_at);

-- name: GetDueOutboxMessage :one
-- GetDueOutboxMessage returns the pending message due longest at @now; no
-- row means nothing is due.
SELECT * FROM outbox
WHERE status = 'pending' AND next_attempt_at <= @now
ORDER BY next_attempt_at, id
LIMIT 1;

-- name: ClaimOutboxMessage :exec
-- ClaimOutboxMessage counts an attempt and pushes next_attempt_at to
-- @lease_until, so a message whose sender died mid-delivery is retried once
-- the lease runs out. Run it in the transaction that read the message.
UPDATE outbox SET attempts = attempts + 1, next_attempt_at = @lease_until
WHERE id = @id;

-- name: MarkOutboxSent :exec
-- MarkOutboxSent records a delivery and erases the body.
UPDATE outbox SET status = 'sent', body = '', last_error = '', finished_at = @now
WHERE id = @id;

-- name: RetryOutboxMessage :exec
-- RetryOutboxMessage records a failed attempt and when to try again.
UPDATE outbox SET last_error = @last_error, next_attempt_at = @next_attempt_at
WHERE id = @id;

-- name: FailOutboxMessage :exec
-- FailOutboxMessage gives up on a message: it stays, without its body, for
-- admins to see.
UPDATE outbox SET status = 'failed', body = '', last_error = @last_error, finished_at = @now
WHERE id = @id;

-- name: DeleteSentOutboxMessages :execrows
-- DeleteSentOutboxMessages removes delivered messages finished before @before;
-- failed ones are kept.
DELETE FROM outbox WHERE status = 'sent' AND finished_at < @before;

-- name: ListOutboxMessages :many
-- ListOutboxMessages returns up to @lim messages with id above @after in id
-- order (keyset pagination), optionally only those with the given status.
SELECT * FROM outbox
WHERE id > @after AND (CAST(sqlc.narg(status) AS TEXT) IS NULL OR status = sqlc.narg(status))
ORDER BY id
LIMIT @lim;
