package account

import (
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"time"

	"roster/db"
)

// Config is every setting of the account rules: the password policy,
// hashing, session lifetimes, the links in mail and whether an email address
// must be verified. Validate's messages name each setting by its
// command-line flag, the name operators know it by.
type Config struct {
	MinPasswordLen       int           // -min-password-length
	Hash                 Params        // argon2id parameters of new hashes
	HashConcurrency      int           // -hash-concurrency: hashes run at once
	HashWait             time.Duration // -hash-wait: longest wait for a hashing slot before ErrHashBusy
	SessionTTL           time.Duration // -session-ttl: absolute session lifetime
	IdleTTL              time.Duration // -session-idle-ttl: a session unused this long is dead
	PublicURL            string        // -public-url: base of the links in mail
	RequireVerifiedEmail bool          // -require-verified-email (see Service)
	StepUpWindow         time.Duration // -step-up-window (see Service.CheckStepUp)
	MFAKeys              *MFAKeys      // from -mfa-key or its key file; nil: no second factors
}

// DefaultConfig returns the defaults: OWASP's argon2id minimum with one
// hashing slot per CPU, NIST's 15-character minimum, 30-day sessions that
// die after 7 idle days, and links to a console on localhost:8080.
func DefaultConfig() Config {
	return Config{
		MinPasswordLen:  DefaultMinPasswordLen,
		Hash:            DefaultParams,
		HashConcurrency: runtime.GOMAXPROCS(0),
		HashWait:        2 * time.Second,
		SessionTTL:      DefaultSessionTTL,
		IdleTTL:         DefaultIdleTTL,
		PublicURL:       "http://localhost:8080",
		StepUpWindow:    DefaultStepUpWindow,
	}
}

// Validate reports every setting out of range, joined.
func (c Config) Validate() error {
	var errs []error
	if c.SessionTTL <= 0 || c.IdleTTL <= 0 {
		errs = append(errs, errors.New("-session-ttl and -session-idle-ttl must be positive"))
	}
	if c.HashWait < 0 {
		errs = append(errs, errors.New("-hash-wait must not be negative"))
	}
	if c.StepUpWindow <= 0 {
		errs = append(errs, errors.New("-step-up-window must be positive"))
	}
	if _, err := NewPolicy(c.MinPasswordLen); err != nil {
		errs = append(errs, fmt.Errorf("-min-password-length: %w", err))
	}
	if c.HashConcurrency < 1 {
		errs = append(errs, errors.New("-hash-concurrency must be at least 1"))
	}
	if err := c.Hash.validateBounds(); err != nil {
		errs = append(errs, err)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, errors.New("-public-url must be an http(s) URL such as https://roster.example.com"))
	}
	return errors.Join(errs...)
}

// New returns the account service on store with the settings of c and the
// real clock.
func New(store *db.Store, c Config) (*Service, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	policy, err := NewPolicy(c.MinPasswordLen)
	if err != nil {
		return nil, err
	}
	hasher, err := NewHasher(c.Hash, c.HashConcurrency, c.HashWait)
	if err != nil {
		return nil, err
	}
	// Passkeys need a host name (WebAuthn refuses IP addresses): with
	// -public-url on an IP they are unavailable rather than the server.
	rp, _ := NewWebAuthn(c.PublicURL)
	return &Service{Store: store, Hasher: hasher, Policy: policy, WebAuthn: rp,
		SessionTTL: c.SessionTTL, IdleTTL: c.IdleTTL, Now: time.Now,
		Mail: MailSettings{PublicURL: c.PublicURL}, RequireVerifiedEmail: c.RequireVerifiedEmail,
		StepUpWindow: c.StepUpWindow, MFAKeys: c.MFAKeys}, nil
}
