package feedback_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
)

// reportFixture writes a history whose numbers are worked out by hand below.
func reportFixture(t *testing.T, s feedback.Store) (since, now time.Time) {
	t.Helper()
	day1, day2 := t0, t0.Add(24*time.Hour)
	since, now = t0.Add(-time.Hour), t0.Add(48*time.Hour)
	var b feedback.Batch
	card := func(uuid, topic, version, patient string, at time.Time) {
		b.Cards = append(b.Cards, feedback.Card{UUID: uuid, Service: "svc", Topic: topic, KnowledgeVersion: version,
			Fingerprint: "f", Patient: patient, IssuedAt: at})
	}
	outcome := func(uuid, topic, outcome, reason string, at time.Time) {
		o := feedback.Outcome{Card: uuid, Service: "svc", Topic: topic, Outcome: outcome, ReasonCode: reason, At: at, ReceivedAt: at}
		if outcome == "accepted" {
			o.AcceptedSuggestions = 1
		}
		b.Outcomes = append(b.Outcomes, o)
	}
	// Topic a, version 1: 12 cards for 3 patients, 8 on day 1 and 4 on day 2;
	// 11 overridden (6 already-reviewed, 4 not-relevant, 1 without a reason)
	// and 1 accepted: 11/12 > 90% over 12 decisions, flagged.
	for i := range 12 {
		at := day1
		if i >= 8 {
			at = day2
		}
		card(fmt.Sprintf("a1-%d", i), "a", "1", fmt.Sprintf("p%d", i%3), at)
	}
	for i := range 11 {
		reason := "already-reviewed"
		switch {
		case i >= 10:
			reason = ""
		case i >= 6:
			reason = "not-relevant"
		}
		outcome(fmt.Sprintf("a1-%d", i), "a", "overridden", reason, day1)
	}
	outcome("a1-11", "a", "accepted", "", day2)
	// A card issued before the period does not count.
	card("a1-old", "a", "1", "p0", since.Add(-time.Minute))
	// Topic a, version 2: one card, overridden: 100% but one decision, not flagged.
	card("a2-0", "a", "2", "p0", day2)
	outcome("a2-0", "a", "overridden", "not-relevant", day2)
	// Topic b, version 1: 9 of 10 cards overridden is exactly 90%: not
	// flagged. One card overridden 100 times more is still one decision
	// (issue 27: one request repeating a uuid counted 100).
	for i := range 10 {
		card(fmt.Sprintf("b1-%d", i), "b", "1", "p1", day1)
		o := "overridden"
		if i == 9 {
			o = "accepted"
		}
		outcome(fmt.Sprintf("b1-%d", i), "b", o, "benefit-outweighs-risk", day1)
	}
	for range 100 {
		outcome("b1-0", "b", "overridden", "benefit-outweighs-risk", day1)
	}
	// Snoozes: two of topic a version 1 in force, one over.
	for i, until := range []time.Time{now.Add(time.Hour), now.Add(90 * 24 * time.Hour), now.Add(-time.Hour)} {
		b.Snoozes = append(b.Snoozes, feedback.Snooze{ID: fmt.Sprintf("a1-%d", i), Card: fmt.Sprintf("a1-%d", i),
			Service: "svc", Topic: "a", Reason: "already-reviewed", From: day1, Until: until})
	}
	mustWrite(t, s, b)
	return since, now
}

func TestReport(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		s := mustOpen(t, dsn)
		since, now := reportFixture(t, s)
		got, err := s.Report(context.Background(), since, now)
		if err != nil {
			t.Fatal(err)
		}
		want := &feedback.Report{Since: since, Generated: now, Topics: []feedback.Topic{
			{Topic: "a", KnowledgeVersion: "1", Issued: 12, Patients: 3, Feedback: 12, Accepted: 1, Overridden: 11,
				OverrideRate: 11.0 / 12, Reasons: []feedback.Reason{{Code: "already-reviewed", Count: 6}, {Code: "not-relevant", Count: 4}, {Code: "", Count: 1}},
				SnoozesInForce: 2, Flagged: true,
				Days: []feedback.Day{{Date: "2026-11-02", Issued: 8, Overridden: 11}, {Date: "2026-11-03", Issued: 4, Accepted: 1}}},
			{Topic: "a", KnowledgeVersion: "2", Issued: 1, Patients: 1, Feedback: 1, Overridden: 1, OverrideRate: 1,
				Reasons: []feedback.Reason{{Code: "not-relevant", Count: 1}},
				Days:    []feedback.Day{{Date: "2026-11-03", Issued: 1, Overridden: 1}}},
			{Topic: "b", KnowledgeVersion: "1", Issued: 10, Patients: 1, Feedback: 10, Accepted: 1, Overridden: 9, OverrideRate: 0.9,
				Reasons: []feedback.Reason{{Code: "benefit-outweighs-risk", Count: 9}},
				Days:    []feedback.Day{{Date: "2026-11-02", Issued: 10, Accepted: 1, Overridden: 9}}},
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("report (-want +got):\n%s", diff)
		}
	})
}

