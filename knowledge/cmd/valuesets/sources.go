package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// concept is one code as a source gives it.
type concept struct {
	system  string // short name: loinc, sct, icd-10-cm, rxnorm, atc
	code    string
	display string
}

// vsacFile is one VSAC expansion file.
type vsacFile struct {
	path     string // inside the repository
	oid      string
	title    string
	version  string
	contains []concept
}

// sources are the loaded local copies, by the names recipes.yaml gives them.
type sources struct {
	defs      map[string]*sourceDef
	vsac      map[string]map[string]*vsacFile // source -> OID -> file
	loinc2hpo map[string]map[string][]string  // source -> LOINC -> HPO terms
	ips       map[string]map[string]string    // source -> SNOMED CT code -> display
	atc       map[string]map[string]string    // source -> ATC code -> name
}

func openSources(dir string, defs map[string]*sourceDef) (*sources, error) {
	s := &sources{defs: defs, vsac: map[string]map[string]*vsacFile{}, loinc2hpo: map[string]map[string][]string{},
		ips: map[string]map[string]string{}, atc: map[string]map[string]string{}}
	names := make([]string, 0, len(defs))
	for n := range defs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := defs[n]
		if d.Repository == "" || d.Commit == "" || d.Date == "" || d.Licence == "" {
			return nil, fmt.Errorf("source %s: needs repository, commit, date and licence", n)
		}
		local := filepath.Join(dir, d.Dir, d.Path)
		if d.File != "" {
			local = filepath.Join(dir, d.Dir, d.File)
		}
		var err error
		switch d.Kind {
		case "vsac":
			s.vsac[n], err = readVSAC(local, d.Path)
		case "loinc2hpo":
			s.loinc2hpo[n], err = readLoinc2HPO(local)
		case "ips":
			s.ips[n], err = readIPS(local)
		case "atc":
			s.atc[n], err = readATC(local)
		default:
			err = fmt.Errorf("unknown kind %q", d.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", n, err)
		}
	}
	return s, nil
}

// shortSystem maps the FHIR system URIs of the sources to the recipes' short names.
func shortSystem(uri string) string {
	switch uri {
	case "http://loinc.org":
		return "loinc"
	case "http://snomed.info/sct":
		return "sct"
	case "http://hl7.org/fhir/sid/icd-10-cm":
		return "icd-10-cm"
	case "http://www.nlm.nih.gov/research/umls/rxnorm":
		return "rxnorm"
	case "http://www.whocc.no/atc":
		return "atc"
	}
	return uri
}

// longSystem is the FHIR system URI of a short name.
func longSystem(short string) string {
	switch short {
	case "loinc":
		return "http://loinc.org"
	case "sct":
		return "http://snomed.info/sct"
	case "icd-10-cm":
		return "http://hl7.org/fhir/sid/icd-10-cm"
	case "rxnorm":
		return "http://www.nlm.nih.gov/research/umls/rxnorm"
	case "atc":
		return "http://www.whocc.no/atc"
	}
	return ""
}

func readVSAC(dir, repoDir string) (map[string]*vsacFile, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "valueset-*.json"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no valueset-*.json files in %s", dir)
	}
	out := map[string]*vsacFile{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var v struct {
			URL       string `json:"url"`
			Title     string `json:"title"`
			Version   string `json:"version"`
			Expansion struct {
				Total    *int `json:"total"`
				Contains []struct {
					System, Code, Display string
				} `json:"contains"`
			} `json:"expansion"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		oid := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "valueset-"), ".json")
		f := &vsacFile{path: repoDir + "/" + filepath.Base(p), oid: oid, title: v.Title, version: v.Version}
		for _, c := range v.Expansion.Contains {
			f.contains = append(f.contains, concept{system: shortSystem(c.System), code: c.Code, display: c.Display})
		}
		// A published expansion cut at a page size (VSAC's is 1000) is not the value set: refuse it.
		if v.Expansion.Total != nil && *v.Expansion.Total != len(f.contains) {
			f.contains = nil
			f.title += fmt.Sprintf(" (TRUNCATED: %d of %d codes)", len(v.Expansion.Contains), *v.Expansion.Total)
		}
		out[oid] = f
	}
	return out, nil
}

func readLoinc2HPO(name string) (map[string][]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 4 || cols[0] == "loincId" {
			continue
		}
		out[cols[0]] = append(out[cols[0]], cols[3])
	}
	return out, sc.Err()
}

var (
	reFSHCode    = regexp.MustCompile(`\.code = #(\d+)`)
	reFSHDisplay = regexp.MustCompile(`\.display = "(.*)"`)
)

// readIPS reads the expansion of the SNOMED CT IPS free set from its FSH source (code then display lines).
func readIPS(name string) (map[string]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	code := ""
	for _, line := range strings.Split(string(b), "\n") {
		if m := reFSHCode.FindStringSubmatch(line); m != nil {
			code = m[1]
		} else if m := reFSHDisplay.FindStringSubmatch(line); m != nil && code != "" {
			out[code] = m[1]
			code = ""
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no codes", name)
	}
	return out, nil
}

// readATC reads the WHO ATC/DDD index scrape (atc_code,atc_name,...); a code listed on several rows
// (one per route) keeps its first name.
func readATC(name string) (map[string]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, row := range rows[1:] {
		if len(row) >= 2 {
			if _, ok := out[row[0]]; !ok {
				out[row[0]] = row[1]
			}
		}
	}
	return out, nil
}
