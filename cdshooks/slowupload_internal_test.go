package cdshooks

// Issue 27, finding 6: slow authenticated uploads. Internal because it
// waits on the memory budget's state to know the slow calls are in.

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const slowTestBody = `{"hook":"patient-view","hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
 "context":{"userId":"Practitioner/example","patientId":"1288992"}}`

// TestSlowUploadsHoldLittle opens 8 calls that declare a 5 MiB body and
// send one byte of it. Before, each was charged 25 MiB at admission, so the
// 8 held the whole default budget and every other caller got 503 until
// they timed out 15 s later; now each holds only what it sent (the 1.25 MiB
// minimum), another call is answered 200 meanwhile, and the slow calls get
// 408 at their answer deadline instead of holding on.
func TestSlowUploadsHoldLittle(t *testing.T) {
	t.Parallel()
	s, err := NewServer(Config{AnswerDeadline: 2 * time.Second}, Deps{
		Services: []Service{NoCards{Defs: []ServiceDefinition{{ID: "s", Hook: HookPatientView, Description: "test"}}}},
		IsFHIRID: func(string) bool { return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	const slow = 8
	conns := make([]net.Conn, slow)
	for i := range conns {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := fmt.Fprintf(c, "POST /cds-services/s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", DefaultMaxBody); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	// Wait until all 8 are admitted and reading (no timing is asserted:
	// only the end state, or a failure after a long while).
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		s.memory.mu.Lock()
		used := s.memory.used
		s.memory.mu.Unlock()
		if used == slow*callCharge {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("in-flight memory %d, want %d: the slow calls were not all admitted, or charged more than they sent", used, slow*callCharge)
		}
	}

	resp, err := srv.Client().Post(srv.URL+"/cds-services/s", "application/json", strings.NewReader(slowTestBody))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a call while 8 slow uploads are in progress: status %d, want 200", resp.StatusCode)
	}

	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Errorf("slow call %d: no answer: %v", i, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("slow call %d: status %d, want 408 at its deadline", i, resp.StatusCode)
		}
	}
}
