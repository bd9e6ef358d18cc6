-- name: ClaimDueOutboxMessage :one
-- ClaimDueOutboxMessage takes the pending message due longest at @now: it
-- counts an attempt and pushes next_attempt_at to @lease_until, so that a
-- message whose sender died mid-delivery is retried once the lease runs out.
-- Workers on several replicas claim at once: FOR UPDATE SKIP LOCKED makes
-- each take a different row instead of queueing behind one another, and the
-- row lock re-checks the WHERE clause, so a row another worker just claimed
-- is never claimed twice. No row means nothing is due.
UPDATE outbox SET attempts = attempts + 1, next_attempt_at = @lease_until
WHERE id = (
  SELECT due.id FROM outbox AS due
  WHERE due.status = 'pending' AND due.next_attempt_at <= @now
  ORDER BY due.next_attempt_at, due.id
  LIMIT 1
  FOR UPDATE SKIP LOCKED
)
RETURNING *;
