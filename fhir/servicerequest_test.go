package fhir_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// TestReadBundleServiceRequests: only orders of tests still on their way are
// kept; each keeps its code, status and authored date.
func TestReadBundleServiceRequests(t *testing.T) {
	t.Parallel()
	entry := func(id, status, extra string) string {
		return `{"resource":{"resourceType":"ServiceRequest","id":"` + id + `","intent":"order","subject":{"reference":"Patient/p1"},` +
			`"code":{"coding":[{"system":"http://loinc.org","code":"24321-2"}],"text":"BMP"}` + status + extra + `}}`
	}
	bundle := `{"resourceType":"Bundle","type":"searchset","entry":[` + strings.Join([]string{
		entry("active", `,"status":"active"`, `,"authoredOn":"2026-11-30"`),
		entry("draft", `,"status":"draft"`, ""),
		entry("on-hold", `,"status":"on-hold"`, ""),
		entry("completed", `,"status":"completed"`, ""),
		entry("revoked", `,"status":"revoked"`, ""),
		entry("no-status", "", ""),
		entry("do-not", `,"status":"active"`, `,"doNotPerform":true`),
	}, ",") + `]}`
	rec, err := fhir.ReadBundle(strings.NewReader(bundle), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sr := range rec.ServiceRequests {
		got = append(got, sr.Ref+" "+sr.Status)
	}
	if want := "ServiceRequest/active active,ServiceRequest/draft draft,ServiceRequest/on-hold on-hold"; strings.Join(got, ",") != want {
		t.Errorf("kept %q, want %q", strings.Join(got, ","), want)
	}
	if len(rec.ServiceRequests) == 0 {
		return
	}
	first := rec.ServiceRequests[0]
	if first.Code.Text != "BMP" || len(first.Code.Codings) != 1 || first.Code.Codings[0].Code != "24321-2" {
		t.Errorf("code: got %+v", first.Code)
	}
	if want := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC); !first.Authored.Equal(want) {
		t.Errorf("authored: got %v, want %v", first.Authored, want)
	}
	if got, want := len(rec.Skipped), 4; got != want {
		t.Errorf("skipped %d entries, want %d: %+v", got, want, rec.Skipped)
	}
}
