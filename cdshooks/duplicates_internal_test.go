package cdshooks

import (
	"strings"
	"testing"
)

// The scanner is tested on its own because its edge cases (escapes, strings
// holding JSON punctuation) are about bytes, not about requests.
func TestCheckMembersDuplicates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		dup  string // "" when the body must pass
	}{
		{"no duplicates", `{"hook":"patient-view","context":{"a":1,"b":[1,{"a":2}]},"prefetch":{"p":null}}`, ""},
		{"top level", `{"hook":"x","hook":"y"}`, `"hook"`},
		{"a name we do not know is not echoed", `{"a":1,"a":2}`, `the request body: a member name`},
		{"nor in context", `{"context":{"evil<b>":1,"evil<b>":2}}`, `context: a member name`},
		{"in context", `{"context":{"patientId":"p","userId":"u","patientId":"q"}}`, `context."patientId"`},
		{"in prefetch", `{"prefetch":{"patient":{"id":"1"},"patient":null}}`, `prefetch: a member name`},
		{"escaped name", `{"context":{"patientId":"p","\u0070atientId":"q"}}`, `context."patientId"`},
		{"same name at different levels", `{"context":{"context":1},"prefetch":{"context":2}}`, ""},
		{"inside a resource is not checked", `{"prefetch":{"p":{"id":"1","id":"2"}}}`, ""},
		{"punctuation inside strings", `{"a":"}{,\"[","b":"\\","c":{"x":"]}"},"a2":1}`, ""},
		{"duplicate after tricky strings", `{"a":"}{,\"[","b":"\\","a":2}`, `a member name`},
		{"scalars and whitespace", "{ \"a\" : true ,\n\"b\":-1.5e3,\t\"c\":null , \"a\" : false }", `a member name`},
		{"array value before a duplicate", `{"a":[[1,2],{"k":[3]}],"b":{},"a":0}`, `a member name`},
		{"context that is not an object", `{"context":"x","context":"y"}`, `"context"`},
		{"empty objects", `{"context":{},"prefetch":{}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := checkMembers([]byte(tt.body), requestMembers())
			switch {
			case tt.dup == "" && err != nil:
				t.Fatalf("checkMembers(%s) = %v, want nil", tt.body, err)
			case tt.dup != "" && err == nil:
				t.Fatalf("checkMembers(%s) = nil, want a duplicate %s", tt.body, tt.dup)
			case tt.dup != "" && !strings.Contains(err.Error(), tt.dup+" appears more than once"):
				t.Fatalf("checkMembers(%s) = %v, want it to name %s", tt.body, err, tt.dup)
			}
		})
	}
}

func TestCheckMembersCaseVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rules *memberRules
		body  string
		known string // the known member the body has a variant of; "" when it must pass
	}{
		{"exact names", requestMembers(), `{"hook":"a","hookInstance":"b","fhirServer":"c","context":{"patientId":"p"}}`, ""},
		{"unknown names in any case", requestMembers(), `{"HOOKS":1,"hook_":2,"context":{"PATIENT":1}}`, ""},
		{"top level", requestMembers(), `{"hOOk":"x"}`, "hook"},
		{"escaped", requestMembers(), `{"\u0048ook":"x"}`, "hook"},
		{"fhirAuthorization", requestMembers(), `{"fhirAuthorization":{"SCOPE":"s"}}`, "scope"},
		{"context", requestMembers(), `{"context":{"DraftOrders":{}}}`, "draftOrders"},
		{"prefetch keys are the service's: no variants known", requestMembers(), `{"prefetch":{"Patient":1,"patient":2}}`, ""},
		{"inside a resource is not checked", requestMembers(), `{"context":{"draftOrders":{"ResourceType":"Bundle"}}}`, ""},
		{"feedback items", feedbackMembers(), `{"feedback":[{"card":"c"},{"outcomeTimeStamp":"t"}]}`, "outcomeTimestamp"},
		{"accepted suggestions", feedbackMembers(), `{"feedback":[{"acceptedSuggestions":[{"ID":"x"}]}]}`, "id"},
		{"override reason coding", feedbackMembers(), `{"feedback":[{"overrideReason":{"reason":{"System":"s"}}}]}`, "system"},
		{"scalars in an array of objects", feedbackMembers(), `{"feedback":[1,"x",null,{"card":"c"}]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := checkMembers([]byte(tt.body), tt.rules)
			switch {
			case tt.known == "" && err != nil:
				t.Fatalf("checkMembers(%s) = %v, want nil", tt.body, err)
			case tt.known != "" && (err == nil || !strings.Contains(err.Error(), "case variant of \""+tt.known+"\"")):
				t.Fatalf("checkMembers(%s) = %v, want a case variant of %q", tt.body, err, tt.known)
			}
		})
	}
}
