package deploy_test

// These tests render the Helm chart with `helm template` (the binary named by $HELM, which
// `make test-deploy` installs and sets) and check every rendered object strictly against the
// official Kubernetes API types, then check the settings a hospital platform team asks for.
// No cluster is needed.

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cramp-cds/cramp-cds/deploy/manifest"
)

var update = flag.Bool("update", false, "rewrite manifests/cramp-cds.yaml from the chart (make manifests)")

const (
	chartDir  = "helm/cramp-cds"
	release   = "cramp-cds"
	namespace = "cramp-cds"
	// The chart needs Kubernetes 1.30 (the preStop sleep handler); helm template otherwise
	// assumes an old version and refuses the chart's kubeVersion.
	kubeVersion = "1.30.0"

	// telemetryFlush is how long cramp-cds flushes telemetry after its requests drained
	// (telemetryFlushTimeout in cmd/cramp-cds/serve.go).
	telemetryFlush = 3 * time.Second

	// The image's user (distroless "nonroot") and the binary's ports, from deploy/Dockerfile.
	nonRootUID = 65532
	httpPort   = 8080
	adminPort  = 9090

	// plainManifests is the checked-in rendering for teams without Helm.
	plainManifests = "manifests/cramp-cds.yaml"
)

// helm returns the helm binary to run, or skips the test when there is none.
func helm(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("HELM")
	if bin == "" {
		t.Skip("HELM is not set: run `make test-deploy`, which installs the pinned helm and sets it")
	}
	return bin
}

