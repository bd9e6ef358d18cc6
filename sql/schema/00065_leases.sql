-- +goose Up
-- leases lets one replica of several sharing a database run a periodic job
-- (housekeeping, outbox pruning) once per interval: the replica whose
-- TakeLease finds the job's row expired runs it and holds the row until
-- expires_at. holder names that replica, for operators.
CREATE TABLE leases (
    name       TEXT     PRIMARY KEY,
    holder     TEXT     NOT NULL,
    expires_at DATETIME NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE leases;
