package cdshooks_test

import (
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

func TestLogString(t *testing.T) {
	t.Parallel()
	exactly := strings.Repeat("a", cdshooks.MaxLoggedRunes)
	tests := []struct{ name, in, want string }{
		{"short", "d7ecf885", "d7ecf885"},
		{"exactly the limit", exactly, exactly},
		{"one over", exactly + "b", exactly + "…(65 bytes)"},
		{"cut at a rune, not a byte", strings.Repeat("é", 100), strings.Repeat("é", 64) + "…(200 bytes)"},
		{"many bytes, few runes", strings.Repeat("é", 40), strings.Repeat("é", 40)},
		{"invalid UTF-8 counts a rune per byte", strings.Repeat("\xff", 65), strings.Repeat("\xff", 64) + "…(65 bytes)"},
		{"a megabyte", strings.Repeat("x", 1<<20), strings.Repeat("x", 64) + "…(1048576 bytes)"},
	}
	for _, tt := range tests {
		if got := cdshooks.LogString(tt.in); got != tt.want {
			t.Errorf("%s: LogString = %q, want %q", tt.name, got, tt.want)
		}
	}
}