// render runs helm template on chart with extra arguments and returns stdout, or an error
// carrying helm's stderr.
func render(t *testing.T, chart string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(helm(t), append([]string{"template", release, chart,
		"--namespace", namespace, "--kube-version", kubeVersion}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm template %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// rendered holds the decoded objects of one rendering, by kind.
type rendered struct {
	deployments     []*appsv1.Deployment
	services        []*corev1.Service
	configMaps      []*corev1.ConfigMap
	serviceAccounts []*corev1.ServiceAccount
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	pdbs            []*policyv1.PodDisruptionBudget
	netpols         []*networkingv1.NetworkPolicy
	ingresses       []*networkingv1.Ingress
	serviceMonitors []*manifest.ServiceMonitor
	prometheusRules []*manifest.PrometheusRule
	jobs            []*batchv1.Job
	kinds           []string // in rendering order
}

func mustRender(t *testing.T, args ...string) rendered {
	t.Helper()
	out, err := render(t, chartDir, args...)
	if err != nil {
		t.Fatal(err)
	}
	objects, err := manifest.DecodeAll(out)
	if err != nil {
		t.Fatalf("strict decoding of the rendered chart: %v", err)
	}
	var r rendered
	for _, o := range objects {
		r.kinds = append(r.kinds, o.Kind)
		switch v := o.Value.(type) {
		case *appsv1.Deployment:
			r.deployments = append(r.deployments, v)
		case *corev1.Service:
			r.services = append(r.services, v)
		case *corev1.ConfigMap:
			r.configMaps = append(r.configMaps, v)
		case *corev1.ServiceAccount:
			r.serviceAccounts = append(r.serviceAccounts, v)
		case *autoscalingv2.HorizontalPodAutoscaler:
			r.hpas = append(r.hpas, v)
		case *policyv1.PodDisruptionBudget:
			r.pdbs = append(r.pdbs, v)
		case *networkingv1.NetworkPolicy:
			r.netpols = append(r.netpols, v)
		case *networkingv1.Ingress:
			r.ingresses = append(r.ingresses, v)
		case *manifest.ServiceMonitor:
			r.serviceMonitors = append(r.serviceMonitors, v)
		case *batchv1.Job:
			r.jobs = append(r.jobs, v)
		case *manifest.PrometheusRule:
			r.prometheusRules = append(r.prometheusRules, v)
		default:
			t.Fatalf("%s %q: no check for this kind", o.Kind, o.Name)
		}
	}
	return r
}

// TestChart renders the chart with each values setting and checks every object.
func TestChart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		// What this setting must produce.
		wantKinds       []string // sorted
		wantTrustSecret string   // the trust file comes from this existing Secret; "" means a ConfigMap
		wantReplicas    int32    // 0: left to the HPA
		wantPublicURL   string
		wantStoreSecret string // the store's URL and key come from this Secret; "" means --store none
		wantStoreEgress string // a CIDR the NetworkPolicy lets the pods reach the database on
	}{
		{
			name:      "default values",
			wantKinds: []string{"ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount"},
			// With a trust file the binary refuses to start without a public URL.
			wantPublicURL: "http://cramp-cds.cramp-cds.svc:8080",
		},
		{
			name:            "production values",
			args:            []string{"-f", chartDir + "/ci/production-values.yaml"},
			wantKinds:       []string{"Deployment", "HorizontalPodAutoscaler", "Ingress", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount", "ServiceMonitor"},
			wantTrustSecret: "cramp-cds-trust",
			wantPublicURL:   "https://cds.hospital.example",
			wantStoreSecret: "cramp-cds-store",
			wantStoreEgress: "10.30.0.0/24",
		},
		{
			name: "fixed replicas, existing trust ConfigMap",
			args: []string{"--set", "autoscaling.enabled=false", "--set", "replicaCount=3",
				"--set", "trust.existingConfigMap=hospital-trust"},
			wantKinds:     []string{"Deployment", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount"},
			wantReplicas:  3,
			wantPublicURL: "http://cramp-cds.cramp-cds.svc:8080",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := mustRender(t, tt.args...)

			kinds := slices.Sorted(slices.Values(r.kinds))
			if got, want := strings.Join(kinds, ","), strings.Join(tt.wantKinds, ","); got != want {
				t.Fatalf("rendered kinds = %s, want %s", got, want)
			}
			d := r.deployments[0]
			checkPod(t, r, d, tt.wantTrustSecret)
			checkReplicas(t, r, d, tt.wantReplicas)
			checkService(t, r.services[0], d)
			checkPDB(t, r.pdbs, d)
			checkNetworkPolicy(t, r.netpols, d)
			checkIngress(t, r.ingresses, r.services[0], tt.wantPublicURL)
			checkServiceMonitors(t, r.serviceMonitors, r.services[0])
			if got, want := env(d.Spec.Template.Spec.Containers[0], "CRAMP_CDS_PUBLIC_URL"), tt.wantPublicURL; got != want {
				t.Errorf("CRAMP_CDS_PUBLIC_URL = %q, want %q", got, want)
			}
			checkStore(t, r.netpols[0], d.Spec.Template.Spec.Containers[0], tt.wantStoreSecret, tt.wantStoreEgress)
		})
	}
}

// checkPod checks the pod template: security, probes, resources, shutdown and the trust file.
func checkPod(t *testing.T, r rendered, d *appsv1.Deployment, wantTrustSecret string) {
	pod := d.Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("pod automountServiceAccountToken is not false: the service never calls the Kubernetes API")
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Error("pod enableServiceLinks is not false: a Service named cramp-cds would inject CRAMP_CDS_* variables")
	}
	if len(r.serviceAccounts) > 0 && pod.ServiceAccountName != r.serviceAccounts[0].Name {
		t.Errorf("serviceAccountName = %q, want the chart's %q", pod.ServiceAccountName, r.serviceAccounts[0].Name)
	}
	psc := pod.SecurityContext
	if psc == nil {
		t.Fatal("no pod securityContext")
	}
	if !isTrue(psc.RunAsNonRoot) {
		t.Error("pod runAsNonRoot is not true")
	}
	if psc.RunAsUser == nil || *psc.RunAsUser != nonRootUID {
		t.Errorf("pod runAsUser = %v, want %d", deref(psc.RunAsUser), nonRootUID)
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod seccompProfile = %+v, want RuntimeDefault", psc.SeccompProfile)
	}

	if got, want := len(pod.Containers), 1; got != want {
		t.Fatalf("containers = %d, want %d", got, want)
	}
	c := pod.Containers[0]
	checkContainerSecurity(t, c)

	if strings.HasSuffix(c.Image, ":latest") || !strings.ContainsAny(c.Image, ":@") {
		t.Errorf("image %q is not pinned by tag or digest", c.Image)
	}
	for _, a := range slices.Concat(c.Command, c.Args) {
		if strings.Contains(a, "insecure") {
			t.Errorf("container argument %q: authentication must never be disabled in a cluster", a)
		}
	}
	for _, e := range c.Env {
		if strings.Contains(strings.ToUpper(e.Name), "INSECURE") {
			t.Errorf("env %s: authentication must never be disabled in a cluster", e.Name)
		}
	}
	if got, want := containerPort(c, "http"), int32(httpPort); got != want {
		t.Errorf("container port http = %d, want %d", got, want)
	}
	if got, want := containerPort(c, "admin"), int32(adminPort); got != want {
		t.Errorf("container port admin = %d, want %d", got, want)
	}
	if got, want := env(c, "CRAMP_CDS_ADDR"), fmt.Sprintf(":%d", httpPort); got != want {
		t.Errorf("CRAMP_CDS_ADDR = %q, want %q", got, want)
	}
	if got, want := env(c, "CRAMP_CDS_ADMIN_ADDR"), fmt.Sprintf(":%d", adminPort); got != want {
		t.Errorf("CRAMP_CDS_ADMIN_ADDR = %q, want %q", got, want)
	}

	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"startup", c.StartupProbe, "/healthz"},
		{"liveness", c.LivenessProbe, "/healthz"},
		{"readiness", c.ReadinessProbe, "/readyz"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe: want an HTTP GET on the admin port", p.name)
			continue
		}
		if got := p.probe.HTTPGet.Path; got != p.path {
			t.Errorf("%s probe path = %q, want %q", p.name, got, p.path)
		}
		if got, want := resolvePort(c, p.probe.HTTPGet.Port), int32(adminPort); got != want {
			t.Errorf("%s probe port %s = %d, want the admin port %d", p.name, p.probe.HTTPGet.Port.String(), got, want)
		}
	}

	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[name], c.Resources.Limits[name]
		if req.IsZero() || lim.IsZero() {
			t.Errorf("resources %s: request %s, limit %s: want both set", name, req.String(), lim.String())
		} else if req.Cmp(lim) > 0 {
			t.Errorf("resources %s: request %s exceeds limit %s", name, req.String(), lim.String())
		}
	}

	checkInFlightMemory(t, c)

	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Error("no preStop sleep: endpoints would still route to a pod that is shutting down")
	} else {
		// After the sleep, SIGTERM; the server then drains for at most its shutdown timeout.
		sleep := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
		grace := time.Duration(deref(pod.TerminationGracePeriodSeconds)) * time.Second
		drain, err := time.ParseDuration(env(c, "CRAMP_CDS_SHUTDOWN_TIMEOUT"))
		if err != nil {
			t.Errorf("CRAMP_CDS_SHUTDOWN_TIMEOUT: %v (the binary's default might not fit the grace period)", err)
		}
		if sleep < time.Second {
			t.Errorf("preStop sleep = %v, want at least 1s", sleep)
		}
		// After the drain the binary flushes telemetry for up to telemetryFlush.
		if grace <= sleep+drain+telemetryFlush {
			t.Errorf("terminationGracePeriodSeconds = %v, want more than preStop %v + shutdown timeout %v + telemetry flush %v", grace, sleep, drain, telemetryFlush)
		}
	}

	checkTrustMount(t, r, pod, c, wantTrustSecret)
}

