package legcramps_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

// hostileServer serves the real services on a loopback listener with the
// cramp-cds serve defaults (MaxBody 5 MiB), except that the read timeouts are
// short so the slow-client cases end quickly, and the given answer deadline.
func hostileServer(t *testing.T, answerDeadline time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(newServer(t, serverOptions{now: benchNow, config: cdshooks.Config{AnswerDeadline: answerDeadline}}).Handler())
	srv.Config.ReadHeaderTimeout = 300 * time.Millisecond
	srv.Config.ReadTimeout = 600 * time.Millisecond
	srv.Config.ErrorLog = nil
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// hostileBase is a valid patient-view request as a Go value, to be broken.
func hostileBase() map[string]any {
	return map[string]any{
		"hook":         "patient-view",
		"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
		"context":      map[string]any{"userId": "Practitioner/prac-1", "patientId": "pat-1"},
		"prefetch": map[string]any{
			"patient":              map[string]any{"resourceType": "Patient", "id": "pat-1"},
			"conditions":           nil,
			"medicationStatements": nil,
			"medicationRequests":   nil,
			"observations":         nil,
			"serviceRequests":      nil,
		},
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nested returns depth opening brackets, a value, and depth closing ones.
func nested(depth int) string {
	return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
}

// bundleOf returns a searchset Bundle holding n copies of resource.
func bundleOf(n int, resource string) string {
	entries := make([]string, n)
	for i := range entries {
		entries[i] = `{"resource":` + resource + `}`
	}
	return `{"resourceType":"Bundle","type":"searchset","entry":[` + strings.Join(entries, ",") + `]}`
}

// replacePrefetch returns the base request with one prefetch key's raw JSON.
func replacePrefetch(t *testing.T, key, raw string) []byte {
	t.Helper()
	req := hostileBase()
	req["prefetch"].(map[string]any)[key] = json.RawMessage(raw)
	return mustJSON(t, req)
}

func replaceContext(t *testing.T, name string, value any) []byte {
	t.Helper()
	req := hostileBase()
	req["context"].(map[string]any)[name] = value
	return mustJSON(t, req)
}

// Allocation allowed per element of a 100,000-element body. A plain element
// (a string, an empty entry) costs a few hundred bytes of slice and decoder
// bookkeeping; a resource goes through four json.Unmarshal calls and one
// golang-fhir-models struct before it is kept or skipped (about 2.7 KB
// measured for a minimal Observation).
const (
	plainElement    = 400
	resourceElement = 4 << 10
)

// TestHostileBodies posts hostile bodies to the real server over a real
// connection. Each gets an answer from want, never a 500 or a dropped
// connection, and the server's allocations stay within a small multiple of
// the body (measured with runtime.MemStats around the request).
//
// Not parallel: the allocation figures are process-wide, so nothing else may
// run meanwhile.
func TestHostileBodies(t *testing.T) {
	// The hostile bodies take long to evaluate on a busy machine: a deadline
	// that does not cut their answers.
	srv := hostileServer(t, time.Minute)
	fourMiB := strings.Repeat("A", 4<<20)
	huge := strings.Repeat("[", 100_000) // deeper than encoding/json's 10,000 limit
	strings100k := make([]string, 100_000)
	for i := range strings100k {
		strings100k[i] = fmt.Sprintf("MedicationRequest/%d", i)
	}
	tests := []struct {
		name string
		body []byte
		want []int
		// perElement is the allocation allowed per array element of a
		// many-element body: each costs a fixed amount, however small.
		perElement uint64
	}{
		{"nesting beyond the decoder's limit in context", []byte(`{"hook":"patient-view","hookInstance":"x","context":` + huge), []int{400}, 0},
		{"nesting beyond the decoder's limit in prefetch", []byte(`{"hook":"patient-view","prefetch":{"conditions":` + huge + `}}`), []int{400}, 0},
		{"nesting within the limit inside a resource", replacePrefetch(t, "conditions",
			bundleOf(1, `{"resourceType":"Condition","id":"c","code":{"text":`+nested(9_000)+`}}`)), []int{200}, 0},
		{"4 MiB patientId", replaceContext(t, "patientId", fourMiB), []int{400}, 0},
		{"4 MiB hookInstance", func() []byte { r := hostileBase(); r["hookInstance"] = fourMiB; return mustJSON(t, r) }(), []int{400}, 0},
		{"4 MiB condition text", replacePrefetch(t, "conditions",
			bundleOf(1, `{"resourceType":"Condition","id":"c","clinicalStatus":{"coding":[{"code":"active"}]},`+
				`"code":{"coding":[{"system":"http://snomed.info/sct","code":"449918009"}],"text":"`+fourMiB+`"},"subject":{"reference":"Patient/pat-1"}}`)), []int{200}, 0},
		{"6 MiB body", replaceContext(t, "filler", fourMiB+fourMiB[:2<<20]), []int{413}, 0},
		{"invalid UTF-8 in the hook", []byte("{\"hook\":\"patient-\xffview\",\"hookInstance\":\"x\",\"context\":{\"userId\":\"Practitioner/1\",\"patientId\":\"p\"}}"), []int{400}, 0},
		{"invalid UTF-8 in patientId", []byte("{\"hook\":\"patient-view\",\"hookInstance\":\"x\",\"context\":{\"userId\":\"Practitioner/1\",\"patientId\":\"p\xc3\x28\"}}"), []int{400}, 0},
		{"invalid UTF-8 outside strings", []byte("{\"hook\":\"patient-view\",\xff}"), []int{400}, 0},
		{"invalid UTF-8 in a resource", replacePrefetch(t, "conditions", "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"resourceType\":\"Condition\",\"id\":\"\xfe\",\"code\":{\"text\":\"\xff\"}}}]}"), []int{200}, 0},
		{"duplicate hook, the last invalid", []byte(`{"hook":"patient-view","hook":"no-such-hook","hookInstance":"x","context":{"userId":"Practitioner/1","patientId":"p"}}`), []int{400}, 0},
		{"duplicate patientId, the last invalid", []byte(`{"hook":"patient-view","hookInstance":"x","context":{"userId":"Practitioner/1","patientId":"p","patientId":"p/../q"}}`), []int{400}, 0},
		{"duplicate hook, both valid", []byte(`{"hook":"patient-view","hook":"patient-view","hookInstance":"x","context":{"userId":"Practitioner/1","patientId":"p"}}`), []int{400}, 0},
		{"duplicate patientId, both valid", []byte(`{"hook":"patient-view","hookInstance":"x","context":{"userId":"Practitioner/1","patientId":"p","patientId":"q"}}`), []int{400}, 0},
		{"duplicate prefetch key", []byte(`{"hook":"patient-view","hookInstance":"x","context":{"userId":"Practitioner/1","patientId":"p"},"prefetch":{"patient":null,"patient":null}}`), []int{400}, 0},
		// Inside FHIR resources the last value wins: walking every resource
		// token by token would cost more than the whole evaluation.
		{"duplicate member inside a resource", replacePrefetch(t, "conditions", `{"resourceType":"Bundle","type":"searchset","type":"searchset"}`), []int{200}, 0},
		{"number for the hook", func() []byte { r := hostileBase(); r["hook"] = 42; return mustJSON(t, r) }(), []int{400}, 0},
		{"number for patientId", replaceContext(t, "patientId", 42), []int{400}, 0},
		{"number for the prefetch", func() []byte { r := hostileBase(); r["prefetch"] = 42; return mustJSON(t, r) }(), []int{400}, 0},
		{"numbers for a resource's strings", replacePrefetch(t, "observations",
			bundleOf(1, `{"resourceType":"Observation","id":1,"status":5,"code":{"coding":[{"system":2,"code":3}]},"effectiveDateTime":20260101,"valueQuantity":{"value":"3.1","unit":7}}`)), []int{200}, 0},
		{name: "100,000-element array as hookInstance", want: []int{400}, perElement: plainElement,
			body: func() []byte { r := hostileBase(); r["hookInstance"] = strings100k; return mustJSON(t, r) }()},
		{name: "100,000-element context array", want: []int{200, 400}, perElement: plainElement,
			body: replaceContext(t, "selections", strings100k)},
		{name: "100,000 empty Bundle entries", want: []int{200}, perElement: plainElement,
			body: replacePrefetch(t, "observations", `{"resourceType":"Bundle","entry":[`+strings.TrimSuffix(strings.Repeat(`{},`, 100_000), ",")+`]}`)},
		{name: "100,000 Observations", want: []int{200}, perElement: resourceElement,
			body: replacePrefetch(t, "observations", bundleOf(100_000, `{"resourceType":"Observation"}`))},
	}
	client := srv.Client()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, allocated := postMeasured(t, client, srv.URL, tt.body)
			if !slices.Contains(tt.want, status) {
				t.Fatalf("status = %d, want one of %v: %.300s", status, tt.want, body)
			}
			if status != http.StatusOK {
				var oo cdshooks.OperationOutcome
				if err := json.Unmarshal(body, &oo); err != nil || oo.ResourceType != "OperationOutcome" {
					t.Errorf("%d body is not an OperationOutcome: %.300s", status, body)
				}
			}
			// encoding/json copies each raw value a few times on its way into
			// the record: 40 times the body, plus the per-element cost, is
			// well above what a correct path allocates and far below a leak
			// or a blow-up.
			limit := 8<<20 + 40*uint64(len(tt.body)) + 100_000*tt.perElement
			if allocated > limit {
				t.Errorf("allocated %d MiB for a %d KiB body, want at most %d MiB", allocated>>20, len(tt.body)>>10, limit>>20)
			}
			t.Logf("%d KiB body: status %d, %d KiB response, %d KiB allocated", len(tt.body)>>10, status, len(body)>>10, allocated>>10)
		})
	}
	// After all of that, the server still answers a normal request.
	p := fixtures.Generate(1, fixtures.Typical, benchNow)
	if status, body, _ := postMeasured(t, client, srv.URL, p.Request(fixtures.RequestOptions{})); status != http.StatusOK {
		t.Fatalf("a normal request after the hostile ones: status %d: %s", status, body)
	}
}

