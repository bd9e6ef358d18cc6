package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"roster/account"
	"roster/db"
	rosterhttp "roster/http"
	"roster/outbox"
)

// serveConfig is every setting of roster serve: its own listeners and
// lifecycle, and each package's Config.
type serveConfig struct {
	addr            string
	metricsAddr     string
	pprofAddr       string
	drainDelay      time.Duration
	shutdownTimeout time.Duration
	housekeeping    time.Duration
	log             logFlags
	http            rosterhttp.Config
	db              dbConfig
	account         account.Config
	mail            outbox.Config
	mfaKey          mfaKeyFlags
}

// serveFlags registers serve's flags on fs, each defaulting to its package's
// DefaultConfig, and returns the config they fill.
func serveFlags(fs *flag.FlagSet) *serveConfig {
	c := &serveConfig{http: rosterhttp.DefaultConfig(), account: account.DefaultConfig(), mail: outbox.DefaultConfig()}
	fs.StringVar(&c.addr, "addr", ":8080", "address to listen on")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "serve GET /metrics on this address, without a token (not served at all when empty, unless -metrics-token)")
	fs.StringVar(&c.pprofAddr, "pprof-addr", "", "serve net/http/pprof on this loopback address, such as 127.0.0.1:6060 (off when empty)")
	fs.DurationVar(&c.drainDelay, "drain-delay", 0,
		"at shutdown, how long /readyz answers 503 before the listener closes, for load balancers to notice")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 20*time.Second,
		"longest wait for in-flight requests at shutdown; then their connections are closed")
	fs.DurationVar(&c.housekeeping, "housekeeping-interval", time.Minute, "how often expired sessions and tokens are deleted (by one replica of those sharing a database)")
	c.log.register(fs)
	registerHTTP(fs, &c.http)
	c.db.register(fs)
	c.db.registerPool(fs)
	registerAccount(fs, &c.account)
	registerMail(fs, &c.mail)
	c.mfaKey.register(fs)
	fs.DurationVar(&c.account.StepUpWindow, "step-up-window", c.account.StepUpWindow,
		"how recent a session's second-factor check must be for sensitive changes and admin routes, on accounts with a second factor")
	fs.BoolVar(&c.http.RequireMFAForAdmins, "require-mfa-for-admins", false,
		"refuse the admin routes (403 mfa_required) to admins without a second factor")
	return c
}

func (c *serveConfig) validate() error {
	if c.shutdownTimeout <= 0 || c.housekeeping <= 0 || c.drainDelay < 0 {
		return usageError{"-shutdown-timeout and -housekeeping-interval must be positive, -drain-delay not negative"}
	}
	if c.pprofAddr != "" && !isLoopback(c.pprofAddr) {
		return usageError{"-pprof-addr must be a loopback address such as 127.0.0.1:6060: profiles expose internals"}
	}
	if err := c.db.validate(); err != nil {
		return err
	}
	return validated(errors.Join(c.log.validate(), c.http.Validate(), c.account.Validate(), c.mail.Validate()))
}

// isLoopback reports whether addr (host:port) names a loopback host.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// pprofHandler serves the runtime profiles, for -pprof-addr.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := serveFlags(fs)
	if _, err := parseFlags(fs, args, getenv, stderr); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	batch := &logBatch{w: stderr}
	stopLog, logStopped := make(chan struct{}), make(chan struct{})
	go func() { batch.run(stopLog); close(logStopped) }()
	defer func() { close(stopLog); <-logStopped }() // last: flushes what the rest logs
	log := cfg.log.logger(batch.immediate())
	cfg.http.AccessLog = cfg.log.logger(batch)
	logConfig(log, fs)
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit(cfg.account.HashConcurrency, cfg.account.Hash))
		if getenv("GOGC") == "" {
			// Collect only as the heap nears the limit, which already
			// makes room for the hashing slots' work areas: garbage may
			// fill the base, rather than the collector running whenever
			// a small live heap doubles (most requests hash nothing).
			debug.SetGCPercent(-1)
		}
	}

	mfaKeys, err := cfg.mfaKey.load(cfg.db, log)
	if err != nil {
		return err
	}
	cfg.account.MFAKeys = mfaKeys
	accounts, err := openAccounts(ctx, cfg.db, cfg.account)
	if err != nil {
		return err
	}
	defer func() {
		if err := accounts.Store.Close(); err != nil {
			log.Error("closing the database", "error", err)
			return
		}
		log.Info("database closed")
	}()
	if err := accounts.MeasureHashCosts(ctx); err != nil {
		return err
	}

	// Background work: the outbox worker, the reset queue and housekeeping
	// run until the HTTP server has shut down, so nothing a request queued is
	// left behind; they stop before the database closes.
	worker, err := outbox.New(accounts.Store, cfg.mail, log)
	if err != nil {
		return err
	}
	accounts.Mail.Notify = worker.Notify
	resets := account.NewResetQueue(accounts, log,
		account.Limit{N: cfg.http.MailTargetRate.Requests, Per: cfg.http.MailTargetRate.Per})
	background, stopBackground := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		stopBackground()
		wg.Wait()
		log.Info("background workers stopped")
	}()
	wg.Go(func() {
		ticker := time.NewTicker(min(mailPoll, cfg.mail.RetryMin))
		defer ticker.Stop()
		worker.Run(background, ticker.C)
	})
	wg.Go(func() { resets.Run(background) })
	wg.Go(func() { housekeep(background, accounts, worker, cfg.housekeeping, log) })

	cfg.http.Resets = resets
	srv := rosterhttp.NewServer(accounts, log, cfg.http)
	servers := []*http.Server{cfg.http.Timeouts.Server(srv, log)}
	addrs, names := []string{cfg.addr}, []string{"addr"}
	if cfg.metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		servers = append(servers, cfg.http.Timeouts.Server(mux, log))
		addrs, names = append(addrs, cfg.metricsAddr), append(names, "metrics_addr")
	}
	if cfg.pprofAddr != "" {
		// Profiling takes up to -seconds; the write timeout would cut it off.
		ps := cfg.http.Timeouts.Server(pprofHandler(), log)
		ps.WriteTimeout = 0
		servers = append(servers, ps)
		addrs, names = append(addrs, cfg.pprofAddr), append(names, "pprof_addr")
	}
	listeners := make([]net.Listener, len(addrs))
	for i, addr := range addrs {
		if listeners[i], err = net.Listen("tcp", addr); err != nil {
			closeAll(listeners[:i])
			return err
		}
	}
	attrs := []any{"db", cfg.db.String()}
	for i, ln := range listeners {
		attrs = append(attrs, names[i], ln.Addr().String())
	}
	log.Info("listening", attrs...)

	served := make(chan error, len(servers))
	for i, hs := range servers {
		go func() { served <- hs.Serve(listeners[i]) }()
	}
	select {
	case err := <-served:
		shutdown(servers, time.Second)
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "drain_delay", cfg.drainDelay, "shutdown_timeout", cfg.shutdownTimeout)
	srv.Drain()
	time.Sleep(cfg.drainDelay)
	if err := shutdown(servers, cfg.shutdownTimeout); err != nil {
		return err
	}
	log.Info("stopped serving")
	return nil
}

