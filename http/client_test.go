package http_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"roster/account"
	"roster/db"
	rosterhttp "roster/http"
)

func TestClientFlow(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx := context.Background()
	c := rosterhttp.NewClient(ts.URL, ts.Client())

	u, err := c.Signup(ctx, rosterhttp.SignupRequest{Username: "uma", Email: "uma@example.com", Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "uma" || u.Email != "uma@example.com" || u.ID == 0 {
		t.Errorf("Signup = %+v", u)
	}

	_, err = c.Signup(ctx, rosterhttp.SignupRequest{Username: "UMA", Password: goodPassword})
	var p *rosterhttp.Problem
	if !errors.Is(err, rosterhttp.ErrConflict) || !errors.As(err, &p) || p.Code != "username_taken" {
		t.Errorf("duplicate Signup = %v, want ErrConflict with code username_taken", err)
	}
	_, err = c.Signup(ctx, rosterhttp.SignupRequest{Username: "val", Password: "short"})
	if !errors.Is(err, rosterhttp.ErrValidation) || !errors.As(err, &p) || len(p.Errors) != 1 || p.Errors[0].Field != "password" {
		t.Errorf("short-password Signup = %v, want ErrValidation naming the password field", err)
	}

	if _, err := c.Me(ctx); !errors.Is(err, rosterhttp.ErrUnauthorized) {
		t.Errorf("Me before Login = %v, want ErrUnauthorized", err)
	}
	if _, err := c.Login(ctx, "uma", "wrong password, long enough"); !errors.Is(err, rosterhttp.ErrUnauthorized) {
		t.Errorf("Login(wrong) = %v, want ErrUnauthorized", err)
	}
	s, err := c.Login(ctx, "uma@example.com", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if c.Token() != s.Token || s.User != u {
		t.Errorf("Login kept token %q, session %+v", c.Token(), s)
	}
	me, err := c.Me(ctx)
	if err != nil || me != u {
		t.Errorf("Me = %+v, %v; want %+v", me, err, u)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Token() != "" {
		t.Error("Logout kept the token")
	}
	c.SetToken(s.Token)
	if _, err := c.Me(ctx); !errors.Is(err, rosterhttp.ErrUnauthorized) {
		t.Errorf("Me with a logged-out token = %v, want ErrUnauthorized", err)
	}
}

func TestClientThrottledCarriesRetryAfter(t *testing.T) {
	t.Parallel()
	// The client's reading of a 429 from any server, including one that does
	// not answer problem+json (a proxy, say).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	_, err := rosterhttp.NewClient(srv.URL, srv.Client()).Me(context.Background())
	var p *rosterhttp.Problem
	if !errors.Is(err, rosterhttp.ErrThrottled) || !errors.As(err, &p) || p.RetryAfter != 7*time.Second || p.Detail != "slow down" {
		t.Errorf("Me from a throttling server = %#v, want ErrThrottled with RetryAfter 7s", err)
	}
}

// ExampleClient signs up, logs in and reads the account back.
func ExampleClient() {
	dir, _ := os.MkdirTemp("", "roster-example")
	defer os.RemoveAll(dir)
	store, _ := db.Open(context.Background(), filepath.Join(dir, "roster.db"))
	defer store.Close()
	hasher, _ := account.NewHasher(account.DefaultParams, 2, 2*time.Second)
	policy, _ := account.NewPolicy(account.DefaultMinPasswordLen)
	accounts := &account.Service{Store: store, Hasher: hasher, Policy: policy,
		SessionTTL: account.DefaultSessionTTL, IdleTTL: account.DefaultIdleTTL, Now: time.Now}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(rosterhttp.NewServer(accounts, log,
		rosterhttp.Config{Resets: account.NewResetQueue(accounts, log, account.Limit{})}))
	defer srv.Close()

	ctx := context.Background()
	c := rosterhttp.NewClient(srv.URL, nil)
	if _, err := c.Signup(ctx, rosterhttp.SignupRequest{Username: "ada", Password: "correct horse battery staple"}); err != nil {
		fmt.Println("signup:", err)
		return
	}
	_, err := c.Signup(ctx, rosterhttp.SignupRequest{Username: "Ada", Password: "correct horse battery staple"})
	fmt.Println("again:", errors.Is(err, rosterhttp.ErrConflict), err)

	if _, err := c.Login(ctx, "ada", "correct horse battery staple"); err != nil {
		fmt.Println("login:", err)
		return
	}
	me, _ := c.Me(ctx)
	fmt.Println("me:", me.Username)
	// Output:
	// again: true username is already taken
	// me: ada
}

func TestClientAccountAndAdminCalls(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx := context.Background()
	ts.createUser("boss", account.RoleAdmin)
	admin := rosterhttp.NewClient(ts.URL, ts.Client())
	if _, err := admin.Login(ctx, "boss", goodPassword); err != nil {
		t.Fatal(err)
	}
	u := rosterhttp.NewClient(ts.URL, ts.Client())
	if _, err := u.Signup(ctx, rosterhttp.SignupRequest{Username: "wes", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Login(ctx, "wes", goodPassword); err != nil {
		t.Fatal(err)
	}
	other := rosterhttp.NewClient(ts.URL, ts.Client())
	if _, err := other.Login(ctx, "wes", goodPassword); err != nil {
		t.Fatal(err)
	}

	email := "wes@example.com"
	if _, err := u.UpdateProfile(ctx, rosterhttp.ProfileUpdate{Email: &email}); !errors.Is(err, rosterhttp.ErrValidation) {
		t.Fatalf("UpdateProfile without the password = %v, want ErrValidation", err)
	}
	if _, err := u.UpdateProfile(ctx, rosterhttp.ProfileUpdate{Email: &email, CurrentPassword: "not the password at all"}); !errors.Is(err, rosterhttp.ErrForbidden) {
		t.Fatalf("UpdateProfile with a wrong password = %v, want ErrForbidden", err)
	}
	me, err := u.UpdateProfile(ctx, rosterhttp.ProfileUpdate{Email: &email, CurrentPassword: goodPassword})
	if err != nil || me.Email != email {
		t.Fatalf("UpdateProfile = %+v, %v", me, err)
	}
	sessions, err := u.Sessions(ctx)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("Sessions = %+v, %v; want 2", sessions, err)
	}
	for _, s := range sessions {
		if !s.Current {
			if err := u.RevokeSession(ctx, s.ID); err != nil {
				t.Fatalf("RevokeSession: %v", err)
			}
		}
	}
	if _, err := other.Me(ctx); !errors.Is(err, rosterhttp.ErrUnauthorized) {
		t.Errorf("Me on a revoked session = %v, want ErrUnauthorized", err)
	}
	if err := u.RevokeSession(ctx, "nonexistent"); !errors.Is(err, rosterhttp.ErrNotFound) {
		t.Errorf("RevokeSession(unknown) = %v, want ErrNotFound", err)
	}
	if err := u.ChangePassword(ctx, "not my password at all", goodPassword+" 2"); !errors.Is(err, rosterhttp.ErrForbidden) {
		t.Errorf("ChangePassword(wrong current) = %v, want ErrForbidden", err)
	}
	if err := u.ChangePassword(ctx, goodPassword, goodPassword+" 2"); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if err := u.RevokeOtherSessions(ctx); err != nil {
		t.Fatalf("RevokeOtherSessions: %v", err)
	}

	if _, err := u.ListUsers(ctx, rosterhttp.ListUsersOptions{}); !errors.Is(err, rosterhttp.ErrForbidden) {
		t.Errorf("ListUsers as a user = %v, want ErrForbidden", err)
	}
	page, err := admin.ListUsers(ctx, rosterhttp.ListUsersOptions{Query: "WE", Limit: 1})
	if err != nil || len(page.Users) != 1 || page.Users[0].Username != "wes" {
		t.Fatalf("ListUsers(q=WE) = %+v, %v", page, err)
	}
	made, err := admin.CreateUser(ctx, rosterhttp.AdminUserCreate{Username: "xavier", Password: goodPassword, Role: account.RoleAdmin})
	if err != nil || made.Role != account.RoleAdmin {
		t.Fatalf("CreateUser = %+v, %v", made, err)
	}
	if got, err := admin.GetUser(ctx, made.ID); err != nil || got.Username != "xavier" {
		t.Fatalf("GetUser = %+v, %v", got, err)
	}
	disabled := account.StatusDisabled
	if got, err := admin.UpdateUser(ctx, me.ID, rosterhttp.AdminUserUpdate{Status: &disabled}); err != nil || got.Status != disabled {
		t.Fatalf("UpdateUser(disable) = %+v, %v", got, err)
	}
	if _, err := u.Me(ctx); !errors.Is(err, rosterhttp.ErrUnauthorized) {
		t.Errorf("Me of a disabled user = %v, want ErrUnauthorized", err)
	}
	if err := admin.RevokeUserSessions(ctx, made.ID); err != nil {
		t.Errorf("RevokeUserSessions: %v", err)
	}
	if err := admin.DeleteUser(ctx, made.ID); err != nil {
		t.Errorf("DeleteUser: %v", err)
	}
	if _, err := admin.GetUser(ctx, made.ID); !errors.Is(err, rosterhttp.ErrNotFound) {
		t.Errorf("GetUser(deleted) = %v, want ErrNotFound", err)
	}
	events, err := admin.Audit(ctx, rosterhttp.AuditOptions{UserID: me.ID, Action: "password.change"})
	if err != nil || len(events.Events) != 1 {
		t.Fatalf("Audit(password.change) = %+v, %v; want one event", events, err)
	}

	// DeleteAccount as a fresh user.
	d := rosterhttp.NewClient(ts.URL, ts.Client())
	d.Signup(ctx, rosterhttp.SignupRequest{Username: "yves", Password: goodPassword})
	d.Login(ctx, "yves", goodPassword)
	if err := d.DeleteAccount(ctx, goodPassword); err != nil || d.Token() != "" {
		t.Fatalf("DeleteAccount = %v (token %q)", err, d.Token())
	}
	if _, err := d.Login(ctx, "yves", goodPassword); !errors.Is(err, rosterhttp.ErrUnauthorized) {
		t.Errorf("Login after DeleteAccount = %v, want ErrUnauthorized", err)
	}
}
