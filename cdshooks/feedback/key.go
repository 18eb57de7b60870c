package feedback

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"strings"
)

// MinKeyLength is the shortest secret NewKey accepts, in bytes.
const MinKeyLength = 32

// Key is the secret under which patients and fingerprints are stored: an
// HMAC-SHA-256 key. Whoever holds the database but not the key cannot tell
// which patient a row is about, nor what a card said; whoever holds both can
// only test a guess (this patient id on this server?), never list patients.
// Every replica sharing a database must use the same key, or none of them
// finds what another remembered.
type Key struct {
	secret []byte
}

// NewKey makes a Key from a secret of at least MinKeyLength bytes.
func NewKey(secret []byte) (Key, error) {
	if len(secret) < MinKeyLength {
		return Key{}, fmt.Errorf("the store key must be at least %d bytes (it has %d): generate one with "+
			"`openssl rand -hex 32`", MinKeyLength, len(secret))
	}
	return Key{secret: append([]byte(nil), secret...)}, nil
}

// IsZero reports whether k was never made by NewKey.
func (k Key) IsZero() bool { return len(k.secret) == 0 }

// Patient is the pseudonym of a patient as one caller knows it: an HMAC of
// issuer|fhirServer|patientId (a trailing slash of fhirServer ignored), 32
// hex digits. The server is part of it because ids are only unique within
// one FHIR server; the issuer (the caller's verified JWT iss), because a
// caller can name any fhirServer and patient id: two hospitals naming the
// same ones never share a pseudonym, so never each other's cards or snoozes.
func (k Key) Patient(issuer, fhirServer, patientID string) string {
	return k.sum("patient", issuer, strings.TrimRight(fhirServer, "/"), patientID)
}

// Fingerprint is the pseudonym of what a card is about, 32 hex digits, from
// parts the caller gives in a canonical order (for example the sorted
// ingredient codes): the same parts give the same fingerprint, any change
// another.
func (k Key) Fingerprint(parts ...string) string {
	return k.sum("fingerprint", parts...)
}

// sum is an HMAC over a domain and length-prefixed fields, so that no two
// different inputs hash the same bytes.
func (k Key) sum(domain string, fields ...string) string {
	if k.IsZero() {
		panic("feedback: Key used before NewKey")
	}
	mac := hmac.New(sha256.New, k.secret)
	writeField(mac, "cramp-cds/feedback/v1/"+domain)
	for _, f := range fields {
		writeField(mac, f)
	}
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

func writeField(h hash.Hash, f string) {
	h.Write(binary.AppendUvarint(nil, uint64(len(f))))
	h.Write([]byte(f))
}

// LoadOrCreateKeyFile reads the key kept in path, or, when the file does not
// exist, generates one (32 random bytes, hex) and writes it there readable by
// the owner only. It is for a single SQLite instance (`make run`); replicas
// sharing PostgreSQL take their key from a Secret instead.
func LoadOrCreateKeyFile(path string) (Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return Key{}, fmt.Errorf("generating the store key: %w", err)
		}
		b = []byte(hex.EncodeToString(secret))
		// O_EXCL: two processes starting together must not each write a key.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return LoadOrCreateKeyFile(path)
		}
		if err != nil {
			return Key{}, fmt.Errorf("writing the store key: %w", err)
		}
		_, werr := f.Write(append(b, '\n'))
		if err := errors.Join(werr, f.Close()); err != nil {
			return Key{}, fmt.Errorf("writing the store key %s: %w", path, err)
		}
	} else if err != nil {
		return Key{}, fmt.Errorf("reading the store key: %w", err)
	} else if err := checkKeyFileMode(path, 0o077); err != nil {
		// Someone else could read it, or have placed it: refused, not used.
		return Key{}, err
	}
	k, err := NewKey([]byte(strings.TrimSpace(string(b))))
	if err != nil {
		return Key{}, fmt.Errorf("store key file %s: %w", path, err)
	}
	return k, nil
}

// LoadKeyFile reads the key kept in path (--store-key-file, for example a
// mounted Kubernetes Secret), so that the secret is never a flag others can
// read in the process list. A file others may write is refused: whoever can
// replace the key can make the service forget every patient's snoozes.
func LoadKeyFile(path string) (Key, error) {
	secret, err := readSecretFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("store key: %w", err)
	}
	k, err := NewKey([]byte(secret))
	if err != nil {
		return Key{}, fmt.Errorf("store key file %s: %w", path, err)
	}
	return k, nil
}

// readSecretFile reads a secret kept in a file (its first line, without
// surrounding white space), refusing a file others may write.
func readSecretFile(path string) (string, error) {
	if err := checkKeyFileMode(path, 0o022); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line), nil
}

// checkKeyFileMode refuses a key file whose permissions grant any of the
// bits in loose.
func checkKeyFileMode(path string, loose os.FileMode) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if perm := info.Mode().Perm(); perm&loose != 0 {
		return fmt.Errorf("secret file %s has mode %04o: others may read or replace it; make it readable by its owner only (chmod 600)", path, perm)
	}
	return nil
}
