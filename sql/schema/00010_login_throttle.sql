-- +goose Up
-- login_pairs counts consecutive failed logins per (account, client network):
-- after a few, blocked_until pushes the next attempt out, exponentially. A
-- success deletes the row; rows idle for a day are pruned. account_key names
-- the account ("u:" + username_key) or, for a login that names no account,
-- the normalized login, so the answer never tells whether an account exists.
CREATE TABLE login_pairs (
    account_key   TEXT     NOT NULL,
    ip            TEXT     NOT NULL,
    failures      INTEGER  NOT NULL,
    blocked_until DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL,
    PRIMARY KEY (account_key, ip)
) WITHOUT ROWID;

CREATE INDEX login_pairs_updated_at ON login_pairs (updated_at);

-- login_accounts bounds failed logins per account across all networks with a
-- generic cell rate algorithm: paid_until is when the account's debt of
-- failures is paid off; each failure adds a fixed interval to it.
CREATE TABLE login_accounts (
    account_key TEXT     PRIMARY KEY,
    paid_until  DATETIME NOT NULL
) WITHOUT ROWID;

CREATE INDEX login_accounts_paid_until ON login_accounts (paid_until);

-- login_known_ips remembers the client networks each account has logged in
-- from, so their owner keeps a reserve of attempts while others are throttled.
CREATE TABLE login_known_ips (
    user_id       INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ip            TEXT     NOT NULL,
    last_login_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, ip)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE login_known_ips;
DROP TABLE login_accounts;
DROP TABLE login_pairs;
