package outbox

import (
	"errors"
	"log/slog"
	"time"

	"roster/db"
	"roster/mail"
)

// Config is how mail leaves: the SMTP server, the sender, and the retry
// policy. Validate's messages name each setting by its command-line flag.
type Config struct {
	SMTPURL     string        // -smtp-url: smtp:// or smtps:// URL; empty writes mail to the log
	From        string        // -mail-from: the From header of every message
	RetryMin    time.Duration // -mail-retry-min: first wait before a retry; it doubles up to RetryMax
	GiveUpAfter time.Duration // -mail-give-up: a message undelivered this long after queueing fails
}

// DefaultConfig logs mail instead of sending it, from roster@localhost,
// retrying after 30 s and giving up after a day.
func DefaultConfig() Config {
	return Config{From: "Roster <roster@localhost>", RetryMin: DefaultRetryMin, GiveUpAfter: DefaultGiveUpAfter}
}

// Validate reports every setting out of range, joined.
func (c Config) Validate() error {
	var errs []error
	if c.SMTPURL != "" {
		if _, err := mail.NewSMTP(c.SMTPURL); err != nil {
			errs = append(errs, errors.New("-smtp-url: "+err.Error()))
		}
	}
	if d, err := mail.Domain(c.From); err != nil || d == "" {
		errs = append(errs, errors.New(`-mail-from must be an address such as "Roster <roster@example.com>"`))
	}
	if c.RetryMin < time.Second || c.GiveUpAfter < c.RetryMin {
		errs = append(errs, errors.New("-mail-retry-min must be at least 1s and -mail-give-up at least as long"))
	}
	return errors.Join(errs...)
}

// New returns the worker c describes: delivering through SMTP when SMTPURL is
// set, otherwise writing each message, links and codes included, to log.
func New(store *db.Store, c Config, log *slog.Logger) (*Worker, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var sender mail.Sender = mail.Log{Log: log}
	if c.SMTPURL == "" {
		log.Warn("no -smtp-url: mail is written to this log, not sent, INCLUDING password-reset and " +
			"verification codes; for development only: set -smtp-url in production")
	} else {
		s, err := mail.NewSMTP(c.SMTPURL)
		if err != nil {
			return nil, err
		}
		log.Info("mail goes through " + s.String())
		sender = s
	}
	w, err := NewWorker(store, sender, c.From, log)
	if err != nil {
		return nil, err
	}
	w.RetryMin, w.GiveUpAfter = c.RetryMin, c.GiveUpAfter
	return w, nil
}
