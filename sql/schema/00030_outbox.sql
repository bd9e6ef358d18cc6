-- +goose Up
-- outbox holds every mail roster sends. A row is written in the same
-- transaction as the change that causes it, so a committed change always has
-- its mail and a rolled-back one never does. A worker claims due rows
-- (status 'pending', next_attempt_at reached), delivers them and retries with
-- exponential backoff; a row that keeps failing becomes 'failed' and stays for
-- admins to see. message_id is the left part of the Message-ID header, fixed
-- here so that a redelivery carries the same one. body can hold a live token
-- link, so it is erased as soon as the row is sent or failed.
CREATE TABLE outbox (
    id              INTEGER  PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT     NOT NULL UNIQUE,
    user_id         INTEGER  REFERENCES users (id) ON DELETE SET NULL,
    kind            TEXT     NOT NULL,
    recipient       TEXT     NOT NULL,
    subject         TEXT     NOT NULL,
    body            TEXT     NOT NULL,
    status          TEXT     NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER  NOT NULL DEFAULT 0,
    last_error      TEXT     NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    next_attempt_at DATETIME NOT NULL,
    finished_at     DATETIME
);

CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_status ON outbox (status, id);
CREATE INDEX outbox_user_id ON outbox (user_id);

-- +goose Down
DROP TABLE outbox;
