package mail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"roster/mail"
	"roster/mail/mailtest"
)

var date = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func message(body string) mail.Message {
	return mail.Message{From: "Roster <no-reply@example.com>", To: "ann@example.org", Subject: "Hello",
		Body: body, Date: date, ID: "abc123@example.com"}
}

func TestBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, subject, body string
		wantCTE, wantBody   string
		wantSubject         string
	}{
		{"ascii", "Hello", "line one\nline two\n", "7bit", "line one\r\nline two\r\n", "Hello"},
		{"crlf kept", "Hello", "a\r\nb", "7bit", "a\r\nb\r\n", "Hello"},
		{"utf-8", "Grüße", "Grüße, Zoë\n", "quoted-printable", "Gr=C3=BC=C3=9Fe, Zo=C3=AB\r\n", "=?utf-8?q?Gr=C3=BC=C3=9Fe?="},
		{"long line", "Hi", strings.Repeat("x", 1000), "quoted-printable", "", "Hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := message(tt.body)
			m.Subject = tt.subject
			b, err := m.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			head, body, ok := strings.Cut(string(b), "\r\n\r\n")
			if !ok {
				t.Fatalf("no blank line after the headers:\n%q", b)
			}
			wantHead := "Date: Wed, 04 Mar 2026 05:06:07 +0000\r\nMessage-ID: <abc123@example.com>\r\n" +
				"From: \"Roster\" <no-reply@example.com>\r\nTo: <ann@example.org>\r\nSubject: " + tt.wantSubject + "\r\n" +
				"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: " + tt.wantCTE
			if head != wantHead {
				t.Errorf("headers =\n%q\nwant\n%q", head, wantHead)
			}
			if tt.wantBody != "" && body != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			if bytes.Contains(bytes.ReplaceAll(b, []byte("\r\n"), nil), []byte("\n")) {
				t.Errorf("a bare LF in %q", b)
			}
			for line := range strings.SplitSeq(string(b), "\r\n") {
				if len(line) > 998 {
					t.Errorf("line of %d bytes", len(line))
				}
			}
		})
	}
}

func TestBytesRefusesHeaderInjection(t *testing.T) {
	t.Parallel()
	for name, change := range map[string]func(*mail.Message){
		"subject LF":    func(m *mail.Message) { m.Subject = "Hi\nBcc: eve@example.net" },
		"subject CR":    func(m *mail.Message) { m.Subject = "Hi\rBcc: eve@example.net" },
		"to CRLF":       func(m *mail.Message) { m.To = "ann@example.org\r\nBcc: eve@example.net" },
		"from LF":       func(m *mail.Message) { m.From = "a@example.com\nX: y" },
		"id LF":         func(m *mail.Message) { m.ID = "a@b\nX: y" },
		"to two":        func(m *mail.Message) { m.To = "ann@example.org, eve@example.net" },
		"to garbage":    func(m *mail.Message) { m.To = "not an address" },
		"no id":         func(m *mail.Message) { m.ID = "" },
		"no date":       func(m *mail.Message) { m.Date = time.Time{} },
		"invalid utf-8": func(m *mail.Message) { m.Body = "\xff" },
	} {
		m := message("body")
		change(&m)
		if b, err := m.Bytes(); err == nil {
			t.Errorf("%s: Bytes() = %q, want an error", name, b)
		}
	}
}

func TestNewSMTP(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, want string }{
		{"smtp://mail.example.com", "smtp://mail.example.com:587"},
		{"smtp://u:p@mail.example.com:2525", "smtp://mail.example.com:2525"},
		{"smtps://u:p@mail.example.com", "smtps://mail.example.com:465"},
		{"smtp://[::1]:25", "smtp://[::1]:25"},
		{"http://mail.example.com", ""},
		{"smtp://", ""},
		{"smtp://mail.example.com/path", ""},
		{"smtp://mail.example.com?x=1", ""},
		{"smtp://u:p@host:bad port", ""},
	}
	for _, tt := range tests {
		s, err := mail.NewSMTP(tt.url)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("NewSMTP(%q) = %v, want an error", tt.url, s)
		case tt.want != "" && err != nil:
			t.Errorf("NewSMTP(%q): %v", tt.url, err)
		case err != nil && strings.Contains(err.Error(), "p@"):
			t.Errorf("NewSMTP(%q) error %q shows the password", tt.url, err)
		case err == nil && s.String() != tt.want:
			t.Errorf("NewSMTP(%q).String() = %q, want %q", tt.url, s, tt.want)
		}
	}
}

func TestSMTPSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts mailtest.Options
	}{
		{"plain, no auth", mailtest.Options{}},
		{"plain auth to localhost", mailtest.Options{User: "roster", Pass: "s3cret"}},
		{"STARTTLS and auth", mailtest.Options{StartTLS: true, User: "roster", Pass: "s3cret"}},
		{"implicit TLS and auth", mailtest.Options{Implicit: true, User: "roster", Pass: "s3cret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mailtest.Start(t, tt.opts)
			s, err := mail.NewSMTP(srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			if tt.opts.StartTLS || tt.opts.Implicit {
				s.TLS = srv.ClientTLS()
			}
			m := message("Your code is 1234.\n")
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.Messages()
			if len(got) != 1 || got[0].From != "no-reply@example.com" || len(got[0].To) != 1 || got[0].To[0] != m.To {
				t.Fatalf("delivered %+v, want one message from no-reply@example.com to %s", got, m.To)
			}
			want, _ := m.Bytes()
			if !bytes.Equal(got[0].Data, want) {
				t.Errorf("delivered data =\n%q\nwant\n%q", got[0].Data, want)
			}
		})
	}
}

func TestSMTPRefusesClearTextPasswordToRemoteHost(t *testing.T) {
	t.Parallel()
	// 127.0.0.2 is loopback too, but not a name net/smtp treats as
	// localhost: to it, a password goes only over TLS.
	srv := mailtest.Start(t, mailtest.Options{Host: "127.0.0.2", User: "roster", Pass: "s3cret"})
	s, err := mail.NewSMTP(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), message("hi")); err == nil || !strings.Contains(err.Error(), "unencrypted") {
		t.Errorf("Send over a clear-text connection with a password = %v, want net/smtp's unencrypted-connection refusal", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages delivered, want 0", n)
	}
}

func TestSMTPErrorsTemporaryOrPermanent(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{})
	s, _ := mail.NewSMTP(srv.URL())
	ctx := context.Background()

	srv.RejectRecipients(550)
	if err := s.Send(ctx, message("hi")); !mail.IsPermanent(err) {
		t.Errorf("Send to a refused mailbox (550) = %v, want a permanent error", err)
	}
	srv.RejectRecipients(451)
	if err := s.Send(ctx, message("hi")); err == nil || mail.IsPermanent(err) {
		t.Errorf("Send with 451 = %v, want a temporary error", err)
	}
	srv.RejectRecipients(0)
	bad := message("hi")
	bad.Subject = "a\nb"
	if err := s.Send(ctx, bad); !mail.IsPermanent(err) {
		t.Errorf("Send(unrenderable) = %v, want a permanent error", err)
	}
	srv.Stop() // the server accepts and hangs up at once
	if err := s.Send(ctx, message("hi")); err == nil || mail.IsPermanent(err) {
		t.Errorf("Send while the server is down = %v, want a temporary error", err)
	}
	refused, _ := mail.NewSMTP("smtp://127.0.0.1:1") // nothing listens on port 1
	if err := refused.Send(ctx, message("hi")); err == nil || mail.IsPermanent(err) {
		t.Errorf("Send to a port that refuses connections = %v, want a temporary error", err)
	}
	srv.Start()
	if err := s.Send(ctx, message("hi")); err != nil {
		t.Errorf("Send after the server came back: %v", err)
	}
	if err := s.Send(ctx, message("hi")); err != nil {
		t.Errorf("Send after the server came back: %v", err)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("%d messages delivered, want 2", n)
	}
}

func TestSMTPSendHonoursCancel(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{})
	s, _ := mail.NewSMTP(srv.URL())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, message("hi")); !errors.Is(err, context.Canceled) {
		t.Errorf("Send(cancelled ctx) = %v, want context.Canceled", err)
	}
}

func TestLogSenderShowsTheMessage(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := mail.Log{Log: slog.New(slog.NewTextHandler(&buf, nil))}
	if err := l.Send(context.Background(), message("Open https://roster.example.com/verify#token=rev_abc\n")); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"MAIL NOT SENT", "ann@example.org", "https://roster.example.com/verify#token=rev_abc"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
}
