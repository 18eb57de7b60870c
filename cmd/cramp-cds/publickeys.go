package main

import (
	"encoding/json"
	"log/slog"

	"github.com/cramp-cds/cramp-cds/cdshooks/auth"
)

// publishedKey is a signing key whose private half anyone can read, so a
// token it verifies proves nothing about who sent it.
type publishedKey struct {
	name string
	// crv, x: the public key's curve and x coordinate, as in its JWK; the
	// curve and x name an EC public key (y follows from them up to its sign).
	crv, x string
}

// publishedKeys are the keys known to be public. The CDS Hooks sandbox's
// private key is in its open-source repository (cds-hooks/sandbox); its
// public half is the one deploy/trust/sandbox.yaml trusts (a test checks
// they agree).
var publishedKeys = []publishedKey{{
	name: "the public CDS Hooks sandbox's key",
	crv:  "P-384",
	x:    "dw_JGR8nB2I6XveNxUOl2qk699ZPLM2nYI5STSdiEl9avAkrm3CkfYMbrrjr8laB",
}}

// warnPublishedKeys logs a warning for every trusted key whose private half
// is public: anyone can mint tokens the server accepts with it. It looks at
// keys given inline or in files; keys fetched from a jwks_uri are not known
// at start.
func warnPublishedKeys(trust *auth.Trust, logger *slog.Logger) {
	for i := range trust.Issuers {
		is := &trust.Issuers[i]
		for _, k := range jwkKeys(is.StaticJWKS()) {
			for _, p := range publishedKeys {
				if k.Crv == p.crv && k.X == p.x {
					logger.Warn("TRUSTING A KEY WHOSE PRIVATE HALF IS PUBLIC: anyone can mint tokens this server accepts. "+
						"For trying cramp-cds out only, never with real patient data or in production",
						"iss", is.Iss, "kid", k.Kid, "key", p.name)
				}
			}
		}
	}
}

// jwk is the part of a JWK the comparison needs.
type jwk struct {
	Kid string `json:"kid"`
	Crv string `json:"crv"`
	X   string `json:"x"`
}

// jwkKeys reads a JWK Set given as an object or as a JSON string holding one;
// nil when it cannot (the trust file's own checks report that).
func jwkKeys(raw []byte) []jwk {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = []byte(s)
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if json.Unmarshal(raw, &set) != nil {
		return nil
	}
	return set.Keys
}
