-- +goose Up
-- username_skeleton is the UTS #39 confusable skeleton of username_key (see
-- roster/internal/uts39): names with one skeleton look alike, and the UNIQUE
-- index lets one account at most hold each, whichever process writes. It is
-- NULL for an account whose name looked like an older account's before this
-- rule existed (such pairs keep working; the Go migration 51, in db, fills
-- the column oldest account first), and for rows written without it.
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
CREATE UNIQUE INDEX users_username_skeleton ON users (username_skeleton);

-- +goose Down
DROP INDEX users_username_skeleton;
ALTER TABLE users DROP COLUMN username_skeleton;
