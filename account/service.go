package account

import (
	"context"
	"database/sql"
	"errors"
	"github.com/go-webauthn/webauthn/webauthn"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/httprate"

	"roster/db"
)

// Session lifetimes and the granularity of last_seen_at writes.
const (
	DefaultSessionTTL = 30 * 24 * time.Hour
	DefaultIdleTTL    = 7 * 24 * time.Hour
	touchInterval     = time.Minute
)

// Service runs the account operations that take more than one step (validate,
// hash outside any transaction, write), so the HTTP API and the CLI share one
// implementation of each rule. Plain reads go straight to Store.Read.
type Service struct {
	Store      *db.Store
	Hasher     *Hasher
	Policy     Policy
	SessionTTL time.Duration // absolute lifetime of a session
	IdleTTL    time.Duration // a session unused this long is dead
	Now        func() time.Time
	Mail       MailSettings
	// RequireVerifiedEmail makes sign-up require an email address and login
	// refuse, with ErrEmailUnverified, an account whose address is not
	// verified (or that has none).
	RequireVerifiedEmail bool
	// MFAKeys seal TOTP secrets; nil leaves second factors unavailable
	// (ErrMFAUnavailable).
	MFAKeys *MFAKeys
	// StepUpWindow is how recent a session's second-factor check must be
	// for a sensitive change; 0 means DefaultStepUpWindow.
	StepUpWindow time.Duration
	// WebAuthn is the relying party for passkeys (NewWebAuthn); nil leaves
	// passkeys unavailable (ErrPasskeysUnavailable).
	WebAuthn *webauthn.WebAuthn
}

func (s *Service) now() time.Time { return db.Now(s.Now()) }

// NewUser is the input of CreateUser, as the client sent it.
type NewUser struct {
	Username string
	Email    string
	Password string
	Role     string // RoleUser when empty
}

// CreateUser validates the input, hashes the password and stores the account
// with its audit record and, when it has an email address, a verification
// mail. It returns a *ValidationError listing every refused field, or a
// *ConflictError naming the taken username or email, or saying that the
// username looks like an existing account's.
func (s *Service) CreateUser(ctx context.Context, actor Actor, in NewUser) (db.User, error) {
	var errs fieldErrors
	id := s.checkIdentity(&errs, in.Username, in.Email, in.Role)
	password, err := s.Policy.ValidateNewPassword("password", in.Password, in.Username, id.email)
	errs.add(err)
	if err := errs.err(); err != nil {
		return db.User{}, err
	}

	hash, err := s.Hasher.Hash(ctx, password)
	if err != nil {
		return db.User{}, err
	}
	var user db.User
	err = s.mailTx(ctx, func(q db.Querier) error {
		var err error
		user, err = q.CreateUser(ctx, db.CreateUserParams{
			Username: id.username, UsernameKey: id.usernameKey, UsernameSkeleton: &id.usernameSkeleton,
			Email: id.email, EmailKey: id.emailKey, PasswordHash: hash, Role: id.role, CreatedAt: s.now(),
		})
		if err != nil {
			return err
		}
		if user.Email != nil {
			if err := s.sendVerification(ctx, q, user); err != nil {
				return err
			}
		}
		// A self sign-up's network counts as one the account logged in
		// from, so its owner gets in from there while the account is under
		// attack before ever having logged in (see throttle.go).
		if actor.ID == 0 && actor.IP != "" {
			if err := q.UpsertKnownLoginIP(ctx, db.UpsertKnownLoginIPParams{UserID: user.ID,
				Ip: httprate.CanonicalizeIP(actor.IP), LastLoginAt: user.CreatedAt}); err != nil {
				return err
			}
		}
		return s.audit(ctx, q, actor, user.ID, ActionUserCreate, "role="+user.Role)
	})
	if db.IsUniqueViolation(err) {
		return db.User{}, Conflict(ctx, s.Store.Write, id.usernameKey)
	}
	return user, err
}

// identity is what every new account has, checked by checkIdentity.
type identity struct {
	username, usernameKey string
	usernameSkeleton      string // what the name looks like: UsernameSkeleton of the key
	email, emailKey       *string
	role                  string
}