// checkContainerSecurity checks the "restricted" Pod Security Standard and a read-only root.
func checkContainerSecurity(t *testing.T, c corev1.Container) {
	sc := c.SecurityContext
	if sc == nil {
		t.Fatalf("container %s: no securityContext", c.Name)
	}
	if !isTrue(sc.RunAsNonRoot) {
		t.Errorf("container %s: runAsNonRoot is not true", c.Name)
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) {
		t.Errorf("container %s: readOnlyRootFilesystem is not true", c.Name)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
	}
	if isTrue(sc.Privileged) {
		t.Errorf("container %s: privileged", c.Name)
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("container %s: capabilities = %+v, want drop [ALL] and nothing added", c.Name, sc.Capabilities)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container %s: seccompProfile = %+v, want RuntimeDefault", c.Name, sc.SeccompProfile)
	}
}

// checkTrustMount checks that CRAMP_CDS_TRUST_FILE names a file on a read-only mount of the
// expected ConfigMap or Secret, and that a chart-made ConfigMap really holds that file.
func checkTrustMount(t *testing.T, r rendered, pod corev1.PodSpec, c corev1.Container, wantSecret string) {
	file := env(c, "CRAMP_CDS_TRUST_FILE")
	if file == "" {
		t.Fatal("CRAMP_CDS_TRUST_FILE is not set: the service refuses to start without a trust file")
	}
	dir, key := path.Split(file)
	var mount *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if path.Clean(m.MountPath) == path.Clean(dir) {
			mount = &c.VolumeMounts[i]
		}
	}
	if mount == nil {
		t.Fatalf("no volume mounted at %s for the trust file %s", dir, file)
	}
	if !mount.ReadOnly {
		t.Errorf("trust volume mounted read-write at %s", mount.MountPath)
	}
	i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == mount.Name })
	if i < 0 {
		t.Fatalf("volume %q mounted but not defined", mount.Name)
	}
	src := pod.Volumes[i].VolumeSource
	switch {
	case wantSecret != "":
		if src.Secret == nil || src.Secret.SecretName != wantSecret {
			t.Errorf("trust volume = %+v, want Secret %q", src, wantSecret)
		}
	case src.ConfigMap == nil:
		t.Errorf("trust volume = %+v, want a ConfigMap", src)
	default:
		own := slices.IndexFunc(r.configMaps, func(cm *corev1.ConfigMap) bool { return cm.Name == src.ConfigMap.Name })
		if own >= 0 && r.configMaps[own].Data[key] == "" {
			t.Errorf("ConfigMap %q has no %q: the mounted trust file would be missing", src.ConfigMap.Name, key)
		}
		if own < 0 && len(r.configMaps) > 0 {
			t.Errorf("trust volume names ConfigMap %q, but the chart rendered a different one", src.ConfigMap.Name)
		}
	}
}

