package feedback_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
)

func mustKey(t *testing.T, secret string) feedback.Key {
	t.Helper()
	k, err := feedback.NewKey([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyPseudonyms(t *testing.T) {
	t.Parallel()
	k := mustKey(t, strings.Repeat("k", 32))
	other := mustKey(t, strings.Repeat("o", 32))
	p := k.Patient("https://ehr.example", "https://fhir.example.org/r4", "123")
	tests := []struct {
		name string
		got  string
		same bool
	}{
		{"same patient", k.Patient("https://ehr.example", "https://fhir.example.org/r4", "123"), true},
		{"trailing slash of the server ignored", k.Patient("https://ehr.example", "https://fhir.example.org/r4/", "123"), true},
		{"other patient", k.Patient("https://ehr.example", "https://fhir.example.org/r4", "124"), false},
		{"same id on another server", k.Patient("https://ehr.example", "https://fhir.other.org/r4", "123"), false},
		{"another key", other.Patient("https://ehr.example", "https://fhir.example.org/r4", "123"), false},
		// Issue 27: two callers naming the same server and id are two patients.
		{"same server and id from another caller", k.Patient("https://other-ehr.example", "https://fhir.example.org/r4", "123"), false},
		// Length-prefixed fields: moving a character across the boundary changes it.
		{"field boundary", k.Patient("https://ehr.example", "https://fhir.example.org/r41", "23"), false},
	}
	for _, tt := range tests {
		if (tt.got == p) != tt.same {
			t.Errorf("%s: %s vs %s, want same = %v", tt.name, tt.got, p, tt.same)
		}
	}
	// Two hospitals that both omit fhirServer for the same patient id.
	if k.Patient("https://other-ehr.example", "", "123") == k.Patient("https://ehr.example", "", "123") {
		t.Errorf("two callers without a fhirServer share a pseudonym for the same id")
	}
	if len(p) != 32 || strings.Contains(p, "123") {
		t.Errorf("pseudonym %q: want 32 hex digits revealing nothing", p)
	}
	if k.Fingerprint("a", "b") == k.Fingerprint("ab") || k.Fingerprint("a", "b") != k.Fingerprint("a", "b") {
		t.Errorf("fingerprints must be stable and tell parts apart")
	}
	if k.Fingerprint("123") == k.Patient("https://ehr.example", "", "123") {
		t.Errorf("a fingerprint equals a patient pseudonym of the same text")
	}
}

func TestNewKeyRefusesShortSecrets(t *testing.T) {
	t.Parallel()
	if _, err := feedback.NewKey([]byte("short")); err == nil || !strings.Contains(err.Error(), "at least 32 bytes") {
		t.Errorf("NewKey(short) error = %v, want one asking for 32 bytes", err)
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cramp-cds.key")
	first, err := feedback.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("key file mode = %v, want %v", got, want)
	}
	again, err := feedback.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if first.Patient("https://ehr.example", "s", "p") != again.Patient("https://ehr.example", "s", "p") {
		t.Errorf("the key read back differs from the one generated: a restart would forget every snooze")
	}
	if err := os.WriteFile(path, []byte("too short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := feedback.LoadOrCreateKeyFile(path); err == nil {
		t.Errorf("a short key file was accepted")
	}
}

// TestLooseKeyFilesRefused (issue 27, finding 8): a key file beside the
// database that others may read or write (pre-placed world-writable, say) is
// refused, not used; --store-key-file refuses one others may write.
func TestLooseKeyFilesRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := []byte("0123456789abcdef0123456789abcdef\n")
	for _, mode := range []os.FileMode{0o666, 0o644, 0o640, 0o602} {
		path := filepath.Join(dir, fmt.Sprintf("beside-%o.key", mode))
		if err := os.WriteFile(path, secret, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := feedback.LoadOrCreateKeyFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("key file beside the database with mode %04o: error = %v, want it refused", mode, err)
		}
	}
	for _, tt := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o400, true}, {0o644, true}, {0o664, false}, {0o666, false}} {
		path := filepath.Join(dir, fmt.Sprintf("flag-%o.key", tt.mode))
		if err := os.WriteFile(path, secret, tt.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tt.mode); err != nil {
			t.Fatal(err)
		}
		if _, err := feedback.LoadKeyFile(path); (err == nil) != tt.ok {
			t.Errorf("--store-key-file with mode %04o: error = %v, want accepted %v", tt.mode, err, tt.ok)
		}
	}
}
