package account_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
)

// importLine imports one record into svc and returns the error the import
// reported for it, nil if it was imported.
func importLine(t *testing.T, svc *account.Service, rec account.Record) error {
	t.Helper()
	line, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var reported error
	res, err := svc.Import(context.Background(), bytes.NewReader(line), 10, func(_ int, err error) { reported = err })
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if (reported == nil) != (res.Imported == 1) {
		t.Fatalf("Import = %+v with reported error %v", res, reported)
	}
	return reported
}

// TestImportRefusesWhatSignUpRefuses: import and sign-up pass one set of
// rules, so a record that sign-up would refuse is refused with the same
// field errors, and one that sign-up accepts is imported.
func TestImportRefusesWhatSignUpRefuses(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testImportRefusesWhatSignUpRefuses)
}

func testImportRefusesWhatSignUpRefuses(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	hasher, err := account.NewHasher(accounttest.CheapParams, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := hasher.Hash(context.Background(), goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		username, email string
		role            string
		requireVerified bool
		existing        string // an account both databases hold already
		refused         bool
	}{
		{name: "valid", username: "ann", email: "ann@example.com"},
		{name: "valid without email", username: "ann"},
		{name: "@ in username", username: "ann@home", refused: true},
		{name: "no username", username: "", refused: true},
		{name: "username too long", username: strings.Repeat("a", account.MaxUsernameLen+1), refused: true},
		{name: "space in username", username: "ann lee", refused: true},
		{name: "bad email", username: "ann", email: "not an address", refused: true},
		{name: "unknown role", username: "ann", role: "root", refused: true},
		{name: "no email when verified email is required", username: "ann", requireVerified: true, refused: true},
		{name: "several fields", username: "a@b", email: "x", role: "owner", refused: true},
		{name: "mixed scripts", username: "\u0430dmin", refused: true},
		{name: "lookalike of an existing name", username: "adm\u0131n", existing: "admin", refused: true},
		{name: "existing name", username: "Admin", existing: "admin", refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			signups, imports := eng.New(t), eng.New(t)
			signups.RequireVerifiedEmail, imports.RequireVerifiedEmail = tt.requireVerified, tt.requireVerified
			for _, svc := range []*account.Service{signups, imports} {
				if tt.existing == "" {
					break
				}
				if _, err := svc.CreateUser(context.Background(), account.Actor{},
					account.NewUser{Username: tt.existing, Password: goodPassword}); err != nil {
					t.Fatal(err)
				}
			}
			_, signupErr := signups.CreateUser(context.Background(), account.Actor{},
				account.NewUser{Username: tt.username, Email: tt.email, Password: goodPassword, Role: tt.role})
			importErr := importLine(t, imports, account.Record{Username: tt.username, Email: tt.email, Role: tt.role,
				PasswordHash: hash})
			if (signupErr != nil) != tt.refused || (importErr != nil) != tt.refused {
				t.Fatalf("sign-up error %v, import error %v; want refused=%v for both", signupErr, importErr, tt.refused)
			}
			if !tt.refused {
				return
			}
			var sc, ic *account.ConflictError
			if errors.As(signupErr, &sc) && errors.As(importErr, &ic) {
				if *sc != *ic {
					t.Errorf("sign-up conflict %+v, import conflict %+v: want the same", *sc, *ic)
				}
				return
			}
			var se, ie *account.ValidationError
			if !errors.As(signupErr, &se) || !errors.As(importErr, &ie) {
				t.Fatalf("sign-up error %#v, import error %#v: want *account.ValidationError from both", signupErr, importErr)
			}
			if se.Code != ie.Code || !reflect.DeepEqual(se.Errors, ie.Errors) {
				t.Errorf("sign-up refused %s %+v, import refused %s %+v: want the same reasons", se.Code, se.Errors, ie.Code, ie.Errors)
			}
		})
	}
}

// TestImportRefusesImportOnlyFields: what only an import carries (a hash, a
// status, a verification time) is checked field by field, all at once.
func TestImportRefusesImportOnlyFields(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testImportRefusesImportOnlyFields)
}

func testImportRefusesImportOnlyFields(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	svc := eng.New(t)
	verified := time.Date(2024, 3, 2, 8, 0, 0, 0, time.UTC)
	err := importLine(t, svc, account.Record{Username: "gus", Status: "gone", EmailVerifiedAt: &verified,
		PasswordHash: "$2b$04$short"})
	var ve *account.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("import error %v, want a *account.ValidationError", err)
	}
	var fields []string
	for _, fe := range ve.Errors {
		fields = append(fields, fe.Field)
	}
	if want := []string{"password_hash", "status", "email_verified_at"}; !reflect.DeepEqual(fields, want) {
		t.Errorf("refused fields %v, want %v (%v)", fields, want, err)
	}
}

// TestImportRefusesInvalidUTF8: a line with invalid UTF-8 is refused whole,
// not imported with U+FFFD in place of the bytes.
func TestImportRefusesInvalidUTF8(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testImportRefusesInvalidUTF8)
}

func testImportRefusesInvalidUTF8(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	svc := eng.New(t)
	line := []byte(`{"username":"ann","email":"ann` + "\xff" + `@example.com","password_hash":"$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"}`)
	var reported error
	res, err := svc.Import(context.Background(), bytes.NewReader(line), 10, func(_ int, err error) { reported = err })
	if err != nil || res.Imported != 0 || reported == nil || !strings.Contains(reported.Error(), "UTF-8") {
		t.Fatalf("Import = %+v, %v; reported %v; want the line refused as not valid UTF-8", res, err, reported)
	}
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkImport imports 200,000 users into a fresh database per iteration
// and reports the rate. Run it with
// go test -run '^$' -bench Import -benchtime 1x ./account/
func BenchmarkImport(b *testing.B) {
	const n = 200_000
	hasher, err := account.NewHasher(accounttest.CheapParams, 1, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	hash, err := hasher.Hash(context.Background(), goodPassword)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	for i := range n {
		fmt.Fprintf(&buf, `{"username":"user%d","email":"user%d@example.com","role":"user","status":"active","created_at":"2024-03-01T10:00:00Z","password_hash":%q}`+"\n", i, i, hash)
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		store, err := db.Open(context.Background(), filepath.Join(b.TempDir(), "roster.db"))
		if err != nil {
			b.Fatal(err)
		}
		svc := accounttest.NewOn(b, store)
		b.StartTimer()
		start, cpu := time.Now(), cpuTime(b)
		res, err := svc.Import(context.Background(), bytes.NewReader(buf.Bytes()), 10000,
			func(line int, err error) { b.Fatalf("line %d: %v", line, err) })
		if err != nil || res.Imported != n {
			b.Fatalf("Import = %+v, %v", res, err)
		}
		b.ReportMetric(n/time.Since(start).Seconds(), "users/s")
		// The machine may be shared: the rate per CPU second is what one
		// free core would reach.
		b.ReportMetric(n/(cpuTime(b)-cpu).Seconds(), "users/cpu-s")
		b.StopTimer()
		store.Close()
		b.StartTimer()
	}
}
