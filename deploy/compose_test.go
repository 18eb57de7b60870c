package deploy_test

// deploy/compose.yaml is the local stack (service + PostgreSQL). Docker Compose is not on this
// machine, so the file is decoded strictly here (an unknown or misspelled key fails, as
// `docker compose config` would reject it) and compared with the chart's rendering: the same
// ports, the same settings, the same user, so that what works locally works in the cluster.

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// compose is the part of the Compose specification (compose-spec.io) the file uses.
type compose struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Volumes  map[string]struct{}       `json:"volumes"`
}

type composeService struct {
	Image string `json:"image"`
	Build *struct {
		Context    string `json:"context"`
		Dockerfile string `json:"dockerfile"`
	} `json:"build"`
	Command     []string          `json:"command"`
	Environment map[string]string `json:"environment"`
	Ports       []string          `json:"ports"`
	Volumes     []string          `json:"volumes"`
	DependsOn   map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
	Healthcheck *struct {
		Test     []string `json:"test"`
		Interval string   `json:"interval"`
		Timeout  string   `json:"timeout"`
		Retries  int      `json:"retries"`
	} `json:"healthcheck"`
	User            string   `json:"user"`
	ReadOnly        bool     `json:"read_only"`
	CapDrop         []string `json:"cap_drop"`
	SecurityOpt     []string `json:"security_opt"`
	StopGracePeriod string   `json:"stop_grace_period"`
}

func TestComposeFile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	svc, ok := c.Services["cramp-cds"]
	if !ok {
		t.Fatal("no cramp-cds service")
	}
	pg, ok := c.Services["postgres"]
	if !ok || !strings.HasPrefix(pg.Image, "postgres:") || pg.Healthcheck == nil {
		t.Fatalf("postgres service = %+v, want a postgres image with a healthcheck", pg)
	}
	if !strings.Contains(pg.Image, "@sha256:") {
		t.Errorf("postgres image %q is not pinned by digest", pg.Image)
	}
	if svc.DependsOn["postgres"].Condition != "service_healthy" {
		t.Error("cramp-cds does not wait for PostgreSQL to be healthy (the schema is migrated at start)")
	}
	if svc.Build == nil || svc.Build.Dockerfile != "deploy/Dockerfile" || svc.Build.Context != ".." {
		t.Errorf("build = %+v, want deploy/Dockerfile from the repository root", svc.Build)
	}
	for _, v := range svc.Volumes {
		if src, _, _ := strings.Cut(v, ":"); strings.HasPrefix(src, ".") {
			if _, err := os.Stat(src); err != nil && !strings.Contains(src, ".cramp-cds-dev") {
				t.Errorf("volume source %s does not exist", src)
			}
		}
	}
	store := svc.Environment["CRAMP_CDS_STORE"]
	if !strings.HasPrefix(store, "postgres://") || !strings.Contains(store, "@postgres:5432/") {
		t.Errorf("CRAMP_CDS_STORE = %q, want the postgres service", store)
	}

	// In step with the chart, rendered with a store as a hospital would.
	r := mustRender(t, "--set", "store.existingSecret=cramp-cds-store")
	pod := r.deployments[0].Spec.Template.Spec
	ctr := pod.Containers[0]
	if !slices.Equal(svc.Command, ctr.Args) {
		t.Errorf("command %v, the chart's args %v", svc.Command, ctr.Args)
	}
	for _, name := range []string{"http", "admin"} {
		port := strconv.Itoa(int(containerPort(ctr, name)))
		if !slices.ContainsFunc(svc.Ports, func(p string) bool { return strings.HasSuffix(p, ":"+port) }) {
			t.Errorf("ports %v do not publish the chart's %s port %s", svc.Ports, name, port)
		}
	}
	chartEnv := map[string]corev1.EnvVar{}
	for _, e := range ctr.Env {
		chartEnv[e.Name] = e
	}
	for name, value := range svc.Environment {
		e, ok := chartEnv[name]
		switch {
		case !ok:
			t.Errorf("compose sets %s, which the chart never sets", name)
		case e.ValueFrom != nil:
			// From a Secret in the chart (the store's URL and key): any value locally.
		case name == "CRAMP_CDS_PUBLIC_URL":
			// Where each is reached: localhost here, the Service or ingress there.
		case e.Value != value:
			t.Errorf("%s = %q, the chart sets %q", name, value, e.Value)
		}
	}
	for name := range chartEnv {
		if _, ok := svc.Environment[name]; !ok && name != "GOMEMLIMIT" {
			t.Errorf("the chart sets %s, compose does not", name)
		}
	}
	trustFile := chartEnv["CRAMP_CDS_TRUST_FILE"].Value
	if !slices.ContainsFunc(svc.Volumes, func(v string) bool { return strings.Contains(v, ":"+trustFile+":ro") }) {
		t.Errorf("no read-only volume at the trust file %s", trustFile)
	}
	sc := ctr.SecurityContext
	if want := strconv.Itoa(int(*sc.RunAsUser)) + ":" + strconv.Itoa(int(*sc.RunAsGroup)); svc.User != want {
		t.Errorf("user %q, the chart runs as %s", svc.User, want)
	}
	if !svc.ReadOnly || !slices.Equal(svc.CapDrop, []string{"ALL"}) || !slices.Contains(svc.SecurityOpt, "no-new-privileges:true") {
		t.Error("cramp-cds is not locked down as in the chart (read_only, cap_drop ALL, no-new-privileges)")
	}
	grace, err := time.ParseDuration(svc.StopGracePeriod)
	if err != nil || int64(grace.Seconds()) != *pod.TerminationGracePeriodSeconds {
		t.Errorf("stop_grace_period %q, the chart's terminationGracePeriodSeconds %d", svc.StopGracePeriod, *pod.TerminationGracePeriodSeconds)
	}
}
