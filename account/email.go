package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/go-chi/httprate"

	"roster/db"
	"roster/outbox"
)

// Lifetimes of the single-use tokens roster mails.
const (
	VerificationTTL = 24 * time.Hour
	ResetTTL        = 30 * time.Minute
)

// Kinds of token (user_tokens.kind) and of mail (outbox.kind).
const (
	kindVerification    = "email_verification"
	kindReset           = "password_reset"
	kindPasswordChanged = "password_changed"
	kindEmailChanged    = "email_changed"
	kindSignUpAttempt   = "signup_attempt"
	kindSignInCode      = "sign_in_code"
	kindMFAChange       = "mfa_changed"
)

// signUpNoticeEvery bounds the notices of sign-up attempts one account gets.
const signUpNoticeEvery = time.Hour

// MailSettings say how the service's mail looks and is announced.
type MailSettings struct {
	// PublicURL is the base of the links in mail, such as
	// https://roster.example.com: the server whose web console serves
	// /ui/verify-email and /ui/reset-password/confirm (or a front end that
	// serves those paths). The links carry no token: the mail gives the code
	// apart, and the user pastes it into the page's form, which POSTs it, so
	// a token never appears in a URL, a browser's history or an access log.
	PublicURL string
	// Notify is called after a transaction that queued mail commits, to wake
	// the outbox worker. nil when no worker runs in this process, as in the
	// CLI: the server's worker then finds the mail at its next poll.
	Notify func()
}

// mailTx runs fn in one write transaction, like Store.Tx, for a change that
// may queue mail, and wakes the outbox worker once it has committed.
func (s *Service) mailTx(ctx context.Context, fn func(q db.Querier) error) error {
	err := s.Store.Tx(ctx, fn)
	if err == nil && s.Mail.Notify != nil {
		s.Mail.Notify()
	}
	return err
}

// Paths of the web console pages that the links in mail open.
const (
	verifyEmailPath   = "/ui/verify-email"
	resetPasswordPath = "/ui/reset-password"
	resetConfirmPath  = "/ui/reset-password/confirm"
)

func (s *Service) link(path string) string {
	return strings.TrimSuffix(s.Mail.PublicURL, "/") + path
}

// issueToken stores a new single-use token of kind for user's current
// address, forgetting the user's expired tokens, and returns it.
func (s *Service) issueToken(ctx context.Context, q db.Querier, user db.User, kind, prefix string, ttl time.Duration) (string, error) {
	now := s.now()
	if err := q.DeleteExpiredUserTokens(ctx, db.DeleteExpiredUserTokensParams{UserID: user.ID, Now: now}); err != nil {
		return "", err
	}
	token, hash := newToken(prefix)
	err := q.CreateUserToken(ctx, db.CreateUserTokenParams{TokenHash: hash, UserID: user.ID, Kind: kind,
		EmailKey: *user.EmailKey, CreatedAt: now, ExpiresAt: now.Add(ttl)})
	return token, err
}

// consumeToken uses up a live token of kind: of two concurrent calls with one
// token exactly one gets its row, the other ErrInvalidToken.
func (s *Service) consumeToken(ctx context.Context, q db.Querier, token, kind string) (db.ConsumeUserTokenRow, error) {
	now := s.now()
	t, err := q.ConsumeUserToken(ctx, db.ConsumeUserTokenParams{Now: &now, TokenHash: HashToken(token), Kind: kind})
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrInvalidToken
	}
	return t, err
}

// voidTokens uses up every live token of kind of an account.
func (s *Service) voidTokens(ctx context.Context, q db.Querier, userID int64, kind string) error {
	now := s.now()
	_, err := q.VoidUserTokens(ctx, db.VoidUserTokensParams{Now: &now, UserID: userID, Kind: kind})
	return err
}

// enqueue queues a mail to user's current address through q.
func (s *Service) enqueue(ctx context.Context, q db.Querier, user db.User, kind, subject, body string) error {
	return outbox.Enqueue(ctx, q, s.now(), outbox.Mail{UserID: user.ID, Kind: kind, To: *user.Email,
		Subject: subject, Body: fmt.Sprintf("Hello %s,\n\n%s", user.Username, body)})
}

