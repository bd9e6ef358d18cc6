package account_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
)

// RFC 6238 appendix B's SHA-1 vectors (8 digits, secret "12345678901234567890"):
// the library roster uses computes them, and roster's 6-digit codes are their
// last six digits.
func TestTOTPMatchesRFC6238(t *testing.T) {
	secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // base32 of the ASCII secret
	vectors := []struct {
		unix int64
		code string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	}
	for _, v := range vectors {
		got, err := totp.GenerateCodeCustom(secret, time.Unix(v.unix, 0), totp.ValidateOpts{
			Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1})
		if err != nil || got != v.code {
			t.Errorf("T=%d: code %q, %v; want %q", v.unix, got, err, v.code)
		}
		six, err := totp.GenerateCodeCustom(secret, time.Unix(v.unix, 0), totp.ValidateOpts{
			Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil || six != v.code[2:] {
			t.Errorf("T=%d: 6-digit code %q, %v; want %q", v.unix, six, err, v.code[2:])
		}
	}
}

const mfaIP = "192.0.2.7"

// mfaEnv is a service with an MFA key and a test clock, and alice signed
// in (aal1).
type mfaEnv struct {
	t       *testing.T
	svc     *account.Service
	clock   *accounttest.Clock
	alice   db.User
	session db.Session
	secret  string // base32, once enrolled
}

func newMFAEnv(t *testing.T, eng accounttest.Engine) *mfaEnv {
	t.Helper()
	ctx := context.Background()
	svc := eng.New(t)
	keys, err := account.ParseMFAKeys(account.NewMFAKey())
	if err != nil {
		t.Fatal(err)
	}
	svc.MFAKeys = keys
	// Mid-step, so that a second's drift either way stays in the same step.
	clock := accounttest.NewClock(time.Date(2026, 6, 1, 8, 0, 15, 0, time.UTC))
	svc.Now = clock.Now
	alice, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "alice", Email: "alice@example.com", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.LoginDevice(ctx, "alice", password, account.ClientInfo{IP: mfaIP})
	if err != nil {
		t.Fatal(err)
	}
	return &mfaEnv{t: t, svc: svc, clock: clock, alice: alice, session: res.Session}
}

// code is the authenticator's code at the test clock's time plus offset.
func (e *mfaEnv) code(offset time.Duration) string {
	e.t.Helper()
	c, err := totp.GenerateCodeCustom(e.secret, e.clock.Now().Add(offset), totp.ValidateOpts{
		Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// enable enrolls and confirms an authenticator for alice and returns the
// recovery codes.
func (e *mfaEnv) enable() []string {
	e.t.Helper()
	ctx := context.Background()
	en, err := e.svc.EnrollTOTP(ctx, account.Actor{ID: e.alice.ID, IP: mfaIP}, e.alice, password)
	if err != nil {
		e.t.Fatal(err)
	}
	e.secret = en.Secret
	codes, err := e.svc.ConfirmTOTP(ctx, account.Actor{ID: e.alice.ID, IP: mfaIP}, e.session, e.alice, e.code(0))
	if err != nil {
		e.t.Fatal(err)
	}
	return codes
}

// challenge runs a login's first step for alice and returns its token.
func (e *mfaEnv) challenge() string {
	e.t.Helper()
	res, err := e.svc.LoginDevice(context.Background(), "alice", password, account.ClientInfo{IP: mfaIP})
	if err != nil {
		e.t.Fatal(err)
	}
	if res.MFA == nil || res.Token != "" || res.DeviceToken != "" || res.Session.ID != "" {
		e.t.Fatalf("first step for an account with MFA = %+v, want a challenge and no session", res)
	}
	return res.MFA.Token
}

func (e *mfaEnv) complete(token, code, recovery string) (account.LoginResult, error) {
	return e.svc.CompleteMFALogin(context.Background(), token, code, recovery, account.ClientInfo{IP: mfaIP})
}

func TestTOTPEnrollment(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testTOTPEnrollment)
}

func testTOTPEnrollment(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	e := newMFAEnv(t, eng)
	actor := account.Actor{ID: e.alice.ID, IP: mfaIP}
	if _, err := e.svc.EnrollTOTP(ctx, actor, e.alice, wrong); !errors.Is(err, account.ErrWrongPassword) {
		t.Fatalf("EnrollTOTP with a wrong password = %v, want ErrWrongPassword", err)
	}
	en, err := e.svc.EnrollTOTP(ctx, actor, e.alice, password)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(en.URI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/roster:alice" ||
		u.Query().Get("issuer") != "roster" || u.Query().Get("secret") != en.Secret || len(en.Secret) != 32 {
		t.Fatalf("enrollment = %+v, want otpauth://totp/roster:alice with the 32-letter secret", en)
	}
	e.secret = en.Secret
	if m, _ := e.svc.MFA(ctx, e.alice.ID); m.Enabled() || !m.TOTPPending {
		t.Fatalf("MFA after enrollment = %+v, want pending, not on", m)
	}
	// Until confirmed, the login stays one step.
	if res, err := e.svc.LoginDevice(ctx, "alice", password, account.ClientInfo{IP: mfaIP}); err != nil || res.MFA != nil {
		t.Fatalf("login with a pending enrollment = %+v, %v; want a session", res, err)
	}
	wrongCode := "000000"
	if wrongCode == e.code(0) {
		wrongCode = "000001"
	}
	if _, err := e.svc.ConfirmTOTP(ctx, actor, e.session, e.alice, wrongCode); !errors.Is(err, account.ErrInvalidCode) {
		t.Fatalf("ConfirmTOTP with a wrong code = %v, want ErrInvalidCode", err)
	}
	if m, _ := e.svc.MFA(ctx, e.alice.ID); m.Enabled() {
		t.Fatal("a wrong code turned MFA on")
	}
	codes, err := e.svc.ConfirmTOTP(ctx, actor, e.session, e.alice, e.code(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != account.RecoveryCodeCount || len(codes[0]) != 19 {
		t.Fatalf("recovery codes = %q, want 10 of the form xxxx-xxxx-xxxx-xxxx", codes)
	}
	if m, _ := e.svc.MFA(ctx, e.alice.ID); !m.Enabled() || m.RecoveryCodesLeft != 10 {
		t.Fatalf("MFA after confirmation = %+v, want on with 10 recovery codes", m)
	}
	sessions, err := e.svc.ListSessions(ctx, e.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions {
		if s.ID == e.session.ID && (s.Aal != account.AAL2 || s.Methods != "pwd,totp" || s.MfaAt == nil) {
			t.Errorf("the confirming session = %+v, want aal2 by pwd,totp", s)
		}
	}
	if _, err := e.svc.EnrollTOTP(ctx, actor, e.alice, password); !errors.Is(err, account.ErrMFAAlreadyOn) {
		t.Errorf("a second enrollment = %v, want ErrMFAAlreadyOn", err)
	}
	if e := lastAudit(t, e.svc, account.ActionMFAEnable); e.Detail != "totp" {
		t.Errorf("mfa.enable audited with detail %q", e.Detail)
	}
	if n := len(mails(t, e.svc, "mfa_changed", "alice@example.com")); n != 1 {
		t.Errorf("%d factor-change mails, want 1", n)
	}
}

func TestTwoStepLogin(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testTwoStepLogin)
}

func testTwoStepLogin(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	e := newMFAEnv(t, eng)
	recovery := e.enable()

	// The confirming code's step is spent: the same code fails at login.
	tok := e.challenge()
	if _, err := e.complete(tok, e.code(0), ""); !errors.Is(err, account.ErrInvalidCode) {
		t.Fatalf("the enrollment's code again = %v, want ErrInvalidCode (replay)", err)
	}
	e.clock.Advance(30 * time.Second)
	res, err := e.complete(tok, e.code(0), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Token == "" || res.Session.Aal != account.AAL2 || res.Session.Methods != "pwd,totp" || res.User.ID != e.alice.ID {
		t.Fatalf("second step = %+v, want an aal2 session for alice", res)
	}
	if _, _, err := e.svc.Authenticate(ctx, res.Token); err != nil {
		t.Fatalf("the aal2 session does not authenticate: %v", err)
	}
	// A used challenge is dead; the same code is refused on a new one.
	if _, err := e.complete(tok, e.code(0), ""); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("a used challenge = %v, want ErrInvalidToken", err)
	}
	tok = e.challenge()
	if _, err := e.complete(tok, e.code(0), ""); !errors.Is(err, account.ErrInvalidCode) {
		t.Errorf("a used code on a new challenge = %v, want ErrInvalidCode", err)
	}
	// An older step than the last used is refused, even within the drift.
	e.clock.Advance(30 * time.Second)
	if _, err := e.complete(tok, e.code(-30*time.Second), ""); !errors.Is(err, account.ErrInvalidCode) {
		t.Errorf("the previous step's code after it was used = %v, want ErrInvalidCode", err)
	}
	// One step of drift: the next step's code works now (clock behind).
	if _, err := e.complete(tok, e.code(30*time.Second), ""); err != nil {
		t.Errorf("the next step's code (one step of drift) = %v", err)
	}
	// Two steps ahead is too far.
	e.clock.Advance(90 * time.Second)
	tok = e.challenge()
	if _, err := e.complete(tok, e.code(60*time.Second), ""); !errors.Is(err, account.ErrInvalidCode) {
		t.Errorf("a code two steps ahead = %v, want ErrInvalidCode", err)
	}

	// A recovery code works once, in any case and with or without dashes.
	res, err = e.complete(tok, "", strings.ToUpper(strings.ReplaceAll(recovery[3], "-", "")))
	if err != nil || res.Session.Methods != "pwd,recovery_code" {
		t.Fatalf("recovery code = %+v, %v; want an aal2 session by pwd,recovery_code", res.Session, err)
	}
	if _, err := e.complete(e.challenge(), "", recovery[3]); !errors.Is(err, account.ErrInvalidCode) {
		t.Errorf("a used recovery code = %v, want ErrInvalidCode", err)
	}
	if m, _ := e.svc.MFA(ctx, e.alice.ID); m.RecoveryCodesLeft != 9 {
		t.Errorf("%d recovery codes left, want 9", m.RecoveryCodesLeft)
	}

	// The tutorial's password-only login is refused.
	if _, err := e.svc.LoginWithoutSession(ctx, "alice", password, mfaIP); !errors.Is(err, account.ErrMFARequired) {
		t.Errorf("LoginWithoutSession = %v, want ErrMFARequired", err)
	}
	// A wrong password stays the same refusal, with or without MFA.
	if _, err := e.svc.LoginDevice(ctx, "alice", wrong, account.ClientInfo{IP: mfaIP}); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("wrong password = %v, want ErrBadCredentials", err)
	}
}

func TestMFAChallengeLimits(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testMFAChallengeLimits)
}

// A challenge takes five codes, lives five minutes, and dies when the
// password changes; code guesses are throttled per account across challenges.
func testMFAChallengeLimits(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	e := newMFAEnv(t, eng)
	e.enable()
	e.clock.Advance(30 * time.Second)
	bad := "123456"
	if bad == e.code(0) || bad == e.code(-30*time.Second) || bad == e.code(30*time.Second) {
		bad = "654321"
	}

	tok := e.challenge()
	for i := range 5 {
		if _, err := e.complete(tok, bad, ""); !errors.Is(err, account.ErrInvalidCode) {
			t.Fatalf("wrong code %d = %v, want ErrInvalidCode", i+1, err)
		}
	}
	if _, err := e.complete(tok, e.code(0), ""); !errors.Is(err, account.ErrInvalidToken) {
		t.Fatalf("a sixth attempt on one challenge = %v, want ErrInvalidToken", err)
	}
	// The fifth failure set a wait, as five wrong passwords do: the next
	// code, even the right one and on a new challenge, is refused until it
	// passes.
	tok = e.challenge()
	var te *account.ThrottledError
	if _, err := e.complete(tok, e.code(0), ""); !errors.As(err, &te) || te.RetryAfter <= 0 {
		t.Fatalf("right code right after six failures = %v, want *ThrottledError", err)
	}
	e.clock.Advance(te.RetryAfter)
	if _, err := e.complete(tok, e.code(0), ""); err != nil {
		t.Fatalf("right code after the wait = %v", err)
	}

	// Expiry.
	tok = e.challenge()
	e.clock.Advance(account.MFAChallengeTTL)
	if _, err := e.complete(tok, e.code(0), ""); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("an expired challenge = %v, want ErrInvalidToken", err)
	}
	// A password change between the steps ends the login.
	e.clock.Advance(30 * time.Second)
	tok = e.challenge()
	if err := e.svc.SetPassword(ctx, account.Actor{}, e.alice.ID, password+" new"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.complete(tok, e.code(0), ""); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("second step after a password change = %v, want ErrBadCredentials", err)
	}
	if _, err := e.complete("rmf_not-a-token", "123456", ""); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("a malformed token = %v, want ErrInvalidToken", err)
	}
}

func TestStepUp(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testStepUp)
}

func testStepUp(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	e := newMFAEnv(t, eng)
	actor := account.Actor{ID: e.alice.ID, IP: mfaIP}
	if err := e.svc.CheckStepUp(ctx, e.session, e.alice); err != nil {
		t.Fatalf("CheckStepUp without MFA = %v, want nil", err)
	}
	recovery := e.enable()
	// A session that never proved a second factor must step up.
	e.clock.Advance(30 * time.Second)
	tok := e.challenge()
	res, err := e.complete(tok, e.code(0), "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.svc.LoginDevice(ctx, "alice", password, account.ClientInfo{IP: mfaIP})
	if err != nil || other.MFA == nil {
		t.Fatal("expected a challenge")
	}
	sess := res.Session
	if err := e.svc.CheckStepUp(ctx, sess, e.alice); err != nil {
		t.Fatalf("CheckStepUp right after an aal2 login = %v", err)
	}
	e.clock.Advance(account.DefaultStepUpWindow)
	if err := e.svc.CheckStepUp(ctx, sess, e.alice); !errors.Is(err, account.ErrStepUpRequired) {
		t.Fatalf("CheckStepUp %s later = %v, want ErrStepUpRequired", account.DefaultStepUpWindow, err)
	}
	if err := e.svc.StepUp(ctx, actor, sess, e.alice, "", recovery[0]); err != nil {
		t.Fatal(err)
	}
	sessions, _ := e.svc.ListSessions(ctx, e.alice.ID)
	for _, s := range sessions {
		if s.ID == sess.ID {
			sess = s
		}
	}
	if err := e.svc.CheckStepUp(ctx, sess, e.alice); err != nil {
		t.Fatalf("CheckStepUp after StepUp = %v", err)
	}
	// Removing the factor needs the step-up (HTTP checks it); then MFA is off.
	if err := e.svc.DisableTOTP(ctx, actor, e.alice); err != nil {
		t.Fatal(err)
	}
	if m, _ := e.svc.MFA(ctx, e.alice.ID); m.Enabled() || m.RecoveryCodesLeft != 0 {
		t.Fatalf("MFA after DisableTOTP = %+v, want off, no codes", m)
	}
	if res, err := e.svc.LoginDevice(ctx, "alice", password, account.ClientInfo{IP: mfaIP}); err != nil || res.MFA != nil || res.Token == "" {
		t.Fatalf("login after DisableTOTP = %+v, %v; want a session at once", res, err)
	}
	if n := len(mails(t, e.svc, "mfa_changed", "alice@example.com")); n != 2 {
		t.Errorf("%d factor-change mails, want 2 (added, removed)", n)
	}
}

func TestRecoveryCodesRegenerate(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testRecoveryCodesRegenerate)
}

func testRecoveryCodesRegenerate(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	e := newMFAEnv(t, eng)
	old := e.enable()
	fresh, err := e.svc.RegenerateRecoveryCodes(ctx, account.Actor{ID: e.alice.ID}, e.alice)
	if err != nil || len(fresh) != 10 {
		t.Fatalf("RegenerateRecoveryCodes = %d codes, %v", len(fresh), err)
	}
	if _, err := e.complete(e.challenge(), "", old[0]); !errors.Is(err, account.ErrInvalidCode) {
		t.Errorf("an old recovery code after regeneration = %v, want ErrInvalidCode", err)
	}
	if _, err := e.complete(e.challenge(), "", fresh[0]); err != nil {
		t.Errorf("a new recovery code = %v", err)
	}
}

func TestAdminResetMFA(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testAdminResetMFA)
}

func testAdminResetMFA(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	e := newMFAEnv(t, eng)
	e.enable()
	if err := e.svc.ResetMFA(ctx, account.Actor{ID: 99}, e.alice.ID); err != nil {
		t.Fatal(err)
	}
	if sessions, _ := e.svc.ListSessions(ctx, e.alice.ID); len(sessions) != 0 {
		t.Errorf("%d sessions after the reset, want 0", len(sessions))
	}
	if m, _ := e.svc.MFA(ctx, e.alice.ID); m.Enabled() || m.RecoveryCodesLeft != 0 {
		t.Errorf("MFA after the reset = %+v, want off", m)
	}
	if n := len(mails(t, e.svc, "mfa_changed", "alice@example.com")); n != 2 {
		t.Errorf("%d factor-change mails, want 2 (added, reset)", n)
	}
	if a := lastAudit(t, e.svc, account.ActionMFAReset); *a.ActorID != 99 {
		t.Errorf("mfa.reset audited as %+v", a)
	}
	if err := e.svc.ResetMFA(ctx, account.Actor{ID: 99}, e.alice.ID); !errors.Is(err, account.ErrMFAOff) {
		t.Errorf("a second reset = %v, want ErrMFAOff", err)
	}
}

func TestMFAKeyRotation(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testMFAKeyRotation)
}

