package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"time"
)

// SMTP delivers messages to one SMTP server, configured by a URL:
//
//	smtp://user:pass@host:587   plain connection, upgraded with STARTTLS when the server offers it
//	smtps://user:pass@host:465  TLS from the first byte
//
// Credentials are optional. They are sent with AUTH PLAIN only over TLS or
// to localhost; net/smtp refuses anything else, so a server that does not
// offer STARTTLS never sees a password in clear text.
type SMTP struct {
	host, addr string
	implicit   bool
	auth       smtp.Auth
	// TLS configures STARTTLS and smtps; nil means the system's roots and the
	// URL's host as server name. Tests set their own roots.
	TLS *tls.Config
}

// NewSMTP parses an smtp:// or smtps:// URL.
func NewSMTP(rawURL string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("mail: the SMTP URL does not parse") // the error would echo the password
	}
	s := &SMTP{host: u.Hostname()}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		port = orDefault(port, "587")
	case "smtps":
		port, s.implicit = orDefault(port, "465"), true
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if s.host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, errors.New("mail: SMTP URL must be smtp[s]://[user:pass@]host[:port]")
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		pass, _ := u.User.Password()
		s.auth = smtp.PlainAuth("", u.User.Username(), pass, s.host)
	}
	return s, nil
}

func orDefault(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}

// String is the server's address, without credentials, for logs.
func (s *SMTP) String() string {
	scheme := "smtp"
	if s.implicit {
		scheme = "smtps"
	}
	return scheme + "://" + s.addr
}

func (s *SMTP) tlsConfig() *tls.Config {
	if s.TLS != nil {
		return s.TLS
	}
	return &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
}

// Send delivers m in one SMTP session. Cancelling ctx, or its deadline,
// aborts the session wherever it is.
func (s *SMTP) Send(ctx context.Context, m Message) (err error) {
	data, err := m.Bytes()
	if err != nil {
		return Permanent(err)
	}
	from, err := addressOnly(m.From)
	if err != nil {
		return Permanent(err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if s.implicit {
		tc := tls.Client(conn, s.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return err
		}
		conn = tc
	}

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return err
	}
	defer c.Close()
	if !s.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return err
			}
		}
	}
	if s.auth != nil {
		if err := c.Auth(s.auth); err != nil {
			return err
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(m.To); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func addressOnly(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that retrying cannot fix.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether retrying a send that failed with err is
// pointless: the message could not be rendered, or the server answered
// with a 5xx reply such as "no such mailbox". Network errors and 4xx
// replies are temporary.
func IsPermanent(err error) bool {
	var pe permanentError
	if errors.As(err, &pe) {
		return true
	}
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500
}

// Log "delivers" messages by writing them to a log, for a local run with no
// SMTP server: the links and codes they carry stay visible.
type Log struct {
	Log *slog.Logger
}

// Send logs m, clearly marked as not sent.
func (l Log) Send(ctx context.Context, m Message) error {
	if _, err := m.Bytes(); err != nil {
		return Permanent(err)
	}
	l.Log.WarnContext(ctx, "MAIL NOT SENT (no -smtp-url configured); printing it instead",
		slog.String("to", m.To), slog.String("subject", m.Subject), slog.String("message_id", m.ID),
		slog.String("body", m.Body))
	return nil
}
