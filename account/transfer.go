package account

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"roster/db"
)

// Record is one account in roster's import and export format, JSON Lines:
// one object per line. PasswordHash is an argon2id PHC string or a bcrypt
// hash ($2a$, $2b$, $2y$), as PocketBase or Supabase Auth export them; users
// log in with their old password and get a current argon2id hash on their
// first login.
type Record struct {
	Username        string     `json:"username"`
	Email           string     `json:"email,omitempty"`
	EmailVerifiedAt *time.Time `json:"email_verified_at,omitempty"` // RFC 3339; needs email
	Role            string     `json:"role,omitempty"`              // user (default) or admin
	Status          string     `json:"status,omitempty"`            // active (default) or disabled
	CreatedAt       time.Time  `json:"created_at"`                  // RFC 3339; the import time when absent
	PasswordHash    string     `json:"password_hash"`
}

// MaxRecordLen bounds one line of an import.
const MaxRecordLen = 64 << 10

// parseRecord decodes one line and checks it with the rules every new
// account passes (checkIdentity), plus the fields only an import carries. A
// refused record gives a *ValidationError listing every refused field, worded
// as sign-up words it.
func (s *Service) parseRecord(line []byte, now time.Time) (db.ImportUserParams, error) {
	// encoding/json would turn invalid bytes into U+FFFD, so that two
	// different names could import as one; refuse them as the API does.
	if !utf8.Valid(line) {
		return db.ImportUserParams{}, errors.New("not valid UTF-8")
	}
	var rec Record
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return db.ImportUserParams{}, fmt.Errorf("not a user object: %v", err)
	}
	if dec.More() {
		return db.ImportUserParams{}, errors.New("more than one JSON value on the line")
	}
	var errs fieldErrors
	id := s.checkIdentity(&errs, rec.Username, rec.Email, rec.Role)
	if ValidateHash(rec.PasswordHash) != nil {
		errs.add(invalid("validation", "password_hash", "must be an argon2id PHC string or a bcrypt hash, within roster's bounds"))
	}
	if rec.Status == "" {
		rec.Status = StatusActive
	}
	if !ValidStatus(rec.Status) {
		errs.add(invalid("validation", "status", fmt.Sprintf("must be %s or %s", StatusActive, StatusDisabled)))
	}
	if rec.EmailVerifiedAt != nil && id.email == nil {
		errs.add(invalid("validation", "email_verified_at", "needs an email"))
	}
	if err := errs.err(); err != nil {
		return db.ImportUserParams{}, err
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
	return db.ImportUserParams{Username: id.username, UsernameKey: id.usernameKey, UsernameSkeleton: &id.usernameSkeleton, Email: id.email, EmailKey: id.emailKey,
		EmailVerifiedAt: verified, PasswordHash: rec.PasswordHash, Status: rec.Status, Role: id.role,
		CreatedAt: created, UpdatedAt: now}, nil
}

// ImportResult counts what an import did.
type ImportResult struct {
	Imported, Refused int
}

// Import reads records from r and inserts the valid ones, batch per write
// transaction, each imported account with its user.create audit row (no
// actor, no IP, written by one statement at the end of the batch). A refused
// line (invalid, or a username or email already taken) is passed to report
// with its line number and skipped whole; the other lines are imported. An
// error other than a refused line stops the import; the batches committed
// before it stay.
func (s *Service) Import(ctx context.Context, r io.Reader, batch int,
	report func(line int, err error)) (ImportResult, error) {
	if batch < 1 {
		return ImportResult{}, errors.New("import: the batch size must be at least 1")
	}
	type pending struct {
		line   int
		params db.ImportUserParams
	}
	var res ImportResult
	now := s.now()
	rows := make([]pending, 0, batch)
	flush := func() error {
		type refusal struct {
			line int
			err  error
		}
		var keys []string
		var refused []refusal
		err := s.Store.Tx(ctx, func(q db.Querier) error {
			keys, refused = keys[:0], refused[:0] // the transaction may run again
			for _, row := range rows {
				n, err := q.ImportUser(ctx, row.params)
				if err == nil && n == 0 { // a name or address taken
					err = Conflict(ctx, q, row.params.UsernameKey)
					var ce *ConflictError
					if !errors.As(err, &ce) {
						return err
					}
					refused = append(refused, refusal{row.line, ce})
					continue
				}
				if err != nil {
					return fmt.Errorf("line %d: %w", row.line, err)
				}
				keys = append(keys, row.params.UsernameKey)
			}
			// One statement audits the batch: a statement per account
			// made the import three times slower.
			if len(keys) == 0 {
				return nil
			}
			list, err := json.Marshal(keys)
			if err != nil {
				return err
			}
			_, err = q.AuditImportedUsers(ctx, db.AuditImportedUsersParams{Action: ActionUserCreate, UsernameKeys: string(list)})
			return err
		})
		if err == nil {
			res.Imported += len(keys)
			res.Refused += len(refused)
			for _, r := range refused {
				report(r.line, r.err)
			}
		}
		rows = rows[:0]
		return err
	}

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxRecordLen)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		params, err := s.parseRecord(sc.Bytes(), now)
		if err != nil {
			report(line, err)
			res.Refused++
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

// exportPage is how many accounts each page of an export reads.
const exportPage = 5000

// Export writes every account to w as Records, one JSON line each, from one
// read snapshot, and returns how many it wrote.
func (s *Service) Export(ctx context.Context, w io.Writer) (int, error) {
	enc := json.NewEncoder(w)
	n := 0
	err := s.Store.ReadTx(ctx, func(q db.Querier) error {
		var after int64
		for {
			users, err := q.ListUsers(ctx, db.ListUsersParams{After: after, Lim: exportPage})
			if err != nil {
				return err
			}
			for _, u := range users {
				rec := Record{Username: u.Username, EmailVerifiedAt: u.EmailVerifiedAt, Role: u.Role,
					Status: u.Status, CreatedAt: u.CreatedAt, PasswordHash: u.PasswordHash}
				if u.Email != nil {
					rec.Email = *u.Email
				}
				if err := enc.Encode(rec); err != nil {
					return err
				}
				n++
			}
			if len(users) < exportPage {
				return nil
			}
			after = users[len(users)-1].ID
		}
	})
	return n, err
}
