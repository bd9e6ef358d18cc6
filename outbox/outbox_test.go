package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/account/accounttest"
	"roster/db"
	"roster/mail"
	"roster/mail/mailtest"
	"roster/outbox"
)

var start = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

const from = "Roster <roster@example.com>"

// env is a worker on a real database (a SQLite file or a PostgreSQL
// schema), a real SMTP server and a test clock.
type env struct {
	t      *testing.T
	dsn    string
	store  *db.Store
	smtp   *mailtest.Server
	clock  *accounttest.Clock
	worker *outbox.Worker
}

func newEnv(t *testing.T, eng accounttest.Engine) *env {
	t.Helper()
	e := &env{t: t, dsn: eng.DSN(t), smtp: mailtest.Start(t, mailtest.Options{}),
		clock: accounttest.NewClock(start)}
	e.open()
	t.Cleanup(func() { e.store.Close() })
	return e
}

// open opens the database and a fresh worker on it, as a restarted service would.
func (e *env) open() {
	e.t.Helper()
	store, err := db.Open(context.Background(), e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	sender, err := mail.NewSMTP(e.smtp.URL())
	if err != nil {
		e.t.Fatal(err)
	}
	w, err := outbox.NewWorker(store, sender, from, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		e.t.Fatal(err)
	}
	w.Now = e.clock.Now
	e.store, e.worker = store, w
}

func (e *env) restart() {
	e.t.Helper()
	if err := e.store.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

func (e *env) enqueue(to string) {
	e.t.Helper()
	err := e.store.Tx(context.Background(), func(q db.Querier) error {
		return outbox.Enqueue(context.Background(), q, db.Now(e.clock.Now()),
			outbox.Mail{Kind: "test", To: to, Subject: "Hello", Body: "Your code is 42.\n"})
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// deliver runs one delivery pass and checks how many attempts it made.
func (e *env) deliver(wantAttempts int) {
	e.t.Helper()
	n, err := e.worker.DeliverDue(context.Background())
	if err != nil {
		e.t.Fatalf("DeliverDue: %v", err)
	}
	if n != wantAttempts {
		e.t.Fatalf("DeliverDue at %s made %d attempts, want %d", e.clock.Now().Sub(start), n, wantAttempts)
	}
}

// claimAsAnotherWorker claims the due message as a worker on another
// replica would, leasing it for the default time, and returns the claim.
func (e *env) claimAsAnotherWorker() db.Outbox {
	e.t.Helper()
	now := db.Now(e.clock.Now())
	m, err := e.store.Write.ClaimDueOutboxMessage(context.Background(), db.ClaimDueOutboxMessageParams{
		LeaseUntil: now.Add(2 * outbox.DefaultSendTimeout), Now: now})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) rows() []db.Outbox {
	e.t.Helper()
	rows, err := e.store.Read.ListOutboxMessages(context.Background(), db.ListOutboxMessagesParams{Lim: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func (e *env) row() db.Outbox {
	e.t.Helper()
	rows := e.rows()
	if len(rows) != 1 {
		e.t.Fatalf("%d outbox rows, want 1", len(rows))
	}
	return rows[0]
}

func TestEnqueueIsPartOfTheTransaction(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testEnqueueIsPartOfTheTransaction)
}

func testEnqueueIsPartOfTheTransaction(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	e := newEnv(t, eng)
	boom := errors.New("the change failed")
	err := e.store.Tx(context.Background(), func(q db.Querier) error {
		if err := outbox.Enqueue(context.Background(), q, start, outbox.Mail{Kind: "test", To: "a@example.org"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx = %v, want %v", err, boom)
	}
	if rows := e.rows(); len(rows) != 0 {
		t.Fatalf("a rolled-back transaction left %d outbox rows", len(rows))
	}
	e.enqueue("a@example.org")
	if r := e.row(); r.Status != outbox.StatusPending || r.Attempts != 0 || r.Body == "" {
		t.Fatalf("queued row = %+v, want pending with its body", r)
	}
}

func TestDeliverSendsAndErasesTheBody(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testDeliverSendsAndErasesTheBody)
}

func testDeliverSendsAndErasesTheBody(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	e := newEnv(t, eng)
	e.enqueue("ann@example.org")
	e.deliver(1)
	e.deliver(0) // nothing left to do
	msgs := e.smtp.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages delivered, want 1", len(msgs))
	}
	h, body, err := msgs[0].Parse()
	if err != nil {
		t.Fatal(err)
	}
	r := e.row()
	wantHeaders := map[string]string{
		"From": `"Roster" <roster@example.com>`, "To": "<ann@example.org>", "Subject": "Hello",
		"Date": "Fri, 01 May 2026 09:00:00 +0000", "Message-Id": "<" + r.MessageID + "@example.com>",
	}
	for k, v := range wantHeaders {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if body != "Your code is 42.\r\n" {
		t.Errorf("body = %q", body)
	}
	if r.Status != outbox.StatusSent || r.Body != "" || r.FinishedAt == nil || r.Attempts != 1 {
		t.Errorf("row after delivery = %+v, want sent, body erased, one attempt", r)
	}
}

func TestOutageRetriesWithBackoffAndSurvivesRestart(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testOutageRetriesWithBackoffAndSurvivesRestart)
}

func testOutageRetriesWithBackoffAndSurvivesRestart(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	e := newEnv(t, eng)
	e.smtp.Stop()
	e.enqueue("ann@example.org")

	// Attempts at 0, 30 s, 1.5 min, 3.5 min: the waits double.
	for i, wait := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute} {
		e.deliver(1)
		r := e.row()
		if r.Status != outbox.StatusPending || r.Attempts != int64(i+1) || r.LastError == "" {
			t.Fatalf("after failed attempt %d: row = %+v, want pending with an error", i+1, r)
		}
		if got := r.NextAttemptAt.Sub(e.clock.Now()); got != wait {
			t.Fatalf("after failed attempt %d: next attempt in %s, want %s", i+1, got, wait)
		}
		e.clock.Advance(wait - time.Second)
		e.deliver(0) // not due yet
		e.clock.Advance(time.Second)
	}

	// The service restarts while the server is still down; then it comes back.
	e.restart()
	e.smtp.Start()
	e.deliver(1)
	if n := len(e.smtp.Messages()); n != 1 {
		t.Fatalf("%d messages delivered after the outage, want 1", n)
	}
	if r := e.row(); r.Status != outbox.StatusSent || r.Attempts != 4 {
		t.Errorf("row = %+v, want sent after 4 attempts", r)
	}
}

func TestCrashMidDeliveryIsRetriedAfterTheLease(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testCrashMidDeliveryIsRetriedAfterTheLease)
}

func testCrashMidDeliveryIsRetriedAfterTheLease(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	e := newEnv(t, eng)
	e.enqueue("ann@example.org")
	// A worker claims the message and dies before recording anything.
	e.claimAsAnotherWorker()
	e.restart()
	e.deliver(0) // still leased
	e.clock.Advance(2 * outbox.DefaultSendTimeout)
	e.deliver(1)
	if n := len(e.smtp.Messages()); n != 1 {
		t.Fatalf("%d messages delivered, want 1", n)
	}
}

func TestPermanentRefusalFailsAtOnce(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testPermanentRefusalFailsAtOnce)
}

func testPermanentRefusalFailsAtOnce(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	e := newEnv(t, eng)
	e.smtp.RejectRecipients(550)
	e.enqueue("nobody@example.org")
	e.deliver(1)
	r := e.row()
	if r.Status != outbox.StatusFailed || r.Body != "" || !strings.Contains(r.LastError, "550") || r.FinishedAt == nil {
		t.Fatalf("row = %+v, want failed with the 550 reply and no body", r)
	}
	e.clock.Advance(24 * time.Hour)
	e.deliver(0)
}

func TestGivesUpAfterADay(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testGivesUpAfterADay)
}

func testGivesUpAfterADay(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	e := newEnv(t, eng)
	e.smtp.Stop()
	e.enqueue("ann@example.org")
	attempts := 0
	for e.row().Status == outbox.StatusPending {
		n, err := e.worker.DeliverDue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		attempts += n
		e.clock.Advance(time.Minute)
		if e.clock.Now().Sub(start) > 26*time.Hour {
			t.Fatalf("still pending after %s", e.clock.Now().Sub(start))
		}
	}
	r := e.row()
	if r.Status != outbox.StatusFailed || r.Body != "" {
		t.Fatalf("row = %+v, want failed without a body", r)
	}
	// 30 s doubling to the 1 h cap: 8 attempts in the first 2 h, then hourly.
	if attempts < 25 || attempts > 35 {
		t.Errorf("%d attempts in a day, want about 30", attempts)
	}
	if age := r.FinishedAt.Sub(start); age < outbox.DefaultGiveUpAfter || age > outbox.DefaultGiveUpAfter+time.Hour {
		t.Errorf("gave up %s after queueing, want within an hour after %s", age, outbox.DefaultGiveUpAfter)
	}
}

func TestRunWakesOnNotifyAndStopsOnCancel(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testRunWakesOnNotifyAndStopsOnCancel)
}

func testRunWakesOnNotifyAndStopsOnCancel(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	e := newEnv(t, eng)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.worker.Run(ctx, nil) // no ticker: only Notify wakes it
		close(done)
	}()
	e.enqueue("ann@example.org")
	e.worker.Notify()
	e.smtp.Wait(1)
	cancel()
	<-done
}

func TestPruneDeletesOldSentMail(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testPruneDeletesOldSentMail)
}

func testPruneDeletesOldSentMail(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	e := newEnv(t, eng)
	e.enqueue("ann@example.org")
	e.deliver(1)
	e.smtp.RejectRecipients(550)
	e.enqueue("bob@example.org")
	e.deliver(1)
	e.clock.Advance(outbox.DefaultKeepSent + time.Second)
	if n, err := e.worker.Prune(context.Background()); n != 1 || err != nil {
		t.Fatalf("Prune = %d, %v; want 1, nil", n, err)
	}
	rows := e.rows()
	if len(rows) != 1 || rows[0].Status != outbox.StatusFailed {
		t.Fatalf("rows after pruning = %+v, want only the failed one", rows)
	}
}

func TestStaleWorkerCannotOverwriteAReclaimedMessage(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testStaleWorkerCannotOverwriteAReclaimedMessage)
}

