package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"roster/account"
	"roster/db"
)

func cmdImport(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var dbc dbConfig
	ac := account.DefaultConfig()
	var batch int
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	dbc.register(fs)
	registerAccount(fs, &ac) // records pass the rules sign-up passes under these settings
	fs.IntVar(&batch, "batch", 10000, "users per write transaction")
	files, err := parseFlags(fs, args, getenv, stderr, "file")
	if err != nil {
		return err
	}
	file := files[0]
	if batch < 1 {
		return usageError{"-batch must be at least 1"}
	}
	if err := validated(ac.Validate()); err != nil {
		return err
	}
	in := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	accounts, err := openAccounts(ctx, dbc, ac)
	if err != nil {
		return err
	}
	defer accounts.Store.Close()

	start := time.Now()
	res, err := accounts.Import(ctx, in, batch, func(line int, err error) {
		fmt.Fprintf(stderr, "%s:%d: %v\n", file, line, err)
	})
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "imported %d users in %s (%.0f users/s); refused %d lines\n",
		res.Imported, elapsed.Round(time.Millisecond), float64(res.Imported)/elapsed.Seconds(), res.Refused)
	if res.Moved {
		fmt.Fprintf(stdout, "moved into an empty database: account ids kept, %d audit events restored\n", res.AuditEvents)
	}
	if err != nil {
		return err
	}
	if res.Refused > 0 {
		return fmt.Errorf("import: %d lines refused", res.Refused)
	}
	return nil
}

func cmdExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	var cfg dbConfig
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	cfg.register(fs)
	files, err := parseFlags(fs, args, getenv, stderr, "file")
	if err != nil {
		return err
	}
	file := files[0]
	// Export never creates a database: a SQLite file must exist (a
	// PostgreSQL database always does; db.Open migrates it if empty).
	if _, err := os.Stat(cfg.path); err != nil && !db.IsPostgresURL(cfg.path) {
		return fmt.Errorf("export: %w", err)
	}
	accounts, err := openAccounts(ctx, cfg, account.DefaultConfig())
	if err != nil {
		return err
	}
	defer accounts.Store.Close()

	out := stdout
	if file != "-" {
		// The file holds password hashes: readable by its owner only, and
		// never written over an existing file.
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer func() {
			err = errors.Join(err, f.Sync(), f.Close())
			if err != nil {
				os.Remove(file)
			}
		}()
		out = f
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	n, err := accounts.Export(ctx, bw)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stderr, "exported %d users to %s\n", n, file)
	return nil
}
