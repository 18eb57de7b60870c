package knowledge_test

import "testing"

// TestValidateValueSets: loading refuses broken valuesets/*.json: shape, provenance, and codes valid for their systems.
func TestValidateValueSets(t *testing.T) {
	t.Parallel()
	testRejects(t, []brokenData{
		{"LOINC check digit", "valuesets/lab-potassium.json", []string{`"code": "6298-4"`, `"code": "6298-5"`}, `LOINC code "6298-5"`},
		{"SNOMED Verhoeff check digit in a value set", "valuesets/condition-heart-failure.json", []string{`"code": "441481004"`, `"code": "441481005"`}, `SNOMED CT code "441481005"`},
		{"ICD-10-CM format", "valuesets/condition-hypokalemia.json", []string{`"code": "E87.6"`, `"code": "E8.76"`}, `ICD-10-CM code "E8.76"`},
		{"ATC format in a value set", "valuesets/drug-nsaid.json", []string{`"code": "M01AX01"`, `"code": "M01X01"`}, `ATC code "M01X01"`},
		{"value set without provenance", "valuesets/lab-tsh.json", []string{`"url": "https://github.com/cramp-cds/cramp-cds/fhir/StructureDefinition/valueset-source"`, `"url": "https://example.org/other"`}, "no source"},
		{"LOINC in two analytes", "valuesets/lab-magnesium.json", []string{`"code": "21377-7"`, `"code": "2823-3"`}, "is in two analytes' value sets"},
		{"expansion total not the code count", "valuesets/lab-tsh.json", []string{`"total": 4`, `"total": 1000`}, "must equal the 4 codes"},
		{"code of a system the kind does not hold", "valuesets/lab-tsh.json", []string{`"system": "http://loinc.org"`, `"system": "http://snomed.info/sct"`}, "not one a lab value set holds"},
	})
}
