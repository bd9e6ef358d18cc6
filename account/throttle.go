package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-chi/httprate"

	"roster/db"
)

// Login throttling, kept in SQLite so that it survives a restart. Two limits
// apply to every password check, and a refused attempt costs no hash:
//
//   - Per (login, client network) pair, the login being the name as typed,
//     normalized ("u:"+username_key or "e:"+email_key, see lookup), whether
//     or not it names an account: a username and the same account's email
//     are separate pairs, so a pair's answer never links the two, nor tells
//     whether an account exists. After freeFailures consecutive failures
//     each further attempt waits firstDelay, doubling per failure up to
//     maxDelay (at least: see waitUntil). A success resets the pair; a pair
//     idle for pairMemory starts over. No lock is permanent.
//   - Per account, across all networks, a generic cell rate algorithm: each
//     failure adds failureInterval of debt, and an attempt that would take the
//     debt past burst intervals is refused. In any hour an account thus sees
//     at most burstKnown + time.Hour/failureInterval = 49 + 48 = 97 failed
//     verifications from networks. Networks the account never logged in
//     from, signed up from, nor confirmed a mailed password reset from, stop
//     at burstUnknown, so its owner keeps a reserve while an attacker is
//     held.
//
// A login that presents one of the account's device tokens (OWASP's device
// cookies, see device.go) is not held by the account-wide cap: its failures
// still add to the account's debt, but the device is its own pair, keyed
// (account, "d:"+its hash), in place of (login, network). Once that pair reaches
// deviceFailures consecutive failures the token is distrusted: until the pair
// is forgotten (pairMemory after its last failure) or a login with the right
// password resets it, the token is ignored and the login is capped like any
// other from its network. Device tokens are only handed out to logins with
// the right password, so the cap still bounds everyone who does not know it.
//
// Each attempt is charged before the hash and refunded unless the password
// turned out wrong, so concurrent guesses cannot overshoot either limit; the
// price is that concurrent logins with the right password can be refused
// while the others' charges are in flight, which the refusal's wording allows
// for ("too many login attempts", not "failed logins").
const (
	freeFailures    = 5
	firstDelay      = time.Second
	maxDelay        = 15 * time.Minute
	pairMemory      = 24 * time.Hour
	failureInterval = 74 * time.Second
	burstUnknown    = 30
	burstKnown      = 49
	deviceFailures  = 10
)

// ThrottledError refuses a login attempt before any hashing; RetryAfter says
// when the next one can be admitted.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many login attempts; retry after %s", e.RetryAfter)
}

// attempt is one password check as the throttle sees it.
type attempt struct {
	login   string // the pair's key: the login as typed (see lookup)
	account string // the account-wide key: userKey, or login for no account
	network string // the client's IPv4 address or IPv6 /64
	userID  int64  // 0 when the login names no account
	// device is the key of the account's device token the login presented
	// ("d:"+hex hash), or empty; trusted says admit found it not locked out,
	// so the device's pair (account, device) stands in for the network's and
	// the account-wide cap does not apply.
	device  string
	trusted bool
	// flushedLater: whatever the outcome, the caller commits through Tx or
	// Write before it answers (signIn does), which makes the charge durable
	// too, so admit's own commit need not wait for the disk (TxNoSync).
	flushedLater bool
	wait         time.Time // the pair's end of wait that admit's charge set
}

// newAttempt is the attempt of a login with loginKey (see lookup) from ip,
// naming user when found.
func newAttempt(loginKey, ip string, user db.User, found bool) attempt {
	a := attempt{login: loginKey, account: loginKey, network: httprate.CanonicalizeIP(ip)}
	if found {
		a.account, a.userID = userKey(user), user.ID
	}
	return a
}

// pair is the key of the attempt's pair: (login as typed, network), or for
// a trusted device (account, device), so that a device's failures count the
// same whichever of the account's names the login used.
func (a *attempt) pair() (login, network string) {
	if a.trusted {
		return a.account, a.device
	}
	return a.login, a.network
}

// userKey is the account key of an existing account; it is also the login
// key of its username.
func userKey(u db.User) string { return "u:" + u.UsernameKey }

// retryDelay is how long a pair waits after its n-th consecutive failure.
func retryDelay(failures int64) time.Duration {
	n := failures - freeFailures
	if n < 0 {
		return 0
	}
	if n >= 10 { // 1 s << 10 is past maxDelay
		return maxDelay
	}
	return min(firstDelay<<n, maxDelay)
}

