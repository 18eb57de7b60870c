package cdshooks

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxSummary is the most characters (runes) a card summary may have: CDS
// Hooks 2.0 says a summary "SHOULD be under a 140-character limit"
// (https://cds-hooks.hl7.org/2.0/#card-attributes). Response.Validate refuses
// longer ones and Summary cuts to it.
const MaxSummary = 139

// MaxText is the most characters (runes) of one outside string that Markdown
// or PlainText shows: a name as a health record words it fits
// many times over, and a hostile 4 MB text costs a card no more than this.
const MaxText = 200

// Markdown is the one way text that is not our own template (the record's
// words, the knowledge base's, a code or a unit) enters card markdown: every
// string a card's detail shows from any field goes through it. What it
// returns renders, in CommonMark with the GFM extensions (autolinks included),
// as a run of plain text in the paragraph or list item it is put in, and
// never as anything else:
//   - line breaks, tabs and other white space or control characters become
//     one space, and leading and trailing ones go, so it cannot end the
//     paragraph or list item it is in, nor start a block of its own;
//   - the characters that start inline markup are backslash-escaped
//     (CommonMark: an escaped ASCII punctuation character is literal):
//     \ ` * _ ~ [ ] < > & | always, so no emphasis, code span, link, image,
//     raw HTML, entity, table cell or strikethrough can start in it; ":" and
//     "@" always, and "." after "www", so no GFM autolink can form (URL,
//     www or email); and a leading punctuation character, or a "." or ")"
//     ending leading digits, so it cannot open a heading, quote or list when
//     a template puts it first in a list item;
//   - bidirectional overrides and zero-width characters are dropped, so the
//     text reads in the order it was written;
//   - it is cut to MaxText characters, ending in "…" when cut.
//
// Text from our own templates (the markup around it) is written as is.
func Markdown(s string) string {
	if isPlainWords(s) {
		return s
	}
	runes, cut := folded(s)
	var sb strings.Builder
	sb.Grow(len(runes) + len(runes)/4 + 4)
	for i, r := range runes {
		if escapes(runes, i) {
			sb.WriteByte('\\')
		}
		sb.WriteRune(r)
	}
	if cut {
		sb.WriteString("…")
	}
	return sb.String()
}

// PlainText is Markdown's counterpart for the card fields that are plain text
// (summary, suggestion labels, action descriptions): outside text put there
// has its white space and control characters folded and its bidi and
// zero-width characters dropped as Markdown does, is cut to MaxText, and has
// "<" and ">" replaced by "‹" and "›", so that no client that renders the
// field as HTML or markdown (some do) meets a tag. Summary applies it.
func PlainText(s string) string {
	if isPlainWords(s) {
		return s
	}
	runes, cut := folded(s)
	for i, r := range runes {
		switch r {
		case '<':
			runes[i] = '‹'
		case '>':
			runes[i] = '›'
		}
	}
	if cut {
		runes = append(runes, '…')
	}
	return string(runes)
}

// folded returns the first MaxText characters of s with white space and
// control characters folded to single spaces (none leading or trailing) and
// invisible characters dropped; cut says whether more followed. It reads no
// further into s than it keeps, so a huge string costs no more than a short one.
func folded(s string) (runes []rune, cut bool) {
	runes = make([]rune, 0, min(len(s), MaxText))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = len(runes) > 0
			continue
		case invisible(r):
			continue
		}
		if space {
			runes = append(runes, ' ')
			space = false
		}
		if len(runes) >= MaxText {
			return runes[:MaxText], true
		}
		runes = append(runes, r)
	}
	return runes, false
}

// escapes reports whether Markdown escapes runes[i] (see its rules).
func escapes(runes []rune, i int) bool {
	r := runes[i]
	if r >= utf8.RuneSelf {
		return false
	}
	switch {
	case r == '_':
		// GFM never reads an underscore inside a word as emphasis.
		return !(i > 0 && i+1 < len(runes) && isWordRune(runes[i-1]) && isWordRune(runes[i+1]))
	case strings.ContainsRune("\\`*~[]<>&|:@", r):
		return true
	case i == 0:
		return isASCIIPunct(byte(r))
	case r == '.' && i >= 3 && strings.EqualFold(string(runes[i-3:i]), "www"):
		return true
	case (r == '.' || r == ')') && (i+1 == len(runes) || runes[i+1] == ' '):
		// "1. " or "1) " first in a list item would open an ordered list.
		for _, d := range runes[:i] {
			if d < '0' || d > '9' {
				return false
			}
		}
		return i <= 9
	}
	return false
}

// isPlainWords reports whether s is letters and digits separated by single
// spaces, at most MaxText of them: what most names are, and what both
// functions return unchanged.
func isPlainWords(s string) bool {
	if len(s) > MaxText || s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' && s[i-1] != ' ') {
			return false
		}
	}
	return true
}

func isWordRune(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

// isASCIIPunct is CommonMark's ASCII punctuation: each may be backslash-escaped.
func isASCIIPunct(c byte) bool {
	return strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) >= 0
}

// invisible reports the characters that change how text reads without
// showing: bidirectional embeddings, overrides and isolates, zero-width
// spaces and joiners, and the byte-order mark.
func invisible(r rune) bool {
	return r >= '\u200b' && r <= '\u200f' || r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' || r == '\ufeff'
}

// FitsSummary reports whether s is a summary Response.Validate accepts: 1 to
// MaxSummary characters.
func FitsSummary(s string) bool {
	n := utf8.RuneCountInString(s)
	return n > 0 && n <= MaxSummary
}

// Summary returns s as plain text (PlainText) cut to fit a card summary (at
// most MaxSummary runes), ending in "…" when cut. Use it for every summary,
// suggestion label and action description made with outside text.
func Summary(s string) string {
	s = PlainText(s)
	if utf8.RuneCountInString(s) <= MaxSummary {
		return s
	}
	runes := []rune(s)
	return strings.TrimRight(string(runes[:MaxSummary-1]), " ,;:") + "…"
}
