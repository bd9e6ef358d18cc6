-- name: SetLocalSynchronousCommitOff :exec
-- SetLocalSynchronousCommitOff makes the current transaction's commit return
-- before its WAL record reaches the disk (SET LOCAL synchronous_commit = off,
-- the third argument true making it local to the transaction): the store's
-- TxNoSync.
SELECT set_config('synchronous_commit', 'off', true);
