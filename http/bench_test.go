package http_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	rosterhttp "roster/http"
)

// BenchmarkMe is GET /v1/me with a valid token through the whole handler
// chain (middleware, session lookup, encoding), without the network.
func BenchmarkMe(b *testing.B) {
	ts := newTestServer(b)
	ts.signup("bench", "bench@example.com", goodPassword)
	token := ts.login("bench", goodPassword)
	handler := ts.Config.Handler
	req := httptest.NewRequest("GET", "/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkMeParallel is BenchmarkMe from GOMAXPROCS goroutines, as a loaded
// server runs it.
func BenchmarkMeParallel(b *testing.B) {
	ts := newTestServer(b)
	ts.signup("bench", "bench@example.com", goodPassword)
	token := ts.login("bench", goodPassword)
	handler := ts.Config.Handler
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		for pb.Next() {
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}

func BenchmarkEncodeUser(b *testing.B) {
	email := "someone@example.com"
	u := rosterhttp.User{ID: 42, Username: "someone", Email: email, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(u); err != nil {
			b.Fatal(err)
		}
	}
}
