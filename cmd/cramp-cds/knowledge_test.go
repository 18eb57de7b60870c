package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestRunKnowledgeJSON(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := runKnowledge([]string{"--json"}, &out, &errOut); err != nil {
		t.Fatalf("runKnowledge --json: %v (stderr %q)", err, errOut.String())
	}
	var got struct {
		Version string `json:"version"`
		Classes []struct {
			ID          string `json:"id"`
			Ingredients []struct {
				ID     string   `json:"id"`
				Brands []string `json:"brands"`
			} `json:"ingredients"`
		} `json:"classes"`
		Labs       []struct{ ID string } `json:"labs"`
		Conditions []struct{ ID string } `json:"conditions"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+\+[0-9a-f]{8}$`).MatchString(got.Version) {
		t.Errorf("version = %q, want semver+hash", got.Version)
	}
	lasix := false
	for _, c := range got.Classes {
		for _, i := range c.Ingredients {
			if i.ID == "furosemide" && strings.Contains(strings.Join(i.Brands, ","), "Lasix") {
				lasix = true
			}
		}
	}
	if !lasix {
		t.Error("JSON lacks furosemide with brand Lasix")
	}
	if len(got.Labs) == 0 || len(got.Conditions) == 0 {
		t.Errorf("JSON has %d labs and %d conditions, want both", len(got.Labs), len(got.Conditions))
	}
}

func TestRunKnowledgeTable(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := runKnowledge(nil, &out, &errOut); err != nil {
		t.Fatalf("runKnowledge: %v", err)
	}
	s := out.String()
	for _, want := range []string{
		"cramp-cds knowledge base 1.4.0+",
		"furosemide", "Lasix", "4603", "C03CA01", // class, ingredient, codes, brand
		"000#3:11", // evidence of the diuretics
		"hypomagnesemia < 1.6 mg/dL",
		"G47.62", "Restless legs syndrome",
		"M01A* except M01AX", // an ATC root with its exclusion
		// Value sets with their sizes and sources (issue 14): VSAC Heart Failure has 99 codes.
		"VALUE SETS", "condition-heart-failure", "cqframework/ecqm-content-qicore-2024@9ebd48f",
		"valueset-2.16.840.1.113883.3.526.3.376.json", "TheJacksonLaboratory/loinc2hpoAnnotation@c1068d6",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q", want)
		}
	}
}

func TestRunKnowledgeRejectsBadArguments(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--yaml"}, {"extra"}} {
		var out, errOut bytes.Buffer
		if err := runKnowledge(args, &out, &errOut); err == nil {
			t.Errorf("runKnowledge(%q) succeeded, want an error", args)
		}
	}
}