// postMeasured posts body to nocturnal-leg-cramps and returns the status, the
// response body and the bytes the process allocated meanwhile.
func postMeasured(t *testing.T, client *http.Client, base string, body []byte) (int, []byte, uint64) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := client.Post(base+"/cds-services/"+legcramps.PatientViewID, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST: %v (the server dropped the connection)", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	runtime.ReadMemStats(&after)
	return resp.StatusCode, got, after.TotalAlloc - before.TotalAlloc
}

// TestSlowClientsAreCutOff opens raw connections that send a request slowly
// and never finish it. The server must close each once its read timeout
// passes (answering 400 first is fine), and keep serving others. The 10 s
// guard only catches a server that never closes; the timeouts are 0.3-0.6 s.
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	// A service call's answer deadline is its body's read deadline: as short
	// as the server's read timeout.
	srv := hostileServer(t, 600*time.Millisecond)
	addr := srv.Listener.Addr().String()
	tests := []struct {
		name, sent string
	}{
		{"headers never finish", "POST /cds-services/nocturnal-leg-cramps HTTP/1.1\r\nHost: x\r\nContent-Type: appl"},
		{"body never finishes", "POST /cds-services/nocturnal-leg-cramps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Content-Length: 100000\r\n\r\n{\"hook\":\"patient-view\",\"context\":{"},
		{"chunked body never ends", "POST /cds-services/nocturnal-leg-cramps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n10\r\n{\"hook\":\"patient-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tt.sent); err != nil {
				t.Fatal(err)
			}
			// Keep trickling one byte now and then, as slowloris does; a
			// write error means the server has closed the connection.
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
						if _, err := conn.Write([]byte(" ")); err != nil {
							return
						}
					}
				}
			}()
			if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(conn)
			if resp, err := http.ReadResponse(r, nil); err == nil {
				if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusRequestTimeout {
					t.Errorf("status %d, want 400 or 408 for a request that never finished", resp.StatusCode)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			// Whatever was answered, the connection must now be closed.
			_, err = r.ReadByte()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the server kept the slow connection open")
			}
			if err == nil {
				t.Fatal("the server sent more than one answer")
			}
		})
	}
	t.Run("others are still served", func(t *testing.T) {
		t.Parallel()
		resp, err := srv.Client().Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("healthz = %d, want %d", got, want)
		}
	})
}

