package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"roster/account"
	"roster/db"
	rosterhttp "roster/http"
	"roster/mail"
	"roster/outbox"
)

type serveConfig struct {
	addr            string
	shutdownTimeout time.Duration
	timeouts        timeouts
	http            rosterhttp.Config
	db              dbConfig
	account         accountConfig
	mail            mailConfig
}

// timeouts bound how long one client may hold a connection.
type timeouts struct {
	readHeader, read, write, idle time.Duration
}

func (t *timeouts) register(fs *flag.FlagSet) {
	fs.DurationVar(&t.readHeader, "read-header-timeout", 5*time.Second, "longest time to read a request's headers")
	fs.DurationVar(&t.read, "read-timeout", 15*time.Second, "longest time to read a whole request")
	fs.DurationVar(&t.write, "write-timeout", 30*time.Second, "longest time to handle a request and write the answer")
	fs.DurationVar(&t.idle, "idle-timeout", 120*time.Second, "longest time a keep-alive connection waits for its next request")
}

func (t *timeouts) validate() error {
	if t.readHeader <= 0 || t.read <= 0 || t.write <= 0 || t.idle <= 0 {
		return usageError{"timeouts must be positive"}
	}
	return nil
}

func registerHTTP(fs *flag.FlagSet, c *rosterhttp.Config) {
	c.SignupRate = rosterhttp.Rate{Requests: 20, Per: time.Hour}
	c.LoginRate = rosterhttp.Rate{Requests: 20, Per: time.Minute}
	fs.Var(&c.SignupRate, "signup-rate", "sign-ups allowed per client IP, as requests/window")
	fs.Var(&c.LoginRate, "login-rate", "login requests allowed per client IP, as requests/window")
	fs.Var(&c.TrustedProxies, "trusted-proxies",
		"comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed")
	fs.Var(&c.CORSOrigins, "cors-origins", "comma-separated origins allowed to call the API from a browser")
	c.MailRate = rosterhttp.Rate{Requests: 20, Per: time.Hour}
	c.MailTargetRate = rosterhttp.Rate{Requests: 5, Per: time.Hour}
	fs.Var(&c.MailRate, "mail-rate", "requests to the routes that send mail allowed per client IP, as requests/window")
	fs.Var(&c.MailTargetRate, "mail-target-rate",
		"reset requests, verification resends and email changes allowed per target name or address, as requests/window")
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", ":8080", "address to listen on")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 20*time.Second, "longest wait for in-flight requests at shutdown")
	cfg.timeouts.register(fs)
	registerHTTP(fs, &cfg.http)
	cfg.db.register(fs)
	cfg.account.register(fs)
	cfg.mail.register(fs)
	if _, err := parseFlags(fs, args, getenv, stderr); err != nil {
		return err
	}
	if err := errors.Join(cfg.account.validate(), cfg.timeouts.validate()); err != nil {
		return err
	}
	if err := cfg.mail.validate(); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit(cfg.account.hashConcurrency, account.DefaultParams))
	}

	accounts, err := openAccounts(ctx, cfg.db, cfg.account, account.DefaultParams)
	if err != nil {
		return err
	}
	defer accounts.Store.Close()

	// Mail: the outbox worker and the reset queue run until the HTTP server
	// has shut down, so nothing it queued is left behind.
	worker, err := newMailWorker(accounts.Store, cfg.mail, log)
	if err != nil {
		return err
	}
	accounts.Mail.Notify = worker.Notify
	resets := account.NewResetQueue(accounts, log, resetQueueSize)
	background, stopBackground := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		stopBackground()
		wg.Wait()
	}()
	wg.Go(func() {
		ticker := time.NewTicker(min(mailPoll, cfg.mail.retryMin))
		defer ticker.Stop()
		worker.Run(background, ticker.C)
	})
	wg.Go(func() { resets.Run(background) })

	cfg.http.Resets = resets
	srv := rosterhttp.NewServer(accounts, log, cfg.http)
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: cfg.timeouts.readHeader,
		ReadTimeout:       cfg.timeouts.read,
		WriteTimeout:      cfg.timeouts.write,
		IdleTimeout:       cfg.timeouts.idle,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String(), "db", cfg.db.path)

	served := make(chan error, 1)
	go func() { served <- httpServer.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	srv.Drain()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// memoryLimit is the Go runtime's soft memory limit for a server running
// concurrency hashes at once: a base for everything else plus each hashing
// slot's argon2id buffer. Each hash allocates and drops its whole buffer, so
// under load the garbage collector, paced by GOGC alone, lets the heap reach
// about twice the live hashing memory before it collects; the soft limit
// makes it collect sooner instead, keeping the peak near what the limiter
// admits. It is soft: past it the runtime collects harder but never fails.
func memoryLimit(concurrency int, p account.Params) int64 {
	const base = 64 << 20
	return base + int64(concurrency)*int64(p.Memory)<<10
}

// mailPoll is how often the outbox worker looks for due mail that no Notify
// announced: retries, and mail queued by the CLI.
const mailPoll = 5 * time.Second

// resetQueueSize bounds the password-reset requests waiting for the background.
const resetQueueSize = 256

// newMailWorker builds the outbox worker: SMTP when -smtp-url is set,
// otherwise the log.
func newMailWorker(store *db.Store, c mailConfig, log *slog.Logger) (*outbox.Worker, error) {
	var sender mail.Sender = mail.Log{Log: log}
	if c.smtpURL == "" {
		log.Warn("no -smtp-url: mail is written to this log, not sent")
	} else {
		s, err := mail.NewSMTP(c.smtpURL)
		if err != nil {
			return nil, err
		}
		log.Info("mail goes through " + s.String())
		sender = s
	}
	w, err := outbox.NewWorker(store, sender, c.from, log)
	if err != nil {
		return nil, err
	}
	w.RetryMin, w.GiveUpAfter = c.retryMin, c.giveUpAfter
	return w, nil
}

// openAccounts opens the database and builds the account service on it.
func openAccounts(ctx context.Context, dbc dbConfig, ac accountConfig, params account.Params) (*account.Service, error) {
	store, err := db.Open(ctx, dbc.path)
	if err != nil {
		return nil, err
	}
	policy, err := account.NewPolicy(ac.minPasswordLen)
	if err != nil {
		store.Close()
		return nil, err
	}
	hasher, err := account.NewHasher(params, ac.hashConcurrency, ac.hashWait)
	if err != nil {
		store.Close()
		return nil, err
	}
	return &account.Service{Store: store, Hasher: hasher, Policy: policy,
		SessionTTL: ac.sessionTTL, IdleTTL: ac.idleTTL, Now: time.Now,
		Mail: account.MailSettings{PublicURL: ac.publicURL}, RequireVerifiedEmail: ac.requireVerified}, nil
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg dbConfig
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	cfg.register(fs)
	if _, err := parseFlags(fs, args, getenv, stderr); err != nil {
		return err
	}
	store, err := db.Open(ctx, cfg.path)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied to", cfg.path)
	return store.Close()
}
