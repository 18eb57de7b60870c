package knowledge_test

import "testing"

// TestValidateSources: loading refuses broken sources.yaml: the version and the seeds every citation names.
func TestValidateSources(t *testing.T) {
	t.Parallel()
	testRejects(t, []brokenData{
		{"bad version", "sources.yaml", []string{"version: 1.3.0", "version: one"}, "not a semantic version"},
		{"seed not a seed file name", "sources.yaml", []string{"  - seed: 000_c5ba4de4b750ce3b.txt", "  - seed: causes.txt"}, `seed "causes.txt" is not a seed file name`},
	})
}
