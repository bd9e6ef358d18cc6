//go:build race

package argon2id

// raceEnabled: the race detector slows the plain Go block function about
// eightfold, and Key runs on one goroutine, so the largest vectors are left
// to the other runs.
const raceEnabled = true
