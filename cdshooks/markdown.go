package cdshooks

import (
	"strings"
	"unicode/utf8"
)

// MaxSummary is the most characters (runes) a card summary may have: CDS
// Hooks 2.0 says a summary "SHOULD be under a 140-character limit"
// (https://cds-hooks.hl7.org/2.0/#card-attributes). Response.Validate refuses
// longer ones and Summary cuts to it.
const MaxSummary = 139

// Markdown escapes text from a patient record or the knowledge base so that
// it shows as written in GitHub-flavoured markdown (no emphasis, links, HTML
// or headings sneak in), and folds line breaks into spaces.
func Markdown(s string) string {
	if !strings.ContainsAny(s, "\\`*_[]()<>#+-.|~&\r\n") {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s) + 8)
	for i, r := range s {
		switch r {
		case '\r', '\n':
			sb.WriteByte(' ')
			continue
		case '_':
			// GFM never reads an underscore inside a word as emphasis.
			if !(i > 0 && isWordByte(s[i-1]) && i+1 < len(s) && isWordByte(s[i+1])) {
				sb.WriteByte('\\')
			}
		case '\\', '`', '*', '[', ']', '<', '>', '|', '~', '&':
			sb.WriteByte('\\')
		case '#', '+', '-', '.', '(', ')':
			// Only special at the start of a line (heading, list) or
			// after "]" (link target): escape them at the start.
			if i == 0 {
				sb.WriteByte('\\')
			}
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

func isWordByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// FitsSummary reports whether s is a summary Response.Validate accepts: 1 to
// MaxSummary characters.
func FitsSummary(s string) bool {
	n := utf8.RuneCountInString(s)
	return n > 0 && n <= MaxSummary
}

// Summary returns s cut to fit a card summary (at most MaxSummary runes),
// ending in "…" when cut.
func Summary(s string) string {
	if utf8.RuneCountInString(s) <= MaxSummary {
		return s
	}
	runes := []rune(s)
	return strings.TrimRight(string(runes[:MaxSummary-1]), " ,;:") + "…"
}
