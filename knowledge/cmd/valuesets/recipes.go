package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"sigs.k8s.io/yaml"

	"github.com/cramp-cds/cramp-cds/knowledge"
)

// recipeFile is recipes.yaml: the sources and, per value set, what it is made of.
type recipeFile struct {
	Sources   map[string]*sourceDef `json:"sources"`
	ValueSets []recipe              `json:"valuesets"`
}

// sourceDef is one public source: a repository at a commit, copied under Dir of the -sources directory.
type sourceDef struct {
	Kind       string `json:"kind"` // vsac (FHIR ValueSet files), loinc2hpo (TSV), ips (FSH expansion), atc (WHO CSV)
	Repository string `json:"repository"`
	Commit     string `json:"commit"`
	Date       string `json:"date"` // the commit's date, YYYY-MM-DD: the expansion timestamp
	Dir        string `json:"dir"`  // under -sources
	Path       string `json:"path"` // the file inside the repository (loinc2hpo, ips, atc) or the directory (vsac)
	File       string `json:"file"` // the local file name under Dir, when it differs from Path's base
	Licence    string `json:"licence"`
}

// recipe is how one value set is made: picks from VSAC expansions, hand-added codes, exclusions, or for a
// drug class (Drug set) everything medications.yaml says about the class.
type recipe struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// From are VSAC value sets to take codes from, each optionally filtered.
	From []pick `json:"from,omitempty"`
	// Add are codes added by hand, each saying why and where it was checked.
	Add []addCode `json:"add,omitempty"`
	// Exclude drops codes (by code, or by a display pattern) from what From gave, each saying why.
	Exclude []exclusion `json:"exclude,omitempty"`
	// Drug names a class of medications.yaml: the set holds its ingredients' codes, its products, the ATC
	// substance codes under its roots, and the products of the Products VSAC sets that name an ingredient.
	Drug     string   `json:"drug,omitempty"`
	Products []string `json:"products,omitempty"` // VSAC OIDs read for RxNorm product displays; "*" for every file
}

// pick is one VSAC expansion, optionally narrowed to some systems or to displays matching a pattern.
type pick struct {
	Source  string   `json:"source"`
	OID     string   `json:"oid"`
	Systems []string `json:"systems,omitempty"` // short names: loinc, sct, icd-10-cm, rxnorm
	Display string   `json:"display,omitempty"` // keep only codes whose display matches (regexp, case-insensitive)
}

// addCode is one code added by hand.
type addCode struct {
	System  string `json:"system"` // loinc, sct, icd-10-cm
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
	// Check names a source that must hold the code (its display is then taken from there): a loinc2hpo
	// source with HPO, an ips source, or a vsac source (any of its files).
	Check string `json:"check,omitempty"`
	HPO   string `json:"hpo,omitempty"`
	// Source says where the code was verified when Check cannot (e.g. a public file and its repository@commit).
	Source string `json:"source,omitempty"`
	// Why says why the code is added to what the sources give.
	Why        string `json:"why"`
	Unverified bool   `json:"unverified,omitempty"`
}

// exclusion drops a code, or every code whose display matches a pattern.
type exclusion struct {
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"` // regexp, case-insensitive
	Why     string `json:"why"`
}

func readRecipes(name string) (*recipeFile, error) {
	var rf recipeFile
	if err := decodeYAML(name, &rf); err != nil {
		return nil, err
	}
	return &rf, nil
}

// medications is the part of medications.yaml the generator reads.
type medications struct {
	Classes           []*knowledge.DrugClass       `json:"classes"`
	CombinationBrands []knowledge.CombinationBrand `json:"combination_brands"`
	Products          []*knowledge.Product         `json:"products"`
	// Warnings (quinine) make no value set: the generator reads past them.
	Warnings []*knowledge.DrugWarning `json:"warnings"`
}

func readMedications(name string) (*medications, error) {
	var m medications
	if err := decodeYAML(name, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// decodeYAML decodes a YAML file strictly: an unknown field is a typo in a recipe.
func decodeYAML(name string, v any) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return fmt.Errorf("parsing %s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding %s: %w", name, err)
	}
	return nil
}
