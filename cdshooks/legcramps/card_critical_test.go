package legcramps_test

import (
	"strings"
	"testing"
)

// Issue 26 item 2: a critical card says what to do (the action of the critical
// limit in knowledge/data/labs.yaml: repeat or confirm, treat, consider an ECG;
// with low potassium check magnesium) instead of "correcting an abnormal
// result alone may not resolve the cramps", and names the drugs on record that
// move the analyte that way (spironolactone, ACE inhibitors and ARBs with high
// potassium: standard pharmacology, cited in labs.yaml). Limits: potassium
// >= 6.5 mmol/L critical, 5.6-6.4 a warning (second clinical review).
func TestCriticalCardSaysWhatToDo(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{})
	spiro := activeMR("mr-spiro", rxnorm("9997", "Spironolactone 25 MG Oral Tablet"))
	lisinopril := activeMR("mr-lis", rxnorm("314076", "lisinopril 10 MG Oral Tablet"))
	furo := activeMR("mr-furo", furosemide)
	tests := []struct {
		name      string
		k         float64
		meds      []obj
		indicator string
		want      []string
		not       []string
	}{
		{"K 6.5 critical high", 6.5, []obj{spiro, lisinopril, furo}, "critical",
			[]string{"Repeat or confirm the result", "consider an ECG", "may be caused by spironolactone on record", "lisinopril 10 MG Oral Tablet on record can raise it"},
			[]string{"Correcting an abnormal result alone", "furosemide"}},
		{"K 6.4 high is a warning", 6.4, []obj{lisinopril}, "warning",
			[]string{"hyperkalemia", "lisinopril 10 MG Oral Tablet on record can raise it"}, []string{"consider an ECG"}},
		{"K 2.4 critical low: check magnesium", 2.4, []obj{furo, lisinopril}, "critical",
			[]string{"check magnesium", "may be caused by furosemide on record"}, []string{"Correcting an abnormal result alone", "lisinopril"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := lcObservation("obs-k", "2823-3", tt.k, "mmol/L", "2025-05-20")
			lab := cardWithTopic(patientViewCards(t, srv, lcRequest(t, reviewPatient(tt.meds, k))), "cramp-abnormal-lab")
			if lab == nil {
				t.Fatal("no result card")
			}
			if string(lab.Indicator) != tt.indicator {
				t.Errorf("indicator %s, want %s", lab.Indicator, tt.indicator)
			}
			for _, w := range tt.want {
				if !strings.Contains(lab.Detail, w) {
					t.Errorf("detail lacks %q:\n%s", w, lab.Detail)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(lab.Detail, n) {
					t.Errorf("detail has %q:\n%s", n, lab.Detail)
				}
			}
		})
	}
}

// Issue 26 item 3: quinine on record (RxNorm 9071; brand Qualaquin) gets a
// warning card citing the FDA Drug Safety Communication of 2010-07-08
// (standard practice beyond the seeds).
func TestQuinineOnRecordGetsAWarning(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{})
	for _, med := range []obj{rxnorm("9071", "Quinine"), {"text": "Qualaquin 324 mg capsule"}} {
		cards := patientViewCards(t, srv, lcRequest(t, reviewPatient([]obj{activeMR("mr-q", med)})))
		var c *struct{ summary, detail, indicator string }
		for _, card := range cards {
			if strings.Contains(card.Summary, "FDA warns") {
				c = &struct{ summary, detail, indicator string }{card.Summary, card.Detail, string(card.Indicator)}
			}
		}
		if c == nil {
			t.Fatalf("%v: no quinine card", med)
		}
		if c.indicator != "warning" || !strings.Contains(c.detail, "ucm218202") || !strings.Contains(c.detail, "haematological") {
			t.Errorf("%v: quinine card %s %q:\n%s", med, c.indicator, c.summary, c.detail)
		}
	}
}
