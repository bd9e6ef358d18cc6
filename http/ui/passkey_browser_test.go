package ui_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"roster/account"
	"roster/account/accounttest"
)

// addAuthenticator gives the tab a virtual platform authenticator through
// the DevTools protocol (WebAuthn.addVirtualAuthenticator): it keeps
// discoverable credentials, verifies the user, and answers at once.
func (b *tab) addAuthenticator() {
	b.c.t.Helper()
	err := chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
				Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
				HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
		return err
	}))
	if err != nil {
		b.c.t.Fatalf("%s: virtual authenticator: %v", b.name, err)
	}
}

// press clicks the button matching selector, which runs script, and waits
// until the tab shows a path starting with want.
func (b *tab) press(selector, want string) {
	b.c.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(selector))); err != nil {
		b.c.t.Fatalf("%s: click %s: %v", b.name, selector, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.HasPrefix(b.path(), want) {
		if time.Now().After(deadline) {
			b.c.t.Fatalf("%s: after %s the tab is at %s, want %s; status: %q", b.name, selector, b.path(), want, b.text("#passkey-status"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// newestSession is the account's most recent session.
func (c *console) newestSession(id int64) (aal, methods string) {
	c.t.Helper()
	sessions, err := c.accounts.ListSessions(context.Background(), id)
	if err != nil || len(sessions) == 0 {
		c.t.Fatalf("sessions: %v, %d", err, len(sessions))
	}
	newest := sessions[0]
	for _, s := range sessions {
		if s.CreatedAt.After(newest.CreatedAt) || s.CreatedAt.Equal(newest.CreatedAt) && s.ID != newest.ID && s.Aal != "" {
			newest = s
		}
	}
	return newest.Aal, newest.Methods
}

// TestBrowserPasskeys registers a passkey in chromium with a virtual
// authenticator, signs in with it alone (no username typed), then uses it
// as the second factor of a password sign-in, and renames and removes it:
// the real browser and the real library, no mocks. WebAuthn refuses IP
// origins, so the console is reached at localhost.
func TestBrowserPasskeys(t *testing.T) {
	accounttest.Run(t, testBrowserPasskeys)
}

func testBrowserPasskeys(t *testing.T, eng accounttest.Engine) {
	c := newConsoleWith(t, &eng)
	c.url = strings.Replace(c.url, "127.0.0.1", "localhost", 1)
	rp, err := account.NewWebAuthn(c.url)
	if err != nil {
		t.Fatal(err)
	}
	c.accounts.WebAuthn = rp
	id := c.createUser("pia", "", goodPassword, account.RoleUser)
	b := c.tab("laptop")
	b.addAuthenticator()
	b.signIn("pia", goodPassword)

	b.want("security page", b.open("/ui/account/security"), 200, "Sign-in security")
	if err := chromedp.Do(b.ctx,
		chromedp.SetValue(chromedp.CSS(`[name="passkey_password"]`), goodPassword),
		chromedp.SetValue(chromedp.CSS(`[name="name"]`), "laptop key")); err != nil {
		t.Fatal(err)
	}
	b.press(`button[data-passkey="add"]`, "/ui/account/security?notice=passkey-added")
	if got := b.text("#passkeys-h + p + ul"); b.count(`ul.passkeys li`) != 1 || !strings.Contains(eval[string](b, `document.querySelector("ul.passkeys input[name=name]").value`), "laptop key") {
		t.Fatalf("passkey list after adding: %q", got)
	}
	if aal, methods := c.newestSession(id); aal != "aal2" || methods != "pwd,passkey" {
		t.Errorf("the registering session is %s by %s, want aal2 by pwd,passkey", aal, methods)
	}

	// A passkey alone: no username typed.
	b.want("sign out", b.submit(`form[action="/ui/sign-out"]`), 200, "Sign in")
	b.press(`button[data-passkey="signIn"]`, "/ui/account")
	if aal, methods := c.newestSession(id); aal != "aal2" || methods != "passkey" {
		t.Errorf("the passkey sign-in is %s by %s, want aal2 by passkey (the authenticator verified the user)", aal, methods)
	}

	// The password now asks for a second factor; the passkey gives it.
	b.want("sign out", b.submit(`form[action="/ui/sign-out"]`), 200, "Sign in")
	b.want("password step", b.submit(signInForm, "username", "pia", "password", goodPassword), 200, "Sign in: second step")
	b.press(`button[data-passkey="secondStep"]`, "/ui/account")
	if aal, methods := c.newestSession(id); aal != "aal2" || methods != "pwd,passkey" {
		t.Errorf("the two-step sign-in is %s by %s, want aal2 by pwd,passkey", aal, methods)
	}

	// Rename, then remove (the second factor is fresh).
	b.open("/ui/account/security")
	b.want("rename", b.submit(`form[action$="/rename"]`, "name", "work laptop"), 200, "Sign-in security")
	if v := eval[string](b, `document.querySelector("ul.passkeys input[name=name]").value`); v != "work laptop" {
		t.Errorf("renamed passkey is %q", v)
	}
	b.want("remove", b.submit(`form[action$="/delete"]`), 200, "Sign-in security")
	if n := b.count(`ul.passkeys li`); n != 0 {
		t.Errorf("%d passkeys after removing the only one", n)
	}
	if m, _ := c.accounts.MFA(context.Background(), id); m.Enabled() {
		t.Error("MFA still on after the only passkey was removed")
	}
}

// TestBrowserMFAScreens walks the second-factor pages at a phone's and a
// desktop's width, checking that none overflows, and with ROSTER_SCREENSHOTS
// set saves them (docs/screenshots): setting up an authenticator with its QR
// code, the recovery codes shown once, the security page with a passkey, and
// the sign-in's second step.
func TestBrowserMFAScreens(t *testing.T) {
	c := newConsoleWith(t, nil)
	c.url = strings.Replace(c.url, "127.0.0.1", "localhost", 1)
	rp, err := account.NewWebAuthn(c.url)
	if err != nil {
		t.Fatal(err)
	}
	c.accounts.WebAuthn = rp
	keys, err := account.ParseMFAKeys(account.NewMFAKey())
	if err != nil {
		t.Fatal(err)
	}
	c.accounts.MFAKeys = keys
	c.createUser("ada", "ada@example.com", goodPassword, account.RoleUser)
	dir := os.Getenv("ROSTER_SCREENSHOTS")
	if dir != "" && !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir)
	}
	b := c.tab("screens")
	b.addAuthenticator()
	shoot := func(name string) {
		t.Helper()
		for _, width := range []int64{320, 1280} {
			if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(width, 900)); err != nil {
				t.Fatal(err)
			}
			if w := eval[int](b, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); w > 0 {
				t.Errorf("%s at %d px overflows the viewport by %d px", name, width, w)
			}
			if dir == "" {
				continue
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := b.screenshot(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, width))); err != nil {
				t.Fatal(err)
			}
		}
	}
	b.signIn("ada", goodPassword)
	b.want("security page", b.open("/ui/account/security"), 200, "Sign-in security")
	b.want("authenticator setup", b.submit(`form[action="/ui/account/security/totp"]`, "current_password", goodPassword),
		200, "Sign-in security")
	if n := b.count(`img.qr[src^="data:image/png;base64,"]`); n != 1 {
		t.Fatalf("%d QR codes on the setup page, want 1", n)
	}
	shoot("security-totp-setup")
	secret := strings.ReplaceAll(b.text("code.secret"), " ", "")
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.want("confirm", b.submit(`form[action="/ui/account/security/totp/confirm"]`, "code", code), 200, "Sign-in security",
		"#codes-h", "Your recovery codes")
	if n := b.count(`ul.codes li`); n != 10 {
		t.Fatalf("%d recovery codes shown, want 10", n)
	}
	shoot("security-recovery-codes")
	b.open("/ui/account/security")
	if err := chromedp.Do(b.ctx,
		chromedp.SetValue(chromedp.CSS(`[name="passkey_password"]`), goodPassword),
		chromedp.SetValue(chromedp.CSS(`[name="name"]`), "laptop")); err != nil {
		t.Fatal(err)
	}
	b.press(`button[data-passkey="add"]`, "/ui/account/security?notice=passkey-added")
	shoot("security-on")
	b.want("sign out", b.submit(`form[action="/ui/sign-out"]`), 200, "Sign in")
	b.want("password step", b.submit(signInForm, "username", "ada", "password", goodPassword), 200, "Sign in: second step")
	shoot("sign-in-second-step")
}
