package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"roster/db"
	"roster/db/pgstore"
	"roster/db/pgtest"
)

// openStore opens a pgstore.Store through db.Open on a fresh schema, closed
// when the test ends.
func openStore(t *testing.T, url string) *db.Store {
	t.Helper()
	s, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("db.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestOpenMigratesOnce: stores opened at once on one empty database all
// succeed (the advisory lock lets one migrate while the others wait, then
// find nothing pending) and are ready; db.Open gives a PostgreSQL URL to
// pgstore.
func TestOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	url := pgtest.SchemaURL(t)
	const n = 4
	stores := make([]*db.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = db.Open(context.Background(), url) })
	}
	wg.Wait()
	for i, s := range stores {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
		if errs[i] != nil {
			t.Fatalf("store %d: db.Open: %v", i, errs[i])
		}
		if _, ok := s.Engine.(*pgstore.Store); !ok {
			t.Fatalf("store %d: db.Open gave a %T engine, want *pgstore.Store", i, s.Engine)
		}
		if err := s.Ready(context.Background()); err != nil {
			t.Errorf("store %d: Ready: %v", i, err)
		}
	}
}

// TestTxRetriesSerializationFailure: two transactions that both read a
// throttle charge and then raise it, interleaved so that each reads before
// either writes, both commit and neither increase is lost: SERIALIZABLE
// fails one of them, and Tx runs it again.
func TestTxRetriesSerializationFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, pgtest.SchemaURL(t))
	base := db.Now(time.Now())
	if err := s.Write.UpsertLoginAccount(ctx, db.UpsertLoginAccountParams{AccountKey: "ann", PaidUntil: base}); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	var read sync.WaitGroup // both first runs have read
	read.Add(2)
	raise := func() error {
		first := true
		return s.Tx(ctx, func(q db.Querier) error {
			runs.Add(1)
			paid, err := q.GetLoginAccountPaidUntil(ctx, "ann")
			if err != nil {
				return err
			}
			if first {
				first = false
				read.Done()
				read.Wait()
			}
			return q.UpsertLoginAccount(ctx, db.UpsertLoginAccountParams{AccountKey: "ann", PaidUntil: paid.Add(time.Second)})
		})
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { errs[i] = raise() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d: %v", i, err)
		}
	}
	paid, err := s.Read.GetLoginAccountPaidUntil(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if want := base.Add(2 * time.Second); !paid.Equal(want) {
		t.Errorf("paid_until = %v, want %v (both increases)", paid, want)
	}
	if n := runs.Load(); n < 3 {
		t.Errorf("fn ran %d times, want at least 3 (one retry)", n)
	}
}

// TestTimesAreUTC: timestamptz values come back in UTC, as SQLite's do,
// not in the process's local zone.
func TestTimesAreUTC(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, pgtest.SchemaURL(t))
	created := db.Now(time.Now())
	u, err := s.Write.CreateUser(ctx, db.CreateUserParams{Username: "ann", UsernameKey: "ann",
		PasswordHash: "x", Role: "user", CreatedAt: created})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Read.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Location() != time.UTC || !got.CreatedAt.Equal(created) {
		t.Errorf("created_at = %v in %v, want %v in UTC", got.CreatedAt, got.CreatedAt.Location(), created)
	}
}

