package pgstore_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"roster/db"
	"roster/db/pgstore"
	"roster/db/pgtest"
)

func ptr[T any](v T) *T { return &v }

// now is a time PostgreSQL stores exactly: timestamptz keeps microseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func sameUser(t *testing.T, what string, got, want db.User) {
	t.Helper()
	// timestamptz comes back in the local zone; compare instants.
	norm := func(u db.User) db.User {
		u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
		if u.EmailVerifiedAt != nil {
			u.EmailVerifiedAt = ptr(u.EmailVerifiedAt.UTC())
		}
		return u
	}
	g, w := norm(got), norm(want)
	if g.ID != w.ID || g.Username != w.Username || g.UsernameKey != w.UsernameKey ||
		*g.Email != *w.Email || *g.EmailKey != *w.EmailKey || g.PasswordHash != w.PasswordHash ||
		!g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) ||
		g.Status != w.Status || g.Role != w.Role || (g.EmailVerifiedAt == nil) != (w.EmailVerifiedAt == nil) ||
		(g.EmailVerifiedAt != nil && !g.EmailVerifiedAt.Equal(*w.EmailVerifiedAt)) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// TestUsers runs account queries through the generated pg package on a
// migrated schema: create, read back by key, a unique violation, the
// PostgreSQL spelling of UpdateUser, and no-row errors that match
// database/sql's, as the SQLite store's do.
func TestUsers(t *testing.T) {
	ctx := context.Background()
	q := pgstore.New(pgtest.Open(t))

	created := now()
	alice, err := q.CreateUser(ctx, db.CreateUserParams{
		Username: "Alice", UsernameKey: "alice", Email: ptr("Alice@example.com"), EmailKey: ptr("alice@example.com"),
		PasswordHash: "$argon2id$hash", Role: "user", CreatedAt: created,
	})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	want := db.User{
		ID: alice.ID, Username: "Alice", UsernameKey: "alice", Email: ptr("Alice@example.com"), EmailKey: ptr("alice@example.com"),
		PasswordHash: "$argon2id$hash", CreatedAt: created, UpdatedAt: created, Status: "active", Role: "user",
	}
	if alice.ID < 1 {
		t.Errorf("CreateUser: id %d, want an identity value", alice.ID)
	}
	sameUser(t, "CreateUser", alice, want)

	got, err := q.GetUserByUsernameKey(ctx, "alice")
	if err != nil {
		t.Fatalf("GetUserByUsernameKey: %v", err)
	}
	sameUser(t, "GetUserByUsernameKey", got, want)
	if got, err = q.GetUserByEmailKey(ctx, ptr("alice@example.com")); err != nil {
		t.Fatalf("GetUserByEmailKey: %v", err)
	}
	sameUser(t, "GetUserByEmailKey", got, want)
	if taken, err := q.UsernameKeyExists(ctx, "alice"); err != nil || !taken {
		t.Errorf("UsernameKeyExists(alice) = %v, %v; want true", taken, err)
	}

	_, err = q.CreateUser(ctx, db.CreateUserParams{
		Username: "ALICE", UsernameKey: "alice", PasswordHash: "x", Role: "user", CreatedAt: created,
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" || pgErr.ConstraintName != "users_username_key" {
		t.Errorf("CreateUser with a taken username_key: err = %v, want unique_violation (23505) on users_username_key", err)
	}

	if _, err := q.GetUser(ctx, alice.ID+1000); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("GetUser(missing): err = %v, want one that is sql.ErrNoRows", err)
	}

	// UpdateUser: keeping the email keeps its verification, changing it
	// clears it (IS NOT DISTINCT FROM on PostgreSQL, IS on SQLite).
	verified := created.Add(time.Second)
	if n, err := q.SetUserEmailVerified(ctx, db.SetUserEmailVerifiedParams{Now: verified, ID: alice.ID, EmailKey: alice.EmailKey}); err != nil || n != 1 {
		t.Fatalf("SetUserEmailVerified = %d, %v; want 1 row", n, err)
	}
	update := db.UpdateUserParams{
		Username: "Alice", UsernameKey: "alice", Email: alice.Email, EmailKey: alice.EmailKey,
		Status: "active", Role: "admin", UpdatedAt: verified, ID: alice.ID,
	}
	u, err := q.UpdateUser(ctx, update)
	if err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if u.EmailVerifiedAt == nil || !u.EmailVerifiedAt.Equal(verified) || u.Role != "admin" {
		t.Errorf("UpdateUser with the same email: verified %v, role %q; want %v, admin", u.EmailVerifiedAt, u.Role, verified)
	}
	update.Email, update.EmailKey = ptr("a@example.org"), ptr("a@example.org")
	if u, err = q.UpdateUser(ctx, update); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if u.EmailVerifiedAt != nil {
		t.Errorf("UpdateUser with a new email: verified %v, want nil", u.EmailVerifiedAt)
	}
	if n, err := q.CountActiveAdmins(ctx); err != nil || n != 1 {
		t.Errorf("CountActiveAdmins = %d, %v; want 1", n, err)
	}
}

