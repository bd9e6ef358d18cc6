package http

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"roster/account"
)

// Config holds the HTTP layer's limits, abuse, browser and metrics settings.
// DefaultConfig gives the defaults a server runs with; the zero value, which
// tests use, trusts no proxy, limits no rate, allows no cross-origin caller,
// leaves /metrics off the API router and has no connection timeouts.
type Config struct {
	// Timeouts bound how long one client may hold a connection.
	Timeouts Timeouts
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies Prefixes
	// SignupRate and LoginRate bound requests per client IP (IPv6: per /64)
	// to the sign-up routes (POST /v1/users, POST /add) and the login routes
	// (POST /v1/sessions, POST /login). A zero Rate is no limit.
	SignupRate, LoginRate Rate
	// CORSOrigins are the origins allowed to call the API from a browser.
	CORSOrigins Origins
	// MailRate bounds requests per client IP to the routes that send mail
	// (POST /v1/password-resets, POST /v1/sessions/codes, POST
	// /v1/me/email-verification, PATCH /v1/me), all sharing one budget.
	// MailTargetRate bounds them per target: the name or address a reset or
	// sign-in code is asked for, the address a verification is resent to,
	// the new address of an email change. The caller gives Resets the same
	// rate as its per-account cap on reset mails (and on sign-in code mails).
	MailRate, MailTargetRate Rate
	// Resets serves POST /v1/password-resets and POST /v1/sessions/codes off
	// the request path. Required: its Run must be running for those
	// requests to be served.
	Resets *account.ResetQueue
	// ReauthRate bounds, per signed-in account, the requests to the routes
	// that check its password (PUT /v1/me/password, PATCH /v1/me, DELETE
	// /v1/me and their web console forms), all sharing one budget;
	// ReauthClientRate bounds them per client IP (IPv6: per /64). Each such
	// request costs one or two password hashes. A zero Rate is no limit.
	ReauthRate, ReauthClientRate Rate
	// MetricsToken, when set, serves GET /metrics on the API router to
	// requests that carry it as "Authorization: Bearer <token>" (401
	// otherwise). Empty, the API router has no /metrics (404): a caller
	// serves Server.MetricsHandler on a listener of its own, or not at all.
	MetricsToken string
	// UI serves the web console under /ui/, where GET / redirects.
	UI bool
	// RequireMFAForAdmins refuses the admin routes (403 mfa_required) to
	// admins without a second factor.
	RequireMFAForAdmins bool
	// AccessLog receives the line written for each request; nil means the
	// server's log.
	AccessLog *slog.Logger
}

// DefaultConfig returns the settings a server runs with unless told
// otherwise: 20 sign-ups an hour and 20 login requests a minute per client
// IP, 20 mail-sending requests an hour per IP and 5 per target, 10
// password checks a minute per signed-in account and 30 per IP, the web
// console on, /metrics off the API listener, and DefaultTimeouts.
func DefaultConfig() Config {
	return Config{
		Timeouts:       DefaultTimeouts(),
		SignupRate:     Rate{Requests: 20, Per: time.Hour},
		LoginRate:      Rate{Requests: 20, Per: time.Minute},
		MailRate:       Rate{Requests: 20, Per: time.Hour},
		MailTargetRate: Rate{Requests: 5, Per: time.Hour},
		// A person changes a password or an address a few times a minute
		// at most; one client address may serve several people (NAT).
		ReauthRate:       Rate{Requests: 10, Per: time.Minute},
		ReauthClientRate: Rate{Requests: 30, Per: time.Minute},
		UI:               true,
	}
}

// Validate reports a setting out of range. Rates, proxies and origins are
// checked as they are parsed (Rate.Set, Prefixes.Set, Origins.Set).
func (c Config) Validate() error {
	t := c.Timeouts
	if t.ReadHeader <= 0 || t.Read <= 0 || t.Write <= 0 || t.Idle <= 0 {
		return errors.New("timeouts must be positive")
	}
	return nil
}

// Timeouts bound how long one client may hold a connection: a slow client
// that sends one header byte every few seconds is cut off by ReadHeader.
type Timeouts struct {
	ReadHeader time.Duration // to read a request's headers
	Read       time.Duration // to read a whole request
	Write      time.Duration // to handle a request and write the answer
	Idle       time.Duration // a keep-alive connection waiting for its next request
}

// DefaultTimeouts are 5 s for the headers, 15 s for the whole request, 30 s
// to answer, and 2 minutes between requests on one connection.
func DefaultTimeouts() Timeouts {
	return Timeouts{ReadHeader: 5 * time.Second, Read: 15 * time.Second, Write: 30 * time.Second, Idle: 120 * time.Second}
}

// Server returns an http.Server serving h within t, logging its own errors
// (TLS handshakes, panics outside handlers) to log at warning level.
func (t Timeouts) Server(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Rate is a number of requests per window; as a flag it reads "20/1m".
type Rate struct {
	Requests int
	Per      time.Duration
}

func (r *Rate) String() string {
	if r.Requests == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%s", r.Requests, r.Per)
}

// Set parses "N/duration", for example "20/1m".
func (r *Rate) Set(s string) error {
	n, per, ok := strings.Cut(s, "/")
	requests, err := strconv.Atoi(n)
	if !ok || err != nil || requests < 1 {
		return fmt.Errorf("rate %q: want requests/window such as 20/1m", s)
	}
	window, err := time.ParseDuration(per)
	if err != nil || window <= 0 {
		return fmt.Errorf("rate %q: want requests/window such as 20/1m", s)
	}
	*r = Rate{Requests: requests, Per: window}
	return nil
}

// Prefixes is a list of networks; as a flag it reads "10.0.0.0/8,::1/128".
type Prefixes []netip.Prefix

func (p *Prefixes) String() string {
	parts := make([]string, len(*p))
	for i, pr := range *p {
		parts[i] = pr.String()
	}
	return strings.Join(parts, ",")
}

// Set parses a comma-separated list of CIDR prefixes; a bare address is a
// single-host prefix.
func (p *Prefixes) Set(s string) error {
	var out Prefixes
	for _, part := range splitList(s) {
		pr, err := netip.ParsePrefix(part)
		if err != nil {
			addr, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return fmt.Errorf("%q is not a CIDR prefix or IP address", part)
			}
			pr = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, pr.Masked())
	}
	*p = out
	return nil
}

func (p Prefixes) contains(addr netip.Addr) bool {
	for _, pr := range p {
		if pr.Contains(addr) {
			return true
		}
	}
	return false
}

// Origins is a list of browser origins; as a flag it reads
// "https://app.example.com,https://admin.example.com". "*" is refused.
type Origins []string

func (o *Origins) String() string { return strings.Join(*o, ",") }

// Set parses a comma-separated list of scheme://host[:port] origins.
func (o *Origins) Set(s string) error {
	var out Origins
	for _, part := range splitList(s) {
		u, err := url.Parse(part)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.Contains(u.Host, "*") {
			return fmt.Errorf("%q is not an origin such as https://app.example.com (wildcards are not allowed)", part)
		}
		out = append(out, u.Scheme+"://"+strings.ToLower(u.Host))
	}
	*o = out
	return nil
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
