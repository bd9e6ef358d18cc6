-- name: SQLiteVersion :one
-- SQLiteVersion is the version of the SQLite library roster runs on.
SELECT sqlite_version();

-- name: WALFile :one
-- WALFile is asked once by the change watch (changes_unix.go), on its own
-- connection, before it maps the -shm file: the journal mode must be wal, and
-- file is the database's name as SQLite resolved it (symbolic links
-- followed), to which SQLite adds "-shm". Counting sqlite_schema makes the
-- connection open the WAL and the -shm file, which it keeps open until it is
-- closed.
SELECT (SELECT journal_mode FROM pragma_journal_mode) AS journal_mode,
       (SELECT file FROM pragma_database_list WHERE name = 'main') AS file,
       (SELECT count(*) FROM sqlite_schema) AS schema_objects;

-- name: IntegrityCheck :one
-- IntegrityCheck runs SQLite's integrity_check on the database: problems is
-- "ok" for a sound file, or what is wrong with it, one finding after another.
SELECT CAST((SELECT group_concat(integrity_check, '; ') FROM pragma_integrity_check) AS TEXT) AS problems;

-- name: SyncUserIDSequence :one
-- SyncUserIDSequence makes new accounts' ids follow the highest imported
-- one. SQLite's AUTOINCREMENT does that by itself (an explicit id above
-- sqlite_sequence raises it), so this only returns that highest id.
SELECT CAST(COALESCE(MAX(id), 0) AS INTEGER) FROM users;

-- name: SyncAuditEventIDSequence :one
-- SyncAuditEventIDSequence is SyncUserIDSequence for audit_events.
SELECT CAST(COALESCE(MAX(id), 0) AS INTEGER) FROM audit_events;