// A worker that stalls past its lease (a long GC pause, a partitioned
// replica) comes back to a row that another worker has reclaimed and
// delivered: its late outcome must not turn the delivered row back into a
// pending one, nor mark it failed.
func testStaleWorkerCannotOverwriteAReclaimedMessage(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	e := newEnv(t, eng)
	e.enqueue("ann@example.org")
	stale := e.claimAsAnotherWorker()
	if stale.Attempts != 1 {
		t.Fatalf("claim counted %d attempts, want 1", stale.Attempts)
	}
	e.clock.Advance(2 * outbox.DefaultSendTimeout)
	e.deliver(1) // the lease ran out: this worker reclaims and delivers
	now := db.Now(e.clock.Now())
	ctx := context.Background()
	if n, err := e.store.Write.RetryOutboxMessage(ctx, db.RetryOutboxMessageParams{
		LastError: "timeout", NextAttemptAt: now.Add(time.Minute), ID: stale.ID, Attempts: stale.Attempts}); n != 0 || err != nil {
		t.Errorf("stale RetryOutboxMessage = %d, %v; want 0 rows", n, err)
	}
	if n, err := e.store.Write.FailOutboxMessage(ctx, db.FailOutboxMessageParams{
		LastError: "550", Now: &now, ID: stale.ID, Attempts: stale.Attempts}); n != 0 || err != nil {
		t.Errorf("stale FailOutboxMessage = %d, %v; want 0 rows", n, err)
	}
	if r := e.row(); r.Status != outbox.StatusSent || r.Attempts != 2 || r.LastError != "" {
		t.Fatalf("row = %+v, want sent by the second attempt, untouched by the stale one", r)
	}
	if n := len(e.smtp.Messages()); n != 1 {
		t.Fatalf("%d messages delivered, want 1", n)
	}
}

