package fhir_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

// smallPatient is a generated patient small enough to be a fuzz seed.
func smallPatient() *fixtures.Patient {
	return fixtures.Generate(1, fixtures.Size{Conditions: 2, Medications: 3, Observations: 3}, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
}

// FuzzGatherPrefetch decodes arbitrary prefetch objects, as the protocol
// layer hands them over, with no FHIR server to fall back on (nothing is
// fetched). Whatever arrives: no panic; the report has one entry per
// template key, in key order; the error is an *UnavailableError naming
// exactly the failed keys; and the Record keeps the status rules.
// Seeds are in testdata/fuzz/FuzzGatherPrefetch.
func FuzzGatherPrefetch(f *testing.F) {
	p := smallPatient()
	whole, err := json.Marshal(p.Prefetch)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(whole)
	g := fhir.NewGatherer(fhir.GathererOptions{})
	keys := make([]string, 0, len(crampTemplates))
	for k := range crampTemplates {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	f.Fuzz(func(t *testing.T, data []byte) {
		var prefetch map[string]json.RawMessage
		if json.Unmarshal(data, &prefetch) != nil {
			return // the protocol layer answers 400 before Gather
		}
		in := fhir.GatherInput{Prefetch: prefetch, Templates: crampTemplates, Context: map[string]string{"patientId": p.ID}}
		rec, report, err := g.Gather(t.Context(), in)
		if rec == nil || report == nil {
			t.Fatalf("Gather returned record %v, report %v", rec, report)
		}
		var got, failed []string
		for _, k := range report.Keys {
			got = append(got, k.Key)
			if k.Status == fhir.KeyFailed {
				failed = append(failed, k.Key)
			}
			if k.Status == fhir.KeyFetched {
				t.Fatalf("key %s fetched without a FHIR server", k.Key)
			}
		}
		if !slices.Equal(got, keys) {
			t.Fatalf("report keys = %v, want %v", got, keys)
		}
		var unavailable *fhir.UnavailableError
		switch {
		case len(failed) == 0 && err != nil:
			t.Fatalf("no key failed, yet Gather = %v", err)
		case len(failed) > 0 && (!errors.As(err, &unavailable) || !slices.Equal(unavailable.Keys, failed)):
			t.Fatalf("keys %v failed, yet Gather = %v", failed, err)
		}
		checkRecord(t, rec)
	})
}

// FuzzReadBundle reads arbitrary whole-patient Bundles. Whatever arrives: no
// panic; success only for JSON that is a Bundle; and the Record keeps the
// status rules. Seeds are in testdata/fuzz/FuzzReadBundle.
func FuzzReadBundle(f *testing.F) {
	var entries [][]byte
	for _, k := range fixtures.Keys {
		v := smallPatient().Prefetch[k]
		if k == legcramps.PrefetchPatient {
			entries = append(entries, []byte(`{"resource":`+string(v)+`}`))
			continue
		}
		var b struct{ Entry []json.RawMessage }
		if err := json.Unmarshal(v, &b); err != nil {
			f.Fatal(err)
		}
		for _, e := range b.Entry {
			entries = append(entries, e)
		}
	}
	f.Add([]byte(`{"resourceType":"Bundle","type":"collection","entry":[` + string(bytes.Join(entries, []byte(","))) + `]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := fhir.ReadBundle(bytes.NewReader(data), 1<<20)
		if err != nil {
			if rec != nil {
				t.Fatalf("ReadBundle returned a Record with error %v", err)
			}
			return
		}
		var head struct{ ResourceType string }
		if json.Unmarshal(data, &head) != nil || head.ResourceType != "Bundle" {
			t.Fatalf("ReadBundle accepted input that is not a JSON Bundle: %q", data)
		}
		checkRecord(t, rec)
	})
}

// checkRecord fails t when rec breaks a rule the Record documents.
func checkRecord(t *testing.T, rec *fhir.Record) {
	t.Helper()
	refs := []string{}
	if rec.Patient != nil {
		refs = append(refs, rec.Patient.Ref)
	}
	for _, m := range rec.Medications {
		refs = append(refs, m.Ref)
	}
	for _, c := range rec.Conditions {
		refs = append(refs, c.Ref)
	}
	for _, o := range rec.Observations {
		refs = append(refs, o.Ref)
	}
	for _, ref := range refs {
		// Refs reach card text: only "Type/id" with a FHIR id, or nothing.
		if typ, id, ok := strings.Cut(ref, "/"); ref != "" && (!ok || typ == "" || !fhir.ValidID(id)) {
			t.Fatalf("record holds the reference %q, want Type/id with a FHIR id", ref)
		}
	}
	for _, s := range rec.Skipped {
		if strings.ContainsAny(s.Ref+s.Reason, "<>\n") {
			t.Fatalf("skipped %+v repeats markup or line breaks", s)
		}
	}
	for _, o := range rec.Observations {
		if !fhir.IsResultStatus(o.Status) && !fhir.IsPendingStatus(o.Status) {
			t.Fatalf("observation %s with status %q kept", o.Ref, o.Status)
		}
	}
	for _, c := range rec.Conditions {
		if c.VerificationStatus == "refuted" || c.VerificationStatus == "entered-in-error" {
			t.Fatalf("condition %s with verification status %q kept", c.Ref, c.VerificationStatus)
		}
	}
	for _, m := range rec.Medications {
		never := map[string]bool{"entered-in-error": true}
		if strings.HasPrefix(m.Ref, "MedicationRequest/") {
			never["cancelled"] = true
		} else if strings.HasPrefix(m.Ref, "MedicationStatement/") {
			never["not-taken"] = true
		}
		if never[m.Status] {
			t.Fatalf("medication %s with status %q kept", m.Ref, m.Status)
		}
	}
	for _, s := range rec.Skipped {
		if s.Reason == "" {
			t.Fatalf("skipped %+v without a reason", s)
		}
	}
}
