package deploy_test

// The SBOM `make sbom` writes (CycloneDX, from the Go module graph, by the pinned
// cyclonedx-gomod) must list every module go.mod requires, at the version go.mod selects:
// a scanner reading it then sees every dependency the image may contain.

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// goModRequires reads the require directives of a go.mod: module path -> version.
func goModRequires(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	req := map[string]string{}
	inBlock := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
		case fields[0] == "require" && len(fields) > 1 && fields[1] == "(":
			inBlock = true
		case inBlock && fields[0] == ")":
			inBlock = false
		case inBlock && len(fields) == 2:
			req[fields[0]] = fields[1]
		case fields[0] == "require" && len(fields) == 3:
			req[fields[1]] = fields[2]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestSBOMListsGoModModules(t *testing.T) {
	t.Parallel()
	path := os.Getenv("CRAMP_CDS_SBOM")
	if path == "" {
		t.Skip("CRAMP_CDS_SBOM is not set: run `make test-deploy`, which writes the SBOM with `make sbom` and sets it")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		Metadata    struct {
			Component struct {
				Name string `json:"name"`
			} `json:"component"`
		} `json:"metadata"`
		Components []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			PURL    string `json:"purl"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &bom); err != nil {
		t.Fatalf("%s is not JSON: %v", path, err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion == "" {
		t.Fatalf("bomFormat %q specVersion %q, want a CycloneDX document", bom.BOMFormat, bom.SpecVersion)
	}
	if got, want := bom.Metadata.Component.Name, "github.com/cramp-cds/cramp-cds"; got != want {
		t.Errorf("the SBOM describes %q, want %q", got, want)
	}
	listed := map[string]string{}
	for _, c := range bom.Components {
		listed[c.Name] = c.Version
		if !strings.HasPrefix(c.PURL, "pkg:golang/"+c.Name+"@"+c.Version) {
			t.Errorf("component %s %s has purl %q", c.Name, c.Version, c.PURL)
		}
	}
	requires := goModRequires(t, "../go.mod")
	if len(requires) < 10 {
		t.Fatalf("read %d requirements from go.mod: is the parsing broken?", len(requires))
	}
	for mod, version := range requires {
		got, ok := listed[mod]
		switch {
		case !ok:
			t.Errorf("the SBOM does not list %s, which go.mod requires", mod)
		case got != version:
			t.Errorf("the SBOM lists %s %s, go.mod requires %s", mod, got, version)
		}
	}
}
