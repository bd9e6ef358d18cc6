package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"roster/account"
	"roster/db"
)

// userRecord is one line of the import and export format, JSON Lines: one
// object per line. password_hash is an argon2id PHC string or a bcrypt hash
// ($2a$, $2b$, $2y$), as PocketBase or Supabase Auth export them; users log in
// with their old password and get a current argon2id hash on first login.
type userRecord struct {
	Username        string     `json:"username"`
	Email           string     `json:"email,omitempty"`
	EmailVerifiedAt *time.Time `json:"email_verified_at,omitempty"` // RFC 3339; needs email
	Role            string     `json:"role,omitempty"`              // user (default) or admin
	Status          string     `json:"status,omitempty"`            // active (default) or disabled
	CreatedAt       time.Time  `json:"created_at"`                  // RFC 3339; the import time when absent
	PasswordHash    string     `json:"password_hash"`
}

// maxRecordLen bounds one input line.
const maxRecordLen = 64 << 10

// parseRecord decodes and validates one line with the account rules. It
// reports every refused field at once.
func parseRecord(line []byte, now time.Time) (db.ImportUserParams, error) {
	var rec userRecord
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return db.ImportUserParams{}, fmt.Errorf("not a user object: %v", err)
	}
	if dec.More() {
		return db.ImportUserParams{}, errors.New("more than one JSON value on the line")
	}
	var problems []string
	usernameKey, err := account.Username(rec.Username)
	if err != nil {
		problems = append(problems, err.Error())
	}
	email, emailKey, err := account.Email(rec.Email)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if err := account.ValidateHash(rec.PasswordHash); err != nil {
		problems = append(problems, "password_hash: must be an argon2id PHC string or a bcrypt hash, within roster's bounds")
	}
	if rec.Role == "" {
		rec.Role = account.RoleUser
	}
	if !account.ValidRole(rec.Role) {
		problems = append(problems, fmt.Sprintf("role: must be %s or %s", account.RoleUser, account.RoleAdmin))
	}
	if rec.Status == "" {
		rec.Status = account.StatusActive
	}
	if !account.ValidStatus(rec.Status) {
		problems = append(problems, fmt.Sprintf("status: must be %s or %s", account.StatusActive, account.StatusDisabled))
	}
	if rec.EmailVerifiedAt != nil && email == nil {
		problems = append(problems, "email_verified_at: needs an email")
	}
	if len(problems) > 0 {
		return db.ImportUserParams{}, errors.New(strings.Join(problems, "; "))
	}
	var verified *time.Time
	if rec.EmailVerifiedAt != nil {
		v := db.Now(*rec.EmailVerifiedAt)
		verified = &v
	}
	created := now
	if !rec.CreatedAt.IsZero() {
		created = db.Now(rec.CreatedAt)
	}
	return db.ImportUserParams{Username: rec.Username, UsernameKey: usernameKey, Email: email, EmailKey: emailKey,
		EmailVerifiedAt: verified, PasswordHash: rec.PasswordHash, Status: rec.Status, Role: rec.Role, CreatedAt: created, UpdatedAt: now}, nil
}

// importResult counts what an import did.
type importResult struct {
	imported, refused int
}

// importUsers reads records from r and inserts the valid ones, batch per
// write transaction, each imported account with its user.create audit row
// (no actor, no IP, written by one statement at the end of the batch). A
// refused line (invalid, or a username or email already taken) is reported
// with its line number and skipped whole; the other lines are imported. An
// error other than a refused line stops the import; the batches committed
// before it stay.
func importUsers(ctx context.Context, store *db.Store, r io.Reader, batch int, now time.Time,
	report func(line int, err error)) (importResult, error) {
	type pending struct {
		line   int
		params db.ImportUserParams
	}
	var res importResult
	rows := make([]pending, 0, batch)
	flush := func() error {
		var imported int
		err := store.Tx(ctx, func(q *db.Queries) error {
			before, err := q.MaxUserID(ctx)
			if err != nil {
				return err
			}
			for _, row := range rows {
				err := q.ImportUser(ctx, row.params)
				if db.IsUniqueViolation(err) {
					err = account.Conflict(ctx, q, row.params.UsernameKey)
					var ce *account.ConflictError
					if !errors.As(err, &ce) {
						return err
					}
					report(row.line, ce)
					res.refused++
					continue
				}
				if err != nil {
					return fmt.Errorf("line %d: %w", row.line, err)
				}
				imported++
			}
			_, err = q.AuditImportedUsers(ctx, db.AuditImportedUsersParams{Action: account.ActionUserCreate, After: before})
			return err
		})
		if err == nil {
			res.imported += imported
		}
		rows = rows[:0]
		return err
	}

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecordLen)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		params, err := parseRecord(sc.Bytes(), now)
		if err != nil {
			report(line, err)
			res.refused++
			continue
		}
		rows = append(rows, pending{line: line, params: params})
		if len(rows) == batch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("line %d: %w", line+1, err)
	}
	return res, flush()
}

func cmdImport(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var cfg dbConfig
	var batch int
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	cfg.register(fs)
	fs.IntVar(&batch, "batch", 10000, "users per write transaction")
	files, err := parseFlags(fs, args, getenv, stderr, "file")
	if err != nil {
		return err
	}
	file := files[0]
	if batch < 1 {
		return usageError{"-batch must be at least 1"}
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
	store, err := db.Open(ctx, cfg.path)
	if err != nil {
		return err
	}
	defer store.Close()

	start := time.Now()
	res, err := importUsers(ctx, store, in, batch, db.Now(start), func(line int, err error) {
		fmt.Fprintf(stderr, "%s:%d: %v\n", file, line, err)
	})
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "imported %d users in %s (%.0f users/s); refused %d lines\n",
		res.imported, elapsed.Round(time.Millisecond), float64(res.imported)/elapsed.Seconds(), res.refused)
	if err != nil {
		return err
	}
	if res.refused > 0 {
		return fmt.Errorf("import: %d lines refused", res.refused)
	}
	return nil
}

// exportBatch is how many users each page of an export reads.
const exportBatch = 5000

// exportUsers writes every user to w as JSON Lines, from one snapshot.
func exportUsers(ctx context.Context, store *db.Store, w io.Writer) (int, error) {
	enc := json.NewEncoder(w)
	n := 0
	err := store.ReadTx(ctx, func(q *db.Queries) error {
		var after int64
		for {
			users, err := q.ListUsers(ctx, db.ListUsersParams{After: after, Lim: exportBatch})
			if err != nil {
				return err
			}
			for _, u := range users {
				rec := userRecord{Username: u.Username, EmailVerifiedAt: u.EmailVerifiedAt, Role: u.Role,
					Status: u.Status, CreatedAt: u.CreatedAt, PasswordHash: u.PasswordHash}
				if u.Email != nil {
					rec.Email = *u.Email
				}
				if err := enc.Encode(rec); err != nil {
					return err
				}
				n++
			}
			if len(users) < exportBatch {
				return nil
			}
			after = users[len(users)-1].ID
		}
	})
	return n, err
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
	if _, err := os.Stat(cfg.path); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	store, err := db.Open(ctx, cfg.path)
	if err != nil {
		return err
	}
	defer store.Close()

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
	n, err := exportUsers(ctx, store, bw)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stderr, "exported %d users to %s\n", n, file)
	return nil
}