func checkReplicas(t *testing.T, r rendered, d *appsv1.Deployment, want int32) {
	if want != 0 {
		if d.Spec.Replicas == nil || *d.Spec.Replicas != want {
			t.Errorf("replicas = %v, want %d", deref(d.Spec.Replicas), want)
		}
		return
	}
	// With an HPA, replicas in the Deployment would fight the autoscaler on every upgrade.
	if d.Spec.Replicas != nil {
		t.Errorf("replicas = %d with an HPA, want it left to the HPA", *d.Spec.Replicas)
	}
	if len(r.hpas) != 1 {
		t.Fatalf("HPAs = %d, want 1", len(r.hpas))
	}
	h := r.hpas[0]
	if ref := h.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || ref.Name != d.Name {
		t.Errorf("HPA scaleTargetRef = %+v, want apps/v1 Deployment %q", ref, d.Name)
	}
	if min := deref(h.Spec.MinReplicas); min < 2 || min > h.Spec.MaxReplicas {
		t.Errorf("HPA replicas %d..%d: want at least 2 and min <= max", min, h.Spec.MaxReplicas)
	}
	cpu := slices.IndexFunc(h.Spec.Metrics, func(m autoscalingv2.MetricSpec) bool {
		return m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil &&
			m.Resource.Name == corev1.ResourceCPU && m.Resource.Target.AverageUtilization != nil
	})
	if cpu < 0 {
		t.Errorf("HPA metrics = %+v, want CPU utilization", h.Spec.Metrics)
	}
}

func checkService(t *testing.T, s *corev1.Service, d *appsv1.Deployment) {
	if !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) || len(s.Spec.Selector) == 0 {
		t.Errorf("Service selector %v does not select the pods %v", s.Spec.Selector, d.Spec.Template.Labels)
	}
	c := d.Spec.Template.Spec.Containers[0]
	for _, name := range []string{"http", "admin"} {
		i := slices.IndexFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == name })
		if i < 0 {
			t.Errorf("Service has no port %q", name)
			continue
		}
		if got, want := resolvePort(c, s.Spec.Ports[i].TargetPort), containerPort(c, name); got == 0 || got != want {
			t.Errorf("Service port %s targets %s (= %d), want container port %d", name, s.Spec.Ports[i].TargetPort.String(), got, want)
		}
	}
}

func checkPDB(t *testing.T, pdbs []*policyv1.PodDisruptionBudget, d *appsv1.Deployment) {
	if len(pdbs) != 1 {
		t.Fatalf("PodDisruptionBudgets = %d, want 1", len(pdbs))
	}
	p := pdbs[0]
	if !selects(t, p.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("PDB selector %v does not select the pods", p.Spec.Selector)
	}
	if p.Spec.MaxUnavailable == nil && p.Spec.MinAvailable == nil {
		t.Error("PDB sets neither maxUnavailable nor minAvailable")
	}
}

