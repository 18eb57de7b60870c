package knowledge

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
)

var (
	reSemver     = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	reSeedFile   = regexp.MustCompile(`^[0-9]{3}_[0-9a-f]{16}\.txt$`)
	reID         = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	reLOINC      = regexp.MustCompile(`^[0-9]{1,7}-[0-9]$`)
	reSNOMED     = regexp.MustCompile(`^[1-9][0-9]{5,17}$`)
	reRxCUI      = regexp.MustCompile(`^[1-9][0-9]{0,7}$`)
	reICDCode    = regexp.MustCompile(`^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$`)
	reICDPrefix  = regexp.MustCompile(`^[A-Z]([0-9]([0-9A-Z](\.[0-9A-Z]{1,3})?)?)?$`)
	reATCCode    = regexp.MustCompile(`^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$`)
	reATCPrefix  = regexp.MustCompile(`^[A-Z]([0-9]{2}([A-Z]{1,2})?)?$`)
	validOps     = map[string]bool{"<": true, "<=": true, ">": true, ">=": true}
	validPearlKs = map[string]bool{"pearl": true, "pitfall": true}
)

// codeSystem names the terminologies the base holds codes of.
type codeSystem uint8

const (
	sysUnknown codeSystem = iota
	sysRxNorm
	sysATC
	sysSNOMED
	sysICD10CM
	sysLOINC
)

func (s codeSystem) String() string {
	switch s {
	case sysRxNorm:
		return "RxNorm"
	case sysATC:
		return "ATC"
	case sysSNOMED:
		return "SNOMED CT"
	case sysICD10CM:
		return "ICD-10-CM"
	case sysLOINC:
		return "LOINC"
	}
	return "unknown"
}

// checker collects every problem so a reviewer sees them all at once.
type checker struct {
	errs    []error
	sources map[string]map[string]bool // seed -> ref ids
	claims  map[claimKey]claim
}

type claimKey struct {
	sys  codeSystem
	code string
}

type claim struct {
	owner  string
	shared bool
}

func (c *checker) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// validate checks the decoded content; it reports every problem, joined.
func validate(ct *content) error {
	c := &checker{sources: map[string]map[string]bool{}, claims: map[claimKey]claim{}}
	c.checkSources(&ct.sources)
	vs := c.checkValueSets(ct.valueSets)
	c.checkTriggers(&ct.triggers.Triggers)
	c.checkMedications(&ct.meds, vs)
	c.checkLabs(&ct.labs, vs)
	c.checkConditions(ct.conditions.Conditions, vs)
	c.checkPearls(ct.pearls.Pearls)
	c.checkRules(ct)
	return errors.Join(c.errs...)
}

func (c *checker) checkSources(f *sourcesFile) {
	if !reSemver.MatchString(f.Version) {
		c.fail("sources: version %q is not a semantic version like 1.0.0", f.Version)
	}
	if len(f.Sources) == 0 {
		c.fail("sources: no sources")
	}
	for _, s := range f.Sources {
		if !reSeedFile.MatchString(s.Seed) {
			c.fail("sources: seed %q is not a seed file name like 000_0123456789abcdef.txt", s.Seed)
		}
		if c.sources[s.Seed] != nil {
			c.fail("sources: seed %s listed twice", s.Seed)
		}
		if s.Title == "" || s.CiteAs == "" || s.Cite == "" || s.Kind == "" {
			c.fail("sources: seed %s needs a title, cite_as, cite and kind", s.Seed)
		}
		refs := map[string]bool{}
		for _, r := range s.Refs {
			if r.ID == "" || refs[r.ID] {
				c.fail("sources: seed %s has an empty or repeated ref id %q", s.Seed, r.ID)
			}
			refs[r.ID] = true
		}
		if len(refs) == 0 {
			c.fail("sources: seed %s has no refs", s.Seed)
		}
		c.sources[s.Seed] = refs
	}
}

