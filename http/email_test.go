package http_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
	rosterhttp "roster/http"
	"roster/mail"
	"roster/mail/mailtest"
	"roster/outbox"
)

// mailEnv is a test server whose mail goes through a real outbox worker to a
// real SMTP server (STARTTLS and AUTH PLAIN) on loopback. The worker runs on
// the test clock and wakes on Notify or when the test sends on tick.
type mailEnv struct {
	*testServer
	smtp  *mailtest.Server
	clock *accounttest.Clock
	tick  chan time.Time
}

const (
	publicURL = "https://roster.example.com"
	newPass   = "a fresh passphrase nobody guesses"
)

func newMailEnv(t *testing.T, cfg rosterhttp.Config, setup ...func(*account.Service)) *mailEnv {
	t.Helper()
	accounts := accounttest.New(t)
	clock := accounttest.NewClock(time.Now().UTC().Truncate(time.Second))
	accounts.Now = clock.Now
	accounts.Mail.PublicURL = publicURL
	for _, f := range setup {
		f(accounts)
	}
	smtp := mailtest.Start(t, mailtest.Options{StartTLS: true, User: "roster", Pass: "s3cret"})
	sender, err := mail.NewSMTP(smtp.URL())
	if err != nil {
		t.Fatal(err)
	}
	sender.TLS = smtp.ClientTLS()
	worker, err := outbox.NewWorker(accounts.Store, sender, "Roster <roster@example.com>",
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	worker.Now = clock.Now
	accounts.Mail.Notify = worker.Notify
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		worker.Run(ctx, tick)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &mailEnv{testServer: newTestServerConfig(t, accounts, cfg), smtp: smtp, clock: clock, tick: tick}
}

// mailTo waits for the nth (from 1) message to an address whose subject
// holds subject.
func (e *mailEnv) mailTo(to, subject string, n int) mailtest.Received {
	e.t.Helper()
	for total := 1; ; total++ {
		var found []mailtest.Received
		for _, m := range e.smtp.Wait(total) {
			h, _, err := m.Parse()
			if err != nil {
				e.t.Fatalf("delivered message does not parse: %v\n%s", err, m.Data)
			}
			if h.Get("To") == "<"+to+">" && strings.Contains(h.Get("Subject"), subject) {
				found = append(found, m)
			}
		}
		if len(found) >= n {
			return found[n-1]
		}
	}
}

// token reads the token of the given prefix out of the nth mail to an address.
func (e *mailEnv) token(to, subject, prefix string, n int) string {
	e.t.Helper()
	return mailtest.Find(e.t, e.mailTo(to, subject, n), prefix+`[A-Za-z0-9_-]{43}`)
}

func (e *mailEnv) outbox() []db.Outbox {
	e.t.Helper()
	rows, err := e.accounts.Store.Read.ListOutboxMessages(context.Background(), db.ListOutboxMessagesParams{Lim: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func wantCode(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	want(t, what, r, status)
	if p := decodeAs[problem](t, r); p.Code != code {
		t.Fatalf("%s: code = %q, want %q; body=%s", what, p.Code, code, r.body)
	}
}

type meUser struct {
	EmailVerifiedAt *time.Time `json:"email_verified_at"`
}

func TestEmailVerificationOverSMTP(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t, rosterhttp.Config{})
	e.signup("ann", "Ann@example.com", goodPassword)
	m := e.mailTo("Ann@example.com", "Confirm your email address", 1)
	h, body, _ := m.Parse()
	if h.Get("From") != `"Roster" <roster@example.com>` || !strings.HasSuffix(h.Get("Message-Id"), "@example.com>") ||
		h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("Date") == "" {
		t.Errorf("headers = %v", h)
	}
	tok := e.token("Ann@example.com", "Confirm", account.VerificationTokenPrefix, 1)
	if !strings.Contains(body, publicURL+"/ui/verify-email\r\n") || strings.Contains(body, "?"+tok) || strings.Contains(body, "#"+tok) {
		t.Errorf("mail lacks the console link, or puts the token in a URL:\n%s", body)
	}

	session := e.login("ann", goodPassword)
	if u := decodeAs[meUser](t, e.json("GET", "/v1/me", nil, session)); u.EmailVerifiedAt != nil {
		t.Fatalf("email_verified_at = %v before verifying", u.EmailVerifiedAt)
	}
	// Resend: a second mail with a second token; either works.
	r := e.json("POST", "/v1/me/email-verification", nil, session)
	want(t, "POST /v1/me/email-verification", r, http.StatusAccepted)
	second := e.token("Ann@example.com", "Confirm", account.VerificationTokenPrefix, 2)
	if second == tok {
		t.Fatal("the resent mail carries the same token")
	}

	r = e.json("POST", "/v1/email-verifications", map[string]string{"token": second}, "")
	want(t, "POST /v1/email-verifications", r, http.StatusNoContent)
	if u := decodeAs[meUser](t, e.json("GET", "/v1/me", nil, session)); u.EmailVerifiedAt == nil {
		t.Fatal("email_verified_at is null after verifying")
	}
	for _, bad := range []string{second, tok, "", "rev_nope", strings.Replace(tok, "rev_", "rpr_", 1)} {
		r = e.json("POST", "/v1/email-verifications", map[string]string{"token": bad}, "")
		wantCode(t, "POST /v1/email-verifications (used, voided or foreign token "+bad+")", r, http.StatusBadRequest, "invalid_token")
	}
	r = e.json("POST", "/v1/me/email-verification", nil, session)
	wantCode(t, "resend after verifying", r, http.StatusConflict, "email_already_verified")

	// An email change unverifies, mails the new address and tells the old one.
	r = e.json("PATCH", "/v1/me", map[string]string{"email": "ann@example.net", "current_password": goodPassword}, session)
	want(t, "PATCH /v1/me", r, http.StatusOK)
	if u := decodeAs[meUser](t, r); u.EmailVerifiedAt != nil {
		t.Errorf("email_verified_at = %v after an email change, want null", u.EmailVerifiedAt)
	}
	e.mailTo("Ann@example.com", "Your email address was changed", 1)
	tok = e.token("ann@example.net", "Confirm", account.VerificationTokenPrefix, 1)
	r = e.json("POST", "/v1/email-verifications", map[string]string{"token": tok}, "")
	want(t, "verify the new address", r, http.StatusNoContent)
}

func TestRequireVerifiedEmailLogin(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t, rosterhttp.Config{}, func(s *account.Service) { s.RequireVerifiedEmail = true })
	r := e.json("POST", "/v1/users", map[string]string{"username": "bob", "password": goodPassword}, "")
	want(t, "sign-up without email", r, http.StatusUnprocessableEntity)
	e.signup("bob", "bob@example.com", goodPassword)

	r = e.json("POST", "/v1/sessions", map[string]string{"username": "bob", "password": "not bob's password at all"}, "")
	wantCode(t, "login with a wrong password", r, http.StatusUnauthorized, "invalid_credentials")
	r = e.json("POST", "/v1/sessions", map[string]string{"username": "bob", "password": goodPassword}, "")
	wantCode(t, "login before verifying", r, http.StatusForbidden, "email_unverified")

	tok := e.token("bob@example.com", "Confirm", account.VerificationTokenPrefix, 1)
	want(t, "verify", e.json("POST", "/v1/email-verifications", map[string]string{"token": tok}, ""), http.StatusNoContent)
	e.login("bob", goodPassword)
}

func TestPasswordResetOverSMTP(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t, rosterhttp.Config{})
	e.signup("cleo", "cleo@example.com", goodPassword)
	before := e.login("cleo", goodPassword)
	other := e.login("cleo", goodPassword)

	r := e.json("POST", "/v1/password-resets", map[string]string{"email": "CLEO@example.com"}, "")
	want(t, "POST /v1/password-resets", r, http.StatusAccepted)
	m := e.mailTo("cleo@example.com", "Reset your password", 1)
	tok := mailtest.Find(t, m, account.ResetTokenPrefix+`[A-Za-z0-9_-]{43}`)
	if _, body, _ := m.Parse(); !strings.Contains(body, publicURL+"/ui/reset-password/confirm\r\n") ||
		strings.Contains(body, "?"+tok) || strings.Contains(body, "#"+tok) {
		t.Errorf("mail lacks the console's reset link, or puts the token in a URL:\n%s", body)
	}

	confirm := func(token, pw string) response {
		return e.json("POST", "/v1/password-resets/confirm", map[string]string{"token": token, "new_password": pw}, "")
	}
	wantCode(t, "confirm with a short password", confirm(tok, "too short"), http.StatusUnprocessableEntity, "password_too_short")
	wantCode(t, "confirm with a verification token", confirm(e.token("cleo@example.com", "Confirm", account.VerificationTokenPrefix, 1), newPass),
		http.StatusBadRequest, "invalid_token")
	want(t, "confirm", confirm(tok, newPass), http.StatusNoContent)
	wantCode(t, "confirm again", confirm(tok, newPass+"!"), http.StatusBadRequest, "invalid_token")

	for _, s := range []string{before, other} {
		want(t, "GET /v1/me with a session from before the reset", e.json("GET", "/v1/me", nil, s), http.StatusUnauthorized)
	}
	r = e.json("POST", "/v1/sessions", map[string]string{"username": "cleo", "password": goodPassword}, "")
	want(t, "login with the old password", r, http.StatusUnauthorized)
	session := e.login("cleo", newPass)
	if u := decodeAs[meUser](t, e.json("GET", "/v1/me", nil, session)); u.EmailVerifiedAt == nil {
		t.Error("the reset did not verify the address it went to")
	}
	e.mailTo("cleo@example.com", "Your password was changed", 1)
}

func TestPasswordResetTokenExpiresAndOlderOnesDie(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t, rosterhttp.Config{})
	e.signup("dora", "dora@example.com", goodPassword)
	ask := func() {
		want(t, "POST /v1/password-resets", e.json("POST", "/v1/password-resets", map[string]string{"username": "dora"}, ""), http.StatusAccepted)
	}
	ask()
	first := e.token("dora@example.com", "Reset", account.ResetTokenPrefix, 1)
	ask()
	second := e.token("dora@example.com", "Reset", account.ResetTokenPrefix, 2)
	confirm := func(token string) response {
		return e.json("POST", "/v1/password-resets/confirm", map[string]string{"token": token, "new_password": newPass}, "")
	}
	wantCode(t, "confirm the older token", confirm(first), http.StatusBadRequest, "invalid_token")
	e.clock.Advance(account.ResetTTL)
	wantCode(t, "confirm after 30 minutes", confirm(second), http.StatusBadRequest, "invalid_token")
}

