package account

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"roster/db"
)

// Second factors: TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, one
// step of drift either way) and recovery codes. An account has MFA on once
// a TOTP enrollment is confirmed. Its logins then take two steps (LoginDevice
// answers an MFA challenge instead of a session; CompleteMFALogin finishes
// it), its sessions say how they signed in (aal1 or aal2), and its sensitive
// changes need a session whose last second-factor check is recent
// (CheckStepUp). Every code check, wherever it happens, goes through
// checkSecondFactor: throttled per account, each TOTP step accepted once.

// Assurance levels and methods, as sessions record them.
const (
	AAL1 = "aal1" // a password alone
	AAL2 = "aal2" // a password and a second factor

	MethodPassword     = "pwd"
	MethodTOTP         = "totp"
	MethodRecoveryCode = "recovery_code"
)

const (
	totpPeriod = 30 // seconds per TOTP step
	totpDigits = otp.DigitsSix
	// RecoveryCodeCount is how many recovery codes an enrollment (or a
	// regeneration) hands out.
	RecoveryCodeCount = 10
	// MFAChallengeTTL is how long a login's second step stays open.
	MFAChallengeTTL = 5 * time.Minute
	// mfaChallengeAttempts is how many codes one challenge takes.
	mfaChallengeAttempts = 5
	// DefaultStepUpWindow is how recent a session's second-factor check must
	// be for a sensitive change (-step-up-window).
	DefaultStepUpWindow = 10 * time.Minute
	// totpIssuer names roster in authenticator apps.
	totpIssuer = "roster"
)

var (
	// ErrMFAUnavailable means the server has no MFA key (see MFAKeys).
	ErrMFAUnavailable = errors.New("two-factor authentication is not configured on this server")
	// ErrMFAAlreadyOn refuses a TOTP enrollment for an account that has one.
	ErrMFAAlreadyOn = errors.New("two-factor authentication is on already")
	// ErrMFAOff means the account has no (confirmed) second factor.
	ErrMFAOff = errors.New("two-factor authentication is not on")
	// ErrNoEnrollment means no TOTP enrollment waits for confirmation.
	ErrNoEnrollment = errors.New("no authenticator is waiting for confirmation; start again")
	// ErrInvalidCode is the one answer for a wrong, reused or malformed
	// authenticator or recovery code.
	ErrInvalidCode = errors.New("the code is wrong, expired or already used")
	// ErrMFARequired refuses a password-only login (the tutorial's POST
	// /login) for an account with a second factor.
	ErrMFARequired = errors.New("this account has two-factor authentication: sign in through the API or the console")
	// ErrStepUpRequired refuses a sensitive change from a session whose last
	// second-factor check is not recent.
	ErrStepUpRequired = errors.New("confirm a second factor again (POST /v1/me/mfa/verify) before this change")
)

// TOTPEnrollment is what the account needs to set up an authenticator: the
// base32 secret and the otpauth:// URI its QR code encodes.
type TOTPEnrollment struct {
	Secret string
	URI    string
}

// MFAStatus is which second factors an account has; never a secret.
type MFAStatus struct {
	TOTP              bool  // a confirmed authenticator
	TOTPPending       bool  // an enrollment waiting for its first code
	Passkeys          int64 // registered passkeys
	RecoveryCodesLeft int64 // unused recovery codes
}

// Enabled reports whether the account has a second factor.
func (m MFAStatus) Enabled() bool { return m.TOTP || m.Passkeys > 0 }

// methods are the ways a login's second step can be answered.
func (m MFAStatus) methods() []string {
	var out []string
	if m.TOTP {
		out = append(out, MethodTOTP)
	}
	if m.Passkeys > 0 {
		out = append(out, MethodPasskey)
	}
	if m.RecoveryCodesLeft > 0 {
		out = append(out, MethodRecoveryCode)
	}
	return out
}

// MFAChallenge is the first step's answer for an account with a second
// factor: no session yet, a token for CompleteMFALogin.
type MFAChallenge struct {
	Token     string
	Methods   []string
	ExpiresAt time.Time
}

