package knowledge

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	reLOINC     = regexp.MustCompile(`^[0-9]{1,7}-[0-9]$`)
	reSNOMED    = regexp.MustCompile(`^[1-9][0-9]{5,17}$`)
	reRxCUI     = regexp.MustCompile(`^[1-9][0-9]{0,7}$`)
	reICDCode   = regexp.MustCompile(`^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$`)
	reICDPrefix = regexp.MustCompile(`^[A-Z]([0-9]([0-9A-Z](\.[0-9A-Z]{1,3})?)?)?$`)
	reATCCode   = regexp.MustCompile(`^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$`)
	reATCPrefix = regexp.MustCompile(`^[A-Z]([0-9]{2}([A-Z]{1,2})?)?$`)
)

// codeSystem names the terminologies the base holds codes of.
type codeSystem uint8

const (
	sysUnknown codeSystem = iota
	sysRxNorm
	sysATC
	sysSNOMED
	sysICD10CM
	sysLOINC
)

func (s codeSystem) String() string {
	switch s {
	case sysRxNorm:
		return "RxNorm"
	case sysATC:
		return "ATC"
	case sysSNOMED:
		return "SNOMED CT"
	case sysICD10CM:
		return "ICD-10-CM"
	case sysLOINC:
		return "LOINC"
	}
	return "unknown"
}

// checkFormat validates one code of a system; prefixes are allowed for ICD-10-CM and ATC only.
func checkFormat(sys codeSystem, code string, prefix bool) error {
	if prefix && sys != sysICD10CM && sys != sysATC {
		return fmt.Errorf("%s code %q: prefix matching is only for ICD-10-CM and ATC", sys, code)
	}
	switch sys {
	case sysLOINC:
		if !reLOINC.MatchString(code) || !loincCheckDigitOK(code) {
			return fmt.Errorf("LOINC code %q is malformed or fails its mod-10 check digit", code)
		}
	case sysSNOMED:
		if !reSNOMED.MatchString(code) || !verhoeffOK(code) {
			return fmt.Errorf("SNOMED CT code %q is malformed or fails its Verhoeff check digit", code)
		}
	case sysRxNorm:
		if !reRxCUI.MatchString(code) {
			return fmt.Errorf("RxNorm code %q is not an RxCUI (1-8 digits)", code)
		}
	case sysICD10CM:
		return codeOrPrefix(sys, code, prefix, reICDCode, reICDPrefix)
	case sysATC:
		return codeOrPrefix(sys, code, prefix, reATCCode, reATCPrefix)
	default:
		return fmt.Errorf("code %q of an unknown system", code)
	}
	return nil
}

// codeOrPrefix matches a whole code, or a root of one when prefix is set.
func codeOrPrefix(sys codeSystem, code string, prefix bool, whole, root *regexp.Regexp) error {
	re := whole
	if prefix {
		re = root
	}
	if !re.MatchString(code) {
		return fmt.Errorf("%s code %q is malformed (prefix=%v)", sys, code, prefix)
	}
	return nil
}

// loincCheckDigitOK applies LOINC's mod-10 algorithm: from the right, double every other digit starting
// with the rightmost, sum all digits of the results, and the check digit brings the sum to a multiple of 10.
func loincCheckDigitOK(code string) bool {
	dash := strings.IndexByte(code, '-')
	body, check := code[:dash], int(code[dash+1]-'0')
	sum := 0
	for i := 0; i < len(body); i++ {
		d := int(body[len(body)-1-i] - '0')
		if i%2 == 0 {
			d *= 2
			d = d/10 + d%10
		}
		sum += d
	}
	return (10-sum%10)%10 == check
}

// Verhoeff tables (dihedral group D5), used by SNOMED CT identifiers.
var (
	verhoeffD = [10][10]uint8{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]uint8{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
)

// verhoeffOK reports whether a digit string, check digit included, passes the Verhoeff check.
func verhoeffOK(digits string) bool {
	c := uint8(0)
	for i := 0; i < len(digits); i++ {
		d := digits[len(digits)-1-i] - '0'
		c = verhoeffD[c][verhoeffP[i%8][d]]
	}
	return c == 0
}
