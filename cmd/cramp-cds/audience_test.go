package main

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

// With a trust file, a token's aud must name one of the --public-url URLs.
// Without --public-url the server used to rebuild the audience from the Host
// header, so a token minted for http://evil.example/... passed when sent with
// Host: evil.example. The server now refuses to start without --public-url,
// and the Host header never makes an audience.
func TestTokenForAnotherHostIsRefused(t *testing.T) {
	t.Parallel()
	e := startE2E(t, 2*time.Second)
	path := "/cds-services/" + legcramps.PatientViewID
	body := e.patient.Request(fixtures.RequestOptions{})
	tests := []struct {
		name, aud, host string
		want            int
	}{
		{"token for our public URL", e2ePublicURL + path, "", http.StatusOK},
		{"token for the Host sent", "http://evil.example" + path, "evil.example", http.StatusUnauthorized},
		{"token for the address listened on", "http://" + e.main.Addr() + path, "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := e.issuer.Token(tt.aud, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			req, err := http.NewRequest(http.MethodPost, "http://"+e.main.Addr()+path, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d: %.200s", resp.StatusCode, tt.want, got)
			}
		})
	}
}
