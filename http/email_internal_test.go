package http

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
)

// TestResendVerificationStaleAccount calls the resend handler with the
// account as it was when the session was authenticated while its address has
// changed since: the answer follows the account as it is now, never a panic.
// Over HTTP the window between authentication and the handler is too narrow
// to hit reliably, so the test fills the request context itself.
func TestResendVerificationStaleAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	accounts := accounttest.New(t)
	s := NewServer(accounts, slog.New(slog.DiscardHandler), Config{})
	noEmail, err := accounts.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "ada", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	resend := func(stale db.User) (rec *httptest.ResponseRecorder) {
		t.Helper()
		r := httptest.NewRequest("POST", "/v1/me/email-verification", nil)
		r = r.WithContext(context.WithValue(r.Context(), infoKey, &requestInfo{auth: &authenticated{user: stale}}))
		rec = httptest.NewRecorder()
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("POST /v1/me/email-verification panicked: %v", p)
			}
		}()
		s.handleMeEmailVerificationResend(rec, r)
		return rec
	}

	withEmail, err := accounts.UpdateUser(ctx, account.Actor{}, noEmail.ID, account.UserChange{Email: new("ada@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	rec := resend(noEmail) // an address was added after authentication
	if rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), "on its way to ada@example.com") {
		t.Errorf("POST /v1/me/email-verification (address added since): status = %d, want 202 naming ada@example.com; body=%s", rec.Code, rec.Body)
	}

	if _, err := accounts.UpdateUser(ctx, account.Actor{}, noEmail.ID, account.UserChange{Email: new("")}); err != nil {
		t.Fatal(err)
	}
	rec = resend(withEmail) // the address was removed after authentication
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), `"code":"no_email"`) {
		t.Errorf("POST /v1/me/email-verification (address removed since): status = %d, want 409 no_email; body=%s", rec.Code, rec.Body)
	}
}
