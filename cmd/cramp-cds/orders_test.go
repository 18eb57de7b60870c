package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
)

// The order hook examples are requests in the CDS Hooks sandbox's Rx View
// (order-select) and Rx Sign (order-sign) shape, for a patient with sleep
// related leg cramps (ICD-10-CM G47.62) who takes furosemide.
func TestEvaluateOrderExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file        string
		ingredients []string // each named in the card with its class
	}{
		{"../../examples/order-select.json", []string{
			"**hydrochlorothiazide** (thiazide and thiazide-like diuretics",
		}},
		// A combination product: each cramp-inducing ingredient counts.
		{"../../examples/order-sign.json", []string{
			"**hydrochlorothiazide** (thiazide and thiazide-like diuretics",
			"**triamterene** (potassium-sparing diuretics",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if err := runEvaluate(context.Background(), []string{"--now", "2025-06-02", tt.file}, nil, &stdout, &stderr); err != nil {
				t.Fatalf("evaluate: %v\n%s%s", err, stdout.String(), stderr.String())
			}
			var resp cdshooks.Response
			if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
				t.Fatalf("output is not a response: %v\n%s", err, stdout.String())
			}
			if len(resp.Cards) != 1 {
				t.Fatalf("got %d cards, want 1:\n%s", len(resp.Cards), stdout.String())
			}
			c := resp.Cards[0]
			if c.Source.Topic == nil || c.Source.Topic.Code != legcramps.TopicInducingOrder {
				t.Errorf("topic = %+v, want %s", c.Source.Topic, legcramps.TopicInducingOrder)
			}
			want := append(slices.Clone(tt.ingredients),
				"**furosemide** (loop diuretics): Furosemide 40 MG Oral Tablet", // already taken
				"Sleep related leg cramps")
			for _, w := range want {
				if !strings.Contains(c.Detail, w) {
					t.Errorf("detail lacks %q:\n%s", w, c.Detail)
				}
			}
			if len(c.Suggestions) != 1 || len(c.Suggestions[0].Actions) != 1 {
				t.Fatalf("suggestions = %+v, want one delete", c.Suggestions)
			}
			a := c.Suggestions[0].Actions[0]
			if got, want := string(a.Type)+" "+a.ResourceID, "delete MedicationRequest/request-123"; got != want {
				t.Errorf("action = %q, want %q", got, want)
			}
		})
	}
}

// The examples prefetch exactly what discovery asks for, so they also show an
// EHR integrator what to send.
func TestOrderExamplesPrefetchTheDiscoveryKeys(t *testing.T) {
	t.Parallel()
	want := slices.Sorted(maps.Keys(legcramps.InducingOrderPrefetch()))
	for _, file := range []string{"../../examples/order-select.json", "../../examples/order-sign.json"} {
		data, err := readInput(file, nil)
		if err != nil {
			t.Fatal(err)
		}
		var req cdshooks.Request
		if err := json.Unmarshal(data, &req); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if diff := cmp.Diff(want, slices.Sorted(maps.Keys(req.Prefetch))); diff != "" {
			t.Errorf("%s prefetch keys (-want +got):\n%s", file, diff)
		}
	}
}
