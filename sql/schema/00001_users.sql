-- +goose Up
-- users holds one row per account. username is kept as entered for display;
-- username_key is its RFC 8265 UsernameCaseMapped form and decides uniqueness.
-- email_key is the lower-cased address; NULL when the account has no email.
-- Times are written by the application in UTC (see db.Now).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT     NOT NULL,
    username_key  TEXT     NOT NULL UNIQUE,
    email         TEXT,
    email_key     TEXT UNIQUE,
    password_hash TEXT     NOT NULL,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL,
    CHECK ((email IS NULL) = (email_key IS NULL))
);

-- +goose Down
DROP TABLE users;
