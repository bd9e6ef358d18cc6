//go:build race

package account_test

// raceEnabled: the race detector slows hashing many times over.
const raceEnabled = true
