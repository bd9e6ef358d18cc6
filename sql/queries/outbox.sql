-- name: CreateOutboxMessage :exec
-- CreateOutboxMessage queues a mail; call it in the transaction of the change
-- that causes the mail.
INSERT INTO outbox (message_id, user_id, kind, recipient, subject, body, created_at, next_attempt_at)
VALUES (@message_id, @user_id, @kind, @recipient, @subject, @body, @created_at, @created_at);

-- MarkOutboxSent, RetryOutboxMessage and FailOutboxMessage record the
-- outcome of the attempt that ClaimDueOutboxMessage counted as @attempts.
-- That count is a fence: once a lease runs out and another worker claims the
-- row again (attempts + 1), the stale worker's outcome changes nothing and
-- the statement reports 0 rows.

-- name: MarkOutboxSent :execrows
-- MarkOutboxSent records a delivery and erases the body.
UPDATE outbox SET status = 'sent', body = '', last_error = '', finished_at = @now
WHERE id = @id AND attempts = @attempts AND status = 'pending';

-- name: RetryOutboxMessage :execrows
-- RetryOutboxMessage records a failed attempt and when to try again.
UPDATE outbox SET last_error = @last_error, next_attempt_at = @next_attempt_at
WHERE id = @id AND attempts = @attempts AND status = 'pending';

-- name: FailOutboxMessage :execrows
-- FailOutboxMessage gives up on a message: it stays, without its body, for
-- admins to see.
UPDATE outbox SET status = 'failed', body = '', last_error = @last_error, finished_at = @now
WHERE id = @id AND attempts = @attempts AND status = 'pending';

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