// checkIdentity applies the rules every new account passes, whether it
// signs up, an admin creates it or it is imported: the username, the email
// (required when verified email is), and the role, RoleUser when empty.
// Refused fields are added to errs.
func (s *Service) checkIdentity(errs *fieldErrors, username, email, role string) identity {
	id := identity{username: username, role: role}
	var err error
	id.usernameKey, err = Username(username)
	errs.add(err)
	id.usernameSkeleton = UsernameSkeleton(id.usernameKey)
	id.email, id.emailKey, err = Email(email)
	errs.add(err)
	if id.email == nil && err == nil && s.RequireVerifiedEmail {
		errs.add(invalid("validation", "email", "is required: accounts must verify an email address"))
	}
	if id.role == "" {
		id.role = RoleUser
	}
	if !ValidRole(id.role) {
		errs.add(invalid("validation", "role", "must be user or admin"))
	}
	return id
}

// Conflict returns the *ConflictError for a unique violation when writing an
// account with usernameKey (and its UsernameSkeleton) through q: the
// username if it is taken, else if it looks like another account's, else
// the email. An empty usernameKey means the write kept its username. Pass
// the transaction's Queries when the write was inside one.
func Conflict(ctx context.Context, q db.Querier, usernameKey string) error {
	if usernameKey != "" {
		taken, err := q.UsernameKeyExists(ctx, usernameKey)
		if err != nil {
			return err
		}
		if taken {
			return &ConflictError{Field: "username"}
		}
		lookalike, err := q.UsernameSkeletonExists(ctx, new(UsernameSkeleton(usernameKey)))
		if err != nil {
			return err
		}
		if lookalike {
			return &ConflictError{Field: "username", Lookalike: true}
		}
	}
	return &ConflictError{Field: "email"}
}

// LoginWithoutSession returns the account named by login (a username, or the
// account's email) if password is right and the account is active: Login
// without a session, for the tutorial's POST /login. It throttles, refuses,
// audits and requires a verified address exactly as Login does (see signIn).
func (s *Service) LoginWithoutSession(ctx context.Context, login, password, ip string) (db.User, error) {
	var mfa bool
	user, err := s.signIn(ctx, login, password, ClientInfo{IP: ip}, func(q db.Querier, user db.User) (string, error) {
		m, err := mfaStatus(ctx, q, user.ID)
		if mfa = m.Enabled(); mfa {
			return "no session: second factor required", err
		}
		return "no session", err
	})
	if err == nil && mfa {
		return db.User{}, ErrMFARequired
	}
	return user, err
}

// Reasons a login failed, kept in the audit log and never sent to the client.
const (
	reasonUnknownAccount = "unknown_account"
	reasonWrongPassword  = "wrong_password"
	reasonMalformedHash  = "malformed_hash"
	reasonDisabled       = "disabled"
	reasonUnverified     = "email_unverified"
	// reasonChanged: the password was right, but the account's password or
	// status changed, or the account was deleted, before the login committed.
	reasonChanged = "account_changed"
)

// signIn is the one path of a login by name and password (Login and
// LoginWithoutSession). After verifyLogin, one write transaction settles the
// throttled attempt (the password was right) and re-reads the account: unless
// its hash is still the one verified and it is still active, the login is
// refused with ErrBadCredentials, so a login cannot outlive a password
// change, reset, disable or delete that committed meanwhile (each revokes
// every session); with RequireVerifiedEmail an unverified address is
// ErrEmailUnverified. The settlement is committed even then; an account
// deleted meanwhile, or a client gone before the commit, leaves the attempt
// charged. Otherwise open, when not nil, runs in that transaction (Login mints
// its session there) and returns the detail of the login.success record ("no
// session" without open). Refused credentials are audited as login.failure
// with the reason; a throttled or unverifiable attempt is not audited.
// Settling here rather than in a transaction of its own saves each login a
// commit, and with it a wait for the disk. Whatever the outcome, an admitted
// attempt's answer thus follows a commit that waits for the disk (this
// transaction, the login.failure record, or throttledVerify's refund), which lets the
// throttle's charge skip that wait (attempt.flushedLater).
func (s *Service) signIn(ctx context.Context, login, password string, client ClientInfo,
	open func(q db.Querier, user db.User) (detail string, err error)) (db.User, error) {
	ip := client.IP
	actor := Actor{IP: ip}
	user, a, reason, err := s.verifyLogin(ctx, login, password, client)
	if err == nil {
		var refused error
		err = s.Store.Tx(ctx, func(q db.Querier) error {
			refused = nil // fn may run again (db.Engine.Tx)
			if err := s.settleIn(ctx, q, a, true); err != nil {
				return err
			}
			now, why, err := s.reconfirmAccount(ctx, q, user)
			if errors.Is(err, ErrBadCredentials) || errors.Is(err, ErrEmailUnverified) {
				reason, refused = why, err
				return nil
			}
			if err != nil {
				return err
			}
			user = now
			detail := "no session"
			if open != nil {
				if detail, err = open(q, user); err != nil {
					return err
				}
			}
			return s.audit(ctx, q, Actor{ID: user.ID, IP: ip}, user.ID, ActionLoginSuccess, detail)
		})
		if errors.Is(err, ErrBadCredentials) { // from settleIn: the account is gone
			reason = reasonChanged
		}
		if err == nil {
			err = refused
		}
	}
	if errors.Is(err, ErrBadCredentials) || errors.Is(err, ErrEmailUnverified) {
		// For a wrong password this is the flushed commit that makes the
		// throttle's unflushed charge durable (attempt.flushedLater): it must
		// stay a commit of its own, before the answer.
		if aerr := s.audit(ctx, s.Store.Write, actor, user.ID, ActionLoginFailure, reason); aerr != nil {
			return db.User{}, aerr
		}
	}
	if err != nil {
		return db.User{}, err
	}
	return user, nil
}

