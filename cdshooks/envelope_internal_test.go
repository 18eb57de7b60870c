package cdshooks

// decodeRequest (one pass, exact member names) against the decode it
// replaced (encoding/json, then checkMembers): the same Request, or both an
// error, on the examples, the fuzz seeds and random input. Internal because
// decodeRequest is.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// legacyDecodeRequest is the decode decodeRequest replaced.
func legacyDecodeRequest(data []byte) (*Request, error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&req); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the object")
	}
	if err := checkMembers(data, requestMembers()); err != nil {
		return nil, err
	}
	return &req, nil
}

func compareEnvelope(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := legacyDecodeRequest(data)
	var got Request
	gotErr := decodeRequest(data, &got, requestMembers())
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("decodeRequest(%.100q) = %v, the old decode %v", data, gotErr, wantErr)
	}
	if wantErr == nil {
		if diff := cmp.Diff(want, &got, cmpopts.IgnoreUnexported(Request{}), cmp.Comparer(func(a, b json.RawMessage) bool { return bytes.Equal(a, b) })); diff != "" {
			t.Fatalf("decodeRequest(%.100q) (-old +new):\n%s", data, diff)
		}
	}
}

func envelopeSeeds(t testing.TB) [][]byte {
	var out [][]byte
	examples, _ := filepath.Glob("../examples/*.json")
	seeds, _ := filepath.Glob("legcramps/testdata/fuzz/FuzzServiceCall/*")
	for _, f := range append(examples, seeds...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(data), "go test fuzz v1") {
			out = append(out, data)
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if q, ok := strings.CutPrefix(line, "[]byte("); ok {
				if s, err := strconv.Unquote(strings.TrimSuffix(q, ")")); err == nil {
					out = append(out, []byte(s))
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no envelope seeds")
	}
	return out
}

func TestDecodeRequestAgrees(t *testing.T) {
	t.Parallel()
	for _, data := range envelopeSeeds(t) {
		compareEnvelope(t, data)
	}
}

// Issue 13, item 7: CDS Hooks member names are case-sensitive.
func TestDecodeRequestRefusesCaseVariants(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"hook":"patient-view","HOOK":"order-sign","hookInstance":"x","context":{}}`,
		`{"Hook":"patient-view","hookInstance":"x","context":{}}`,
		`{"hook":"patient-view","HookInstance":"x","context":{}}`,
		`{"hook":"patient-view","hookInstance":"x","FHIRSERVER":"https://evil.example","context":{}}`,
		`{"hook":"patient-view","hookInstance":"x","context":{},"fhirAuthorization":{"Access_Token":"t"}}`,
		`{"hook":"patient-view","hookInstance":"x","conte\u0078T":{}}`,
	} {
		var req Request
		err := decodeRequest([]byte(body), &req, requestMembers())
		var e *Error
		if !errors.As(err, &e) || e.Code != EINVALID || !strings.Contains(e.Error(), "case variant") {
			t.Errorf("decodeRequest(%s) = %v, want an invalid error about a case variant", body, err)
		}
		if strings.Contains(err.Error(), "HOOK") || strings.Contains(err.Error(), "FHIRSERVER") {
			t.Errorf("error %q echoes the caller's spelling", err)
		}
	}
}

// FuzzDecodeRequest compares decodeRequest with the decode it replaced on
// any body.
func FuzzDecodeRequest(f *testing.F) {
	for _, data := range envelopeSeeds(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) { compareEnvelope(t, data) })
}