func TestConcurrentResetConfirmsOverHTTP(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t, rosterhttp.Config{})
	e.signup("eli", "eli@example.com", goodPassword)
	want(t, "POST /v1/password-resets", e.json("POST", "/v1/password-resets", map[string]string{"username": "eli"}, ""), http.StatusAccepted)
	tok := e.token("eli@example.com", "Reset", account.ResetTokenPrefix, 1)

	statuses := make([]int, 2)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range statuses {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("POST", e.URL+"/v1/password-resets/confirm",
				strings.NewReader(`{"token":"`+tok+`","new_password":"`+newPass+`"}`))
			req.Header.Set("Content-Type", "application/json")
			res, err := e.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses[i] = res.StatusCode
		})
	}
	close(start)
	wg.Wait()
	if !(statuses[0] == 204 && statuses[1] == 400 || statuses[0] == 400 && statuses[1] == 204) {
		t.Fatalf("two concurrent confirmations answered %v, want one 204 and one 400", statuses)
	}
}

func TestResetRequestAnswerIsTheSameForUnknownAccounts(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t, rosterhttp.Config{})
	e.signup("fay", "fay@example.com", goodPassword)
	e.signup("gus", "", goodPassword) // an account without an address
	bodies := []map[string]string{
		{"username": "fay"}, {"email": "fay@example.com"}, {"username": "gus"},
		{"username": "nobody"}, {"email": "nobody@example.com"}, {"username": "not a valid name"},
	}
	var first response
	for i, b := range bodies {
		r := e.json("POST", "/v1/password-resets", b, "")
		want(t, "POST /v1/password-resets", r, http.StatusAccepted)
		if i == 0 {
			first = r
			continue
		}
		if r.body != first.body {
			t.Errorf("body for %v = %q, want the same bytes as for an existing account: %q", b, r.body, first.body)
		}
		for _, k := range []string{"Content-Type", "Content-Length", "Cache-Control", "X-Ratelimit-Limit"} {
			if r.header.Get(k) != first.header.Get(k) {
				t.Errorf("%s for %v = %q, want %q", k, b, r.header.Get(k), first.header.Get(k))
			}
		}
	}
	// Only fay gets mail: two resets (and her verification mail).
	e.mailTo("fay@example.com", "Reset", 2)
	for _, m := range e.outbox() {
		if m.Kind == "password_reset" && m.Recipient != "fay@example.com" {
			t.Errorf("a reset mail went to %s", m.Recipient)
		}
	}
	for _, b := range []string{`{}`, `{"username":"fay","email":"fay@example.com"}`, `{"username":""}`, `{"login":"fay"}`} {
		r := e.json("POST", "/v1/password-resets", b, "")
		if r.status != http.StatusUnprocessableEntity && r.status != http.StatusBadRequest {
			t.Errorf("POST /v1/password-resets %s: status = %d, want 400 or 422; body=%s", b, r.status, r.body)
		}
	}
}

