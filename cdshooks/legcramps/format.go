package legcramps

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// Text formatting the cards share: summaries fitted to the panel, the
// record's own words cut and escaped, dates, numbers, units, ranges.

// listSummary is lead followed by the names, when that fits maxSummary;
// otherwise the count followed by countTail.
func listSummary(lead string, names []string, countTail string) string {
	s := lead + strings.Join(names, ", ")
	if utf8.RuneCountInString(s) <= maxSummary {
		return s
	}
	return strconv.Itoa(len(names)) + countTail
}

// fitSummary makes a summary, label or description of outside text (see
// cdshooks.PlainText) fit maxSummary characters, ending in "…" when cut.
func fitSummary(s string) string {
	return cutRunes(cdshooks.PlainText(s), maxSummary)
}

// cutRunes returns s cut to at most n characters, ending in "…" when cut. It
// reads no further into s than it keeps.
func cutRunes(s string, n int) string {
	count := 0
	for i := range s {
		if count == n-1 {
			if _, size := utf8.DecodeRuneInString(s[i:]); i+size == len(s) {
				return s // exactly n characters
			}
			return strings.TrimRight(s[:i], " ,;:") + "…"
		}
		count++
	}
	return s
}

// recordText is how the record names an entry, cut to a panel line and
// escaped for markdown (cdshooks.Markdown).
func recordText(text string) string {
	if text == "" {
		return "(unnamed entry)"
	}
	return cdshooks.Markdown(cutRunes(text, maxRecordTextRunes))
}

// conditionEntries lists record condition entries on one line: their text
// and onset, the first maxConditionsShown of them, the rest counted.
func conditionEntries(es []knowledge.ConditionEntry) string {
	parts := make([]string, 0, min(len(es), maxConditionsShown)+1)
	for _, e := range es[:min(len(es), maxConditionsShown)] {
		p := recordText(e.Text)
		if onset := e.Condition.Onset; !onset.IsZero() {
			p += " since " + day(onset)
		}
		parts = append(parts, p)
	}
	if more := len(es) - maxConditionsShown; more > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(parts, "; ")
}

// conditionTexts lists record condition entries by their distinct texts, the
// first maxConditionsShown of them, the rest counted.
func conditionTexts(es []knowledge.ConditionEntry) string {
	list := distinctTexts{max: maxConditionsShown}
	for _, e := range es {
		list.add(recordText(e.Text))
	}
	return list.join(", ", "more")
}

// day formats a time as its calendar date where it was recorded.
func day(t time.Time) string {
	if t.IsZero() {
		return "unknown date"
	}
	return t.Format(time.DateOnly)
}

// number formats a value for reading: as written when it has at most three
// decimals, else rounded to three (never to fewer, so a value just under a
// threshold does not display as the threshold).
func number(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// quantityText is a value as the record holds it: comparator, value and unit.
func quantityText(q fhir.Quantity) string {
	unit := q.Unit
	if unit == "" {
		unit = q.Code
	}
	s := q.Comparator + number(q.Value)
	if unit != "" {
		s += " " + unitText(unit)
	}
	return s
}

// unitText is a UCUM unit as a clinician writes it: an annotation's braces
// dropped and its underscores spaced ("mL/min/{1.73_m2}" is "mL/min/1.73
// m²"), and the international unit without its brackets ("m[IU]/L" is
// "mIU/L"). Anything else is left as recorded.
func unitText(u string) string {
	if !strings.ContainsAny(u, "{[") {
		return u
	}
	u = strings.NewReplacer("[IU]", "IU", "[iU]", "IU").Replace(u)
	var b strings.Builder
	for {
		open := strings.IndexByte(u, '{')
		end := strings.IndexByte(u, '}')
		if open < 0 || end < open {
			b.WriteString(u)
			return b.String()
		}
		note := strings.ReplaceAll(u[open+1:end], "_", " ")
		if strings.HasSuffix(note, " m2") {
			note = strings.TrimSuffix(note, "2") + "²"
		}
		b.WriteString(u[:open])
		b.WriteString(note)
		u = u[end+1:]
	}
}

func interpretationText(cs []fhir.Coding) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		switch {
		case c.Display != "":
			parts = append(parts, c.Display)
		case c.Code != "":
			parts = append(parts, c.Code)
		}
	}
	return strings.Join(parts, ", ")
}

func rangeText(rs []fhir.Range) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		switch {
		case r.Low != nil && r.High != nil:
			parts = append(parts, quantityText(*r.Low)+" to "+quantityText(*r.High))
		case r.Low != nil:
			parts = append(parts, "from "+quantityText(*r.Low))
		case r.High != nil:
			parts = append(parts, "up to "+quantityText(*r.High))
		}
	}
	return strings.Join(parts, "; ")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// lowerFirst lowercases the first letter unless the first word is an
// abbreviation or a name with capitals inside ("NSAIDs", "TSH", "HbA1c").
func lowerFirst(s string) string {
	word, _, _ := strings.Cut(s, " ")
	if len(word) < 2 || strings.ToLower(word[1:]) != word[1:] {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// withoutGloss drops a trailing parenthesised gloss from a name.
func withoutGloss(name string) string {
	if i := strings.Index(name, " ("); i > 0 {
		return name[:i]
	}
	return name
}

// distinctTexts collects distinct texts for a card, the first max of them, and
// counts the rest, so one card names a bounded number of record entries
// however long the record is.
type distinctTexts struct {
	max   int
	texts []string
	more  int
}

// add keeps t unless it is already listed or the list is full (then it is
// counted among the rest; a repeat is never counted).
func (l *distinctTexts) add(t string) {
	switch {
	case slices.Contains(l.texts, t):
	case len(l.texts) == l.max:
		l.more++
	default:
		l.texts = append(l.texts, t)
	}
}

// join lists the texts with sep, then "and N <rest>" when some were left out.
func (l *distinctTexts) join(sep, rest string) string {
	parts := l.texts
	if l.more > 0 {
		parts = append(slices.Clip(parts), fmt.Sprintf("and %d %s", l.more, rest))
	}
	return strings.Join(parts, sep)
}
