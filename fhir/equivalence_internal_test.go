package fhir

// The one-pass decoder (decode.go) against the decoder it replaced
// (legacy_internal_test.go): on every Synthea patient, every example, the
// sandbox capture, the generated fixtures and every fuzz seed, both must
// build the same Record; FuzzDecodeEquivalence does the same on random
// input. The only differences allowed are the documented ones:
//   - a member spelt like one the decoders read but in another letter case:
//     the old decoder folded case, the new one refuses the object;
//   - a resource the old decoder refused for a type error or an unknown code
//     in a field the rules never read (or an escaped enum code), which the
//     new decoder keeps.
// Internal because the two paths compared are unexported.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// legacyPrefetch reads a prefetch object as Gather did before, without a
// FHIR server: the Record and, by key, what the prefetch held.
func legacyPrefetch(prefetch map[string]json.RawMessage, keys []string, patientID string) (*Record, map[string]string) {
	a := legacyNewAssembler()
	kinds := map[string]string{}
	for _, key := range keys {
		raw, ok := prefetch[key]
		switch {
		case !ok:
			kinds[key] = "absent"
			continue
		case strings.TrimSpace(string(raw)) == "null":
			kinds[key] = "null"
			continue
		}
		b, res, err := legacyParsePage(raw)
		switch {
		case err == errOutcome:
			kinds[key] = "operation-outcome"
		case err != nil:
			kinds[key] = "malformed"
		case b == nil:
			kinds[key] = "resource"
			a.add(key, "", res)
		case a.addBundle(key, b):
			kinds[key] = "outcome-entries"
		case b.next() != "":
			kinds[key] = "paged"
		default:
			kinds[key] = "bundle"
		}
	}
	rec, _ := a.build(patientMatcher{id: patientID, check: true})
	return rec, kinds
}

// newPrefetch reads the same through Gather, with nothing to fetch from.
func newPrefetch(t testing.TB, prefetch map[string]json.RawMessage, keys []string, patientID string) (*Record, map[string]string) {
	templates := map[string]string{}
	for _, k := range keys {
		templates[k] = "Observation?patient={{context.patientId}}"
	}
	in := GatherInput{Prefetch: prefetch, Templates: templates, Context: map[string]string{"patientId": patientID}}
	if patientID == "" {
		in.Context = nil
	}
	rec, rep, _ := NewGatherer(GathererOptions{}).Gather(context.Background(), in)
	kinds := map[string]string{}
	for _, k := range rep.Keys {
		kinds[k.Key] = k.Prefetch
	}
	return rec, kinds
}

// caseVariant reports whether data holds a member name that equals one the
// decoders read only when letter case is ignored.
func caseVariant(data []byte) bool {
	var known []string
	for _, names := range resourceNames {
		known = append(known, names...)
	}
	for _, names := range [][]string{bundleNames, linkNames, entryNames, searchNames, conceptNames, codingNames,
		referenceNames, periodNames, quantityNames, rangeNames, issueNames, ingredientName, dispenseNames} {
		known = append(known, names...)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		s, ok := tok.(string)
		if !ok {
			continue
		}
		for _, k := range known {
			if s != k && strings.EqualFold(s, k) {
				return true
			}
		}
	}
}

const oldStricter = "does not decode as FHIR R4"

// sameRecords fails t unless got (new) and want (old) are the same Record
// up to the documented differences.
func sameRecords(t testing.TB, what string, want, got *Record) {
	t.Helper()
	// Resources the old decoder refused for a field the rules do not read
	// may be kept now: take them out of both sides.
	lenient := map[string]bool{}
	var oldSkipped []Skipped
	for _, s := range want.Skipped {
		if strings.HasPrefix(s.Reason, oldStricter) && s.Ref != "" && !slices.ContainsFunc(got.Skipped, func(n Skipped) bool { return n.Ref == s.Ref && n.Source == s.Source }) {
			lenient[s.Ref] = true
			continue
		}
		oldSkipped = append(oldSkipped, s)
	}
	g := *got
	g.Medications = slices.DeleteFunc(slices.Clone(g.Medications), func(m Medication) bool { return lenient[m.Ref] })
	g.Conditions = slices.DeleteFunc(slices.Clone(g.Conditions), func(c Condition) bool { return lenient[c.Ref] })
	g.Observations = slices.DeleteFunc(slices.Clone(g.Observations), func(o Observation) bool { return lenient[o.Ref] })
	if g.Patient != nil && lenient[g.Patient.Ref] {
		g.Patient = want.Patient
	}
	w := *want
	w.Skipped = oldSkipped
	// Both refuse a type error in a field the rules read; only the words differ.
	reason := cmp.Transformer("reason", func(s Skipped) Skipped {
		if strings.HasPrefix(s.Reason, oldStricter) {
			s.Reason = oldStricter
		}
		return s
	})
	if diff := cmp.Diff(&w, &g, reason, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Fatalf("%s: Records differ (-old +new):\n%s", what, diff)
	}
}

// compareBundle reads data as a whole-patient Bundle both ways.
func compareBundle(t testing.TB, what string, data []byte) {
	t.Helper()
	want, wantErr := legacyReadBundle(data)
	got, gotErr := ReadBundle(bytes.NewReader(data), int64(len(data))+1)
	if caseVariant(data) {
		return // documented: the old decoder folded case
	}
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%s: ReadBundle error %v, was %v", what, gotErr, wantErr)
	}
	if wantErr == nil {
		sameRecords(t, what, want, got)
	}
}