func TestResetSurvivesSMTPOutage(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t, rosterhttp.Config{})
	e.signup("hal", "", goodPassword)
	session := e.login("hal", goodPassword)
	e.smtp.Stop()
	want(t, "PATCH /v1/me", e.json("PATCH", "/v1/me", map[string]string{"email": "hal@example.com", "current_password": goodPassword}, session), http.StatusOK)
	want(t, "POST /v1/password-resets", e.json("POST", "/v1/password-resets", map[string]string{"username": "hal"}, ""), http.StatusAccepted)

	// Wait until the worker has tried both messages and failed.
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows := e.outbox()
		tried := 0
		for _, m := range rows {
			if m.Attempts > 0 && m.Status == outbox.StatusPending && m.LastError != "" {
				tried++
			}
		}
		if tried == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox rows after the outage began: %+v", rows)
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.smtp.Start()
	e.clock.Advance(outbox.DefaultRetryMin)
	e.tick <- e.clock.Now()
	tok := e.token("hal@example.com", "Reset", account.ResetTokenPrefix, 1)
	r := e.json("POST", "/v1/password-resets/confirm", map[string]string{"token": tok, "new_password": newPass}, "")
	want(t, "confirm the reset mailed after the outage", r, http.StatusNoContent)
}

func TestMailRateLimits(t *testing.T) {
	t.Parallel()
	t.Run("per target", func(t *testing.T) {
		t.Parallel()
		e := newMailEnv(t, rosterhttp.Config{MailTargetRate: rosterhttp.Rate{Requests: 2, Per: time.Hour}})
		for range 2 {
			r := e.json("POST", "/v1/password-resets", map[string]string{"email": "Ivy@example.com"}, "")
			want(t, "reset request within the limit", r, http.StatusAccepted)
		}
		r := e.json("POST", "/v1/password-resets", map[string]string{"email": "ivy@EXAMPLE.com"}, "")
		wantCode(t, "third reset request for one address", r, http.StatusTooManyRequests, "rate_limited")
		if r.header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		want(t, "another address", e.json("POST", "/v1/password-resets", map[string]string{"email": "jo@example.com"}, ""), http.StatusAccepted)

		e.signup("kim", "kim@example.com", goodPassword)
		s := e.login("kim", goodPassword)
		for range 2 {
			want(t, "resend", e.json("POST", "/v1/me/email-verification", nil, s), http.StatusAccepted)
		}
		wantCode(t, "third resend", e.json("POST", "/v1/me/email-verification", nil, s), http.StatusTooManyRequests, "rate_limited")
	})
	t.Run("per account", func(t *testing.T) {
		t.Parallel()
		// Each name of one account has its own per-target budget, and every
		// request gets the same 202; the mails to the account are capped.
		e := newMailEnv(t, rosterhttp.Config{MailTargetRate: rosterhttp.Rate{Requests: 2, Per: time.Hour}})
		e.signup("amy", "amy@example.com", goodPassword)
		e.signup("bea", "bea@example.com", goodPassword)
		var first response
		for i, body := range []map[string]string{{"username": "amy"}, {"email": "amy@example.com"}, {"username": "AMY"}, {"email": "Amy@Example.com"}} {
			r := e.json("POST", "/v1/password-resets", body, "")
			want(t, fmt.Sprintf("reset request %v", body), r, http.StatusAccepted)
			if i == 0 {
				first = r
			} else if r.body != first.body {
				t.Errorf("reset request %v: body = %s, want %s", body, r.body, first.body)
			}
		}
		// The queue serves requests in order: once bea's mail is queued,
		// amy's four requests have been served.
		want(t, "reset request for bea", e.json("POST", "/v1/password-resets", map[string]string{"username": "bea"}, ""), http.StatusAccepted)
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if slices.ContainsFunc(e.outbox(), func(m db.Outbox) bool { return m.Kind == "password_reset" && m.Recipient == "bea@example.com" }) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("bea's reset mail was never queued")
			}
		}
		n := 0
		for _, m := range e.outbox() {
			if m.Kind == "password_reset" && m.Recipient == "amy@example.com" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d reset mails to amy after four requests by name and address, want 2", n)
		}
	})
	t.Run("per IP", func(t *testing.T) {
		t.Parallel()
		e := newMailEnv(t, rosterhttp.Config{MailRate: rosterhttp.Rate{Requests: 3, Per: time.Hour}})
		for _, name := range []string{"a", "b", "c"} {
			want(t, "reset request within the limit", e.json("POST", "/v1/password-resets", map[string]string{"username": name}, ""), http.StatusAccepted)
		}
		r := e.json("POST", "/v1/password-resets", map[string]string{"username": "d"}, "")
		wantCode(t, "fourth reset request from one IP", r, http.StatusTooManyRequests, "rate_limited")
		// Confirming is not a mail-sending route and is not limited here.
		wantCode(t, "confirm", e.json("POST", "/v1/password-resets/confirm", map[string]string{"token": "x", "new_password": newPass}, ""),
			http.StatusBadRequest, "invalid_token")
	})
}

