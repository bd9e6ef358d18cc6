package account

import "errors"

// ErrAccountBusy refuses a signed-in account's password check while another
// of its own is in flight, before any hashing.
var ErrAccountBusy = errors.New("another password check for this account is in progress")

// hold gives account id its one place in the hashing queue for a password
// check made on its behalf by a signed-in session (see CheckOwnPassword),
// or ErrAccountBusy when it has one already: whatever its sessions send at
// once, one account never holds more than one of the limiter's slots, and
// the other accounts get the rest. The caller calls release when done. It is
// per process, as the slots are.
func (h *Hasher) hold(id int64) (release func(), err error) {
	if _, busy := h.held.LoadOrStore(id, struct{}{}); busy {
		return nil, ErrAccountBusy
	}
	return func() { h.held.Delete(id) }, nil
}
