package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/cramp-cds/cramp-cds/knowledge"
)

// entry is one code of the value set being built.
type entry struct {
	concept
	ingredients []string
	notes       []string // code-source texts: why a hand-added code is there and where it was checked
	unverified  bool
}

// builder accumulates one value set.
type builder struct {
	r        recipe
	src      *sources
	entries  map[string]*entry // system|code
	used     map[string]knowledge.ValueSetSource
	newest   string // the newest source date used, YYYY-MM-DD
	includes []knowledge.ComposeSet
	excluded map[string][]knowledge.ComposeConcept // system -> codes dropped
	listed   map[string][]knowledge.ComposeConcept // system -> codes listed: kept by a narrowed pick, or added by hand
}

func build(r recipe, src *sources, meds *medications) (*knowledge.ValueSet, error) {
	b := &builder{r: r, src: src, entries: map[string]*entry{}, used: map[string]knowledge.ValueSetSource{},
		excluded: map[string][]knowledge.ComposeConcept{}, listed: map[string][]knowledge.ComposeConcept{}}
	if r.Drug != "" {
		if err := b.drug(meds); err != nil {
			return nil, err
		}
	}
	for _, p := range r.From {
		if err := b.pick(p); err != nil {
			return nil, err
		}
	}
	for _, a := range r.Add {
		if err := b.add(a); err != nil {
			return nil, err
		}
	}
	if err := b.exclude(); err != nil {
		return nil, err
	}
	// A drug class may be recognised by name only (iron sucrose has no verified RxNorm or ATC code).
	if len(b.entries) == 0 && r.Drug == "" {
		return nil, fmt.Errorf("no codes")
	}
	return b.valueSet(), nil
}

func (b *builder) put(c concept, ingredients []string, note string, unverified bool) {
	k := c.system + "|" + c.code
	e := b.entries[k]
	if e == nil {
		e = &entry{concept: c}
		b.entries[k] = e
	}
	for _, id := range ingredients {
		if !slices.Contains(e.ingredients, id) {
			e.ingredients = append(e.ingredients, id)
		}
	}
	if note != "" && !slices.Contains(e.notes, note) {
		e.notes = append(e.notes, note)
	}
	e.unverified = e.unverified || unverified
}

// use records that a source contributed, for the ValueSet's provenance.
func (b *builder) use(name, path, version string) {
	d := b.src.defs[name]
	key := name + "|" + path
	b.used[key] = knowledge.ValueSetSource{Repository: d.Repository, Commit: d.Commit, Path: path, Version: version, Licence: d.Licence}
	if d.Date > b.newest {
		b.newest = d.Date
	}
}

func (b *builder) vsacFile(source, oid string) (*vsacFile, error) {
	files, ok := b.src.vsac[source]
	if !ok {
		return nil, fmt.Errorf("source %q is not a vsac source", source)
	}
	f := files[oid]
	if f == nil {
		return nil, fmt.Errorf("VSAC value set %s is not in source %s", oid, source)
	}
	if f.contains == nil {
		return nil, fmt.Errorf("VSAC value set %s: %s", oid, f.title)
	}
	return f, nil
}

func (b *builder) pick(p pick) error {
	f, err := b.vsacFile(p.Source, p.OID)
	if err != nil {
		return err
	}
	var keep *regexp.Regexp
	if p.Display != "" {
		if keep, err = regexp.Compile("(?i)" + p.Display); err != nil {
			return fmt.Errorf("display pattern of %s: %w", p.OID, err)
		}
	}
	b.use(p.Source, f.path, f.version)
	// A narrowed pick cannot be said in FHIR compose (no display filters): its kept codes are listed instead.
	narrowed := keep != nil || len(p.Systems) > 0
	if !narrowed {
		b.includes = append(b.includes, knowledge.ComposeSet{ValueSet: []string{"http://cts.nlm.nih.gov/fhir/ValueSet/" + f.oid}})
	}
	for _, c := range f.contains {
		if (len(p.Systems) > 0 && !slices.Contains(p.Systems, c.system)) || (keep != nil && !keep.MatchString(c.display)) {
			continue
		}
		b.put(c, nil, "", false)
		if narrowed {
			b.listed[c.system] = append(b.listed[c.system], knowledge.ComposeConcept{Code: c.code, Display: c.display})
		}
	}
	return nil
}