// comparePrefetch reads a prefetch object both ways.
func comparePrefetch(t testing.TB, what string, prefetch map[string]json.RawMessage, patientID string) {
	t.Helper()
	keys := make([]string, 0, len(prefetch))
	for k := range prefetch {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want, wantKinds := legacyPrefetch(prefetch, keys, patientID)
	got, gotKinds := newPrefetch(t, prefetch, keys, patientID)
	for _, raw := range prefetch {
		if caseVariant(raw) {
			return
		}
	}
	if diff := cmp.Diff(wantKinds, gotKinds); diff != "" {
		t.Fatalf("%s: what the prefetch held (-old +new):\n%s", what, diff)
	}
	sameRecords(t, what, want, got)
}

// CompareRequest is compareRequest for the external tests, which can
// build fixtures (tools/testkit/fixtures imports this package's importers).
var CompareRequest = compareRequest

// request is the part of a CDS Hooks request the comparison reads.
type request struct {
	Context  map[string]json.RawMessage `json:"context"`
	Prefetch map[string]json.RawMessage `json:"prefetch"`
}

func compareRequest(t testing.TB, what string, body []byte) {
	t.Helper()
	var req request
	if json.Unmarshal(body, &req) != nil || req.Prefetch == nil {
		return
	}
	var patientID string
	_ = json.Unmarshal(req.Context["patientId"], &patientID)
	comparePrefetch(t, what, req.Prefetch, patientID)
}

// seeds returns the inputs of a fuzz seed corpus directory.
func seeds(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds in %s: %v", dir, err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if q, ok := strings.CutPrefix(line, "[]byte("); ok {
				s, err := strconv.Unquote(strings.TrimSuffix(q, ")"))
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				out[f] = []byte(s)
			}
		}
	}
	return out
}

func TestDecodersAgree(t *testing.T) {
	t.Parallel()
	t.Run("Synthea", func(t *testing.T) {
		files, _ := filepath.Glob("../testdata/synthea/*.json")
		if len(files) == 0 {
			t.Fatal("no Synthea files")
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			compareBundle(t, f, data)
		}
	})
	t.Run("examples and sandbox", func(t *testing.T) {
		files, _ := filepath.Glob("../examples/*.json")
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			compareRequest(t, f, data)
		}
		data, err := os.ReadFile("../testdata/sandbox/sample-patient-view-exchange.json")
		if err != nil {
			t.Fatal(err)
		}
		var capture struct {
			Exchanges []struct {
				Body json.RawMessage `json:"body"`
			} `json:"exchanges"`
		}
		if err := json.Unmarshal(data, &capture); err != nil {
			t.Fatal(err)
		}
		for i, e := range capture.Exchanges {
			compareRequest(t, "sandbox exchange "+strconv.Itoa(i), e.Body)
		}
	})
	t.Run("more shared strings than the decoder keeps", func(t *testing.T) {
		// Past internSlots, shared strings replace each other in the table: the codes
		// and units after that point must read the same.
		var b strings.Builder
		b.WriteString(`{"resourceType":"Bundle","type":"collection","entry":[`)
		for i := range internSlots + 100 {
			if i > 0 {
				b.WriteByte(',')
			}
			n := strconv.Itoa(i)
			b.WriteString(`{"resource":{"resourceType":"Observation","id":"o` + n + `","status":"final","subject":{"reference":"Patient/p"},` +
				`"code":{"coding":[{"system":"http://loinc.org","code":"` + n + `-1","display":"Lab \u00e9` + n + `"}]},` +
				`"valueQuantity":{"value":` + n + `,"unit":"u` + n + `","system":"http://unitsofmeasure.org","code":"u` + n + `"}}}`)
		}
		b.WriteString(`,{"resource":{"resourceType":"Patient","id":"p"}}]}`)
		data := []byte(b.String())
		compareBundle(t, "generated Bundle", data)
		rec, err := ReadBundle(bytes.NewReader(data), int64(len(data))+1)
		if err != nil || len(rec.Observations) != internSlots+100 {
			t.Fatalf("ReadBundle = %d observations, %v; want %d", len(rec.Observations), err, internSlots+100)
		}
		last := rec.Observations[len(rec.Observations)-1]
		if want := strconv.Itoa(internSlots+99) + "-1"; len(last.Code.Codings) != 1 || last.Code.Codings[0].Code != want {
			t.Fatalf("last observation's codings = %+v, want code %s", last.Code.Codings, want)
		}
	})
	t.Run("seeds", func(t *testing.T) {
		for f, data := range seeds(t, "testdata/fuzz/FuzzReadBundle") {
			compareBundle(t, f, data)
		}
		for f, data := range seeds(t, "testdata/fuzz/FuzzGatherPrefetch") {
			var prefetch map[string]json.RawMessage
			if json.Unmarshal(data, &prefetch) == nil {
				comparePrefetch(t, f, prefetch, "pat-1")
			}
		}
		for f, data := range seeds(t, "../cdshooks/legcramps/testdata/fuzz/FuzzServiceCall") {
			compareRequest(t, f, data)
		}
	})
}

// FuzzDecodeEquivalence reads any input both ways, as a whole-patient
// Bundle and as one prefetch value, and requires the same Records (up to the
// documented differences). Seeds: the fuzz corpora of FuzzReadBundle.
func FuzzDecodeEquivalence(f *testing.F) {
	for _, dir := range []string{"testdata/fuzz/FuzzReadBundle", "testdata/fuzz/FuzzGatherPrefetch"} {
		for _, data := range seeds(f, dir) {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareBundle(t, "as a Bundle", data)
		if json.Valid(data) {
			comparePrefetch(t, "as a prefetch value", map[string]json.RawMessage{"k": data}, "pat-1")
		}
	})
}
