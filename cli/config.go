package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"roster/account"
	"roster/db"
	_ "roster/db/pgstore" // db.Open's PostgreSQL engine, for a -db URL
	rosterhttp "roster/http"
	"roster/outbox"
)

// envName is the environment variable that sets a flag: -hash-concurrency
// is ROSTER_HASH_CONCURRENCY.
func envName(flagName string) string {
	return "ROSTER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args, then fills every flag not given on the command line
// from its environment variable. Flags may come before, between or after the
// positional arguments, which must be exactly the ones named. Errors are usage
// errors (exit status 2) of one line; -h prints every flag with its variable
// and default.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer, positional ...string) ([]string, error) {
	// The flag package would print the error and the whole usage; roster
	// prints one line for an error, and the usage only when asked.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var args2 []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(stderr, "usage: roster %s [flags] %s\n\nflags (each also read from ROSTER_<FLAG>):\n",
					fs.Name(), strings.ToUpper(strings.Join(positional, " ")))
				fs.VisitAll(func(f *flag.Flag) {
					fmt.Fprintf(stderr, "  -%s (env %s, default %q)\n    \t%s\n", f.Name, envName(f.Name), f.DefValue, f.Usage)
				})
				return nil, err
			}
			return nil, usageError{fmt.Sprintf("%v (see roster %s -h)", err, fs.Name())}
		}
		if fs.NArg() == 0 {
			break
		}
		args2 = append(args2, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(args2) > len(positional) {
		return nil, usageError{fmt.Sprintf("unexpected argument %q", args2[len(positional)])}
	}
	if len(args2) < len(positional) {
		return nil, usageError{fmt.Sprintf("missing %s (see roster %s -h)", strings.ToUpper(positional[len(args2)]), fs.Name())}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []string
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && !given[f.Name] {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Sprintf("invalid value %q for %s: %v", v, envName(f.Name), err))
			}
		}
	})
	if len(errs) > 0 {
		return nil, usageError{strings.Join(errs, "; ")}
	}
	return args2, nil
}

// secretSuffixes mark flags whose values never reach a log line.
var secretSuffixes = []string{"-password", "-secret", "-token", "-key"}

// logConfig logs the effective value of every flag, after the environment
// is applied, with secrets redacted: the whole value of a flag named like a
// secret, and the password of a URL such as -smtp-url's.
func logConfig(log *slog.Logger, fs *flag.FlagSet) {
	var attrs []slog.Attr
	fs.VisitAll(func(f *flag.Flag) {
		v := f.Value.String()
		if u, err := url.Parse(v); err == nil && u.User != nil {
			v = u.Redacted()
		}
		for _, suffix := range secretSuffixes {
			if strings.HasSuffix(f.Name, suffix) && v != "" {
				v = "REDACTED"
			}
		}
		attrs = append(attrs, slog.String(f.Name, v))
	})
	log.LogAttrs(context.Background(), slog.LevelInfo, "configuration", slog.String("command", fs.Name()),
		slog.Attr{Key: "flags", Value: slog.GroupValue(attrs...)})
}

// logFlags choose the format and level of the service's log.
type logFlags struct {
	format string
	level  slog.Level
}

func (c *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.format, "log-format", "json", "log format: json or text")
	fs.TextVar(&c.level, "log-level", slog.LevelInfo, "lowest level logged: debug, info, warn or error")
}

func (c *logFlags) validate() error {
	if c.format != "json" && c.format != "text" {
		return usageError{fmt.Sprintf("-log-format must be json or text, got %q", c.format)}
	}
	return nil
}

// logger returns the logger the flags describe, writing to w.
func (c *logFlags) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.level}
	if c.format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// dbConfig is the database location, shared by every command that opens it:
// a SQLite file's path or a PostgreSQL URL (db.Open); and for serve, the
// size of a PostgreSQL connection pool.
type dbConfig struct {
	path               string
	maxConns, minConns int // 0: the URL's pool_max_conns / pool_min_conns, else pgx's default
}

func (c *dbConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.path, "db", "roster.db",
		"SQLite database file, or a postgres:// (or postgresql://) URL of a PostgreSQL database")
}

// registerPool binds serve's pool flags.
func (c *dbConfig) registerPool(fs *flag.FlagSet) {
	fs.IntVar(&c.maxConns, "db-max-conns", 0,
		"PostgreSQL only: most connections this process opens (pool_max_conns); 0: the URL's, else the larger of 4 and the number of CPUs")
	fs.IntVar(&c.minConns, "db-min-conns", 0,
		"PostgreSQL only: connections kept open while idle (pool_min_conns); 0: the URL's, else none")
}

func (c dbConfig) validate() error {
	switch {
	case c.maxConns < 0 || c.minConns < 0:
		return usageError{"-db-max-conns and -db-min-conns must not be negative"}
	case (c.maxConns > 0 || c.minConns > 0) && !db.IsPostgresURL(c.path):
		return usageError{"-db-max-conns and -db-min-conns size a PostgreSQL pool; -db names a SQLite file"}
	case c.maxConns > 0 && c.minConns > c.maxConns:
		return usageError{"-db-min-conns must not exceed -db-max-conns"}
	}
	return nil
}

