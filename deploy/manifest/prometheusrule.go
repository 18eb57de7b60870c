package manifest

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// PrometheusRule is the subset of the Prometheus Operator's monitoring.coreos.com/v1
// PrometheusRule that the chart emits (alerting rules only). Like ServiceMonitor, its field names
// follow the operator's CRD and decoding is strict.
type PrometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              PrometheusRuleSpec `json:"spec"`
}

// PrometheusRuleSpec holds the rule groups.
type PrometheusRuleSpec struct {
	Groups []RuleGroup `json:"groups"`
}

// RuleGroup is a named list of rules evaluated together.
type RuleGroup struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Rules    []Rule `json:"rules"`
}

// Rule is one alerting rule: a PromQL expression that fires after it has held for For.
type Rule struct {
	Alert       string             `json:"alert,omitempty"`
	Record      string             `json:"record,omitempty"`
	Expr        intstr.IntOrString `json:"expr"`
	For         string             `json:"for,omitempty"`
	Labels      map[string]string  `json:"labels,omitempty"`
	Annotations map[string]string  `json:"annotations,omitempty"`
}

// Validate applies the CRD's constraints a Go type cannot express: named groups, each rule
// exactly one of alert or record with an expression, and durations in Prometheus form.
func (r *PrometheusRule) Validate() error {
	if len(r.Spec.Groups) == 0 {
		return fmt.Errorf("PrometheusRule %q: no groups", r.Name)
	}
	for _, g := range r.Spec.Groups {
		if g.Name == "" {
			return fmt.Errorf("PrometheusRule %q: a group has no name", r.Name)
		}
		for i, rule := range g.Rules {
			if (rule.Alert == "") == (rule.Record == "") {
				return fmt.Errorf("PrometheusRule %q group %q rule %d: want exactly one of alert and record", r.Name, g.Name, i)
			}
			if rule.Expr.String() == "" {
				return fmt.Errorf("PrometheusRule %q rule %q: no expr", r.Name, rule.Alert+rule.Record)
			}
			if rule.For != "" && !promDuration.MatchString(rule.For) {
				return fmt.Errorf("PrometheusRule %q rule %q: for %q is not a Prometheus duration", r.Name, rule.Alert, rule.For)
			}
		}
	}
	return nil
}