// sendVerification mails a verification token to user's current address.
// Older tokens for the same address keep working until they expire, so the
// link in any of the mails does.
func (s *Service) sendVerification(ctx context.Context, q db.Querier, user db.User) error {
	token, err := s.issueToken(ctx, q, user, kindVerification, VerificationTokenPrefix, VerificationTTL)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, q, user, kindVerification, "Confirm your email address", fmt.Sprintf(
		"please confirm that %s is the address of your account %s: within 24 hours, open this page\n\n"+
			"%s\n\nand enter your confirmation code:\n\n%s\n\n"+
			"If you did not sign up or change your address, ignore this mail.\n",
		*user.Email, user.Username, s.link(verifyEmailPath), token))
}

// VerifyEmail consumes an email-verification token and marks the address it
// was mailed to as verified, if the account still has that address. An
// unknown, expired, used or outdated token is ErrInvalidToken.
func (s *Service) VerifyEmail(ctx context.Context, actor Actor, token string) error {
	if !validToken(token, VerificationTokenPrefix) {
		return ErrInvalidToken
	}
	return s.Store.Tx(ctx, func(q db.Querier) error {
		t, err := s.consumeToken(ctx, q, token, kindVerification)
		if err != nil {
			return err
		}
		if err := s.markVerified(ctx, q, t); err != nil {
			return err
		}
		if err := s.voidTokens(ctx, q, t.UserID, kindVerification); err != nil {
			return err
		}
		return s.audit(ctx, q, actor, t.UserID, ActionEmailVerify, "")
	})
}

// markVerified records that the account of a consumed token receives mail at
// the token's address; ErrInvalidToken when the address has changed since.
func (s *Service) markVerified(ctx context.Context, q db.Querier, t db.ConsumeUserTokenRow) error {
	n, err := q.SetUserEmailVerified(ctx, db.SetUserEmailVerifiedParams{Now: s.now(), ID: t.UserID, EmailKey: &t.EmailKey})
	if err == nil && n == 0 {
		err = ErrInvalidToken
	}
	return err
}

// ResendVerification mails a fresh verification token to the account's
// current address, audits it, and returns that address, as read in the
// transaction that queued the mail (the caller's copy of the account may be
// older): ErrNoEmail without one, ErrAlreadyVerified when done.
func (s *Service) ResendVerification(ctx context.Context, actor Actor, userID int64) (email string, err error) {
	err = s.mailTx(ctx, func(q db.Querier) error {
		user, err := getUser(ctx, q, userID)
		switch {
		case err != nil:
			return err
		case user.Email == nil:
			return ErrNoEmail
		case user.EmailVerifiedAt != nil:
			return ErrAlreadyVerified
		}
		email = *user.Email
		if err := s.sendVerification(ctx, q, user); err != nil {
			return err
		}
		return s.audit(ctx, q, actor, userID, ActionEmailVerifyRequest, "")
	})
	if err != nil {
		return "", err
	}
	return email, nil
}

// EmailChanges reports whether setting the address raw (as UserChange.Email
// has it; empty removes the address) would change user's address. An
// invalid raw changes nothing: UpdateUser rejects it before any write.
func EmailChanges(user db.User, raw string) bool {
	email, _, err := Email(raw)
	return err == nil && !equalPtr(email, user.Email)
}

// SendPasswordReset mails a password-reset token to account id, voiding the
// reset tokens mailed before. It returns ErrNotFound, ErrNoEmail or
// ErrDisabled when there is no account, address or point to it.
func (s *Service) SendPasswordReset(ctx context.Context, actor Actor, id int64) error {
	return s.mailTx(ctx, func(q db.Querier) error { return s.sendPasswordReset(ctx, q, actor, id) })
}

