package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/bcrypt"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
	"roster/db/pgtest"
)

// cheapHash is a valid argon2id PHC string with cheap parameters.
func cheapHash(t testing.TB, password string) string {
	t.Helper()
	h, err := account.NewHasher(accounttest.CheapParams, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.Hash(context.Background(), password)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeLines(t testing.TB, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportReportsBadLinesAndExportRoundTrips(t *testing.T) {
	accounttest.Run(t, testImportReportsBadLinesAndExportRoundTrips)
}

func testImportReportsBadLinesAndExportRoundTrips(t *testing.T, eng accounttest.Engine) {
	ctx := context.Background()
	hash := cheapHash(t, "correct horse battery staple")
	good := []string{
		`{"username":"ann","email":"ann@example.com","email_verified_at":"2024-03-02T08:00:00Z","role":"user","status":"active","created_at":"2024-03-01T10:00:00Z","password_hash":"` + hash + `"}`,
		`{"username":"Bob","role":"admin","status":"disabled","created_at":"2023-12-31T23:59:59Z","password_hash":"$2a$04$7V1r0dXHaGg0qQe9Gx3rvOmHkE1hS5V0Xz0K2yqT8m8hXxCk4qg8K"}`,
	}
	input := writeLines(t,
		good[0],
		`{"username":"c@d","password_hash":"`+hash+`"}`,                                           // 2: @ in username
		`{"username":"carl","email":"not an address","password_hash":"`+hash+`"}`,                 // 3: bad email
		`{"username":"dora","password_hash":"$argon2id$v=19$m=9999999,t=1,p=1$c2FsdHNhbHQ$a2V5"}`, // 4: absurd params
		`{"username":"eve","password_hash":"`+hash+`","is_admin":true}`,                           // 5: unknown field
		`not json`, // 6
		"",         // 7: blank lines are skipped
		good[1],    // 8
		`{"username":"BOB","password_hash":"`+hash+`"}`,                                                                          // 9: username taken (case-insensitively)
		`{"username":"fay","email":"ANN@example.com","password_hash":"`+hash+`"}`,                                                // 10: email taken
		`{"username":"gus","role":"root","status":"gone","email_verified_at":"2024-03-02T08:00:00Z","password_hash":"`+hash+`"}`, // 11: role and status
		`{"username":"hal","password_hash":"$2b$04$short"}`,                                                                      // 12: truncated bcrypt
	)
	dbPath := eng.DSN(t)
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"import", "-db", dbPath, "-batch", "2", input}, env(nil), nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "9 lines refused") {
		t.Errorf("import: err = %v, want the refused lines counted", err)
	}
	for _, want := range []string{
		":2: username: must not contain @",
		":3: email: must be a plain address",
		":4: password_hash: must be an argon2id PHC string or a bcrypt hash",
		`:5: not a user object: json: unknown field "is_admin"`,
		":6: not a user object",
		":9: username is already taken",
		":10: email is already taken",
		":11: role: must be user or admin; status: must be active or disabled; email_verified_at: needs an email",
		":12: password_hash",
	} {
		if !strings.Contains(stderr.String(), input+want) {
			t.Errorf("import: no report %q in\n%s", want, stderr.String())
		}
	}
	if strings.Contains(stderr.String(), ":7:") || strings.Contains(stderr.String(), ":8:") {
		t.Errorf("import: reported a good or blank line:\n%s", stderr.String())
	}
	if !strings.Contains(stdout.String(), "imported 2 users") {
		t.Errorf("import printed %q, want 2 users imported", stdout.String())
	}

	out := filepath.Join(t.TempDir(), "export.jsonl")
	if err := run(ctx, []string{"export", "-db", dbPath, out}, env(nil), nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("export: %v", err)
	}
	var got []account.Record
	var audit []string
	sc := bufio.NewScanner(bytes.NewReader([]byte(readFile(t, out))))
	for sc.Scan() {
		if bytes.HasPrefix(sc.Bytes(), []byte(`{"audit":`)) {
			var a struct{ Audit account.AuditRecord }
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				t.Fatal(err)
			}
			audit = append(audit, a.Audit.Action+" "+a.Audit.Detail)
			continue
		}
		var rec account.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.ID < 1 {
			t.Errorf("exported %s without its id", rec.Username)
		}
		rec.ID = 0 // the sequence's, which PostgreSQL also advances for a refused line
		got = append(got, rec)
	}
	if want := "[user.create imported, role=user user.create imported, role=admin]"; fmt.Sprint(audit) != want {
		t.Errorf("exported audit log = %v, want %s", audit, want)
	}
	verified := time.Date(2024, 3, 2, 8, 0, 0, 0, time.UTC)
	wantRecs := []account.Record{
		{Username: "ann", Email: "ann@example.com", EmailVerifiedAt: &verified, Role: "user", Status: "active", CreatedAt: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC), PasswordHash: hash},
		{Username: "Bob", Role: "admin", Status: "disabled", CreatedAt: time.Date(2023, 12, 31, 23, 59, 59, 0, time.UTC),
			PasswordHash: "$2a$04$7V1r0dXHaGg0qQe9Gx3rvOmHkE1hS5V0Xz0K2yqT8m8hXxCk4qg8K"},
	}
	if !reflect.DeepEqual(got, wantRecs) {
		t.Errorf("export = %+v, want %+v", got, wantRecs)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("export file mode = %v, %v; want 0600: it holds password hashes", fi.Mode(), err)
	}

	// The export imports into a fresh database unchanged.
	again := eng.DSN(t)
	if err := run(ctx, []string{"import", "-db", again, out}, env(nil), nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("import of the export: %v", err)
	}
	if err := run(ctx, []string{"export", "-db", dbPath, out}, env(nil), nil, io.Discard, io.Discard); err == nil {
		t.Error("export over an existing file: err = nil, want a refusal")
	}
}

