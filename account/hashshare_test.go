package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
)

// TestChangePasswordToCurrent: a new password equal to the current one, in
// NFKC form, is refused after the current one is verified and before a
// second hash; with a wrong current password the answer stays
// ErrWrongPassword.
func TestChangePasswordToCurrent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, accounttest.SQLite)
	ctx := context.Background()
	actor := account.Actor{ID: f.user.ID, IP: "192.0.2.1"}
	// "ｃ" (FULLWIDTH LATIN SMALL LETTER C) is "c" under NFKC.
	for _, same := range []string{goodPassword, "ｃ" + goodPassword[1:]} {
		runs := f.s.Hasher.Runs()
		err := f.s.ChangePassword(ctx, actor, f.session, f.user, goodPassword, same)
		var ve *account.ValidationError
		if !errors.As(err, &ve) || ve.Code != "password_unchanged" || ve.Errors[0].Field != "new_password" {
			t.Fatalf("ChangePassword to %q, the current password: err = %v, want password_unchanged on new_password", same, err)
		}
		if n := f.s.Hasher.Runs() - runs; n != 1 {
			t.Errorf("ChangePassword to the current password: %d hashes, want 1 (the verify)", n)
		}
	}
	const wrong = "not the password at all, sorry"
	if err := f.s.ChangePassword(ctx, actor, f.session, f.user, wrong, wrong); !errors.Is(err, account.ErrWrongPassword) {
		t.Errorf("ChangePassword with a wrong current password, new = current: err = %v, want ErrWrongPassword", err)
	}
	if !passwordWorks(f, goodPassword) || sessionCount(t, f) != 1 {
		t.Errorf("a refused change changed the password or revoked sessions")
	}
}

// TestOwnPasswordChecksOnePerAccount: while one password check of an account
// waits for a hashing slot, another for the same account is refused at once
// with ErrAccountBusy and costs no hash, while other accounts' checks still
// queue for the slots; the first one then completes.
func TestOwnPasswordChecksOnePerAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, accounttest.SQLite)
	ctx := context.Background()
	actor := account.Actor{ID: f.user.ID, IP: "192.0.2.1"}
	root, err := f.s.UserByName(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	release := account.FillHashSlots(f.s.Hasher)
	done := make(chan error, 1)
	go func() {
		done <- f.s.ChangePassword(ctx, actor, f.session, f.user, goodPassword, "a completely different passphrase")
	}()
	for !account.Held(f.s.Hasher, f.user.ID) {
		select {
		case err := <-done:
			release()
			t.Fatalf("ChangePassword ended before holding the account: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	runs := f.s.Hasher.Runs()
	for _, check := range []func() error{
		func() error { return f.s.CheckOwnPassword(ctx, f.user, "192.0.2.1", "password", goodPassword) },
		func() error { return f.s.CheckOwnPassword(ctx, f.user, "198.51.100.9", "password", goodPassword) },
		func() error {
			return f.s.ChangePassword(ctx, actor, f.session, f.user, goodPassword, "yet another different passphrase")
		},
	} {
		if err := check(); !errors.Is(err, account.ErrAccountBusy) {
			t.Errorf("a second check of the same account: err = %v, want ErrAccountBusy", err)
		}
	}
	if n := f.s.Hasher.Runs() - runs; n != 0 {
		t.Errorf("refused checks cost %d hashes, want 0", n)
	}
	// Another account is not refused: it waits for a slot like anyone.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := f.s.CheckOwnPassword(short, root, "192.0.2.1", "password", goodPassword); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("another account's check with every slot taken: err = %v, want it to wait (context.DeadlineExceeded)", err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("the first ChangePassword: %v", err)
	}
	if account.Held(f.s.Hasher, f.user.ID) {
		t.Errorf("the account is still held after its check ended")
	}
	user, err := f.s.UserByName(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.CheckOwnPassword(ctx, user, "192.0.2.1", "password", "a completely different passphrase"); err != nil {
		t.Errorf("a check after the first ended: %v", err)
	}
}
