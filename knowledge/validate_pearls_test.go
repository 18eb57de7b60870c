package knowledge_test

import "testing"

// TestValidatePearls: loading refuses broken pearls.yaml: pearls and pitfalls, each cited.
func TestValidatePearls(t *testing.T) {
	t.Parallel()
	testRejects(t, []brokenData{
		{"unknown ref", "pearls.yaml", []string{`ref: "6", line: 38`, `ref: "7", line: 38`}, `unknown ref "7"`},
		{"citation without line", "pearls.yaml", []string{`ref: "6", line: 38`, `ref: "6"`}, "has no line"},
		{"item without evidence", "pearls.yaml", []string{`evidence: [{seed: 000_c5ba4de4b750ce3b.txt, ref: "6", line: 38}]`, "evidence: []"}, "no evidence"},
		{"unknown kind", "pearls.yaml", []string{"    kind: pitfall\n    text: Do not assume", "    kind: warning\n    text: Do not assume"}, `pearl not-benign-without-evaluation: kind "warning" must be pearl or pitfall`},
	})
}
