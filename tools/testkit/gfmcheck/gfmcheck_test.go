package gfmcheck_test

import (
	"slices"
	"testing"

	"github.com/cramp-cds/cramp-cds/tools/testkit/gfmcheck"
)

// The checker is only as good as what it catches: raw HTML (inline and
// block), every GFM autolink, and markdown structure.
func TestUnexpectedCatchesMarkupFromText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		md   string
		want []string
	}{
		{"plain **bold** *it*", nil},
		{"x <img src=x onerror=alert(1)>", []string{"img"}},
		{"x\n\n<script>alert(1)</script>", []string{"script"}},
		{"see https://evil.example", []string{"a"}},
		{"see www.evil.example", []string{"a"}},
		{"mail a@evil.example", []string{"a"}},
		{"`code`", []string{"code"}},
		{"    indented", []string{"code", "pre"}},
		{"<!-- hidden -->", []string{"!--"}},
		{"| a |\n|---|\n| b |", []string{"table", "tbody", "td", "th", "thead", "tr"}},
	}
	for _, tt := range tests {
		got, err := gfmcheck.Unexpected(tt.md, "p", "strong", "em")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Unexpected(%q) = %v, want %v", tt.md, got, tt.want)
		}
	}
	r, err := gfmcheck.Render("a \\<b\\> c")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Text, "a <b> c"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
}
