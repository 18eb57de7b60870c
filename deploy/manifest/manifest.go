// Package manifest decodes rendered Kubernetes manifests strictly into the official API types
// (k8s.io/api), so that a misspelled, wrongly cased, duplicated or mistyped field is an error
// instead of being silently dropped, as the API server and `kubectl apply` would drop it.
//
// It is the offline stand-in for schema validation: no cluster and no downloaded schemas needed.
package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Object is one decoded manifest: its identity and a pointer to the typed value
// (*appsv1.Deployment, *corev1.Service, *ServiceMonitor, ...).
type Object struct {
	APIVersion string
	Kind       string
	Name       string
	Value      any
}

// newValue returns a pointer to the type a document of the given "apiVersion/kind" decodes into.
// A kind missing here is an error: the chart must not emit anything this package cannot check.
func newValue(apiVersionKind string) (any, bool) {
	switch apiVersionKind {
	case "v1/ConfigMap":
		return new(corev1.ConfigMap), true
	case "v1/Secret":
		return new(corev1.Secret), true
	case "v1/Service":
		return new(corev1.Service), true
	case "v1/ServiceAccount":
		return new(corev1.ServiceAccount), true
	case "apps/v1/Deployment":
		return new(appsv1.Deployment), true
	case "batch/v1/Job":
		return new(batchv1.Job), true
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return new(autoscalingv2.HorizontalPodAutoscaler), true
	case "policy/v1/PodDisruptionBudget":
		return new(policyv1.PodDisruptionBudget), true
	case "networking.k8s.io/v1/NetworkPolicy":
		return new(networkingv1.NetworkPolicy), true
	case "networking.k8s.io/v1/Ingress":
		return new(networkingv1.Ingress), true
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return new(ServiceMonitor), true
	case "monitoring.coreos.com/v1/PrometheusRule":
		return new(PrometheusRule), true
	default:
		return nil, false
	}
}

// DecodeAll splits a multi-document YAML stream (as `helm template` prints it) and decodes every
// non-empty document with Decode. It returns all documents or the first error, which names the
// document's position in the stream.
func DecodeAll(stream []byte) ([]Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var objects []Object
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objects, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading document %d: %w", i, err)
		}
		if isEmpty(doc) {
			continue
		}
		obj, err := Decode(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		objects = append(objects, obj)
	}
}

// Decode decodes one YAML document into the k8s.io/api type named by its apiVersion and kind.
// Field names must match exactly (case-sensitive); unknown and duplicate fields, type errors and
// unknown kinds are errors.
func Decode(doc []byte) (Object, error) {
	// Strict here rejects duplicate keys while converting, before the JSON decoder sees them.
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return Object{}, fmt.Errorf("converting YAML to JSON: %w", err)
	}
	var head struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &head); err != nil {
		return Object{}, fmt.Errorf("reading apiVersion and kind: %w", err)
	}
	key := head.APIVersion + "/" + head.Kind
	value, ok := newValue(key)
	if !ok {
		return Object{}, fmt.Errorf("%s %q: unsupported apiVersion/kind %q", head.Kind, head.Metadata.Name, key)
	}
	strictErrs, err := sigsjson.UnmarshalStrict(js, value)
	if err != nil {
		return Object{}, fmt.Errorf("%s %q: %w", head.Kind, head.Metadata.Name, err)
	}
	if len(strictErrs) > 0 {
		return Object{}, fmt.Errorf("%s %q: %w", head.Kind, head.Metadata.Name, errors.Join(strictErrs...))
	}
	if head.Metadata.Name == "" {
		return Object{}, fmt.Errorf("%s without metadata.name", head.Kind)
	}
	if v, ok := value.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return Object{}, err
		}
	}
	return Object{APIVersion: head.APIVersion, Kind: head.Kind, Name: head.Metadata.Name, Value: value}, nil
}

// isEmpty reports whether a YAML document holds nothing but comments and blank lines,
// as helm prints for a template whose condition is false.
func isEmpty(doc []byte) bool {
	for line := range bytes.Lines(doc) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' && !bytes.Equal(line, []byte("---")) {
			return false
		}
	}
	return true
}
