// Package mailtest runs a real SMTP server (github.com/emersion/go-smtp) on
// loopback inside a test and records what it receives.
package mailtest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configure a test server. The zero value is a plain server on
// 127.0.0.1 that accepts anything without authentication.
type Options struct {
	Host     string // listen host; 127.0.0.1 when empty
	StartTLS bool   // offer STARTTLS
	Implicit bool   // TLS from the first byte (smtps)
	User     string // when set, AUTH PLAIN with User and Pass is required
	Pass     string
}

// Received is one delivered message.
type Received struct {
	From string
	To   []string
	Data []byte // as it came over the wire, CRLF line endings included
}

// Server is a running SMTP server. Stop and Start simulate an outage: while
// stopped, each connection is closed as soon as it is accepted. The port stays
// bound throughout, so no other socket can take it before Start.
type Server struct {
	tb     testing.TB
	opts   Options
	addr   net.Addr
	tls    *tls.Config
	client *tls.Config

	mu      sync.Mutex
	up      *handoff // the running smtp.Server's listener; nil while stopped
	ended   bool     // the test has ended: Start does nothing
	msgs    []Received
	reject  int
	arrived chan struct{}
}

// Start starts a server that is stopped when the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	s := &Server{tb: tb, opts: opts, arrived: make(chan struct{})}
	if opts.StartTLS || opts.Implicit {
		// httptest's certificate is valid for 127.0.0.1 and example.com.
		hts := httptest.NewUnstartedServer(nil)
		hts.StartTLS()
		s.tls = hts.TLS
		pool := x509.NewCertPool()
		pool.AddCert(hts.Certificate())
		s.client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
		hts.Close()
	}
	var ln net.Listener
	var err error
	if opts.Implicit {
		ln, err = tls.Listen("tcp", opts.Host+":0", s.tls)
	} else {
		ln, err = net.Listen("tcp", opts.Host+":0")
	}
	if err != nil {
		tb.Fatalf("mailtest: listen: %v", err)
	}
	s.addr = ln.Addr()
	s.Start()
	go s.accept(ln)
	tb.Cleanup(func() {
		s.mu.Lock()
		s.ended = true
		s.mu.Unlock()
		ln.Close()
		s.Stop()
	})
	return s
}

// accept hands each connection to the running smtp.Server, or closes it
// while stopped.
func (s *Server) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		up := s.up
		if up != nil {
			up.given = append(up.given, c)
		}
		s.mu.Unlock()
		if up == nil {
			c.Close()
			continue
		}
		select {
		case up.conns <- c:
		case <-up.closed: // Stop closes c
		}
	}
}

// handoff is the listener an smtp.Server serves: it yields the connections
// accept hands it until it is closed.
type handoff struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	given  []net.Conn // every connection accept handed on, guarded by Server.mu
}

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.conns:
		return c, nil
	case <-h.closed:
		return nil, net.ErrClosed
	}
}

func (h *handoff) Close() error {
	h.once.Do(func() { close(h.closed) })
	return nil
}

func (h *handoff) Addr() net.Addr { return h.addr }

// URL is the smtp:// (or smtps://) URL of the server, with credentials when
// it requires them.
func (s *Server) URL() string {
	scheme := "smtp://"
	if s.opts.Implicit {
		scheme = "smtps://"
	}
	if s.opts.User != "" {
		scheme += s.opts.User + ":" + s.opts.Pass + "@"
	}
	return scheme + s.addr.String()
}

// ClientTLS is a TLS configuration that trusts the server's certificate.
func (s *Server) ClientTLS() *tls.Config { return s.client.Clone() }

// Stop closes the server and its open connections; new connections are
// closed on arrival until Start.
func (s *Server) Stop() {
	s.mu.Lock()
	up := s.up
	s.up = nil // accept hands up no more connections
	s.mu.Unlock()
	if up == nil {
		return
	}
	// Closing the handoff ends Serve. Its connections are closed here, not by
	// smtp.Server's Close, which misses one whose goroutine has not
	// registered it yet.
	up.Close()
	for _, c := range up.given {
		c.Close()
	}
}

// Start serves again after Stop, on the same address; it does nothing while
// the server is running or once the test has ended.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.up != nil || s.ended {
		return
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "mailtest.invalid"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = true // so a test can show that roster refuses to send a password in clear
	if s.opts.StartTLS {
		srv.TLSConfig = s.tls
	}
	s.up = &handoff{addr: s.addr, conns: make(chan net.Conn), closed: make(chan struct{})}
	go srv.Serve(s.up)
}

// RejectRecipients makes RCPT answer with the given SMTP code (0 accepts again).
func (s *Server) RejectRecipients(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = code
}

// Messages returns what was delivered so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// Wait returns the delivered messages once there are at least n, failing
// the test if they have not arrived within 30 seconds.
func (s *Server) Wait(n int) []Received {
	s.tb.Helper()
	deadline := time.After(30 * time.Second)
	for {
		s.mu.Lock()
		msgs, arrived := append([]Received(nil), s.msgs...), s.arrived
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs
		}
		select {
		case <-arrived:
		case <-deadline:
			s.tb.Fatalf("mailtest: %d messages arrived, want %d", len(msgs), n)
		}
	}
}

type session struct {
	s    *Server
	auth bool
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != ss.s.opts.User || pass != ss.s.opts.Pass {
			return smtp.ErrAuthFailed
		}
		ss.auth = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.User != "" && !ss.auth {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	code := ss.s.reject
	ss.s.mu.Unlock()
	if code != 0 {
		return &smtp.SMTPError{Code: code, Message: "recipient refused by the test"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.s
	s.mu.Lock()
	s.msgs = append(s.msgs, Received{From: ss.from, To: ss.to, Data: b})
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// Parse splits a delivered message into its headers and decoded body.
func (r Received) Parse() (mail.Header, string, error) {
	m, err := mail.ReadMessage(strings.NewReader(string(r.Data)))
	if err != nil {
		return nil, "", err
	}
	body := m.Body
	switch cte := m.Header.Get("Content-Transfer-Encoding"); cte {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "7bit", "8bit", "":
	default:
		return nil, "", errors.New("mailtest: unexpected Content-Transfer-Encoding " + cte)
	}
	b, err := io.ReadAll(body)
	return m.Header, string(b), err
}

// Find returns the first match of pattern in the decoded body of r, failing
// the test when there is none.
func Find(tb testing.TB, r Received, pattern string) string {
	tb.Helper()
	_, body, err := r.Parse()
	if err != nil {
		tb.Fatalf("mailtest: parse message: %v\n%s", err, r.Data)
	}
	m := regexp.MustCompile(pattern).FindString(body)
	if m == "" {
		tb.Fatalf("mailtest: no %s in message body:\n%s", pattern, body)
	}
	return m
}
