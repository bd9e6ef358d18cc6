-- name: ClaimDueMailRequest :one
-- ClaimDueMailRequest takes the request due longest at @now, counting the
-- take and leasing the request until @lease_until, after which another
-- worker may take it again. No row means nothing is due. Workers on several
-- replicas take different rows (FOR UPDATE SKIP LOCKED), and the row lock
-- re-checks the WHERE clause, so no row is taken twice at once.
UPDATE mail_requests SET attempts = attempts + 1, due_at = @lease_until
WHERE id = (
  SELECT due.id FROM mail_requests AS due
  WHERE due.due_at <= @now
  ORDER BY due.due_at, due.id
  LIMIT 1
  FOR UPDATE SKIP LOCKED
)
RETURNING *;
