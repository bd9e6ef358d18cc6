package account

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Every failed password check is padded to one floor (see padFailure), so
// that its duration says nothing about the kind of hash the account has, or
// whether there is an account: a verify of an imported bcrypt hash can cost
// several current ones, and the dummy verify of an unknown account one. The
// floor is failureMargin times the estimated cost of the most expensive kind
// of hash verified so far, or measured by MeasureHashCosts. The padding is a
// wait after the hashing slot is given back: it costs no CPU and no slot.
//
// A kind's estimate follows the slowest of its recent verifies: it jumps to a
// verify that took longer and moves an eighth of the way down towards one
// that took less, so a machine that gets busier raises the floor at once.
// A kind that is rarely verified keeps its last estimate: if the machine has
// become slower since, its next failed verify can still end after the floor.

// failureMargin puts the floor above the most expensive kind's estimate, so
// that most verifies of that kind, too, end before the floor.
const failureMargin = 1.25

// verifyCosts estimates what verifying each kind of stored hash costs.
type verifyCosts struct {
	own   string // the kind of the hasher's own hashes
	mu    sync.Mutex
	est   map[string]time.Duration
	worst time.Duration // the largest estimate
}

func newVerifyCosts(p Params) *verifyCosts {
	return &verifyCosts{own: fmt.Sprintf("argon2id m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads),
		est: make(map[string]time.Duration)}
}

// hashKind is what a verify of the well-formed stored hash encoded costs
// depends on: the bcrypt cost, or the argon2id parameters.
func hashKind(encoded string) string {
	if isBcrypt(encoded) {
		return "bcrypt " + encoded[4:6]
	}
	if f := strings.SplitN(encoded, "$", 5); len(f) == 5 {
		return "argon2id " + f[3]
	}
	return encoded
}

// observe records that one computation of kind took d.
func (c *verifyCosts) observe(kind string, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.est[kind]
	if !ok || d > e {
		e = d
	} else {
		e -= (e - d) / 8
	}
	c.est[kind] = e
	c.worst = 0
	for _, e := range c.est {
		c.worst = max(c.worst, e)
	}
}

// known reports whether kind has been measured.
func (c *verifyCosts) known(kind string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.est[kind]
	return ok
}

// floor is how long every failed password check takes at least, from the
// moment its computation begins.
func (c *verifyCosts) floor() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(failureMargin * float64(c.worst))
}

// padFailure waits, holding no hashing slot, until padUntil, which
// verifyTimed set to the floor after a failed check's computation began; it
// ends early if ctx does, leaving the outcome as it is.
func (h *Hasher) padFailure(ctx context.Context, padUntil time.Time) {
	d := time.Until(padUntil)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// MeasureHashCosts times one verify of each kind of hash stored (bcrypt by
// cost, argon2id by parameters) that the hasher has not measured yet, so that
// failed logins are padded for it from the first (see padFailure). serve
// runs it at startup; it reads every account once. A kind imported later is
// measured at its first verify, which is thus the one failed login that can
// take longer than the others.
func (s *Service) MeasureHashCosts(ctx context.Context) error {
	hashes, err := s.Store.Read.ListPasswordHashKinds(ctx)
	if err != nil {
		return err
	}
	for _, encoded := range hashes {
		if ValidateHash(encoded) != nil || s.Hasher.costs.known(hashKind(encoded)) {
			continue
		}
		// A random password: it matches nothing, so this reveals nothing.
		if _, _, _, err := s.Hasher.verifyTimed(ctx, encoded, rand.Text()); err != nil && !errors.Is(err, ErrMalformedHash) {
			return err
		}
	}
	return nil
}
