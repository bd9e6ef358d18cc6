package account

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
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
	// ID is the account's id. Export writes it; Import keeps it only when it
	// moves a deployment into an empty database (see Import), and ignores it
	// otherwise.
	ID              int64      `json:"id,omitempty"`
	Username        string     `json:"username"`
	Email           string     `json:"email,omitempty"`
	EmailVerifiedAt *time.Time `json:"email_verified_at,omitempty"` // RFC 3339; needs email
	Role            string     `json:"role,omitempty"`              // user (default) or admin
	Status          string     `json:"status,omitempty"`            // active (default) or disabled
	CreatedAt       time.Time  `json:"created_at"`                  // RFC 3339; the import time when absent
	PasswordHash    string     `json:"password_hash"`
	// MFA is the account's second factors; export writes it for the
	// accounts that have any, and only a move (see Import) restores it.
	MFA *MFARecord `json:"mfa,omitempty"`
}

// MFARecord is an account's second factors as they are stored: the TOTP
// secret still sealed with the server's MFA key, so the importing server
// needs the same -mfa-key, and the account its id, for it to open;
// recovery codes as hashes; passkeys as their public records. Nothing in it
// signs in without the factor itself.
type MFARecord struct {
	TOTP           *TOTPRecord          `json:"totp,omitempty"`
	RecoveryCodes  []RecoveryCodeRecord `json:"recovery_codes,omitempty"`
	WebAuthnHandle []byte               `json:"webauthn_handle,omitempty"`
	Passkeys       []PasskeyRecord      `json:"passkeys,omitempty"`
}

// TOTPRecord is an authenticator, sealed.
type TOTPRecord struct {
	SealedSecret []byte     `json:"sealed_secret"`
	ConfirmedAt  *time.Time `json:"confirmed_at,omitempty"`
	LastStep     int64      `json:"last_step"`
	CreatedAt    time.Time  `json:"created_at"`
}

// RecoveryCodeRecord is one recovery code's hash.
type RecoveryCodeRecord struct {
	Hash   []byte     `json:"hash"`
	UsedAt *time.Time `json:"used_at,omitempty"`
}

// PasskeyRecord is one passkey: its id, name and the library's record.
type PasskeyRecord struct {
	ID         []byte          `json:"id"`
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
	CreatedAt  time.Time       `json:"created_at"`
	LastUsedAt *time.Time      `json:"last_used_at,omitempty"`
}

// AuditRecord is one event of the audit log in the same JSON Lines stream,
// on a line of its own: {"audit": {...}}. Export writes the whole log after
// the accounts; Import restores it only when it moves a deployment into an
// empty database, where account ids (which events name) are kept.
type AuditRecord struct {
	ID       int64     `json:"id"`
	Time     time.Time `json:"time"`
	ActorID  *int64    `json:"actor_id,omitempty"`
	TargetID *int64    `json:"target_id,omitempty"`
	Action   string    `json:"action"`
	Detail   string    `json:"detail,omitempty"`
	IP       string    `json:"ip,omitempty"`
}

// auditLine is the envelope of an audit event's line.
type auditLine struct {
	Audit *AuditRecord `json:"audit"`
}

// MaxRecordLen bounds one line of an import.
const MaxRecordLen = 64 << 10

// parseRecord decodes one line and checks it with the rules every new
// account passes (checkIdentity), plus the fields only an import carries. A
// refused record gives a *ValidationError listing every refused field, worded
// as sign-up words it.
func (s *Service) parseRecord(line []byte, now time.Time) (db.ImportUserParams, Record, error) {
	// encoding/json would turn invalid bytes into U+FFFD, so that two
	// different names could import as one; refuse them as the API does.
	if !utf8.Valid(line) {
		return db.ImportUserParams{}, Record{}, errors.New("not valid UTF-8")
	}
	var rec Record
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return db.ImportUserParams{}, Record{}, fmt.Errorf("not a user object: %v", err)
	}
	if dec.More() {
		return db.ImportUserParams{}, Record{}, errors.New("more than one JSON value on the line")
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
	if rec.ID < 0 {
		errs.add(invalid("validation", "id", "must be a positive account id"))
	}
	if err := errs.err(); err != nil {
		return db.ImportUserParams{}, Record{}, err
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
		CreatedAt: created, UpdatedAt: now}, rec, nil
}

// parseAudit decodes an audit event's line.
func parseAudit(line []byte) (db.ImportAuditEventParams, error) {
	var a auditLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil || a.Audit == nil {
		return db.ImportAuditEventParams{}, fmt.Errorf("not an audit event: %v", err)
	}
	e := a.Audit
	if e.ID < 1 || e.Time.IsZero() || !ValidAction(e.Action) {
		return db.ImportAuditEventParams{}, errors.New("an audit event needs a positive id, a time and a known action")
	}
	return db.ImportAuditEventParams{ID: e.ID, CreatedAt: db.Now(e.Time), ActorID: e.ActorID, TargetID: e.TargetID,
		Action: e.Action, Detail: e.Detail, Ip: e.IP}, nil
}