// sendPasswordReset is SendPasswordReset in transaction q.
func (s *Service) sendPasswordReset(ctx context.Context, q db.Querier, actor Actor, id int64) error {
	user, err := getUser(ctx, q, id)
	switch {
	case err != nil:
		return err
	case user.Email == nil:
		return ErrNoEmail
	case user.Status != StatusActive:
		return ErrDisabled
	}
	if err := s.voidTokens(ctx, q, id, kindReset); err != nil {
		return err
	}
	token, err := s.issueToken(ctx, q, user, kindReset, ResetTokenPrefix, ResetTTL)
	if err != nil {
		return err
	}
	err = s.enqueue(ctx, q, user, kindReset, "Reset your password", fmt.Sprintf(
		"someone, hopefully you, asked to reset the password of your account %s. "+
			"To choose a new one, within 30 minutes open this page\n\n%s\n\nand enter your reset code:\n\n%s\n\n"+
			"The code works once, and only the newest one you asked for. If you did not ask, "+
			"ignore this mail: your password stays as it is.\n",
		user.Username, s.link(resetConfirmPath), token))
	if err != nil {
		return err
	}
	return s.audit(ctx, q, actor, id, ActionPasswordResetRequest, "")
}

// ConfirmPasswordReset consumes a reset token and sets the password of its
// account under the full policy: every session of the account is revoked,
// every outstanding reset token dies, the address counts as verified (the
// token proved it receives mail there), the actor's network counts as one
// the account logged in from, and a notice is mailed. An unknown,
// expired, used or outdated token is ErrInvalidToken, checked before any
// hashing; of two concurrent confirmations exactly one succeeds.
func (s *Service) ConfirmPasswordReset(ctx context.Context, actor Actor, token, password string) error {
	if !validToken(token, ResetTokenPrefix) {
		return ErrInvalidToken
	}
	row, err := s.Store.Read.GetUserByLiveToken(ctx, db.GetUserByLiveTokenParams{
		TokenHash: HashToken(token), Kind: kindReset, Now: s.now()})
	if errors.Is(err, sql.ErrNoRows) || (err == nil && row.User.Status != StatusActive) {
		return ErrInvalidToken
	}
	if err != nil {
		return err
	}
	user := row.User
	pw, err := s.Policy.ValidateNewPassword("new_password", password, user.Username, user.Email)
	if err != nil {
		return err
	}
	hash, err := s.Hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	return s.mailTx(ctx, func(q db.Querier) error {
		t, err := s.consumeToken(ctx, q, token, kindReset)
		if err != nil {
			return err
		}
		if err := s.markVerified(ctx, q, t); err != nil {
			return err
		}
		// The mailed token proved the owner is here: the address counts as
		// one the account logged in from, so a locked-out owner on a new
		// network or device gets in from it (see throttle.go).
		if actor.IP != "" {
			if err := q.UpsertKnownLoginIP(ctx, db.UpsertKnownLoginIPParams{UserID: t.UserID,
				Ip: httprate.CanonicalizeIP(actor.IP), LastLoginAt: s.now()}); err != nil {
				return err
			}
		}
		return s.storePassword(ctx, q, actor, t.UserID, hash, nil, ActionPasswordReset)
	})
}

// storePassword runs inside a password change's transaction: it stores the
// new hash, revokes the account's sessions but the one whose token hashes to
// keep (all of them when keep is nil), voids outstanding reset tokens, mails
// a notice when the account has an address, and audits the change.
func (s *Service) storePassword(ctx context.Context, q db.Querier, actor Actor, id int64, hash string, keep []byte, action string) error {
	n, err := q.UpdateUserPasswordHash(ctx, db.UpdateUserPasswordHashParams{PasswordHash: hash, UpdatedAt: s.now(), ID: id})
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	revoked, err := revokeSessions(ctx, q, id, keep)
	if err != nil {
		return err
	}
	if err := s.voidTokens(ctx, q, id, kindReset); err != nil {
		return err
	}
	user, err := getUser(ctx, q, id)
	if err != nil {
		return err
	}
	if user.Email != nil {
		others := "Every session was signed out."
		if keep != nil {
			others = "Every other session was signed out."
		}
		err := s.enqueue(ctx, q, user, kindPasswordChanged, "Your password was changed", fmt.Sprintf(
			"the password of your account %s was changed at %s. %s\n\n"+
				"If you did not do this, reset your password at once: %s\n",
			user.Username, s.now().Format("2006-01-02 15:04 MST"), others, s.link(resetPasswordPath)))
		if err != nil {
			return err
		}
	}
	return s.audit(ctx, q, actor, id, action, revokedDetail(revoked))
}

