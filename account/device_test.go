package account_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
)

// attack guesses alice's password from never-seen networks until one guess
// is refused by the account-wide cap, and returns how many were verified.
func attack(t *testing.T, svc *account.Service, round int) int {
	t.Helper()
	for i := range 100 {
		_, err := svc.LoginWithoutSession(context.Background(), "alice", wrong, fmt.Sprintf("10.%d.%d.1", round, i))
		if !errors.Is(err, account.ErrBadCredentials) {
			throttled(t, "guess from a stranger", err)
			return i
		}
	}
	t.Fatal("100 guesses from strangers were all verified")
	return 0
}

func loginDevice(svc *account.Service, password, ip, device string) (account.LoginResult, error) {
	return svc.LoginDevice(context.Background(), "alice", password, account.ClientInfo{IP: ip, DeviceToken: device})
}

// TestDeviceTokenPassesCap: while strangers hold alice's account at the cap,
// so that her right password from a new network gets 429, the device token
// of an earlier login gets her in from any network, also after a typo; the
// token she sent comes back unchanged. Guesses from strangers stay within
// the budget: 30 at once, then one per 74 s.
func TestDeviceTokenPassesCap(t *testing.T) { accounttest.Run(t, testDeviceTokenPassesCap) }

func testDeviceTokenPassesCap(t *testing.T, eng accounttest.Engine) {
	svc, clock := newClocked(t, eng)
	first, err := loginDevice(svc, password, "198.51.100.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first.DeviceToken, account.DeviceTokenPrefix) {
		t.Fatalf("device token = %q, want prefix %s", first.DeviceToken, account.DeviceTokenPrefix)
	}
	if n := attack(t, svc, 0); n != 30 {
		t.Fatalf("strangers' guesses verified at once = %d, want 30", n)
	}
	if _, err := loginDevice(svc, password, "203.0.113.7", ""); err == nil {
		t.Fatal("right password from a new network without a device token passed the cap; the test shows nothing")
	}
	verified := 30
	for hour := range 3 {
		for step := range 60 {
			clock.Advance(time.Minute)
			verified += attack(t, svc, 1+hour*60+step)
		}
		ip := fmt.Sprintf("203.0.113.%d", 10+hour)
		if _, err := loginDevice(svc, wrong, ip, first.DeviceToken); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("hour %d: typo with the device token: err = %v, want ErrBadCredentials", hour, err)
		}
		got, err := loginDevice(svc, password, ip, first.DeviceToken)
		if err != nil {
			t.Fatalf("hour %d: right password with the device token from a new network under attack: %v", hour, err)
		}
		if got.DeviceToken != first.DeviceToken {
			t.Fatalf("hour %d: device token changed on a login that presented it", hour)
		}
		// Each hour from here is a new network: the cap must still hold it.
		if _, err := loginDevice(svc, password, fmt.Sprintf("192.0.2.%d", hour), ""); err == nil {
			t.Fatalf("hour %d: a new network without a device token passed the cap", hour)
		}
	}
	// 30 at once and one per 74 s over 3 hours; the owner's typos and her
	// successes' refunds shift it by a few.
	if budget := 30 + int(3*time.Hour/(74*time.Second)); verified > budget {
		t.Fatalf("strangers' verified guesses in 3 hours = %d, want at most %d", verified, budget)
	}
	t.Logf("strangers' verified guesses in 3 hours: %d", verified)
}

// TestDeviceTokenLockout: a device token that fails ten times in a row is
// distrusted: the cap holds it like any stranger, while another device of
// the same account still passes; another account's token never passes.
func TestDeviceTokenLockout(t *testing.T) { accounttest.Run(t, testDeviceTokenLockout) }