// dsn is the location db.Open takes: the path, or the URL with the pool
// flags set as its pool_max_conns and pool_min_conns.
func (c dbConfig) dsn() string {
	if c.maxConns == 0 && c.minConns == 0 {
		return c.path
	}
	u, err := url.Parse(c.path)
	if err != nil {
		return c.path // db.Open reports it
	}
	q := u.Query()
	if c.maxConns > 0 {
		q.Set("pool_max_conns", strconv.Itoa(c.maxConns))
	}
	if c.minConns > 0 {
		q.Set("pool_min_conns", strconv.Itoa(c.minConns))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// String is the location with any password in a URL masked, for logs and
// messages.
func (c dbConfig) String() string { return db.Redacted(c.path) }

// The register functions below bind flags to the fields of each package's
// Config; the flag defaults are the values c holds, which the caller sets to
// the package's DefaultConfig. Each package validates its own Config.

// registerAccount binds the account rules' flags to c.
func registerAccount(fs *flag.FlagSet, c *account.Config) {
	fs.IntVar(&c.MinPasswordLen, "min-password-length", c.MinPasswordLen,
		"minimum password length in characters (at least 8)")
	fs.IntVar(&c.HashConcurrency, "hash-concurrency", c.HashConcurrency,
		"password hashes run at once (each argon2id hash holds 19 MiB); default: one per CPU")
	fs.DurationVar(&c.HashWait, "hash-wait", c.HashWait, "longest a request waits for a hashing slot before 503")
	fs.DurationVar(&c.SessionTTL, "session-ttl", c.SessionTTL, "absolute session lifetime")
	fs.DurationVar(&c.IdleTTL, "session-idle-ttl", c.IdleTTL, "a session unused this long expires")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL,
		"base URL of the links in mail, which open the web console's /ui/verify-email and /ui/reset-password/confirm")
	fs.BoolVar(&c.RequireVerifiedEmail, "require-verified-email", c.RequireVerifiedEmail,
		"refuse login (403 email_unverified) until the account has verified its email address; sign-up then requires one")
}

// registerMail binds mail delivery's flags to c.
func registerMail(fs *flag.FlagSet, c *outbox.Config) {
	fs.StringVar(&c.SMTPURL, "smtp-url", c.SMTPURL,
		"SMTP server as smtp://user:pass@host:587 (STARTTLS when offered) or smtps://…:465; empty writes mail to the log")
	fs.StringVar(&c.From, "mail-from", c.From, "From address of the mail roster sends")
	fs.DurationVar(&c.RetryMin, "mail-retry-min", c.RetryMin,
		"wait before retrying a failed delivery; it doubles with each failure up to an hour")
	fs.DurationVar(&c.GiveUpAfter, "mail-give-up", c.GiveUpAfter,
		"a message still undelivered this long after it was queued is marked failed")
}

// registerHTTP binds the HTTP server's limit, abuse and browser flags to c.
func registerHTTP(fs *flag.FlagSet, c *rosterhttp.Config) {
	t := &c.Timeouts
	fs.DurationVar(&t.ReadHeader, "read-header-timeout", t.ReadHeader, "longest time to read a request's headers")
	fs.DurationVar(&t.Read, "read-timeout", t.Read, "longest time to read a whole request")
	fs.DurationVar(&t.Write, "write-timeout", t.Write, "longest time to handle a request and write the answer")
	fs.DurationVar(&t.Idle, "idle-timeout", t.Idle, "longest time a keep-alive connection waits for its next request")
	fs.Var(&c.SignupRate, "signup-rate", "sign-ups allowed per client IP, as requests/window")
	fs.Var(&c.LoginRate, "login-rate", "login requests allowed per client IP, as requests/window")
	fs.Var(&c.TrustedProxies, "trusted-proxies",
		"comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed")
	fs.Var(&c.CORSOrigins, "cors-origins", "comma-separated origins allowed to call the API from a browser")
	fs.Var(&c.MailRate, "mail-rate", "requests to the routes that send mail allowed per client IP, as requests/window")
	fs.Var(&c.MailTargetRate, "mail-target-rate",
		"reset requests, sign-in code requests, verification resends and email changes allowed per target name or address, and reset mails per account, as requests/window")
	fs.Var(&c.ReauthRate, "reauth-rate",
		"password changes, email changes and account deletions allowed per signed-in account, as requests/window")
	fs.Var(&c.ReauthClientRate, "reauth-client-rate",
		"password changes, email changes and account deletions allowed per client IP, as requests/window")
	fs.StringVar(&c.MetricsToken, "metrics-token", c.MetricsToken,
		"serve GET /metrics on -addr too, to requests with this bearer token (only on -metrics-addr when empty)")
	fs.BoolVar(&c.UI, "ui", c.UI, "serve the web console under /ui/ (GET / redirects there); -ui=false serves the API alone")
}

// validated turns a package's Validate error into a usage error of one line.
func validated(err error) error {
	if err == nil {
		return nil
	}
	return usageError{strings.ReplaceAll(err.Error(), "\n", "; ")}
}