// emailChanged runs inside the transaction that changed user's address from
// old: the new address gets a verification mail, the old one a notice.
func (s *Service) emailChanged(ctx context.Context, q db.Querier, user db.User, old *string) error {
	if old != nil {
		was := user
		was.Email = old
		change := "; the account has no address any more"
		if user.Email != nil {
			change = " to " + *user.Email
		}
		err := s.enqueue(ctx, q, was, kindEmailChanged, "Your email address was changed", fmt.Sprintf(
			"the email address of your account %s was changed from %s%s.\n\n"+
				"If you did not do this, your account may be in someone else's hands: tell your administrator.\n",
			user.Username, *old, change))
		if err != nil {
			return err
		}
	}
	if user.Email == nil {
		return nil
	}
	return s.sendVerification(ctx, q, user)
}

// SignUp is CreateUser for a person creating their own account. With
// RequireVerifiedEmail it never tells whether an address is registered: for
// an address that an account has already, it creates nothing, mails that
// account a notice instead (at most one an hour; every attempt is audited)
// and returns created=false with no error, so the caller answers exactly as
// for a new account, which cannot sign in before confirming its address
// either. Both paths hash the password and commit once. Without
// RequireVerifiedEmail a taken address is a *ConflictError, as in
// CreateUser: the new account could be used at once, so its owner must
// learn that it was not made.
func (s *Service) SignUp(ctx context.Context, actor Actor, in NewUser) (user db.User, created bool, err error) {
	user, err = s.CreateUser(ctx, actor, in)
	var ce *ConflictError
	if !s.RequireVerifiedEmail || !errors.As(err, &ce) || ce.Field != "email" {
		return user, err == nil, err
	}
	return db.User{}, false, s.signUpAttempted(ctx, actor, in.Email)
}

// signUpAttempted tells the account with address raw that someone tried to
// sign up with it.
func (s *Service) signUpAttempted(ctx context.Context, actor Actor, raw string) error {
	_, key, err := Email(raw)
	if err != nil || key == nil {
		return err // CreateUser accepted raw, so never
	}
	return s.mailTx(ctx, func(q db.Querier) error {
		owner, err := q.GetUserByEmailKey(ctx, key)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // the address changed hands since: nobody to tell
		}
		if err != nil {
			return err
		}
		n, err := q.CountAuditEventsAfter(ctx, db.CountAuditEventsAfterParams{
			TargetID: &owner.ID, Action: ActionSignUpAttempt, After: s.now().Add(-signUpNoticeEvery)})
		if err != nil {
			return err
		}
		if n == 0 {
			err := s.enqueue(ctx, q, owner, kindSignUpAttempt, "Someone tried to sign up with your address", fmt.Sprintf(
				"someone, perhaps you, tried to create a new account with %s, which is the address of your "+
					"account %s already. No account was created.\n\n"+
					"If it was you, sign in as %s instead; if you forgot your password, reset it here: %s\n\n"+
					"If it was not you, ignore this mail: nothing changed.\n",
				*owner.Email, owner.Username, owner.Username, s.link(resetPasswordPath)))
			if err != nil {
				return err
			}
		}
		return s.audit(ctx, q, actor, owner.ID, ActionSignUpAttempt, "")
	})
}

// Limit is at most N events per Per; a zero N is no limit.
type Limit struct {
	N   int
	Per time.Duration
}

