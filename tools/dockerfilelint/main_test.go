package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		dockerfile string
		wantRules  []string // rule names expected in the output; none means clean
	}{
		{
			name:       "clean multi-stage",
			dockerfile: "FROM golang:1.26 AS build\nWORKDIR /src\nRUN [\"go\", \"build\"]\nFROM scratch\nCOPY --from=build /x /x\nENTRYPOINT [\"/x\"]\n",
		},
		{
			name:       "legacy habits",
			dockerfile: "from golang:1.26 as build\nMAINTAINER me\nENV A b\nWORKDIR src\nFROM scratch\nENTRYPOINT /x\n",
			wantRules:  []string{"MaintainerDeprecated", "LegacyKeyValueFormat", "WorkdirRelativePath", "JSONArgsRecommended"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "Dockerfile")
			if err := os.WriteFile(file, []byte(tt.dockerfile), 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err := run(context.Background(), []string{file}, &out)
			if len(tt.wantRules) == 0 {
				if err != nil {
					t.Fatalf("run = %v, want no findings; output:\n%s", err, out.String())
				}
				return
			}
			if !errors.Is(err, errFindings) {
				t.Fatalf("run = %v, want errFindings", err)
			}
			for _, rule := range tt.wantRules {
				if !strings.Contains(out.String(), rule) {
					t.Errorf("output lacks %s:\n%s", rule, out.String())
				}
			}
		})
	}
}
