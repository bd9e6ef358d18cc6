// Package outbox makes mail durable: a message is a row written in the same
// transaction as the change that causes it, and a Worker delivers the rows
// with retries. A message is delivered at least once across SMTP outages
// and restarts; one that keeps failing is marked failed and kept for admins.
package outbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"log/slog"
	"time"

	"roster/db"
	"roster/mail"
)

// Statuses of an outbox row.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
	StatusFailed  = "failed"
)

// Mail is a message to queue.
type Mail struct {
	UserID  int64  // the account it concerns; 0 for none
	Kind    string // what it is, for admins: "email_verification", "password_reset" …
	To      string
	Subject string
	Body    string
}

// Enqueue writes m to the outbox through q, which must be the transaction of
// the change that causes the mail, so that the mail exists if and only if the
// change commits. now is the time from db.Now. Call the worker's Notify after
// the commit for prompt delivery.
func Enqueue(ctx context.Context, q db.Querier, now time.Time, m Mail) error {
	var userID *int64
	if m.UserID != 0 {
		userID = &m.UserID
	}
	return q.CreateOutboxMessage(ctx, db.CreateOutboxMessageParams{
		MessageID: rand.Text(), UserID: userID, Kind: m.Kind, Recipient: m.To,
		Subject: m.Subject, Body: m.Body, CreatedAt: now,
	})
}

// Defaults of a Worker's retry policy.
const (
	DefaultRetryMin    = 30 * time.Second
	DefaultRetryMax    = time.Hour
	DefaultGiveUpAfter = 24 * time.Hour
	DefaultSendTimeout = 30 * time.Second
	DefaultKeepSent    = 30 * 24 * time.Hour
)

// Worker delivers due outbox rows, one at a time. Workers on several
// replicas share the table safely: a claim is one statement that leases one
// row, and the outcome is recorded only if no newer claim has taken the row
// since (see sql/queries/outbox.sql). A failed attempt is
// retried after RetryMin, doubling up to RetryMax; a message still undelivered
// GiveUpAfter its creation, or refused permanently by the server (a 5xx
// reply), is marked failed. Delivered rows are deleted KeepSent after delivery.
type Worker struct {
	Store  *db.Store
	Sender mail.Sender
	From   string // the From header of every message
	Log    *slog.Logger
	Now    func() time.Time

	RetryMin, RetryMax time.Duration
	GiveUpAfter        time.Duration
	SendTimeout        time.Duration
	KeepSent           time.Duration

	domain string // right-hand side of Message-IDs
	wake   chan struct{}
}

// NewWorker returns a worker with the default retry policy and the real clock.
func NewWorker(store *db.Store, sender mail.Sender, from string, log *slog.Logger) (*Worker, error) {
	domain, err := mail.Domain(from)
	if err != nil || domain == "" {
		return nil, errors.New("outbox: the sender address must be an address such as Roster <roster@example.com>")
	}
	return &Worker{Store: store, Sender: sender, From: from, Log: log, Now: time.Now,
		RetryMin: DefaultRetryMin, RetryMax: DefaultRetryMax, GiveUpAfter: DefaultGiveUpAfter,
		SendTimeout: DefaultSendTimeout, KeepSent: DefaultKeepSent,
		domain: domain, wake: make(chan struct{}, 1)}, nil
}

// Notify wakes the worker so that mail queued by a transaction that just
// committed goes out now rather than at the next tick. It never blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers whatever is due, then again at every tick and Notify, until
// ctx is done. A delivery cut short by ctx counts as a failed attempt and is
// retried, after a restart if need be.
func (w *Worker) Run(ctx context.Context, tick <-chan time.Time) {
	for {
		if _, err := w.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			w.Log.ErrorContext(ctx, "outbox: delivery pass failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-w.wake:
		}
	}
}

// DeliverDue delivers every message due now, one after another, and returns
// how many attempts it made.
func (w *Worker) DeliverDue(ctx context.Context) (attempts int, err error) {
	for ctx.Err() == nil {
		m, ok, err := w.claim(ctx)
		if err != nil || !ok {
			return attempts, err
		}
		attempts++
		if err := w.deliver(ctx, m); err != nil {
			return attempts, err
		}
	}
	return attempts, nil
}

// claim takes the message due longest, leasing it for twice the send timeout.
func (w *Worker) claim(ctx context.Context) (m db.Outbox, ok bool, err error) {
	now := db.Now(w.Now())
	m, err = w.Store.Write.ClaimDueOutboxMessage(ctx, db.ClaimDueOutboxMessageParams{
		LeaseUntil: now.Add(2 * w.SendTimeout), Now: now})
	if errors.Is(err, sql.ErrNoRows) {
		return m, false, nil
	}
	return m, err == nil, err
}

// deliver sends one claimed message and records the outcome, even when ctx
// is cancelled mid-send.
func (w *Worker) deliver(ctx context.Context, m db.Outbox) error {
	sendCtx, cancel := context.WithTimeout(ctx, w.SendTimeout)
	sendErr := w.Sender.Send(sendCtx, mail.Message{From: w.From, To: m.Recipient, Subject: m.Subject,
		Body: m.Body, Date: m.CreatedAt, ID: m.MessageID + "@" + w.domain})
	cancel()

	ctx = context.WithoutCancel(ctx)
	now := db.Now(w.Now())
	log := w.Log.With(slog.Int64("outbox_id", m.ID), slog.String("kind", m.Kind), slog.Int64("attempts", m.Attempts))
	var n int64
	var err error
	switch {
	case sendErr == nil:
		log.InfoContext(ctx, "outbox: mail sent")
		n, err = w.Store.Write.MarkOutboxSent(ctx, db.MarkOutboxSentParams{Now: &now, ID: m.ID, Attempts: m.Attempts})
	case mail.IsPermanent(sendErr) || now.Sub(m.CreatedAt) >= w.GiveUpAfter:
		log.ErrorContext(ctx, "outbox: mail failed for good", slog.Any("error", sendErr))
		n, err = w.Store.Write.FailOutboxMessage(ctx, db.FailOutboxMessageParams{
			LastError: sendErr.Error(), Now: &now, ID: m.ID, Attempts: m.Attempts})
	default:
		next := db.Now(now.Add(w.backoff(m.Attempts)))
		log.WarnContext(ctx, "outbox: mail not sent; will retry", slog.Any("error", sendErr), slog.Time("retry_at", next))
		n, err = w.Store.Write.RetryOutboxMessage(ctx, db.RetryOutboxMessageParams{
			LastError: sendErr.Error(), NextAttemptAt: next, ID: m.ID, Attempts: m.Attempts})
	}
	if err == nil && n == 0 {
		// The lease ran out mid-send and another worker claimed the row: its
		// attempt decides the outcome, not this one.
		log.WarnContext(ctx, "outbox: lease lost before the outcome was recorded; the newer attempt decides")
	}
	return err
}

// backoff is the wait after the given number of failed attempts: RetryMin,
// doubling each time, at most RetryMax.
func (w *Worker) backoff(attempts int64) time.Duration {
	d := w.RetryMin
	for i := int64(1); i < attempts && d < w.RetryMax; i++ {
		d *= 2
	}
	return min(d, w.RetryMax)
}

// Prune deletes rows delivered more than KeepSent ago; the server's
// housekeeping calls it hourly, on one replica.
func (w *Worker) Prune(ctx context.Context) (int64, error) {
	before := db.Now(w.Now()).Add(-w.KeepSent)
	return w.Store.Write.DeleteSentOutboxMessages(ctx, &before)
}
