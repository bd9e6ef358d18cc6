-- name: CreateAuditEvent :exec
-- CreateAuditEvent records one change; call it in the change's transaction.
INSERT INTO audit_events (created_at, actor_id, target_id, action, detail, ip)
VALUES (@created_at, @actor_id, @target_id, @action, @detail, @ip);

-- name: ListAuditEvents :many
-- ListAuditEvents returns up to @lim events with id below @before, newest
-- first (keyset pagination), optionally only those whose actor or target is
-- the given user, or with the given action.
SELECT * FROM audit_events
WHERE id < @before
  AND (CAST(sqlc.narg(user_id) AS BIGINT) IS NULL OR actor_id = sqlc.narg(user_id) OR target_id = sqlc.narg(user_id))
  AND (CAST(sqlc.narg(action) AS TEXT) IS NULL OR action = sqlc.narg(action))
ORDER BY id DESC
LIMIT @lim;

-- name: ListAuditEventsAfter :many
-- ListAuditEventsAfter is ListAuditEvents backwards, for the previous (newer)
-- page: up to @lim matching events with id above @after, oldest first.
SELECT * FROM audit_events
WHERE id > @after
  AND (CAST(sqlc.narg(user_id) AS BIGINT) IS NULL OR actor_id = sqlc.narg(user_id) OR target_id = sqlc.narg(user_id))
  AND (CAST(sqlc.narg(action) AS TEXT) IS NULL OR action = sqlc.narg(action))
ORDER BY id
LIMIT @lim;

-- name: CountAuditEventsAfter :one
-- CountAuditEventsAfter counts the events with @action whose target is
-- @target_id, recorded after @after.
SELECT count(*) FROM audit_events
WHERE target_id = @target_id AND action = @action AND created_at > @after;

-- name: ImportAuditEvent :exec
-- ImportAuditEvent restores one event of a moved deployment's history, id
-- included (see account.Import); SyncAuditEventIDSequence must follow.
INSERT INTO audit_events (id, created_at, actor_id, target_id, action, detail, ip)
VALUES (@id, @created_at, @actor_id, @target_id, @action, @detail, @ip);

-- name: CountAuditEvents :one
-- CountAuditEvents counts every event: an import keeps ids only into a
-- database without accounts or history.
SELECT count(*) FROM audit_events;
