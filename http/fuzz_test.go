package http

import (
	"bytes"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeJSON: any body and Content-Type is decoded or refused with a
// 4xx problem; nothing panics or maps to a 500. A decoded value holds only
// valid UTF-8, and no U+FFFD that the body did not spell itself: no invalid
// byte or lone surrogate escape reaches a handler as a replacement character.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"username":"alice","password":"correct horse battery staple"}`,
		`{"username":"alice","username":"bob"}`, `{"username":"alice"} {}`, `{"role":"admin"}`,
		`{"username":5}`, `{"username":{"a":[1,{"b":null}]}}`, `[` + strings.Repeat(`{"a":[`, 20), `"x"`, `{`, ``,
		`{"cookie":"yes"}`, `{"password":"\ud800"}`, "{\"username\":\"\xff\"}",
		`{"password":"\ud83d\ude00 \uFFFD"}`, "{\"password\":\"\xef\xbf\xbd\xc0\"}", `{"password":"\\udc00"}`,
	} {
		f.Add("application/json", s)
	}
	f.Add("application/json; charset=utf-8", `{}`)
	f.Add("text/plain", `{}`)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		r := httptest.NewRequest("POST", "/v1/sessions", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		v, err := decode[LoginRequest](httptest.NewRecorder(), r, authBodyLimit)
		if err == nil {
			spelled := strings.Count(body, "\uFFFD") + strings.Count(strings.ToLower(body), `\ufffd`)
			for _, s := range []string{v.Username, v.Password} {
				if !utf8.ValidString(s) || strings.Count(s, "\uFFFD") > spelled {
					t.Fatalf("decode(%q) accepted %q: invalid UTF-8 or a U+FFFD the body does not hold", body, s)
				}
			}
			return
		}
		if p, _ := problemFor(err); p.Status < 400 || p.Status >= 500 {
			t.Fatalf("decode(%q, %q): %v maps to status %d, want a 4xx", contentType, body, err, p.Status)
		}
	})
}

// FuzzReadForm: any urlencoded or multipart body is read or refused with a
// 4xx; an accepted form holds only allowed fields, each once.
func FuzzReadForm(f *testing.F) {
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	w.SetBoundary("roster-boundary")
	w.WriteField("user", "alice")
	w.WriteField("pass", "secret")
	w.Close()
	f.Add(w.FormDataContentType(), mp.String())
	f.Add("multipart/form-data; boundary=roster-boundary", "--roster-boundary\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\nx\r\n--roster-boundary--\r\n")
	for _, s := range []string{"user=alice&pass=secret", "user=a&user=b", "role=admin", "user=%zz", "user=a;pass=b", "", "&&&=", "user=" + strings.Repeat("a", 100)} {
		f.Add("application/x-www-form-urlencoded", s)
	}
	f.Fuzz(func(t *testing.T, contentType, body string) {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		form, err := readForm(httptest.NewRecorder(), r, "user", "pass")
		if err != nil {
			if p, _ := problemFor(err); p.Status < 400 || p.Status >= 500 {
				t.Fatalf("readForm(%q, %q): %v maps to status %d, want a 4xx", contentType, body, err, p.Status)
			}
			return
		}
		for name, values := range form {
			if (name != "user" && name != "pass") || len(values) != 1 {
				t.Fatalf("readForm(%q, %q) accepted field %q = %q", contentType, body, name, values)
			}
		}
	})
}

// FuzzSessionToken: whatever the Authorization and Cookie headers hold,
// extracting the token never panics, and a token is only ever taken from a
// Bearer header or the session cookie.
func FuzzSessionToken(f *testing.F) {
	f.Add("Bearer rst_abc", "")
	f.Add("bearer  x", "__Host-roster_session=rst_abc")
	f.Add("Basic dXNlcjpwYXNz", "__Host-roster_session=; other=1")
	f.Add("", `__Host-roster_session="quoted"`)
	f.Fuzz(func(t *testing.T, authorization, cookie string) {
		r := httptest.NewRequest("GET", "/v1/me", nil)
		r.Header.Set("Authorization", authorization)
		r.Header.Set("Cookie", cookie)
		token, fromCookie := sessionToken(r)
		if token == "" {
			return
		}
		if fromCookie {
			if c, err := r.Cookie(sessionCookie); err != nil || c.Value != token {
				t.Fatalf("sessionToken(%q, %q) = %q from a cookie the request does not carry", authorization, cookie, token)
			}
		} else if !strings.HasSuffix(authorization, token) || !strings.EqualFold(authorization[:7], "Bearer ") {
			t.Fatalf("sessionToken(%q, %q) = %q, not from a Bearer header", authorization, cookie, token)
		}
	})
}
