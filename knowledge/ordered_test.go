package knowledge_test

import (
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// TestMissingLabsKnowWhatIsAlreadyOrdered: a test ordered and not yet done
// (its own code, one of its result codes, or a panel covering it) is marked
// so the card does not propose it again.
func TestMissingLabsKnowWhatIsAlreadyOrdered(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	order := func(system, code string) fhir.ServiceRequest {
		return fhir.ServiceRequest{Ref: "ServiceRequest/o1", Status: "active",
			Code: fhir.Concept{Codings: []fhir.Coding{{System: system, Code: code}}, Text: "ordered test"}}
	}
	for _, tc := range []struct {
		name  string
		order fhir.ServiceRequest
		want  string // the work-up tests marked ordered
	}{
		{"basic metabolic panel, serum or plasma", order(fhir.SystemLOINC, "24321-2"), "potassium,calcium,renal-function"},
		{"basic metabolic panel, blood", order(fhir.SystemLOINC, "51990-0"), "potassium,calcium,renal-function"},
		{"the test's own order code", order(fhir.SystemLOINC, "19123-9"), "magnesium"},
		{"one of its result codes (potassium in blood)", order(fhir.SystemLOINC, "6298-4"), "potassium"},
		{"eGFR orders renal function", order(fhir.SystemLOINC, "33914-3"), "renal-function"},
		{"a LOINC code of no work-up test", order(fhir.SystemLOINC, "2345-7"), ""},
		{"the panel's code in another system", order(fhir.SystemSNOMED, "24321-2"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := withCramps(nil, nil)
			rec.ServiceRequests = []fhir.ServiceRequest{tc.order}
			f := b.Evaluate(rec, asOf, knowledge.Options{})
			if len(f.MissingLabs) != len(b.Workups()) {
				t.Fatalf("%d missing work-up tests, want all %d (an order is not a result)", len(f.MissingLabs), len(b.Workups()))
			}
			var got []string
			for _, m := range f.MissingLabs {
				if m.Ordered != nil {
					got = append(got, m.Workup.ID)
					if m.Ordered.Ref != "ServiceRequest/o1" || m.Ordered.Text != "ordered test" {
						t.Errorf("%s: Ordered = %+v", m.Workup.ID, m.Ordered.Entry)
					}
				}
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("ordered: got %q, want %q", strings.Join(got, ","), tc.want)
			}
		})
	}
}
