package legcramps

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/panel"
)

// maxDetail is the panel's budget for a detail: characters of rendered text
// (cdshooks/panel.RenderedText), about what a narrow side panel shows without
// scrolling.
const maxDetail = 600

// fitDetail keeps a detail within maxDetail rendered characters, whatever the
// record holds. Lines go by clinical priority, least first, until it fits:
//  1. source names after the first (the card's link opens the knowledge
//     page, which lists every source);
//  2. list items from the end of the last list (the record's own entries,
//     least relevant last), replaced by one line counting them;
//  3. entries of the "Also on record" line, from the end (strong conditions
//     come first there), counted.
//
// A critical card loses only source names: its result, action and drugs are
// never dropped. A detail already within budget is returned as is, without
// rendering it (markup only adds characters, so its rune count bounds it).
func fitDetail(detail string, indicator cdshooks.Indicator) string {
	if fits(detail) {
		return detail
	}
	lines := strings.Split(detail, "\n")
	steps := []func([]string) ([]string, bool){dropSourceName}
	if indicator != cdshooks.IndicatorCritical {
		steps = append(steps, dropListItem, dropAssociatedEntry)
	}
	for _, step := range steps {
		for !fits(strings.Join(lines, "\n")) {
			var ok bool
			if lines, ok = step(lines); !ok {
				break
			}
		}
	}
	return strings.Join(lines, "\n")
}

// fits reports whether md renders within maxDetail characters.
func fits(md string) bool {
	if utf8.RuneCountInString(md) <= maxDetail {
		return true
	}
	text, err := panel.RenderedText(md)
	return err == nil && utf8.RuneCountInString(text) <= maxDetail
}

// dropSourceName drops the last source name of the sources line, keeping one.
func dropSourceName(lines []string) ([]string, bool) {
	for i := len(lines) - 1; i >= 0; i-- {
		rest, ok := strings.CutPrefix(lines[i], sourcesLead)
		if !ok {
			continue
		}
		names := strings.Split(rest, "; ")
		if len(names) < 2 {
			return lines, false
		}
		lines[i] = sourcesLead + strings.Join(names[:len(names)-1], "; ")
		return lines, true
	}
	return lines, false
}

// moreLead starts the line that counts dropped list items.
const moreLead = "- and "

// dropListItem drops the last item of the last list, keeping its first
// item, and counts the items dropped in one closing line ("- and 2 more on
// the record").
func dropListItem(lines []string) ([]string, bool) {
	last, moreAt, more := -1, -1, 0
	for i := len(lines) - 1; i >= 0 && last < 0; i-- {
		if n, ok := strings.CutPrefix(lines[i], moreLead); ok && moreAt < 0 {
			if k, err := strconv.Atoi(strings.Fields(n + " x")[0]); err == nil {
				moreAt, more = i, k
				continue
			}
		}
		if strings.HasPrefix(lines[i], "- ") {
			last = i
		}
	}
	if last < 1 || !strings.HasPrefix(lines[last-1], "- ") {
		return lines, false
	}
	lines[last] = moreLead + strconv.Itoa(more+1) + " more on the record"
	if moreAt >= 0 {
		lines = append(lines[:moreAt], lines[moreAt+1:]...)
	}
	return lines, true
}

// associatedLead starts the line naming the associated conditions on record.
const associatedLead = "Also on record, associated with cramps: "

// dropAssociatedEntry drops the last entry of the associated-conditions line,
// counting it.
func dropAssociatedEntry(lines []string) ([]string, bool) {
	for i, l := range lines {
		rest, ok := strings.CutPrefix(l, associatedLead)
		if !ok {
			continue
		}
		rest = strings.TrimSuffix(rest, ".")
		more := 0
		entries := strings.Split(rest, "; ")
		if last := entries[len(entries)-1]; strings.HasPrefix(last, "and ") {
			if k, err := strconv.Atoi(strings.Fields(last + " x")[1]); err == nil {
				more = k
				entries = entries[:len(entries)-1]
			}
		}
		if len(entries) < 2 {
			return lines, false
		}
		entries = append(entries[:len(entries)-1], "and "+strconv.Itoa(more+1)+" more on record")
		lines[i] = associatedLead + strings.Join(entries, "; ") + "."
		return lines, true
	}
	return lines, false
}
