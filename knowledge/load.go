// Package knowledge is the clinical content of cramp-cds: the drugs, labs, conditions, differentials and
// pearls the seed documents name, each coded and cited. The content lives in YAML files under data/,
// embedded in the binary, validated and indexed once by Load into an immutable *Base. Look-ups by code
// are allocation-free so rules can call them per request.
package knowledge

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"

	"sigs.k8s.io/yaml"
)

//go:embed data
var embedded embed.FS

// The data files a knowledge base is made of; every one is required and no other is accepted.
const (
	fileSources     = "sources.yaml"
	fileTriggers    = "triggers.yaml"
	fileMedications = "medications.yaml"
	fileLabs        = "labs.yaml"
	fileConditions  = "conditions.yaml"
	filePearls      = "pearls.yaml"
)

var dataFiles = []string{fileSources, fileTriggers, fileMedications, fileLabs, fileConditions, filePearls}

type sourcesFile struct {
	Version      string         `json:"version"`
	Sources      []*Source      `json:"sources"`
	Publications []*Publication `json:"publications"`
}

type triggersFile struct {
	Triggers TriggerSet `json:"triggers"`
}

type medicationsFile struct {
	Classes           []*DrugClass       `json:"classes"`
	CombinationBrands []CombinationBrand `json:"combination_brands"`
	Products          []*Product         `json:"products"`
	// Warnings are drugs warned against for leg cramps (quinine).
	Warnings []*DrugWarning `json:"warnings"`
}

type labsFile struct {
	LookbackMonths int       `json:"lookback_months"`
	Workup         []*Workup `json:"workup"`
	Panels         []*Panel  `json:"panels"`
	Labs           []*Lab    `json:"labs"`
	// Adjuncts are labs that interpret others (albumin for calcium) and are no work-up item.
	Adjuncts []*Lab `json:"adjuncts,omitempty"`
}

type conditionsFile struct {
	Conditions []*Condition `json:"conditions"`
}

type pearlsFile struct {
	Pearls []*Pearl `json:"pearls"`
}

// content is everything the data files hold, before indexing.
type content struct {
	sources    sourcesFile
	triggers   triggersFile
	meds       medicationsFile
	labs       labsFile
	conditions conditionsFile
	pearls     pearlsFile
	valueSets  []*ValueSet
}

// Load reads, validates and indexes the knowledge base embedded in the binary.
func Load() (*Base, error) {
	sub, err := fs.Sub(embedded, "data")
	if err != nil {
		return nil, fmt.Errorf("opening embedded knowledge data: %w", err)
	}
	return LoadFS(sub)
}

// LoadFS reads, validates and indexes a knowledge base from the YAML files at the root of fsys and the
// FHIR ValueSets in its valuesets/ directory.
// It fails, listing every problem found, when a file is missing, unknown, malformed or inconsistent.
func LoadFS(fsys fs.FS) (*Base, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("listing knowledge data: %w", err)
	}
	known := make(map[string]bool, len(dataFiles))
	for _, name := range dataFiles {
		known[name] = true
	}
	for _, e := range entries {
		if !e.IsDir() && path.Ext(e.Name()) == ".yaml" && !known[e.Name()] {
			return nil, fmt.Errorf("knowledge data: unknown file %s (want one of %v)", e.Name(), dataFiles)
		}
	}

	raw := make(map[string][]byte, len(dataFiles))
	for _, name := range dataFiles {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("reading knowledge data: %w", err)
		}
		raw[name] = b
	}

	var c content
	vss, vsRaw, err := decodeValueSets(fsys)
	if err != nil {
		return nil, fmt.Errorf("knowledge data: %w", err)
	}
	c.valueSets = vss
	for name, b := range vsRaw {
		raw[name] = b
	}
	targets := map[string]any{
		fileSources:     &c.sources,
		fileTriggers:    &c.triggers,
		fileMedications: &c.meds,
		fileLabs:        &c.labs,
		fileConditions:  &c.conditions,
		filePearls:      &c.pearls,
	}
	for _, name := range dataFiles {
		if err := decodeStrict(raw[name], targets[name]); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", name, err)
		}
	}

	if err := validate(&c); err != nil {
		return nil, fmt.Errorf("validating knowledge data: %w", err)
	}
	b, err := newBase(&c, c.sources.Version+"+"+contentHash(raw))
	if err != nil {
		return nil, fmt.Errorf("indexing knowledge data: %w", err)
	}
	return b, nil
}

// decodeStrict converts YAML to JSON and decodes it, rejecting unknown fields and trailing data.
func decodeStrict(data []byte, v any) error {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the document")
	}
	return nil
}

// contentHash is the first 8 hex digits of a SHA-256 over the files' names and bytes, in name order,
// so any change to the data changes the version that cards show.
func contentHash(raw map[string][]byte) string {
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(raw[n])
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:8]
}
