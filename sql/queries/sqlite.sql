-- name: SQLiteVersion :one
-- SQLiteVersion is the version of the SQLite library roster runs on.
SELECT sqlite_version();
