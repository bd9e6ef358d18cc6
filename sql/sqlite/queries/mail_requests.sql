-- name: ClaimDueMailRequest :one
-- ClaimDueMailRequest takes the request due longest at @now, counting the
-- take and leasing the request until @lease_until, after which another
-- worker may take it again. No row means nothing is due. (PostgreSQL's twin
-- skips rows other workers have locked.)
UPDATE mail_requests SET attempts = attempts + 1, due_at = @lease_until
WHERE id = (
  SELECT due.id FROM mail_requests AS due
  WHERE due.due_at <= @now
  ORDER BY due.due_at, due.id
  LIMIT 1
)
RETURNING *;