// keys returns the MFA keys or ErrMFAUnavailable.
func (s *Service) keys() (*MFAKeys, error) {
	if s.MFAKeys == nil {
		return nil, ErrMFAUnavailable
	}
	return s.MFAKeys, nil
}

// MFA returns the account's second factors.
func (s *Service) MFA(ctx context.Context, userID int64) (MFAStatus, error) {
	return mfaStatus(ctx, s.Store.Read, userID)
}

func mfaStatus(ctx context.Context, q db.Querier, userID int64) (MFAStatus, error) {
	var m MFAStatus
	t, err := q.GetTOTP(ctx, userID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return m, err
	default:
		m.TOTP, m.TOTPPending = t.ConfirmedAt != nil, t.ConfirmedAt == nil
	}
	if m.RecoveryCodesLeft, err = q.CountRecoveryCodes(ctx, userID); err != nil {
		return m, err
	}
	if m.Passkeys, err = q.CountPasskeys(ctx, userID); err != nil {
		return m, err
	}
	return m, nil
}

// EnrollTOTP starts a TOTP enrollment for user after checking their
// password: a new secret, pending until ConfirmTOTP gets a code of it. A
// pending enrollment started earlier is replaced; a confirmed one is
// ErrMFAAlreadyOn.
func (s *Service) EnrollTOTP(ctx context.Context, actor Actor, user db.User, password string) (TOTPEnrollment, error) {
	keys, err := s.keys()
	if err != nil {
		return TOTPEnrollment{}, err
	}
	if err := s.CheckOwnPassword(ctx, user, actor.IP, "current_password", password); err != nil {
		return TOTPEnrollment{}, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: user.Username,
		Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key.Secret())
	if err != nil {
		return TOTPEnrollment{}, err
	}
	err = s.Store.Tx(ctx, func(q db.Querier) error {
		t, err := q.GetTOTP(ctx, user.ID)
		if err == nil && t.ConfirmedAt != nil {
			return ErrMFAAlreadyOn
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return q.PutPendingTOTP(ctx, db.PutPendingTOTPParams{UserID: user.ID, Secret: keys.seal(user.ID, raw), CreatedAt: s.now()})
	})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	return TOTPEnrollment{Secret: key.Secret(), URI: key.URL()}, nil
}

// ConfirmTOTP turns MFA on with a first code of the pending enrollment: the
// account gets RecoveryCodeCount fresh recovery codes (returned, never shown
// again), session becomes aal2, and the account is mailed. A wrong code
// changes nothing but the throttle.
func (s *Service) ConfirmTOTP(ctx context.Context, actor Actor, session db.Session, user db.User, code string) ([]string, error) {
	if _, err := s.keys(); err != nil {
		return nil, err
	}
	var codes []string
	err := s.secondFactorTx(ctx, user.ID, true, code, "", func(q db.Querier, method string) error {
		var err error
		if codes, err = s.newRecoveryCodes(ctx, q, user.ID); err != nil {
			return err
		}
		if err := s.markSessionMFA(ctx, q, session, method); err != nil {
			return err
		}
		if err := s.audit(ctx, q, actor, user.ID, ActionMFAEnable, MethodTOTP); err != nil {
			return err
		}
		return s.mailFactorChange(ctx, q, user, "An authenticator app was added to your account")
	})
	return codes, err
}

// DisableTOTP removes the account's authenticator and recovery codes:
// MFA is off. The caller checks step-up first (CheckStepUp).
func (s *Service) DisableTOTP(ctx context.Context, actor Actor, user db.User) error {
	return s.mailTx(ctx, func(q db.Querier) error {
		n, err := q.DeleteTOTP(ctx, user.ID)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrMFAOff
		}
		m, err := mfaStatus(ctx, q, user.ID)
		if err != nil {
			return err
		}
		what := "The authenticator app of your account was removed; your passkeys remain your second factor"
		if !m.Enabled() { // the recovery codes go with the last factor
			what = "The authenticator app of your account was removed: two-factor authentication is off"
			if err := q.DeleteRecoveryCodes(ctx, user.ID); err != nil {
				return err
			}
		}
		if err := s.audit(ctx, q, actor, user.ID, ActionMFADisable, MethodTOTP); err != nil {
			return err
		}
		return s.mailFactorChange(ctx, q, user, what)
	})
}

