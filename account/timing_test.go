package account_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/bcrypt"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
)

// TestFailedLoginsCostTheSame: with real hashing parameters, a failed login
// takes as long whatever hash the account has. Each round times a login of
// an unknown account and a wrong password for accounts with a current
// argon2id hash, an argon2id hash with older, cheaper parameters and an
// imported bcrypt-10 hash (about 3x a current verify), and for an account
// with a second factor (its wrong password is the same refusal), in a new order each
// round; each kind's time is taken relative to the unknown account's in the
// same round, and the medians of those are within 10% of each other with
// ROSTER_STRICT_TIMING set (as one step of .ci/run runs it, alone), 35%
// otherwise. Pairing within a round keeps a burst of load on the shared
// machine, which moves every kind alike, out of the comparison: plain medians of 31 logins each can land tens of
// percent apart when the load changes during the run. Skipped under -race,
// which slows hashing too much to time 60 logins (CI also runs the tests
// without it).
func TestFailedLoginsCostTheSame(t *testing.T) {
	if raceEnabled {
		t.Skip("timed without -race: the race detector makes each login take seconds")
	}
	rounds, tolerance := 15, 0.35
	if os.Getenv("ROSTER_STRICT_TIMING") != "" {
		rounds, tolerance = 31, 0.10
	}
	ctx := context.Background()
	svc := accounttest.New(t)
	clock := accounttest.NewClock(time.Now())
	svc.Now = clock.Now
	var err error
	if svc.Hasher, err = account.NewHasher(account.DefaultParams, 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	older := account.DefaultParams
	older.Time = 1
	oldHasher, err := account.NewHasher(older, 1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	oldHash, err := oldHasher.Hash(ctx, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte(goodPassword), 10)
	if err != nil {
		t.Fatal(err)
	}
	for name, hash := range map[string]string{"current": "", "older": oldHash, "bcrypt": string(bcryptHash)} {
		u, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: name, Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		if hash == "" {
			continue
		}
		if _, err := svc.Store.Write.UpdateUserPasswordHash(ctx, db.UpdateUserPasswordHashParams{
			PasswordHash: hash, UpdatedAt: u.CreatedAt, ID: u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	// An account with a second factor: a wrong password must cost and
	// answer the same as for any other.
	keys, err := account.ParseMFAKeys(account.NewMFAKey())
	if err != nil {
		t.Fatal(err)
	}
	svc.MFAKeys = keys
	mfaUser, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "mfa", Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	login, err := svc.LoginDevice(ctx, "mfa", goodPassword, account.ClientInfo{IP: "192.0.2.200"})
	if err != nil {
		t.Fatal(err)
	}
	en, err := svc.EnrollTOTP(ctx, account.Actor{ID: mfaUser.ID}, mfaUser, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(en.Secret, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ConfirmTOTP(ctx, account.Actor{ID: mfaUser.ID}, login.Session, mfaUser, code); err != nil {
		t.Fatal(err)
	}
	// What serve does at startup, once the accounts exist.
	if err := svc.MeasureHashCosts(ctx); err != nil {
		t.Fatal(err)
	}

	kinds := []string{"nobody", "current", "older", "bcrypt", "mfa"}
	times := make(map[string][]time.Duration)
	client := 0
	for round := range rounds + 1 {
		// Interleaved, in a new order each round, so neither a burst of
		// load nor a kind's place in the round favours one kind.
		for _, i := range rand.Perm(len(kinds)) {
			login := kinds[i]
			// A new address and a later clock keep the throttle out of the way.
			clock.Advance(5 * time.Minute)
			client++
			ip := fmt.Sprintf("10.%d.%d.%d", client>>16&255, client>>8&255, client&255)
			start := time.Now()
			_, err := svc.LoginWithoutSession(ctx, login, "not the right password", ip)
			d := time.Since(start)
			if !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("login %s with a wrong password = %v, want ErrBadCredentials", login, err)
			}
			if round > 0 { // the first round warms up
				times[login] = append(times[login], d)
			}
		}
	}
	medians, relative := make(map[string]time.Duration), make(map[string]float64)
	for _, login := range kinds {
		medians[login] = median(times[login])
		var ratios []float64
		for r, d := range times[login] {
			ratios = append(ratios, float64(d)/float64(times["nobody"][r]))
		}
		relative[login] = median(ratios)
	}
	t.Logf("medians over %d rounds: unknown %v, current argon2id %v, older argon2id (t=1) %v, bcrypt-10 %v, with MFA %v; "+
		"relative to the unknown account in the same round: current %.3f, older %.3f, bcrypt-10 %.3f, with MFA %.3f",
		rounds, medians["nobody"], medians["current"], medians["older"], medians["bcrypt"], medians["mfa"],
		relative["current"], relative["older"], relative["bcrypt"], relative["mfa"])
	lo := slices.Min(slices.Collect(maps.Values(relative)))
	hi := slices.Max(slices.Collect(maps.Values(relative)))
	if hi > (1+tolerance)*lo {
		t.Errorf("failed logins, relative to an unknown account's in the same round, differ by %.0f%%, want at most %.0f%%: "+
			"current argon2id %.3f, older argon2id %.3f, bcrypt-10 %.3f, with MFA %.3f",
			100*(hi/lo-1), 100*tolerance, relative["current"], relative["older"], relative["bcrypt"], relative["mfa"])
	}
}

func median[T ~int64 | ~float64](s []T) T {
	s = slices.Sorted(slices.Values(s))
	return s[len(s)/2]
}

// TestMeasureHashCostsTimesEachStoredKind: MeasureHashCosts times one verify
// of each kind of stored hash the hasher has not timed (here an older
// argon2id and a bcrypt hash; the hasher's own kind it timed when it was
// made), and skips a hash it cannot verify.
func TestMeasureHashCostsTimesEachStoredKind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := accounttest.New(t)
	older := accounttest.CheapParams
	older.Time = 2
	oldHasher, _ := account.NewHasher(older, 1, time.Second)
	oldHash, err := oldHasher.Hash(ctx, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte(goodPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]string{"current": "", "current2": "", "older": oldHash, "older2": oldHash,
		"bcrypt": string(bcryptHash), "broken": "$argon2id$v=19$m=19456,t=2,p=1$!!!$!!!"}
	var current string
	for name, hash := range stored {
		u, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: name, Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		if hash == "" {
			current = u.PasswordHash
			continue
		}
		if _, err := svc.Store.Write.UpdateUserPasswordHash(ctx, db.UpdateUserPasswordHashParams{
			PasswordHash: hash, UpdatedAt: u.CreatedAt, ID: u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if !account.HashCostMeasured(svc.Hasher, current) {
		t.Error("a new hasher has not timed its own kind of hash")
	}
	for _, h := range []string{oldHash, string(bcryptHash)} {
		if account.HashCostMeasured(svc.Hasher, h) {
			t.Fatalf("%.30s… timed before MeasureHashCosts", h)
		}
	}
	runs := svc.Hasher.Runs()
	if err := svc.MeasureHashCosts(ctx); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{oldHash, string(bcryptHash)} {
		if !account.HashCostMeasured(svc.Hasher, h) {
			t.Errorf("%.30s… not timed by MeasureHashCosts", h)
		}
	}
	if got := svc.Hasher.Runs() - runs; got != 2 {
		t.Errorf("MeasureHashCosts ran %d verifies, want 2 (the older argon2id and the bcrypt kind)", got)
	}
}

// TestFailedLoginPaddingHoldsNoSlot: the wait that pads a failed login holds
// no hashing slot, so another hash runs meanwhile on a one-slot hasher; and a
// login refused for want of a slot (ErrHashBusy, a 503) is answered at once,
// not padded.
func TestFailedLoginPaddingHoldsNoSlot(t *testing.T) {
	t.Parallel()
	const pad = 5 * time.Second
	svc := accounttest.New(t)
	var err error
	if svc.Hasher, err = account.NewHasher(accounttest.CheapParams, 1, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	verified := make(chan struct{}, 1)
	svc.Hasher.Observe(verifySignal(verified))
	account.PadFailuresTo(svc.Hasher, pad)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := svc.LoginWithoutSession(ctx, "nobody", goodPassword, "192.0.2.1")
		done <- err
	}()
	<-verified
	if _, err := svc.Hasher.Hash(context.Background(), goodPassword); err != nil {
		t.Fatalf("Hash while a failed login was padded = %v, want the slot free", err)
	}
	select {
	case err := <-done:
		t.Fatalf("the failed login returned (%v) after %v, before its padding of %v", err, time.Since(start), pad)
	default:
	}
	cancel() // a client that leaves ends the padding
	<-done
	if d := time.Since(start); d >= pad {
		t.Errorf("the cancelled login returned after %v, want before its padding of %v ended", d, pad)
	}

	release := account.FillHashSlots(svc.Hasher)
	defer release()
	start = time.Now()
	_, err = svc.LoginWithoutSession(context.Background(), "nobody", goodPassword, "192.0.2.2")
	if !errors.Is(err, account.ErrHashBusy) {
		t.Fatalf("login with every slot taken = %v, want ErrHashBusy", err)
	}
	if d := time.Since(start); d >= pad {
		t.Errorf("ErrHashBusy after %v, want it unpadded (the padding is %v)", d, pad)
	}
}

// verifySignal sends on its channel after each verify, without blocking.
type verifySignal chan struct{}

func (verifySignal) ObserveWait(time.Duration, bool) {}

func (c verifySignal) ObserveHash(op string, _ time.Duration) {
	if op == "verify" {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}
