package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"roster/db"
)

// cmdBackup copies the database to a new FILE while the server may be
// running and writing, and checks the copy.
func cmdBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg dbConfig
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	cfg.register(fs)
	files, err := parseFlags(fs, args, getenv, stderr, "file")
	if err != nil {
		return err
	}
	file := files[0]
	if db.IsPostgresURL(cfg.path) {
		return errors.New("backup: roster backup copies a SQLite file; back up a PostgreSQL database with pg_dump or the provider's snapshots")
	}
	start := time.Now()
	if err := db.Backup(ctx, cfg.path, file); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s in %s; integrity check ok\n", cfg.path, file, time.Since(start).Round(time.Millisecond))
	return nil
}
