package account

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"roster/db"
)

// Device tokens (OWASP's "device cookies"): a successful login hands its
// client a token of its own, apart from the session and outliving it, and a
// later login that presents it again is not held by the account-wide cap on
// failed logins (see throttle.go), so an owner on a new network gets in while
// guessers are held. Only SHA-256(token) is stored, in login_devices.
const (
	// DeviceTTL is how long an unused device token stays valid.
	DeviceTTL = 365 * 24 * time.Hour
	// maxDevices bounds the devices kept per account; the least recently
	// used go first, so a client that never sends its token back cannot
	// make roster store one per login.
	maxDevices = 20
)

// validDeviceToken reports whether s has the shape of a device token.
func validDeviceToken(s string) bool { return validToken(s, DeviceTokenPrefix) }

// deviceKey is the throttle's pair key of a device token's hash.
func deviceKey(hash []byte) string { return "d:" + hex.EncodeToString(hash[:16]) }

// device returns the pair key of token if it is a live device token of the
// account userID, else "": a malformed, unknown, expired or other account's
// token counts as none, and nothing tells them apart.
func (s *Service) device(ctx context.Context, token string, userID int64) (string, error) {
	if !validDeviceToken(token) {
		return "", nil
	}
	hash := HashToken(token)
	owner, err := s.Store.Read.GetLoginDeviceUser(ctx, db.GetLoginDeviceUserParams{
		TokenHash: hash, Cutoff: s.now().Add(-DeviceTTL)})
	if errors.Is(err, sql.ErrNoRows) || err == nil && owner != userID {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return deviceKey(hash), nil
}

// issueDevice runs in the transaction of a successful login of userID: it
// keeps presented, if that is one of the account's device tokens, and
// returns it, or records and returns a new one.
func (s *Service) issueDevice(ctx context.Context, q *db.Queries, userID int64, presented string) (string, error) {
	now := s.now()
	if validDeviceToken(presented) {
		n, err := q.TouchLoginDevice(ctx, db.TouchLoginDeviceParams{LastUsedAt: now,
			TokenHash: HashToken(presented), UserID: userID})
		if err != nil {
			return "", err
		}
		if n == 1 {
			return presented, nil
		}
	}
	token, hash := newToken(DeviceTokenPrefix)
	if err := q.CreateLoginDevice(ctx, db.CreateLoginDeviceParams{TokenHash: hash, UserID: userID, CreatedAt: now}); err != nil {
		return "", err
	}
	return token, q.DeleteExcessLoginDevices(ctx, db.DeleteExcessLoginDevicesParams{UserID: userID, Keep: maxDevices})
}
