package legcramps

import "testing"

// TestUnitText checks UCUM codes against how a clinician writes them (UCUM
// annotations are free text in braces; [IU] is the international unit).
func TestUnitText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"mL/min/{1.73_m2}", "mL/min/1.73 m²"},
		{"m[IU]/L", "mIU/L"},
		{"u[IU]/mL", "uIU/mL"},
		{"mmol/L", "mmol/L"},
		{"%", "%"},
		{"{ratio}", "ratio"},
		{"mg/dL{", "mg/dL{"}, // unbalanced: as recorded
		{"", ""},
	} {
		if got := unitText(tt.in); got != tt.want {
			t.Errorf("unitText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
