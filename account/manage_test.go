package account_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
)

// fixture is an account with one live session, on a fresh database.
type fixture struct {
	s       *account.Service
	user    db.User
	session db.Session
}

func newFixture(t *testing.T, eng accounttest.Engine) fixture {
	t.Helper()
	s := eng.New(t)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "root", Password: goodPassword, Role: account.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "u1", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	_, sess, user, err := s.Login(ctx, "u1", goodPassword, account.ClientInfo{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{s: s, user: user, session: sess}
}

func auditCount(t *testing.T, s *account.Service) int {
	t.Helper()
	events, err := s.Store.Read.ListAuditEvents(context.Background(), db.ListAuditEventsParams{Before: math.MaxInt64, Lim: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(events)
}

func sessionCount(t *testing.T, f fixture) int {
	t.Helper()
	list, err := f.s.ListSessions(context.Background(), f.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func passwordWorks(f fixture, pw string) bool {
	_, err := f.s.LoginWithoutSession(context.Background(), f.user.Username, pw, "192.0.2.1")
	return err == nil
}

// TestAuditIffCommitted runs every audited change twice: once while a
// trigger makes the audit insert fail, when the change must not commit
// either, and once normally, when the change and its audit row both commit.
func TestAuditIffCommitted(t *testing.T) {
	t.Parallel()
	const newPassword = "a completely different passphrase"
	ctx := context.Background()
	actor := account.Actor{ID: 1, IP: "198.51.100.7"}
	cases := []struct {
		name    string
		do      func(f fixture) error
		visible func(t *testing.T, f fixture) bool
	}{
		{"create", func(f fixture) error {
			_, err := f.s.CreateUser(ctx, actor, account.NewUser{Username: "newbie", Password: goodPassword})
			return err
		}, func(t *testing.T, f fixture) bool {
			_, err := f.s.UserByName(ctx, "newbie")
			return err == nil
		}},
		{"rename", func(f fixture) error {
			name := "u2"
			_, err := f.s.UpdateUser(ctx, actor, f.user.ID, account.UserChange{Username: &name})
			return err
		}, func(t *testing.T, f fixture) bool {
			_, err := f.s.UserByName(ctx, "u2")
			return err == nil
		}},
		{"disable", func(f fixture) error {
			st := account.StatusDisabled
			_, err := f.s.UpdateUser(ctx, actor, f.user.ID, account.UserChange{Status: &st})
			return err
		}, func(t *testing.T, f fixture) bool {
			u, _ := f.s.UserByName(ctx, "u1")
			disabled, revoked := u.Status == account.StatusDisabled, sessionCount(t, f) == 0
			if disabled != revoked {
				t.Errorf("disabled %v but sessions revoked %v", disabled, revoked)
			}
			return disabled
		}},
		{"delete", func(f fixture) error {
			return f.s.DeleteUser(ctx, actor, f.user.ID)
		}, func(t *testing.T, f fixture) bool {
			_, err := f.s.UserByName(ctx, "u1")
			return errors.Is(err, account.ErrNotFound)
		}},
		{"set password", func(f fixture) error {
			return f.s.SetPassword(ctx, actor, f.user.ID, newPassword)
		}, func(t *testing.T, f fixture) bool { return passwordWorks(f, newPassword) }},
		{"change password", func(f fixture) error {
			return f.s.ChangePassword(ctx, actor, f.session, f.user, goodPassword, newPassword)
		}, func(t *testing.T, f fixture) bool { return passwordWorks(f, newPassword) }},
		{"revoke session", func(f fixture) error {
			return f.s.RevokeSession(ctx, actor, f.user.ID, f.session.ID)
		}, func(t *testing.T, f fixture) bool { return sessionCount(t, f) == 0 }},
		{"revoke sessions", func(f fixture) error {
			return f.s.RevokeSessions(ctx, actor, f.user.ID, nil)
		}, func(t *testing.T, f fixture) bool { return sessionCount(t, f) == 0 }},
		{"login", func(f fixture) error {
			_, _, _, err := f.s.Login(ctx, "u1", goodPassword, account.ClientInfo{})
			return err
		}, func(t *testing.T, f fixture) bool { return sessionCount(t, f) == 2 }},
		{"logout", func(f fixture) error {
			return f.s.Logout(ctx, actor, f.session)
		}, func(t *testing.T, f fixture) bool { return sessionCount(t, f) == 0 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, accounttest.SQLite)
			writer, _ := f.s.Store.Engine.(*db.SQLite).Pools()
			if _, err := writer.Exec(`CREATE TEMP TRIGGER audit_down BEFORE INSERT ON audit_events
				BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END`); err != nil {
				t.Fatal(err)
			}
			before := auditCount(t, f.s)
			if err := tc.do(f); err == nil {
				t.Fatalf("%s with a failing audit insert: err = nil", tc.name)
			}
			if tc.visible(t, f) {
				t.Fatalf("%s committed without its audit row", tc.name)
			}
			if _, err := writer.Exec(`DROP TRIGGER temp.audit_down`); err != nil {
				t.Fatal(err)
			}
			if err := tc.do(f); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if !tc.visible(t, f) {
				t.Fatalf("%s did not take effect", tc.name)
			}
			if after := auditCount(t, f.s); after <= before {
				t.Errorf("%s committed but the audit log holds %d rows, as before", tc.name, after)
			}
		})
	}
}

// TestRefusedChangesLeaveNoAuditRow covers changes refused inside their
// transaction: nothing commits, so no audit row exists.
func TestRefusedChangesLeaveNoAuditRow(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testRefusedChangesLeaveNoAuditRow)
}

func testRefusedChangesLeaveNoAuditRow(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, eng)
	root, err := f.s.UserByName(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	taken, user := "root", account.RoleUser
	before := auditCount(t, f.s)
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"rename to a taken name", second(f.s.UpdateUser(ctx, account.Actor{}, f.user.ID, account.UserChange{Username: &taken})), errConflict},
		{"demote the last admin", second(f.s.UpdateUser(ctx, account.Actor{}, root.ID, account.UserChange{Role: &user})), account.ErrLastAdmin},
		{"delete the last admin", f.s.DeleteUser(ctx, account.Actor{}, root.ID), account.ErrLastAdmin},
		{"revoke an unknown session", f.s.RevokeSession(ctx, account.Actor{}, f.user.ID, "nope"), account.ErrNotFound},
		{"revoke another user's session", f.s.RevokeSession(ctx, account.Actor{}, root.ID, f.session.ID), account.ErrNotFound},
		{"delete an unknown user", f.s.DeleteUser(ctx, account.Actor{}, 999), account.ErrNotFound},
	} {
		if errors.Is(tc.want, errConflict) && errors.As(tc.err, new(*account.ConflictError)) {
			continue
		}
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if after := auditCount(t, f.s); after != before {
		t.Errorf("refused changes wrote %d audit rows", after-before)
	}
}

// errConflict stands for any *account.ConflictError in a table.
var errConflict = errors.New("conflict")

func second[T any](_ T, err error) error { return err }

func TestDisabledAccount(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testDisabledAccount)
}

func testDisabledAccount(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, eng)
	token, _, _, err := f.s.Login(ctx, "u1", goodPassword, account.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	// Disable behind the service's back, so the sessions stay in the table:
	// Authenticate alone must refuse them.
	u := f.user
	_, err = f.s.Store.Write.UpdateUser(ctx, db.UpdateUserParams{ID: u.ID, Username: u.Username, UsernameKey: u.UsernameKey,
		Email: u.Email, EmailKey: u.EmailKey, Status: account.StatusDisabled, Role: u.Role, UpdatedAt: u.UpdatedAt})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Authenticate(ctx, token); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("Authenticate for a disabled account: err = %v, want ErrUnauthenticated", err)
	}
	if _, err := f.s.LoginWithoutSession(ctx, "u1", goodPassword, "192.0.2.1"); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("LoginWithoutSession for a disabled account: err = %v, want ErrBadCredentials", err)
	}
}

