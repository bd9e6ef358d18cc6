-- name: CreateMailRequest :exec
-- CreateMailRequest stores an accepted reset or sign-in code request, to be
-- served from @due_at.
INSERT INTO mail_requests (kind, login, ip, due_at) VALUES (@kind, @login, @ip, @due_at);

-- name: DeleteMailRequest :execrows
-- DeleteMailRequest removes a served request, if the take counted as
-- @attempts is still the latest: 0 rows means another worker took it again
-- after this one's lease ran out, and that worker serves it.
DELETE FROM mail_requests WHERE id = @id AND attempts = @attempts;

-- name: CountMailRequests :one
-- CountMailRequests counts the requests not yet served, for metrics and tests.
SELECT COUNT(*) FROM mail_requests;
