-- +goose Up
-- storage_probe is one row that readiness checks rewrite to learn whether the
-- database can still write: a full volume or a failing disk refuses writes
-- while reads go on (db/storage.go).
CREATE TABLE storage_probe (
    id        INTEGER  PRIMARY KEY CHECK (id = 1),
    probed_at DATETIME NOT NULL
);

INSERT INTO storage_probe (id, probed_at) VALUES (1, '1970-01-01 00:00:00+00:00');

-- +goose Down
DROP TABLE storage_probe;
