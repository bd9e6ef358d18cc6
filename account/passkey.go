package account

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"roster/db"
)

// Passkeys (WebAuthn, through github.com/go-webauthn/webauthn). An account
// registers several, discoverable ones; each is a second factor (MFA is on
// while the account has one) and signs in alone, without a username, with
// an aal2 session when the authenticator verified the user. Every ceremony
// keeps the library's session data in the database (webauthn_ceremonies),
// so that any replica finishes what another began; the client holds only
// the ceremony's id, which is taken once.

// Kinds of ceremony.
const (
	ceremonyRegister = "register"
	ceremonyLogin    = "login"  // a passkey alone
	ceremonyMFA      = "mfa"    // a login's second step
	ceremonyStepUp   = "stepup" // a signed-in session's step-up
	// ceremonyTTL bounds a ceremony: the browser asks the user, who may
	// take a moment.
	ceremonyTTL = 5 * time.Minute
	// MethodPasskey is how a session signed in with a passkey.
	MethodPasskey = "passkey"
	// MaxPasskeyName bounds a passkey's name.
	MaxPasskeyName = 64
)

// ceremonyPrefix marks a ceremony id.
const ceremonyPrefix = "rwa_"

var (
	// ErrPasskeysUnavailable means the server has no WebAuthn relying party
	// (see NewWebAuthn).
	ErrPasskeysUnavailable = errors.New("passkeys are not configured on this server")
	// ErrPasskeyRefused is the one answer for a ceremony that did not verify:
	// an unknown, expired or reused ceremony, an unknown credential, a
	// signature or origin that does not check out.
	ErrPasskeyRefused = errors.New("the passkey was not accepted")
)

// NewWebAuthn is the relying party for publicURL, the address the console
// and the API are reached at: its host is the relying party id, its origin
// the one origin accepted. WebAuthn refuses IP addresses; "localhost" works
// over http.
func NewWebAuthn(publicURL string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("account: passkeys need -public-url as an http(s) URL: %q", publicURL)
	}
	return webauthn.New(&webauthn.Config{RPID: u.Hostname(), RPDisplayName: "Roster",
		RPOrigins: []string{u.Scheme + "://" + u.Host}})
}

// Passkey is one registered passkey, as its owner sees it.
type Passkey struct {
	ID         string // base64url of the credential id
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

func newPasskey(c db.WebauthnCredential) Passkey {
	return Passkey{ID: base64.RawURLEncoding.EncodeToString(c.CredentialID), Name: c.Name,
		CreatedAt: c.CreatedAt, LastUsedAt: c.LastUsedAt}
}

// waUser is an account as the library sees it.
type waUser struct {
	id     int64
	handle []byte
	name   string
	creds  []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.handle }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.name }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func (s *Service) relyingParty() (*webauthn.WebAuthn, error) {
	if s.WebAuthn == nil {
		return nil, ErrPasskeysUnavailable
	}
	return s.WebAuthn, nil
}

