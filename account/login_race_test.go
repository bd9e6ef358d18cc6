package account_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
)

// afterVerify runs change once, right after the first password verify of the
// hasher it observes: inside a login, after the account was read and its
// password verified, before the login settles and opens its session. The
// change runs on the login's goroutine, so the interleaving is exact.
type afterVerify struct {
	once   sync.Once
	change func()
}

func (a *afterVerify) ObserveWait(time.Duration, bool) {}

func (a *afterVerify) ObserveHash(op string, _ time.Duration) {
	if op == "verify" {
		a.once.Do(a.change)
	}
}

// racedService returns svc with a fresh hasher of params that runs change
// right after its first verify, and an admin service on the same database
// with a hasher of its own, for changes that hash (the login holds a slot of
// the first one while change runs).
func racedService(t *testing.T, svc *account.Service, params account.Params, change func(admin *account.Service)) *account.Service {
	t.Helper()
	admin := *svc
	var err error
	if admin.Hasher, err = account.NewHasher(accounttest.CheapParams, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	raced := *svc
	if raced.Hasher, err = account.NewHasher(params, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	raced.Hasher.Observe(&afterVerify{change: func() { change(&admin) }})
	return &raced
}

// lastAudit returns the newest audit event with action, or fails the test.
func lastAudit(t *testing.T, svc *account.Service, action string) db.AuditEvent {
	t.Helper()
	events, err := svc.Store.Read.ListAuditEvents(context.Background(),
		db.ListAuditEventsParams{Before: math.MaxInt64, Action: &action, Lim: 1})
	if err != nil || len(events) == 0 {
		t.Fatalf("no %s audit event (%v)", action, err)
	}
	return events[0]
}

// TestLoginRacesAccountChange: a password change, a disable or a delete that
// commits after a login verified the password, but before it opened its
// session, revokes every session; the login must not open one after it (or
// answer [[id]] on the tutorial's route). It is refused as bad credentials,
// never a 500, and audited with the reason account_changed.
func TestLoginRacesAccountChange(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testLoginRacesAccountChange)
}

func testLoginRacesAccountChange(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	const newPassword = "a completely different passphrase"
	changes := []struct {
		name   string
		change func(ctx context.Context, admin *account.Service, id int64) error
	}{
		{"password set", func(ctx context.Context, admin *account.Service, id int64) error {
			return admin.SetPassword(ctx, account.Actor{}, id, newPassword)
		}},
		{"disable", func(ctx context.Context, admin *account.Service, id int64) error {
			st := account.StatusDisabled
			_, err := admin.UpdateUser(ctx, account.Actor{}, id, account.UserChange{Status: &st})
			return err
		}},
		{"delete", func(ctx context.Context, admin *account.Service, id int64) error {
			return admin.DeleteUser(ctx, account.Actor{}, id)
		}},
	}
	logins := []struct {
		name  string
		login func(ctx context.Context, svc *account.Service) error
	}{
		{"Login", func(ctx context.Context, svc *account.Service) error {
			_, _, _, err := svc.Login(ctx, "victim", goodPassword, account.ClientInfo{IP: "198.51.100.7"})
			return err
		}},
		{"LoginWithoutSession", func(ctx context.Context, svc *account.Service) error {
			_, err := svc.LoginWithoutSession(ctx, "victim", goodPassword, "198.51.100.7")
			return err
		}},
	}
	for _, c := range changes {
		for _, l := range logins {
			t.Run(c.name+"/"+l.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				svc := eng.New(t)
				u, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "victim", Password: goodPassword})
				if err != nil {
					t.Fatal(err)
				}
				raced := racedService(t, svc, accounttest.CheapParams, func(admin *account.Service) {
					if err := c.change(ctx, admin, u.ID); err != nil {
						t.Errorf("%s during the login: %v", c.name, err)
					}
				})
				if err := l.login(ctx, raced); !errors.Is(err, account.ErrBadCredentials) {
					t.Fatalf("%s across a %s: err = %v, want ErrBadCredentials", l.name, c.name, err)
				}
				if list, err := svc.ListSessions(ctx, u.ID); err != nil || len(list) != 0 {
					t.Errorf("sessions after the refused login = %d (%v), want 0", len(list), err)
				}
				if e := lastAudit(t, svc, account.ActionLoginFailure); e.Detail != "account_changed" || *e.TargetID != u.ID {
					t.Errorf("login.failure event = %+v, want detail account_changed, target %d", e, u.ID)
				}
				if c.name == "password set" {
					if _, err := svc.LoginWithoutSession(ctx, "victim", newPassword, "198.51.100.7"); err != nil {
						t.Errorf("the new password after the race: %v", err)
					}
				}
			})
		}
	}
}

// TestRehashKeepsConcurrentPasswordChange: a login against an outdated hash
// rehashes the password it verified; a password change that committed in
// between must stay, not be replaced by a fresh hash of the old password.
func TestRehashKeepsConcurrentPasswordChange(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testRehashKeepsConcurrentPasswordChange)
}

func testRehashKeepsConcurrentPasswordChange(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	const newPassword = "an entirely new passphrase here"
	ctx := context.Background()
	svc := eng.New(t)
	u, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "bob", Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	stronger := accounttest.CheapParams
	stronger.Memory *= 2 // bob's hash is now outdated: his next login rehashes
	raced := racedService(t, svc, stronger, func(admin *account.Service) {
		if err := admin.SetPassword(ctx, account.Actor{}, u.ID, newPassword); err != nil {
			t.Errorf("password set during the login: %v", err)
		}
	})
	if _, err := raced.LoginWithoutSession(ctx, "bob", goodPassword, "192.0.2.1"); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("login across the password change: err = %v, want ErrBadCredentials", err)
	}
	if _, err := raced.LoginWithoutSession(ctx, "bob", newPassword, "192.0.2.1"); err != nil {
		t.Errorf("the new password after the race: %v", err)
	}
	if _, err := raced.LoginWithoutSession(ctx, "bob", goodPassword, "192.0.2.1"); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("the old password after the race: err = %v, want ErrBadCredentials", err)
	}
}
