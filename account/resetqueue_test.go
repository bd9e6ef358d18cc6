package account_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
)

// replicas opens n services on one database (a SQLite file or a
// PostgreSQL schema), as n replicas of the server would, each with its own
// pool and reset queue limited to perUser.
func replicas(t *testing.T, eng accounttest.Engine, n int, perUser account.Limit) ([]*account.Service, []*account.ResetQueue) {
	t.Helper()
	dsn := eng.DSN(t)
	clock := accounttest.NewClock(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	var svcs []*account.Service
	var queues []*account.ResetQueue
	for range n {
		store, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		svc := accounttest.NewOn(t, store)
		svc.Now = clock.Now
		svc.Mail.PublicURL = "https://roster.example.com/"
		svcs = append(svcs, svc)
		queues = append(queues, account.NewResetQueue(svc, slog.New(slog.NewTextHandler(io.Discard, nil)), perUser))
	}
	return svcs, queues
}

// drain runs q until everything submitted so far is served.
func drain(q *account.ResetQueue) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q.Run(ctx)
}

func pendingRequests(t *testing.T, svc *account.Service) int64 {
	t.Helper()
	n, err := svc.Store.Read.CountMailRequests(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestResetRequestSurvivesACrash(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testResetRequestSurvivesACrash)
}

// A request answered 202 is stored before the answer: a process that dies
// before serving it (here: its queue never runs) leaves it to the next one.
func testResetRequestSurvivesACrash(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svcs, queues := replicas(t, eng, 2, account.Limit{})
	if _, err := svcs[0].CreateUser(ctx, account.Actor{}, account.NewUser{Username: "eve", Email: "eve@example.com", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	if err := queues[0].Submit(ctx, "eve", account.Actor{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if err := queues[0].SubmitSignInCode(ctx, "eve@example.com", account.Actor{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if err := svcs[0].Store.Close(); err != nil { // the first process is gone
		t.Fatal(err)
	}
	if n := pendingRequests(t, svcs[1]); n != 2 {
		t.Fatalf("%d stored requests after the crash, want 2", n)
	}
	drain(queues[1])
	if n := len(mails(t, svcs[1], "password_reset", "eve@example.com")); n != 1 {
		t.Errorf("%d reset mails after the restart, want 1", n)
	}
	if n := len(mails(t, svcs[1], "sign_in_code", "eve@example.com")); n != 1 {
		t.Errorf("%d sign-in code mails after the restart, want 1", n)
	}
	e := lastAudit(t, svcs[1], account.ActionPasswordResetRequest)
	if e.Ip != "192.0.2.1" {
		t.Errorf("reset request audited from %q, want the requester's 192.0.2.1", e.Ip)
	}
	if n := pendingRequests(t, svcs[1]); n != 0 {
		t.Errorf("%d requests left after serving, want 0", n)
	}
}

func TestResetQueueOnSeveralReplicas(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testResetQueueOnSeveralReplicas)
}

// Four replicas drain one table at once: every request is served exactly
// once, and the per-account cap holds across them.
func testResetQueueOnSeveralReplicas(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	const n, users = 4, 12
	svcs, queues := replicas(t, eng, n, account.Limit{N: 2, Per: time.Hour})
	for i := range users {
		name := fmt.Sprintf("user%d", i)
		if _, err := svcs[0].CreateUser(ctx, account.Actor{}, account.NewUser{Username: name, Email: name + "@example.com", Password: goodPassword}); err != nil {
			t.Fatal(err)
		}
		if err := queues[i%n].Submit(ctx, name, account.Actor{IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	// eve asks five times through every replica; the cap lets two through.
	if _, err := svcs[0].CreateUser(ctx, account.Actor{}, account.NewUser{Username: "eve", Email: "eve@example.com", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		for _, q := range queues {
			if err := q.Submit(ctx, "eve", account.Actor{IP: "192.0.2.9"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	for _, q := range queues {
		wg.Go(func() { drain(q) })
	}
	wg.Wait()
	for i := range users {
		to := fmt.Sprintf("user%d@example.com", i)
		if got := len(mails(t, svcs[0], "password_reset", to)); got != 1 {
			t.Errorf("%d reset mails to %s, want 1", got, to)
		}
	}
	if got := len(mails(t, svcs[0], "password_reset", "eve@example.com")); got != 2 {
		t.Errorf("%d reset mails to eve after 20 requests over %d replicas, want 2 (the cap)", got, n)
	}
	if left := pendingRequests(t, svcs[0]); left != 0 {
		t.Errorf("%d requests left, want 0", left)
	}
}

func TestMailRequestFence(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testMailRequestFence)
}

// A worker whose lease ran out cannot delete the request that another
// worker has taken since: the take's count fences it.
func testMailRequestFence(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc := eng.New(t)
	now := db.Now(time.Now())
	if err := svc.Store.Write.CreateMailRequest(ctx, db.CreateMailRequestParams{Kind: "password_reset", Login: "eve", Ip: "192.0.2.1", DueAt: now}); err != nil {
		t.Fatal(err)
	}
	// The first take's lease has already run out when the second comes.
	first, err := svc.Store.Write.ClaimDueMailRequest(ctx, db.ClaimDueMailRequestParams{LeaseUntil: now, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	second, err := svc.Store.Write.ClaimDueMailRequest(ctx, db.ClaimDueMailRequestParams{LeaseUntil: now.Add(time.Minute), Now: now})
	if err != nil || second.ID != first.ID || second.Attempts != 2 {
		t.Fatalf("second take = %+v, %v; want the same request, attempts 2", second, err)
	}
	if _, err := svc.Store.Write.ClaimDueMailRequest(ctx, db.ClaimDueMailRequestParams{LeaseUntil: now, Now: now}); err == nil {
		t.Fatal("a leased request was taken a third time")
	}
	if n, err := svc.Store.Write.DeleteMailRequest(ctx, db.DeleteMailRequestParams{ID: first.ID, Attempts: first.Attempts}); n != 0 || err != nil {
		t.Fatalf("stale DeleteMailRequest = %d, %v; want 0 rows", n, err)
	}
	if n, err := svc.Store.Write.DeleteMailRequest(ctx, db.DeleteMailRequestParams{ID: second.ID, Attempts: second.Attempts}); n != 1 || err != nil {
		t.Fatalf("current DeleteMailRequest = %d, %v; want 1 row", n, err)
	}
}
