package account_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
)

// mails returns the queued mail of one kind to one address, oldest first.
func mails(t *testing.T, svc *account.Service, kind, to string) []db.Outbox {
	t.Helper()
	rows, err := svc.Store.Read.ListOutboxMessages(context.Background(), db.ListOutboxMessagesParams{Lim: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []db.Outbox
	for _, r := range rows {
		if r.Kind == kind && r.Recipient == to {
			out = append(out, r)
		}
	}
	return out
}

var tokenPattern = regexp.MustCompile(`\b(rev|rpr|rsc)_[A-Za-z0-9_-]{43}\b`)

// lastToken returns the token in the newest mail of kind to an address.
func lastToken(t *testing.T, svc *account.Service, kind, to string) string {
	t.Helper()
	ms := mails(t, svc, kind, to)
	if len(ms) == 0 {
		t.Fatalf("no %s mail to %s", kind, to)
	}
	tok := tokenPattern.FindString(ms[len(ms)-1].Body)
	if tok == "" {
		t.Fatalf("no token in %q", ms[len(ms)-1].Body)
	}
	return tok
}

func newMailService(t *testing.T, eng accounttest.Engine) (*account.Service, *accounttest.Clock) {
	svc := eng.New(t)
	clock := accounttest.NewClock(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	svc.Now = clock.Now
	svc.Mail.PublicURL = "https://roster.example.com/"
	return svc, clock
}

func TestEmailVerification(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testEmailVerification)
}

func testEmailVerification(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc, clock := newMailService(t, eng)
	u, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "vera", Email: "Vera@example.com", Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	if u.EmailVerifiedAt != nil {
		t.Fatal("a new account's address is verified")
	}
	ms := mails(t, svc, "email_verification", "Vera@example.com")
	if len(ms) != 1 {
		t.Fatalf("%d verification mails after sign-up, want 1", len(ms))
	}
	tok := lastToken(t, svc, "email_verification", "Vera@example.com")
	// The link opens the console's page; the code comes apart, never in a URL.
	if want := "\nhttps://roster.example.com/ui/verify-email\n\nand enter your confirmation code:\n\n" + tok + "\n"; !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(ms[0].Body) {
		t.Errorf("mail body lacks the link and code %q:\n%s", want, ms[0].Body)
	}

	// Tokens of the wrong shape or kind never match.
	reset := "rpr_" + tok[4:]
	for _, bad := range []string{"", "rev_", tok[:len(tok)-1], reset, "rst_" + tok[4:]} {
		if err := svc.VerifyEmail(ctx, account.Actor{}, bad); !errors.Is(err, account.ErrInvalidToken) {
			t.Errorf("VerifyEmail(%q) = %v, want ErrInvalidToken", bad, err)
		}
	}
	clock.Advance(account.VerificationTTL - time.Second)
	if err := svc.VerifyEmail(ctx, account.Actor{}, tok); err != nil {
		t.Fatalf("VerifyEmail just inside 24 h: %v", err)
	}
	got, _ := svc.Store.Read.GetUser(ctx, u.ID)
	if got.EmailVerifiedAt == nil || !got.EmailVerifiedAt.Equal(clock.Now()) {
		t.Errorf("email_verified_at = %v, want %v", got.EmailVerifiedAt, clock.Now())
	}
	if err := svc.VerifyEmail(ctx, account.Actor{}, tok); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("VerifyEmail(used token) = %v, want ErrInvalidToken", err)
	}
	if _, err := svc.ResendVerification(ctx, account.Actor{}, u.ID); !errors.Is(err, account.ErrAlreadyVerified) {
		t.Errorf("ResendVerification(verified) = %v, want ErrAlreadyVerified", err)
	}
}

func TestVerificationTokenExpiresAndDiesWithItsAddress(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testVerificationTokenExpiresAndDiesWithItsAddress)
}

