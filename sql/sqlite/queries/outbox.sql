-- name: ClaimDueOutboxMessage :one
-- ClaimDueOutboxMessage takes the pending message due longest at @now: it
-- counts an attempt and pushes next_attempt_at to @lease_until, so that a
-- message whose sender died mid-delivery is retried once the lease runs out.
-- One statement, so two workers never claim the same row; on SQLite the
-- single writer serializes them. No row means nothing is due.
UPDATE outbox SET attempts = attempts + 1, next_attempt_at = @lease_until
WHERE id = (
  SELECT due.id FROM outbox AS due
  WHERE due.status = 'pending' AND due.next_attempt_at <= @now
  ORDER BY due.next_attempt_at, due.id
  LIMIT 1
)
RETURNING *;
