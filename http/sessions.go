package http

import (
	"net/http"
	"time"

	"roster/account"
)

// LoginRequest is the body of POST /v1/sessions.
type LoginRequest struct {
	// Username is the account's username or its email address.
	Username string `json:"username"`
	Password string `json:"password"`
	// Cookie asks for the token in the session cookie instead of the body.
	Cookie bool `json:"cookie"`
	// DeviceToken is the device token an earlier login returned; without
	// it, the device cookie's is used (see account/device.go).
	DeviceToken string `json:"device_token,omitempty"`
}

// sessionCookie carries the token for browsers. The __Host- prefix makes the
// browser refuse it unless it is Secure, host-only and for Path=/.
const sessionCookie = "__Host-roster_session"

// deviceCookie carries a browser's device token. It is apart from the session
// cookie and outlives logout: it only vouches, at the next login, that this
// browser logged in to the account before. SameSite=Strict: only roster's own
// pages post logins.
const deviceCookie = "__Host-roster_device"

// Session is a new login: the token is shown this once. It is empty when the
// client asked for the cookie, so script on the page never sees it.
type Session struct {
	Token     string    `json:"token,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
	// DeviceToken is for the client to send with its later logins (see
	// LoginRequest); empty when it went into the device cookie.
	DeviceToken string `json:"device_token,omitempty"`
}

// handleSessionCreate logs in: 201 with a new token and the client's device
// token, or one generic 401. With "cookie": true both go into cookies
// instead, and the request must pass CrossOriginProtection (no login CSRF).
func (s *Server) handleSessionCreate(w http.ResponseWriter, r *http.Request) {
	req, err := decode[LoginRequest](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Cookie {
		if err := s.csrf.Check(r); err != nil {
			s.writeError(w, r, errCrossOrigin)
			return
		}
	}
	device := req.DeviceToken
	if device == "" {
		device = deviceToken(r)
	}
	login, err := s.accounts.LoginDevice(r.Context(), req.Username, req.Password,
		account.ClientInfo{UserAgent: r.UserAgent(), IP: clientIP(r), DeviceToken: device})
	s.metrics.logins.WithLabelValues(outcome(err)).Inc()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if login.MFA != nil {
		encode(w, http.StatusOK, MFARequired{MFARequired: true, MFAToken: login.MFA.Token,
			Methods: login.MFA.Methods, ExpiresAt: login.MFA.ExpiresAt})
		return
	}
	s.writeLogin(w, login, req.Cookie)
}

// writeLogin answers a finished login: 201 with the session token and the
// client's device token, or, with cookie, both in cookies instead.
func (s *Server) writeLogin(w http.ResponseWriter, login account.LoginResult, cookie bool) {
	res := Session{Token: login.Token, ExpiresAt: login.Session.ExpiresAt, User: newUser(login.User),
		DeviceToken: login.DeviceToken}
	if cookie {
		setSessionCookie(w, login.Token, login.Session.ExpiresAt)
		setDeviceCookie(w, login.DeviceToken)
		res.Token, res.DeviceToken = "", ""
	}
	encode(w, http.StatusCreated, res)
}

// handleSessionDeleteCurrent logs out the session making the request and
// clears the session cookie.
func (s *Server) handleSessionDeleteCurrent(w http.ResponseWriter, r *http.Request) {
	if err := s.accounts.Logout(r.Context(), actor(r), auth(r).session); err != nil {
		s.writeError(w, r, err)
		return
	}
	clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

// setSessionCookie hands a browser its session token, out of reach of script.
func setSessionCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", Expires: expires,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// clearSessionCookie makes the browser forget its session token.
func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// deviceToken is the device cookie's token, or "".
func deviceToken(r *http.Request) string {
	c, err := r.Cookie(deviceCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// setDeviceCookie hands a browser its device token for as long as it is
// valid unused, out of reach of script.
func setDeviceCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: deviceCookie, Value: token, Path: "/", MaxAge: int(account.DeviceTTL / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// signInCodeAccepted is the one answer to every well-formed sign-in code
// request, the same bytes whether or not the account exists.
var signInCodeAccepted = Accepted{Status: "accepted", Detail: "If an account with that name or address exists and has " +
	"an email address, a message with a sign-in code is on its way. Log in with your password and the code as " +
	"device_token within 15 minutes; the code works for one login."}

// SignInCodeRequest is the body of POST /v1/sessions/codes: exactly one of
// email and username.
type SignInCodeRequest struct {
	Email    string `json:"email,omitempty"`
	Username string `json:"username,omitempty"`
}

// handleSignInCodeCreate queues a sign-in code mail for an owner whose new
// device has no device token (see account.Service.SendSignInCode): 202 with
// signInCodeAccepted, whether or not the account exists. It shares the reset
// queue, its per-account mail limit and the per-IP mail rate.
func (s *Server) handleSignInCodeCreate(w http.ResponseWriter, r *http.Request) {
	req, err := decode[SignInCodeRequest](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	field, login := "email", req.Email
	if req.Username != "" {
		field, login = "username", req.Username
	}
	switch {
	case (req.Email == "") == (req.Username == ""):
		s.writeError(w, r, resetLoginInvalid("email", "give exactly one of email and username"))
	case len(login) > account.MaxEmailLen*4:
		s.writeError(w, r, resetLoginInvalid(field, "must be a username or an email address"))
	case s.limitTarget(w, r, "signin", login):
	default:
		if err := s.cfg.Resets.SubmitSignInCode(r.Context(), login, account.Actor{IP: clientIP(r)}); err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusAccepted, signInCodeAccepted)
	}
}