// TestLastAdminRace has two admins demote each other at once: the writer
// transaction serializes the checks, so exactly one succeeds.
func TestLastAdminRace(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testLastAdminRace)
}

func testLastAdminRace(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	s := eng.New(t)
	var ids [2]int64
	for i, name := range []string{"ann", "ben"} {
		u, err := s.CreateUser(ctx, account.Actor{}, account.NewUser{Username: name, Password: goodPassword, Role: account.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = u.ID
	}
	for round := range 20 {
		var errs [2]error
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				role := account.RoleUser
				if round%2 == 1 { // every other round, race to disable instead
					st := account.StatusDisabled
					_, errs[i] = s.UpdateUser(ctx, account.Actor{ID: ids[1-i]}, ids[i], account.UserChange{Status: &st})
					return
				}
				_, errs[i] = s.UpdateUser(ctx, account.Actor{ID: ids[1-i]}, ids[i], account.UserChange{Role: &role})
			})
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs[0], errs[1]), account.ErrLastAdmin) {
			t.Fatalf("round %d: errs = %v, want exactly one ErrLastAdmin", round, errs)
		}
		n, err := s.Store.Read.CountActiveAdmins(ctx)
		if err != nil || n != 1 {
			t.Fatalf("round %d: %d active admins (err %v), want 1", round, n, err)
		}
		// Restore both admins for the next round.
		admin, active := account.RoleAdmin, account.StatusActive
		for _, id := range ids {
			if _, err := s.UpdateUser(ctx, account.Actor{}, id, account.UserChange{Role: &admin, Status: &active}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// BenchmarkListUsers measures one page of 50 from 100,000 accounts: the
// first page, a deep page (keyset, so no cost for the depth), and a prefix
// that matches nothing (the worst case: every row is scanned).
func BenchmarkListUsers(b *testing.B) {
	ctx := context.Background()
	s := accounttest.New(b)
	const n = 100_000
	err := s.Store.Tx(ctx, func(q db.Querier) error {
		for i := range n {
			name := fmt.Sprintf("user%06d", i)
			email := name + "@example.com"
			if _, err := q.CreateUser(ctx, db.CreateUserParams{Username: name, UsernameKey: name, Email: &email,
				EmailKey: &email, PasswordHash: "x", Role: account.RoleUser, CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		f     account.UserFilter
		after int64
	}{
		{"first page", account.UserFilter{}, 0},
		{"page at 99,900", account.UserFilter{}, n - 100},
		{"prefix user0999", account.UserFilter{Query: "user0999"}, 0},
		{"prefix matching none", account.UserFilter{Query: "zz"}, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.ListUsers(ctx, bc.f, bc.after, 50); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
