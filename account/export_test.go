package account

// FillHashSlots takes every hashing slot of h until release is called, so
// tests can show what a saturated limiter does.
func FillHashSlots(h *Hasher) (release func()) {
	for range cap(h.slots) {
		h.slots <- struct{}{}
	}
	return func() {
		for range cap(h.slots) {
			<-h.slots
		}
	}
}
