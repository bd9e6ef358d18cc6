package http

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"

	"roster/account"
)

// The tutorial's routes answer success with the bytes its Flask views sent
// (TestTutorialMatchesFlask compares them with Debian's Flask): POST /add the
// two bytes "ok" as text/html; charset=utf-8 (a view returning a str), POST
// /login "[[<id>]]\n" or "[]\n" as application/json (a view returning the
// rows list, which Flask jsonifies). A refusal is a one-line reason in
// text/plain with a 4xx or 5xx status (writeError).

// isFormRoute reports whether r is for one of the tutorial's form routes,
// whose errors are plain text.
func isFormRoute(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/add" || r.URL.Path == "/login")
}

// handleTutorialAdd creates a user from form fields user, email (optional)
// and pass.
func (s *Server) handleTutorialAdd(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "user", "email", "pass")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if form.Get("user") == "" || form.Get("pass") == "" {
		s.writeError(w, r, badRequest("form fields user and pass are required"))
		return
	}
	_, _, err = s.accounts.SignUp(r.Context(), account.Actor{IP: clientIP(r)}, account.NewUser{
		Username: form.Get("user"), Email: form.Get("email"), Password: form.Get("pass"),
	})
	s.metrics.signups.WithLabelValues(outcome(err)).Inc()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "ok")
}

// handleTutorialLogin checks form fields user and pass: [[<id>]] when they
// match an account, [] when not. It is a login without a session
// (LoginWithoutSession): throttled and audited the same way, and with
// -require-verified-email a right password for an unverified address is the
// 403 email_unverified, as one line of text.
func (s *Server) handleTutorialLogin(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "user", "pass")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if form.Get("user") == "" || form.Get("pass") == "" {
		s.writeError(w, r, badRequest("form fields user and pass are required"))
		return
	}
	user, err := s.accounts.LoginWithoutSession(r.Context(), form.Get("user"), form.Get("pass"), clientIP(r))
	s.metrics.logins.WithLabelValues(outcome(err)).Inc()
	if errors.Is(err, account.ErrBadCredentials) {
		encode(w, http.StatusOK, [][]int64{})
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	encode(w, http.StatusOK, [][]int64{{user.ID}})
}

// readForm parses a urlencoded or multipart form of at most authBodyLimit
// bytes. Fields outside allowed, and fields given twice, are refused.
func readForm(w http.ResponseWriter, r *http.Request, allowed ...string) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data") {
		return nil, unsupportedMediaType("application/x-www-form-urlencoded or multipart/form-data")
	}
	r.Body = http.MaxBytesReader(w, r.Body, authBodyLimit)
	if mt == "multipart/form-data" {
		err = r.ParseMultipartForm(authBodyLimit)
	} else {
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, err
	}
	if err != nil {
		return nil, badRequest("malformed form body")
	}
	if r.MultipartForm != nil && len(r.MultipartForm.File) > 0 {
		return nil, badRequest("file uploads are not accepted")
	}
	for name, values := range r.PostForm {
		if !slices.Contains(allowed, name) {
			return nil, badRequest(fmt.Sprintf("unknown form field %q", name))
		}
		if len(values) > 1 {
			return nil, badRequest(fmt.Sprintf("form field %q given more than once", name))
		}
	}
	return r.PostForm, nil
}

// writeText answers body as one line of text/plain: a form route's refusal.
func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, body)
}
