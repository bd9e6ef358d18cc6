package http

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkDecodeSignup is the strict JSON decoding every request body goes
// through: media type, size cap, duplicate-key scan, unknown fields.
func BenchmarkDecodeSignup(b *testing.B) {
	body := `{"username":"someone","email":"someone@example.com","password":"correct horse battery staple"}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/v1/users", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if _, err := decode[SignupRequest](httptest.NewRecorder(), r, authBodyLimit); err != nil {
			b.Fatal(err)
		}
	}
}
