package db

import "testing"

func TestVersionAtLeast(t *testing.T) {
	t.Parallel()
	tests := []struct {
		have string
		want bool
	}{
		{"3.51.3", true}, {"3.51.4", true}, {"3.52.0", true}, {"3.54.1", true}, {"4.0.0", true},
		{"3.51.2", false}, {"3.50.9", false}, {"3.9.99", false}, {"2.99.99", false}, {"3.51", false},
	}
	for _, tt := range tests {
		if got := versionAtLeast(tt.have, MinSQLiteVersion); got != tt.want {
			t.Errorf("versionAtLeast(%q, %q) = %v, want %v", tt.have, MinSQLiteVersion, got, tt.want)
		}
	}
}