// BenchmarkHostileElements measures the worst bodies of the many-element
// kind that fit under the default 5 MiB limit: as many empty Bundle entries,
// or minimal Observations, as fit. Their cost grows with the element count,
// not the bytes, so they show the most work one request can cause.
func BenchmarkHostileElements(b *testing.B) {
	srv := newServer(b, serverOptions{now: benchNow})
	for _, tt := range []struct{ name, element string }{
		{"empty-entries", `{}`},
		{"minimal-observations", `{"resource":{"resourceType":"Observation"}}`},
	} {
		n := (cdshooks.DefaultMaxBody - 1024) / (len(tt.element) + 1)
		body := []byte(`{"hook":"patient-view","hookInstance":"x","context":{"userId":"Practitioner/1","patientId":"p"},` +
			`"prefetch":{"patient":null,"conditions":null,"medicationStatements":null,"medicationRequests":null,"serviceRequests":null,` +
			`"observations":{"resourceType":"Bundle","entry":[` + strings.TrimSuffix(strings.Repeat(tt.element+",", n), ",") + `]}}}`)
		b.Run(fmt.Sprintf("%s-%dk", tt.name, n/1000), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if status, resp, _ := srv.Invoke(context.Background(), legcramps.PatientViewID, body); status != http.StatusOK {
					b.Fatalf("status %d: %.200s", status, resp)
				}
			}
		})
	}
}
