package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
)

// seedStore writes two cards of one topic, one overridden, into a new
// SQLite store and returns its DSN.
func seedStore(t *testing.T) string {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "cramp-cds.db")
	s, err := feedback.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	if err := s.Write(context.Background(), feedback.Batch{
		Cards: []feedback.Card{
			{UUID: "c1", Service: "svc", Topic: "cramp-medication", KnowledgeVersion: "1.0.0", Patient: "p1", IssuedAt: at},
			{UUID: "c2", Service: "svc", Topic: "cramp-medication", KnowledgeVersion: "1.0.0", Patient: "p2", IssuedAt: at},
		},
		Outcomes: []feedback.Outcome{{Card: "c1", Service: "svc", Topic: "cramp-medication", Outcome: "overridden",
			ReasonCode: "already-reviewed", At: at, ReceivedAt: at}},
	}); err != nil {
		t.Fatal(err)
	}
	return dsn
}

func TestReportCommand(t *testing.T) {
	t.Parallel()
	dsn := seedStore(t)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"csv", []string{"report", "--store", dsn, "--format", "csv"}, nil,
			[]string{"topic,knowledge_version,period", ",topic_label",
				"cramp-medication,1.0.0,all,2,2,1,0,1,1.000,already-reviewed:1,0,false,Medications that can cause leg cramps"}},
		{"json from the environment", []string{"report", "--format", "json"}, map[string]string{"CRAMP_CDS_STORE": dsn},
			[]string{`"topic": "cramp-medication"`, `"label": "Medications that can cause leg cramps"`, `"issued": 2`,
				`"label": "Already reviewed with the patient"`}},
		// The committee reads the cards' own words; the codes stay beside them.
		{"html by default", []string{"report", "--store", dsn}, nil, []string{"<svg", "cramp-medication",
			"Medications that can cause leg cramps", "Already reviewed with the patient: 1"}},
		{"since after everything", []string{"report", "--store", dsn, "--format", "csv", "--since", "2026-11-03"}, nil,
			[]string{"topic,knowledge_version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			if err := runReport(context.Background(), tt.args[1:], env(tt.env), &out, io.Discard); err != nil {
				t.Fatalf("report: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(tt.name, "since") && strings.Contains(out.String(), "cramp-medication") {
				t.Errorf("--since did not leave out the earlier cards:\n%s", out.String())
			}
		})
	}
	for _, bad := range [][]string{{"report"}, {"report", "--store", "none"}, {"report", "--store", dsn, "--since", "yesterday"},
		{"report", "--store", dsn, "--format", "pdf"}} {
		if err := run(context.Background(), bad, strings.NewReader(""), io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded, want an error", bad)
		}
	}
}

func TestAdminReport(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Store = seedStore(t)
	m := &Main{Config: cfg}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })

	none := testConfig()
	mNone := &Main{Config: none}
	if err := mNone.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mNone.Close() })

	tests := []struct {
		name, addr, query string
		status            int
		contentType, want string
	}{
		{"html", m.AdminAddr(), "", 200, "text/html; charset=utf-8", "Medications that can cause leg cramps"},
		{"csv", m.AdminAddr(), "?format=csv&since=2026-11-01", 200, "text/csv; charset=utf-8", "cramp-medication,1.0.0,all,2"},
		{"bad since", m.AdminAddr(), "?since=last-week", 400, "", "since"},
		{"bad format", m.AdminAddr(), "?format=xml", 400, "", "format"},
		{"no store", mNone.AdminAddr(), "", 404, "", "--store none"},
	}
	for _, tt := range tests {
		resp, err := http.Get("http://" + tt.addr + "/admin/report" + tt.query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, resp.StatusCode, tt.status, body)
		}
		if tt.contentType != "" && resp.Header.Get("Content-Type") != tt.contentType {
			t.Errorf("%s: Content-Type %q, want %q", tt.name, resp.Header.Get("Content-Type"), tt.contentType)
		}
		if !strings.Contains(string(body), tt.want) {
			t.Errorf("%s: body lacks %q: %s", tt.name, tt.want, body)
		}
	}
	checkCSP(t, m)
	// The report is on the admin listener only.
	resp, err := http.Get("http://" + m.Addr() + "/admin/report")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("API listener answers /admin/report with %d, want 404", resp.StatusCode)
	}
}