// TestImportAuditsEachAccount: every imported account has its user.create
// row, written in its batch's transaction, with no actor and no IP like
// every CLI change; refused lines have none.
func TestImportAuditsEachAccount(t *testing.T) {
	accounttest.Run(t, testImportAuditsEachAccount)
}

func testImportAuditsEachAccount(t *testing.T, eng accounttest.Engine) {
	ctx := context.Background()
	hash := cheapHash(t, "correct horse battery staple")
	input := writeLines(t,
		`{"username":"ann","password_hash":"`+hash+`"}`,
		`{"username":"ANN","password_hash":"`+hash+`"}`, // taken: refused inside the first batch
		`{"username":"bob","role":"admin","password_hash":"`+hash+`"}`,
		`{"username":"cid","password_hash":"`+hash+`"}`,
	)
	dbPath := eng.DSN(t)
	err := run(ctx, []string{"import", "-db", dbPath, "-batch", "2", input}, env(nil), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "1 lines refused") {
		t.Fatalf("import: err = %v, want 1 line refused", err)
	}
	store, err := db.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	events, err := store.Read.ListAuditEvents(ctx, db.ListAuditEventsParams{Before: math.MaxInt64, Lim: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		u, err := store.Read.GetUser(ctx, *e.TargetID)
		if err != nil || e.ActorID != nil || e.Ip != "" || !e.CreatedAt.Equal(u.UpdatedAt) {
			t.Errorf("audit event %+v: want the time of the import, no actor and no IP, for an account (%v)", e, err)
		}
		got = append(got, fmt.Sprintf("%s %s %s", e.Action, u.Username, e.Detail))
	}
	want := "[user.create cid imported, role=user user.create bob imported, role=admin user.create ann imported, role=user]"
	if fmt.Sprint(got) != want {
		t.Errorf("audit events (newest first) = %v, want %s", got, want)
	}
}

// TestImportedHashesRehashOnLogin imports users whose hashes come from other
// systems or older settings, logs each in, and checks that the stored hash
// is then argon2id with the current parameters.
func TestImportedHashesRehashOnLogin(t *testing.T) {
	ctx := context.Background()
	const password = "correct horse battery staple"
	bcryptHash := func(prefix string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return prefix + string(h[4:]) // Go writes $2a$; $2b$ and $2y$ are the same algorithm
	}
	older, err := account.NewHasher(account.Params{Memory: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	olderHash, err := older.Hash(ctx, password)
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{
		"bcrypt2a": bcryptHash("$2a$"),
		"bcrypt2b": bcryptHash("$2b$"),
		"bcrypt2y": bcryptHash("$2y$"),
		"argon":    olderHash,
	}
	var lines []string
	for name, h := range hashes {
		lines = append(lines, fmt.Sprintf(`{"username":%q,"password_hash":%q}`, name, h))
	}
	dbPath := filepath.Join(t.TempDir(), "roster.db")
	if err := run(ctx, []string{"import", "-db", dbPath, writeLines(t, lines...)}, env(nil), nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("import: %v", err)
	}

	store, err := db.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	hasher, err := account.NewHasher(accounttest.CheapParams, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	svc := &account.Service{Store: store, Hasher: hasher, Now: time.Now}
	for name, imported := range hashes {
		if _, err := svc.LoginWithoutSession(ctx, name, password+"!", "127.0.0.1"); err != account.ErrBadCredentials {
			t.Errorf("%s: LoginWithoutSession with a wrong password = %v, want ErrBadCredentials", name, err)
		}
		if _, err := svc.LoginWithoutSession(ctx, name, password, "127.0.0.1"); err != nil {
			t.Errorf("%s: LoginWithoutSession = %v, want success", name, err)
			continue
		}
		u, err := store.Read.GetUserByUsernameKey(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		p, _, _, err := account.ParsePHC(u.PasswordHash)
		if u.PasswordHash == imported || err != nil || p != accounttest.CheapParams {
			t.Errorf("%s: stored hash after login = %q (%v), want argon2id with %+v", name, u.PasswordHash, err, accounttest.CheapParams)
		}
		if _, err := svc.LoginWithoutSession(ctx, name, password, "127.0.0.1"); err != nil {
			t.Errorf("%s: LoginWithoutSession after the rehash = %v", name, err)
		}
	}
}

// TestMoveSQLiteToPostgresAndBack moves a deployment with export and import:
// from a SQLite file to a PostgreSQL schema and back to a new SQLite file.
// Each move keeps account ids (with a gap left by a deleted account),
// password hashes (the old password logs in), verification, roles,
// statuses and the audit history, and the next sign-up gets a fresh id.
func TestMoveSQLiteToPostgresAndBack(t *testing.T) {
	ctx := context.Background()
	pgURL := pgtest.SchemaURL(t) // skips without ROSTER_TEST_POSTGRES
	lite := filepath.Join(t.TempDir(), "roster.db")

	store, err := db.Open(ctx, lite)
	if err != nil {
		t.Fatal(err)
	}
	svc := accounttest.NewOn(t, store)
	for _, u := range []account.NewUser{
		{Username: "ann", Email: "ann@example.com", Password: goodPassword, Role: account.RoleAdmin},
		{Username: "gone", Password: goodPassword},
		{Username: "bob", Email: "bob@example.com", Password: goodPassword},
	} {
		if _, err := svc.CreateUser(ctx, account.Actor{}, u); err != nil {
			t.Fatal(err)
		}
	}
	ann, _ := svc.UserByName(ctx, "ann")
	bob, _ := svc.UserByName(ctx, "bob")
	gone, _ := svc.UserByName(ctx, "gone")
	if err := svc.DeleteUser(ctx, account.Actor{ID: ann.ID}, gone.ID); err != nil {
		t.Fatal(err)
	}
	disabled := account.StatusDisabled
	if _, err := svc.UpdateUser(ctx, account.Actor{ID: ann.ID}, bob.ID, account.UserChange{Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Store.Write.SetUserEmailVerified(ctx, db.SetUserEmailVerifiedParams{ID: ann.ID,
		EmailKey: ann.EmailKey, Now: db.Now(time.Now())}); err != nil {
		t.Fatal(err)
	}
	// ann has an authenticator and recovery codes: they move too, the
	// secret still sealed (the servers share the MFA key).
	keys, err := account.ParseMFAKeys(account.NewMFAKey())
	if err != nil {
		t.Fatal(err)
	}
	svc.MFAKeys = keys
	login, err := svc.LoginDevice(ctx, "ann", goodPassword, account.ClientInfo{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	en, err := svc.EnrollTOTP(ctx, account.Actor{ID: ann.ID}, ann, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(en.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	recovery, err := svc.ConfirmTOTP(ctx, account.Actor{ID: ann.ID}, login.Session, ann, code)
	if err != nil {
		t.Fatal(err)
	}
	store.Close()

	export := func(dsn string) string {
		t.Helper()
		out := filepath.Join(t.TempDir(), "export.jsonl")
		if err := run(ctx, []string{"export", "-db", dsn, out}, env(nil), nil, io.Discard, io.Discard); err != nil {
			t.Fatalf("export %s: %v", db.Redacted(dsn), err)
		}
		return out
	}
	move := func(file, dsn string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(ctx, []string{"import", "-db", dsn, file}, env(nil), nil, &stdout, &stderr); err != nil {
			t.Fatalf("import into %s: %v\n%s", db.Redacted(dsn), err, stderr.String())
		}
		if !strings.Contains(stdout.String(), "account ids kept") {
			t.Fatalf("import into an empty database said %q, want a move", stdout.String())
		}
	}
	fromLite := export(lite)
	move(fromLite, pgURL)
	fromPG := export(pgURL)
	if a, b := readFile(t, fromLite), readFile(t, fromPG); a != b {
		t.Fatalf("the PostgreSQL copy exports differently:\n%s\nvs the SQLite original:\n%s", b, a)
	}
	back := filepath.Join(t.TempDir(), "back.db")
	move(fromPG, back)
	if a, b := readFile(t, fromLite), readFile(t, export(back)); a != b {
		t.Fatalf("the SQLite copy exports differently:\n%s\nvs the original:\n%s", b, a)
	}
	if !strings.Contains(readFile(t, fromLite), `"action":"user.delete"`) || strings.Count(readFile(t, fromLite), `{"audit":`) < 6 {
		t.Fatalf("the export lacks the audit history:\n%s", readFile(t, fromLite))
	}

	for _, dsn := range []string{pgURL, back} {
		store, err := db.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		svc := accounttest.NewOn(t, store)
		svc.MFAKeys = keys
		first, err := svc.LoginDevice(ctx, "ann", goodPassword, account.ClientInfo{IP: "192.0.2.1"})
		if err != nil || first.MFA == nil {
			t.Fatalf("%s: ann's password step = %+v, %v; want a second factor asked for", db.Redacted(dsn), first, err)
		}
		res, err := svc.CompleteMFALogin(ctx, first.MFA.Token, "", recovery[0], account.ClientInfo{IP: "192.0.2.1"})
		if u := res.User; err != nil || u.ID != ann.ID || u.Role != account.RoleAdmin || u.EmailVerifiedAt == nil {
			t.Errorf("%s: ann logs in with a recovery code as %+v, %v; want id %d, admin, verified", db.Redacted(dsn), u, err, ann.ID)
		}
		if m, err := svc.MFA(ctx, ann.ID); err != nil || !m.TOTP || m.RecoveryCodesLeft != 9 {
			t.Errorf("%s: ann's factors after the move = %+v, %v; want the authenticator and 9 codes", db.Redacted(dsn), m, err)
		}
		if _, _, _, err := svc.Login(ctx, "bob", goodPassword, account.ClientInfo{IP: "192.0.2.1"}); !errors.Is(err, account.ErrBadCredentials) {
			t.Errorf("%s: disabled bob logs in: %v", db.Redacted(dsn), err)
		}
		u, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "newcomer", Password: goodPassword})
		if err != nil || u.ID <= bob.ID {
			t.Errorf("%s: a sign-up after the move got id %d, %v; want above %d", db.Redacted(dsn), u.ID, err, bob.ID)
		}
		// A second import of history into a database with accounts is refused, line by line.
		var stderr bytes.Buffer
		err = run(ctx, []string{"import", "-db", dsn, fromLite}, env(nil), nil, io.Discard, &stderr)
		if err == nil || !strings.Contains(stderr.String(), "audit history is imported only when moving into an empty database") {
			t.Errorf("%s: importing history into a database with accounts = %v\n%s", db.Redacted(dsn), err, stderr.String())
		}
		store.Close()
	}
}

// roster mfa-rekey seals every TOTP secret under the first key, after which
// the old key can leave the list.
func TestMFARekey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	store, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	svc := accounttest.NewOn(t, store)
	oldKey, newKey := account.NewMFAKey(), account.NewMFAKey()
	if svc.MFAKeys, err = account.ParseMFAKeys(oldKey); err != nil {
		t.Fatal(err)
	}
	u, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "ann", Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	login, err := svc.LoginDevice(ctx, "ann", goodPassword, account.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	en, err := svc.EnrollTOTP(ctx, account.Actor{ID: u.ID}, u, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(en.Secret, time.Now())
	if _, err := svc.ConfirmTOTP(ctx, account.Actor{ID: u.ID}, login.Session, u, code); err != nil {
		t.Fatal(err)
	}
	store.Close()

	rekey := func(keys string) (string, error) {
		var stdout bytes.Buffer
		err := run(ctx, []string{"mfa-rekey", "-db", path, "-mfa-key", keys}, env(nil), nil, &stdout, io.Discard)
		return stdout.String(), err
	}
	if out, err := rekey(newKey); err == nil || !strings.Contains(err.Error(), "does not have") {
		t.Errorf("mfa-rekey without the old key = %q, %v; want the secret refused", out, err)
	}
	if out, err := rekey(newKey + "," + oldKey); err != nil || !strings.Contains(out, "sealed 1 of 1") {
		t.Fatalf("mfa-rekey with new,old = %q, %v", out, err)
	}
	if out, err := rekey(newKey); err != nil || !strings.Contains(out, "sealed 0 of 1") {
		t.Errorf("mfa-rekey with the new key alone afterwards = %q, %v; want every secret open, none to seal", out, err)
	}
}