// RegenerateRecoveryCodes replaces the account's recovery codes with fresh
// ones; the old ones stop working. The caller checks step-up first.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, actor Actor, user db.User) ([]string, error) {
	var codes []string
	err := s.mailTx(ctx, func(q db.Querier) error {
		m, err := mfaStatus(ctx, q, user.ID)
		if err != nil {
			return err
		}
		if !m.Enabled() {
			return ErrMFAOff
		}
		if codes, err = s.newRecoveryCodes(ctx, q, user.ID); err != nil {
			return err
		}
		return s.audit(ctx, q, actor, user.ID, ActionMFARecoveryCodes, "")
	})
	return codes, err
}

// ResetMFA is the admin's way out for a user who lost every factor: it
// removes the authenticator, the recovery codes and every open login
// challenge, ends the user's sessions and mails the user.
func (s *Service) ResetMFA(ctx context.Context, actor Actor, id int64) error {
	return s.mailTx(ctx, func(q db.Querier) error {
		user, err := getUser(ctx, q, id)
		if err != nil {
			return err
		}
		totp, err := q.DeleteTOTP(ctx, id)
		if err != nil {
			return err
		}
		passkeys, err := q.DeletePasskeys(ctx, id)
		if err != nil {
			return err
		}
		if totp+passkeys == 0 {
			return ErrMFAOff
		}
		if err := q.DeleteRecoveryCodes(ctx, id); err != nil {
			return err
		}
		if _, err := q.DeleteUserSessions(ctx, id); err != nil {
			return err
		}
		if err := s.audit(ctx, q, actor, id, ActionMFAReset, "every factor removed, every session ended"); err != nil {
			return err
		}
		return s.mailFactorChange(ctx, q, user, "An administrator removed every second factor of your account and ended its sessions: "+
			"sign in with your password and set up an authenticator again")
	})
}

// StepUp proves a second factor again for session: its sensitive changes
// are allowed for the step-up window from now.
func (s *Service) StepUp(ctx context.Context, actor Actor, session db.Session, user db.User, code, recoveryCode string) error {
	return s.secondFactorTx(ctx, user.ID, false, code, recoveryCode, func(q db.Querier, method string) error {
		if err := s.markSessionMFA(ctx, q, session, method); err != nil {
			return err
		}
		return s.audit(ctx, q, actor, user.ID, ActionMFAVerify, method)
	})
}

// CheckStepUp refuses, with ErrStepUpRequired, a sensitive change from a
// session of an account with a second factor unless the session proved one
// within the step-up window. Accounts without MFA pass.
func (s *Service) CheckStepUp(ctx context.Context, session db.Session, user db.User) error {
	if session.MfaAt != nil && s.now().Sub(*session.MfaAt) < s.stepUpWindow() {
		return nil
	}
	m, err := s.MFA(ctx, user.ID)
	if err != nil {
		return err
	}
	if m.Enabled() {
		return ErrStepUpRequired
	}
	return nil
}

func (s *Service) stepUpWindow() time.Duration {
	if s.StepUpWindow > 0 {
		return s.StepUpWindow
	}
	return DefaultStepUpWindow
}

// markSessionMFA records on session that it proved method now.
func (s *Service) markSessionMFA(ctx context.Context, q db.Querier, session db.Session, method string) error {
	now := s.now()
	_, err := q.SetSessionMFA(ctx, db.SetSessionMFAParams{Methods: MethodPassword + "," + method, MfaAt: &now, TokenHash: session.TokenHash})
	return err
}

