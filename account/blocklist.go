package account

import (
	"sync"

	"github.com/trustelem/zxcvbn/frequency"
)

// commonPasswords is the set of the 30,000 most common passwords in leaked
// password sets, as zxcvbn ranks them (its "passwords" frequency list, all
// lower case), compiled into the binary: no file or network is needed.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	list := frequency.FrequencyLists["passwords"]
	set := make(map[string]struct{}, len(list))
	for _, pw := range list {
		set[pw] = struct{}{}
	}
	return set
})

// isCommon reports whether a lower-cased password is on the list.
func isCommon(lower string) bool {
	_, ok := commonPasswords()[lower]
	return ok
}
