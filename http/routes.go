package http

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"roster/db"
)

// routes is the whole HTTP surface: the API, and the web console when enabled.
func (s *Server) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(s.observe, s.recoverPanics, securityHeaders, s.limitBodies, s.cors())
	signupLimit, loginLimit := s.rateLimit(s.cfg.SignupRate), s.rateLimit(s.cfg.LoginRate)
	r.NotFound(s.handleNotFound)
	r.MethodNotAllowed(s.handleMethodNotAllowed)

	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Get("/openapi.json", handleOpenAPI)
	if s.cfg.MetricsToken != "" {
		r.With(s.requireMetricsToken).Method(http.MethodGet, "/metrics", s.MetricsHandler())
	}

	// The tutorial's form routes, unchanged for its client.
	r.With(signupLimit).Post("/add", s.handleTutorialAdd)
	r.With(loginLimit).Post("/login", s.handleTutorialLogin)

	mailLimit := s.rateLimit(s.cfg.MailRate)
	// The routes that check the signed-in account's password: each costs a
	// hash or two.
	reauthLimit := s.reauthLimit()
	r.Route("/v1", func(r chi.Router) {
		r.With(signupLimit).Post("/users", s.handleUserCreate)
		r.With(loginLimit).Post("/sessions", s.handleSessionCreate)
		r.With(loginLimit).Post("/sessions/mfa", s.handleSessionMFA)
		r.With(loginLimit).Post("/sessions/mfa/passkey/challenges", s.handleMFAPasskeyBegin)
		r.With(loginLimit).Post("/sessions/mfa/passkey", s.handlePasskeyLogin)
		r.With(loginLimit).Post("/sessions/passkey/challenges", s.handlePasskeyLoginBegin)
		r.With(loginLimit).Post("/sessions/passkey", s.handlePasskeyLogin)
		r.With(mailLimit).Post("/sessions/codes", s.handleSignInCodeCreate)
		r.With(mailLimit).Post("/password-resets", s.handlePasswordResetCreate)
		r.Post("/password-resets/confirm", s.handlePasswordResetConfirm)
		r.Post("/email-verifications", s.handleEmailVerificationCreate)
		r.Group(func(r chi.Router) {
			r.Use(s.requireSession)
			r.Get("/me", s.handleMe)
			r.With(mailLimit, reauthLimit, s.requireStepUp).Patch("/me", s.handleMeUpdate)
			r.With(mailLimit).Post("/me/email-verification", s.handleMeEmailVerificationResend)
			r.With(reauthLimit, s.requireStepUp).Delete("/me", s.handleMeDelete)
			r.With(reauthLimit, s.requireStepUp).Put("/me/password", s.handleMePasswordChange)
			r.Get("/me/mfa", s.handleMFAGet)
			r.With(reauthLimit).Post("/me/mfa/totp", s.handleTOTPEnroll)
			r.With(reauthLimit).Post("/me/mfa/totp/confirm", s.handleTOTPConfirm)
			r.With(s.requireStepUp).Delete("/me/mfa/totp", s.handleTOTPDelete)
			r.With(s.requireStepUp).Post("/me/mfa/recovery-codes", s.handleRecoveryCodesCreate)
			r.With(reauthLimit).Post("/me/mfa/verify", s.handleMFAVerify)
			r.Post("/me/mfa/verify/passkey/challenges", s.handleStepUpPasskeyBegin)
			r.With(reauthLimit).Post("/me/mfa/verify/passkey", s.handleStepUpPasskey)
			r.Get("/me/passkeys", s.handlePasskeyList)
			r.With(reauthLimit).Post("/me/passkeys/registrations", s.handlePasskeyRegistrationBegin)
			r.Post("/me/passkeys", s.handlePasskeyCreate)
			r.Patch("/me/passkeys/{id}", s.handlePasskeyRename)
			r.With(s.requireStepUp).Delete("/me/passkeys/{id}", s.handlePasskeyDelete)
			r.Get("/me/sessions", s.handleMeSessionList)
			r.Delete("/me/sessions", s.handleMeSessionsDelete)
			r.Delete("/me/sessions/{id}", s.handleMeSessionDelete)
			r.Delete("/sessions/current", s.handleSessionDeleteCurrent)

			// Admin API: 401 without a session, 403 for a non-admin.
			r.Route("/admin", func(r chi.Router) {
				r.Use(s.requireAdmin, s.requireStepUp)
				r.Get("/users", s.handleAdminUserList)
				r.Post("/users", s.handleAdminUserCreate)
				r.Get("/users/{id}", s.handleAdminUserGet)
				r.Patch("/users/{id}", s.handleAdminUserUpdate)
				r.Delete("/users/{id}", s.handleAdminUserDelete)
				r.Delete("/users/{id}/sessions", s.handleAdminUserSessionsDelete)
				r.Delete("/users/{id}/mfa", s.handleAdminUserMFADelete)
				r.Get("/audit", s.handleAdminAuditList)
				r.Get("/outbox", s.handleAdminOutboxList)
			})
		})
	})

	if s.cfg.UI {
		s.uiRoutes(r, signupLimit, loginLimit, mailLimit, reauthLimit)
	}
	return r
}

