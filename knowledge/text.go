package knowledge

// Drug names in EHR texts carry salts, strengths and tall-man capitals ("amLODIPine besylate 5 MG").
// Matching works on lower-case ASCII letter runs with salt words dropped, so "naproxen sodium" is naproxen
// and "losartan potassium" or "potassium chloride" never read as potassium.

// saltWords are dropped from texts and names before matching.
func saltWords() []string {
	return []string{
		"sodium", "potassium", "calcium", "magnesium", "disodium",
		"hydrochloride", "hcl", "hydrobromide", "chloride", "bromide",
		"besylate", "mesylate", "maleate", "succinate", "tartrate", "fumarate", "citrate",
		"acetate", "carbonate", "sulfate", "phosphate",
		"propionate", "dipropionate", "furoate", "xinafoate",
		"anhydrous", "monohydrate", "dihydrate", "trihydrate",
	}
}

// maxTextLetters and maxTextTokens bound the part of a text that is read; medication texts are far shorter.
const (
	maxTextLetters = 512
	maxTextTokens  = 64
	// minFuzzyLen is the shortest word matched with one typo ("simvistatin"); shorter names collide too easily.
	minFuzzyLen = 8
)

// span is one token: buf[start:end] of a textTokens.
type span struct{ start, end uint16 }

// textTokens is a tokenised text held in fixed arrays so that matching does not allocate.
type textTokens struct {
	buf  [maxTextLetters]byte
	toks [maxTextTokens]span
	n    int
}

// tokenize fills t with the lower-case letter runs of s that are not salt words.
func (t *textTokens) tokenize(s string, salts map[string]struct{}) {
	t.n = 0
	pos, start := 0, -1
	flush := func() {
		if start < 0 {
			return
		}
		tok := t.buf[start:pos]
		if _, salt := salts[string(tok)]; salt || t.n == maxTextTokens {
			pos = start
		} else {
			t.toks[t.n] = span{uint16(start), uint16(pos)}
			t.n++
		}
		start = -1
	}
	for i := 0; i < len(s) && pos < maxTextLetters; i++ {
		ch := s[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if 'a' <= ch && ch <= 'z' {
			if start < 0 {
				start = pos
			}
			t.buf[pos] = ch
			pos++
			continue
		}
		flush()
	}
	flush()
}

func (t *textTokens) tok(i int) []byte {
	return t.buf[t.toks[i].start:t.toks[i].end]
}

// nameTokens normalises a name from the data the same way texts are tokenised.
func nameTokens(name string) []string {
	salts := make(map[string]struct{})
	for _, w := range saltWords() {
		salts[w] = struct{}{}
	}
	var t textTokens
	t.tokenize(name, salts)
	out := make([]string, t.n)
	for i := range out {
		out[i] = string(t.tok(i))
	}
	return out
}

// withinOneEdit reports whether a and b differ by at most one substitution, insertion, deletion or
// swap of adjacent letters.
func withinOneEdit(a []byte, b string) bool {
	la, lb := len(a), len(b)
	if la-lb > 1 || lb-la > 1 {
		return false
	}
	i := 0
	for i < la && i < lb && a[i] == b[i] {
		i++
	}
	if i == la && i == lb {
		return true
	}
	switch {
	case la == lb:
		if string(a[i+1:]) == b[i+1:] {
			return true // substitution
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && string(a[i+2:]) == b[i+2:] // swap
	case la > lb:
		return string(a[i+1:]) == b[i:]
	default:
		return string(a[i:]) == b[i+1:]
	}
}

// NameTokens returns the words of a drug name or text as matching sees them: lower-case letter runs with
// salt words dropped ("Naproxen Sodium 220 MG" is [naproxen mg]). The value-set generator uses it to find
// ingredient names in product displays exactly as the matcher will.
func NameTokens(name string) []string { return nameTokens(name) }
