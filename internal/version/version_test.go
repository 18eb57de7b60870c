package version_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/cramp-cds/cramp-cds/internal/version"
)

// semver is Semantic Versioning 2.0.0's grammar (semver.org), without build
// metadata: the image tag and the chart's appVersion carry the same string.
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$`)

func TestVersionIsSemantic(t *testing.T) {
	if v := version.Version(); !semver.MatchString(v) {
		t.Fatalf("VERSION %q is not a semantic version", v)
	}
}

// The newest CHANGELOG.md entry is the version being built: a release that
// forgot its CHANGELOG entry fails here.
func TestChangelogNamesTheVersion(t *testing.T) {
	data, err := os.ReadFile("../../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^## \[?([^\]\s]+)\]?`).FindSubmatch(data)
	if m == nil {
		t.Fatal("CHANGELOG.md has no '## <version>' entry")
	}
	if got, want := string(m[1]), version.Version(); got != want {
		t.Errorf("CHANGELOG.md's newest entry is %s, VERSION says %s", got, want)
	}
}