// loadWAUser reads an account's handle (making one when create) and
// passkeys.
func loadWAUser(ctx context.Context, q db.Querier, user db.User, create bool) (*waUser, error) {
	u := &waUser{id: user.ID, name: user.Username}
	handle, err := q.GetWebAuthnHandle(ctx, user.ID)
	if errors.Is(err, sql.ErrNoRows) && create {
		handle = randomBytes(32)
		if err = q.CreateWebAuthnHandle(ctx, db.CreateWebAuthnHandleParams{UserID: user.ID, Handle: handle}); err == nil {
			handle, err = q.GetWebAuthnHandle(ctx, user.ID) // a concurrent request's, if it won
		}
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	u.handle = handle
	rows, err := q.ListPasskeys(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		var c webauthn.Credential
		if err := json.Unmarshal([]byte(r.Credential), &c); err != nil {
			return nil, fmt.Errorf("passkey record: %w", err)
		}
		u.creds = append(u.creds, c)
	}
	return u, nil
}

// beginCeremony stores a ceremony's session data and returns its id.
func (s *Service) beginCeremony(ctx context.Context, kind string, userID int64, session *webauthn.SessionData) (string, error) {
	raw, err := json.Marshal(session)
	if err != nil {
		return "", err
	}
	token, hash := newToken(ceremonyPrefix)
	var uid *int64
	if userID != 0 {
		uid = &userID
	}
	return token, s.Store.Write.CreateCeremony(ctx, db.CreateCeremonyParams{TokenHash: hash, UserID: uid, Kind: kind,
		Session: string(raw), ExpiresAt: s.now().Add(ceremonyTTL)})
}

// takeCeremony ends a ceremony of kind, begun for userID (0: for nobody in
// particular), and returns its session data.
func (s *Service) takeCeremony(ctx context.Context, id, kind string, userID int64) (webauthn.SessionData, error) {
	var session webauthn.SessionData
	if !validToken(id, ceremonyPrefix) {
		return session, ErrPasskeyRefused
	}
	c, err := s.Store.Write.TakeCeremony(ctx, db.TakeCeremonyParams{TokenHash: HashToken(id), Kind: kind, Now: s.now()})
	if errors.Is(err, sql.ErrNoRows) {
		return session, ErrPasskeyRefused
	}
	if err != nil {
		return session, err
	}
	if (c.UserID == nil) != (userID == 0) || c.UserID != nil && *c.UserID != userID {
		return session, ErrPasskeyRefused
	}
	return session, json.Unmarshal([]byte(c.Session), &session)
}

// PasskeyCeremony is a begun ceremony: its id, to send back with the
// browser's answer, and the options for navigator.credentials (the
// library's JSON: {"publicKey": …}).
type PasskeyCeremony struct {
	ID      string
	Options any
}

// BeginPasskeyRegistration checks the account's password and starts adding
// a passkey: a discoverable credential, user verification preferred, none
// of the account's passkeys again.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, actor Actor, user db.User, password string) (PasskeyCeremony, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if err := s.CheckOwnPassword(ctx, user, actor.IP, "current_password", password); err != nil {
		return PasskeyCeremony{}, err
	}
	u, err := loadWAUser(ctx, s.Store.Write, user, true)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range u.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, session, err := rp.BeginRegistration(u,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationPreferred}),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return PasskeyCeremony{}, err
	}
	id, err := s.beginCeremony(ctx, ceremonyRegister, user.ID, session)
	return PasskeyCeremony{ID: id, Options: creation}, err
}

// FinishPasskeyRegistration checks the browser's answer (the
// PublicKeyCredential as JSON) and stores the passkey under name. The
// account's first factor of any kind turns MFA on, so session becomes aal2
// (it just proved the passkey), and the account is mailed.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, actor Actor, session db.Session, user db.User,
	ceremony, name string, credential []byte) (Passkey, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return Passkey{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey"
	}
	if len(name) > MaxPasskeyName {
		return Passkey{}, invalid("validation", "name", fmt.Sprintf("must be at most %d bytes", MaxPasskeyName))
	}
	data, err := s.takeCeremony(ctx, ceremony, ceremonyRegister, user.ID)
	if err != nil {
		return Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return Passkey{}, ErrPasskeyRefused
	}
	u, err := loadWAUser(ctx, s.Store.Read, user, false)
	if err != nil {
		return Passkey{}, err
	}
	cred, err := rp.CreateCredential(u, data, parsed)
	if err != nil {
		return Passkey{}, ErrPasskeyRefused
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return Passkey{}, err
	}
	now := s.now()
	row := db.WebauthnCredential{CredentialID: cred.ID, UserID: user.ID, Name: name, Credential: string(raw), CreatedAt: now}
	err = s.mailTx(ctx, func(q db.Querier) error {
		if err := q.CreatePasskey(ctx, db.CreatePasskeyParams{CredentialID: cred.ID, UserID: user.ID, Name: name,
			Credential: string(raw), CreatedAt: now}); err != nil {
			if db.IsUniqueViolation(err) {
				return ErrPasskeyRefused
			}
			return err
		}
		if err := s.markSessionMFA(ctx, q, session, MethodPasskey); err != nil {
			return err
		}
		if err := s.audit(ctx, q, actor, user.ID, ActionMFAEnable, "passkey "+name); err != nil {
			return err
		}
		return s.mailFactorChange(ctx, q, user, fmt.Sprintf("A passkey named %q was added to your account", name))
	})
	return newPasskey(row), err
}

