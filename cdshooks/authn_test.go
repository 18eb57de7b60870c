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
	}{
		{cdshooks.Caller{}, nil, "https://ehr.example.org/fhir", false},
		{cdshooks.Caller{AnyFHIRServer: true}, nil, "https://ehr.example.org/fhir", true},
		{cdshooks.Caller{FHIRServers: []string{"https://ehr.example.org/fhir/"}}, nil, "https://ehr.example.org/fhir", true},
		{cdshooks.Caller{FHIRServers: []string{"https://ehr.example.org/fhir"}}, nil, "https://other.example.org/fhir", false},
		{cdshooks.Caller{}, []string{"http://127.0.0.1:8081"}, "http://127.0.0.1:8081/", true},
	}
	for _, tt := range tests {
		if got := cdshooks.FHIRServerAllowed(tt.caller, tt.allow)(tt.base); got != tt.want {
			t.Errorf("FHIRServerAllowed(%+v, %v)(%q) = %v, want %v", tt.caller, tt.allow, tt.base, got, tt.want)
		}
	}
}
