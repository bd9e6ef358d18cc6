package account

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
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
	// SignInCodeTTL is how long a mailed sign-in code works.
	SignInCodeTTL = 15 * time.Minute
)

// validDeviceToken reports whether s has the shape of a device token or of a
// mailed sign-in code, which a login presents the same way.
func validDeviceToken(s string) bool {
	return validToken(s, DeviceTokenPrefix) || validToken(s, SignInCodePrefix)
}

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
	now := s.now()
	owner, err := s.Store.Read.GetLoginDeviceUser(ctx, db.GetLoginDeviceUserParams{
		TokenHash: hash, Cutoff: now.Add(-DeviceTTL), Now: &now})
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
// returns it, or records and returns a new one. A presented sign-in code of
// the account is consumed: it lets no later login past the cap. (Logins
// admitted with it before this one committed still complete.)
func (s *Service) issueDevice(ctx context.Context, q db.Querier, userID int64, presented string) (string, error) {
	now := s.now()
	if validToken(presented, SignInCodePrefix) {
		if err := q.DeleteSignInCode(ctx, db.DeleteSignInCodeParams{TokenHash: HashToken(presented), UserID: userID}); err != nil {
			return "", err
		}
	} else if validDeviceToken(presented) {
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

// SendSignInCode mails account id a sign-in code, voiding the codes mailed
// before: presented as a device token with the right password within
// SignInCodeTTL, it lets one login past the account-wide cap, from a device
// that has no token. It returns ErrNotFound, ErrNoEmail or ErrDisabled when
// there is no account, address or point to it.
func (s *Service) SendSignInCode(ctx context.Context, actor Actor, id int64) error {
	return s.mailTx(ctx, func(q db.Querier) error { return s.sendSignInCode(ctx, q, actor, id) })
}

// sendSignInCode is SendSignInCode in transaction q.
func (s *Service) sendSignInCode(ctx context.Context, q db.Querier, actor Actor, id int64) error {
	user, err := getUser(ctx, q, id)
	switch {
	case err != nil:
		return err
	case user.Email == nil:
		return ErrNoEmail
	case user.Status != StatusActive:
		return ErrDisabled
	}
	if err := q.DeleteUserSignInCodes(ctx, id); err != nil {
		return err
	}
	code, hash := newToken(SignInCodePrefix)
	now := s.now()
	expires := now.Add(SignInCodeTTL)
	if err := q.CreateSignInCode(ctx, db.CreateSignInCodeParams{TokenHash: hash, UserID: id,
		CreatedAt: now, ExpiresAt: &expires}); err != nil {
		return err
	}
	err = s.enqueue(ctx, q, user, kindSignInCode, "Your sign-in code", fmt.Sprintf(
		"someone, hopefully you, asked for a code to sign in to your account %s from a new device. "+
			"Within 15 minutes, sign in there with your password and this code:\n\n%s\n\n"+
			"The code works for one sign-in, and only the newest one you asked for. It is no "+
			"password: without yours it opens nothing. If you did not ask, ignore this mail.\n",
		user.Username, code))
	if err != nil {
		return err
	}
	return s.audit(ctx, q, actor, id, ActionSignInCodeRequest, "")
}
