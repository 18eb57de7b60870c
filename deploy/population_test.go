package deploy_test

import (
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// populationValues enables the population Jobs with three shards and the merge.
var populationValues = []string{
	"--set", "population.enabled=true", "--set", "population.runName=2025-06", "--set", "population.now=2025-06-01",
	"--set", "population.shards=3", "--set", "population.merge=true",
	"--set", "population.input.volume.persistentVolumeClaim.claimName=fhir-export",
	"--set", "population.input.volume.persistentVolumeClaim.readOnly=true",
	"--set", "population.output.volume.persistentVolumeClaim.claimName=population-out",
	"--set", "population.idKeySecret.name=population-id-key", "--set", "population.idKeySecret.key=key",
}

// TestPopulationJobs renders the optional population run: an Indexed Job whose pod I runs
// shard I/N of the export on a read-only volume and writes shard-I, a merge Job over every
// shard, locked-down pods with no network that the Service never routes to.
func TestPopulationJobs(t *testing.T) {
	t.Parallel()
	r := mustRender(t, populationValues...)
	if len(r.jobs) != 2 {
		t.Fatalf("got %d Jobs, want the shards Job and the merge Job", len(r.jobs))
	}
	shards, merge := r.jobs[0], r.jobs[1]
	if shards.Spec.CompletionMode == nil || *shards.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("shards Job completionMode = %v, want Indexed", shards.Spec.CompletionMode)
	}
	if got := deref(shards.Spec.Completions); got != 3 {
		t.Errorf("shards Job completions = %d, want 3", got)
	}
	if got := deref(shards.Spec.Parallelism); got != 3 {
		t.Errorf("shards Job parallelism = %d, want 3 (all shards)", got)
	}

	const run = "/data/population/2025-06"
	c := checkPopulationPod(t, r, shards)
	for flag, want := range map[string]string{
		"--in": "/data/export", "--out": run + "/shard-$(CRAMP_CDS_SHARD_INDEX)", "--shard": "$(CRAMP_CDS_SHARD_INDEX)/3",
		"--now": "2025-06-01", "--trigger": "leg-cramps", "--ids": "hashed",
	} {
		if got := flagValue(c.Args, flag); got != want {
			t.Errorf("shards Job %s = %q, want %q (args %q)", flag, got, want, c.Args)
		}
	}
	if c.Args[0] != "population" {
		t.Errorf("shards Job args %q do not start with the population command", c.Args)
	}
	index := envVar(c, "CRAMP_CDS_SHARD_INDEX")
	if index == nil || index.ValueFrom == nil || index.ValueFrom.FieldRef == nil ||
		index.ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("CRAMP_CDS_SHARD_INDEX = %+v, want the Job completion index annotation", index)
	}
	key := envVar(c, "CRAMP_CDS_ID_KEY")
	if key == nil || key.ValueFrom == nil || key.ValueFrom.SecretKeyRef == nil || key.ValueFrom.SecretKeyRef.Name != "population-id-key" {
		t.Errorf("CRAMP_CDS_ID_KEY = %+v, want it from the Secret population-id-key", key)
	}

	m := checkPopulationPod(t, r, merge)
	wantMerge := []string{"population", "merge", "--out", run + "/merged", "--temp-dir", "/spill",
		run + "/shard-0", run + "/shard-1", run + "/shard-2"}
	if !slices.Equal(m.Args, wantMerge) {
		t.Errorf("merge Job args = %q, want %q", m.Args, wantMerge)
	}

	var own *networkingv1.NetworkPolicy
	for _, np := range r.netpols {
		if selects(t, &np.Spec.PodSelector, shards.Spec.Template.Labels) {
			if own != nil {
				t.Errorf("two NetworkPolicies select the population pods")
			}
			own = np
		}
	}
	if own == nil {
		t.Fatal("no NetworkPolicy selects the population pods")
	}
	if len(own.Spec.Ingress) > 0 || len(own.Spec.Egress) > 0 || len(own.Spec.PolicyTypes) != 2 {
		t.Errorf("population NetworkPolicy = %+v, want both directions denied", own.Spec)
	}
}

// checkPopulationPod checks a population Job's pod and returns its container.
func checkPopulationPod(t *testing.T, r rendered, j *batchv1.Job) corev1.Container {
	t.Helper()
	pod := j.Spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("Job %s restartPolicy = %q, want Never (the Job retries)", j.Name, pod.RestartPolicy)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("Job %s: automountServiceAccountToken is not false", j.Name)
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Errorf("Job %s: enableServiceLinks is not false: they would inject CRAMP_CDS_* variables", j.Name)
	}
	if pod.SecurityContext == nil || !isTrue(pod.SecurityContext.RunAsNonRoot) {
		t.Errorf("Job %s: pod runAsNonRoot is not true", j.Name)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("Job %s: %d containers, want 1", j.Name, len(pod.Containers))
	}
	c := pod.Containers[0]
	checkContainerSecurity(t, c)
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q := c.Resources.Limits[name]; q.IsZero() {
			t.Errorf("Job %s: no %s limit", j.Name, name)
		}
	}
	// Every Service, PDB and HPA selects the API pods only.
	podLabels := labels.Set(j.Spec.Template.Labels)
	for _, s := range r.services {
		if labels.SelectorFromSet(s.Spec.Selector).Matches(podLabels) {
			t.Errorf("Service %s routes to the Job %s's pods", s.Name, j.Name)
		}
	}
	for _, p := range r.pdbs {
		if selects(t, p.Spec.Selector, podLabels) {
			t.Errorf("PodDisruptionBudget %s counts the Job %s's pods", p.Name, j.Name)
		}
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	if e := mounts["export"]; !e.ReadOnly || volumes["export"].PersistentVolumeClaim == nil {
		t.Errorf("Job %s: the export is not a read-only mount of its claim: %+v", j.Name, e)
	}
	if volumes["output"].PersistentVolumeClaim == nil || mounts["output"].MountPath == "" {
		t.Errorf("Job %s: no output volume", j.Name)
	}
	// The root filesystem is read-only: the sort's spill needs a writable emptyDir at --temp-dir.
	if volumes["spill"].EmptyDir == nil || mounts["spill"].MountPath != flagValue(c.Args, "--temp-dir") {
		t.Errorf("Job %s: --temp-dir %q is not the spill emptyDir mount %q", j.Name, flagValue(c.Args, "--temp-dir"), mounts["spill"].MountPath)
	}
	return c
}

// TestPopulationRefusesIncompleteValues: without an evaluation time, a run name or an input
// volume, helm refuses the population Job and says what to set.
func TestPopulationRefusesIncompleteValues(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"population.now=":          "every shard must evaluate as of the same time",
		"population.runName=":      "population.runName is required",
		"population.input.volume.": "population.input.volume is required",
	} {
		var args []string
		for i := 0; i < len(populationValues); i += 2 {
			if !strings.HasPrefix(populationValues[i+1], key) {
				args = append(args, populationValues[i:i+2]...)
			}
		}
		_, err := render(t, chartDir, args...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("without %s: error = %v, want %q", key, err, want)
		}
	}
}

func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func envVar(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}
