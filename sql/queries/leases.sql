-- name: CreateLease :exec
-- CreateLease adds the lease @name, expired and held by nobody, unless it
-- exists; TakeLease then takes it.
INSERT INTO leases (name, holder, expires_at) VALUES (@name, '', @expires_at)
ON CONFLICT (name) DO NOTHING;

-- name: TakeLease :execrows
-- TakeLease gives the lease @name to @holder until @expires_at if it expired
-- by @now: 1 row means taken, 0 that another holder's lease runs on (or that
-- CreateLease has not run). One statement, so of several replicas trying at
-- once exactly one takes it: SQLite's single writer serializes them, and on
-- PostgreSQL the later UPDATE waits for the row lock and re-checks the WHERE
-- clause against the row the first one wrote.
UPDATE leases SET holder = @holder, expires_at = @expires_at
WHERE name = @name AND expires_at <= @now;

-- name: ListLeases :many
-- ListLeases returns every lease, by name, for operators and tests.
SELECT * FROM leases ORDER BY name;