// mfaChallenge opens a login's second step for user, whose password (hash)
// was just verified, inside the login's transaction.
func (s *Service) mfaChallenge(ctx context.Context, q db.Querier, user db.User, m MFAStatus) (*MFAChallenge, error) {
	token, hash := newToken(MFATokenPrefix)
	now := s.now()
	c := &MFAChallenge{Token: token, Methods: m.methods(), ExpiresAt: now.Add(MFAChallengeTTL)}
	return c, q.CreateMFAChallenge(ctx, db.CreateMFAChallengeParams{TokenHash: hash, UserID: user.ID,
		PasswordHash: user.PasswordHash, CreatedAt: now, ExpiresAt: c.ExpiresAt})
}

// CompleteMFALogin is a login's second step: the challenge's token and an
// authenticator code or a recovery code. It answers as LoginDevice does
// for an account without MFA, with an aal2 session. An unknown, expired,
// spent or used-up token is ErrInvalidToken; a wrong code ErrInvalidCode,
// counted against the challenge (a few attempts each) and the account's
// code throttle. The login is refused, as ErrBadCredentials, if the
// account's password changed or the account was disabled or deleted since
// the first step.
func (s *Service) CompleteMFALogin(ctx context.Context, token, code, recoveryCode string, client ClientInfo) (LoginResult, error) {
	if !validToken(token, MFATokenPrefix) {
		return LoginResult{}, ErrInvalidToken
	}
	if _, err := s.keys(); err != nil && recoveryCode == "" {
		return LoginResult{}, err
	}
	hash := HashToken(token)
	// The attempt is counted in a commit of its own, kept whatever follows.
	c, err := s.Store.Write.SpendMFAChallengeAttempt(ctx, db.SpendMFAChallengeAttemptParams{
		TokenHash: hash, Now: s.now(), MaxAttempts: mfaChallengeAttempts})
	if errors.Is(err, sql.ErrNoRows) {
		return LoginResult{}, ErrInvalidToken
	}
	if err != nil {
		return LoginResult{}, err
	}
	sessionToken, sessionHash := NewToken()
	res := LoginResult{Token: sessionToken}
	ua := storedUserAgent(client.UserAgent)
	err = s.secondFactorTx(ctx, c.UserID, false, code, recoveryCode, func(q db.Querier, method string) error {
		n, err := q.DeleteMFAChallenge(ctx, hash)
		if err != nil {
			return err
		}
		if n == 0 { // a concurrent request finished this challenge first
			return ErrInvalidToken
		}
		user, err := q.GetUser(ctx, c.UserID)
		if errors.Is(err, sql.ErrNoRows) || err == nil && (user.PasswordHash != c.PasswordHash || user.Status != StatusActive) {
			return ErrBadCredentials
		}
		if err != nil {
			return err
		}
		if res.DeviceToken, err = s.issueDevice(ctx, q, user.ID, client.DeviceToken); err != nil {
			return err
		}
		now := s.now()
		res.User = user
		res.Session = db.Session{TokenHash: sessionHash, ID: newSessionID(), UserID: user.ID, CreatedAt: now,
			ExpiresAt: now.Add(s.SessionTTL), LastSeenAt: now, UserAgent: ua, Ip: client.IP,
			Aal: AAL2, Methods: MethodPassword + "," + method, MfaAt: &now}
		if err := q.CreateSession(ctx, db.CreateSessionParams{TokenHash: sessionHash, ID: res.Session.ID,
			UserID: user.ID, CreatedAt: now, ExpiresAt: res.Session.ExpiresAt, UserAgent: ua, Ip: client.IP,
			Aal: AAL2, Methods: res.Session.Methods, MfaAt: &now}); err != nil {
			return err
		}
		return s.audit(ctx, q, Actor{ID: user.ID, IP: client.IP}, user.ID, ActionLoginSuccess,
			"session "+res.Session.ID+" ("+method+")")
	})
	if errors.Is(err, ErrInvalidCode) {
		if aerr := s.audit(ctx, s.Store.Write, Actor{IP: client.IP}, c.UserID, ActionLoginFailure, "wrong_code"); aerr != nil {
			return LoginResult{}, aerr
		}
	}
	if err != nil {
		return LoginResult{}, err
	}
	return res, nil
}