// checkCitations requires at least one citation, each naming a known seed and ref and a line.
func (c *checker) checkCitations(where string, cs []Citation) {
	if len(cs) == 0 {
		c.fail("%s: no evidence (every item must cite a seed)", where)
	}
	for _, ct := range cs {
		refs, ok := c.sources[ct.Seed]
		switch {
		case !ok:
			c.fail("%s: cites unknown seed %q", where, ct.Seed)
		case !refs[ct.Ref]:
			c.fail("%s: cites unknown ref %q of seed %s", where, ct.Ref, ct.Seed)
		}
		if ct.Line < 1 {
			c.fail("%s: citation of %s ref %q has no line", where, ct.Seed, ct.Ref)
		}
	}
}

// checkCode validates a code's format and check digit and records who claims it.
func (c *checker) checkCode(where string, sys codeSystem, code Code) {
	if code.Source == "" {
		c.fail("%s: %s code %q has no source", where, sys, code.Code)
	}
	if err := checkFormat(sys, code.Code, code.Prefix); err != nil {
		c.fail("%s: %w", where, err)
	}
	c.claim(where, sys, code.Code, code.SharedWith != "")
}

// claim records that owner holds code; a second claim fails unless one of them says why it is shared.
func (c *checker) claim(owner string, sys codeSystem, code string, shared bool) {
	k := claimKey{sys, code}
	if prev, ok := c.claims[k]; ok && !prev.shared && !shared && prev.owner != owner {
		c.fail("%s %s is claimed by both %s and %s (add shared_with to say why)", sys, code, prev.owner, owner)
		return
	}
	if _, ok := c.claims[k]; !ok {
		c.claims[k] = claim{owner: owner, shared: shared}
	}
}

// checkFormat validates one code of a system; prefixes are allowed for ICD-10-CM and ATC only.
func checkFormat(sys codeSystem, code string, prefix bool) error {
	if prefix && sys != sysICD10CM && sys != sysATC {
		return fmt.Errorf("%s code %q: prefix matching is only for ICD-10-CM and ATC", sys, code)
	}
	switch sys {
	case sysLOINC:
		if !reLOINC.MatchString(code) || !loincCheckDigitOK(code) {
			return fmt.Errorf("LOINC code %q is malformed or fails its mod-10 check digit", code)
		}
	case sysSNOMED:
		if !reSNOMED.MatchString(code) || !verhoeffOK(code) {
			return fmt.Errorf("SNOMED CT code %q is malformed or fails its Verhoeff check digit", code)
		}
	case sysRxNorm:
		if !reRxCUI.MatchString(code) {
			return fmt.Errorf("RxNorm code %q is not an RxCUI (1-8 digits)", code)
		}
	case sysICD10CM:
		re := reICDCode
		if prefix {
			re = reICDPrefix
		}
		if !re.MatchString(code) {
			return fmt.Errorf("ICD-10-CM code %q is malformed (prefix=%v)", code, prefix)
		}
	case sysATC:
		re := reATCCode
		if prefix {
			re = reATCPrefix
		}
		if !re.MatchString(code) {
			return fmt.Errorf("ATC code %q is malformed (prefix=%v)", code, prefix)
		}
	default:
		return fmt.Errorf("code %q of an unknown system", code)
	}
	return nil
}

// loincCheckDigitOK applies LOINC's mod-10 algorithm: from the right, double every other digit starting
// with the rightmost, sum all digits of the results, and the check digit brings the sum to a multiple of 10.
func loincCheckDigitOK(code string) bool {
	dash := strings.IndexByte(code, '-')
	body, check := code[:dash], int(code[dash+1]-'0')
	sum := 0
	for i := 0; i < len(body); i++ {
		d := int(body[len(body)-1-i] - '0')
		if i%2 == 0 {
			d *= 2
			d = d/10 + d%10
		}
		sum += d
	}
	return (10-sum%10)%10 == check
}