type outboxPage struct {
	Messages []map[string]any `json:"messages"`
}

func TestAdminOutbox(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t, rosterhttp.Config{})
	_, adminToken := e.admin("root")
	e.smtp.RejectRecipients(550)
	e.signup("lou", "lou@example.com", goodPassword)
	deadline := time.Now().Add(30 * time.Second)
	for len(e.outbox()) == 0 || e.outbox()[0].Status != outbox.StatusFailed {
		if time.Now().After(deadline) {
			t.Fatalf("outbox = %+v, want the refused mail failed", e.outbox())
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := e.json("GET", "/v1/admin/outbox?status=failed", nil, adminToken)
	want(t, "GET /v1/admin/outbox?status=failed", r, http.StatusOK)
	page := decodeAs[outboxPage](t, r)
	if len(page.Messages) != 1 || page.Messages[0]["to"] != "lou@example.com" || page.Messages[0]["kind"] != "email_verification" ||
		!strings.Contains(page.Messages[0]["last_error"].(string), "550") {
		t.Fatalf("failed messages = %s", r.body)
	}
	if strings.Contains(r.body, "rev_") || strings.Contains(r.body, "body") {
		t.Errorf("the outbox listing shows a body or token: %s", r.body)
	}
	r = e.json("GET", "/v1/admin/outbox?status=sent", nil, adminToken)
	if page := decodeAs[outboxPage](t, r); len(page.Messages) != 0 {
		t.Errorf("sent messages = %s, want none", r.body)
	}
	wantCode(t, "bad status", e.json("GET", "/v1/admin/outbox?status=lost", nil, adminToken), http.StatusBadRequest, "invalid_query")
}

// BenchmarkPasswordResetRequest measures POST /v1/password-resets for names
// that exist and names that do not; the answer does the same work for both,
// the lookup and the mail happening behind it:
//
//	go test ./http/ -run '^$' -bench PasswordResetRequest -benchtime 2000x
func BenchmarkPasswordResetRequest(b *testing.B) {
	svc := accounttest.New(b)
	ts := newTestServerConfig(b, svc, rosterhttp.Config{})
	ts.signup("nina", "nina@example.com", goodPassword)
	ts.signup("omar", "", goodPassword)
	for _, tt := range []struct{ name, body string }{
		{"existing_username", `{"username":"nina"}`},
		{"existing_email", `{"email":"nina@example.com"}`},
		{"no_email", `{"username":"omar"}`},
		{"unknown_username", `{"username":"nobody"}`},
		{"unknown_email", `{"email":"nobody@example.com"}`},
	} {
		b.Run("kind="+tt.name, func(b *testing.B) {
			for b.Loop() {
				if r := ts.do("POST", "/v1/password-resets", "application/json", tt.body); r.status != http.StatusAccepted {
					b.Fatalf("status %d, want 202; body=%s", r.status, r.body)
				}
			}
		})
	}
}

func TestClientEmailCalls(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t, rosterhttp.Config{})
	ctx := context.Background()
	c := rosterhttp.NewClient(e.URL, e.Client())
	if _, err := c.Signup(ctx, rosterhttp.SignupRequest{Username: "nell", Email: "nell@example.com", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "nell", goodPassword); err != nil {
		t.Fatal(err)
	}
	if err := c.ResendVerification(ctx); err != nil {
		t.Fatalf("ResendVerification: %v", err)
	}
	if err := c.VerifyEmail(ctx, e.token("nell@example.com", "Confirm", account.VerificationTokenPrefix, 2)); err != nil {
		t.Fatalf("VerifyEmail: %v", err)
	}
	if err := c.VerifyEmail(ctx, "rev_"+strings.Repeat("A", 43)); !errors.Is(err, rosterhttp.ErrBadRequest) {
		t.Errorf("VerifyEmail(unknown token) = %v, want ErrBadRequest", err)
	}
	if err := c.RequestPasswordReset(ctx, rosterhttp.PasswordResetRequest{Username: "nell"}); err != nil {
		t.Fatalf("RequestPasswordReset: %v", err)
	}
	tok := e.token("nell@example.com", "Reset your password", account.ResetTokenPrefix, 1)
	if err := c.ConfirmPasswordReset(ctx, tok, newPass); err != nil {
		t.Fatalf("ConfirmPasswordReset: %v", err)
	}
	if _, err := c.Me(ctx); !errors.Is(err, rosterhttp.ErrUnauthorized) {
		t.Errorf("Me after a reset = %v, want ErrUnauthorized (the reset revokes every session)", err)
	}

	e.createUser("root", account.RoleAdmin)
	admin := rosterhttp.NewClient(e.URL, e.Client())
	if _, err := admin.Login(ctx, "root", goodPassword); err != nil {
		t.Fatal(err)
	}
	list, err := admin.Outbox(ctx, 50, "")
	if err != nil || len(list.Messages) < 3 {
		t.Fatalf("Outbox = %+v, %v; want the verification, reset and notice mails", list, err)
	}
}

// TestSignupDoesNotTellTakenAddresses: with -require-verified-email a
// sign-up with an address that belongs to an account answers exactly as one
// with a free address (202, the same body and headers), makes no account,
// and mails the address's owner a notice, at most one an hour.
func TestSignupDoesNotTellTakenAddresses(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t, rosterhttp.Config{}, func(s *account.Service) { s.RequireVerifiedEmail = true })
	signup := func(name, email string) response {
		r := e.json("POST", "/v1/users", map[string]string{"username": name, "email": email, "password": goodPassword}, "")
		r.header.Del("Date")
		r.header.Del("X-Request-Id") // differs on every request by design
		return r
	}
	first := signup("ann", "ann@example.com")
	want(t, "sign-up with a free address", first, http.StatusAccepted)
	for _, tc := range []struct{ name, email string }{
		{"bob", "ANN@example.com"}, // taken, in another case
		{"cat", "cat@example.com"}, // free
		{"dan", "ann@example.com"}, // taken again
	} {
		r := signup(tc.name, tc.email)
		if r.status != first.status || r.body != first.body || !maps.EqualFunc(r.header, first.header, slices.Equal) {
			t.Errorf("sign-up %s <%s>: %d %v %q; want the same as for a free address: %d %v %q",
				tc.name, tc.email, r.status, r.header, r.body, first.status, first.header, first.body)
		}
	}
	for name, exists := range map[string]bool{"ann": true, "bob": false, "cat": true, "dan": false} {
		if _, err := e.accounts.UserByName(context.Background(), name); (err == nil) != exists {
			t.Errorf("account %s: lookup error %v, want exists=%v", name, err, exists)
		}
	}
	m := e.mailTo("ann@example.com", "Someone tried to sign up with your address", 1)
	if _, body, err := m.Parse(); err != nil || !strings.Contains(body, "No account was created") ||
		!strings.Contains(body, publicURL+"/ui/reset-password") {
		t.Errorf("notice to ann: %v\n%s", err, body)
	}
	var notices int
	for _, m := range e.outbox() {
		if m.Kind == "signup_attempt" {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("%d sign-up notices queued for two attempts within the hour, want 1", notices)
	}
	ann, err := e.accounts.UserByName(context.Background(), "ann")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.accounts.Store.Read.CountAuditEventsAfter(context.Background(), db.CountAuditEventsAfterParams{
		TargetID: &ann.ID, Action: account.ActionSignUpAttempt}); err != nil || n != 2 {
		t.Errorf("%d email.signup_attempt audit events on ann (err %v), want 2", n, err)
	}
	// The Go client (and so `roster signup`) reads the 202 as pending.
	if _, err := rosterhttp.NewClient(e.URL, e.Client()).Signup(context.Background(),
		rosterhttp.SignupRequest{Username: "fred", Email: "ann@example.com", Password: goodPassword}); !errors.Is(err, rosterhttp.ErrSignupPending) {
		t.Errorf("Client.Signup with a taken address = %v, want ErrSignupPending", err)
	}
	// The tutorial's form answers the same way too.
	for _, email := range []string{"ann@example.com", "eve@example.com"} {
		r := e.form("/add", url.Values{"user": {"x" + strings.Split(email, "@")[0]}, "email": {email}, "pass": {goodPassword}})
		if r.status != http.StatusOK || r.body != "ok" {
			t.Errorf("POST /add with %s: %d %q, want 200 ok", email, r.status, r.body)
		}
	}
}
