package main

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
)

// TestExportedMetricsList: deploy/testdata/exported-metrics.txt, the metrics
// the Helm chart's alerts and dashboard may name, are metrics the service
// exports, of the type it says. After one EHR session the families are read
// from /metrics; the counters that only move on failures (store failures,
// calls shed) are taken from the instruments' names as the Prometheus
// exporter spells them (dots to underscores, _total).
//
// Not parallel: the session clears OTEL_* (t.Setenv).
func TestExportedMetricsList(t *testing.T) {
	clearOTEL(t)
	s := startSession(t)
	s.run(t)
	families, _ := s.scrape(t)
	exported := map[string]string{}
	for name, f := range families {
		exported[name] = strings.ToLower(f.GetType().String())
	}
	for _, instrument := range []string{feedback.MetricStoreFailures, cdshooks.MetricRequestsShed} {
		exported[strings.ReplaceAll(instrument, ".", "_")+"_total"] = "counter"
	}

	f, err := os.Open("../../deploy/testdata/exported-metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		name, typ, _ := strings.Cut(line, " ")
		got, ok := exported[name]
		switch {
		case !ok:
			t.Errorf("exported-metrics.txt lists %s, which the service does not export", name)
		case got != typ:
			t.Errorf("exported-metrics.txt says %s is a %s, the service exports a %s", name, typ, got)
		}
	}
	if n < 5 {
		t.Errorf("read %d metrics from exported-metrics.txt", n)
	}
}
