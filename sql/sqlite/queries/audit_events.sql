-- name: AuditImportedUsers :execrows
-- AuditImportedUsers records, in the import's transaction, one @action event
-- with no actor and no IP for each account whose username key is in
-- @username_keys, a JSON array of the keys that transaction inserted (a key
-- names one account: no other transaction can have inserted it). The event's
-- time is the account's updated_at, which the import sets to its own time.
INSERT INTO audit_events (created_at, actor_id, target_id, action, detail, ip)
SELECT u.updated_at, NULL, u.id, CAST(@action AS TEXT), 'imported, role=' || u.role, ''
FROM users AS u
WHERE u.username_key IN (SELECT value FROM json_each(CAST(@username_keys AS TEXT)))
ORDER BY u.id;