// checkNetworkPolicy checks that the pods are isolated both ways, with the API and the admin
// port reachable (the admin port not from everywhere) and DNS and HTTPS allowed out.
func checkNetworkPolicy(t *testing.T, nps []*networkingv1.NetworkPolicy, d *appsv1.Deployment) {
	if len(nps) != 1 {
		t.Fatalf("NetworkPolicies = %d, want 1", len(nps))
	}
	np := nps[0]
	if !selects(t, &np.Spec.PodSelector, d.Spec.Template.Labels) || len(np.Spec.PodSelector.MatchLabels) == 0 {
		t.Errorf("NetworkPolicy podSelector %v does not select the pods", np.Spec.PodSelector)
	}
	for _, want := range []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress} {
		if !slices.Contains(np.Spec.PolicyTypes, want) {
			t.Errorf("NetworkPolicy policyTypes %v lack %s", np.Spec.PolicyTypes, want)
		}
	}
	c := d.Spec.Template.Spec.Containers[0]
	allowsIn := func(port int32) *networkingv1.NetworkPolicyIngressRule {
		for i, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				if p.Port != nil && resolvePort(c, *p.Port) == port {
					return &np.Spec.Ingress[i]
				}
			}
		}
		return nil
	}
	if allowsIn(httpPort) == nil {
		t.Errorf("NetworkPolicy admits nothing to the API port %d", httpPort)
	}
	if rule := allowsIn(adminPort); rule == nil {
		t.Errorf("NetworkPolicy admits nothing to the admin port %d: Prometheus cannot scrape", adminPort)
	} else if len(rule.From) == 0 {
		t.Errorf("NetworkPolicy opens the admin port %d to every source", adminPort)
	}
	allowsOut := func(port int32, proto corev1.Protocol) bool {
		for _, rule := range np.Spec.Egress {
			for _, p := range rule.Ports {
				if p.Port != nil && p.Port.IntVal == port && (p.Protocol == nil || *p.Protocol == proto) {
					return true
				}
			}
		}
		return false
	}
	if !allowsOut(53, corev1.ProtocolUDP) {
		t.Error("NetworkPolicy blocks DNS (UDP 53)")
	}
	if !allowsOut(443, corev1.ProtocolTCP) {
		t.Error("NetworkPolicy blocks HTTPS (TCP 443): no FHIR server or JWKS could be reached")
	}
}

// checkIngress checks that an Ingress routes only CDS Hooks paths to the API port, on the host
// of the public URL (which the JWT audience is built from).
func checkIngress(t *testing.T, ingresses []*networkingv1.Ingress, s *corev1.Service, publicURL string) {
	for _, ing := range ingresses {
		if publicURL == "" {
			t.Errorf("Ingress %q without a public URL: JWT audiences would not match", ing.Name)
		}
		for _, rule := range ing.Spec.Rules {
			if want := strings.TrimPrefix(publicURL, "https://"); rule.Host != want {
				t.Errorf("Ingress host %q, want the public URL's host %q", rule.Host, want)
			}
			if rule.HTTP == nil {
				t.Errorf("Ingress rule for %q has no paths", rule.Host)
				continue
			}
			for _, p := range rule.HTTP.Paths {
				if !strings.HasPrefix(p.Path, "/cds-services") {
					t.Errorf("Ingress routes %q: only /cds-services should be exposed", p.Path)
				}
				b := p.Backend.Service
				if b == nil || b.Name != s.Name || b.Port.Name != "http" {
					t.Errorf("Ingress backend %+v, want Service %q port http", p.Backend, s.Name)
				}
			}
		}
		if len(ing.Spec.TLS) == 0 && strings.HasPrefix(publicURL, "https://") {
			t.Errorf("Ingress %q has no TLS for %s", ing.Name, publicURL)
		}
	}
}

