-- name: UpdateStorageProbe :exec
-- UpdateStorageProbe rewrites the one storage_probe row, a commit of one
-- page: it fails while the database cannot write (db/storage.go).
UPDATE storage_probe SET probed_at = @probed_at WHERE id = 1;