// isAuditLine reports whether a line is an audit event's ({"audit": …}).
func isAuditLine(line []byte) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(line, &probe) != nil {
		return false
	}
	_, ok := probe["audit"]
	return ok
}

// ImportResult counts what an import did. Moved reports a move: account ids
// were kept and AuditEvents events of history restored.
type ImportResult struct {
	Imported, Refused int
	Moved             bool
	AuditEvents       int
}

// Import reads records from r and inserts the valid ones, batch per write
// transaction. A refused line (invalid, or a username or email already
// taken) is passed to report with its line number and skipped whole; the
// other lines are imported. An error other than a refused line stops the
// import; the batches committed before it stay.
//
// Into a database with accounts or audit history, every account gets a new
// id and its user.create audit row (no actor, no IP, written by one
// statement per batch); audit event lines are refused, since the ids they
// name would point at other accounts. Into an empty database, when the first
// account line carries an id, the import is a move (from SQLite to
// PostgreSQL or back): every account keeps its id (a line without one, or
// repeating one, is refused), the audit history in the stream is restored
// with its ids, and no user.create rows are added; the engine's id
// sequences then continue above the highest imported ids.
func (s *Service) Import(ctx context.Context, r io.Reader, batch int,
	report func(line int, err error)) (ImportResult, error) {
	if batch < 1 {
		return ImportResult{}, errors.New("import: the batch size must be at least 1")
	}
	empty, err := s.emptyDatabase(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	type pending struct {
		line   int
		id     int64
		params db.ImportUserParams
		mfa    *MFARecord
	}
	var res ImportResult
	decided := false // whether the first account line has said if this is a move
	seen := map[int64]bool{}
	now := s.now()
	rows := make([]pending, 0, batch)
	var events []db.ImportAuditEventParams
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
				var n int64
				var err error
				if res.Moved {
					p := row.params
					n, err = q.ImportUserWithID(ctx, db.ImportUserWithIDParams{ID: row.id, Username: p.Username,
						UsernameKey: p.UsernameKey, UsernameSkeleton: p.UsernameSkeleton, Email: p.Email, EmailKey: p.EmailKey,
						EmailVerifiedAt: p.EmailVerifiedAt, PasswordHash: p.PasswordHash, Status: p.Status, Role: p.Role,
						CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt})
				} else {
					n, err = q.ImportUser(ctx, row.params)
				}
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
				if row.mfa != nil {
					if err := importMFA(ctx, q, row.id, row.mfa); err != nil {
						return fmt.Errorf("line %d: second factors: %w", row.line, err)
					}
				}
				keys = append(keys, row.params.UsernameKey)
			}
			for _, e := range events {
				if err := q.ImportAuditEvent(ctx, e); err != nil {
					return fmt.Errorf("audit event %d: %w", e.ID, err)
				}
			}
			// A move brings its history instead. Otherwise one statement
			// audits the batch: a statement per account made the import
			// three times slower.
			if len(keys) == 0 || res.Moved {
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
			res.AuditEvents += len(events)
			for _, r := range refused {
				report(r.line, r.err)
			}
		}
		rows, events = rows[:0], events[:0]
		return err
	}
	refuse := func(line int, err error) {
		report(line, err)
		res.Refused++
	}

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxRecordLen)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Bytes()
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		if isAuditLine(text) {
			e, err := parseAudit(text)
			switch {
			case err != nil:
				refuse(line, err)
			case !res.Moved:
				refuse(line, errors.New("audit history is imported only when moving into an empty database, where account ids are kept"))
			default:
				events = append(events, e)
			}
		} else {
			params, rec, err := s.parseRecord(text, now)
			id := rec.ID
			if err == nil && !decided {
				decided, res.Moved = true, empty && id > 0
			}
			switch {
			case err != nil:
				refuse(line, err)
			case res.Moved && id == 0:
				refuse(line, errors.New("this import keeps account ids (a move into an empty database): the record needs its id"))
			case res.Moved && seen[id]:
				refuse(line, fmt.Errorf("account id %d appears twice", id))
			case !res.Moved && rec.MFA != nil:
				refuse(line, errors.New("second factors move only with their account's id (a move into an empty database); "+
					"import the account without \"mfa\" and let its owner set one up again"))
			default:
				seen[id] = true
				rows = append(rows, pending{line: line, id: id, params: params, mfa: rec.MFA})
			}
		}
		if len(rows)+len(events) >= batch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("line %d: %w", line+1, err)
	}
	if err := flush(); err != nil {
		return res, err
	}
	if res.Moved {
		if _, err := s.Store.Write.SyncUserIDSequence(ctx); err != nil {
			return res, err
		}
		if _, err := s.Store.Write.SyncAuditEventIDSequence(ctx); err != nil {
			return res, err
		}
	}
	return res, nil
}

// emptyDatabase reports whether the database has neither accounts nor audit
// history: the only kind an import moves a deployment into.
func (s *Service) emptyDatabase(ctx context.Context) (bool, error) {
	users, err := s.Store.Read.CountUsers(ctx)
	if err != nil || users > 0 {
		return false, err
	}
	events, err := s.Store.Read.CountAuditEvents(ctx)
	return events == 0, err
}