func checkServiceMonitors(t *testing.T, sms []*manifest.ServiceMonitor, s *corev1.Service) {
	for _, sm := range sms {
		if !selects(t, &sm.Spec.Selector, s.Labels) {
			t.Errorf("ServiceMonitor selector %v does not select the Service labels %v", sm.Spec.Selector, s.Labels)
		}
		if !slices.Contains(sm.Spec.NamespaceSelector.MatchNames, namespace) {
			t.Errorf("ServiceMonitor namespaces %v lack %q", sm.Spec.NamespaceSelector.MatchNames, namespace)
		}
		for _, e := range sm.Spec.Endpoints {
			i := slices.IndexFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port })
			if i < 0 || s.Spec.Ports[i].TargetPort.String() != "admin" {
				t.Errorf("ServiceMonitor scrapes port %q, want the Service's admin port", e.Port)
			}
			if e.Path != "/metrics" {
				t.Errorf("ServiceMonitor path = %q, want /metrics", e.Path)
			}
		}
	}
}

// TestStrictDecodingCatchesTypos proves the checks above can fail: a misspelled field, whether
// in a template or in a user's values, fails the rendering's strict decoding.
func TestStrictDecodingCatchesTypos(t *testing.T) {
	t.Parallel()
	t.Run("in a template", func(t *testing.T) {
		t.Parallel()
		chart := copyChart(t)
		tpl := filepath.Join(chart, "templates", "deployment.yaml")
		mustReplaceInFile(t, tpl, "automountServiceAccountToken:", "automountServiceAccountTOken:")
		out, err := render(t, chart)
		if err != nil {
			t.Fatal(err)
		}
		_, err = manifest.DecodeAll(out)
		if err == nil || !strings.Contains(err.Error(), "automountServiceAccountTOken") {
			t.Errorf("decoding a Deployment with automountServiceAccountTOken: error = %v, want unknown field", err)
		}
	})
	t.Run("in values", func(t *testing.T) {
		t.Parallel()
		out, err := render(t, chartDir, "--set", "securityContext.readOnlyRootFileSystem=true")
		if err != nil {
			t.Fatal(err)
		}
		_, err = manifest.DecodeAll(out)
		if err == nil || !strings.Contains(err.Error(), "readOnlyRootFileSystem") {
			t.Errorf("decoding a Deployment with readOnlyRootFileSystem: error = %v, want unknown field", err)
		}
	})
}

