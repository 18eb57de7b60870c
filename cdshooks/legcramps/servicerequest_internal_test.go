package legcramps

import (
	"encoding/json"
	"reflect"
	"testing"

	fhirmodels "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/cramp-cds/cramp-cds/knowledge"
)

// TestServiceRequestIsTheLibrarysJSON: the draft order we send is the JSON
// value golang-fhir-models' own MarshalJSON makes of the typed R4
// ServiceRequest (only member order differs), so writing it through
// wireOf loses and adds nothing.
func TestServiceRequestIsTheLibrarysJSON(t *testing.T) {
	t.Parallel()
	r := cardRenderer{patientID: "p1", findings: &knowledge.Findings{Triggers: []knowledge.ConditionEntry{{Entry: knowledge.Entry{Ref: "Condition/c1"}}, {}, {Entry: knowledge.Entry{Ref: "Condition/c2"}}}}}
	order := knowledge.Code{Code: "2601-3", Display: "Magnesium [Moles/volume] in Serum or Plasma"}
	for name, sr := range map[string]fhirmodels.ServiceRequest{
		"as built":     r.draftOrder(order, "Magnesium"),
		"without text": r.draftOrder(order, ""),
	} {
		ours := marshalResource(wireOf(sr))
		theirs, err := json.Marshal(sr)
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, ours, theirs) {
			t.Errorf("%s: ours %s\nthe library's %s", name, ours, theirs)
		}
	}
	// A member wireOf does not write is caught.
	sr := r.draftOrder(order, "Magnesium")
	sr.Priority = new(fhirmodels.RequestPriority)
	theirs, err := json.Marshal(sr)
	if err != nil {
		t.Fatal(err)
	}
	if sameJSON(t, marshalResource(wireOf(sr)), theirs) {
		t.Errorf("a priority wireOf drops went unnoticed")
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
