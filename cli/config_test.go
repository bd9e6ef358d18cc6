package cli

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestServeFlagsRefused: bad abuse settings stop the server with a usage
// error before it opens anything.
func TestServeFlagsRefused(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"rate without window", []string{"-login-rate", "10"}, nil},
		{"zero rate", []string{"-signup-rate", "0/1m"}, nil},
		{"bad proxy CIDR", []string{"-trusted-proxies", "10.0.0.0/33"}, nil},
		{"wildcard CORS origin", []string{"-cors-origins", "*"}, nil},
		{"CORS origin with a path", nil, map[string]string{"ROSTER_CORS_ORIGINS": "https://app.example/x"}},
		{"zero header timeout", []string{"-read-header-timeout", "0s"}, nil},
		{"no hashing slots", []string{"-hash-concurrency", "0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "-db", t.TempDir() + "/roster.db"}, tt.args...)
			getenv := func(k string) string { return tt.env[k] }
			err := run(context.Background(), args, getenv, strings.NewReader(""), io.Discard, io.Discard)
			if !errors.As(err, new(usageError)) {
				t.Fatalf("roster %s: err = %v, want a usage error", strings.Join(args, " "), err)
			}
		})
	}
}
