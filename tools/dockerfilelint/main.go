// Command dockerfilelint checks Dockerfiles with BuildKit's own lint rules, the ones
// `docker build --check` runs, without a Docker engine or network: base images are never
// pulled, their configuration is answered as empty. It prints one line per finding and exits
// non-zero if there is any.
//
//	dockerfilelint deploy/Dockerfile
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	digest "github.com/opencontainers/go-digest"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dockerfilelint:", err)
		os.Exit(1)
	}
}

// errFindings reports that at least one Dockerfile has lint findings (already printed).
var errFindings = errors.New("lint findings")

func run(ctx context.Context, files []string, out io.Writer) error {
	if len(files) == 0 {
		return errors.New("usage: dockerfilelint DOCKERFILE...")
	}
	var result error
	for _, name := range files {
		n, err := lint(ctx, name, out)
		if err != nil {
			return err
		}
		if n > 0 {
			result = errFindings
		}
	}
	return result
}

// lint prints the findings for one Dockerfile and returns how many there were.
func lint(ctx context.Context, name string, out io.Writer) (int, error) {
	dt, err := os.ReadFile(name)
	if err != nil {
		return 0, fmt.Errorf("reading Dockerfile: %w", err)
	}
	// The linter reports locations against a source map, which needs a marshalled definition.
	st := llb.Scratch()
	sm := llb.NewSourceMap(&st, name, "Dockerfile", dt)
	if sm.Definition, err = st.Marshal(ctx); err != nil {
		return 0, fmt.Errorf("%s: building the source map: %w", name, err)
	}
	res, err := dockerfile2llb.DockerfileLint(ctx, dt, dockerfile2llb.ConvertOpt{
		SourceMap:    sm,
		MetaResolver: offlineImages{},
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		fmt.Fprintf(out, "%s:%d: %s: %s (%s)\n", name, line, w.RuleName, w.Detail, w.URL)
	}
	if res.Error != nil {
		fmt.Fprintf(out, "%s: %s\n", name, res.Error.Message)
		return len(res.Warnings) + 1, nil
	}
	return len(res.Warnings), nil
}

// offlineImages answers every base-image lookup with an empty image configuration, so the
// linter never contacts a registry. Rules that need the real base image's config are thus
// skipped, which is acceptable for a lint.
type offlineImages struct{}

func (offlineImages) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	return ref, "", []byte(`{"config":{}}`), nil
}