// Passkeys lists the account's passkeys.
func (s *Service) Passkeys(ctx context.Context, userID int64) ([]Passkey, error) {
	rows, err := s.Store.Read.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]Passkey, len(rows))
	for i, r := range rows {
		out[i] = newPasskey(r)
	}
	return out, nil
}

func passkeyID(id string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) == 0 {
		return nil, ErrNotFound
	}
	return b, nil
}

// RenamePasskey names one of the account's passkeys.
func (s *Service) RenamePasskey(ctx context.Context, userID int64, id, name string) error {
	cid, err := passkeyID(id)
	if err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxPasskeyName {
		return invalid("validation", "name", fmt.Sprintf("must be 1 to %d bytes", MaxPasskeyName))
	}
	n, err := s.Store.Write.RenamePasskey(ctx, db.RenamePasskeyParams{Name: name, UserID: userID, CredentialID: cid})
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// DeletePasskey removes one of the account's passkeys; the caller checks
// step-up first.
func (s *Service) DeletePasskey(ctx context.Context, actor Actor, user db.User, id string) error {
	cid, err := passkeyID(id)
	if err != nil {
		return err
	}
	return s.mailTx(ctx, func(q db.Querier) error {
		row, err := q.GetPasskey(ctx, cid)
		if errors.Is(err, sql.ErrNoRows) || err == nil && row.UserID != user.ID {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := q.DeletePasskey(ctx, db.DeletePasskeyParams{UserID: user.ID, CredentialID: cid}); err != nil {
			return err
		}
		if err := s.audit(ctx, q, actor, user.ID, ActionMFADisable, "passkey "+row.Name); err != nil {
			return err
		}
		return s.mailFactorChange(ctx, q, user, fmt.Sprintf("The passkey named %q was removed from your account", row.Name))
	})
}

// BeginPasskeyLogin starts a sign-in with a passkey alone: no username, the
// authenticator offers the account's discoverable credential.
func (s *Service) BeginPasskeyLogin(ctx context.Context) (PasskeyCeremony, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	assertion, session, err := rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return PasskeyCeremony{}, err
	}
	id, err := s.beginCeremony(ctx, ceremonyLogin, 0, session)
	return PasskeyCeremony{ID: id, Options: assertion}, err
}

// FinishPasskeyLogin checks a passkey sign-in and opens a session: aal2
// when the authenticator verified the user (a PIN or biometrics), aal1 when
// it only saw someone present. A disabled or deleted account, or one that
// must verify its address first, is refused as a password login would be.
func (s *Service) FinishPasskeyLogin(ctx context.Context, ceremony string, credential []byte, client ClientInfo) (LoginResult, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return LoginResult{}, err
	}
	data, err := s.takeCeremony(ctx, ceremony, ceremonyLogin, 0)
	if err != nil {
		return LoginResult{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return LoginResult{}, ErrPasskeyRefused
	}
	var account db.User
	handler := func(_, handle []byte) (webauthn.User, error) {
		id, err := s.Store.Read.GetUserIDByWebAuthnHandle(ctx, handle)
		if err != nil {
			return nil, ErrPasskeyRefused
		}
		if account, err = s.Store.Read.GetUser(ctx, id); err != nil {
			return nil, ErrPasskeyRefused
		}
		return loadWAUser(ctx, s.Store.Read, account, false)
	}
	_, cred, err := rp.ValidatePasskeyLogin(handler, data, parsed)
	if err != nil {
		return LoginResult{}, ErrPasskeyRefused
	}
	aal, verified := AAL1, parsed.Response.AuthenticatorData.Flags.HasUserVerified()
	if verified {
		aal = AAL2
	}
	return s.passkeySession(ctx, account, cred, aal, client, nil)
}

// BeginMFAPasskey starts the passkey second step of a login challenge.
func (s *Service) BeginMFAPasskey(ctx context.Context, mfaToken string) (PasskeyCeremony, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	c, err := s.liveChallenge(ctx, mfaToken)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	user, err := getUser(ctx, s.Store.Read, c.UserID)
	if err != nil {
		return PasskeyCeremony{}, ErrInvalidToken
	}
	u, err := loadWAUser(ctx, s.Store.Read, user, false)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if len(u.creds) == 0 {
		return PasskeyCeremony{}, ErrPasskeyRefused
	}
	assertion, session, err := rp.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return PasskeyCeremony{}, err
	}
	id, err := s.beginCeremony(ctx, ceremonyMFA, user.ID, session)
	return PasskeyCeremony{ID: id, Options: assertion}, err
}

