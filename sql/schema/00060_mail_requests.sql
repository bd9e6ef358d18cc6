-- +goose Up
-- mail_requests holds the password-reset and sign-in code requests that
-- were answered 202 and not yet served (account.ResetQueue): written before
-- the answer, so an accepted request survives a crash, and deleted in the
-- transaction that queues its mail (or finds there is none to send). login
-- is the name as typed, a username or an address. due_at is when a worker
-- may take it: first the request's delay, then, once taken, the end of the
-- taker's lease; attempts counts the takes and fences a stale taker.
CREATE TABLE mail_requests (
    id       INTEGER  PRIMARY KEY AUTOINCREMENT,
    kind     TEXT     NOT NULL CHECK (kind IN ('password_reset', 'sign_in_code')),
    login    TEXT     NOT NULL,
    ip       TEXT     NOT NULL,
    due_at   DATETIME NOT NULL,
    attempts INTEGER  NOT NULL DEFAULT 0
);

CREATE INDEX mail_requests_due_at ON mail_requests (due_at);

-- +goose Down
DROP TABLE mail_requests;