// reconfirmAccount runs in the transaction that completes a login of user,
// whose password was verified against user.PasswordHash: it returns the
// account as it is now, or why the login must be refused. The writer connection
// serializes transactions, so nothing can change the account between this
// read and the session written after it (no FOREIGN KEY failure either).
func (s *Service) reconfirmAccount(ctx context.Context, q db.Querier, user db.User) (db.User, string, error) {
	now, err := q.GetUser(ctx, user.ID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return user, reasonChanged, ErrBadCredentials
	case err != nil:
		return user, "", err
	case now.PasswordHash != user.PasswordHash || now.Status != StatusActive:
		return user, reasonChanged, ErrBadCredentials
	case s.RequireVerifiedEmail && now.EmailVerifiedAt == nil:
		// Said only after the right password, so it tells a guesser nothing.
		return user, reasonUnverified, ErrEmailUnverified
	}
	return now, "", nil
}

// verifyLogin checks password for the account named by login, throttled
// (see throttledVerify) and trusting the client's device token if it is one
// of the account's, and upgrades a matched outdated hash. On a match the
// attempt a is left for the caller to settle. On ErrBadCredentials it also
// says why, and user is the account named by login, if any.
func (s *Service) verifyLogin(ctx context.Context, login, password string, client ClientInfo) (user db.User, a attempt, reason string, err error) {
	pw, err := NormalizePassword("password", password)
	if err != nil {
		return db.User{}, a, "", err
	}
	user, loginKey, found, err := s.lookup(ctx, login)
	if err != nil {
		return db.User{}, a, "", err
	}
	a = newAttempt(loginKey, client.IP, user, found)
	// Looked up whether or not the account exists, so that presenting a
	// token costs the same either way (user.ID is 0 for none).
	if a.device, err = s.device(ctx, client.DeviceToken, user.ID); err != nil {
		return db.User{}, a, "", err
	}
	a.flushedLater = true // by signIn's transaction, its failure record or throttledVerify's refund
	ok, rehash, reason, err := s.throttledVerify(ctx, &a, user, found, pw)
	if err != nil {
		return db.User{}, a, "", err
	}
	if !ok {
		return user, a, reason, ErrBadCredentials
	}
	if rehash {
		s.rehash(ctx, &user, pw)
	}
	return user, a, "", nil
}

// throttledVerify is the one throttled password check, for logins and for
// confirming a signed-in user's own password: admit the attempt (or refuse
// it with a *ThrottledError before any hashing) and verify pw; ok, rehash and
// reason are verifyAccount's. A failed attempt is settled here; a match is the caller's to
// settle (settleIn or settle), in the transaction that acts on it.
func (s *Service) throttledVerify(ctx context.Context, a *attempt, user db.User, found bool, pw string) (ok, rehash bool, reason string, err error) {
	if err := s.admit(ctx, a); err != nil {
		return false, false, "", err
	}
	ok, rehash, reason, err = s.verifyAccount(ctx, user, found, pw)
	if ok {
		return true, rehash, "", nil
	}
	if serr := s.settle(ctx, *a, false, err); err != nil || serr != nil {
		return false, false, "", errors.Join(err, serr)
	}
	return false, false, reason, nil
}

