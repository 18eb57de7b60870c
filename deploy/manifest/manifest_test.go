package manifest_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/cramp-cds/cramp-cds/deploy/manifest"
)

// deployment is a valid Deployment; the cases below break it one field at a time.
const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo
spec:
  replicas: 2
  selector:
    matchLabels: {app: demo}
  template:
    metadata:
      labels: {app: demo}
    spec:
      containers:
        - name: demo
          image: demo:1
          securityContext:
            readOnlyRootFilesystem: true
          resources:
            limits: {memory: 64Mi}
`

func TestDecodeAcceptsValidDeployment(t *testing.T) {
	t.Parallel()
	obj, err := manifest.Decode([]byte(deployment))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got, want := obj.Kind+"/"+obj.Name, "Deployment/demo"; got != want {
		t.Errorf("object = %s, want %s", got, want)
	}
	d, ok := obj.Value.(*appsv1.Deployment)
	if !ok {
		t.Fatalf("Value is %T, want *appsv1.Deployment", obj.Value)
	}
	sc := d.Spec.Template.Spec.Containers[0].SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("readOnlyRootFilesystem was not decoded: %+v", sc)
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		old     string // replaced in the valid deployment by new
		new     string
		wantErr string // substring of the error
	}{
		// Plain encoding/json and sigs.k8s.io/yaml.UnmarshalStrict match field names case-insensitively
		// and would accept this; the API server would silently drop it.
		{"wrong case", "readOnlyRootFilesystem", "readOnlyRootFileSystem", `unknown field "spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem"`},
		{"unknown field", "readOnlyRootFilesystem", "readOnlyRootFS", `unknown field`},
		{"type error", "replicas: 2", `replicas: "two"`, "cannot unmarshal string"},
		{"bad quantity", "memory: 64Mi", "memory: 64MB!", "quantities must match"},
		{"duplicate key", "replicas: 2", "replicas: 2\n  replicas: 3", `"replicas" already set`},
		{"unknown kind", "kind: Deployment", "kind: Deploymnet", `unsupported apiVersion/kind "apps/v1/Deploymnet"`},
		{"no name", "name: demo\n", "labels: {}\n", "without metadata.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := strings.Replace(deployment, tt.old, tt.new, 1)
			if doc == deployment {
				t.Fatalf("test case does not change the document: %q not found", tt.old)
			}
			_, err := manifest.Decode([]byte(doc))
			if err == nil {
				t.Fatalf("Decode accepted a document with %s", tt.name)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Decode error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestDecodeAllSkipsEmptyDocuments(t *testing.T) {
	t.Parallel()
	// helm template prints a "# Source:" comment and nothing else for a disabled template.
	stream := "---\n# Source: chart/templates/ingress.yaml\n---\n" + deployment + "---\n" +
		"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: demo\n"
	objects, err := manifest.DecodeAll([]byte(stream))
	if err != nil {
		t.Fatalf("DecodeAll: %v", err)
	}
	var kinds []string
	for _, o := range objects {
		kinds = append(kinds, o.Kind)
	}
	if got, want := strings.Join(kinds, ","), "Deployment,ServiceAccount"; got != want {
		t.Errorf("kinds = %s, want %s", got, want)
	}
}

func TestDecodeAllNamesTheFailingDocument(t *testing.T) {
	t.Parallel()
	stream := deployment + "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: demo\nspec:\n  portz: []\n"
	_, err := manifest.DecodeAll([]byte(stream))
	if err == nil {
		t.Fatal("DecodeAll accepted a Service with an unknown field")
	}
	if got, want := err.Error(), `document 2: Service "demo"`; !strings.Contains(got, want) {
		t.Errorf("error = %q, want it to contain %q", got, want)
	}
}

func TestServiceMonitor(t *testing.T) {
	t.Parallel()
	const valid = `
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: demo
spec:
  selector:
    matchLabels: {app: demo}
  namespaceSelector:
    matchNames: [demo]
  endpoints:
    - port: admin
      path: /metrics
      interval: 30s
      scrapeTimeout: 10s
`
	tests := []struct {
		name    string
		old     string
		new     string
		wantErr string // empty: valid
	}{
		{"valid", "", "", ""},
		{"wrong case", "scrapeTimeout", "scrapetimeout", "unknown field"},
		{"unknown field", "path: /metrics", "metricsPath: /metrics", "unknown field"},
		{"bad duration", "interval: 30s", "interval: 30 seconds", "not a Prometheus duration"},
		{"no port", "- port: admin\n", "- scheme: http\n", "no port"},
		{"bad scheme", "path: /metrics", "scheme: ftp", `scheme "ftp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := strings.Replace(valid, tt.old, tt.new, 1)
			_, err := manifest.Decode([]byte(doc))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Decode: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Decode accepted a ServiceMonitor with %s", tt.name)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("Decode error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