func testDeviceTokenLockout(t *testing.T, eng accounttest.Engine) {
	ctx := context.Background()
	svc, clock := newClocked(t, eng)
	if _, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "bob", Password: password}); err != nil {
		t.Fatal(err)
	}
	stolen, err := loginDevice(svc, password, "198.51.100.1", "")
	if err != nil {
		t.Fatal(err)
	}
	kept, err := loginDevice(svc, password, "198.51.100.2", "")
	if err != nil {
		t.Fatal(err)
	}
	bobs, err := svc.LoginDevice(ctx, "bob", password, account.ClientInfo{IP: "198.51.100.3"})
	if err != nil {
		t.Fatal(err)
	}
	attack(t, svc, 0)
	for i := range 10 {
		_, err := loginDevice(svc, wrong, "203.0.113.1", stolen.DeviceToken)
		var te *account.ThrottledError
		if errors.As(err, &te) { // the device's own back-off, after five
			clock.Advance(te.RetryAfter)
			_, err = loginDevice(svc, wrong, "203.0.113.1", stolen.DeviceToken)
		}
		if !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("device failure %d: err = %v, want ErrBadCredentials", i+1, err)
		}
	}
	clock.Advance(15 * time.Minute) // past the device's own back-off
	attack(t, svc, 1)
	runs := svc.Hasher.Runs()
	_, err = loginDevice(svc, password, "203.0.113.2", stolen.DeviceToken)
	throttled(t, "right password with a locked-out device token under attack", err)
	if runs != svc.Hasher.Runs() {
		t.Fatal("a refused attempt ran the hasher")
	}
	_, err = loginDevice(svc, password, "203.0.113.2", bobs.DeviceToken)
	throttled(t, "right password with another account's device token under attack", err)
	if _, err := loginDevice(svc, password, "203.0.113.2", kept.DeviceToken); err != nil {
		t.Fatalf("right password with the other device under attack: %v", err)
	}
}

// TestSignUpAddressIsKnown: an account that never logged in gets in from the
// address it signed up from while strangers hold it at the cap; the cap
// still holds any other new address. An admin's address is not the account's.
func TestSignUpAddressIsKnown(t *testing.T) {
	ctx := context.Background()
	svc := accounttest.New(t)
	clock := accounttest.NewClock(epoch)
	svc.Now = clock.Now
	if _, err := svc.CreateUser(ctx, account.Actor{IP: "192.0.2.50"}, account.NewUser{Username: "alice", Password: password}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, account.Actor{ID: 1, IP: "192.0.2.60"}, account.NewUser{Username: "bob", Password: password}); err != nil {
		t.Fatal(err)
	}
	attack(t, svc, 0)
	if _, err := svc.LoginWithoutSession(ctx, "alice", password, "192.0.2.51"); err == nil {
		t.Fatal("right password from a new network passed the cap")
	}
	if _, err := svc.LoginWithoutSession(ctx, "alice", password, "192.0.2.50"); err != nil {
		t.Fatalf("right password from the sign-up address under attack: %v", err)
	}
	for i := range 30 {
		if _, err := svc.LoginWithoutSession(ctx, "bob", wrong, fmt.Sprintf("10.9.0.%d", i)); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("guess %d on bob: %v", i, err)
		}
	}
	_, err := svc.LoginWithoutSession(ctx, "bob", password, "192.0.2.60")
	throttled(t, "bob from the address of the admin who created him", err)
}

// TestConcurrentRightPasswordLogins: logins with the right password at once
// from one address are each charged as a possible failure until verified, so
// some may be refused, but none is told it failed; all the others succeed.
func TestConcurrentRightPasswordLogins(t *testing.T) {
	accounttest.Run(t, testConcurrentRightPasswordLogins)
}

func testConcurrentRightPasswordLogins(t *testing.T, eng accounttest.Engine) {
	ctx := context.Background()
	svc, _ := newClocked(t, eng)
	hasher, err := account.NewHasher(accounttest.CheapParams, 1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	svc.Hasher = hasher
	release := account.FillHashSlots(hasher) // every admitted login waits
	const n = 10
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := svc.LoginWithoutSession(ctx, "alice", password, "192.0.2.1")
			errs <- err
		})
	}
	// Wait until every login is either refused or admitted and waiting.
	var refused []error
	for deadline := time.Now().Add(time.Minute); ; {
		select {
		case err := <-errs:
			refused = append(refused, err)
			continue
		default:
		}
		pair, err := svc.Store.Read.GetLoginPair(ctx, db.GetLoginPairParams{AccountKey: "u:alice", Ip: "192.0.2.1"})
		if err == nil && int(pair.Failures)+len(refused) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("logins neither refused nor admitted within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	release()
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err != nil {
			t.Errorf("an admitted login with the right password: %v", err)
		}
		ok++
	}
	if len(refused) == 0 {
		t.Fatal("no login was refused; the test shows nothing")
	}
	for _, err := range refused {
		throttled(t, "a refused concurrent login", err)
		if strings.Contains(err.Error(), "fail") {
			t.Errorf("a refused login with the right password says %q", err)
		}
	}
	t.Logf("%d logged in, %d refused", ok, len(refused))
}

