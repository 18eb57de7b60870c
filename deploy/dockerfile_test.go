package deploy_test

// The container image cannot be built here (no Docker engine), so this test reads
// deploy/Dockerfile and checks what the chart relies on: a static binary on a distroless
// base, a numeric non-root user, no shell use at run time, and the ports the chart probes.
// BuildKit's own lint rules run in `make lint-dockerfile`.

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	keyword string // upper case
	args    string
}

// stages splits a Dockerfile into its build stages (from each FROM to the next).
func stages(t *testing.T, dockerfile string) [][]instruction {
	t.Helper()
	var all [][]instruction
	var logical string
	for line := range strings.Lines(dockerfile) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || (line == "" && logical == "") {
			continue
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			logical += rest + " "
			continue
		}
		logical += line
		keyword, args, _ := strings.Cut(logical, " ")
		logical = ""
		in := instruction{keyword: strings.ToUpper(keyword), args: strings.TrimSpace(args)}
		if in.keyword == "FROM" {
			all = append(all, nil)
		}
		if len(all) == 0 {
			if in.keyword != "ARG" {
				t.Fatalf("%s before the first FROM", in.keyword)
			}
			continue
		}
		all[len(all)-1] = append(all[len(all)-1], in)
	}
	return all
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	all := stages(t, string(b))
	if len(all) < 2 {
		t.Fatalf("stages = %d, want a multi-stage build", len(all))
	}
	build, final := all[len(all)-2], all[len(all)-1]

	t.Run("static build", func(t *testing.T) {
		t.Parallel()
		i := slices.IndexFunc(build, func(in instruction) bool {
			return in.keyword == "RUN" && strings.Contains(in.args, "go build")
		})
		if i < 0 {
			t.Fatal("no RUN go build in the build stage")
		}
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/cramp-cds"} {
			if !strings.Contains(build[i].args, want) {
				t.Errorf("go build %q lacks %s", build[i].args, want)
			}
		}
	})

	t.Run("runtime stage", func(t *testing.T) {
		t.Parallel()
		base, _, _ := strings.Cut(strings.Fields(final[0].args)[0], "@")
		if !strings.HasPrefix(base, "gcr.io/distroless/static") || !strings.HasSuffix(base, ":nonroot") {
			t.Errorf("runtime base %q, want gcr.io/distroless/static...:nonroot (no shell, no libc needed)", base)
		}
		users := instructions(final, "USER")
		if len(users) == 0 {
			t.Fatal("no USER in the runtime stage: the image would run as root")
		}
		// Numeric, so the kubelet can enforce runAsNonRoot without reading /etc/passwd.
		uid, _, _ := strings.Cut(users[len(users)-1], ":")
		if n, err := strconv.Atoi(uid); err != nil || n != nonRootUID {
			t.Errorf("USER %q, want numeric %d", users[len(users)-1], nonRootUID)
		}
		if runs := instructions(final, "RUN"); len(runs) > 0 {
			t.Errorf("RUN %q in the runtime stage: distroless has no shell", runs[0])
		}
		entry := instructions(final, "ENTRYPOINT")
		if len(entry) != 1 || !strings.HasPrefix(entry[0], "[") {
			t.Errorf("ENTRYPOINT %q, want one in exec (JSON) form so SIGTERM reaches the binary", entry)
		}
		var exposed []string
		for _, e := range instructions(final, "EXPOSE") {
			exposed = append(exposed, strings.Fields(e)...)
		}
		for _, port := range []int{httpPort, adminPort} {
			if !slices.Contains(exposed, strconv.Itoa(port)) {
				t.Errorf("EXPOSE %v lacks %d, which the chart uses", exposed, port)
			}
		}
	})
}

// TestDockerfileBasesPinnedByDigest: a tag moves, so an image built from a tag today differs from
// one built tomorrow; every FROM names its base by digest (a FROM naming an earlier stage aside).
func TestDockerfileBasesPinnedByDigest(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	digest := regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	var names []string
	for _, stage := range stages(t, string(b)) {
		var image string
		for _, f := range strings.Fields(stage[0].args) {
			if !strings.HasPrefix(f, "--") {
				image = f
				break
			}
		}
		if slices.Contains(names, image) {
			continue // an earlier stage
		}
		if !digest.MatchString(image) {
			t.Errorf("FROM %s is not pinned by digest (image@sha256:...)", image)
		}
		if fields := strings.Fields(stage[0].args); len(fields) >= 3 && strings.EqualFold(fields[len(fields)-2], "AS") {
			names = append(names, fields[len(fields)-1])
		}
	}
	if len(names) == 0 {
		t.Error("no named build stage found: did the parsing break?")
	}
}

// instructions returns the arguments of every instruction with the given keyword.
func instructions(stage []instruction, keyword string) []string {
	var args []string
	for _, in := range stage {
		if in.keyword == keyword {
			args = append(args, in.args)
		}
	}
	return args
}
