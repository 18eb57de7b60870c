package knowledge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Value sets are the code lists the rules match against: one FHIR R4 ValueSet per work-up analyte,
// condition and drug class, in data/valuesets/<id>.json, written by `go run ./knowledge/cmd/valuesets`
// from public sources (VSAC expansions, loinc2hpo, the SNOMED CT IPS free set, WHO ATC) and checked at load.
// The knowledge YAML names them by id; Load indexes their expansions so look-ups stay allocation-free.

// The extension URLs cramp-cds writes into its ValueSets.
const (
	// ExtSource is on the ValueSet: one per source it was built from (repository, commit, path, version, licence).
	ExtSource = "https://github.com/cramp-cds/cramp-cds/fhir/StructureDefinition/valueset-source"
	// ExtCodeSource is on an expansion entry added or kept by hand: why, and where the code was checked.
	ExtCodeSource = "https://github.com/cramp-cds/cramp-cds/fhir/StructureDefinition/code-source"
	// ExtCodeUnverified is on an expansion entry no source confirms; matches through it are low confidence.
	ExtCodeUnverified = "https://github.com/cramp-cds/cramp-cds/fhir/StructureDefinition/code-unverified"
	// ExtIngredient is on a drug value set's entry: an ingredient id of the base the code holds (one per
	// ingredient). Every RxNorm entry has one; an ATC entry without one names the class only.
	ExtIngredient = "https://github.com/cramp-cds/cramp-cds/fhir/StructureDefinition/ingredient"
	// ValueSetURLBase is the canonical URL prefix of every cramp-cds ValueSet; the id follows it.
	ValueSetURLBase = "https://github.com/cramp-cds/cramp-cds/fhir/ValueSet/"
)

// The kinds of value set, from the prefix of the id: what a value set may be used for.
const (
	KindLab       = "lab"
	KindCondition = "condition"
	KindDrug      = "drug"
)

// ValueSet is the part of a FHIR R4 ValueSet resource the base reads. Raw holds the file's bytes, served as is.
type ValueSet struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	URL          string       `json:"url"`
	Identifier   []Identifier `json:"identifier,omitempty"`
	Version      string       `json:"version"`
	Name         string       `json:"name"`
	Title        string       `json:"title"`
	Status       string       `json:"status"`
	Description  string       `json:"description,omitempty"`
	Copyright    string       `json:"copyright,omitempty"`
	Extension    []Extension  `json:"extension,omitempty"`
	// Compose is the definition: the VSAC value sets and hand-added codes included, the codes excluded.
	Compose   *Compose  `json:"compose,omitempty"`
	Expansion Expansion `json:"expansion"`

	// Sources are the ValueSet's source extensions, decoded at load.
	Sources []ValueSetSource `json:"-"`
	// Raw is the file as shipped (FHIR JSON), for GET /knowledge/ValueSet/{id}.
	Raw json.RawMessage `json:"-"`
}

// Identifier is a FHIR Identifier (the VSAC OID of a value set, as urn:oid:...).
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// Extension is a FHIR extension with the value types cramp-cds writes.
type Extension struct {
	URL          string      `json:"url"`
	ValueString  string      `json:"valueString,omitempty"`
	ValueCode    string      `json:"valueCode,omitempty"`
	ValueBoolean bool        `json:"valueBoolean,omitempty"`
	ValueURI     string      `json:"valueUri,omitempty"`
	Extension    []Extension `json:"extension,omitempty"`
}

// Compose is a ValueSet's definition (FHIR ValueSet.compose).
type Compose struct {
	Include []ComposeSet `json:"include"`
	Exclude []ComposeSet `json:"exclude,omitempty"`
}

// ComposeSet is one include or exclude entry: other value sets, or codes of one system.
type ComposeSet struct {
	System   string           `json:"system,omitempty"`
	Concept  []ComposeConcept `json:"concept,omitempty"`
	ValueSet []string         `json:"valueSet,omitempty"`
}