func testVerificationTokenExpiresAndDiesWithItsAddress(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc, clock := newMailService(t, eng)
	u, _ := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "walt", Email: "walt@example.com", Password: goodPassword})
	first := lastToken(t, svc, "email_verification", "walt@example.com")
	if to, err := svc.ResendVerification(ctx, account.Actor{}, u.ID); err != nil || to != "walt@example.com" {
		t.Fatalf("ResendVerification = %q, %v; want walt@example.com", to, err)
	}
	second := lastToken(t, svc, "email_verification", "walt@example.com")
	clock.Advance(account.VerificationTTL)
	if err := svc.VerifyEmail(ctx, account.Actor{}, first); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("VerifyEmail after 24 h = %v, want ErrInvalidToken", err)
	}

	// A token mailed to the old address does not verify the new one.
	clock.Advance(-time.Hour)
	if _, err := svc.UpdateUser(ctx, account.Actor{}, u.ID, account.UserChange{Email: ptr("walt@example.net")}); err != nil {
		t.Fatal(err)
	}
	if err := svc.VerifyEmail(ctx, account.Actor{}, second); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("VerifyEmail(token for the old address) = %v, want ErrInvalidToken", err)
	}
	if n := len(mails(t, svc, "email_changed", "walt@example.com")); n != 1 {
		t.Errorf("%d change notices to the old address, want 1", n)
	}
	if err := svc.VerifyEmail(ctx, account.Actor{}, lastToken(t, svc, "email_verification", "walt@example.net")); err != nil {
		t.Errorf("VerifyEmail(token for the new address): %v", err)
	}
}

func TestEmailChangeUnverifies(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testEmailChangeUnverifies)
}

func testEmailChangeUnverifies(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := newMailService(t, eng)
	u, _ := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "xena", Email: "xena@example.com", Password: goodPassword})
	svc.VerifyEmail(ctx, account.Actor{}, lastToken(t, svc, "email_verification", "xena@example.com"))

	// Only the case changes: the key, and so the verification, stays.
	u, err := svc.UpdateUser(ctx, account.Actor{}, u.ID, account.UserChange{Email: ptr("Xena@example.com")})
	if err != nil || u.EmailVerifiedAt == nil {
		t.Fatalf("after a case-only change: verified_at = %v, err = %v; want kept", u.EmailVerifiedAt, err)
	}
	u, err = svc.UpdateUser(ctx, account.Actor{}, u.ID, account.UserChange{Email: ptr("xena@example.org")})
	if err != nil || u.EmailVerifiedAt != nil {
		t.Fatalf("after a new address: verified_at = %v, err = %v; want cleared", u.EmailVerifiedAt, err)
	}
	if n := len(mails(t, svc, "email_verification", "xena@example.org")); n != 1 {
		t.Errorf("%d verification mails to the new address, want 1", n)
	}
	u, err = svc.UpdateUser(ctx, account.Actor{}, u.ID, account.UserChange{Email: ptr("")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ResendVerification(ctx, account.Actor{}, u.ID); !errors.Is(err, account.ErrNoEmail) {
		t.Errorf("ResendVerification(no address) = %v, want ErrNoEmail", err)
	}
}

func TestRequireVerifiedEmail(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testRequireVerifiedEmail)
}

func testRequireVerifiedEmail(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := newMailService(t, eng)
	svc.RequireVerifiedEmail = true
	_, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "yuri", Password: goodPassword})
	var ve *account.ValidationError
	if !errors.As(err, &ve) || ve.Errors[0].Field != "email" {
		t.Fatalf("CreateUser without email = %v, want a validation error on email", err)
	}
	if _, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "yuri", Email: "yuri@example.com", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := svc.Login(ctx, "yuri", "a wrong password here", account.ClientInfo{}); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("Login(wrong password, unverified) = %v, want ErrBadCredentials: nothing more before the password is right", err)
	}
	if _, _, _, err := svc.Login(ctx, "yuri", goodPassword, account.ClientInfo{}); !errors.Is(err, account.ErrEmailUnverified) {
		t.Errorf("Login(right password, unverified) = %v, want ErrEmailUnverified", err)
	}
	svc.VerifyEmail(ctx, account.Actor{}, lastToken(t, svc, "email_verification", "yuri@example.com"))
	if _, _, _, err := svc.Login(ctx, "yuri", goodPassword, account.ClientInfo{}); err != nil {
		t.Errorf("Login after verifying: %v", err)
	}
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testPasswordReset)
}

