package knowledge

import (
	"fmt"
	"slices"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// Base is the loaded, validated and indexed knowledge base. It is immutable after Load and safe for
// concurrent use; the slices and pointers it returns are shared and must not be modified.
type Base struct {
	version string

	sources      []*Source
	sourceBySeed map[string]*Source
	publications []*Publication

	triggers   TriggerSet
	trigSNOMED map[string]*Code
	trigICD    map[icdKey]*Code

	classes     []*DrugClass
	ingredients map[string]*Ingredient
	ingOrder    map[*Ingredient]int
	classOrder  map[*DrugClass]int
	products    []*Product
	combos      []CombinationBrand
	warnings    []*DrugWarning
	rxnorm      map[string]rxEntry
	atc         map[string][]atcEntry
	forms       map[string]classSet // exclude_forms word -> classes it takes a medication out of
	salts       map[string]struct{}
	names       map[string][]nameEntry // first word -> names starting with it
	fuzzy       []nameEntry            // one-word names long enough for typo tolerance

	lookback   int
	workups    []*Workup
	panels     []*Panel
	labs       []*Lab
	labByID    map[string]*Lab
	labByLOINC map[string]*Lab
	classByID  map[string]*DrugClass
	condByID   map[string]*Condition
	pearlByID  map[string]*Pearl

	conditions    []*Condition
	condSNOMED    map[string][]*Condition
	condICD       map[icdKey][]*Condition
	differentials []*Condition

	pearls []*Pearl

	valueSets    []*ValueSet
	valueSetByID map[string]*ValueSet
}

// classSet is a set of drug classes by their index in data order (the base holds fewer than 64).
type classSet uint64

type rxEntry struct {
	ingredients []*Ingredient
	product     *Product // nil for an ingredient-level code
	code        *Code    // the ingredient-level code, nil for a product
	unverified  bool
}

type atcEntry struct {
	class      *DrugClass
	ingredient *Ingredient // nil when the code names the class only (a combination "with diuretics")
	unverified bool
}

type nameEntry struct {
	name        string   // as written in the data
	rest        []string // words after the first
	ingredients []*Ingredient
	unverified  bool
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
		publications: c.sources.Publications,
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
		warnings:     c.meds.Warnings,
		rxnorm:       map[string]rxEntry{},
		atc:          map[string][]atcEntry{},
		forms:        map[string]classSet{},
		salts:        map[string]struct{}{},
		names:        map[string][]nameEntry{},
		lookback:     c.labs.LookbackMonths,
		workups:      c.labs.Workup,
		panels:       c.labs.Panels,
		labs:         append(append([]*Lab(nil), c.labs.Labs...), c.labs.Adjuncts...),
		labByID:      map[string]*Lab{},
		labByLOINC:   map[string]*Lab{},
		classByID:    map[string]*DrugClass{},
		condByID:     map[string]*Condition{},
		pearlByID:    map[string]*Pearl{},
		conditions:   c.conditions.Conditions,
		condSNOMED:   map[string][]*Condition{},
		condICD:      map[icdKey][]*Condition{},
		pearls:       c.pearls.Pearls,
		valueSets:    c.valueSets,
		valueSetByID: map[string]*ValueSet{},
	}
	for _, vs := range b.valueSets {
		b.valueSetByID[vs.ID] = vs
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
	for _, p := range b.pearls {
		b.pearlByID[p.ID] = p
	}
	return b, nil
}

// resolveCitations fills in the titles of every citation from its source.
func (b *Base) resolveCitations(c *content) {
	pubs := map[string]*Publication{}
	for _, p := range c.sources.Publications {
		pubs[p.ID] = p
	}
	resolve := func(ct *Citation, p *Publication) {
		ct.Cite, ct.Primary, ct.Resolved = p.Cite, true, p
	}
	fill := func(cs []Citation) {
		for i := range cs {
			if cs[i].Seed == "" {
				cs[i].SourceTitle = pubs[cs[i].Publication].Title
				resolve(&cs[i], pubs[cs[i].Publication])
				continue
			}
			s := b.sourceBySeed[cs[i].Seed]
			cs[i].SourceTitle = s.Title
			cs[i].Cite = s.Cite
			for _, r := range s.Refs {
				if r.ID == cs[i].Ref {
					cs[i].RefTitle = r.Title
					if p := pubs[r.Publication]; p != nil {
						resolve(&cs[i], p)
					}
				}
			}
		}
	}
	fill(c.triggers.Triggers.Evidence)
	b.triggers.Evidence = c.triggers.Triggers.Evidence
	for _, cl := range b.classes {
		fill(cl.Evidence)
		fill(cl.StrengthEvidence)
		fill(cl.AlsoTreatment)
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

// indexMedications indexes the drug classes' value sets: every RxNorm and ATC code to the ingredients
// (or, for a code naming the class only, the class) it holds. Names are indexed from the YAML.
func (b *Base) indexMedications() error {
	if len(b.classes) > 64 {
		return fmt.Errorf("%d drug classes: the form filter holds at most 64", len(b.classes))
	}
	for ci, cl := range b.classes {
		b.classOrder[cl] = ci
		b.classByID[cl.ID] = cl
		for _, w := range cl.ExcludeForms {
			b.forms[w] |= 1 << ci
		}
		for _, ing := range cl.Ingredients {
			ing.Class = cl
			b.ingredients[ing.ID] = ing
			b.ingOrder[ing] = len(b.ingOrder)
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
	products := map[string]*Product{}
	for _, p := range b.products {
		p.Resolved = make([]*Ingredient, len(p.Ingredients))
		for i, id := range p.Ingredients {
			p.Resolved[i] = b.ingredients[id]
		}
		products[p.RxCUI] = p
	}
	ingCodes := map[string]*Code{}
	for _, ing := range b.ingredients {
		for i := range ing.RxNorm {
			ingCodes[ing.RxNorm[i].Code] = &ing.RxNorm[i]
		}
	}
	for _, cl := range b.classes {
		vs := b.valueSetByID[cl.ValueSet]
		for i := range vs.Expansion.Contains {
			e := &vs.Expansion.Contains[i]
			ids := e.Ingredients()
			switch systemOf(e.System) {
			case sysRxNorm:
				r := b.rxnorm[e.Code]
				for _, id := range ids {
					if ing := b.ingredients[id]; ing != nil && !slices.Contains(r.ingredients, ing) {
						r.ingredients = append(r.ingredients, ing)
					}
				}
				r.product = products[e.Code]
				r.code = ingCodes[e.Code]
				r.unverified = r.unverified || e.Unverified()
				b.rxnorm[e.Code] = r
			case sysATC:
				if len(ids) == 0 {
					b.atc[e.Code] = append(b.atc[e.Code], atcEntry{class: cl, unverified: e.Unverified()})
				}
				for _, id := range ids {
					b.atc[e.Code] = append(b.atc[e.Code], atcEntry{class: cl, ingredient: b.ingredients[id], unverified: e.Unverified()})
				}
			}
		}
	}
	for code, r := range b.rxnorm {
		if len(r.ingredients) == 0 {
			return fmt.Errorf("RxNorm %s names no known ingredient", code)
		}
	}
	for _, cb := range b.combos {
		ings := make([]*Ingredient, len(cb.Ingredients))
		for i, id := range cb.Ingredients {
			ings[i] = b.ingredients[id]
		}
		b.addName(cb.Name, cb.Unverified, ings...)
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
		l.Results = codesOf(b.valueSetByID[l.ValueSet], sysLOINC)
		for _, code := range l.Results {
			b.labByLOINC[code.Code] = l
		}
		for i := range l.Units {
			l.Units[i].Multiply = factor(l.Units[i].Multiply)
			l.Units[i].Divide = factor(l.Units[i].Divide)
		}
	}
	workupByID := make(map[string]*Workup, len(b.workups))
	for _, w := range b.workups {
		workupByID[w.ID] = w
	}
	for _, p := range b.panels {
		p.Resolved = make([]*Workup, len(p.Covers))
		for i, id := range p.Covers {
			p.Resolved[i] = workupByID[id]
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
		b.condByID[cd.ID] = cd
		for _, id := range cd.ValueSets {
			vs := b.valueSetByID[id]
			cd.SNOMED = append(cd.SNOMED, codesOf(vs, sysSNOMED)...)
			cd.ICD10CM = append(cd.ICD10CM, codesOf(vs, sysICD10CM)...)
		}
		for _, code := range cd.SNOMED {
			if !slices.Contains(b.condSNOMED[code.Code], cd) {
				b.condSNOMED[code.Code] = append(b.condSNOMED[code.Code], cd)
			}
		}
		for _, code := range cd.ICD10CM {
			k, _ := makeICDKey(code.Code)
			if !slices.Contains(b.condICD[k], cd) {
				b.condICD[k] = append(b.condICD[k], cd)
			}
		}
		if cd.Differential != nil {
			b.differentials = append(b.differentials, cd)
		}
	}
}

// codesOf lists a value set's codes of one system, for display and for the prefetch query.
func codesOf(vs *ValueSet, sys codeSystem) []Code {
	var out []Code
	for i := range vs.Expansion.Contains {
		e := &vs.Expansion.Contains[i]
		if systemOf(e.System) != sys {
			continue
		}
		out = append(out, Code{Code: e.Code, Display: e.Display, Source: "value set " + vs.ID, Unverified: e.Unverified()})
	}
	return out
}

// Version is the content version shown on cards: the data's semantic version plus the first 8 hex digits
// of a SHA-256 over the data files, e.g. "1.0.0+3f9a1c2e".
func (b *Base) Version() string { return b.version }

// Sources lists the seed documents the content cites, in file order.
func (b *Base) Sources() []*Source { return b.sources }

// Publications returns the primary sources: those seed references resolve to and those cited beyond the seeds.
func (b *Base) Publications() []*Publication { return b.publications }

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

// DrugWarnings lists the drugs warned against for leg cramps (quinine).
func (b *Base) DrugWarnings() []*DrugWarning { return b.warnings }

// CombinationBrands lists brand names that stand for several ingredients.
func (b *Base) CombinationBrands() []CombinationBrand { return b.combos }

// LookbackMonths is how many months back a lab result still counts (the default for every workup item).
func (b *Base) LookbackMonths() int { return b.lookback }

// Workups lists the work-up tests in data order.
func (b *Base) Workups() []*Workup { return b.workups }

// Panels lists the laboratory panels that cover several work-up tests, in data order.
func (b *Base) Panels() []*Panel { return b.panels }

// Labs lists every analyte in data order: the work-up labs, then the adjuncts
// (albumin), whose Workup is nil.
func (b *Base) Labs() []*Lab { return b.labs }

// Class returns the drug class with the given id (e.g. "loop-diuretic"), or nil.
func (b *Base) Class(id string) *DrugClass { return b.classByID[id] }

// Condition returns the condition with the given id (e.g. "pregnancy"), or nil.
func (b *Base) Condition(id string) *Condition { return b.condByID[id] }

// Pearl returns the pearl with the given id (e.g. "labs-when-suspected"), or nil.
func (b *Base) Pearl(id string) *Pearl { return b.pearlByID[id] }

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
// SNOMED CT and ICD-10-CM codes match the conditions' value sets exactly (ICD-10-CM dots and case ignored);
// a code in several value sets finds each condition ("E11.42" is diabetes and diabetic neuropathy).
// A condition already in dst is not added again. It does not allocate when dst has room.
func (b *Base) AppendConditions(dst []*Condition, c fhir.Coding) []*Condition {
	switch systemOf(c.System) {
	case sysSNOMED:
		for _, cd := range b.condSNOMED[c.Code] {
			dst = appendCondition(dst, cd)
		}
	case sysICD10CM:
		if k, ok := makeICDKey(c.Code); ok {
			for _, cd := range b.condICD[k] {
				dst = appendCondition(dst, cd)
			}
		}
	}
	return dst
}

// ValueSets lists the shipped value sets in id order.
func (b *Base) ValueSets() []*ValueSet { return b.valueSets }

// ValueSet returns the value set with the given id (e.g. "lab-magnesium"), or nil.
func (b *Base) ValueSet(id string) *ValueSet { return b.valueSetByID[id] }

func appendCondition(dst []*Condition, cd *Condition) []*Condition {
	for _, have := range dst {
		if have == cd {
			return dst
		}
	}
	return append(dst, cd)
}
