package knowledge

import (
	"github.com/cramp-cds/cramp-cds/fhir"
)

// MatchKind says how a medication was recognised.
type MatchKind uint8

// The ways a medication is recognised, strongest first.
const (
	// MatchRxNorm: an RxNorm coding found in the ingredient codes or the curated product table.
	MatchRxNorm MatchKind = iota + 1
	// MatchATC: an ATC coding in a class's value set (a substance code, or a combination naming the class).
	MatchATC
	// MatchText: a name, synonym or brand found in the concept's text or a coding's display.
	MatchText
)

// String returns "rxnorm", "atc" or "text".
func (k MatchKind) String() string {
	switch k {
	case MatchRxNorm:
		return "rxnorm"
	case MatchATC:
		return "atc"
	case MatchText:
		return "text"
	}
	return "unknown"
}

// MedicationMatch is one cramp-inducing ingredient (or, from an ATC class root, class) found in a medication.
type MedicationMatch struct {
	Class *DrugClass
	// Ingredient is nil when only the class is known (an ATC combination code such as C09BA03 lisinopril and diuretics).
	Ingredient *Ingredient
	Kind       MatchKind
	// Coding is the coding that matched (RxNorm or ATC); for a text match it is zero.
	Coding fhir.Coding
	// Matched is what matched: the code, or for a text match the name, synonym or brand from the data.
	Matched string
	// Product is the curated product entry when an RxNorm product code matched.
	Product *Product
	// LowConfidence is true for text matches and for matches through codes or brands marked unverified;
	// cards should say the drug was recognised from its name.
	LowConfidence bool
	// UnverifiedCode is true when the code that matched (RxNorm or ATC) is
	// marked unverified in the data: the entry's code is unconfirmed.
	UnverifiedCode bool
	// Fuzzy is true when the text matched a name with one typo ("Simvistatin").
	Fuzzy bool
}

// Evidence is the citations that make the matched drug cramp-inducing (its class's evidence).
func (m MedicationMatch) Evidence() []Citation { return m.Class.Evidence }

// MatchMedication returns the cramp-inducing ingredients of a medication: its drug concept and, when
// known, the concepts of its ingredients (Medication.ingredient.itemCodeableConcept). Every coding and
// text is tried; each ingredient appears once, through its strongest match (a verified code beats an
// unverified one, RxNorm beats ATC beats text). Combination products yield every ingredient.
// The result is sorted by class and ingredient in data order and is empty when nothing matches.
func (b *Base) MatchMedication(drug fhir.Concept, ingredients ...fhir.Concept) []MedicationMatch {
	return b.AppendMedicationMatches(nil, drug, ingredients)
}

// AppendMedicationMatches is MatchMedication appending to dst; it does not allocate when dst has room
// (8 is plenty for one medication). Matches already in dst are merged with the new ones.
func (b *Base) AppendMedicationMatches(dst []MedicationMatch, drug fhir.Concept, ingredients []fhir.Concept) []MedicationMatch {
	var tt textTokens
	from := len(dst)
	dst = b.appendConceptMatches(dst, drug, &tt)
	for _, c := range ingredients {
		dst = b.appendConceptMatches(dst, c, &tt)
	}
	// A form word anywhere in the medication (its drug or an ingredient) counts for all of it: a Medication
	// "Voltaren 1% gel" with the ingredient coded as plain diclofenac is still a topical product.
	forms := b.excludedForms(drug, &tt)
	for _, c := range ingredients {
		forms |= b.excludedForms(c, &tt)
	}
	dst = b.dropClasses(dst, from, forms)
	return b.sortMatches(dropCoveredClasses(dst))
}

func (b *Base) appendConceptMatches(dst []MedicationMatch, c fhir.Concept, tt *textTokens) []MedicationMatch {
	for _, cd := range c.Codings {
		switch systemOf(cd.System) {
		case sysRxNorm:
			dst = b.appendRxNorm(dst, cd)
		case sysATC:
			dst = b.appendATC(dst, cd)
		}
	}
	if c.Text != "" {
		dst = b.appendText(dst, c.Text, tt)
	}
	for _, cd := range c.Codings {
		if cd.Display != "" && cd.Display != c.Text {
			dst = b.appendText(dst, cd.Display, tt)
		}
	}
	return dst
}

func (b *Base) appendRxNorm(dst []MedicationMatch, cd fhir.Coding) []MedicationMatch {
	e, ok := b.rxnorm[cd.Code]
	if !ok {
		return dst
	}
	for _, ing := range e.ingredients {
		dst = mergeMatch(dst, MedicationMatch{
			Class: ing.Class, Ingredient: ing, Kind: MatchRxNorm, Coding: cd, Matched: cd.Code,
			Product: e.product, LowConfidence: e.unverified, UnverifiedCode: e.unverified,
		})
	}
	return dst
}

func (b *Base) appendATC(dst []MedicationMatch, cd fhir.Coding) []MedicationMatch {
	for _, e := range b.atc[cd.Code] {
		dst = mergeMatch(dst, MedicationMatch{Class: e.class, Ingredient: e.ingredient, Kind: MatchATC, Coding: cd, Matched: cd.Code, LowConfidence: e.unverified, UnverifiedCode: e.unverified})
	}
	return dst
}

