package jsonscan_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/internal/jsonscan"
)

// tree reads any document into the values encoding/json builds for it
// (maps, slices, strings, json.Number, bools, nil), through the Reader's
// typed calls, so that comparing the two checks every path of the Reader.
func tree(r *jsonscan.Reader) any {
	switch r.Kind() {
	case jsonscan.Object:
		m := map[string]any{}
		r.BeginObject()
		for r.More() {
			name := string(r.Name())
			m[name] = tree(r)
		}
		return m
	case jsonscan.Array:
		a := []any{}
		r.BeginArray()
		for r.More() {
			if r.Kind() == jsonscan.String {
				// StringBytes for array elements, String for the rest.
				b, _ := r.StringBytes()
				a = append(a, string(b))
				continue
			}
			a = append(a, tree(r))
		}
		return a
	case jsonscan.String:
		s, _ := r.String()
		return s
	case jsonscan.Number:
		n, _ := r.Number()
		return json.Number(n)
	case jsonscan.Bool:
		b, _ := r.Bool()
		return b
	case jsonscan.Null:
		r.Null()
		return nil
	}
	r.Skip() // records the syntax error
	return nil
}

// decodeStd is what encoding/json reads from data, and whether it accepts it.
func decodeStd(data []byte) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	if _, err := d.Token(); err == nil || !json.Valid(data) {
		return nil, false
	}
	return v, true
}

func read(data []byte) (any, bool) {
	r := jsonscan.New(data)
	v := tree(r)
	return v, r.End()
}

func skip(data []byte) bool {
	r := jsonscan.New(data)
	r.Skip()
	return r.End()
}

var samples = []string{
	`{}`, `[]`, ` {"a" : [1, -0.5e+3, "x", true, false, null, {"b":{}}], "c":"\u00e9\ud83d\ude00\n\"\\\/"} `,
	`"plain"`, `0`, `-0`, `1.5E-7`, `"caf\u00e9 caf` + "\xc3\xa9" + `"`, `{"a":1,"a":2}`,
	`"bad utf-8 ` + "\xff\xfe" + `"`, `"lone \ud800 surrogate"`, `"\udc00\ud800"`, `"\ud800\u0041"`,
	// Refused:
	``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{,}`, `[,1]`, `{"a"}`, `{"a":}`, `{"a" 1}`, `{"a":1 "b":2}`,
	`[1 2]`, `{"a":1]`, `[1}`, `01`, `1.`, `.5`, `-`, `1e`, `+1`, `tru`, `nul`, `"\x"`, `"\u12"`, "\"a\tb\"",
	`"unterminated`, `{"a":1}x`, `[]]`, `NaN`, `1 2`, "\"\x00\"",
	strings.Repeat("[", jsonscan.MaxDepth) + strings.Repeat("]", jsonscan.MaxDepth),
	strings.Repeat("[", jsonscan.MaxDepth+1) + strings.Repeat("]", jsonscan.MaxDepth+1),
	strings.Repeat(`{"a":`, 50) + "1" + strings.Repeat("}", 50),
}

func TestReaderReadsAsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range samples {
		checkAgainstStd(t, []byte(s))
	}
}

func checkAgainstStd(t *testing.T, data []byte) {
	t.Helper()
	want, wantOK := decodeStd(data)
	if got := skip(data); got != wantOK {
		t.Fatalf("Skip+End(%.80q) = %v, want %v (encoding/json)", data, got, wantOK)
	}
	got, gotOK := read(data)
	if gotOK != wantOK {
		t.Fatalf("read(%.80q) accepted = %v, want %v", data, gotOK, wantOK)
	}
	// reflect.DeepEqual first: cmp.Diff is slow on the 10,000-deep sample.
	if wantOK && !reflect.DeepEqual(want, got) {
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("read(%.80q) (-encoding/json +Reader):\n%s", data, diff)
		}
	}
}

// The Reader looks at strings eight bytes at a time: each kind of byte that
// needs a closer look, at every position of a word and across two words,
// must read as encoding/json reads it.
func TestStringsAcrossWords(t *testing.T) {
	t.Parallel()
	for _, special := range []string{`\"`, `\\`, `\n`, `\u00e9`, `\ud83d\ude00`, "\x01", "\x1f", "\x7f", "é", "\xff", `"`, " "} {
		for at := 0; at <= 17; at++ {
			s := strings.Repeat("a", at) + special + strings.Repeat("b", 17-at)
			checkAgainstStd(t, []byte(`{"`+s+`":"`+s+`","k":["`+s+`"]}`))
		}
	}
}

func TestWrongTypesAreSkipped(t *testing.T) {
	t.Parallel()
	r := jsonscan.New([]byte(`{"s":5,"n":"x","b":{"deep":[1,{"x":"y"}]},"o":[1],"a":{},"last":"ok"}`))
	if !r.BeginObject() {
		t.Fatal("not an object")
	}
	var got []string
	for r.More() {
		switch name := string(r.Name()); name {
		case "s":
			_, ok := r.String()
			got = append(got, name+":"+strings.Repeat("ok", btoi(ok)))
		case "n":
			_, ok := r.Number()
			got = append(got, name+":"+strings.Repeat("ok", btoi(ok)))
		case "b":
			_, ok := r.Bool()
			got = append(got, name+":"+strings.Repeat("ok", btoi(ok)))
		case "o":
			got = append(got, name+":"+strings.Repeat("ok", btoi(r.BeginObject())))
		case "a":
			got = append(got, name+":"+strings.Repeat("ok", btoi(r.BeginArray())))
		case "last":
			s, ok := r.String()
			got = append(got, name+":"+s+strings.Repeat("ok", btoi(ok)))
		}
	}
	if !r.End() {
		t.Fatalf("End = false: %v", r.Err())
	}
	if diff := cmp.Diff([]string{"s:", "n:", "b:", "o:", "a:", "last:okok"}, got); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FuzzReader checks on any input that the Reader accepts exactly what
// encoding/json accepts and reads the same values from it.
func FuzzReader(f *testing.F) {
	for _, s := range samples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstStd(t, data)
	})
}