func TestReportFormats(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, "sqlite:"+t.TempDir()+"/r.db")
	since, now := reportFixture(t, s)
	r, err := s.Report(context.Background(), since, now)
	if err != nil {
		t.Fatal(err)
	}
	render := func(format string) string {
		var buf bytes.Buffer
		if err := r.Write(&buf, format); err != nil {
			t.Fatalf("Write(%s): %v", format, err)
		}
		return buf.String()
	}

	var back feedback.Report
	if err := json.Unmarshal([]byte(render(feedback.FormatJSON)), &back); err != nil {
		t.Fatalf("JSON report does not parse: %v", err)
	}
	if diff := cmp.Diff(r, &back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}

	rows, err := csv.NewReader(strings.NewReader(render(feedback.FormatCSV))).ReadAll()
	if err != nil {
		t.Fatalf("CSV report does not parse: %v", err)
	}
	// Header, then per topic and version its total and its days: 1+2, 1+1, 1+1.
	if got, want := len(rows), 1+3+2+2; got != want {
		t.Fatalf("CSV has %d rows, want %d:\n%v", got, want, rows)
	}
	if diff := cmp.Diff([]string{"a", "1", "all", "12", "3", "12", "1", "11", "0.917",
		"already-reviewed:6;not-relevant:4;(none):1", "2", "true", ""}, rows[1]); diff != "" {
		t.Errorf("CSV total row (-want +got):\n%s", diff)
	}

	page := render(feedback.FormatHTML)
	for _, want := range []string{"<svg", "⚑ overridden &gt; 90%", "already-reviewed: 6", "2026-11-02"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	if got := strings.Count(page, `class="flagged"`); got != 1 {
		t.Errorf("%d flagged rows, want 1 (topic a, version 1)", got)
	}
	// Self-contained: nothing fetched from anywhere.
	for _, banned := range []string{"<script", "<link", "src=", "href=", "url(", "@import"} {
		if strings.Contains(page, banned) {
			t.Errorf("HTML report contains %q: it must not load external assets", banned)
		}
	}
	if err := r.Write(&bytes.Buffer{}, "pdf"); err == nil {
		t.Errorf("an unknown format was accepted")
	}

	// Named by the service: the committee reads the cards' words, the codes
	// stay for tools; a code the service did not name stays a code.
	r.Name(feedback.Names{Topics: map[string]string{"a": "Drugs <that> cramp"},
		Reasons: map[string]string{"already-reviewed": "Already reviewed with the patient"}})
	page = render(feedback.FormatHTML)
	for _, want := range []string{"Drugs &lt;that&gt; cramp <small class=\"code\">a</small>",
		"Already reviewed with the patient: 6", "not-relevant: 4", "(none): 1", "<h3>b <small>"} {
		if !strings.Contains(page, want) {
			t.Errorf("named HTML report lacks %q", want)
		}
	}
	rows, err = csv.NewReader(strings.NewReader(render(feedback.FormatCSV))).ReadAll()
	if err != nil {
		t.Fatalf("CSV report does not parse: %v", err)
	}
	if got, want := rows[0][len(rows[0])-1], "topic_label"; got != want {
		t.Errorf("last CSV column %q, want %q", got, want)
	}
	for _, row := range rows[1:] {
		want := map[string]string{"a": "Drugs <that> cramp", "b": ""}[row[0]]
		if got := row[len(row)-1]; got != want {
			t.Errorf("CSV row %v: label %q, want %q", row, got, want)
		}
	}
	if got, want := rows[1][9], "already-reviewed:6;not-relevant:4;(none):1"; got != want {
		t.Errorf("named CSV reasons %q, want the codes %q", got, want)
	}
	if !strings.Contains(render(feedback.FormatJSON), `"label": "Already reviewed with the patient"`) {
		t.Errorf("JSON report lacks the reason's label")
	}
}

// TestReportCSVNeutralisesFormulas (issue 27, finding 8): a code stored by
// an earlier version (any caller text) that a spreadsheet would run as a
// formula is written as text.
func TestReportCSVNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, "sqlite:"+t.TempDir()+"/r.db")
	mustWrite(t, s, feedback.Batch{
		Cards:    []feedback.Card{{UUID: "c", Service: "svc", Topic: "=1+1", KnowledgeVersion: "@v", IssuedAt: t0}},
		Outcomes: []feedback.Outcome{{Card: "c", Service: "svc", Topic: "=1+1", Outcome: "overridden", ReasonCode: `=HYPERLINK("http://x")`, At: t0, ReceivedAt: t0}},
	})
	r, err := s.Report(context.Background(), t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.Write(&buf, feedback.FormatCSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows[1:] {
		for i, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("CSV row %v, column %s starts a formula: %q", row, rows[0][i], cell)
			}
		}
	}
}