// exportPage is how many accounts each page of an export reads.
const exportPage = 5000

// Export writes every account to w as Records, one JSON line each, then the
// audit log as AuditRecords, from one read snapshot, and returns how many
// accounts it wrote.
func (s *Service) Export(ctx context.Context, w io.Writer) (int, error) {
	enc := json.NewEncoder(w)
	n := 0
	err := s.Store.ReadTx(ctx, func(q db.Querier) error {
		withMFA, err := q.ListMFAUserIDs(ctx)
		if err != nil {
			return err
		}
		mfa := make(map[int64]bool, len(withMFA))
		for _, id := range withMFA {
			mfa[id] = true
		}
		var after int64
		for {
			users, err := q.ListUsers(ctx, db.ListUsersParams{After: after, Lim: exportPage})
			if err != nil {
				return err
			}
			for _, u := range users {
				rec := Record{ID: u.ID, Username: u.Username, EmailVerifiedAt: u.EmailVerifiedAt, Role: u.Role,
					Status: u.Status, CreatedAt: u.CreatedAt, PasswordHash: u.PasswordHash}
				if u.Email != nil {
					rec.Email = *u.Email
				}
				if mfa[u.ID] {
					if rec.MFA, err = exportMFA(ctx, q, u.ID); err != nil {
						return err
					}
				}
				if err := enc.Encode(rec); err != nil {
					return err
				}
				n++
			}
			if len(users) < exportPage {
				break
			}
			after = users[len(users)-1].ID
		}
		return exportAudit(ctx, q, enc)
	})
	return n, err
}

// exportAudit writes the whole audit log, oldest first, one {"audit": …}
// line per event.
func exportAudit(ctx context.Context, q db.Querier, enc *json.Encoder) error {
	var after int64
	for {
		events, err := q.ListAuditEventsAfter(ctx, db.ListAuditEventsAfterParams{After: after, Lim: exportPage})
		if err != nil {
			return err
		}
		for _, e := range events {
			if err := enc.Encode(auditLine{Audit: &AuditRecord{ID: e.ID, Time: e.CreatedAt, ActorID: e.ActorID,
				TargetID: e.TargetID, Action: e.Action, Detail: e.Detail, IP: e.Ip}}); err != nil {
				return err
			}
		}
		if len(events) < exportPage {
			return nil
		}
		after = events[len(events)-1].ID
	}
}

// exportMFA reads an account's second factors as stored.
func exportMFA(ctx context.Context, q db.Querier, userID int64) (*MFARecord, error) {
	m := &MFARecord{}
	t, err := q.GetTOTP(ctx, userID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, err
	default:
		m.TOTP = &TOTPRecord{SealedSecret: t.Secret, ConfirmedAt: t.ConfirmedAt, LastStep: t.LastStep, CreatedAt: t.CreatedAt}
	}
	codes, err := q.ListRecoveryCodes(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, c := range codes {
		m.RecoveryCodes = append(m.RecoveryCodes, RecoveryCodeRecord{Hash: c.CodeHash, UsedAt: c.UsedAt})
	}
	if m.WebAuthnHandle, err = q.GetWebAuthnHandle(ctx, userID); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	passkeys, err := q.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, p := range passkeys {
		m.Passkeys = append(m.Passkeys, PasskeyRecord{ID: p.CredentialID, Name: p.Name,
			Credential: json.RawMessage(p.Credential), CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt})
	}
	return m, nil
}

// importMFA restores a moved account's second factors, in its batch's
// transaction.
func importMFA(ctx context.Context, q db.Querier, userID int64, m *MFARecord) error {
	if t := m.TOTP; t != nil {
		if err := q.ImportTOTP(ctx, db.ImportTOTPParams{UserID: userID, Secret: t.SealedSecret, ConfirmedAt: t.ConfirmedAt,
			LastStep: t.LastStep, CreatedAt: db.Now(t.CreatedAt)}); err != nil {
			return err
		}
	}
	for _, c := range m.RecoveryCodes {
		if err := q.ImportRecoveryCode(ctx, db.ImportRecoveryCodeParams{UserID: userID, CodeHash: c.Hash, UsedAt: c.UsedAt}); err != nil {
			return err
		}
	}
	if len(m.WebAuthnHandle) > 0 {
		if err := q.CreateWebAuthnHandle(ctx, db.CreateWebAuthnHandleParams{UserID: userID, Handle: m.WebAuthnHandle}); err != nil {
			return err
		}
	}
	for _, p := range m.Passkeys {
		if err := q.ImportPasskey(ctx, db.ImportPasskeyParams{CredentialID: p.ID, UserID: userID, Name: p.Name,
			Credential: string(p.Credential), CreatedAt: db.Now(p.CreatedAt), LastUsedAt: p.LastUsedAt}); err != nil {
			return err
		}
	}
	return nil
}