// Verhoeff tables (dihedral group D5), used by SNOMED CT identifiers.
var (
	verhoeffD = [10][10]uint8{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]uint8{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
)

// verhoeffOK reports whether a digit string, check digit included, passes the Verhoeff check.
func verhoeffOK(digits string) bool {
	c := uint8(0)
	for i := 0; i < len(digits); i++ {
		d := digits[len(digits)-1-i] - '0'
		c = verhoeffD[c][verhoeffP[i%8][d]]
	}
	return c == 0
}

func (c *checker) checkID(kind, id string, seen map[string]bool) {
	if !reID.MatchString(id) {
		c.fail("%s id %q must be lower-case words joined by hyphens", kind, id)
	}
	if seen[id] {
		c.fail("%s id %q is used twice", kind, id)
	}
	seen[id] = true
}

func (c *checker) checkTriggers(t *TriggerSet) {
	c.checkCitations("triggers", t.Evidence)
	if t.RecentMonths < 1 {
		c.fail("triggers: recent_months must be at least 1")
	}
	if len(t.ICD10CM)+len(t.SNOMED) == 0 {
		c.fail("triggers: no codes")
	}
	for _, code := range t.ICD10CM {
		if code.Prefix {
			c.fail("triggers: ICD-10-CM %s must match exactly (G47.6 also holds G47.61 periodic limb movements)", code.Code)
		}
		c.checkCode("triggers", sysICD10CM, code)
	}
	for _, code := range t.SNOMED {
		c.checkCode("triggers", sysSNOMED, code)
	}
}

func (c *checker) checkMedications(f *medicationsFile, valueSets map[string]*ValueSet) {
	classIDs, ingIDs := map[string]bool{}, map[string]bool{}
	names := map[string]string{} // normalised name -> ingredient id
	for _, cl := range f.Classes {
		c.checkID("class", cl.ID, classIDs)
		where := "class " + cl.ID
		if cl.Name == "" || cl.Group == "" {
			c.fail("%s: needs a name and a group", where)
		}
		c.checkCitations(where, cl.Evidence)
		if cl.Strength != StrengthStrong && cl.Strength != StrengthReported {
			c.fail("%s: strength %q must be %s or %s", where, cl.Strength, StrengthStrong, StrengthReported)
		}
		c.checkCitations(where+" strength", cl.StrengthEvidence)
		if len(cl.AlsoTreatment) > 0 {
			c.checkCitations(where+" also_treatment", cl.AlsoTreatment)
		}
		if cl.RecentDays < 0 {
			c.fail("%s: recent_days must not be negative", where)
		}
		vs := c.checkValueSetRef(where, cl.ValueSet, KindDrug, valueSets)
		for _, w := range cl.ExcludeForms {
			if toks := nameTokens(w); len(toks) != 1 || toks[0] != w {
				c.fail("%s: exclude_forms word %q must be one lower-case word", where, w)
			}
		}
		for _, p := range cl.ATCPrefixes {
			c.checkCode(where, sysATC, Code{Code: p.Code, Source: p.Source, Prefix: true})
			for _, ex := range p.Exclude {
				if !reATCPrefix.MatchString(ex) || !strings.HasPrefix(ex, p.Code) || ex == p.Code {
					c.fail("%s: ATC exclusion %q must be a longer root inside %s", where, ex, p.Code)
				}
			}
		}
		if len(cl.Ingredients) == 0 {
			c.fail("%s: no ingredients", where)
		}
		for _, ing := range cl.Ingredients {
			c.checkID("ingredient", ing.ID, ingIDs)
			w := "ingredient " + ing.ID
			if ing.Name == "" {
				c.fail("%s: no name", w)
			}
			if len(ing.RxNorm)+len(ing.ATC) == 0 && ing.Note == "" {
				c.fail("%s: needs an RxNorm or ATC code, or a note saying why it is recognised by name only", w)
			}
			for _, code := range ing.RxNorm {
				c.checkCode(w, sysRxNorm, code)
				c.checkInValueSet(w, vs, sysRxNorm, code.Code, ing.ID)
			}
			for _, code := range ing.ATC {
				if code.Prefix {
					c.fail("%s: ATC %s: an ingredient lists substance codes; class roots go in the class's atc_prefixes", w, code.Code)
				}
				c.checkCode(w, sysATC, code)
				c.checkInValueSet(w, vs, sysATC, code.Code, ing.ID)
			}
			all := append(append(append([]string{ing.Name}, ing.Synonyms...), ing.Brands...), ing.BrandsUnverified...)
			for _, n := range all {
				c.checkName(w, n, ing.ID, names)
			}
		}
	}
	for _, cb := range f.CombinationBrands {
		w := "combination brand " + cb.Name
		if len(cb.Ingredients) < 2 {
			c.fail("%s: a combination needs two or more ingredients", w)
		}
		for _, id := range cb.Ingredients {
			if !ingIDs[id] {
				c.fail("%s: unknown ingredient %q", w, id)
			}
		}
		c.checkName(w, cb.Name, "combination:"+strings.Join(cb.Ingredients, "+"), names)
	}
	for _, p := range f.Products {
		w := "product " + p.RxCUI
		if p.Display == "" {
			c.fail("%s: no display", w)
		}
		c.checkCode(w, sysRxNorm, Code{Code: p.RxCUI, Source: p.Source, SharedWith: p.SharedWith})
		if len(p.Ingredients) == 0 {
			c.fail("%s: no ingredients", w)
		}
		for _, id := range p.Ingredients {
			if !ingIDs[id] {
				c.fail("%s: unknown ingredient %q", w, id)
				continue
			}
			for _, cl := range f.Classes {
				for _, ing := range cl.Ingredients {
					if ing.ID == id {
						c.checkInValueSet(w, valueSets[cl.ValueSet], sysRxNorm, p.RxCUI, id)
					}
				}
			}
		}
	}
}

// checkInValueSet fails when a code the data names for an ingredient is not in the class's value set
// with that ingredient: the shipped value sets are older than the data and must be regenerated.
func (c *checker) checkInValueSet(where string, vs *ValueSet, sys codeSystem, code, ingredient string) {
	if vs == nil {
		return
	}
	for i := range vs.Expansion.Contains {
		e := &vs.Expansion.Contains[i]
		if e.Code == code && systemOf(e.System) == sys {
			for _, id := range e.Ingredients() {
				if id == ingredient {
					return
				}
			}
		}
	}
	c.fail("%s: %s %s is not in value set %s as %s (run go run ./knowledge/cmd/valuesets)", where, sys, code, vs.ID, ingredient)
}

// checkName refuses names that are empty after normalising, made only of salt words, or claimed twice.
func (c *checker) checkName(where, name, owner string, seen map[string]string) {
	toks := nameTokens(name)
	if len(toks) == 0 {
		c.fail("%s: name %q has no matchable words (salt words like sodium or potassium are ignored)", where, name)
		return
	}
	key := strings.Join(toks, " ")
	if prev, ok := seen[key]; ok && prev != owner {
		c.fail("%s: name %q is also a name of %s", where, name, prev)
		return
	}
	seen[key] = owner
}

func (c *checker) checkLabs(f *labsFile, valueSets map[string]*ValueSet) {
	if f.LookbackMonths < 1 {
		c.fail("labs: lookback_months must be at least 1")
	}
	labIDs, workupIDs := map[string]bool{}, map[string]bool{}
	inWorkup := map[string]int{}
	for _, w := range f.Workup {
		c.checkID("workup", w.ID, workupIDs)
		where := "workup " + w.ID
		c.checkCitations(where, w.Evidence)
		if err := checkFormat(sysLOINC, w.Order.Code, false); err != nil || w.Order.Source == "" {
			c.fail("%s: order code %q must be a valid LOINC code with a source", where, w.Order.Code)
		}
		if w.Short == "" {
			c.fail("%s: no short name for its order button", where)
		}
		for _, id := range w.Labs {
			inWorkup[id]++
		}
	}
	panelIDs := map[string]bool{}
	for _, p := range f.Panels {
		c.checkID("panel", p.ID, panelIDs)
		where := "panel " + p.ID
		for _, code := range append([]Code{p.Order}, p.Also...) {
			if err := checkFormat(sysLOINC, code.Code, false); err != nil || code.Source == "" {
				c.fail("%s: code %q must be a valid LOINC code with a source", where, code.Code)
			}
		}
		if p.Name == "" || len(p.Covers) < 2 {
			c.fail("%s: needs a name and at least two work-up tests it covers", where)
		}
		for _, id := range p.Covers {
			if !workupIDs[id] {
				c.fail("%s: covers unknown workup %q", where, id)
			}
		}
	}
	for _, l := range append(append([]*Lab(nil), f.Labs...), f.Adjuncts...) {
		c.checkID("lab", l.ID, labIDs)
		where := "lab " + l.ID
		if want := adjunctCount(f, l); inWorkup[l.ID] != want {
			c.fail("%s: must belong to %d workup items (found %d); adjuncts belong to none", where, want, inWorkup[l.ID])
		}
		c.checkValueSetRef(where, l.ValueSet, KindLab, valueSets)
		c.checkUnits(where, l)
		for _, t := range append(append([]Threshold(nil), l.Thresholds...), l.Critical...) {
			if !validOps[t.Op] || t.Finding == "" || t.Source == "" || math.IsNaN(t.Value) {
				c.fail("%s: threshold %q needs a finding, an op among < <= > >=, a value and a source", where, t.Finding)
			}
			if t.Sex != "" && t.Sex != "male" && t.Sex != "female" {
				c.fail("%s: threshold %q: sex %q must be male or female", where, t.Finding, t.Sex)
			}
		}
		for _, t := range l.Critical {
			if t.Action == "" {
				c.fail("%s: critical limit %q needs an action", where, t.Finding)
			}
		}
		for _, m := range l.MovedBy {
			if (m.Direction != "low" && m.Direction != "high") || m.Name == "" || len(m.Names) == 0 || m.Source == "" {
				c.fail("%s: moved_by %q needs a direction low or high, a name, names and a source", where, m.Name)
			}
		}
		if a := l.AlbuminCorrection; a != nil && (a.Factor <= 0 || a.Reference <= 0 || a.WithinDays < 0 || a.Source == "") {
			c.fail("%s: albumin_correction needs a positive factor and reference, a window and a source", where)
		}
		if l.AlbuminCorrection != nil && l.NeverCorrected {
			c.fail("%s: cannot be both corrected and never corrected", where)
		}
		if ch := l.Chronic; ch != nil && (ch.Months < 1 || ch.Finding == "" || ch.Source == "") {
			c.fail("%s: chronic needs months, a finding and a source", where)
		}
	}
	for id := range inWorkup {
		if !labIDs[id] {
			c.fail("workup: unknown lab %q", id)
		}
	}
	// The code a work-up orders must be one its results are recognised by, or the order would not satisfy it.
	labVS := map[string]*ValueSet{}
	for _, l := range f.Labs {
		labVS[l.ID] = valueSets[l.ValueSet]
	}
	for _, w := range f.Workup {
		found := false
		for _, id := range w.Labs {
			if vs := labVS[id]; vs != nil && vs.holds(sysLOINC, w.Order.Code) {
				found = true
			}
		}
		if !found {
			c.fail("workup %s: order code %s is in none of its labs' value sets", w.ID, w.Order.Code)
		}
	}
}

func (c *checker) checkUnits(where string, l *Lab) {
	canonicalOK := false
	for i, u := range l.Units {
		if u.Code == "" || u.Source == "" || u.Multiply < 0 || u.Divide < 0 {
			c.fail("%s: unit %q needs a code, a source and non-negative factors", where, u.Code)
		}
		if u.Code == l.CanonicalUnit && factor(u.Multiply) == 1 && factor(u.Divide) == 1 && u.Add == 0 {
			canonicalOK = true
		}
		// Units are matched case-insensitively as a fallback, so units equal but for case must convert alike.
		for _, v := range l.Units[:i] {
			if strings.EqualFold(u.Code, v.Code) && (factor(u.Multiply) != factor(v.Multiply) ||
				factor(u.Divide) != factor(v.Divide) || u.Add != v.Add || u.Code == v.Code) {
				c.fail("%s: units %q and %q collide", where, v.Code, u.Code)
			}
		}
	}
	if !canonicalOK {
		c.fail("%s: canonical unit %q must be listed with no conversion", where, l.CanonicalUnit)
	}
}

func (c *checker) checkConditions(cs []*Condition, valueSets map[string]*ValueSet) {
	ids := map[string]bool{}
	for _, cd := range cs {
		c.checkID("condition", cd.ID, ids)
		where := "condition " + cd.ID
		if cd.Name == "" || cd.Category == "" {
			c.fail("%s: needs a name and a category", where)
		}
		if !cd.Associated && cd.Differential == nil {
			c.fail("%s: must be associated, a differential, or both", where)
		}
		if cd.Associated {
			c.checkCitations(where, cd.Evidence)
		} else if len(cd.Evidence) > 0 {
			c.fail("%s: evidence is for associated conditions; cite a differential in its features", where)
		}
		if d := cd.Differential; d != nil {
			if len(d.Features) == 0 {
				c.fail("%s: a differential needs distinguishing features", where)
			}
			for _, f := range d.Features {
				c.checkStatement(where, f)
			}
			if d.Question != nil {
				c.checkStatement(where, *d.Question)
			}
		}
		if len(cd.ValueSets) == 0 {
			c.fail("%s: no value sets", where)
		}
		// Conditions may share codes (E11.42 is both diabetes and diabetic neuropathy): no claim check here.
		for _, id := range cd.ValueSets {
			c.checkValueSetRef(where, id, KindCondition, valueSets)
		}
	}
}

func (c *checker) checkStatement(where string, s Statement) {
	if strings.TrimSpace(s.Text) == "" {
		c.fail("%s: empty statement", where)
	}
	c.checkCitations(where, s.Evidence)
}

func (c *checker) checkPearls(ps []*Pearl) {
	ids := map[string]bool{}
	for _, p := range ps {
		c.checkID("pearl", p.ID, ids)
		if !validPearlKs[p.Kind] {
			c.fail("pearl %s: kind %q must be pearl or pitfall", p.ID, p.Kind)
		}
		c.checkStatement("pearl "+p.ID, Statement{Text: p.Text, Evidence: p.Evidence})
	}
}

// adjunctCount is how many work-up items a lab must belong to: none for an adjunct, else one.
func adjunctCount(f *labsFile, l *Lab) int {
	for _, a := range f.Adjuncts {
		if a == l {
			return 0
		}
	}
	return 1
}

// checkRules checks the references the rules follow between files: lab,
// drug class and condition ids named by lab effects, recommendations,
// thresholds, corrections and chronicity.
func (c *checker) checkRules(ct *content) {
	labs, classes, conds := map[string]*Lab{}, map[string]bool{}, map[string]bool{}
	for _, l := range append(append([]*Lab(nil), ct.labs.Labs...), ct.labs.Adjuncts...) {
		labs[l.ID] = l
	}
	for _, cl := range ct.meds.Classes {
		classes[cl.ID] = true
	}
	for _, cd := range ct.conditions.Conditions {
		conds[cd.ID] = true
		if p := cd.Plausible; p != nil && (p.Source == "" || (p.Sex != "" && p.Sex != "male" && p.Sex != "female") || p.MinAge < 0 || (p.MaxAge != 0 && p.MaxAge < p.MinAge)) {
			c.fail("condition %s: plausible needs a source, a sex of male or female, and ages in order", cd.ID)
		}
		if cd.RecentMonths < 0 {
			c.fail("condition %s: recent_months must not be negative", cd.ID)
		}
		if tr := cd.Transient; tr != nil {
			if tr.Months < 1 || tr.Source == "" {
				c.fail("condition %s: transient needs months (at least 1) and a source", cd.ID)
			}
			if _, ok := labs[tr.Lab]; tr.Lab != "" && !ok {
				c.fail("condition %s transient: unknown lab %q", cd.ID, tr.Lab)
			}
		}
		if cd.Strength != "" && cd.Strength != StrengthStrong && cd.Strength != StrengthReported {
			c.fail("condition %s: strength %q must be %s or %s", cd.ID, cd.Strength, StrengthStrong, StrengthReported)
		}
	}
	need := func(where, kind, id string, ok bool) {
		if !ok {
			c.fail("%s: unknown %s %q", where, kind, id)
		}
	}
	for _, cd := range ct.conditions.Conditions {
		for _, id := range cd.Specialises {
			need("condition "+cd.ID+" specialises", "condition", id, conds[id] && id != cd.ID)
		}
	}
	for _, cl := range ct.meds.Classes {
		for _, e := range cl.LabEffects {
			_, ok := labs[e.Lab]
			need("class "+cl.ID+" lab_effects", "lab", e.Lab, ok)
			if (e.Direction != "low" && e.Direction != "high") || e.Source == "" {
				c.fail("class %s: lab effect on %s needs a direction (low or high) and a source", cl.ID, e.Lab)
			}
		}
	}
	for _, w := range ct.labs.Workup {
		r := w.RecommendWhen
		if r == nil {
			continue
		}
		where := "workup " + w.ID + " recommend_when"
		if r.Source == "" || len(r.DrugClasses)+len(r.Conditions)+len(r.History) == 0 && r.PriorResult == nil {
			c.fail("%s: needs a source and at least one reason", where)
		}
		for _, id := range r.DrugClasses {
			need(where, "drug class", id, classes[id])
		}
		for _, id := range append(append([]string(nil), r.Conditions...), r.History...) {
			need(where, "condition", id, conds[id])
		}
		if t := r.PriorResult; t != nil && (!validOps[t.Op] || t.Finding == "" || t.Source == "") {
			c.fail("%s: prior_result needs a finding, an op and a source", where)
		}
	}
	for _, l := range labs {
		where := "lab " + l.ID
		for _, t := range l.Thresholds {
			for _, id := range t.KnownBy {
				need(where+" known_by", "condition", id, conds[id])
			}
		}
		if a := l.AlbuminCorrection; a != nil {
			_, ok := labs[a.Albumin]
			need(where+" albumin_correction", "lab", a.Albumin, ok)
		}
		if ch := l.Chronic; ch != nil {
			for _, id := range ch.Conditions {
				need(where+" chronic", "condition", id, conds[id])
			}
		}
		if l.DefersTo != "" {
			d, ok := labs[l.DefersTo]
			need(where+" defers_to", "lab", l.DefersTo, ok)
			if ok && !sameWorkup(ct.labs.Workup, l.ID, d.ID) {
				c.fail("%s: defers_to %s must be a lab of the same workup item", where, d.ID)
			}
		}
	}
}

// sameWorkup reports whether two labs belong to one workup item.
func sameWorkup(ws []*Workup, a, b string) bool {
	for _, w := range ws {
		hasA, hasB := false, false
		for _, id := range w.Labs {
			hasA = hasA || id == a
			hasB = hasB || id == b
		}
		if hasA && hasB {
			return true
		}
	}
	return false
}

// factor turns a factor left out of the file (0) into 1.
func factor(f float64) float64 {
	if f == 0 {
		return 1
	}
	return f
}
