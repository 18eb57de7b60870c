package cdshooks_test

import (
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

func TestFHIRServerAllowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		caller cdshooks.Caller
		allow  []string
		base   string
		want   bool
		entry  string // the label: the configured entry, never the request's URL
	}{
		{cdshooks.Caller{}, nil, "https://ehr.example.org/fhir", false, ""},
		{cdshooks.Caller{AnyFHIRServer: true}, nil, "https://ehr.example.org:8443/fhir", true, "*"},
		{cdshooks.Caller{FHIRServers: []string{"https://ehr.example.org/fhir/"}}, nil, "https://ehr.example.org/fhir", true, "https://ehr.example.org/fhir/"},
		{cdshooks.Caller{FHIRServers: []string{"https://ehr.example.org/fhir"}}, nil, "https://other.example.org/fhir", false, ""},
		{cdshooks.Caller{}, []string{"http://127.0.0.1:8081"}, "http://127.0.0.1:8081/", true, "http://127.0.0.1:8081"},
	}
	for _, tt := range tests {
		entry, ok := cdshooks.FHIRServerAllowed(tt.caller, tt.allow)(tt.base)
		if ok != tt.want || entry != tt.entry {
			t.Errorf("FHIRServerAllowed(%+v, %v)(%q) = %q, %v, want %q, %v", tt.caller, tt.allow, tt.base, entry, ok, tt.entry, tt.want)
		}
	}
}
