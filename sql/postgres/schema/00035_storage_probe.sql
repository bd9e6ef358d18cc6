-- +goose Up
-- storage_probe: see sql/schema/00035_storage_probe.sql.
CREATE TABLE storage_probe (
    id        bigint      PRIMARY KEY CHECK (id = 1),
    probed_at timestamptz NOT NULL
);

INSERT INTO storage_probe (id, probed_at) VALUES (1, '1970-01-01 00:00:00+00:00');

-- +goose Down
DROP TABLE storage_probe;
