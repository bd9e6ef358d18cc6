-- name: CreatePasskey :exec
-- CreatePasskey stores a registered credential.
INSERT INTO webauthn_credentials (credential_id, user_id, name, credential, created_at)
VALUES (@credential_id, @user_id, @name, @credential, @created_at);

-- name: ListPasskeys :many
-- ListPasskeys returns an account's passkeys, oldest first.
SELECT * FROM webauthn_credentials WHERE user_id = @user_id ORDER BY created_at, credential_id;

-- name: GetPasskey :one
-- GetPasskey returns one credential by its id, whoever it belongs to.
SELECT * FROM webauthn_credentials WHERE credential_id = @credential_id;

-- name: UsePasskey :execrows
-- UsePasskey stores a credential's record after a login (its new sign
-- count) and when it was used.
UPDATE webauthn_credentials SET credential = @credential, last_used_at = @now
WHERE credential_id = @credential_id AND user_id = @user_id;

-- name: RenamePasskey :execrows
-- RenamePasskey names one of the account's passkeys; 0 rows: no such passkey.
UPDATE webauthn_credentials SET name = @name WHERE user_id = @user_id AND credential_id = @credential_id;

-- name: DeletePasskey :execrows
-- DeletePasskey removes one of the account's passkeys; 0 rows: no such passkey.
DELETE FROM webauthn_credentials WHERE user_id = @user_id AND credential_id = @credential_id;

-- name: DeletePasskeys :execrows
-- DeletePasskeys removes every passkey of an account (the admin's reset).
DELETE FROM webauthn_credentials WHERE user_id = @user_id;

-- name: GetWebAuthnHandle :one
-- GetWebAuthnHandle returns an account's user handle.
SELECT handle FROM webauthn_handles WHERE user_id = @user_id;

-- name: CreateWebAuthnHandle :exec
-- CreateWebAuthnHandle gives an account its user handle, unless it has one.
INSERT INTO webauthn_handles (user_id, handle) VALUES (@user_id, @handle) ON CONFLICT (user_id) DO NOTHING;

-- name: GetUserIDByWebAuthnHandle :one
-- GetUserIDByWebAuthnHandle finds the account a discoverable passkey names.
SELECT user_id FROM webauthn_handles WHERE handle = @handle;

-- name: CreateCeremony :exec
-- CreateCeremony stores a WebAuthn ceremony begun by this or another replica.
INSERT INTO webauthn_ceremonies (token_hash, user_id, kind, session, expires_at)
VALUES (@token_hash, @user_id, @kind, @session, @expires_at);

-- name: TakeCeremony :one
-- TakeCeremony ends a live ceremony of @kind and returns it; no row: unknown,
-- expired, of another kind, or taken already.
DELETE FROM webauthn_ceremonies
WHERE token_hash = @token_hash AND kind = @kind AND expires_at > @now
RETURNING *;

-- name: DeleteExpiredCeremonies :execrows
-- DeleteExpiredCeremonies removes abandoned ceremonies (housekeeping).
DELETE FROM webauthn_ceremonies WHERE expires_at <= @now;

-- name: CountPasskeys :one
-- CountPasskeys counts an account's passkeys.
SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = @user_id;

-- name: ImportPasskey :exec
-- ImportPasskey restores one passkey of a moved account.
INSERT INTO webauthn_credentials (credential_id, user_id, name, credential, created_at, last_used_at)
VALUES (@credential_id, @user_id, @name, @credential, @created_at, @last_used_at);
