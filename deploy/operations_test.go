package deploy_test

// What a platform team asks before installing: alerts and a dashboard on metrics the service
// really exports, a CA bundle the service uses, refusal of the sandbox's public key, one version.

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// exportedMetrics reads testdata/exported-metrics.txt: family name -> type.
func exportedMetrics(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/exported-metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, typ, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("exported-metrics.txt: %q is not 'name type'", line)
		}
		m[name] = typ
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// seriesName matches a metric selector in PromQL: a name followed by its label matchers.
var seriesName = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{`)

// bareMetric matches what looks like a metric name used without a selector, which the check
// below would miss: every metric in our rules and panels carries at least a namespace matcher.
var bareMetric = regexp.MustCompile(`\b[a-z_]+_(total|bucket|count|sum|seconds)\b[^{]`)

// checkMetricNames fails for every series in expr that the service does not export. A
// histogram's series are its family name plus _bucket, _count or _sum.
func checkMetricNames(t *testing.T, where, expr string, exported map[string]string) []string {
	t.Helper()
	var names []string
	for _, m := range seriesName.FindAllStringSubmatch(expr, -1) {
		name := m[1]
		names = append(names, name)
		family := name
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && exported[base] == "histogram" {
				family = base
			}
		}
		if _, ok := exported[family]; !ok {
			t.Errorf("%s: %s is not a metric cramp-cds exports (testdata/exported-metrics.txt)", where, name)
		}
	}
	if bad := bareMetric.FindString(expr + " "); bad != "" {
		t.Errorf("%s: %q names a metric without a selector", where, bad)
	}
	if len(names) == 0 {
		t.Errorf("%s: no metric in %q", where, expr)
	}
	return names
}

func TestChartAlerts(t *testing.T) {
	t.Parallel()
	exported := exportedMetrics(t)
	r := mustRender(t, "--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.serviceMonitor.enabled=true")
	if len(r.prometheusRules) != 1 {
		t.Fatalf("%d PrometheusRules, want 1", len(r.prometheusRules))
	}
	pr := r.prometheusRules[0]
	seen := map[string]bool{}
	for _, g := range pr.Spec.Groups {
		for _, rule := range g.Rules {
			expr := rule.Expr.String()
			for _, n := range checkMetricNames(t, "alert "+rule.Alert, expr, exported) {
				seen[n] = true
			}
			if !strings.Contains(expr, `namespace="`+namespace+`"`) {
				t.Errorf("alert %s does not select the release's namespace: %s", rule.Alert, expr)
			}
			if rule.Labels["severity"] == "" || rule.Annotations["summary"] == "" {
				t.Errorf("alert %s lacks a severity label or a summary", rule.Alert)
			}
		}
	}
	// The four things the issue asks to be alerted on, each by the series that shows it.
	for what, series := range map[string]string{
		"error rate":                "http_server_request_duration_seconds_count",
		"latency":                   "http_server_request_duration_seconds_bucket",
		"store failing open":        "cramp_cds_store_failures_total",
		"replayed tokens (replays)": "cramp_cds_jwt_rejections_total",
	} {
		if !seen[series] {
			t.Errorf("no alert on %s (%s)", what, series)
		}
	}
	// Thresholds come from values.
	r2 := mustRender(t, "--set", "metrics.prometheusRule.enabled=true", "--set-json", "metrics.prometheusRule.latencyP99Seconds=2.5")
	var found bool
	for _, rule := range r2.prometheusRules[0].Spec.Groups[0].Rules {
		found = found || strings.Contains(rule.Expr.String(), "> 2.5")
	}
	if !found {
		t.Error("metrics.prometheusRule.latencyP99Seconds=2.5 does not reach the latency alert")
	}
	if r := mustRender(t); len(r.prometheusRules) != 0 {
		t.Error("a PrometheusRule is rendered by default: it needs the operator's CRDs")
	}
}

func TestChartDashboard(t *testing.T) {
	t.Parallel()
	exported := exportedMetrics(t)
	r := mustRender(t, "--set", "metrics.dashboard.enabled=true")
	var cm *corev1.ConfigMap
	for _, c := range r.configMaps {
		if c.Labels["grafana_dashboard"] == "1" {
			cm = c
		}
	}
	if cm == nil {
		t.Fatal("no ConfigMap labelled grafana_dashboard=1")
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	data := cm.Data["cramp-cds.json"]
	if err := json.Unmarshal([]byte(data), &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("dashboard without title, uid or panels: %+v", dash)
	}
	shown := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, n := range checkMetricNames(t, "panel "+p.Title, tg.Expr, exported) {
				shown[n] = true
			}
		}
	}
	// Every exported family is on the dashboard.
	for family, typ := range exported {
		name := family
		if typ == "histogram" {
			name += "_bucket"
		}
		if !shown[name] && !shown[family+"_count"] {
			t.Errorf("the dashboard shows nothing of %s", family)
		}
	}
}

func TestChartRefusesSandboxTrust(t *testing.T) {
	t.Parallel()
	sandbox, err := os.ReadFile("trust/sandbox.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The sandbox's key alone, under another issuer name, in a jwks_file beside the trust file.
	keyOnly := `{"keys":[{"kty":"EC","crv":"P-384","kid":"k","x":"dw_JGR8nB2I6XveNxUOl2qk699ZPLM2nYI5STSdiEl9avAkrm3CkfYMbrrjr8laB","y":"Sm3mLE-n1zYNla_aiE3cb3nZsL51RbC7ysw3q8aJLxGm-hx79RPMYpITDjp7kgzy"}]}`
	if !strings.Contains(string(sandbox), "dw_JGR8nB2I6XveNxUOl2qk699ZPLM2nYI5STSdiEl9avAkrm3CkfYMbrrjr8laB") {
		t.Fatal("trust/sandbox.yaml no longer holds the key the chart looks for: update _helpers.tpl")
	}
	dir := t.TempDir()
	writeFile := func(name, content string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sandboxFile := writeFile("sandbox.yaml", string(sandbox))
	jwks := writeFile("jwks.json", keyOnly)
	other := writeFile("other.yaml", "issuers:\n  - iss: https://ehr.example.org\n    jwks_file: jwks.json\n")
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"sandbox trust file", []string{"--set-file", "trust.content=" + sandboxFile}},
		{"sandbox key in a jwks_file", []string{"--set-file", "trust.content=" + other, "--set-file", "trust.extraFiles.jwks\\.json=" + jwks}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := render(t, chartDir, tt.args...)
			if err == nil || !strings.Contains(err.Error(), "allowSandboxTrust") {
				t.Fatalf("helm template error = %v, want a refusal naming allowSandboxTrust", err)
			}
			r := mustRender(t, append(tt.args, "--set", "allowSandboxTrust=true")...)
			if len(r.deployments) != 1 {
				t.Fatal("with allowSandboxTrust=true the chart renders no Deployment")
			}
		})
	}
}

func TestChartCABundle(t *testing.T) {
	t.Parallel()
	if r := mustRender(t); env(r.deployments[0].Spec.Template.Spec.Containers[0], "SSL_CERT_DIR") != "" {
		t.Error("SSL_CERT_DIR is set without a CA bundle")
	}
	for _, source := range []string{"existingConfigMap", "existingSecret"} {
		t.Run(source, func(t *testing.T) {
			t.Parallel()
			r := mustRender(t, "--set", "caBundle."+source+"=hospital-ca")
			pod := r.deployments[0].Spec.Template.Spec
			c := pod.Containers[0]
			if got, want := env(c, "SSL_CERT_DIR"), "/etc/cramp-cds/ca"; got != want {
				t.Errorf("SSL_CERT_DIR = %q, want %q", got, want)
			}
			i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "ca-bundle" })
			if i < 0 {
				t.Fatal("no ca-bundle volume mount")
			}
			m := c.VolumeMounts[i]
			// A subPath mount is a plain file: Go skips the symlinks of a whole ConfigMap mount.
			if m.MountPath != "/etc/cramp-cds/ca/ca-bundle.pem" || m.SubPath != "ca.crt" || !m.ReadOnly {
				t.Errorf("ca-bundle mount = %+v, want /etc/cramp-cds/ca/ca-bundle.pem, subPath ca.crt, read-only", m)
			}
			j := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == "ca-bundle" })
			if j < 0 {
				t.Fatal("no ca-bundle volume")
			}
			v := pod.Volumes[j]
			if (v.ConfigMap == nil || v.ConfigMap.Name != "hospital-ca") && (v.Secret == nil || v.Secret.SecretName != "hospital-ca") {
				t.Errorf("ca-bundle volume = %+v, want %s hospital-ca", v.VolumeSource, source)
			}
		})
	}
	if _, err := render(t, chartDir, "--set", "caBundle.existingSecret=a", "--set", "caBundle.existingConfigMap=b"); err == nil {
		t.Error("the chart accepts a CA bundle from a Secret and a ConfigMap at once")
	}
}

// TestChartAppVersionIsTheVersion: the chart deploys the version the code says it is.
func TestChartAppVersionIsTheVersion(t *testing.T) {
	t.Parallel()
	v, err := os.ReadFile("../internal/version/VERSION")
	if err != nil {
		t.Fatal(err)
	}
	chart, err := os.ReadFile(chartDir + "/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(chart, &c); err != nil {
		t.Fatal(err)
	}
	if got, want := c.AppVersion, strings.TrimSpace(string(v)); got != want {
		t.Errorf("Chart.yaml appVersion = %q, internal/version/VERSION = %q", got, want)
	}
}