// verifyAccount checks pw against the account's stored hash: ok means the
// right password for an active account; otherwise reason says why not. Every
// way of failing costs exactly one verify, and takes as long whatever the
// account's hash (see padFailure): an unknown account, or a stored hash
// roster cannot use, is verified against the dummy hash, and a disabled
// account's password is verified like any other. A disabled account with the
// right password counts as a failure for the throttle too, so its reset
// cannot reveal the password. An attempt refused before its computation
// (ErrHashBusy) is answered at once.
func (s *Service) verifyAccount(ctx context.Context, user db.User, found bool, pw string) (ok, rehash bool, reason string, err error) {
	var padUntil time.Time
	defer func() {
		if !ok && err == nil {
			s.Hasher.padFailure(ctx, padUntil)
		}
	}()
	if !found {
		padUntil, err = s.Hasher.spendDummyVerify(ctx, pw)
		return false, false, reasonUnknownAccount, err
	}
	ok, rehash, padUntil, err = s.Hasher.verifyTimed(ctx, user.PasswordHash, pw)
	switch {
	case errors.Is(err, ErrMalformedHash):
		padUntil, err = s.Hasher.spendDummyVerify(ctx, pw)
		return false, false, reasonMalformedHash, err
	case err != nil:
		return false, false, "", err
	case !ok:
		return false, false, reasonWrongPassword, nil
	case user.Status != StatusActive:
		return false, false, reasonDisabled, nil
	}
	return true, rehash, "", nil
}

// rehash replaces user's hash, just verified against pw, with one made with
// current parameters. It is best effort: a busy limiter or failed write
// leaves the old, still valid hash in place, and so does a password change
// that committed since user was read (the update is conditional on the old
// hash), which must never be undone.
func (s *Service) rehash(ctx context.Context, user *db.User, pw string) {
	hash, err := s.Hasher.Hash(ctx, pw)
	if err != nil {
		return
	}
	n, err := s.Store.Write.RehashUserPassword(ctx, db.RehashUserPasswordParams{
		PasswordHash: hash, UpdatedAt: s.now(), ID: user.ID, OldHash: user.PasswordHash,
	})
	if err == nil && n == 1 {
		user.PasswordHash = hash
	}
}

// lookup finds the account a login names. loginKey is the login as typed,
// normalized, whether or not the account exists: "u:"+username_key or
// "e:"+email_key, or "invalid" for a login that is neither.
func (s *Service) lookup(ctx context.Context, login string) (user db.User, loginKey string, found bool, err error) {
	key, byEmail, ok := LoginKey(login)
	switch {
	case !ok:
		return db.User{}, "invalid", false, nil
	case byEmail:
		loginKey = "e:" + key
		user, err = s.Store.Read.GetUserByEmailKey(ctx, &key)
	default:
		loginKey = "u:" + key
		user, err = s.Store.Read.GetUserByUsernameKey(ctx, key)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return db.User{}, loginKey, false, nil
	}
	if err != nil {
		return db.User{}, "", false, err
	}
	return user, loginKey, true, nil
}

// ClientInfo describes where a login came from; it is stored with the
// session, except for DeviceToken: the device token the client holds from an
// earlier login, if any (see device.go).
type ClientInfo struct {
	UserAgent   string
	IP          string
	DeviceToken string
}

// LoginResult is a successful login: the new session's token (shown this
// once; only its hash is stored) and the client's device token, the one it
// presented if that is still the account's, else a new one.
type LoginResult struct {
	Token       string
	Session     db.Session
	User        db.User
	DeviceToken string
	// MFA, for an account with a second factor, is the challenge that
	// CompleteMFALogin finishes; Token, Session and DeviceToken are then
	// empty: there is no session yet.
	MFA *MFAChallenge
}

// maxUserAgentLen bounds what a client can make roster store per session.
const maxUserAgentLen = 512