func testPasswordReset(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc, clock := newMailService(t, eng)
	u, _ := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "zoe", Email: "zoe@example.com", Password: goodPassword})
	keep, _, _, _ := svc.Login(ctx, "zoe", goodPassword, account.ClientInfo{})

	if err := svc.SendPasswordReset(ctx, account.Actor{}, u.ID); err != nil {
		t.Fatal(err)
	}
	old := lastToken(t, svc, "password_reset", "zoe@example.com")
	clock.Advance(time.Minute)
	svc.SendPasswordReset(ctx, account.Actor{}, u.ID)
	tok := lastToken(t, svc, "password_reset", "zoe@example.com")
	const newPassword = "a brand new passphrase for this account"
	if err := svc.ConfirmPasswordReset(ctx, account.Actor{}, old, newPassword); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("ConfirmPasswordReset(older token) = %v, want ErrInvalidToken: a new reset voids the old", err)
	}

	// The full policy applies, and a refused password leaves the token usable.
	var ve *account.ValidationError
	if err := svc.ConfirmPasswordReset(ctx, account.Actor{}, tok, "short"); !errors.As(err, &ve) || ve.Code != "password_too_short" {
		t.Errorf("ConfirmPasswordReset(short) = %v, want password_too_short", err)
	}
	if err := svc.ConfirmPasswordReset(ctx, account.Actor{}, tok, "my name is zoe and that is all"); !errors.As(err, &ve) || ve.Code != "password_contains_username" {
		t.Errorf("ConfirmPasswordReset(contains username) = %v, want password_contains_username", err)
	}
	if err := svc.ConfirmPasswordReset(ctx, account.Actor{}, tok, newPassword); err != nil {
		t.Fatalf("ConfirmPasswordReset: %v", err)
	}
	if _, _, err := svc.Authenticate(ctx, keep); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("a session survived the reset: %v", err)
	}
	if _, err := svc.LoginWithoutSession(ctx, "zoe", newPassword, ""); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	if _, err := svc.LoginWithoutSession(ctx, "zoe", goodPassword, ""); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("login with the old password = %v, want ErrBadCredentials", err)
	}
	if err := svc.ConfirmPasswordReset(ctx, account.Actor{}, tok, newPassword+"!"); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("ConfirmPasswordReset(used token) = %v, want ErrInvalidToken", err)
	}
	if n := len(mails(t, svc, "password_changed", "zoe@example.com")); n != 1 {
		t.Errorf("%d password-changed notices, want 1", n)
	}
	got, _ := svc.Store.Read.GetUser(ctx, u.ID)
	if got.EmailVerifiedAt == nil {
		t.Error("a completed reset did not count as verifying the address it was mailed to")
	}
}

func TestPasswordResetTokenRejections(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testPasswordResetTokenRejections)
}

func testPasswordResetTokenRejections(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc, clock := newMailService(t, eng)
	a, _ := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "abe", Email: "abe@example.com", Password: goodPassword})
	svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "bea", Email: "bea@example.com", Password: goodPassword})
	const pw = "another perfectly fine passphrase"

	svc.SendPasswordReset(ctx, account.Actor{}, a.ID)
	tok := lastToken(t, svc, "password_reset", "abe@example.com")
	verify := lastToken(t, svc, "email_verification", "bea@example.com")
	if err := svc.ConfirmPasswordReset(ctx, account.Actor{}, verify, pw); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("ConfirmPasswordReset(someone's verification token) = %v, want ErrInvalidToken", err)
	}
	if err := svc.ConfirmPasswordReset(ctx, account.Actor{}, "rpr_"+verify[4:], pw); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("ConfirmPasswordReset(unknown token) = %v, want ErrInvalidToken", err)
	}
	clock.Advance(account.ResetTTL)
	if err := svc.ConfirmPasswordReset(ctx, account.Actor{}, tok, pw); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("ConfirmPasswordReset after 30 min = %v, want ErrInvalidToken", err)
	}

	// A token mailed to an address the account has since left is dead.
	svc.SendPasswordReset(ctx, account.Actor{}, a.ID)
	tok = lastToken(t, svc, "password_reset", "abe@example.com")
	svc.UpdateUser(ctx, account.Actor{}, a.ID, account.UserChange{Email: ptr("abe@example.net")})
	if err := svc.ConfirmPasswordReset(ctx, account.Actor{}, tok, pw); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("ConfirmPasswordReset(token for the old address) = %v, want ErrInvalidToken", err)
	}

	// A password change by any other way kills outstanding reset tokens.
	svc.SendPasswordReset(ctx, account.Actor{}, a.ID)
	tok = lastToken(t, svc, "password_reset", "abe@example.net")
	if err := svc.SetPassword(ctx, account.Actor{}, a.ID, pw); err != nil {
		t.Fatal(err)
	}
	if err := svc.ConfirmPasswordReset(ctx, account.Actor{}, tok, pw+"!"); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("ConfirmPasswordReset after set-password = %v, want ErrInvalidToken", err)
	}

	// Disabled accounts and accounts without an address get no reset.
	svc.UpdateUser(ctx, account.Actor{}, a.ID, account.UserChange{Status: ptr(account.StatusDisabled)})
	if err := svc.SendPasswordReset(ctx, account.Actor{}, a.ID); !errors.Is(err, account.ErrDisabled) {
		t.Errorf("SendPasswordReset(disabled) = %v, want ErrDisabled", err)
	}
	c, _ := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "cid", Password: goodPassword})
	if err := svc.SendPasswordReset(ctx, account.Actor{}, c.ID); !errors.Is(err, account.ErrNoEmail) {
		t.Errorf("SendPasswordReset(no email) = %v, want ErrNoEmail", err)
	}
}

