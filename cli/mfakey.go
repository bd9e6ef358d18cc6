package cli

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"roster/account"
	"roster/db"
)

// mfaKeyFlags say where serve's MFA key comes from (account.MFAKeys): the
// keys themselves (-mfa-key, for replicas, which must share them), a key
// file, or by default, on SQLite, a key file beside the database created on
// first start.
type mfaKeyFlags struct {
	keys, file string
}

func (c *mfaKeyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.keys, "mfa-key", "",
		"comma-separated base64 keys (32 bytes each) that seal TOTP secrets; the first seals, any opens (rotation); replicas must share them")
	fs.StringVar(&c.file, "mfa-key-file", "",
		"file holding the -mfa-key list; default on SQLite: the database path + .mfa-key, created with mode 0600 on first start")
}

// load returns the keys, or nil when there are none (a PostgreSQL database
// without -mfa-key or -mfa-key-file: second factors are then unavailable,
// and serve says so).
func (c mfaKeyFlags) load(dbc dbConfig, log *slog.Logger) (*account.MFAKeys, error) {
	if c.keys != "" {
		if c.file != "" {
			return nil, usageError{"give -mfa-key or -mfa-key-file, not both"}
		}
		keys, err := account.ParseMFAKeys(c.keys)
		if err != nil {
			return nil, usageError{"-mfa-key: " + err.Error()}
		}
		return keys, nil
	}
	file := c.file
	if file == "" {
		if db.IsPostgresURL(dbc.path) {
			log.Warn("no MFA key: two-factor authentication is unavailable; give every replica the same -mfa-key (ROSTER_MFA_KEY)")
			return nil, nil
		}
		file = dbc.path + ".mfa-key"
		if err := createKeyFile(file); err != nil {
			return nil, err
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("mfa key file: %w", err)
	}
	keys, err := account.ParseMFAKeys(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("mfa key file %s: %w", file, err)
	}
	return keys, nil
}

// createKeyFile writes a fresh key to path, readable by its owner only,
// unless the file exists.
func createKeyFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mfa key file: %w", err)
	}
	if _, err := fmt.Fprintln(f, account.NewMFAKey()); err != nil {
		f.Close()
		return fmt.Errorf("mfa key file: %w", err)
	}
	return f.Close()
}
