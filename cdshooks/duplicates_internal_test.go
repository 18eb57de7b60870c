package cdshooks

import (
	"strings"
	"testing"
)

// The scanner is tested on its own because its edge cases (escapes, strings
// holding JSON punctuation) are about bytes, not about requests.
func TestCheckDuplicateNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		dup  string // "" when the body must pass
	}{
		{"no duplicates", `{"hook":"patient-view","context":{"a":1,"b":[1,{"a":2}]},"prefetch":{"p":null}}`, ""},
		{"top level", `{"hook":"x","hook":"y"}`, `"hook"`},
		{"in context", `{"context":{"patientId":"p","userId":"u","patientId":"q"}}`, `context."patientId"`},
		{"in prefetch", `{"prefetch":{"patient":{"id":"1"},"patient":null}}`, `prefetch."patient"`},
		{"escaped name", `{"context":{"patientId":"p","\u0070atientId":"q"}}`, `context."patientId"`},
		{"same name at different levels", `{"context":{"context":1},"prefetch":{"context":2}}`, ""},
		{"inside a resource is not checked", `{"prefetch":{"p":{"id":"1","id":"2"}}}`, ""},
		{"punctuation inside strings", `{"a":"}{,\"[","b":"\\","c":{"x":"]}"},"a2":1}`, ""},
		{"duplicate after tricky strings", `{"a":"}{,\"[","b":"\\","a":2}`, `"a"`},
		{"scalars and whitespace", "{ \"a\" : true ,\n\"b\":-1.5e3,\t\"c\":null , \"a\" : false }", `"a"`},
		{"array value before a duplicate", `{"a":[[1,2],{"k":[3]}],"b":{},"a":0}`, `"a"`},
		{"context that is not an object", `{"context":"x","context":"y"}`, `"context"`},
		{"empty objects", `{"context":{},"prefetch":{}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := checkDuplicateNames([]byte(tt.body))
			switch {
			case tt.dup == "" && err != nil:
				t.Fatalf("checkDuplicateNames(%s) = %v, want nil", tt.body, err)
			case tt.dup != "" && err == nil:
				t.Fatalf("checkDuplicateNames(%s) = nil, want a duplicate %s", tt.body, tt.dup)
			case tt.dup != "" && !strings.Contains(err.Error(), tt.dup+" appears more than once"):
				t.Fatalf("checkDuplicateNames(%s) = %v, want it to name %s", tt.body, err, tt.dup)
			}
		})
	}
}
