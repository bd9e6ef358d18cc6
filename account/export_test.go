package account

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

// Held reports whether account id holds its place for a password check.
func Held(h *Hasher, id int64) bool {
	_, ok := h.held.Load(id)
	return ok
}
