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

// TestDecodeInvalidUTF8 shows that a JSON body whose strings hold bytes that
// are not UTF-8, or escape a lone surrogate, is refused with 422 before
// encoding/json can replace them with U+FFFD, and that valid text is not.
func TestDecodeInvalidUTF8(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body  string
		field string // "" when the body is accepted
	}{
		{"{\"username\":\"ann\",\"password\":\"pw \xff\xfe\xfd\"}", "password"},
		{"{\"username\":\"ann\",\"password\":\"pw \xc0\xc1\xf5\"}", "password"},
		{"{\"username\":\"\xe2\x82\"}", "username"},     // a cut-off sequence
		{"{\"username\":\"\xed\xa0\x80\"}", "username"}, // a surrogate encoded in UTF-8
		{`{"password":"pw \ud800"}`, "password"},
		{`{"password":"pw \uDC00 x"}`, "password"},
		{`{"password":"\ud800\ud800"}`, "password"},
		{`{"password":"\udc00\ud800"}`, "password"},
		{`{"password":"\ud800\n"}`, "password"},
		{"{\"pass\xffword\":\"x\"}", "(name)"},
		{"{\"username\":\"ann\",\"password\":\"pw \xef\xbf\xbd\"}", ""}, // U+FFFD itself is text
		{`{"username":"ann","password":"pw \ufffd \ud83d\ude00 \\ud800 \u00e9"}`, ""},
	} {
		r := httptest.NewRequest("POST", "/v1/sessions", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", "application/json")
		_, err := decode[LoginRequest](httptest.NewRecorder(), r, authBodyLimit)
		if tc.field == "" {
			if err != nil {
				t.Errorf("decode(%q) = %v, want it accepted", tc.body, err)
			}
			continue
		}
		p, _ := problemFor(err)
		if p.Status != 422 || p.Code != "invalid_encoding" {
			t.Errorf("decode(%q): status %d, code %q (%v), want 422 invalid_encoding", tc.body, p.Status, p.Code, err)
			continue
		}
		if tc.field == "(name)" {
			if p.Detail != "a field name is not valid UTF-8" {
				t.Errorf("decode(%q): detail = %q", tc.body, p.Detail)
			}
		} else if len(p.Errors) != 1 || p.Errors[0].Field != tc.field || p.Detail != tc.field+": is not valid UTF-8" {
			t.Errorf("decode(%q): detail %q, errors %+v, want %s: is not valid UTF-8", tc.body, p.Detail, p.Errors, tc.field)
		}
	}
}
