package http

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// A transaction that still fails to serialize after the store's retries is
// the client's to retry: 503 with Retry-After, not a 500.
func TestSerializationFailureIsRetryable(t *testing.T) {
	for _, code := range []string{"40001", "40P01"} {
		err := fmt.Errorf("db: transaction failed after 25 attempts: %w", &pgconn.PgError{Code: code})
		p, h := problemFor(err)
		if p.Status != 503 || p.Code != "contended" || h.Get("Retry-After") != "1" {
			t.Errorf("SQLSTATE %s: %d %q, Retry-After %q; want 503 contended, Retry-After 1", code, p.Status, p.Code, h.Get("Retry-After"))
		}
	}
}