func TestWorkersOnSeveralReplicasSendEachMessageOnce(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testWorkersOnSeveralReplicasSendEachMessageOnce)
}

// Four workers, each with its own connection pool as on four replicas,
// drain one queue at the same time: every message goes out exactly once.
func testWorkersOnSeveralReplicasSendEachMessageOnce(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	e := newEnv(t, eng)
	const messages, replicas = 60, 4
	for i := range messages {
		e.enqueue(fmt.Sprintf("user%d@example.org", i))
	}
	workers := []*outbox.Worker{e.worker}
	for range replicas - 1 {
		r := *e // the same database and SMTP server, a new pool and worker
		r.open()
		t.Cleanup(func() { r.store.Close() })
		workers = append(workers, r.worker)
	}
	var wg sync.WaitGroup
	attempts := make([]int, replicas)
	for i, w := range workers {
		wg.Go(func() {
			n, err := w.DeliverDue(context.Background())
			if err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
			attempts[i] = n
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, m := range e.smtp.Messages() {
		h, _, err := m.Parse()
		if err != nil {
			t.Fatal(err)
		}
		seen[h.Get("Message-Id")]++
	}
	if len(seen) != messages {
		t.Errorf("%d distinct messages delivered, want %d", len(seen), messages)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s delivered %d times", id, n)
		}
	}
	for _, r := range e.rows() {
		if r.Status != outbox.StatusSent || r.Attempts != 1 {
			t.Errorf("row %d = %s after %d attempts, want sent after 1", r.ID, r.Status, r.Attempts)
		}
	}
	t.Logf("attempts per worker: %v", attempts)
}
