-- name: GetLoginPair :one
-- GetLoginPair returns the failure count of one (account, client network) pair.
SELECT * FROM login_pairs WHERE account_key = @account_key AND ip = @ip;

-- name: UpsertLoginPair :exec
-- UpsertLoginPair stores the failure count of one pair.
INSERT INTO login_pairs (account_key, ip, failures, blocked_until, updated_at)
VALUES (@account_key, @ip, @failures, @blocked_until, @updated_at)
ON CONFLICT (account_key, ip) DO UPDATE SET
    failures = excluded.failures, blocked_until = excluded.blocked_until, updated_at = excluded.updated_at;

-- name: DeleteLoginPair :exec
-- DeleteLoginPair forgets a pair's failures after a successful login.
DELETE FROM login_pairs WHERE account_key = @account_key AND ip = @ip;

-- name: DeleteStaleLoginPairs :exec
-- DeleteStaleLoginPairs forgets pairs with no attempt since the cutoff.
DELETE FROM login_pairs WHERE updated_at < @cutoff;

-- name: GetLoginAccountPaidUntil :one
-- GetLoginAccountPaidUntil returns when an account's failure debt is paid off.
SELECT paid_until FROM login_accounts WHERE account_key = @account_key;

-- name: UpsertLoginAccount :exec
-- UpsertLoginAccount stores when an account's failure debt is paid off.
INSERT INTO login_accounts (account_key, paid_until) VALUES (@account_key, @paid_until)
ON CONFLICT (account_key) DO UPDATE SET paid_until = excluded.paid_until;

-- name: DeleteStaleLoginAccounts :exec
-- DeleteStaleLoginAccounts forgets accounts whose debt was paid off before the cutoff.
DELETE FROM login_accounts WHERE paid_until < @cutoff;

-- name: KnownLoginIPExists :one
-- KnownLoginIPExists reports whether an account has logged in from a network before.
SELECT EXISTS (SELECT 1 FROM login_known_ips WHERE user_id = @user_id AND ip = @ip);

-- name: UpsertKnownLoginIP :exec
-- UpsertKnownLoginIP records a successful login from a network.
INSERT INTO login_known_ips (user_id, ip, last_login_at) VALUES (@user_id, @ip, @last_login_at)
ON CONFLICT (user_id, ip) DO UPDATE SET last_login_at = excluded.last_login_at;

-- name: LockLoginAccount :one
-- LockLoginAccount returns when an account's failure debt is paid off and
-- holds the account's row until the transaction ends (making an empty one,
-- paid off at @epoch, when there is none), so that concurrent charges for
-- one account take turns without SERIALIZABLE (see db.Engine.TxRowLocks).
INSERT INTO login_accounts (account_key, paid_until) VALUES (@account_key, @epoch)
ON CONFLICT (account_key) DO UPDATE SET account_key = excluded.account_key
RETURNING paid_until;

-- name: LockLoginPair :one
-- LockLoginPair is LockLoginAccount for one pair's failures: an empty pair
-- has none, last changed at @epoch.
INSERT INTO login_pairs (account_key, ip, failures, blocked_until, updated_at)
VALUES (@account_key, @ip, 0, @epoch, @epoch)
ON CONFLICT (account_key, ip) DO UPDATE SET ip = excluded.ip
RETURNING *;
