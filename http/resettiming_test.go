package http_test

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// TestResetRequestTimingIndependentOfAccount: a reset request for a real
// account answers as fast as one for an unknown name. The requests
// alternate (the kind that goes first swaps every pair) and are spaced so
// each starts on an idle server, as an attacker's spaced probes would; the
// medians of the two kinds, measured in the same run, must agree within
// 25% (10% under strictTiming, over more pairs). Before the reset queue
// delayed its work, the real account's write transaction ran beside its own
// answer: its median was 60% higher here.
func TestResetRequestTimingIndependentOfAccount(t *testing.T) {
	pairs, tolerance := 150, 0.25
	if strictTiming() {
		pairs, tolerance = 600, 0.10
	}
	ts := newTestServer(t) // no rate limit, no per-account cap: every real request mails
	ts.signup("fay", "fay@example.com", goodPassword)
	bodies := [2]string{`{"username":"fay"}`, `{"username":"nobody"}`}
	var took [2][]time.Duration
	for i := range pairs {
		for j := range 2 {
			kind := (i + j) % 2
			time.Sleep(2 * time.Millisecond)
			start := time.Now()
			r := ts.do("POST", "/v1/password-resets", "application/json", bodies[kind])
			took[kind] = append(took[kind], time.Since(start))
			want(t, "POST /v1/password-resets", r, http.StatusAccepted)
		}
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	real, unknown := median(took[0]), median(took[1])
	t.Logf("medians over %d requests each: real account %v, unknown name %v", pairs, real, unknown)
	if diff := (real - unknown).Abs(); float64(diff) > tolerance*float64(min(real, unknown)) {
		t.Errorf("reset request medians differ by %v (real account %v, unknown name %v), over %.0f%% of the faster",
			diff, real, unknown, tolerance*100)
	}
}
