package account

import "time"

// FillHashSlots takes every hashing slot of h until release is called, so
// tests can show what a saturated limiter does.
func FillHashSlots(h *Hasher) (release func()) {
	taken := make([]*slot, cap(h.slots))
	for i := range taken {
		taken[i] = <-h.slots
	}
	return func() {
		for _, s := range taken {
			h.slots <- s
		}
	}
}

// ParseRecord exposes the import's per-line check to the fuzz target.
func (s *Service) ParseRecord(line []byte) (username, usernameKey, role, status, hash string, err error) {
	p, _, err := s.parseRecord(line, s.now())
	return p.Username, p.UsernameKey, p.Role, p.Status, p.PasswordHash, err
}

// Held reports whether account id holds its place for a password check.
func Held(h *Hasher, id int64) bool {
	_, ok := h.held.Load(id)
	return ok
}

// HashCostMeasured reports whether h has timed a verify of encoded's kind.
func HashCostMeasured(h *Hasher, encoded string) bool { return h.costs.known(hashKind(encoded)) }

// PadFailuresTo makes h pad failed checks to at least d, as a kind of hash
// that costs d to verify would.
func PadFailuresTo(h *Hasher, d time.Duration) { h.costs.observe("test kind", d) }