// A secret sealed with the old key opens while the old key is listed
// second; an accepted code seals it again under the new key, after which
// the old key can go.
func testMFAKeyRotation(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	e := newMFAEnv(t, eng)
	oldKey, newKey := account.NewMFAKey(), account.NewMFAKey()
	var err error
	if e.svc.MFAKeys, err = account.ParseMFAKeys(oldKey); err != nil {
		t.Fatal(err)
	}
	e.enable()
	only := func(list string) {
		t.Helper()
		if e.svc.MFAKeys, err = account.ParseMFAKeys(list); err != nil {
			t.Fatal(err)
		}
	}
	only(newKey)
	e.clock.Advance(30 * time.Second)
	if _, err := e.complete(e.challenge(), e.code(0), ""); !errors.Is(err, account.ErrMFAKeyUnknown) {
		t.Fatalf("without the old key = %v, want ErrMFAKeyUnknown", err)
	}
	only(newKey + "," + oldKey)
	if _, err := e.complete(e.challenge(), e.code(0), ""); err != nil {
		t.Fatalf("with the old key second = %v", err)
	}
	only(newKey)
	e.clock.Advance(30 * time.Second)
	if _, err := e.complete(e.challenge(), e.code(0), ""); err != nil {
		t.Fatalf("with the new key alone, after the secret was sealed again = %v", err)
	}
	if _, err := account.ParseMFAKeys("c2hvcnQ"); err == nil {
		t.Error("a 5-byte key accepted")
	}
}
