package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"roster/account"
)

// cmdMFARekey seals every TOTP secret under the first key of -mfa-key (or
// its key file), so that the older keys can leave the list.
func cmdMFARekey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var dbc dbConfig
	var keyFlags mfaKeyFlags
	fs := flag.NewFlagSet("mfa-rekey", flag.ContinueOnError)
	dbc.register(fs)
	keyFlags.register(fs)
	if _, err := parseFlags(fs, args, getenv, stderr); err != nil {
		return err
	}
	keys, err := keyFlags.load(dbc, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	if keys == nil {
		return usageError{"mfa-rekey needs -mfa-key or -mfa-key-file"}
	}
	ac := account.DefaultConfig()
	ac.MFAKeys = keys
	accounts, err := openAccounts(ctx, dbc, ac)
	if err != nil {
		return err
	}
	defer accounts.Store.Close()
	resealed, total, err := accounts.RekeyMFA(ctx)
	fmt.Fprintf(stdout, "sealed %d of %d TOTP secrets again under the first key\n", resealed, total)
	return err
}
