package legcramps_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// workupCodes is every LOINC code of every work-up analyte's value set, as system|code tokens.
func workupCodes(t *testing.T, kb *knowledge.Base) []string {
	t.Helper()
	var codes []string
	for _, l := range kb.Labs() {
		for _, c := range l.Results {
			codes = append(codes, fhir.SystemLOINC+"|"+c.Code)
		}
	}
	slices.Sort(codes)
	return codes
}

// TestObservationsPrefetchAsksForEveryValueSetCode: the template holds every code of every work-up analyte
// (the codes of issue 14 among them) and stays under 2,048 characters once {{context.patientId}} is
// replaced by the longest FHIR id (64 characters), the length EHRs and proxies are sure to accept.
func TestObservationsPrefetchAsksForEveryValueSetCode(t *testing.T) {
	t.Parallel()
	kb := loadKnowledge(t)
	obs := legcramps.PatientViewPrefetch(kb)[legcramps.PrefetchObservations]
	_, list, _ := strings.Cut(obs, "&code=")
	got := strings.Split(list, ",")
	slices.Sort(got)
	if want := workupCodes(t, kb); !slices.Equal(got, want) {
		t.Errorf("template codes %v\nwant every value-set code %v", got, want)
	}
	for _, c := range []string{"2601-3", "2000-8", "1994-3", "1995-0", "11579-0", "11580-8", "3015-5", "98980-6", "50210-4", "77142-8", "32713-0", "59826-8"} {
		if !slices.Contains(got, fhir.SystemLOINC+"|"+c) {
			t.Errorf("template lacks LOINC %s", c)
		}
	}
	filled := strings.ReplaceAll(obs, "{{context.patientId}}", strings.Repeat("a", 64))
	if n := len(filled); n >= 2048 {
		t.Errorf("substituted template is %d characters, want under 2048", n)
	}
}

// TestFHIRFallbackAsksForTheSameCodes: without a prefetch, the observations query sent to the FHIR server
// names exactly the template's codes.
func TestFHIRFallbackAsksForTheSameCodes(t *testing.T) {
	t.Parallel()
	kb := loadKnowledge(t)
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/Observation" {
			mu.Lock()
			asked = strings.Split(r.URL.Query().Get("code"), ",")
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		if r.URL.Path == "/Patient/p1" {
			_, _ = io.WriteString(w, `{"resourceType":"Patient","id":"p1"}`)
			return
		}
		_, _ = io.WriteString(w, `{"resourceType":"Bundle","type":"searchset","entry":[]}`)
	}))
	defer srv.Close()
	g := fhir.NewGatherer(fhir.GathererOptions{AllowHTTP: true})
	_, _, err := g.Gather(context.Background(), fhir.GatherInput{
		Templates:     legcramps.PatientViewPrefetch(kb),
		Context:       map[string]string{"patientId": "p1"},
		FHIRServer:    srv.URL,
		AllowedServer: func(string) (string, bool) { return "*", true },
	})
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(asked)
	if want := workupCodes(t, kb); !slices.Equal(asked, want) {
		t.Errorf("FHIR fallback asked for %v\nwant %v", asked, want)
	}
}

// TestMissingLabsCardSaysWhatItLookedFor: absence is reported as what was searched ("no calcium result
// under the recognised codes in the last 12 months"), never as "no result in the record": a result coded
// with a code outside the value sets may well be in the record.
func TestMissingLabsCardSaysWhatItLookedFor(t *testing.T) {
	t.Parallel()
	cards := patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, everyCardPrefetch()))
	var detail, summary string
	for _, c := range cards {
		if c.Source.Topic.Code == legcramps.TopicMissingLabs {
			detail, summary = c.Detail, c.Summary
		}
	}
	if detail == "" {
		t.Fatal("no missing-labs card")
	}
	if strings.Contains(detail, "in the record") || strings.Contains(summary, "in the record") {
		t.Errorf("the card claims an absence from the record:\n%s\n%s", summary, detail)
	}
	if want := "- HbA1c: none"; !strings.Contains(detail, want) {
		t.Errorf("detail lacks %q:\n%s", want, detail)
	}
	if want := "recognised result"; !strings.Contains(summary, want) {
		t.Errorf("summary %q lacks %q", summary, want)
	}
}
