package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks/auth"
)

// floorMaxBody bounds a request body of the floor server, as --max-body
// bounds cramp-cds's in the run.
const floorMaxBody = 16 << 20

// runFloor is the floor command: a server that does only what no CDS
// service can skip, verifying the caller's JWT (the same trust file and
// verifier as cramp-cds) and decoding the body into map[string]any with
// encoding/json, then answers {"cards":[]}. Driven exactly like cramp-cds,
// it is what the run's latency and throughput are compared with. It listens
// on a loopback port and logs the address as cramp-cds does, and stops on
// SIGTERM (ctx).
func runFloor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cramp-load floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	trustFile := fs.String("trust", "", "trust file of the issuers whose tokens are accepted")
	if err := fs.Parse(args); err != nil {
		return err
	}
	trust, err := auth.LoadTrustFile(*trustFile)
	if err != nil {
		return fmt.Errorf("loading trust file: %w", err)
	}
	verifier, err := auth.NewVerifier(ctx, trust, auth.Options{})
	if err != nil {
		return fmt.Errorf("setting up JWT verification: %w", err)
	}
	defer verifier.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("POST "+servicePath, func(w http.ResponseWriter, r *http.Request) {
		if _, err := verifier.Authenticate(r, publicURL+servicePath); err != nil {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, floorMaxBody))
		var v map[string]any
		if err == nil {
			err = json.Unmarshal(body, &v)
		}
		if err != nil {
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"cards":[]}`)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// The load tool reads these two lines as it reads cramp-cds's log; the
	// floor has no admin listener, so both name the API.
	for _, l := range []string{"api", "admin"} {
		line, _ := json.Marshal(map[string]string{"msg": "listening", "listener": l, "addr": ln.Addr().String()})
		fmt.Fprintln(stdout, string(line))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		fmt.Fprintln(stderr, "floor server stopping:", context.Cause(ctx))
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
