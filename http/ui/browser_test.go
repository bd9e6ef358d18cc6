package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"roster/account"
	"roster/account/accounttest"
	rosterhttp "roster/http"
	"roster/mail"
	"roster/mail/mailtest"
	"roster/outbox"
)

// These tests drive the web console in headless chromium against the real
// handler on a loopback port, with mail going through the outbox worker to a
// real SMTP server. They skip when no chromium is installed.

const (
	goodPassword = "correct horse battery staple"
	newPassword  = "a fresh passphrase nobody guesses"
	adminPass    = "the admin's own long passphrase"
)

// findChromium returns the browser to drive: $ROSTER_CHROMIUM, else
// chromium (Debian's package) or Chrome on the PATH.
func findChromium() string {
	if p := os.Getenv("ROSTER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// console is a running roster with its web console, its SMTP server and a
// headless browser.
type console struct {
	t        *testing.T
	url      string
	accounts *account.Service
	smtp     *mailtest.Server
	browser  context.Context
}

func newConsole(t *testing.T) *console {
	t.Helper()
	return newConsoleWith(t, nil)
}

// newConsoleWith is newConsole on a fresh database of eng (nil: SQLite).
func newConsoleWith(t *testing.T, eng *accounttest.Engine) *console {
	t.Helper()
	exe := findChromium()
	if exe == "" {
		t.Skip("no chromium found (install Debian's chromium, or set ROSTER_CHROMIUM to a Chrome binary): browser tests skipped")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var accounts *account.Service
	if eng != nil {
		accounts = eng.New(t)
	} else {
		accounts = accounttest.New(t)
	}
	smtp := mailtest.Start(t, mailtest.Options{})
	sender, err := mail.NewSMTP(smtp.URL())
	if err != nil {
		t.Fatal(err)
	}
	worker, err := outbox.NewWorker(accounts.Store, sender, "Roster <roster@example.com>", log)
	if err != nil {
		t.Fatal(err)
	}
	accounts.Mail.Notify = worker.Notify
	resets := account.NewResetQueue(accounts, log, account.Limit{})
	ts := httptest.NewUnstartedServer(rosterhttp.NewServer(accounts, log, rosterhttp.Config{UI: true, Resets: resets}))
	accounts.Mail.PublicURL = "http://" + ts.Listener.Addr().String() // the links in mail open this server's pages
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { worker.Run(ctx, nil); done <- struct{}{} }()
	go func() { resets.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	ts.Start()
	t.Cleanup(ts.Close)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil { // start the browser
		t.Fatalf("start %s: %v", exe, err)
	}
	return &console{t: t, url: ts.URL, accounts: accounts, smtp: smtp, browser: browser}
}

// tab is one browser profile (a browser context: its own cookies) with a
// page open in it.
type tab struct {
	c    *console
	name string
	ctx  context.Context
}

// tab opens a fresh profile, as if on another device. When the test fails,
// a screenshot of the tab's page is saved and its path logged.
func (c *console) tab(name string) *tab {
	c.t.Helper()
	ctx, cancel := chromedp.NewContext(c.browser, chromedp.WithNewBrowserContext())
	// One deadline for everything the tab does, however many steps: under
	// -race beside the rest of the suite a whole test took 9–13 s here.
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	c.t.Cleanup(cancel)
	c.t.Cleanup(cancelTimeout)
	b := &tab{c: c, name: name, ctx: ctx}
	c.t.Cleanup(func() {
		if !c.t.Failed() {
			return
		}
		file := filepath.Join(os.TempDir(), "roster-ui-"+regexp.MustCompile(`\W+`).ReplaceAllString(c.t.Name()+"-"+name, "_")+".png")
		if err := b.screenshot(file); err != nil {
			c.t.Logf("%s: no screenshot: %v", name, err)
			return
		}
		c.t.Logf("%s: screenshot of the failing page: %s", name, file)
	})
	return b
}

func (b *tab) screenshot(file string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	return os.WriteFile(file, png, 0o644)
}

// open loads a console path and returns the status of the page it lands on.
func (b *tab) open(path string) int64 {
	b.c.t.Helper()
	res, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(b.c.url+path))
	if err != nil {
		b.c.t.Fatalf("%s: open %s: %v", b.name, path, err)
	}
	return res.Status
}

// submit fills the form matching selector with name, value pairs and presses
// its submit button (the first one), returning the status of the page the
// browser lands on.
func (b *tab) submit(form string, fields ...string) int64 {
	b.c.t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(fields); i += 2 {
		steps = append(steps, chromedp.SetValue(chromedp.CSS(form+` [name="`+fields[i]+`"]`), fields[i+1]))
	}
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.c.t.Fatalf("%s: fill %s: %v", b.name, form, err)
	}
	res, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)))
	if err != nil {
		b.c.t.Fatalf("%s: submit %s: %v", b.name, form, err)
	}
	return res.Status
}