// excludedForms returns the classes a medication is taken out of by a dose-form or route word in any of
// its texts or displays ("diclofenac 1% topical gel" is not a systemic NSAID).
func (b *Base) excludedForms(c fhir.Concept, tt *textTokens) classSet {
	if len(b.forms) == 0 {
		return 0
	}
	var out classSet
	scan := func(s string) {
		tt.tokenize(s, b.salts)
		for i := 0; i < tt.n; i++ {
			out |= b.forms[string(tt.tok(i))]
		}
	}
	if c.Text != "" {
		scan(c.Text)
	}
	for _, cd := range c.Codings {
		if cd.Display != "" {
			scan(cd.Display)
		}
	}
	return out
}

// dropClasses removes the matches of dst[from:] whose class is in set.
func (b *Base) dropClasses(dst []MedicationMatch, from int, set classSet) []MedicationMatch {
	if set == 0 {
		return dst
	}
	out := dst[:from]
	for _, m := range dst[from:] {
		if set&(1<<b.classOrder[m.Class]) == 0 {
			out = append(out, m)
		}
	}
	return out
}

// appendText finds names in a text: exact word sequences first, then one-typo matches of long generic names.
func (b *Base) appendText(dst []MedicationMatch, text string, tt *textTokens) []MedicationMatch {
	tt.tokenize(text, b.salts)
	for i := 0; i < tt.n; i++ {
		word := tt.tok(i)
		entries, found := b.names[string(word)]
		for _, e := range entries {
			if !tt.followedBy(i, e.rest) {
				continue
			}
			for _, ing := range e.ingredients {
				dst = mergeMatch(dst, MedicationMatch{Class: ing.Class, Ingredient: ing, Kind: MatchText, Matched: e.name, LowConfidence: true})
			}
		}
		if found || len(word) < minFuzzyLen {
			continue
		}
		var hit *nameEntry
		for j := range b.fuzzy {
			if withinOneEdit(word, b.fuzzy[j].name) {
				if hit != nil && hit.ingredients[0] != b.fuzzy[j].ingredients[0] {
					hit = nil // ambiguous: two names are one typo away
					break
				}
				hit = &b.fuzzy[j]
			}
		}
		if hit != nil {
			ing := hit.ingredients[0]
			dst = mergeMatch(dst, MedicationMatch{Class: ing.Class, Ingredient: ing, Kind: MatchText, Matched: hit.name, LowConfidence: true, Fuzzy: true})
		}
	}
	return dst
}

// followedBy reports whether the words after token i are rest.
func (t *textTokens) followedBy(i int, rest []string) bool {
	if i+len(rest) >= t.n {
		return false
	}
	for k, w := range rest {
		if string(t.tok(i+1+k)) != w {
			return false
		}
	}
	return true
}

// strength orders matches: confident before low-confidence, then RxNorm, ATC, text; exact before fuzzy.
func (m MedicationMatch) strength() int {
	s := 0
	if !m.LowConfidence {
		s += 8
	}
	switch m.Kind {
	case MatchRxNorm:
		s += 4
	case MatchATC:
		s += 2
	}
	if !m.Fuzzy {
		s++
	}
	return s
}

// mergeMatch adds m unless the same ingredient (or, for class-only matches, class) is there; the stronger wins.
func mergeMatch(dst []MedicationMatch, m MedicationMatch) []MedicationMatch {
	for i := range dst {
		if dst[i].Ingredient == m.Ingredient && dst[i].Class == m.Class {
			if m.strength() > dst[i].strength() {
				dst[i] = m
			}
			return dst
		}
	}
	return append(dst, m)
}

// dropCoveredClasses removes class-only matches when an ingredient of the same class matched.
func dropCoveredClasses(ms []MedicationMatch) []MedicationMatch {
	out := ms[:0]
	for _, m := range ms {
		if m.Ingredient == nil && hasIngredientOf(ms, m.Class) {
			continue
		}
		out = append(out, m)
	}
	return out
}

func hasIngredientOf(ms []MedicationMatch, cl *DrugClass) bool {
	for _, m := range ms {
		if m.Ingredient != nil && m.Class == cl {
			return true
		}
	}
	return false
}

// sortMatches orders matches by class, then ingredient, in data order (class-only matches first in a class).
func (b *Base) sortMatches(ms []MedicationMatch) []MedicationMatch {
	less := func(x, y MedicationMatch) bool {
		cx, cy := b.classOrder[x.Class], b.classOrder[y.Class]
		if cx != cy {
			return cx < cy
		}
		return b.ingRank(x.Ingredient) < b.ingRank(y.Ingredient)
	}
	for i := 1; i < len(ms); i++ { // insertion sort: a handful of items, no allocation
		for j := i; j > 0 && less(ms[j], ms[j-1]); j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
	return ms
}

func (b *Base) ingRank(ing *Ingredient) int {
	if ing == nil {
		return -1
	}
	return b.ingOrder[ing]
}
