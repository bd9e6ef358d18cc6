-- name: SetLocalSynchronousCommitOff :exec
-- SetLocalSynchronousCommitOff makes the current transaction's commit return
-- before its WAL record reaches the disk (SET LOCAL synchronous_commit = off,
-- the third argument true making it local to the transaction): the store's
-- TxNoSync.
SELECT set_config('synchronous_commit', 'off', true);

-- name: ListenSessionChanges :exec
-- ListenSessionChanges subscribes the connection to the notifications of
-- migration 00055's triggers: sessions and accounts that changed.
LISTEN roster_sessions;

-- name: CurrentSchema :one
-- CurrentSchema is the schema the connection's tables resolve to, the first
-- word of each roster_sessions payload about them.
SELECT CAST(current_schema() AS TEXT);

-- name: NotifySessionHeartbeat :exec
-- NotifySessionHeartbeat is the session cache listener's heartbeat: a
-- notification it sends to itself on its own connection. Notifications
-- arrive in commit order, so when it comes back every change committed
-- before it has been heard of.
SELECT pg_notify('roster_sessions', CAST(current_schema() AS TEXT) || ' h');

-- name: SyncUserIDSequence :one
-- SyncUserIDSequence moves the users identity's sequence to the highest id,
-- after accounts were inserted with their own ids, so that the next sign-up
-- gets a fresh one; it returns that id.
SELECT CAST(setval(pg_get_serial_sequence('users', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) AS BIGINT)
FROM users;

-- name: SyncAuditEventIDSequence :one
-- SyncAuditEventIDSequence is SyncUserIDSequence for audit_events.
SELECT CAST(setval(pg_get_serial_sequence('audit_events', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) AS BIGINT)
FROM audit_events;