// TestChartRefusesBadValues checks that helm itself refuses values that are misspelled or would
// give a broken or unsafe pod, with a message that says what to fix.
func TestChartRefusesBadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"authentication disabled", []string{"--set", "config.extraEnv.CRAMP_CDS_INSECURE_NO_AUTH=true"}, "not allowed in a cluster"},
		{"store URL in plain values", []string{"--set", "config.extraEnv.CRAMP_CDS_STORE=postgres://u:p@db/cds"}, "store.existingSecret"},
		{"bad snooze", []string{"--set", "store.snooze=soon"}, "/store/snooze"},
		{"no trust file", []string{"--set", "trust.content="}, "refuses to start without a trust file"},
		{"two trust sources", []string{"--set", "trust.existingSecret=a", "--set", "trust.existingConfigMap=b"}, "not both"},
		{"ingress without public URL", []string{"--set", "ingress.enabled=true"}, "config.publicURL is required"},
		// values.schema.json: a misspelled key would otherwise be ignored without a word.
		{"misspelled values key", []string{"--set", "autoscalling.enabled=false"}, "additional properties 'autoscalling' not allowed"},
		{"mutable image tag", []string{"--set", "image.tag=latest"}, "/image/tag"},
		{"grace not covering preStop and drain", []string{"--set", "shutdown.terminationGracePeriodSeconds=25"}, "must exceed preStopSleepSeconds + serverTimeoutSeconds + 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := render(t, chartDir, tt.args...)
			if err == nil {
				t.Fatalf("helm template accepted %s", tt.name)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("helm template error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestPlainManifests checks that the checked-in manifests for teams without Helm are exactly the
// chart's rendering with default values, so they cannot drift. `make manifests` rewrites them.
func TestPlainManifests(t *testing.T) {
	t.Parallel()
	out, err := render(t, chartDir)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte(plainManifestsHeader), out...)
	if *update {
		if err := os.WriteFile(plainManifests, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(plainManifests)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the chart's rendering: run `make manifests` and commit it", plainManifests)
	}
}

const plainManifestsHeader = `# cramp-cds for clusters without Helm: the chart deploy/helm/cramp-cds rendered with its
# default values (release and namespace "cramp-cds"). Generated by ` + "`make manifests`" + `; do not edit,
# a test fails when this file and the chart differ.
#
# Before applying, put your EHR's issuers in the ConfigMap cramp-cds-trust (trust.yaml),
# then: kubectl create namespace cramp-cds && kubectl apply -n cramp-cds -f cramp-cds.yaml
`

// copyChart copies the chart into a temporary directory that a test may modify.
func copyChart(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "cramp-cds")
	if err := os.CopyFS(dst, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func mustReplaceInFile(t *testing.T, file, old, new string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(file, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// selects reports whether a label selector is valid, non-empty and matches the given labels.
func selects(t *testing.T, sel *metav1.LabelSelector, set map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Errorf("invalid selector %v: %v", sel, err)
		return false
	}
	return !s.Empty() && s.Matches(labels.Set(set))
}

// resolvePort returns the number of a port given by number or by container port name (0 if unknown).
func resolvePort(c corev1.Container, p intstr.IntOrString) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	return containerPort(c, p.StrVal)
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// env returns the literal value of an environment variable of the container ("" if unset).
// checkStore checks the store settings: with a Secret, the database URL and the key come from
// it (never a literal value in the pod spec) and the NetworkPolicy lets the pods reach the
// database; without one, the service runs with --store none.
func checkStore(t *testing.T, np *networkingv1.NetworkPolicy, c corev1.Container, wantSecret, wantEgress string) {
	t.Helper()
	var url, key *corev1.EnvVar
	for i, e := range c.Env {
		switch e.Name {
		case "CRAMP_CDS_STORE":
			url = &c.Env[i]
		case "CRAMP_CDS_STORE_KEY":
			key = &c.Env[i]
		}
	}
	if wantSecret == "" {
		if url == nil || url.Value != "none" || key != nil {
			t.Errorf("without store.existingSecret: CRAMP_CDS_STORE = %+v, CRAMP_CDS_STORE_KEY = %+v; want none and unset", url, key)
		}
		return
	}
	for _, e := range []struct {
		v       *corev1.EnvVar
		name    string
		wantKey string
	}{{url, "CRAMP_CDS_STORE", "url"}, {key, "CRAMP_CDS_STORE_KEY", "key"}} {
		if e.v == nil || e.v.Value != "" || e.v.ValueFrom == nil || e.v.ValueFrom.SecretKeyRef == nil ||
			e.v.ValueFrom.SecretKeyRef.Name != wantSecret || e.v.ValueFrom.SecretKeyRef.Key != e.wantKey {
			t.Errorf("%s = %+v, want it from Secret %s, key %s", e.name, e.v, wantSecret, e.wantKey)
		}
	}
	found := false
	for _, rule := range np.Spec.Egress {
		for _, p := range rule.Ports {
			if p.Port == nil || p.Port.IntValue() != 5432 {
				continue
			}
			for _, peer := range rule.To {
				if peer.IPBlock != nil && peer.IPBlock.CIDR == wantEgress {
					found = true
				}
			}
		}
	}
	if !found {
		t.Errorf("NetworkPolicy egress %+v lets nothing reach the database (port 5432 on %s)", np.Spec.Egress, wantEgress)
	}
}

// checkInFlightMemory checks that what the calls in progress may hold
// (CRAMP_CDS_IN_FLIGHT_MEMORY, 200MiB when unset) leaves the process itself
// (about 56 MiB) room under the container's memory limit, so that a full
// server is shedding calls, not being OOM-killed.
func checkInFlightMemory(t *testing.T, c corev1.Container) {
	t.Helper()
	const processItself = 56 << 20
	inFlight := int64(200 << 20)
	if v := env(c, "CRAMP_CDS_IN_FLIGHT_MEMORY"); v != "" {
		units := []struct {
			suffix string
			factor int64
		}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"kB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"", 1}}
		for _, u := range units {
			if n, err := strconv.ParseInt(strings.TrimSuffix(v, u.suffix), 10, 64); strings.HasSuffix(v, u.suffix) && err == nil {
				inFlight = n * u.factor
				break
			}
		}
	}
	limit := c.Resources.Limits[corev1.ResourceMemory]
	if room := limit.Value() - inFlight; room < processItself {
		t.Errorf("in-flight memory %d MiB leaves %d MiB of the %s limit for the process, want at least %d MiB",
			inFlight>>20, room>>20, limit.String(), processItself>>20)
	}
}

func env(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func isTrue(b *bool) bool { return b != nil && *b }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
