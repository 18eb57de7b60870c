package manifest

import (
	"fmt"
	"regexp"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceMonitor is the subset of the Prometheus Operator's monitoring.coreos.com/v1 ServiceMonitor
// that the chart emits. It is not in k8s.io/api; its field names follow the operator's CRD.
// Decoding is strict, so a field outside this subset fails: add it here, checked against the
// CRD, before the chart may use it.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ServiceMonitorSpec `json:"spec"`
}

// ServiceMonitorSpec selects Services and says how to scrape their endpoints.
type ServiceMonitorSpec struct {
	JobLabel          string               `json:"jobLabel,omitempty"`
	Selector          metav1.LabelSelector `json:"selector"`
	NamespaceSelector NamespaceSelector    `json:"namespaceSelector,omitempty"`
	Endpoints         []Endpoint           `json:"endpoints"`
}

// NamespaceSelector names the namespaces whose Services are selected.
type NamespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

// Endpoint is one scrape target: a named Service port and how to scrape it.
type Endpoint struct {
	Port          string `json:"port,omitempty"`
	Path          string `json:"path,omitempty"`
	Scheme        string `json:"scheme,omitempty"`
	Interval      string `json:"interval,omitempty"`
	ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
	HonorLabels   bool   `json:"honorLabels,omitempty"`
}

// promDuration is the CRD's pattern for Duration fields (interval, scrapeTimeout).
var promDuration = regexp.MustCompile(`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`)

// Validate applies the CRD's own constraints that a Go type cannot express: at least one
// endpoint, each naming a port, an http or https scheme, and durations in Prometheus form.
// The API server would reject a ServiceMonitor that fails them.
func (m *ServiceMonitor) Validate() error {
	if len(m.Spec.Endpoints) == 0 {
		return fmt.Errorf("ServiceMonitor %q: no endpoints", m.Name)
	}
	for i, e := range m.Spec.Endpoints {
		if e.Port == "" {
			return fmt.Errorf("ServiceMonitor %q endpoint %d: no port", m.Name, i)
		}
		if e.Scheme != "" && e.Scheme != "http" && e.Scheme != "https" {
			return fmt.Errorf("ServiceMonitor %q endpoint %d: scheme %q, want http or https", m.Name, i, e.Scheme)
		}
		for field, d := range map[string]string{"interval": e.Interval, "scrapeTimeout": e.ScrapeTimeout} {
			if d != "" && !promDuration.MatchString(d) {
				return fmt.Errorf("ServiceMonitor %q endpoint %d: %s %q is not a Prometheus duration", m.Name, i, field, d)
			}
		}
	}
	return nil
}