// eval runs a JavaScript expression in the page through DevTools (the page
// itself runs no script) and decodes its value.
func eval[T any](b *tab, expr string) T {
	b.c.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.c.t.Fatalf("%s: evaluate %s: %v", b.name, expr, err)
	}
	return v
}

// text is the visible text of the first element matching selector, "" when none does.
func (b *tab) text(selector string) string {
	b.c.t.Helper()
	sel, _ := json.Marshal(selector)
	return eval[string](b, `document.querySelector(`+string(sel)+`)?.innerText ?? ""`)
}

// count is the number of elements matching selector.
func (b *tab) count(selector string) int {
	b.c.t.Helper()
	sel, _ := json.Marshal(selector)
	return eval[int](b, `document.querySelectorAll(`+string(sel)+`).length`)
}

// path is the path and query of the page the tab shows.
func (b *tab) path() string {
	b.c.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.c.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, b.c.url)
}

// want fails the test unless the tab shows the page titled h1 with status,
// and every wanted text appears in the element its selector names.
func (b *tab) want(what string, status, wantStatus int64, h1 string, texts ...string) {
	b.c.t.Helper()
	if got := b.text("h1"); status != wantStatus || got != h1 {
		b.c.t.Fatalf("%s: %s: status %d, h1 %q at %s; want %d, %q; page: %s",
			b.name, what, status, got, b.path(), wantStatus, h1, b.text("main"))
	}
	for i := 0; i+1 < len(texts); i += 2 {
		if got := b.text(texts[i]); !strings.Contains(got, texts[i+1]) {
			b.c.t.Fatalf("%s: %s: %s says %q, want it to contain %q", b.name, what, texts[i], got, texts[i+1])
		}
	}
}

// signIn signs in through the sign-in form and expects the account page.
func (b *tab) signIn(username, password string) {
	b.c.t.Helper()
	b.want("sign-in page", b.open("/ui/sign-in"), 200, "Sign in")
	b.want("sign in as "+username, b.submit(signInForm, "username", username, "password", password), 200, "Your account")
}

const (
	signInForm   = `form[action="/ui/sign-in"]`
	signUpForm   = `form[action="/ui/sign-up"]`
	passwordForm = `form[action="/ui/account/password"]`
)

func (c *console) createUser(username, email, password, role string) int64 {
	c.t.Helper()
	u, err := c.accounts.CreateUser(context.Background(), account.Actor{},
		account.NewUser{Username: username, Email: email, Password: password, Role: role})
	if err != nil {
		c.t.Fatal(err)
	}
	return u.ID
}