// TestMailedResetLetsOwnerIn: an owner locked out on a new network with no
// device token gets in with the code mailed through the outbox: confirming a
// reset from there makes the network known, so her login passes while
// strangers stay held, also with the new password.
func TestMailedResetLetsOwnerIn(t *testing.T) { accounttest.Run(t, testMailedResetLetsOwnerIn) }

func testMailedResetLetsOwnerIn(t *testing.T, eng accounttest.Engine) {
	ctx := context.Background()
	svc, _ := newMailService(t, eng)
	u, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "alice", Email: "alice@example.com", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	attack(t, svc, 0)
	const here = "203.0.113.9"
	_, err = svc.LoginWithoutSession(ctx, "alice", password, here)
	throttled(t, "right password from a new network under attack", err)
	if err := svc.SendPasswordReset(ctx, account.Actor{IP: here}, u.ID); err != nil {
		t.Fatal(err)
	}
	const newPassword = "a brand new passphrase for her account"
	if err := svc.ConfirmPasswordReset(ctx, account.Actor{IP: here}, lastToken(t, svc, "password_reset", "alice@example.com"), newPassword); err != nil {
		t.Fatal(err)
	}
	attack(t, svc, 1)
	if _, err := svc.LoginWithoutSession(ctx, "alice", newPassword, here); err != nil {
		t.Fatalf("new password from the network that confirmed the reset, under attack: %v", err)
	}
	_, err = svc.LoginWithoutSession(ctx, "alice", newPassword, "203.0.113.10")
	throttled(t, "new password from another new network under attack", err)
}

// TestSignInCode: an owner with no device token, locked out on a new network,
// asks for a sign-in code, mailed through the outbox; with it and her
// password she gets in past the cap and gets a device token. A wrong password
// with the code is a plain failure. The code works for one login, for 15
// minutes, and only the newest one; the cap still holds everyone else.
func TestSignInCode(t *testing.T) { accounttest.Run(t, testSignInCode) }

func testSignInCode(t *testing.T, eng accounttest.Engine) {
	ctx := context.Background()
	svc, clock := newMailService(t, eng)
	u, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "alice", Email: "alice@example.com", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	code := func() string {
		t.Helper()
		if err := svc.SendSignInCode(ctx, account.Actor{IP: "203.0.113.1"}, u.ID); err != nil {
			t.Fatal(err)
		}
		c := lastToken(t, svc, "sign_in_code", "alice@example.com")
		if !strings.HasPrefix(c, account.SignInCodePrefix) {
			t.Fatalf("mailed code %q, want prefix %s", c, account.SignInCodePrefix)
		}
		return c
	}
	attack(t, svc, 0)
	_, err = loginDevice(svc, password, "203.0.113.1", "")
	throttled(t, "right password from a new network under attack", err)

	first := code()
	if _, err := loginDevice(svc, wrong, "203.0.113.1", first); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("wrong password with the code: err = %v, want ErrBadCredentials", err)
	}
	got, err := loginDevice(svc, password, "203.0.113.1", first)
	if err != nil {
		t.Fatalf("right password with the code under attack: %v", err)
	}
	if !strings.HasPrefix(got.DeviceToken, account.DeviceTokenPrefix) {
		t.Fatalf("login with the code: device token = %q, want a new device token", got.DeviceToken)
	}
	attack(t, svc, 1)
	_, err = loginDevice(svc, password, "203.0.113.2", first)
	throttled(t, "the code used a second time", err)
	if _, err := loginDevice(svc, password, "203.0.113.2", got.DeviceToken); err != nil {
		t.Fatalf("the device token the code was traded for: %v", err)
	}

	older, newer := code(), code()
	_, err = loginDevice(svc, password, "203.0.113.3", older)
	throttled(t, "a code older than the newest", err)
	clock.Advance(account.SignInCodeTTL)
	attack(t, svc, 2)
	_, err = loginDevice(svc, password, "203.0.113.3", newer)
	throttled(t, "a code 15 minutes old", err)
}