// shutdown closes the servers' listeners and waits up to timeout for their
// in-flight requests; then it closes the connections still open.
func shutdown(servers []*http.Server, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	for _, hs := range servers {
		if err := hs.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: requests still in flight after %s were cut off: %w", timeout, err), hs.Close())
		}
	}
	return errors.Join(errs...)
}

func closeAll(listeners []net.Listener) {
	for _, ln := range listeners {
		ln.Close()
	}
}

// housekeepingBatch bounds each delete, so the writer is never held long.
const housekeepingBatch = 500

// housekeep runs the periodic jobs until ctx ends: every interval it
// deletes expired sessions, tokens and throttle rows, and hourly delivered
// mail. Replicas sharing a database run each job once per interval between
// them: a replica runs a job only after taking its lease for the interval
// (account.TakeLease), and tries four times an interval, so that when the
// holder dies another takes over within a quarter interval of its lease's end.
func housekeep(ctx context.Context, accounts *account.Service, worker *outbox.Worker, every time.Duration, log *slog.Logger) {
	holder := replicaName()
	jobs := []struct {
		lease string
		every time.Duration
		run   func() error
	}{
		{"housekeeping", every, func() error {
			sessions, tokens, err := accounts.PurgeExpired(ctx, housekeepingBatch)
			if sessions+tokens > 0 {
				log.Info("deleted expired sessions and tokens", "sessions", sessions, "tokens", tokens)
			}
			return err
		}},
		{"outbox-prune", max(every, time.Hour), func() error {
			n, err := worker.Prune(ctx)
			if n > 0 {
				log.Info("deleted delivered mail", "messages", n)
			}
			return err
		}},
	}
	t := time.NewTicker(every / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, job := range jobs {
			ok, err := accounts.TakeLease(ctx, job.lease, holder, job.every)
			if err == nil && ok {
				log.Debug("housekeeping job ran", "job", job.lease, "holder", holder)
				err = job.run()
			}
			if err != nil && ctx.Err() == nil {
				log.Error("housekeeping failed", "job", job.lease, "error", err)
			}
		}
	}
}

// replicaName names this process among the replicas sharing a database: its
// host name and process id.
func replicaName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// memoryLimit is the Go runtime's soft memory limit for a server running
// concurrency hashes at once: a base for everything else plus the argon2id
// work area each hashing slot keeps once used. It is soft: past it the
// runtime collects harder but never fails.
func memoryLimit(concurrency int, p account.Params) int64 {
	const base = 48 << 20
	return base + int64(concurrency)*int64(p.Memory)<<10
}

// mailPoll is how often the outbox worker looks for due mail that no Notify
// announced: retries, and mail queued by the CLI.
const mailPoll = 5 * time.Second

// openAccounts opens the database and builds the account service on it.
func openAccounts(ctx context.Context, dbc dbConfig, ac account.Config) (*account.Service, error) {
	store, err := db.Open(ctx, dbc.dsn())
	if err != nil {
		return nil, err
	}
	accounts, err := account.New(store, ac)
	if err != nil {
		store.Close()
		return nil, err
	}
	return accounts, nil
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
	fmt.Fprintln(stdout, "migrations applied to", cfg)
	return store.Close()
}