// TestBrowserAccountLifecycle: sign up → sign in → change password → two
// sessions, revoke the other → an admin disables the user → the user's next
// page load lands on the sign-in page.
func TestBrowserAccountLifecycle(t *testing.T) {
	c := newConsole(t)
	c.createUser("root", "", adminPass, account.RoleAdmin)
	laptop := c.tab("laptop")

	// The console's front door leads a stranger to sign in.
	laptop.want("GET /", laptop.open("/"), 200, "Sign in")
	if p := laptop.path(); p != "/ui/sign-in?next=%2Fui%2F" {
		t.Errorf("GET / landed on %s, want the sign-in page", p)
	}

	// Sign up: the password policy's answer appears beside the field.
	laptop.want("sign-up page", laptop.open("/ui/sign-up"), 200, "Create an account")
	status := laptop.submit(signUpForm, "username", "dana", "email", "dana@example.com", "password", "short one")
	laptop.want("sign up with a short password", status, 422, "Create an account",
		"#f-password-error", "Password must be at least 15 characters", ".alert", "correct")
	if got := eval[string](laptop, `document.querySelector("#f-username").value`); got != "dana" {
		t.Errorf("username field after a refused sign-up = %q, want it kept", got)
	}
	status = laptop.submit(signUpForm, "username", "dana", "email", "dana@example.com", "password", goodPassword)
	laptop.want("sign up", status, 200, "Sign in", ".notice", "Your account is ready")
	laptop.open("/ui/sign-up")
	status = laptop.submit(signUpForm, "username", "DANA", "password", goodPassword)
	laptop.want("sign up with a taken name", status, 409, "Create an account", "#f-username-error", "Username is already taken")

	// Sign in: a wrong password is one generic answer; the right one opens the account.
	laptop.want("sign-in page", laptop.open("/ui/sign-in"), 200, "Sign in")
	status = laptop.submit(signInForm, "username", "dana", "password", "not the password at all")
	laptop.want("wrong password", status, 401, "Sign in", ".alert", "username or password is wrong")
	laptop.want("sign in", laptop.submit(signInForm, "username", "dana", "password", goodPassword), 200, "Your account")

	// A user is no admin.
	laptop.want("admin page as a user", laptop.open("/ui/admin/users"), 403, "Forbidden", ".alert", "admins only")

	// Change the password: the current one is checked first.
	laptop.open("/ui/account")
	status = laptop.submit(passwordForm, "current_password", "not the password at all", "new_password", newPassword)
	laptop.want("wrong current password", status, 403, "Your account", "#f-current_password-error", "Current password is wrong")
	status = laptop.submit(passwordForm, "current_password", goodPassword, "new_password", newPassword)
	laptop.want("change password", status, 200, "Your account", ".notice", "Your password is changed")

	// A second device signs in; the laptop sees two sessions and signs the other out.
	phone := c.tab("phone")
	phone.signIn("dana", newPassword)
	laptop.open("/ui/account")
	if n := laptop.count("tbody tr"); n != 2 {
		t.Fatalf("laptop lists %d sessions, want 2", n)
	}
	if n := laptop.count("tbody tr.current"); n != 1 {
		t.Fatalf("laptop marks %d sessions as this browser, want 1", n)
	}
	status = laptop.submit(`tbody tr:not(.current) form`)
	laptop.want("revoke the other session", status, 200, "Your account", ".notice", "That session is signed out")
	if n := laptop.count("tbody tr"); n != 1 {
		t.Errorf("laptop lists %d sessions after revoking the other, want 1", n)
	}
	phone.want("phone after revocation", phone.open("/ui/account"), 200, "Sign in")

	// An admin finds dana and disables the account.
	admin := c.tab("admin")
	admin.signIn("root", adminPass)
	admin.want("users", admin.open("/ui/admin/users"), 200, "Users")
	status = admin.submit(`form.filters`, "q", "DAN")
	admin.want("search", status, 200, "Users")
	if n, first := admin.count("tbody tr"), admin.text("tbody tr td"); n != 1 || first != "dana" {
		t.Fatalf("search DAN lists %d users, first %q; want dana alone", n, first)
	}
	if _, err := chromedp.RunResponse(admin.ctx, chromedp.Click(chromedp.CSS(`tbody a`))); err != nil {
		t.Fatal(err)
	}
	admin.want("user page", 200, 200, "User dana")
	status = admin.submit(`form[action^="/ui/admin/users/"]:not([action$="revoke"])`, "status", "disabled")
	admin.want("disable dana", status, 200, "User dana", ".notice", "The user is saved")

	// The laptop's next page load lands on the sign-in page, and dana cannot sign in.
	laptop.want("laptop after disabling", laptop.open("/ui/account"), 200, "Sign in")
	if p := laptop.path(); p != "/ui/sign-in?next=%2Fui%2Faccount" {
		t.Errorf("laptop landed on %s, want the sign-in page", p)
	}
	status = laptop.submit(signInForm, "username", "dana", "password", newPassword)
	laptop.want("sign in while disabled", status, 401, "Sign in", ".alert", "username or password is wrong")
}

