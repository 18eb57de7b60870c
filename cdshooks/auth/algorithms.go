package auth

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultAlgorithms returns the JWS algorithms accepted when neither Options
// nor the trust file say otherwise: ES384 and RS384, which CDS Hooks 2.0
// recommends.
func DefaultAlgorithms() []string { return []string{"ES384", "RS384"} }

// supportedAlgorithm reports whether alg is an asymmetric JWS algorithm we can
// verify. none and HMAC (HS*) are absent on purpose: CDS Hooks forbids them,
// and HMAC "verified" with a public key is the classic alg-confusion attack.
func supportedAlgorithm(alg string) bool {
	switch alg {
	case "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return true
	}
	return false
}

// checkAlgorithms explains why an algorithm allow-list is unacceptable.
func checkAlgorithms(algs []string) error {
	var errs []error
	for _, a := range algs {
		switch {
		case strings.EqualFold(a, "none"):
			errs = append(errs, errors.New(`"none" is never allowed (CDS Hooks forbids unsigned tokens)`))
		case strings.HasPrefix(strings.ToUpper(a), "HS"):
			errs = append(errs, fmt.Errorf("%q is symmetric (HMAC), which CDS Hooks forbids", a))
		case !supportedAlgorithm(a):
			errs = append(errs, fmt.Errorf("%q is not supported (use ES384, RS384, ES256, RS256, ES512, RS512 or PS256/384/512)", a))
		}
	}
	return errors.Join(errs...)
}
