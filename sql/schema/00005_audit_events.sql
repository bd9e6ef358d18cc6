-- +goose Up
-- audit_events records every change to an account or session, written in the
-- same transaction as the change. actor_id and target_id are plain ids, not
-- foreign keys, so the record outlives a deleted account (ids are never
-- reused: users.id is AUTOINCREMENT). actor_id is NULL for the CLI and for
-- anonymous requests such as a failed login. detail holds server-side facts,
-- for example why a login failed; it is never shown to the client that failed.
CREATE TABLE audit_events (
    id         INTEGER  PRIMARY KEY AUTOINCREMENT,
    created_at DATETIME NOT NULL,
    actor_id   INTEGER,
    target_id  INTEGER,
    action     TEXT     NOT NULL,
    detail     TEXT     NOT NULL DEFAULT '',
    ip         TEXT     NOT NULL DEFAULT ''
);

CREATE INDEX audit_events_actor_id ON audit_events (actor_id, id);
CREATE INDEX audit_events_target_id ON audit_events (target_id, id);
CREATE INDEX audit_events_action ON audit_events (action, id);

-- +goose Down
DROP TABLE audit_events;