// uiRoutes mounts the web console (ui*.go). Its POSTs share the rate limits
// of the API routes that do the same thing.
func (s *Server) uiRoutes(r chi.Router, signupLimit, loginLimit, mailLimit, reauthLimit func(http.Handler) http.Handler) {
	r.Get("/", redirectTo("/ui/"))
	r.Route("/ui", func(r chi.Router) {
		r.Use(s.uiGuard)
		r.Handle("/static/*", s.handleUIStatic())
		r.Get("/sign-in", s.handleUISignIn)
		r.With(loginLimit).Post("/sign-in", s.handleUISignInPost)
		r.With(loginLimit).Post("/sign-in/mfa", s.handleUISignInMFA)
		r.Get("/sign-in-code", s.handleUISignInCode)
		r.With(mailLimit).Post("/sign-in-code", s.handleUISignInCodePost)
		r.Get("/sign-up", s.handleUISignUp)
		r.With(signupLimit).Post("/sign-up", s.handleUISignUpPost)
		r.Get("/reset-password", s.handleUIResetRequest)
		r.With(mailLimit).Post("/reset-password", s.handleUIResetRequestPost)
		r.Get("/reset-password/confirm", s.handleUIResetConfirm)
		r.Post("/reset-password/confirm", s.handleUIResetConfirmPost)
		r.Get("/verify-email", s.handleUIVerifyEmail)
		r.Post("/verify-email", s.handleUIVerifyEmailPost)
		r.Group(func(r chi.Router) {
			r.Use(s.requireSession)
			r.Get("/", redirectTo("/ui/account"))
			r.Post("/sign-out", s.handleUISignOut)
			r.Get("/account", s.handleUIAccount)
			r.With(mailLimit, reauthLimit, s.requireStepUp).Post("/account/profile", s.handleUIProfilePost)
			r.With(mailLimit).Post("/account/verification", s.handleUIVerificationPost)
			r.With(reauthLimit, s.requireStepUp).Post("/account/password", s.handleUIPasswordPost)
			r.Get("/account/security", s.handleUISecurity)
			r.With(reauthLimit).Post("/account/security/totp", s.handleUITOTPStart)
			r.With(reauthLimit).Post("/account/security/totp/confirm", s.handleUITOTPConfirm)
			r.With(s.requireStepUp).Post("/account/security/totp/delete", s.handleUITOTPDelete)
			r.With(s.requireStepUp).Post("/account/security/recovery-codes", s.handleUIRecoveryCodes)
			r.With(reauthLimit).Post("/account/security/verify", s.handleUIStepUp)
			r.Post("/account/security/passkeys/{id}/rename", s.handleUIPasskeyRename)
			r.With(s.requireStepUp).Post("/account/security/passkeys/{id}/delete", s.handleUIPasskeyDelete)
			r.Post("/account/sessions/{id}/revoke", s.handleUISessionRevoke)
			r.Post("/account/sessions/revoke-others", s.handleUISessionsRevoke)
			r.Route("/admin", func(r chi.Router) {
				r.Use(s.requireAdmin, s.requireStepUp)
				r.Get("/", redirectTo("/ui/admin/users"))
				r.Get("/users", s.handleUIAdminUsers)
				r.Get("/users/{id}", s.handleUIAdminUser)
				r.Post("/users/{id}", s.handleUIAdminUserPost)
				r.Post("/users/{id}/sessions/revoke", s.handleUIAdminUserSessionsRevoke)
				r.Post("/users/{id}/mfa/reset", s.handleUIAdminUserMFAReset)
				r.Get("/users/{id}/delete", s.handleUIAdminUserDelete)
				r.Post("/users/{id}/delete", s.handleUIAdminUserDeletePost)
				r.Get("/audit", s.handleUIAdminAudit)
			})
		})
	})
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, &problemError{status: http.StatusNotFound, code: "not_found", detail: "no such route"})
}

func (s *Server) handleMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, &problemError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
		detail: r.Method + " is not allowed here"})
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	encode(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 when both database pools answer, every migration
// is applied, the database can write (db.Store.Writable) and the server is
// not shutting down; 503 otherwise.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		s.writeError(w, r, &problemError{status: http.StatusServiceUnavailable, code: "shutting_down", detail: "server is shutting down"})
		return
	}
	err := s.store.Ready(r.Context())
	if db.IsStorageUnavailable(err) {
		s.writeError(w, r, err) // storage_unavailable, logged
		return
	}
	if err != nil {
		s.logFailure(r, err)
		s.writeError(w, r, &problemError{status: http.StatusServiceUnavailable, code: "not_ready", detail: "database unavailable or not migrated"})
		return
	}
	encode(w, http.StatusOK, map[string]string{"status": "ready"})
}