// FinishMFAPasskey is CompleteMFALogin with a passkey.
func (s *Service) FinishMFAPasskey(ctx context.Context, mfaToken, ceremony string, credential []byte, client ClientInfo) (LoginResult, error) {
	if !validToken(mfaToken, MFATokenPrefix) {
		return LoginResult{}, ErrInvalidToken
	}
	hash := HashToken(mfaToken)
	c, err := s.Store.Write.SpendMFAChallengeAttempt(ctx, db.SpendMFAChallengeAttemptParams{
		TokenHash: hash, Now: s.now(), MaxAttempts: mfaChallengeAttempts})
	if errors.Is(err, sql.ErrNoRows) {
		return LoginResult{}, ErrInvalidToken
	}
	if err != nil {
		return LoginResult{}, err
	}
	user, cred, err := s.checkUserPasskey(ctx, ceremony, ceremonyMFA, c.UserID, credential)
	if err != nil {
		return LoginResult{}, err
	}
	if user.PasswordHash != c.PasswordHash {
		return LoginResult{}, ErrBadCredentials
	}
	return s.passkeySession(ctx, user, cred, AAL2, client, hash)
}

// BeginStepUpPasskey starts a step-up with one of the account's passkeys.
func (s *Service) BeginStepUpPasskey(ctx context.Context, user db.User) (PasskeyCeremony, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	u, err := loadWAUser(ctx, s.Store.Read, user, false)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if len(u.creds) == 0 {
		return PasskeyCeremony{}, ErrPasskeyRefused
	}
	assertion, session, err := rp.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return PasskeyCeremony{}, err
	}
	id, err := s.beginCeremony(ctx, ceremonyStepUp, user.ID, session)
	return PasskeyCeremony{ID: id, Options: assertion}, err
}

// FinishStepUpPasskey proves a passkey on session, as StepUp does a code.
func (s *Service) FinishStepUpPasskey(ctx context.Context, actor Actor, session db.Session, user db.User, ceremony string, credential []byte) error {
	_, cred, err := s.checkUserPasskey(ctx, ceremony, ceremonyStepUp, user.ID, credential)
	if err != nil {
		return err
	}
	return s.Store.Tx(ctx, func(q db.Querier) error {
		if err := storeUse(ctx, q, user.ID, cred, s.now()); err != nil {
			return err
		}
		if err := s.markSessionMFA(ctx, q, session, MethodPasskey); err != nil {
			return err
		}
		return s.audit(ctx, q, actor, user.ID, ActionMFAVerify, MethodPasskey)
	})
}

// checkUserPasskey verifies an assertion by one of account userID's
// passkeys for a ceremony begun for that account.
func (s *Service) checkUserPasskey(ctx context.Context, ceremony, kind string, userID int64, credential []byte) (db.User, *webauthn.Credential, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return db.User{}, nil, err
	}
	data, err := s.takeCeremony(ctx, ceremony, kind, userID)
	if err != nil {
		return db.User{}, nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return db.User{}, nil, ErrPasskeyRefused
	}
	user, err := getUser(ctx, s.Store.Read, userID)
	if err != nil {
		return db.User{}, nil, ErrBadCredentials
	}
	u, err := loadWAUser(ctx, s.Store.Read, user, false)
	if err != nil {
		return db.User{}, nil, err
	}
	cred, err := rp.ValidateLogin(u, data, parsed)
	if err != nil {
		return db.User{}, nil, ErrPasskeyRefused
	}
	return user, cred, nil
}

