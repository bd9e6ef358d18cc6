package account_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
	"roster/sql/schema"
)

// TestLookalikesFromBeforeTheRuleKeepWorking builds a database as roster left
// it before username skeletons (schema version 31) holding "admin" and three
// lookalikes of it, then opens it as today: every account still logs in and
// can be renamed within its own key, the oldest holds the skeleton, and a new
// lookalike is refused.
func TestLookalikesFromBeforeTheRuleKeepWorking(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, old, schema.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(ctx, 31); err != nil {
		t.Fatal(err)
	}
	hasher, err := account.NewHasher(accounttest.CheapParams, 1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := hasher.Hash(ctx, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"admin", "\u0430dmin", "adm\u0131n", "ADM\u0130N"} // Cyrillic а, dotless ı, İ
	for _, name := range names {
		key, _, ok := account.LoginKey(name) // the key as roster has always made it
		if !ok {
			t.Fatalf("LoginKey(%q) refused", name)
		}
		if _, err := old.ExecContext(ctx, `INSERT INTO users (username, username_key, password_hash, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?)`, name, key, hash, time.Now().UTC(), time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	store, err := db.Open(ctx, path)
	if err != nil {
		t.Fatalf("db.Open on a version-31 database: %v", err)
	}
	defer store.Close()
	s := accounttest.NewOn(t, store)
	for i, name := range names {
		u, err := s.LoginWithoutSession(ctx, name, goodPassword, "192.0.2.1")
		if err != nil {
			t.Fatalf("login as %q after the migration: %v", name, err)
		}
		if got, holds := u.UsernameSkeleton, i == 0; (got != nil) != holds {
			t.Errorf("%q: username_skeleton = %v, want set only for the oldest, admin", name, got)
		}
		// A rename within the same key (a change of case) is no new name.
		upper := []rune(name)
		upper[0] = 'A'
		if name == "\u0430dmin" {
			upper[0] = '\u0410'
		}
		if _, err := s.UpdateUser(ctx, account.Actor{}, u.ID, account.UserChange{Username: new(string(upper))}); err != nil {
			t.Errorf("rename %q to %q: %v", name, string(upper), err)
		}
	}
	_, err = s.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "adm\u0456n", Password: goodPassword}) // Cyrillic і
	var ve *account.ValidationError
	if !errors.As(err, &ve) || ve.Code != "username_mixed_script" {
		t.Errorf("CreateUser(adm\\u0456n) = %v, want username_mixed_script", err)
	}
	_, err = s.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "adrnin", Password: goodPassword})
	var ce *account.ConflictError
	if !errors.As(err, &ce) || !ce.Lookalike {
		t.Errorf("CreateUser(adrnin) = %v, want a lookalike conflict", err)
	}
}
