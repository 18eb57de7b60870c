package knowledge_test

import "testing"

// TestValidateSources: loading refuses broken sources.yaml: the version and the seeds every citation names.
func TestValidateSources(t *testing.T) {
	t.Parallel()
	testRejects(t, []brokenData{
		{"bad version", "sources.yaml", []string{"version: 1.4.0", "version: one"}, "not a semantic version"},
		{"seed not a seed file name", "sources.yaml", []string{"  - seed: 000_c5ba4de4b750ce3b.txt", "  - seed: causes.txt"}, `seed "causes.txt" is not a seed file name`},
		{"ref resolves to an unknown publication", "sources.yaml", []string{"publication: allen-kirby-2012}", "publication: allen-2012}"}, `unknown publication "allen-2012"`},
		{"publication without its record", "sources.yaml", []string{"    record: https://pubmed.ncbi.nlm.nih.gov/22963024/\n", ""}, "address of the public record"},
		{"bad PMID", "sources.yaml", []string{`pmid: "22963024"`, `pmid: "PMC22963024"`}, "is not a PubMed id"},
		{"beyond the seeds without saying for what", "sources.yaml", []string{"    beyond_seeds: true\n", ""}, "beyond_seeds and supports go together"},
		{"seed reference cited as a publication", "medications.yaml", []string{"{publication: garrison-2012}  # beyond the seeds: cramps follow starting a statin", "{publication: allen-kirby-2012}"}, "cite the seed reference it resolves"},
	})
}