// TestErrorsMapped: PostgreSQL's constraint failures answer the same
// questions as SQLite's, and a failed statement inside Tx rolls it back.
func TestErrorsMapped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, pgtest.SchemaURL(t))
	p := db.CreateUserParams{Username: "ann", UsernameKey: "ann", PasswordHash: "x", Role: "user", CreatedAt: db.Now(time.Now())}
	if _, err := s.Write.CreateUser(ctx, p); err != nil {
		t.Fatal(err)
	}
	err := s.Tx(ctx, func(q db.Querier) error {
		if err := q.CreateAuditEvent(ctx, db.CreateAuditEventParams{CreatedAt: p.CreatedAt, Action: "rolled.back"}); err != nil {
			return err
		}
		_, err := q.CreateUser(ctx, p)
		return err
	})
	if !db.IsUniqueViolation(err) || db.IsForeignKeyViolation(err) || db.IsSerializationFailure(err) {
		t.Errorf("a second account with the same username key: %v, want a unique violation only", err)
	}
	if n, err := s.Read.CountAuditEventsAfter(ctx, db.CountAuditEventsAfterParams{Action: "rolled.back", After: p.CreatedAt.Add(-time.Hour)}); err != nil || n != 0 {
		t.Errorf("the failed transaction's audit event: %d rows, %v; want none", n, err)
	}
	err = s.Write.UpsertKnownLoginIP(ctx, db.UpsertKnownLoginIPParams{UserID: 999, Ip: "192.0.2.0", LastLoginAt: p.CreatedAt})
	if !db.IsForeignKeyViolation(err) || db.IsUniqueViolation(err) {
		t.Errorf("a known IP of a missing account: %v, want a foreign key violation", err)
	}
	if _, err := s.Write.SQLiteVersion(ctx); !errors.Is(err, pgstore.ErrSQLiteOnly) {
		t.Errorf("SQLiteVersion on PostgreSQL: %v, want ErrSQLiteOnly", err)
	}
}

// TestTxNoSyncAndReadTx: TxNoSync commits like Tx; ReadTx sees one snapshot
// and refuses writes.
func TestTxNoSyncAndReadTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, pgtest.SchemaURL(t))
	now := db.Now(time.Now())
	if err := s.TxNoSync(ctx, func(q db.Querier) error {
		return q.UpsertLoginAccount(ctx, db.UpsertLoginAccountParams{AccountKey: "ann", PaidUntil: now})
	}); err != nil {
		t.Fatal(err)
	}
	err := s.ReadTx(ctx, func(q db.Querier) error {
		paid, err := q.GetLoginAccountPaidUntil(ctx, "ann")
		if err != nil || !paid.Equal(now) {
			t.Errorf("after TxNoSync: paid_until %v, %v; want %v", paid, err, now)
		}
		// A commit by another transaction after the snapshot stays unseen.
		if err := s.Write.UpsertLoginAccount(ctx, db.UpsertLoginAccountParams{AccountKey: "ann", PaidUntil: now.Add(time.Hour)}); err != nil {
			return err
		}
		if paid, err := q.GetLoginAccountPaidUntil(ctx, "ann"); err != nil || !paid.Equal(now) {
			t.Errorf("in ReadTx after another commit: paid_until %v, %v; want the snapshot's %v", paid, err, now)
		}
		return q.UpsertLoginAccount(ctx, db.UpsertLoginAccountParams{AccountKey: "bob", PaidUntil: now})
	})
	if err == nil {
		t.Error("a write inside ReadTx succeeded")
	}
}

// TestPoolMetrics: the pool's statistics come out under database/sql's
// metric names with db_name "postgres": the size pool_max_conns in the URL
// set, and a connection in use while a transaction holds it.
func TestPoolMetrics(t *testing.T) {
	t.Parallel()
	s := openStore(t, pgtest.SchemaURL(t)+"&pool_max_conns=3")
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.Collectors()...)
	gauge := func(name string) float64 {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() != name {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "db_name" && l.GetValue() == "postgres" {
						return m.GetGauge().GetValue()
					}
				}
			}
		}
		t.Fatalf("no %s{db_name=\"postgres\"}", name)
		return 0
	}
	if n := gauge("go_sql_max_open_connections"); n != 3 {
		t.Errorf("go_sql_max_open_connections = %v, want 3 (pool_max_conns)", n)
	}
	err := s.ReadTx(context.Background(), func(q db.Querier) error {
		if n := gauge("go_sql_in_use_connections"); n < 1 {
			t.Errorf("go_sql_in_use_connections inside a transaction = %v, want at least 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