// ResetQueue takes password-reset and sign-in code requests off the request
// path. Submit and SubmitSignInCode store the request (a row of
// mail_requests) and return, the same way whether or not the account exists;
// Run does the lookup and queues the mail in the background. A stored
// request survives a crash, and workers on several replicas share the table:
// a worker takes a request with a lease (ClaimDueMailRequest), and deletes it
// in the transaction that queues its mail, fenced by its take's count, so
// that each request is served once even when a stalled worker's lease ran
// out and another took it again.
//
// A request is served only Delay (plus up to Delay more, at random) after it
// was submitted. Serving a request costs more for a real account (a write
// transaction and a wait for the disk) than for an unknown one; begun at
// once, that work competed with the request's own answer for the CPU and
// made real accounts answer measurably slower. Delayed, it falls on whatever
// the server does later, for real and unknown names alike.
type ResetQueue struct {
	// Delay is the least time between Submit and the start of serving the
	// request, DefaultResetDelay unless changed before Run.
	Delay   time.Duration
	svc     *Service
	log     *slog.Logger
	perUser Limit
	// submitted tells Run when each request this process stored was
	// submitted; a full channel drops the hint, and the poll serves the row.
	submitted chan time.Time
}

const (
	// DefaultResetDelay is a ResetQueue's Delay: long enough for the answer
	// to a reset request to be on its way, short beside a mail's delivery.
	DefaultResetDelay = 50 * time.Millisecond
	// resetPoll is how often Run looks for requests that no Submit of this
	// process announced: another replica's, or one left by a crash.
	resetPoll = time.Second
	// resetLease is how long a worker may take to serve a request before
	// another may take it again.
	resetLease = 30 * time.Second
	// resetAttempts is how many takes a request gets before it is dropped.
	resetAttempts = 5
	// resetHints bounds the submissions Run has yet to time; more wait for
	// the poll.
	resetHints = 256
)

// Kinds of a mail request (mail_requests.kind).
const (
	requestPasswordReset = "password_reset"
	requestSignInCode    = "sign_in_code"
)

// errLeaseLost rolls back a request's mail: another worker took the request
// again after this one's lease ran out, and serves it.
var errLeaseLost = errors.New("account: the mail request was taken again by another worker")

// NewResetQueue returns a queue that mails one account at most perUser.N
// reset codes, and as many sign-in codes, per perUser.Per.
//
// The per-account cap is here, after the lookup, because only here is the
// account known: a request may name it by username or by address, and the
// HTTP layer's per-target limit keys by the name as typed (normalized), so
// "alice" and "alice@example.com" have a budget each there. Keying that
// limit by account instead would need the lookup on the request path, where
// its answer or its latency would tell existing accounts from unknown ones.
func NewResetQueue(svc *Service, log *slog.Logger, perUser Limit) *ResetQueue {
	return &ResetQueue{Delay: DefaultResetDelay, svc: svc, log: log, perUser: perUser,
		submitted: make(chan time.Time, resetHints)}
}

// Submit stores a reset request for the account named by login (a username
// or an email address), asked for by actor. It returns once the request is
// committed; an error means it was not stored.
func (q *ResetQueue) Submit(ctx context.Context, login string, actor Actor) error {
	return q.submit(ctx, requestPasswordReset, login, actor)
}

// SubmitSignInCode stores a request for a sign-in code (see
// Service.SendSignInCode) for the account named by login, asked for by actor.
func (q *ResetQueue) SubmitSignInCode(ctx context.Context, login string, actor Actor) error {
	return q.submit(ctx, requestSignInCode, login, actor)
}

func (q *ResetQueue) submit(ctx context.Context, kind, login string, actor Actor) error {
	at := time.Now()
	err := q.svc.Store.Write.CreateMailRequest(ctx, db.CreateMailRequestParams{Kind: kind, Login: login,
		Ip: actor.IP, DueAt: db.Now(at)})
	if err == nil {
		select {
		case q.submitted <- at:
		default:
		}
	}
	return err
}

// Run serves stored requests until ctx is done: each one this process
// submitted Delay (plus up to Delay more, at random) after its submission,
// one at a time in submission order, so that their work spreads out as the
// requests came; any others (another replica's, or one left by a crash)
// once they are a second old, at its poll every resetPoll. When ctx is done
// it serves every request submitted until then and returns; stop submitting
// first (shut the HTTP server down). A request it cannot finish stays
// stored for the next start or another replica. The queue keeps wall-clock
// time, not the service's clock: times are stored in whole seconds
// (db.Now), which is why the delay is kept here rather than in due_at.
func (q *ResetQueue) Run(ctx context.Context) {
	work := context.WithoutCancel(ctx)
	poll := time.NewTicker(resetPoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			q.serveDue(work, time.Now(), 0)
			return
		case <-poll.C:
			q.serveDue(work, time.Now().Add(-time.Second), 0)
		case at := <-q.submitted:
			delay := q.Delay
			if delay > 0 {
				delay += rand.N(delay)
			}
			if wait := time.Until(at.Add(delay)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
			}
			q.serveDue(work, time.Now(), 1) // one request per submission
		}
	}
}

