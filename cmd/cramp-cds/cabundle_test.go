package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCABundleReachesTheTLSClients: the Helm chart's caBundle sets
// SSL_CERT_DIR to a directory holding the hospital's CA. The service, started
// in a process with it, fetches an issuer's jwks_uri from a server whose
// certificate only that CA signed, and accepts the issuer's token; started
// without it, it cannot fetch the keys and refuses the token. (Go reads the
// system roots once per process, hence a child process for each.)
func TestCABundleReachesTheTLSClients(t *testing.T) {
	t.Parallel()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Hospital test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "jwks.hospital.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	issuer, err := loadOrCreateDevKey(filepath.Join(dir, "issuer"))
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := issuer.publicJWK()
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(map[string]any{"keys": []any{jwk}})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwks)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes of "without it"
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	trust := filepath.Join(dir, "trust.yaml")
	if err := os.WriteFile(trust, fmt.Appendf(nil, "issuers:\n  - iss: %s\n    jwks_uri: %s/jwks.json\n", devIssuer, srv.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	caDir := filepath.Join(dir, "ca")
	if err := os.Mkdir(caDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(caDir, "ca-bundle.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name       string
		certDir    string
		wantStatus string
	}{
		{"with the bundle", caDir, "status 200"},
		{"without it", filepath.Join(dir, "empty"), "status 401"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCABundleChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "SSL_CERT_DIR="+tt.certDir, "CRAMP_CDS_CA_CHILD_TRUST="+trust,
				"CRAMP_CDS_CA_CHILD_KEY="+filepath.Join(dir, "issuer"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if !bytes.Contains(out, []byte(tt.wantStatus)) {
				t.Errorf("child printed %s, want %q", out, tt.wantStatus)
			}
		})
	}
}

// TestCABundleChild is TestCABundleReachesTheTLSClients' child process: it
// starts the service with the trust file it is given and calls it once with
// the issuer's token, printing the status.
func TestCABundleChild(t *testing.T) {
	trust := os.Getenv("CRAMP_CDS_CA_CHILD_TRUST")
	if trust == "" {
		t.Skip("run by TestCABundleReachesTheTLSClients")
	}
	key, err := loadOrCreateDevKey(os.Getenv("CRAMP_CDS_CA_CHILD_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	base := serveTrusting(t, trust)
	url := base + "/cds-services/nocturnal-leg-cramps"
	tok, err := key.token(url, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("../../examples/patient-view-realistic.json")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(strings.Repeat("=", 3), "status", resp.StatusCode)
}
