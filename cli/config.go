package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"time"

	"roster/account"
	"roster/mail"
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

// dbConfig is the database location, shared by every command that opens it.
type dbConfig struct {
	path string
}

func (c *dbConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.path, "db", "roster.db", "SQLite database file")
}

// accountConfig holds the account rules' settings.
type accountConfig struct {
	minPasswordLen  int
	hashConcurrency int
	hashWait        time.Duration
	sessionTTL      time.Duration
	idleTTL         time.Duration
	publicURL       string
	requireVerified bool
}

func (c *accountConfig) register(fs *flag.FlagSet) {
	fs.IntVar(&c.minPasswordLen, "min-password-length", account.DefaultMinPasswordLen,
		"minimum password length in characters (at least 8)")
	fs.IntVar(&c.hashConcurrency, "hash-concurrency", runtime.GOMAXPROCS(0),
		"password hashes run at once (each argon2id hash holds 19 MiB)")
	fs.DurationVar(&c.hashWait, "hash-wait", 2*time.Second,
		"longest a request waits for a hashing slot before 503")
	fs.DurationVar(&c.sessionTTL, "session-ttl", account.DefaultSessionTTL, "absolute session lifetime")
	fs.DurationVar(&c.idleTTL, "session-idle-ttl", account.DefaultIdleTTL, "a session unused this long expires")
	fs.StringVar(&c.publicURL, "public-url", "http://localhost:8080",
		"base URL of the links in mail, which open the web console's /ui/verify-email and /ui/reset-password/confirm")
	fs.BoolVar(&c.requireVerified, "require-verified-email", false,
		"refuse login (403 email_unverified) until the account has verified its email address; sign-up then requires one")
}

func (c *accountConfig) validate() error {
	if c.sessionTTL <= 0 || c.idleTTL <= 0 {
		return usageError{"session lifetimes must be positive"}
	}
	if c.hashWait < 0 {
		return usageError{"-hash-wait must not be negative"}
	}
	if _, err := account.NewPolicy(c.minPasswordLen); err != nil {
		return usageError{err.Error()}
	}
	if c.hashConcurrency < 1 {
		return usageError{"-hash-concurrency must be at least 1"}
	}
	if u, err := url.Parse(c.publicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" {
		return usageError{"-public-url must be an http(s) URL such as https://roster.example.com"}
	}
	return nil
}

// mailConfig holds the settings of mail delivery, for roster serve.
type mailConfig struct {
	smtpURL     string
	from        string
	retryMin    time.Duration
	giveUpAfter time.Duration
}

func (c *mailConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.smtpURL, "smtp-url", "",
		"SMTP server as smtp://user:pass@host:587 (STARTTLS when offered) or smtps://…:465; empty writes mail to the log")
	fs.StringVar(&c.from, "mail-from", "Roster <roster@localhost>", "From address of the mail roster sends")
	fs.DurationVar(&c.retryMin, "mail-retry-min", outbox.DefaultRetryMin,
		"wait before retrying a failed delivery; it doubles with each failure up to an hour")
	fs.DurationVar(&c.giveUpAfter, "mail-give-up", outbox.DefaultGiveUpAfter,
		"a message still undelivered this long after it was queued is marked failed")
}

func (c *mailConfig) validate() error {
	if c.smtpURL != "" {
		if _, err := mail.NewSMTP(c.smtpURL); err != nil {
			return usageError{"-smtp-url: " + err.Error()}
		}
	}
	if d, err := mail.Domain(c.from); err != nil || d == "" {
		return usageError{"-mail-from must be an address such as \"Roster <roster@example.com>\""}
	}
	if c.retryMin < time.Second || c.giveUpAfter < c.retryMin {
		return usageError{"-mail-retry-min must be at least 1s and -mail-give-up at least as long"}
	}
	return nil
}