func TestConcurrentResetConfirmsHaveOneWinner(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testConcurrentResetConfirmsHaveOneWinner)
}

func testConcurrentResetConfirmsHaveOneWinner(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := newMailService(t, eng)
	u, _ := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "dan", Email: "dan@example.com", Password: goodPassword})
	for round := range 5 {
		svc.SendPasswordReset(ctx, account.Actor{}, u.ID)
		tok := lastToken(t, svc, "password_reset", "dan@example.com")
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = svc.ConfirmPasswordReset(ctx, account.Actor{}, tok, "concurrent passphrase number "+string(rune('a'+i)))
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, account.ErrInvalidToken):
				t.Errorf("round %d: ConfirmPasswordReset = %v, want nil or ErrInvalidToken", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d of %d concurrent confirmations succeeded, want exactly 1", round, wins, n)
		}
	}
}

func TestResetQueue(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testResetQueue)
}

func testResetQueue(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := newMailService(t, eng)
	svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "eve", Email: "eve@example.com", Password: goodPassword})
	q := account.NewResetQueue(svc, slog.New(slog.NewTextHandler(io.Discard, nil)), account.Limit{})
	for _, login := range []string{"eve", "EVE@example.com", "nobody", "nobody@example.com", "not a name"} {
		if err := q.Submit(ctx, login, account.Actor{IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	// Run serves what is queued even when asked to stop at once.
	runCtx, cancel := context.WithCancel(ctx)
	cancel()
	q.Run(runCtx)
	if n := len(mails(t, svc, "password_reset", "eve@example.com")); n != 2 {
		t.Errorf("%d reset mails to eve, want 2 (by username and by address)", n)
	}
	rows, _ := svc.Store.Read.ListOutboxMessages(ctx, db.ListOutboxMessagesParams{Lim: 100})
	if len(rows) != 3 { // eve's verification and two resets
		t.Errorf("%d outbox rows, want 3", len(rows))
	}
}

// TestResetQueuePerAccountLimit checks that the cap counts mails per
// account, however a request names it, and frees up as the window passes.
func TestResetQueuePerAccountLimit(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testResetQueuePerAccountLimit)
}

func testResetQueuePerAccountLimit(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc, clock := newMailService(t, eng)
	if _, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "eve", Email: "eve@example.com", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	q := account.NewResetQueue(svc, slog.New(slog.NewTextHandler(io.Discard, nil)), account.Limit{N: 2, Per: time.Hour})
	serve := func(logins ...string) {
		for _, login := range logins {
			if err := q.Submit(ctx, login, account.Actor{IP: "192.0.2.1"}); err != nil {
				t.Fatal(err)
			}
		}
		runCtx, cancel := context.WithCancel(ctx)
		cancel()
		q.Run(runCtx)
	}
	serve("eve", "EVE@example.com", "Eve", "eve@example.com")
	if n := len(mails(t, svc, "password_reset", "eve@example.com")); n != 2 {
		t.Errorf("%d reset mails to eve after four requests by name and address, want 2 (the limit)", n)
	}
	clock.Advance(59 * time.Minute)
	serve("eve")
	if n := len(mails(t, svc, "password_reset", "eve@example.com")); n != 2 {
		t.Errorf("%d reset mails to eve within the hour, want 2", n)
	}
	clock.Advance(time.Minute)
	serve("eve@example.com")
	if n := len(mails(t, svc, "password_reset", "eve@example.com")); n != 3 {
		t.Errorf("%d reset mails to eve an hour later, want 3", n)
	}
}

func ptr[T any](v T) *T { return &v }

// TestResendVerificationIsAudited: a verification mail sent again on request
// has its audit row, written with the mail, like every change.
func TestResendVerificationIsAudited(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testResendVerificationIsAudited)
}

func testResendVerificationIsAudited(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := newMailService(t, eng)
	u, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "vera", Email: "vera@example.com", Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	actor := account.Actor{ID: u.ID, IP: "192.0.2.5"}
	if _, err := svc.ResendVerification(ctx, actor, u.ID); err != nil {
		t.Fatal(err)
	}
	e := lastAudit(t, svc, account.ActionEmailVerifyRequest)
	if *e.ActorID != u.ID || *e.TargetID != u.ID || e.Ip != actor.IP {
		t.Errorf("email.verify_request event = %+v, want actor and target %d from %s", e, u.ID, actor.IP)
	}
}
