package http

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"roster/db"
	"roster/http/ui"
)

// The web console: server-rendered pages under /ui/ for end users (sign in,
// sign up, password reset, email verification, their account) and admins
// (users, audit log). It works without JavaScript. Each page calls the same
// account.Service methods as the JSON API and turns the same problems
// (problemFor) into sentences beside the form field they concern. Every state
// change is a POST that passes CrossOriginProtection (uiGuard), and the
// session rides in the __Host- cookie, checked by requireSession like any
// cookie-authenticated API request.

// uiCSP is the console's Content-Security-Policy: its own style sheet and
// its one script (passkeys, which WebAuthn can only do in script; it calls
// roster's own API), no inline script, forms posting only to roster.
const uiCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// uiGuard sets the console's CSP and refuses cross-origin state changes,
// sign-in and sign-up included (no login CSRF).
func (s *Server) uiGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", uiCSP)
		if err := s.csrf.Check(r); err != nil {
			s.writeError(w, r, errCrossOrigin)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isUIRoute reports whether r is for the console, whose errors are pages.
func (s *Server) isUIRoute(r *http.Request) bool {
	return s.cfg.UI && (r.URL.Path == "/ui" || strings.HasPrefix(r.URL.Path, "/ui/"))
}

// uiTemplates holds one template set per page: the page's file with the
// layout and the shared partials.
var uiTemplates = func() map[string]*template.Template {
	funcs := template.FuncMap{"field": newUIField, "when": uiTime, "device": device}
	names, err := fs.Glob(ui.FS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	sets := map[string]*template.Template{}
	for _, name := range names {
		if base := path.Base(name); base != "layout.html" {
			sets[base] = template.Must(template.New(base).Funcs(funcs).ParseFS(ui.FS, "templates/layout.html", name))
		}
	}
	return sets
}()

// uiPage is what every console template gets.
type uiPage struct {
	Title string
	Path  string
	// User is the signed-in user; nil on the pages anyone may see.
	User *db.User
	// Notice confirms what the previous POST did (see uiNotices).
	Notice string
	// Error is about the request as a whole; Fields holds messages for
	// single form fields, by the field's name.
	Error  string
	Fields map[string]string
	// Aliases name, by a problem's field name, the input that shows its
	// error where the failed form calls that field otherwise.
	Aliases map[string]string
	// Form holds submitted values to show again; passwords never are.
	Form url.Values
	// MinPasswordLen is the password policy's minimum, for hints.
	MinPasswordLen int
	// Data is the page's own content.
	Data any
}

// Value is a submitted form value, for the form shown again.
func (p *uiPage) Value(name string) string { return p.Form.Get(name) }

// uiNotices are the confirmations a redirect after a POST can ask for with
// ?notice=; a fixed table, so no text of the query reaches the page.
var uiNotices = map[string]string{
	"signed-up":        "Your account is ready: sign in. If you gave an email address, a mail with a code to confirm it is on its way.",
	"signed-out":       "You are signed out.",
	"reset-sent":       resetAccepted.Detail,
	"code-sent":        signInCodeAccepted.Detail,
	"password-reset":   "Your new password is set, and every session of the account was signed out. Sign in with it.",
	"password-changed": "Your password is changed. Every other session was signed out.",
	"profile-saved":    "Your profile is saved.",
	"verification-sent": "A mail with a confirmation code is on its way to your address. " +
		"The code works for 24 hours.",
	"email-verified":        "Your email address is verified.",
	"session-revoked":       "That session is signed out.",
	"sessions-revoked":      "Every other session is signed out.",
	"user-saved":            "The user is saved.",
	"user-sessions-revoked": "Every session of the user is signed out.",
	"user-deleted":          "The user is deleted.",
	"user-mfa-reset":        "Every second factor of the user is removed and every session signed out; the user was mailed.",
	"step-up": "Confirm it is you: enter a code from your authenticator app, or a recovery code, " +
		"then do what you were doing again.",
	"mfa-off":         "The authenticator is removed.",
	"passkey-added":   "The passkey is added: use it to sign in, or as your second factor.",
	"passkey-renamed": "The passkey is renamed.",
	"passkey-removed": "The passkey is removed.",
}

// page starts the data of a page: the signed-in user, if the route has one,
// and the notice the query asks for.
func (s *Server) page(r *http.Request, title string) *uiPage {
	p := &uiPage{Title: title, Path: r.URL.Path, Fields: map[string]string{}, Form: url.Values{},
		Notice: uiNotices[r.URL.Query().Get("notice")], MinPasswordLen: s.accounts.Policy.MinLen}
	if a := info(r).auth; a != nil {
		p.User = &a.user
	}
	return p
}

// render writes the named page with status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *uiPage) {
	var buf bytes.Buffer
	if err := uiTemplates[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		// Not writeError: its error page is rendered here too.
		s.log.ErrorContext(r.Context(), "render page", slog.String("page", name), slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// redirect sends the browser on to target after a POST, with a notice.
func redirect(w http.ResponseWriter, r *http.Request, target, notice string) {
	if notice != "" {
		target += "?notice=" + notice
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// redirectTo answers every request with a redirect to target.
func redirectTo(target string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, http.StatusSeeOther) }
}

// uiMessage is what the console says for a problem code, and which form
// field it concerns ("" for the form as a whole).
type uiMessage struct {
	field, text string
}

// uiMessages turn the API's problem codes into the console's sentences. A
// field message follows the field's label ("Current password is wrong.").
// Codes not listed show the problem's detail.
var uiMessages = map[string]uiMessage{
	"invalid_credentials": {"", "The username or password is wrong, or the account is disabled."},
	"login_throttled":     {"", "Too many failed attempts for this account from your network."},
	"wrong_password":      {"current_password", "is wrong"},
	"invalid_token":       {"token", "is invalid, expired or already used"},
	"email_unverified": {"", "Your email address is not verified yet. Enter the code from the mail we sent " +
		"(on the Verify email page), or reset your password, which verifies it too."},
	"email_already_verified": {"", "Your email address is verified already."},
	"no_email":               {"email", "is needed first: add an address to your profile"},
	"rate_limited":           {"", "Too many requests from your network. Wait a while and try again."},
	"overloaded":             {"", "The server is busy. Try again in a moment."},
	"last_admin":             {"", "This is the last active admin: make another user an admin first."},
	"not_found":              {"", "There is no such page, user or session (any more)."},
	"forbidden":              {"", "This page is for admins only."},
	"cross_origin":           {"", "The form was sent from another site, so it was refused. Reload the page and try again."},
	"too_large":              {"", "The form is too large."},
	"internal":               {"", "Something went wrong on the server. Try again later."},
	"invalid_code":           {"code", "is wrong, expired or already used"},
	"mfa_required":           {"", "Admins must turn on two-factor authentication first: see Sign-in security."},
	"mfa_unavailable":        {"", "Two-factor authentication is not set up on this server: ask its operator."},
	"passkey_refused":        {"", "The passkey was not accepted. Try again, or sign in with your password."},
}

// describe is the sentence for p, with when to try again if p says.
func describe(p Problem, h http.Header) string {
	text := p.Detail
	if m, ok := uiMessages[p.Code]; ok && m.field == "" {
		text = m.text
	}
	switch secs, _ := strconv.Atoi(h.Get("Retry-After")); {
	case secs >= 120:
		text += fmt.Sprintf(" Try again in %d minutes.", (secs+59)/60)
	case secs > 1:
		text += fmt.Sprintf(" Try again in %d seconds.", secs)
	}
	return text
}

// uiError answers a console request the way writeError answers an API one: a
// missing or dead session goes to the sign-in page (back here afterwards),
// anything else gets the error page with the problem's status.
func (s *Server) uiError(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Code == "step_up_required" {
		// The security page asks for the second factor, then comes back.
		next := "/ui/account"
		if r.Method == http.MethodGet {
			next = r.URL.RequestURI()
		}
		http.Redirect(w, r, "/ui/account/security?notice=step-up&next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	if p.Status == http.StatusUnauthorized {
		clearSessionCookie(w)
		target := "/ui/sign-in"
		if r.Method == http.MethodGet {
			target += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	page := s.page(r, http.StatusText(p.Status))
	page.Error = describe(p, w.Header())
	s.render(w, r, p.Status, "error.html", page)
}

// uiFail shows the form page name again with err: field errors beside their
// fields, anything else above the form. A server fault gets the error page.
func (s *Server) uiFail(w http.ResponseWriter, r *http.Request, name string, page *uiPage, err error) {
	p, ok := s.prepareError(w, r, err)
	if !ok {
		return
	}
	if p.Status == http.StatusInternalServerError {
		s.uiError(w, r, p)
		return
	}
	input := func(field string) string {
		if a, ok := page.Aliases[field]; ok {
			return a
		}
		return field
	}
	for _, fe := range p.Errors {
		page.Fields[input(fe.Field)] = fe.Message
	}
	if m, ok := uiMessages[p.Code]; ok && m.field != "" {
		page.Fields[input(m.field)] = m.text
	} else if len(p.Errors) == 0 {
		page.Error = describe(p, w.Header())
	}
	if page.Error == "" {
		page.Error = "Please correct what is marked below."
	}
	s.render(w, r, p.Status, name, page)
}

// uiField is one labelled input of a form, for the "field" template.
type uiField struct {
	Name, Type, Label, Autocomplete string
	Value, Error, Hint              string
	Required                        bool
}

// newUIField describes input name of page's form: its type, label and
// autocomplete token, with the value and error the page holds for it.
func newUIField(p *uiPage, name, typ, label, autocomplete string) uiField {
	f := uiField{Name: name, Type: typ, Label: label, Autocomplete: autocomplete, Error: p.Fields[name]}
	if typ != "password" {
		f.Value = p.Value(name)
	}
	return f
}

// Req marks the field required.
func (f uiField) Req() uiField { f.Required = true; return f }

// WithHint adds a line of help under the label.
func (f uiField) WithHint(hint string) uiField { f.Hint = hint; return f }

// uiTime shows a time in UTC to the minute.
func uiTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// device names the browser and system a User-Agent header describes, such
// as "Firefox on Windows", for the list of sessions.
func device(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	browser := "Unknown browser"
	for _, b := range [][2]string{{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"},
		{"HeadlessChrome/", "Headless Chrome"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"}} {
		if has(b[0]) {
			browser = b[1]
			break
		}
	}
	for _, o := range [][2]string{{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"}} {
		if has(o[0]) {
			return browser + " on " + o[1]
		}
	}
	return browser
}

// handleUIStatic serves the console's style sheet: files only, so a
// directory path is the console's 404, not a listing.
func (s *Server) handleUIStatic() http.Handler {
	static, err := fs.Sub(ui.FS, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/ui/static/", http.FileServerFS(static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/ui/static/")
		if st, err := fs.Stat(static, name); err != nil || st.IsDir() {
			s.handleNotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}
