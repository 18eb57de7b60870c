package population

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// IDs turns a bare Patient.id into the id the worklist shows.
type IDs func(patientID string) string

// PlainIDs shows patient ids as they are.
func PlainIDs() IDs { return func(id string) string { return id } }

// HashedIDs shows a pseudonym instead of the id: "h:" and the first 128 bits
// of HMAC-SHA256(key, id) in hex. The same key always gives the same
// pseudonym, so shards and later runs line up; without a secret key, anyone
// holding the patient ids can recompute the pseudonyms, so a worklist that
// leaves the hospital's systems needs one.
func HashedIDs(key []byte) IDs {
	return func(id string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id))
		return "h:" + hex.EncodeToString(m.Sum(nil)[:16])
	}
}

// KeyCheck is a short fingerprint of a HashedIDs key: the first 32 bits of
// its HMAC over a fixed text, so it tells keys apart and reveals nothing a
// pseudonym does not.
func KeyCheck(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("cramp-cds population id key check"))
	return hex.EncodeToString(m.Sum(nil)[:4])
}
