-- +goose Up
-- Every replica caches sessions it has looked up (pgstore's session cache).
-- These triggers tell every replica, through NOTIFY on the channel
-- roster_sessions, which cached rows a committed change made stale: a
-- session updated or deleted ("<schema> s <token_hash hex>") and an account
-- updated or deleted ("<schema> u <id>"). The payload starts with the schema
-- so that databases in different schemas of one server (tests) ignore each
-- other's changes. NOTIFY is sent at commit, and only then; a rolled-back
-- change sends nothing.
-- +goose StatementBegin
CREATE FUNCTION roster_notify_session_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify('roster_sessions', current_schema() || ' s ' || encode(OLD.token_hash, 'hex'));
    ELSE
        PERFORM pg_notify('roster_sessions', current_schema() || ' u ' || OLD.id);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER sessions_notify AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION roster_notify_session_change();
CREATE TRIGGER users_notify AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION roster_notify_session_change();

-- +goose Down
DROP TRIGGER users_notify ON users;
DROP TRIGGER sessions_notify ON sessions;
DROP FUNCTION roster_notify_session_change();