// secondFactorTx checks an authenticator code (or, unless pending, a
// recovery code) of account userID in one write transaction and, when it is
// right, runs then in that transaction with the method used. pending checks
// the code against an enrollment waiting for confirmation, which the accepted
// code confirms. The checks are throttled per account, across every method
// and every place a code is asked for, as a login pair's failures are (see
// retryDelay): a wrong code is charged and committed (then ErrInvalidCode),
// a right one resets the count. A TOTP step is accepted once: its code, or
// an older step's, is refused afterwards, including a concurrent request's.
func (s *Service) secondFactorTx(ctx context.Context, userID int64, pending bool, code, recoveryCode string,
	then func(q db.Querier, method string) error) error {
	code, recoveryCode = strings.TrimSpace(code), normalizeRecoveryCode(recoveryCode)
	if (code == "") == (recoveryCode == "") || pending && recoveryCode != "" {
		return invalid("validation", "code", "give exactly one of code and recovery_code")
	}
	wall := s.Now()
	now := db.Now(wall)
	key := mfaThrottleKey(userID)
	var wrong bool
	err := s.mailTx(ctx, func(q db.Querier) error {
		wrong = false
		pair, err := loginPair(ctx, q, key, mfaThrottleNetwork, now)
		if err != nil {
			return err
		}
		if now.Before(pair.BlockedUntil) {
			return &ThrottledError{RetryAfter: pair.BlockedUntil.Sub(now)}
		}
		method, ok, err := s.matchSecondFactor(ctx, q, userID, pending, code, recoveryCode, wall)
		if err != nil {
			return err
		}
		if !ok {
			wrong = true
			pair.Failures++
			return q.UpsertLoginPair(ctx, db.UpsertLoginPairParams{AccountKey: key, Ip: mfaThrottleNetwork,
				Failures: pair.Failures, BlockedUntil: waitUntil(wall, retryDelay(pair.Failures)), UpdatedAt: now})
		}
		if err := q.DeleteLoginPair(ctx, db.DeleteLoginPairParams{AccountKey: key, Ip: mfaThrottleNetwork}); err != nil {
			return err
		}
		return then(q, method)
	})
	if err == nil && wrong {
		return ErrInvalidCode
	}
	return err
}

// The code throttle's row in login_pairs: one per account, whatever network
// the codes come from.
const mfaThrottleNetwork = "mfa"

func mfaThrottleKey(userID int64) string { return "m:" + strconv.FormatInt(userID, 10) }

// matchSecondFactor checks code against the account's TOTP secret (pending
// or confirmed, as asked) and spends its step, or spends recoveryCode. ok is
// false for a wrong, reused or malformed code, or an account without that
// factor.
func (s *Service) matchSecondFactor(ctx context.Context, q db.Querier, userID int64, pending bool,
	code, recoveryCode string, wall time.Time) (method string, ok bool, err error) {
	if recoveryCode != "" {
		sum := sha256.Sum256([]byte(recoveryCode))
		n, err := q.UseRecoveryCode(ctx, db.UseRecoveryCodeParams{Now: ptrTime(db.Now(wall)), UserID: userID, CodeHash: sum[:]})
		return MethodRecoveryCode, n == 1, err
	}
	t, err := q.GetTOTP(ctx, userID)
	if errors.Is(err, sql.ErrNoRows) {
		if pending {
			return "", false, ErrNoEnrollment
		}
		return MethodTOTP, false, nil
	}
	if err != nil {
		return "", false, err
	}
	if (t.ConfirmedAt == nil) != pending {
		if pending {
			return "", false, ErrMFAAlreadyOn
		}
		return MethodTOTP, false, nil
	}
	keys, err := s.keys()
	if err != nil {
		return "", false, err
	}
	secret, current, err := keys.open(userID, t.Secret)
	if err != nil {
		return "", false, err
	}
	step, ok := totpStep(secret, code, wall)
	if !ok {
		return MethodTOTP, false, nil
	}
	now := db.Now(wall)
	n, err := q.UseTOTPStep(ctx, db.UseTOTPStepParams{Step: step, Now: &now, UserID: userID, Confirm: pending})
	if err != nil || n == 0 {
		return MethodTOTP, false, err
	}
	if !current { // rotation: seal it again under the newest key
		if err := q.SetTOTPSecret(ctx, db.SetTOTPSecretParams{Secret: keys.seal(userID, secret), UserID: userID}); err != nil {
			return "", false, err
		}
	}
	return MethodTOTP, true, nil
}

