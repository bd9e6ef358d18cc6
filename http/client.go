package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors a Client call can be tested against with errors.Is. The error itself
// is a *Problem: use errors.As for its code, field errors and Retry-After.
var (
	ErrBadRequest   = errors.New("bad request")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrValidation   = errors.New("validation failed")
	ErrThrottled    = errors.New("throttled")
	ErrUnavailable  = errors.New("service unavailable")
)

// Is reports whether the problem is of the kind target names, so callers can
// write errors.Is(err, http.ErrConflict).
func (p *Problem) Is(target error) bool {
	switch p.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return target == ErrBadRequest
	case http.StatusUnauthorized:
		return target == ErrUnauthorized
	case http.StatusForbidden:
		return target == ErrForbidden
	case http.StatusNotFound:
		return target == ErrNotFound
	case http.StatusConflict:
		return target == ErrConflict
	case http.StatusUnprocessableEntity:
		return target == ErrValidation
	case http.StatusTooManyRequests:
		return target == ErrThrottled
	case http.StatusServiceUnavailable:
		return target == ErrUnavailable || target == ErrThrottled
	}
	return false
}

// Client calls a roster server. Login keeps the session token, and every
// later call sends it. A Client is safe for concurrent use.
type Client struct {
	baseURL string
	hc      *http.Client

	mu    sync.Mutex
	token string
}

// NewClient returns a client for the server at baseURL, such as
// "http://localhost:8080". A nil hc means http.DefaultClient.
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), hc: hc}
}

// Token returns the session token the client sends, or "".
func (c *Client) Token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// SetToken makes the client send token, for example one kept from an earlier run.
func (c *Client) SetToken(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = token
}

// Signup creates an account.
func (c *Client) Signup(ctx context.Context, req SignupRequest) (User, error) {
	var u User
	err := c.call(ctx, http.MethodPost, "/v1/users", req, &u)
	return u, err
}

// Login opens a session and keeps its token for later calls.
func (c *Client) Login(ctx context.Context, username, password string) (Session, error) {
	var s Session
	if err := c.call(ctx, http.MethodPost, "/v1/sessions", LoginRequest{Username: username, Password: password}, &s); err != nil {
		return Session{}, err
	}
	c.SetToken(s.Token)
	return s, nil
}

// Logout ends the current session and forgets its token.
func (c *Client) Logout(ctx context.Context) error {
	if err := c.call(ctx, http.MethodDelete, "/v1/sessions/current", nil, nil); err != nil {
		return err
	}
	c.SetToken("")
	return nil
}

// Me returns the account of the current session.
func (c *Client) Me(ctx context.Context) (User, error) {
	var u User
	err := c.call(ctx, http.MethodGet, "/v1/me", nil, &u)
	return u, err
}

// call sends in as JSON (when not nil) and decodes a 2xx answer into out
// (when not nil). Any other answer becomes a *Problem.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if token := c.Token(); token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	const maxAnswer = 4 << 20
	b, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if out == nil || res.StatusCode == http.StatusNoContent {
			return nil
		}
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
		return nil
	}
	return problemFromResponse(res, b)
}

// problemFromResponse turns a failed answer into a *Problem, also when the
// body is not problem+json (a proxy's error page, say).
func problemFromResponse(res *http.Response, body []byte) *Problem {
	p := &Problem{}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if mt != "application/problem+json" || json.Unmarshal(body, p) != nil {
		p = &Problem{Title: http.StatusText(res.StatusCode), Detail: strings.TrimSpace(string(body))}
	}
	p.Status = res.StatusCode
	if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && secs >= 0 {
		p.RetryAfter = time.Duration(secs) * time.Second
	}
	return p
}