// TestListsAndJoins covers the statements whose parameters or rows needed
// care to match package db: LIMIT (integer on PostgreSQL), nullable filters
// cast to BIGINT and TEXT, and rows that embed two tables.
func TestListsAndJoins(t *testing.T) {
	ctx := context.Background()
	q := pgstore.New(pgtest.Open(t))
	at := now()

	var ids []int64
	for _, name := range []string{"bob", "bea", "carl"} {
		u, err := q.CreateUser(ctx, db.CreateUserParams{Username: name, UsernameKey: name, PasswordHash: "h", Role: "user", CreatedAt: at})
		if err != nil {
			t.Fatalf("CreateUser(%s): %v", name, err)
		}
		ids = append(ids, u.ID)
	}
	users, err := q.ListUsers(ctx, db.ListUsersParams{After: 0, UsernamePrefix: ptr("b"), Lim: 10})
	if err != nil || len(users) != 2 || users[0].UsernameKey != "bob" || users[1].UsernameKey != "bea" {
		t.Errorf("ListUsers(prefix b) = %v, %v; want bob, bea", users, err)
	}
	if users, err = q.ListUsers(ctx, db.ListUsersParams{Lim: 10, Status: ptr("disabled")}); err != nil || users == nil || len(users) != 0 {
		t.Errorf("ListUsers(disabled) = %#v, %v; want an empty, non-nil slice", users, err)
	}

	for _, action := range []string{"login", "logout"} {
		if err := q.CreateAuditEvent(ctx, db.CreateAuditEventParams{CreatedAt: at, TargetID: &ids[0], Action: action}); err != nil {
			t.Fatalf("CreateAuditEvent: %v", err)
		}
	}
	events, err := q.ListAuditEvents(ctx, db.ListAuditEventsParams{Before: 1 << 62, UserID: &ids[0], Action: ptr("logout"), Lim: 10})
	if err != nil || len(events) != 1 || events[0].Action != "logout" {
		t.Errorf("ListAuditEvents(user, logout) = %v, %v; want the logout", events, err)
	}
	if n, err := q.AuditImportedUsers(ctx, db.AuditImportedUsersParams{Action: "import",
		UsernameKeys: `["bea","carl"]`}); err != nil || n != 2 {
		t.Errorf("AuditImportedUsers(bea, carl) = %d, %v; want 2", n, err)
	}

	hash := []byte{1, 2, 3}
	if err := q.CreateSession(ctx, db.CreateSessionParams{TokenHash: hash, ID: "s1", UserID: ids[1], CreatedAt: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	row, err := q.GetSessionWithUser(ctx, hash)
	if err != nil || row.Session.ID != "s1" || row.User.ID != ids[1] || !row.Session.LastSeenAt.Equal(at) {
		t.Errorf("GetSessionWithUser = %+v, %v; want session s1 of user %d", row, err, ids[1])
	}
	if n, err := q.DeleteExpiredSessions(ctx, db.DeleteExpiredSessionsParams{Now: at.Add(2 * time.Hour), IdleBefore: at, Batch: 100}); err != nil || n != 1 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}
}

// TestImportConflictKeepsTransaction: a record whose name is taken inserts
// nothing, and the transaction goes on: on PostgreSQL a
// unique violation would abort it, and with it the whole import batch.
func TestImportConflictKeepsTransaction(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Open(t)
	at := now()
	if _, err := pgstore.New(pool).CreateUser(ctx, db.CreateUserParams{Username: "ann", UsernameKey: "ann",
		PasswordHash: "h", Role: "user", CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	q := pgstore.New(tx)
	record := func(name string) db.ImportUserParams {
		return db.ImportUserParams{Username: name, UsernameKey: name, PasswordHash: "h", Status: "active",
			Role: "user", CreatedAt: at, UpdatedAt: at}
	}
	if n, err := q.ImportUser(ctx, record("ann")); n != 0 || err != nil {
		t.Fatalf("ImportUser(taken) = %d, %v; want 0 rows and no error", n, err)
	}
	if n, err := q.ImportUser(ctx, record("bea")); n != 1 || err != nil {
		t.Fatalf("ImportUser after a conflict = %d, %v; want 1 row: the transaction must go on", n, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := pgstore.New(pool).CountUsers(ctx); err != nil || n != 2 {
		t.Errorf("CountUsers = %d, %v; want 2", n, err)
	}
}