func (b *builder) add(a addCode) error {
	if a.Why == "" {
		return fmt.Errorf("hand-added %s %s: say why", a.System, a.Code)
	}
	c := concept{system: a.System, code: a.Code, display: a.Display}
	checked := a.Source
	switch d := b.src.defs[a.Check]; {
	case a.Check == "":
		if a.Source == "" || a.Display == "" {
			return fmt.Errorf("hand-added %s %s: without a check it needs a display and a source", a.System, a.Code)
		}
	case d == nil:
		return fmt.Errorf("hand-added %s %s: unknown source %q", a.System, a.Code, a.Check)
	case d.Kind == "loinc2hpo":
		if !slices.Contains(b.src.loinc2hpo[a.Check][a.Code], a.HPO) || a.Display == "" {
			return fmt.Errorf("hand-added LOINC %s: not annotated with %s in %s, or no display", a.Code, a.HPO, a.Check)
		}
		b.use(a.Check, d.Path, "")
		checked = fmt.Sprintf("%s@%s %s: annotated %s", d.Repository, d.Commit[:7], d.Path, a.HPO)
		if a.Source != "" {
			checked += "; display: " + a.Source
		}
	case d.Kind == "ips":
		disp, ok := b.src.ips[a.Check][a.Code]
		if !ok {
			return fmt.Errorf("hand-added SNOMED CT %s: not in %s", a.Code, a.Check)
		}
		c.display = disp
		b.use(a.Check, d.Path, "")
		checked = fmt.Sprintf("%s@%s %s", d.Repository, d.Commit[:7], d.Path)
	case d.Kind == "vsac":
		f := b.findVSAC(a.Check, a.System, a.Code)
		if f == nil {
			return fmt.Errorf("hand-added %s %s: in no value set of %s", a.System, a.Code, a.Check)
		}
		for _, x := range f.contains {
			if x.system == a.System && x.code == a.Code {
				c.display = x.display
			}
		}
		b.use(a.Check, f.path, f.version)
		checked = fmt.Sprintf("%s@%s %s (%s)", d.Repository, d.Commit[:7], f.path, f.title)
	default:
		return fmt.Errorf("hand-added %s %s: cannot check against a %s source", a.System, a.Code, d.Kind)
	}
	note := a.Why + " (checked: " + checked + ")"
	if a.Unverified {
		note = a.Why + " (UNVERIFIED: " + checked + ")"
	}
	b.put(c, nil, note, a.Unverified)
	b.listed[c.system] = append(b.listed[c.system], knowledge.ComposeConcept{Code: c.code, Display: c.display})
	return nil
}

// findVSAC returns the first file (by OID) of a vsac source holding the code.
func (b *builder) findVSAC(source, system, code string) *vsacFile {
	oids := make([]string, 0, len(b.src.vsac[source]))
	for oid := range b.src.vsac[source] {
		oids = append(oids, oid)
	}
	sort.Strings(oids)
	for _, oid := range oids {
		f := b.src.vsac[source][oid]
		for _, x := range f.contains {
			if x.system == system && x.code == code {
				return f
			}
		}
	}
	return nil
}

