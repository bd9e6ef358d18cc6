-- +goose Up
-- PostgreSQL's 00055 adds triggers that tell other replicas which cached
-- sessions went stale. SQLite needs none: its session cache watches the
-- -shm file, which every commit by any process changes. This no-op keeps
-- the engines' migration versions in step.
SELECT 1;

-- +goose Down
SELECT 1;