// admit charges one failure to the attempt's pair and account, recording in
// a.wait the wait it set, or refuses it with a *ThrottledError.
func (s *Service) admit(ctx context.Context, a *attempt) error {
	wall := s.Now()
	now := db.Now(wall)
	// Row locks, not SERIALIZABLE (db.Engine.TxRowLocks): concurrent charges
	// for one account take turns on its rows, and charges for different
	// accounts never conflict. Every charge locks the account's row first,
	// then its pairs, as settleIn writes them.
	return s.Store.TxRowLocks(ctx, a.flushedLater, func(q db.Querier) error {
		a.trusted = false
		paidUntil, err := q.LockLoginAccount(ctx, db.LockLoginAccountParams{AccountKey: a.account, Epoch: epoch})
		if err != nil {
			return err
		}
		var pair db.LoginPair
		if a.device != "" {
			if pair, err = lockedLoginPair(ctx, q, a.account, a.device, now); err != nil {
				return err
			}
			a.trusted = pair.Failures < deviceFailures
		}
		if !a.trusted {
			if pair, err = lockedLoginPair(ctx, q, a.login, a.network, now); err != nil {
				return err
			}
		}
		if now.Before(pair.BlockedUntil) {
			return &ThrottledError{RetryAfter: pair.BlockedUntil.Sub(now)}
		}
		burst := burstUnknown
		if a.userID != 0 {
			known, err := q.KnownLoginIPExists(ctx, db.KnownLoginIPExistsParams{UserID: a.userID, Ip: a.network})
			if err != nil {
				return err
			}
			if known {
				burst = burstKnown
			}
		}
		paidUntil = later(paidUntil, now).Add(failureInterval)
		if over := paidUntil.Sub(now) - time.Duration(burst)*failureInterval; over > 0 && !a.trusted {
			return &ThrottledError{RetryAfter: over}
		}
		if err := q.UpsertLoginAccount(ctx, db.UpsertLoginAccountParams{AccountKey: a.account, PaidUntil: paidUntil}); err != nil {
			return err
		}
		failures := pair.Failures + 1
		a.wait = waitUntil(wall, retryDelay(failures))
		login, network := a.pair()
		return q.UpsertLoginPair(ctx, db.UpsertLoginPairParams{AccountKey: login, Ip: network,
			Failures: failures, BlockedUntil: a.wait, UpdatedAt: now})
	})
}

// epoch is when an empty throttle row, made to be locked, was last changed.
var epoch = time.Unix(0, 0).UTC()

// lockedLoginPair is loginPair through LockLoginPair: the pair's row stays
// locked until the transaction ends.
func lockedLoginPair(ctx context.Context, q db.Querier, login, network string, now time.Time) (db.LoginPair, error) {
	pair, err := q.LockLoginPair(ctx, db.LockLoginPairParams{AccountKey: login, Ip: network, Epoch: epoch})
	if err != nil || pair.UpdatedAt.Before(now.Add(-pairMemory)) {
		return db.LoginPair{}, err
	}
	return pair, nil
}

// loginPair reads a pair's failures at now. A pair idle for pairMemory
// starts over: it reads as no failures even before the housekeeping
// (PurgeExpired) deletes its row, so that pruning stays out of the login's
// transaction.
func loginPair(ctx context.Context, q db.Querier, login, network string, now time.Time) (db.LoginPair, error) {
	pair, err := q.GetLoginPair(ctx, db.GetLoginPairParams{AccountKey: login, Ip: network})
	if errors.Is(err, sql.ErrNoRows) || err == nil && pair.UpdatedAt.Before(now.Add(-pairMemory)) {
		return db.LoginPair{}, nil
	}
	return pair, err
}

// waitUntil is when an attempt at wall that must wait d ends its wait. Stored
// times are whole seconds, so a wait rounds up to the next one: rounded down,
// it could end up to a second early, and a 1 s wait at once.
func waitUntil(wall time.Time, d time.Duration) time.Time {
	if d == 0 {
		return db.Now(wall)
	}
	return db.Now(wall.Add(d + time.Second - time.Nanosecond))
}

// settle closes an admitted attempt in a transaction of its own: a wrong
// password keeps its charge; a right one, or one that verified nothing
// (err != nil), is settled by settleIn.
func (s *Service) settle(ctx context.Context, a attempt, ok bool, err error) error {
	if err == nil && !ok {
		return nil
	}
	ctx = context.WithoutCancel(ctx) // the charge is settled even if the client left
	return s.Store.Tx(ctx, func(q db.Querier) error { return s.settleIn(ctx, q, a, ok) })
}

// settleIn settles an attempt in transaction q: a right password (ok)
// resets the pair (and the presented device's, trusted or not), refunds the
// account and remembers the network; an attempt
// that verified nothing is refunded. A right password for an account deleted
// meanwhile is ErrBadCredentials, and the caller's rollback keeps its charge.
func (s *Service) settleIn(ctx context.Context, q db.Querier, a attempt, ok bool) error {
	now := s.now()
	paidUntil, qerr := q.GetLoginAccountPaidUntil(ctx, a.account)
	if qerr == nil {
		qerr = q.UpsertLoginAccount(ctx, db.UpsertLoginAccountParams{AccountKey: a.account,
			PaidUntil: later(paidUntil.Add(-failureInterval), now)})
	}
	if qerr != nil && !errors.Is(qerr, sql.ErrNoRows) {
		return qerr
	}
	if ok {
		if err := q.DeleteLoginPair(ctx, db.DeleteLoginPairParams{AccountKey: a.login, Ip: a.network}); err != nil {
			return err
		}
		if a.device != "" {
			if err := q.DeleteLoginPair(ctx, db.DeleteLoginPairParams{AccountKey: a.account, Ip: a.device}); err != nil {
				return err
			}
		}
		err := q.UpsertKnownLoginIP(ctx, db.UpsertKnownLoginIPParams{UserID: a.userID, Ip: a.network, LastLoginAt: now})
		if db.IsForeignKeyViolation(err) { // the account was deleted since it was verified
			return ErrBadCredentials
		}
		return err
	}
	login, network := a.pair()
	pair, qerr := q.GetLoginPair(ctx, db.GetLoginPairParams{AccountKey: login, Ip: network})
	if errors.Is(qerr, sql.ErrNoRows) {
		return nil
	}
	if qerr != nil {
		return qerr
	}
	pair.Failures = max(pair.Failures-1, 0)
	// What is left is free, so the wait this charge set goes too, unless a
	// later charge set another.
	if pair.Failures < freeFailures && pair.BlockedUntil.Equal(a.wait) {
		pair.BlockedUntil = now
	}
	return q.UpsertLoginPair(ctx, db.UpsertLoginPairParams(pair))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