// storedUserAgent is ua as a session keeps it: valid UTF-8 (each run of
// invalid bytes becomes U+FFFD) of at most maxUserAgentLen bytes, cut at a
// character boundary.
func storedUserAgent(ua string) string {
	ua = strings.ToValidUTF8(ua, "\uFFFD")
	if len(ua) <= maxUserAgentLen {
		return ua
	}
	n := maxUserAgentLen
	for !utf8.RuneStart(ua[n]) {
		n--
	}
	return ua[:n]
}

// Login checks the password and mints a new session (see LoginDevice).
func (s *Service) Login(ctx context.Context, login, password string, client ClientInfo) (token string, session db.Session, user db.User, err error) {
	res, err := s.LoginDevice(ctx, login, password, client)
	return res.Token, res.Session, res.User, err
}

// LoginDevice checks the password and mints a new session and, in the same
// transaction, the client's device token (see signIn and issueDevice).
// Success and refused credentials are both audited, the latter with the
// reason.
func (s *Service) LoginDevice(ctx context.Context, login, password string, client ClientInfo) (LoginResult, error) {
	token, hash := NewToken()
	ua := storedUserAgent(client.UserAgent)
	res := LoginResult{Token: token}
	user, err := s.signIn(ctx, login, password, client, func(q db.Querier, user db.User) (string, error) {
		res.MFA = nil // fn may run again (db.Engine.Tx)
		m, err := mfaStatus(ctx, q, user.ID)
		if err != nil {
			return "", err
		}
		if m.Enabled() {
			res.MFA, err = s.mfaChallenge(ctx, q, user, m)
			return "second factor required", err
		}
		now := s.now()
		if res.DeviceToken, err = s.issueDevice(ctx, q, user.ID, client.DeviceToken); err != nil {
			return "", err
		}
		res.Session = db.Session{TokenHash: hash, ID: newSessionID(), UserID: user.ID, CreatedAt: now,
			ExpiresAt: now.Add(s.SessionTTL), LastSeenAt: now, UserAgent: ua, Ip: client.IP,
			Aal: AAL1, Methods: MethodPassword}
		return "session " + res.Session.ID, q.CreateSession(ctx, db.CreateSessionParams{
			TokenHash: hash, ID: res.Session.ID, UserID: user.ID, CreatedAt: now, ExpiresAt: res.Session.ExpiresAt,
			UserAgent: ua, Ip: client.IP, Aal: AAL1, Methods: MethodPassword,
		})
	})
	if err != nil {
		return LoginResult{}, err
	}
	res.User = user
	if res.MFA != nil {
		res.Token = ""
	}
	return res, nil
}

// Authenticate resolves a bearer token to its live session and active
// account, or ErrUnauthenticated. It records activity at most once a minute
// per session. Refusing disabled accounts here makes disabling take effect on
// the very next request, even for a session minted while it was being disabled.
func (s *Service) Authenticate(ctx context.Context, token string) (db.Session, db.User, error) {
	if !ValidToken(token) {
		return db.Session{}, db.User{}, ErrUnauthenticated
	}
	row, err := s.Store.SessionWithUser(ctx, HashToken(token))
	if errors.Is(err, sql.ErrNoRows) {
		return db.Session{}, db.User{}, ErrUnauthenticated
	}
	if err != nil {
		return db.Session{}, db.User{}, err
	}
	sess, now := row.Session, s.now()
	if row.User.Status != StatusActive || !now.Before(sess.ExpiresAt) || !now.Before(sess.LastSeenAt.Add(s.IdleTTL)) {
		return db.Session{}, db.User{}, ErrUnauthenticated
	}
	if now.Sub(sess.LastSeenAt) >= touchInterval {
		// Unflushed: a touch lost to power failure only ages the session,
		// so it can never outlive its idle lifetime because of the loss.
		if err := s.Store.TxNoSync(ctx, func(q db.Querier) error {
			return q.TouchSession(ctx, db.TouchSessionParams{LastSeenAt: now, TokenHash: sess.TokenHash})
		}); err != nil {
			return db.Session{}, db.User{}, err
		}
		sess.LastSeenAt = now
	}
	return sess, row.User, nil
}

// Logout deletes one session and audits it.
func (s *Service) Logout(ctx context.Context, actor Actor, session db.Session) error {
	return s.Store.Tx(ctx, func(q db.Querier) error {
		if _, err := q.DeleteSession(ctx, session.TokenHash); err != nil {
			return err
		}
		return s.audit(ctx, q, actor, session.UserID, ActionLogout, "session "+session.ID)
	})
}
