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
	"time"

	"roster/account"
	"roster/db"
	rosterhttp "roster/http"
)

type serveConfig struct {
	addr            string
	shutdownTimeout time.Duration
	db              dbConfig
	account         accountConfig
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", ":8080", "address to listen on")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 20*time.Second, "longest wait for in-flight requests at shutdown")
	cfg.db.register(fs)
	cfg.account.register(fs)
	if _, err := parseFlags(fs, args, getenv, stderr); err != nil {
		return err
	}
	if err := cfg.account.validate(); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))

	accounts, err := openAccounts(ctx, cfg.db, cfg.account, account.DefaultParams)
	if err != nil {
		return err
	}
	defer accounts.Store.Close()

	srv := rosterhttp.NewServer(accounts, log)
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
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
		SessionTTL: ac.sessionTTL, IdleTTL: ac.idleTTL, Now: time.Now}, nil
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
