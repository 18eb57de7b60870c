package knowledge

import "testing"

// TestCheckFormat: each system's format and check digit, on codes the data ships (terminology.md) and the
// same codes with one character changed.
func TestCheckFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sys        codeSystem
		code       string
		prefix, ok bool
	}{
		{sysLOINC, "6298-4", false, true},
		{sysLOINC, "2823-3", false, true},
		{sysLOINC, "6298-5", false, false}, // mod-10 check digit
		{sysLOINC, "6298", false, false},
		{sysLOINC, "62", true, false}, // LOINC codes are never prefixes
		{sysSNOMED, "102549009", false, true},
		{sysSNOMED, "441481004", false, true},
		{sysSNOMED, "102549008", false, false}, // Verhoeff check digit
		{sysSNOMED, "0102549009", false, false},
		{sysRxNorm, "5487", false, true},
		{sysRxNorm, "54x7", false, false},
		{sysRxNorm, "123456789", false, false}, // more than 8 digits
		{sysICD10CM, "E87.6", false, true},
		{sysICD10CM, "G47.62", false, true},
		{sysICD10CM, "E8.76", false, false},
		{sysICD10CM, "G47", true, true},
		{sysICD10CM, "G4", true, true},
		{sysICD10CM, "G4", false, false},
		{sysATC, "C03AA03", false, true},
		{sysATC, "C03A03", false, false},
		{sysATC, "C03CA", true, true},
		{sysATC, "C03CA", false, false},
		{sysUnknown, "123", false, false},
	}
	for _, tt := range tests {
		err := checkFormat(tt.sys, tt.code, tt.prefix)
		if (err == nil) != tt.ok {
			t.Errorf("checkFormat(%s, %q, prefix=%v) = %v, want ok=%v", tt.sys, tt.code, tt.prefix, err, tt.ok)
		}
	}
}
