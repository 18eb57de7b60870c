package knowledge

import (
	"fmt"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// Base is the loaded, validated and indexed knowledge base. It is immutable after Load and safe for
// concurrent use; the slices and pointers it returns are shared and must not be modified.
type Base struct {
	version string

	sources      []*Source
	sourceBySeed map[string]*Source

	triggers   TriggerSet
	trigSNOMED map[string]*Code
	trigICD    map[icdKey]*Code

	classes     []*DrugClass
	ingredients map[string]*Ingredient
	ingOrder    map[*Ingredient]int
	classOrder  map[*DrugClass]int
	products    []*Product
	combos      []CombinationBrand
	rxnorm      map[string]rxEntry
	atcExact    map[string]atcEntry
	atcPrefix   map[string][]atcEntry
	salts       map[string]struct{}
	names       map[string][]nameEntry // first word -> names starting with it
	fuzzy       []nameEntry            // one-word names long enough for typo tolerance

	lookback   int
	workups    []*Workup
	labs       []*Lab
	labByID    map[string]*Lab
	labByLOINC map[string]*Lab

	conditions    []*Condition
	condSNOMED    map[string][]*Condition
	condICD       map[icdKey][]icdEntry
	differentials []*Condition

	pearls []*Pearl
}

type rxEntry struct {
	ingredients []*Ingredient
	product     *Product // nil for an ingredient-level code
	code        *Code    // the ingredient-level code, nil for a product
	unverified  bool
}

type atcEntry struct {
	class      *DrugClass
	ingredient *Ingredient // nil for a class root
	code       string
	exclude    []string
}

type nameEntry struct {
	name        string   // as written in the data
	rest        []string // words after the first
	ingredients []*Ingredient
	unverified  bool
}

type icdEntry struct {
	cond   *Condition
	prefix bool
}

// icdKey is an ICD-10-CM code without its dot, upper-cased, in a fixed array so look-ups do not allocate.
type icdKey struct {
	n uint8
	b [8]byte
}

// makeICDKey normalises "g47.62" and "G4762" alike; ok is false for anything that cannot be a code.
func makeICDKey(code string) (k icdKey, ok bool) {
	for i := 0; i < len(code); i++ {
		ch := code[i]
		switch {
		case ch == '.':
			continue
		case 'a' <= ch && ch <= 'z':
			ch -= 'a' - 'A'
		case ('A' <= ch && ch <= 'Z') || ('0' <= ch && ch <= '9'):
		default:
			return icdKey{}, false
		}
		if int(k.n) == len(k.b) {
			return icdKey{}, false
		}
		k.b[k.n] = ch
		k.n++
	}
	return k, k.n > 0
}

// truncate returns the key of the first n characters.
func (k icdKey) truncate(n uint8) icdKey {
	for i := n; i < k.n; i++ {
		k.b[i] = 0
	}
	k.n = n
	return k
}

// systemOf maps a FHIR code system URI (or its HL7 OID) to the terminologies the base knows.
func systemOf(uri string) codeSystem {
	switch uri {
	case fhir.SystemRxNorm, "urn:oid:2.16.840.1.113883.6.88":
		return sysRxNorm
	case fhir.SystemATC, "urn:oid:2.16.840.1.113883.6.73":
		return sysATC
	case fhir.SystemSNOMED, "urn:oid:2.16.840.1.113883.6.96":
		return sysSNOMED
	case fhir.SystemICD10CM, "urn:oid:2.16.840.1.113883.6.90":
		return sysICD10CM
	case fhir.SystemLOINC, "urn:oid:2.16.840.1.113883.6.1":
		return sysLOINC
	}
	return sysUnknown
}

// newBase resolves references between items and builds the indexes; the content is already validated.
func newBase(c *content, version string) (*Base, error) {
	b := &Base{
		version:      version,
		sources:      c.sources.Sources,
		sourceBySeed: map[string]*Source{},
		triggers:     c.triggers.Triggers,
		trigSNOMED:   map[string]*Code{},
		trigICD:      map[icdKey]*Code{},
		classes:      c.meds.Classes,
		ingredients:  map[string]*Ingredient{},
		ingOrder:     map[*Ingredient]int{},
		classOrder:   map[*DrugClass]int{},
		products:     c.meds.Products,
		combos:       c.meds.CombinationBrands,
		rxnorm:       map[string]rxEntry{},
		atcExact:     map[string]atcEntry{},
		atcPrefix:    map[string][]atcEntry{},
		salts:        map[string]struct{}{},
		names:        map[string][]nameEntry{},
		lookback:     c.labs.LookbackMonths,
		workups:      c.labs.Workup,
		labs:         c.labs.Labs,
		labByID:      map[string]*Lab{},
		labByLOINC:   map[string]*Lab{},
		conditions:   c.conditions.Conditions,
		condSNOMED:   map[string][]*Condition{},
		condICD:      map[icdKey][]icdEntry{},
		pearls:       c.pearls.Pearls,
	}
	for _, w := range saltWords() {
		b.salts[w] = struct{}{}
	}
	for _, s := range b.sources {
		b.sourceBySeed[s.Seed] = s
	}
	b.resolveCitations(c)

	for i := range b.triggers.SNOMED {
		b.trigSNOMED[b.triggers.SNOMED[i].Code] = &b.triggers.SNOMED[i]
	}
	for i := range b.triggers.ICD10CM {
		k, _ := makeICDKey(b.triggers.ICD10CM[i].Code)
		b.trigICD[k] = &b.triggers.ICD10CM[i]
	}

	if err := b.indexMedications(); err != nil {
		return nil, err
	}
	b.indexLabs()
	b.indexConditions()
	return b, nil
}

// resolveCitations fills in the titles of every citation from its source.
func (b *Base) resolveCitations(c *content) {
	fill := func(cs []Citation) {
		for i := range cs {
			s := b.sourceBySeed[cs[i].Seed]
			cs[i].SourceTitle = s.Title
			for _, r := range s.Refs {
				if r.ID == cs[i].Ref {
					cs[i].RefTitle = r.Title
				}
			}
		}
	}
	fill(c.triggers.Triggers.Evidence)
	b.triggers.Evidence = c.triggers.Triggers.Evidence
	for _, cl := range b.classes {
		fill(cl.Evidence)
	}
	for _, w := range b.workups {
		fill(w.Evidence)
	}
	for _, cd := range b.conditions {
		fill(cd.Evidence)
		if d := cd.Differential; d != nil {
			for i := range d.Features {
				fill(d.Features[i].Evidence)
			}
			if d.Question != nil {
				fill(d.Question.Evidence)
			}
		}
	}
	for _, p := range b.pearls {
		fill(p.Evidence)
	}
}

func (b *Base) indexMedications() error {
	for ci, cl := range b.classes {
		b.classOrder[cl] = ci
		for _, p := range cl.ATCPrefixes {
			b.atcPrefix[p.Code] = append(b.atcPrefix[p.Code], atcEntry{class: cl, code: p.Code, exclude: p.Exclude})
		}
		for _, ing := range cl.Ingredients {
			ing.Class = cl
			b.ingredients[ing.ID] = ing
			b.ingOrder[ing] = len(b.ingOrder)
			for i := range ing.RxNorm {
				code := &ing.RxNorm[i]
				b.rxnorm[code.Code] = rxEntry{ingredients: []*Ingredient{ing}, code: code, unverified: code.Unverified}
			}
			for _, code := range ing.ATC {
				e := atcEntry{class: cl, ingredient: ing, code: code.Code}
				if code.Prefix {
					b.atcPrefix[code.Code] = append(b.atcPrefix[code.Code], e)
				} else {
					b.atcExact[code.Code] = e
				}
			}
			b.addName(ing.Name, false, ing)
			for _, n := range ing.Synonyms {
				b.addName(n, false, ing)
			}
			for _, n := range ing.Brands {
				b.addName(n, false, ing)
			}
			for _, n := range ing.BrandsUnverified {
				b.addName(n, true, ing)
			}
		}
	}
	for _, cb := range b.combos {
		ings := make([]*Ingredient, len(cb.Ingredients))
		for i, id := range cb.Ingredients {
			ings[i] = b.ingredients[id]
		}
		b.addName(cb.Name, cb.Unverified, ings...)
	}
	for _, p := range b.products {
		p.Resolved = make([]*Ingredient, len(p.Ingredients))
		for i, id := range p.Ingredients {
			p.Resolved[i] = b.ingredients[id]
		}
		if prev, ok := b.rxnorm[p.RxCUI]; ok {
			return fmt.Errorf("RxNorm %s is both a product and a code of %s", p.RxCUI, prev.ingredients[0].ID)
		}
		b.rxnorm[p.RxCUI] = rxEntry{ingredients: p.Resolved, product: p, unverified: p.Unverified}
	}
	return nil
}

// addName indexes a name by its first word; one-word ingredient names and synonyms also get typo tolerance.
func (b *Base) addName(name string, unverified bool, ings ...*Ingredient) {
	toks := nameTokens(name)
	e := nameEntry{name: name, rest: toks[1:], ingredients: ings, unverified: unverified}
	b.names[toks[0]] = append(b.names[toks[0]], e)
	if len(toks) == 1 && len(toks[0]) >= minFuzzyLen && !unverified && len(ings) == 1 && isGenericName(ings[0], name) {
		b.fuzzy = append(b.fuzzy, nameEntry{name: toks[0], ingredients: ings})
	}
}

// isGenericName reports whether name is the ingredient's name or a synonym (brands get no typo tolerance).
func isGenericName(ing *Ingredient, name string) bool {
	if name == ing.Name {
		return true
	}
	for _, s := range ing.Synonyms {
		if s == name {
			return true
		}
	}
	return false
}

func (b *Base) indexLabs() {
	for _, l := range b.labs {
		b.labByID[l.ID] = l
		for _, code := range l.Results {
			b.labByLOINC[code.Code] = l
		}
		for i := range l.Units {
			l.Units[i].Multiply = factor(l.Units[i].Multiply)
			l.Units[i].Divide = factor(l.Units[i].Divide)
		}
	}
	for _, w := range b.workups {
		w.LookbackMonths = b.lookback
		w.Resolved = make([]*Lab, len(w.Labs))
		for i, id := range w.Labs {
			w.Resolved[i] = b.labByID[id]
			w.Resolved[i].Workup = w
		}
	}
}

func (b *Base) indexConditions() {
	for _, cd := range b.conditions {
		for _, code := range cd.SNOMED {
			b.condSNOMED[code.Code] = append(b.condSNOMED[code.Code], cd)
		}
		for _, code := range cd.ICD10CM {
			k, _ := makeICDKey(code.Code)
			b.condICD[k] = append(b.condICD[k], icdEntry{cond: cd, prefix: code.Prefix})
		}
		if cd.Differential != nil {
			b.differentials = append(b.differentials, cd)
		}
	}
}

// Version is the content version shown on cards: the data's semantic version plus the first 8 hex digits
// of a SHA-256 over the data files, e.g. "1.0.0+3f9a1c2e".
func (b *Base) Version() string { return b.version }

// Sources lists the seed documents the content cites, in file order.
func (b *Base) Sources() []*Source { return b.sources }

// Source returns the seed document with the given file name, or nil.
func (b *Base) Source(seed string) *Source { return b.sourceBySeed[seed] }

// Triggers returns the codes that mean the patient has leg cramps, with their evidence.
func (b *Base) Triggers() TriggerSet { return b.triggers }

// Trigger returns the trigger code matching c (SNOMED CT or ICD-10-CM, exact match), or nil.
// It does not allocate.
func (b *Base) Trigger(c fhir.Coding) *Code {
	switch systemOf(c.System) {
	case sysSNOMED:
		return b.trigSNOMED[c.Code]
	case sysICD10CM:
		if k, ok := makeICDKey(c.Code); ok {
			return b.trigICD[k]
		}
	}
	return nil
}

// IsTrigger reports whether c means the patient has leg cramps. It does not allocate.
func (b *Base) IsTrigger(c fhir.Coding) bool { return b.Trigger(c) != nil }

// Classes lists the cramp-inducing drug classes in data order.
func (b *Base) Classes() []*DrugClass { return b.classes }

// Products lists the curated product-level RxNorm codes.
func (b *Base) Products() []*Product { return b.products }

// CombinationBrands lists brand names that stand for several ingredients.
func (b *Base) CombinationBrands() []CombinationBrand { return b.combos }

// LookbackMonths is how many months back a lab result still counts (the default for every workup item).
func (b *Base) LookbackMonths() int { return b.lookback }

// Workups lists the work-up tests in data order.
func (b *Base) Workups() []*Workup { return b.workups }

// Labs lists every analyte in data order.
func (b *Base) Labs() []*Lab { return b.labs }

// Lab returns the analyte with the given id (e.g. "magnesium"), or nil.
func (b *Base) Lab(id string) *Lab { return b.labByID[id] }

// LabFor returns the analyte whose result c is (a LOINC coding), or nil. It does not allocate.
func (b *Base) LabFor(c fhir.Coding) *Lab {
	if systemOf(c.System) != sysLOINC {
		return nil
	}
	return b.labByLOINC[c.Code]
}

// Conditions lists every associated condition and differential in data order.
func (b *Base) Conditions() []*Condition { return b.conditions }

// Differentials lists the conditions that carry a Differential, in data order.
func (b *Base) Differentials() []*Condition { return b.differentials }

// Pearls lists the clinical pearls and pitfalls in data order.
func (b *Base) Pearls() []*Pearl { return b.pearls }

// AppendConditions appends to dst every condition c codes for and returns the extended slice.
// SNOMED CT matches exactly; ICD-10-CM matches exactly or under a prefix ("E11.42" finds both diabetes
// and diabetic neuropathy), dots and case ignored. A condition already in dst is not added again.
// It does not allocate when dst has room.
func (b *Base) AppendConditions(dst []*Condition, c fhir.Coding) []*Condition {
	switch systemOf(c.System) {
	case sysSNOMED:
		for _, cd := range b.condSNOMED[c.Code] {
			dst = appendCondition(dst, cd)
		}
	case sysICD10CM:
		k, ok := makeICDKey(c.Code)
		if !ok {
			return dst
		}
		for n := k.n; n >= 1; n-- {
			for _, e := range b.condICD[k.truncate(n)] {
				if e.prefix || n == k.n {
					dst = appendCondition(dst, e.cond)
				}
			}
		}
	}
	return dst
}

func appendCondition(dst []*Condition, cd *Condition) []*Condition {
	for _, have := range dst {
		if have == cd {
			return dst
		}
	}
	return append(dst, cd)
}