// serveDue serves the requests due at now, one after another, at most
// limit of them (0: all).
func (q *ResetQueue) serveDue(ctx context.Context, now time.Time, limit int) {
	for served := 0; limit == 0 || served < limit; served++ {
		r, err := q.svc.Store.Write.ClaimDueMailRequest(ctx, db.ClaimDueMailRequestParams{
			LeaseUntil: db.Now(time.Now().Add(resetLease)), Now: db.Now(now)})
		if errors.Is(err, sql.ErrNoRows) {
			return
		}
		if err != nil {
			q.log.ErrorContext(ctx, "password reset queue: taking a request failed", slog.Any("error", err))
			return
		}
		q.handle(ctx, r)
	}
}

// handle mails the reset or sign-in code r asks for if its login names an
// active account with an address; anything else is silently nothing. The
// request is deleted once served, or after resetAttempts failed takes.
func (q *ResetQueue) handle(ctx context.Context, r db.MailRequest) {
	user, _, found, err := q.svc.lookup(ctx, r.Login)
	if err == nil && found {
		err = q.send(ctx, r, user.ID)
	}
	switch {
	case errors.Is(err, errLeaseLost):
		return
	case err == nil && found:
		return // deleted with its mail
	case err == nil, errors.Is(err, ErrNoEmail), errors.Is(err, ErrDisabled), errors.Is(err, ErrNotFound):
		err = nil // nothing to send
	case r.Attempts < resetAttempts:
		q.log.ErrorContext(ctx, "password reset request failed; will retry", slog.Any("error", err))
		return
	default:
		q.log.ErrorContext(ctx, "password reset request failed; dropped", slog.Any("error", err),
			slog.Int64("attempts", r.Attempts))
	}
	if _, err := q.svc.Store.Write.DeleteMailRequest(ctx, db.DeleteMailRequestParams{ID: r.ID, Attempts: r.Attempts}); err != nil {
		q.log.ErrorContext(ctx, "password reset queue: deleting a request failed", slog.Any("error", err))
	}
}

// send mails account id the reset or sign-in code r asks for, and deletes
// r, in one transaction, unless the account has had its perUser share of
// that kind already, counted from the audit log's requests (which include
// the CLI's and every replica's): then it only deletes r. The count and the
// mail are in the one serializable transaction, so workers on several
// replicas cannot both pass the cap's last slot.
func (q *ResetQueue) send(ctx context.Context, r db.MailRequest, id int64) error {
	action, send := ActionPasswordResetRequest, q.svc.sendPasswordReset
	if r.Kind == requestSignInCode {
		action, send = ActionSignInCodeRequest, q.svc.sendSignInCode
	}
	var over bool
	err := q.svc.mailTx(ctx, func(tx db.Querier) error {
		over = false
		n, err := tx.DeleteMailRequest(ctx, db.DeleteMailRequestParams{ID: r.ID, Attempts: r.Attempts})
		if err != nil {
			return err
		}
		if n == 0 {
			return errLeaseLost
		}
		if q.perUser.N > 0 {
			sent, err := tx.CountAuditEventsAfter(ctx, db.CountAuditEventsAfterParams{
				TargetID: &id, Action: action, After: q.svc.now().Add(-q.perUser.Per)})
			if err != nil {
				return err
			}
			if over = sent >= int64(q.perUser.N); over {
				return nil
			}
		}
		return send(ctx, tx, Actor{IP: r.Ip}, id)
	})
	if err == nil && over {
		q.log.InfoContext(ctx, "mail request over the account's limit; dropped",
			slog.String("action", action), slog.Int64("user_id", id))
	}
	return err
}