// TestBrowserPasswordReset: forgotten password and email verification, with
// the codes read from mail delivered over SMTP.
func TestBrowserPasswordReset(t *testing.T) {
	c := newConsole(t)
	c.createUser("erin", "erin@example.com", goodPassword, "")
	b := c.tab("erin")

	verification := mailtest.Find(t, c.smtp.Wait(1)[0], account.VerificationTokenPrefix+`[A-Za-z0-9_-]{43}`)

	b.want("sign-in page", b.open("/ui/sign-in"), 200, "Sign in")
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(`a[href="/ui/reset-password"]`))); err != nil {
		t.Fatal(err)
	}
	b.want("reset page", 200, 200, "Forgotten password")
	status := b.submit(`form[action="/ui/reset-password"]`, "login", "Erin@Example.com")
	b.want("ask for a reset", status, 200, "Choose a new password", ".notice", "a message with a reset code is on its way")

	msgs := c.smtp.Wait(2)
	_, body, err := msgs[1].Parse()
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(regexp.QuoteMeta(c.url) + `/\S+`).FindString(body)
	code := mailtest.Find(t, msgs[1], account.ResetTokenPrefix+`[A-Za-z0-9_-]{43}`)
	if link != c.url+"/ui/reset-password/confirm" {
		t.Fatalf("reset mail links to %q, want the console's confirm page without the code:\n%s", link, body)
	}

	// Follow the mailed link; the code goes into the form, never into a URL.
	b.want("mailed link", b.open(strings.TrimPrefix(link, c.url)), 200, "Choose a new password")
	confirm := `form[action="/ui/reset-password/confirm"]`
	status = b.submit(confirm, "token", code[:len(code)-1]+"x", "new_password", newPassword)
	b.want("wrong code", status, 400, "Choose a new password", "#f-token-error", "Reset code is invalid, expired or already used")
	status = b.submit(confirm, "token", " "+code+" ", "new_password", "password")
	b.want("weak password", status, 422, "Choose a new password", "#f-new_password-error", "New password must be at least")
	status = b.submit(confirm, "token", code, "new_password", newPassword)
	b.want("reset", status, 200, "Sign in", ".notice", "Your new password is set")
	b.signIn("erin", newPassword)

	// The reset proved the address; the code mailed at sign-up still
	// confirms it once, and then no more.
	if got := b.text(".status-line"); !strings.Contains(got, "Verified") {
		t.Errorf("account page after a reset says %q, want the address verified", got)
	}
	verify := `form[action="/ui/verify-email"]`
	b.want("verify page", b.open("/ui/verify-email"), 200, "Verify your email address")
	status = b.submit(verify, "token", verification)
	b.want("verify", status, 200, "Verify your email address", ".notice", "Your email address is verified")
	b.open("/ui/verify-email")
	status = b.submit(verify, "token", verification)
	b.want("used verification code", status, 400, "Verify your email address", "#f-token-error", "Confirmation code is invalid")
}

// TestBrowserScreens checks the pages at 320 px and on a desktop, and with
// ROSTER_SCREENSHOTS=dir writes docs/console.md's screenshots there (a relative
// dir is taken from the repository root).
func TestBrowserScreens(t *testing.T) {
	c := newConsole(t)
	c.createUser("root", "root@example.com", adminPass, account.RoleAdmin)
	for _, u := range []struct{ name, email, role string }{
		{"ada", "ada@example.com", ""}, {"grace", "grace@example.com", ""}, {"linus", "", ""},
		{"margaret", "margaret@example.org", account.RoleAdmin}, {"ken", "ken@example.net", ""},
	} {
		c.createUser(u.name, u.email, goodPassword, u.role)
	}
	ken, _ := c.accounts.UserByName(context.Background(), "ken")
	disabled := account.StatusDisabled
	if _, err := c.accounts.UpdateUser(context.Background(), account.Actor{}, ken.ID, account.UserChange{Status: &disabled}); err != nil {
		t.Fatal(err)
	}

	dir := os.Getenv("ROSTER_SCREENSHOTS")
	if dir != "" && !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir)
	}
	b := c.tab("screens")
	shoot := func(name string) {
		t.Helper()
		if dir == "" {
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := b.screenshot(filepath.Join(dir, name+".png")); err != nil {
			t.Fatal(err)
		}
	}
	// noOverflow fails the test when the page is wider than the viewport.
	noOverflow := func(what string) {
		t.Helper()
		if w := eval[int](b, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); w > 0 {
			t.Errorf("%s overflows the viewport by %d px", what, w)
		}
	}

	for _, width := range []int64{320, 1280} {
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(width, 800)); err != nil {
			t.Fatal(err)
		}
		b.want("sign-in page", b.open("/ui/sign-in"), 200, "Sign in")
		noOverflow("sign-in page")
		shoot(fmt.Sprintf("sign-in-%d", width))
	}
	b.signIn("root", adminPass)
	phone := c.tab("phone")
	phone.signIn("root", adminPass)
	for _, width := range []int64{320, 1280} {
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(width, 800)); err != nil {
			t.Fatal(err)
		}
		b.want("account page", b.open("/ui/account"), 200, "Your account")
		noOverflow("account page")
		shoot(fmt.Sprintf("account-%d", width))
		b.want("users page", b.open("/ui/admin/users"), 200, "Users")
		noOverflow("users page")
		shoot(fmt.Sprintf("admin-users-%d", width))
	}
}