func (b *builder) exclude() error {
	for _, x := range b.r.Exclude {
		if x.Why == "" {
			return fmt.Errorf("exclusion %q%q: say why", x.Code, x.Display)
		}
		var re *regexp.Regexp
		if x.Display != "" {
			var err error
			if re, err = regexp.Compile("(?i)" + x.Display); err != nil {
				return fmt.Errorf("exclusion pattern %q: %w", x.Display, err)
			}
		}
		n := 0
		for k, e := range b.entries {
			if (x.Code != "" && e.code == x.Code) || (re != nil && re.MatchString(e.display)) {
				b.excluded[e.system] = append(b.excluded[e.system], knowledge.ComposeConcept{Code: e.code, Display: e.display})
				delete(b.entries, k)
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("exclusion %q%q (%s) removes nothing: drop it or fix it", x.Code, x.Display, x.Why)
		}
	}
	return nil
}

// drug adds what medications.yaml says about a class, the WHO ATC substance codes under its roots, and
// the RxNorm products of the listed VSAC files whose display names one of its ingredients.
func (b *builder) drug(meds *medications) error {
	var cl *knowledge.DrugClass
	for _, c := range meds.Classes {
		if c.ID == b.r.Drug {
			cl = c
		}
	}
	if cl == nil {
		return fmt.Errorf("no class %q in medications.yaml", b.r.Drug)
	}
	atcName, atcSource := b.atcIndex()
	for _, ing := range cl.Ingredients {
		for _, c := range ing.RxNorm {
			b.put(concept{system: "rxnorm", code: c.Code, display: firstOf(c.Display, ing.Name)}, []string{ing.ID}, "medications.yaml: "+c.Source, c.Unverified)
		}
		for _, c := range ing.ATC {
			name, ok := atcName[c.Code]
			if !ok && !c.Unverified {
				return fmt.Errorf("ATC %s of %s is not in the WHO index", c.Code, ing.ID)
			}
			b.put(concept{system: "atc", code: c.Code, display: firstOf(name, c.Display)}, []string{ing.ID}, "medications.yaml: "+c.Source, c.Unverified)
		}
	}
	for _, root := range cl.ATCPrefixes {
		n := 0
		for code, name := range atcName {
			if len(code) != 7 || !strings.HasPrefix(code, root.Code) || hasPrefixIn(code, root.Exclude) {
				continue
			}
			var ids []string
			for _, ing := range cl.Ingredients {
				for _, c := range ing.ATC {
					if c.Code == code {
						ids = append(ids, ing.ID)
					}
				}
			}
			b.put(concept{system: "atc", code: code, display: name}, ids, "", false)
			n++
		}
		if n == 0 {
			return fmt.Errorf("ATC root %s holds no substance code in the WHO index", root.Code)
		}
	}
	if atcSource != "" {
		b.use(atcSource, b.src.defs[atcSource].Path, "")
	}
	for _, p := range meds.Products {
		var ids []string
		for _, id := range p.Ingredients {
			if ingredientOf(cl, id) != nil {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			b.put(concept{system: "rxnorm", code: p.RxCUI, display: p.Display}, ids, "medications.yaml products: "+p.Source, p.Unverified)
		}
	}
	return b.drugProducts(cl)
}

// drugProducts scans the RxNorm codes of the recipe's product files: a product whose display names an
// ingredient of the class joins the set with that ingredient, unless a word of its display is one of the
// class's exclude_forms (a topical gel is not a systemic NSAID).
func (b *builder) drugProducts(cl *knowledge.DrugClass) error {
	if len(b.r.Products) == 0 {
		return nil
	}
	type name struct {
		toks []string
		id   string
	}
	var names []name
	for _, ing := range cl.Ingredients {
		for _, n := range append([]string{ing.Name}, ing.Synonyms...) {
			names = append(names, name{knowledge.NameTokens(n), ing.ID})
		}
	}
	for _, source := range sortedKeys(b.src.vsac) {
		files := b.src.vsac[source]
		for _, oid := range sortedKeys(files) {
			f := files[oid]
			if f.contains == nil || !(slices.Contains(b.r.Products, "*") || slices.Contains(b.r.Products, oid)) {
				continue
			}
			hit := false
			for _, c := range f.contains {
				if c.system != "rxnorm" {
					continue
				}
				toks := knowledge.NameTokens(c.display)
				if anyIn(toks, cl.ExcludeForms) {
					continue
				}
				var ids []string
				for _, n := range names {
					if hasRun(toks, n.toks) && !slices.Contains(ids, n.id) {
						ids = append(ids, n.id)
					}
				}
				if len(ids) == 0 {
					continue
				}
				if b.entries["rxnorm|"+c.code] == nil {
					b.put(c, ids, fmt.Sprintf("VSAC %s (%s): the display names the ingredient", f.title, f.oid), false)
				} else {
					b.put(c, ids, "", false)
				}
				hit = true
			}
			if hit {
				b.use(source, f.path, f.version)
			}
		}
	}
	return nil
}

func (b *builder) atcIndex() (map[string]string, string) {
	for _, n := range sortedKeys(b.src.atc) {
		return b.src.atc[n], n
	}
	return map[string]string{}, ""
}

func ingredientOf(cl *knowledge.DrugClass, id string) *knowledge.Ingredient {
	for _, ing := range cl.Ingredients {
		if ing.ID == id {
			return ing
		}
	}
	return nil
}

// valueSet writes the entries as a FHIR ValueSet, sorted by system then code so output is stable.
func (b *builder) valueSet() *knowledge.ValueSet {
	keys := sortedKeys(b.entries)
	h := sha256.New()
	vs := &knowledge.ValueSet{
		ResourceType: "ValueSet", ID: b.r.ID, URL: knowledge.ValueSetURLBase + b.r.ID, Name: fhirName(b.r.ID),
		Title: b.r.Title, Status: "active", Description: b.r.Description,
	}
	for _, k := range keys {
		e := b.entries[k]
		c := knowledge.ExpansionContain{System: longSystem(e.system), Code: e.code, Display: e.display}
		sort.Strings(e.ingredients)
		for _, id := range e.ingredients {
			c.Extension = append(c.Extension, knowledge.Extension{URL: knowledge.ExtIngredient, ValueCode: id})
		}
		for _, n := range e.notes {
			c.Extension = append(c.Extension, knowledge.Extension{URL: knowledge.ExtCodeSource, ValueString: n})
		}
		if e.unverified {
			c.Extension = append(c.Extension, knowledge.Extension{URL: knowledge.ExtCodeUnverified, ValueBoolean: true})
		}
		vs.Expansion.Contains = append(vs.Expansion.Contains, c)
		fmt.Fprintf(h, "%s|%s|%s|%s|%v\n", e.system, e.code, e.display, strings.Join(e.ingredients, "+"), e.unverified)
	}
	if len(b.r.From) == 1 {
		vs.Identifier = []knowledge.Identifier{{System: "urn:ietf:rfc:3986", Value: "urn:oid:" + b.r.From[0].OID}}
	}
	var licences []string
	for _, k := range sortedKeys(b.used) {
		s := b.used[k]
		vs.Extension = append(vs.Extension, sourceExtension(s))
		if !slices.Contains(licences, s.Licence) {
			licences = append(licences, s.Licence)
		}
	}
	if b.r.Drug != "" || len(b.r.Add) > 0 {
		s := knowledge.ValueSetSource{Release: "cramp-cds curation: knowledge/data/medications.yaml and knowledge/cmd/valuesets/recipes.yaml; each hand-added code says why and where it was checked"}
		vs.Extension = append(vs.Extension, sourceExtension(s))
	}
	vs.Copyright = strings.Join(licences, " ") + " See NOTICE for the LOINC, SNOMED CT, UMLS/VSAC and WHO ATC notices."
	date := b.newest
	if date == "" {
		date = "2025-01-15"
	}
	vs.Version = strings.ReplaceAll(date, "-", "") + "-" + hex.EncodeToString(h.Sum(nil))[:8]
	vs.Expansion.Identifier = "urn:uuid:" + uuidFrom(vs.ID+vs.Version)
	vs.Expansion.Timestamp = date + "T00:00:00Z"
	vs.Expansion.Total = len(vs.Expansion.Contains)
	if b.r.Drug == "" {
		vs.Compose = b.compose()
	}
	return vs
}

func (b *builder) compose() *knowledge.Compose {
	c := &knowledge.Compose{Include: b.includes}
	for _, sys := range sortedKeys(b.listed) {
		cs := b.listed[sys]
		sort.Slice(cs, func(i, j int) bool { return cs[i].Code < cs[j].Code })
		c.Include = append(c.Include, knowledge.ComposeSet{System: longSystem(sys), Concept: dedupe(cs)})
	}
	for _, sys := range sortedKeys(b.excluded) {
		cs := b.excluded[sys]
		sort.Slice(cs, func(i, j int) bool { return cs[i].Code < cs[j].Code })
		c.Exclude = append(c.Exclude, knowledge.ComposeSet{System: longSystem(sys), Concept: dedupe(cs)})
	}
	if len(c.Include) == 0 {
		return nil
	}
	return c
}

func sourceExtension(s knowledge.ValueSetSource) knowledge.Extension {
	e := knowledge.Extension{URL: knowledge.ExtSource}
	for _, kv := range [][2]string{{"repository", s.Repository}, {"commit", s.Commit}, {"path", s.Path}, {"release", s.Release}, {"version", s.Version}, {"licence", s.Licence}} {
		if kv[1] != "" {
			e.Extension = append(e.Extension, knowledge.Extension{URL: kv[0], ValueString: kv[1]})
		}
	}
	return e
}

func encode(vs *knowledge.ValueSet) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(vs); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fhirName turns "lab-ionized-calcium" into "LabIonizedCalcium".
func fhirName(id string) string {
	var sb strings.Builder
	for _, w := range strings.Split(id, "-") {
		if w != "" {
			sb.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return sb.String()
}

// uuidFrom is a name-based identifier (SHA-256, formatted as a UUID) so the expansion identifier is stable.
func uuidFrom(s string) string {
	h := sha256.Sum256([]byte(s))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

func dedupe(cs []knowledge.ComposeConcept) []knowledge.ComposeConcept {
	out := cs[:0]
	for i, c := range cs {
		if i == 0 || c.Code != cs[i-1].Code {
			out = append(out, c)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func anyIn(toks, words []string) bool {
	for _, t := range toks {
		if slices.Contains(words, t) {
			return true
		}
	}
	return false
}

// hasRun reports whether run occurs in toks as consecutive words.
func hasRun(toks, run []string) bool {
	if len(run) == 0 {
		return false
	}
	for i := 0; i+len(run) <= len(toks); i++ {
		ok := true
		for j, w := range run {
			if toks[i+j] != w {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func hasPrefixIn(code string, roots []string) bool {
	for _, r := range roots {
		if strings.HasPrefix(code, r) {
			return true
		}
	}
	return false
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