// ComposeConcept is one code of a compose entry.
type ComposeConcept struct {
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// Expansion is a ValueSet's expansion: every code it holds.
type Expansion struct {
	Identifier string             `json:"identifier,omitempty"`
	Timestamp  string             `json:"timestamp"`
	Total      int                `json:"total"`
	Contains   []ExpansionContain `json:"contains,omitempty"`
}

// ExpansionContain is one code of an expansion.
type ExpansionContain struct {
	Extension []Extension `json:"extension,omitempty"`
	System    string      `json:"system"`
	Code      string      `json:"code"`
	Display   string      `json:"display,omitempty"`
}

// ValueSetSource is where (part of) a value set came from: a public repository at a commit, or a release.
type ValueSetSource struct {
	Repository string `json:"repository,omitempty"` // owner/name on GitHub
	Commit     string `json:"commit,omitempty"`
	Path       string `json:"path,omitempty"`
	Release    string `json:"release,omitempty"` // a terminology release, when not a repository
	Version    string `json:"version,omitempty"` // the source's own version of the list (e.g. the VSAC expansion version)
	Licence    string `json:"licence,omitempty"`
}

// Kind is the value set's kind ("lab", "condition" or "drug"), the prefix of its id.
func (v *ValueSet) Kind() string {
	k, _, _ := strings.Cut(v.ID, "-")
	return k
}

// Unverified reports whether the entry carries the code-unverified extension.
func (c *ExpansionContain) Unverified() bool {
	for _, e := range c.Extension {
		if e.URL == ExtCodeUnverified && e.ValueBoolean {
			return true
		}
	}
	return false
}

// holds reports whether the expansion contains the code of the system.
func (v *ValueSet) holds(sys codeSystem, code string) bool {
	for i := range v.Expansion.Contains {
		if e := &v.Expansion.Contains[i]; e.Code == code && systemOf(e.System) == sys {
			return true
		}
	}
	return false
}

// Ingredients lists the ingredient ids of a drug value set's entry.
func (c *ExpansionContain) Ingredients() []string {
	var ids []string
	for _, e := range c.Extension {
		if e.URL == ExtIngredient {
			ids = append(ids, e.ValueCode)
		}
	}
	return ids
}

// decodeValueSets reads every valuesets/*.json file of fsys (none is fine for a caller's own test data).
func decodeValueSets(fsys fs.FS) ([]*ValueSet, map[string][]byte, error) {
	names, err := fs.Glob(fsys, "valuesets/*.json")
	if err != nil {
		return nil, nil, fmt.Errorf("listing value sets: %w", err)
	}
	sort.Strings(names)
	raw := map[string][]byte{}
	var out []*ValueSet
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", name, err)
		}
		raw[name] = b
		vs := &ValueSet{}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(vs); err != nil {
			return nil, nil, fmt.Errorf("decoding %s: %w", name, err)
		}
		if dec.More() {
			return nil, nil, fmt.Errorf("decoding %s: trailing data after the resource", name)
		}
		if want := strings.TrimSuffix(path.Base(name), ".json"); vs.ID != want {
			return nil, nil, fmt.Errorf("%s: id %q must be the file name %q", name, vs.ID, want)
		}
		vs.Raw = b
		vs.Sources = sourcesOf(vs.Extension)
		out = append(out, vs)
	}
	return out, raw, nil
}

// sourcesOf decodes the valueset-source extensions.
func sourcesOf(exts []Extension) []ValueSetSource {
	var out []ValueSetSource
	for _, e := range exts {
		if e.URL != ExtSource {
			continue
		}
		var s ValueSetSource
		for _, sub := range e.Extension {
			v := sub.ValueString
			if v == "" {
				v = sub.ValueURI
			}
			switch sub.URL {
			case "repository":
				s.Repository = v
			case "commit":
				s.Commit = v
			case "path":
				s.Path = v
			case "release":
				s.Release = v
			case "version":
				s.Version = v
			case "licence":
				s.Licence = v
			}
		}
		out = append(out, s)
	}
	return out
}

// systemURI is the FHIR system URI of each terminology a value set may hold.
func systemURI(s codeSystem) string {
	switch s {
	case sysRxNorm:
		return "http://www.nlm.nih.gov/research/umls/rxnorm"
	case sysATC:
		return "http://www.whocc.no/atc"
	case sysSNOMED:
		return "http://snomed.info/sct"
	case sysICD10CM:
		return "http://hl7.org/fhir/sid/icd-10-cm"
	case sysLOINC:
		return "http://loinc.org"
	}
	return ""
}