// totpStep returns the 30-second step, within one step of wall either way,
// whose code is code.
func totpStep(secret []byte, code string, wall time.Time) (int64, bool) {
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	encoded := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	now := wall.Unix() / totpPeriod
	for _, step := range []int64{now, now - 1, now + 1} {
		want, err := totp.GenerateCodeCustom(encoded, time.Unix(step*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// newRecoveryCodes replaces the account's recovery codes and returns the new
// ones: 16 base32 letters and digits (80 random bits) in groups of four.
func (s *Service) newRecoveryCodes(ctx context.Context, q db.Querier, userID int64) ([]string, error) {
	if err := q.DeleteRecoveryCodes(ctx, userID); err != nil {
		return nil, err
	}
	codes := make([]string, RecoveryCodeCount)
	for i := range codes {
		raw := strings.ToLower(base32.StdEncoding.EncodeToString(randomBytes(10)))
		codes[i] = raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:16]
		sum := sha256.Sum256([]byte(normalizeRecoveryCode(codes[i])))
		if err := q.CreateRecoveryCode(ctx, db.CreateRecoveryCodeParams{UserID: userID, CodeHash: sum[:]}); err != nil {
			return nil, err
		}
	}
	return codes, nil
}

// normalizeRecoveryCode is a recovery code as stored: lower case, without
// the dashes and spaces people type or copy along.
func normalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, strings.TrimSpace(code))
}

// mailFactorChange tells the account that its second factors changed, if it
// has an address.
func (s *Service) mailFactorChange(ctx context.Context, q db.Querier, user db.User, what string) error {
	if user.Email == nil {
		return nil
	}
	return s.enqueue(ctx, q, user, kindMFAChange, "Your sign-in settings changed", fmt.Sprintf(
		"%s.\n\nIf this was not you, reset your password and contact your administrator.\n", what))
}

func ptrTime(t time.Time) *time.Time { return &t }

// RekeyMFA seals every TOTP secret that an older key sealed under the first
// MFA key, a page of accounts per transaction, and returns how many it
// sealed again and how many secrets there are. Afterwards the older keys
// can be dropped from the list. A secret no listed key opens is an error
// that names the account; nothing after it is sealed.
func (s *Service) RekeyMFA(ctx context.Context) (resealed, total int, err error) {
	keys, err := s.keys()
	if err != nil {
		return 0, 0, err
	}
	const page = 500
	var after int64
	for {
		var n, seen int
		next := after
		err := s.Store.Tx(ctx, func(q db.Querier) error {
			n, seen, next = 0, 0, after // fn may run again (db.Engine.Tx)
			rows, err := q.ListTOTPAfter(ctx, db.ListTOTPAfterParams{After: after, Lim: page})
			if err != nil {
				return err
			}
			for _, t := range rows {
				seen++
				secret, current, err := keys.open(t.UserID, t.Secret)
				if err != nil {
					return fmt.Errorf("account %d: %w", t.UserID, err)
				}
				if current {
					continue
				}
				if err := q.SetTOTPSecret(ctx, db.SetTOTPSecretParams{Secret: keys.seal(t.UserID, secret), UserID: t.UserID}); err != nil {
					return err
				}
				n++
			}
			if len(rows) > 0 {
				next = rows[len(rows)-1].UserID
			}
			return nil
		})
		resealed, total, after = resealed+n, total+seen, next
		if err != nil || seen < page {
			return resealed, total, err
		}
	}
}