// liveChallenge returns a login challenge that can still be answered,
// without spending an attempt.
func (s *Service) liveChallenge(ctx context.Context, mfaToken string) (db.MfaChallenge, error) {
	if !validToken(mfaToken, MFATokenPrefix) {
		return db.MfaChallenge{}, ErrInvalidToken
	}
	c, err := s.Store.Read.GetMFAChallenge(ctx, HashToken(mfaToken))
	if errors.Is(err, sql.ErrNoRows) || err == nil && (!s.now().Before(c.ExpiresAt) || c.Attempts >= mfaChallengeAttempts) {
		return db.MfaChallenge{}, ErrInvalidToken
	}
	return c, err
}

// storeUse records a passkey's use: its new sign count and flags.
func storeUse(ctx context.Context, q db.Querier, userID int64, cred *webauthn.Credential, now time.Time) error {
	raw, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	n, err := q.UsePasskey(ctx, db.UsePasskeyParams{Credential: string(raw), Now: &now, CredentialID: cred.ID, UserID: userID})
	if err == nil && n == 0 {
		return ErrPasskeyRefused // removed meanwhile
	}
	return err
}

// passkeySession opens the session of a passkey sign-in (the login's
// second step when challenge is its hash), re-reading the account in the
// transaction as a password login does.
func (s *Service) passkeySession(ctx context.Context, account db.User, cred *webauthn.Credential, aal string,
	client ClientInfo, challenge []byte) (LoginResult, error) {
	token, hash := NewToken()
	res := LoginResult{Token: token}
	ua := storedUserAgent(client.UserAgent)
	methods := MethodPasskey
	if challenge != nil {
		methods = MethodPassword + "," + MethodPasskey
	}
	err := s.Store.Tx(ctx, func(q db.Querier) error {
		if challenge != nil {
			n, err := q.DeleteMFAChallenge(ctx, challenge)
			if err != nil {
				return err
			}
			if n == 0 {
				return ErrInvalidToken
			}
		}
		user, err := q.GetUser(ctx, account.ID)
		if errors.Is(err, sql.ErrNoRows) || err == nil && user.Status != StatusActive {
			return ErrBadCredentials
		}
		if err != nil {
			return err
		}
		if s.RequireVerifiedEmail && user.EmailVerifiedAt == nil {
			return ErrEmailUnverified
		}
		now := s.now()
		if err := storeUse(ctx, q, user.ID, cred, now); err != nil {
			return err
		}
		if res.DeviceToken, err = s.issueDevice(ctx, q, user.ID, client.DeviceToken); err != nil {
			return err
		}
		var mfaAt *time.Time
		if aal == AAL2 {
			mfaAt = &now
		}
		res.User = user
		res.Session = db.Session{TokenHash: hash, ID: newSessionID(), UserID: user.ID, CreatedAt: now,
			ExpiresAt: now.Add(s.SessionTTL), LastSeenAt: now, UserAgent: ua, Ip: client.IP, Aal: aal, Methods: methods, MfaAt: mfaAt}
		if err := q.CreateSession(ctx, db.CreateSessionParams{TokenHash: hash, ID: res.Session.ID, UserID: user.ID,
			CreatedAt: now, ExpiresAt: res.Session.ExpiresAt, UserAgent: ua, Ip: client.IP, Aal: aal, Methods: methods, MfaAt: mfaAt}); err != nil {
			return err
		}
		return s.audit(ctx, q, Actor{ID: user.ID, IP: client.IP}, user.ID, ActionLoginSuccess,
			"session "+res.Session.ID+" (passkey, "+aal+")")
	})
	if err != nil {
		return LoginResult{}, err
	}
	return res, nil
}
