package deploy

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	action3 "helm.sh/helm/v3/pkg/action"
	loader3 "helm.sh/helm/v3/pkg/chart/loader"
	chartutil3 "helm.sh/helm/v3/pkg/chartutil"
)

// helm3Template renders the chart with Helm 3's library, as `helm
// template` of Helm 3 does.
func helm3Template(t *testing.T, vals map[string]any, kube string) (string, error) {
	t.Helper()
	chrt, err := loader3.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	install := action3.NewInstall(&action3.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = releaseName
	install.Namespace = namespace
	if install.KubeVersion, err = chartutil3.ParseKubeVersion(kube); err != nil {
		t.Fatal(err)
	}
	rel, err := install.RunWithContext(t.Context(), chrt, vals)
	if err != nil {
		return "", err
	}
	return rel.Manifest, nil
}

// TestHelm3: Helm 3 renders the chart as Helm 4 does (apiVersion v2,
// draft-07 schema), and rejects the same wrong values.
func TestHelm3(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(helmValues, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("values files %v, %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			vals := loadValues(t, filepath.Base(f))
			want, err := helmTemplate(t, vals, kubeVersion)
			if err != nil {
				t.Fatal(err)
			}
			got, err := helm3Template(t, vals, kubeVersion)
			if err != nil {
				t.Fatalf("Helm 3: %v", err)
			}
			// Helm 4 ends each document with an empty line.
			if g, w := documents(got), documents(want.Manifest); !slices.Equal(g, w) {
				t.Errorf("Helm 3 renders\n%s\nHelm 4\n%s", got, want.Manifest)
			}
		})
	}
	for _, tc := range []struct {
		name string
		vals map[string]any
		want string
	}{
		{"schema", map[string]any{"mode": "double"}, "/mode"},
		{"template", map[string]any{}, "existingSecret is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := helm3Template(t, tc.vals, kubeVersion); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Helm 3 with %v: %v; want an error naming %s", tc.vals, err, tc.want)
			}
		})
	}
}

// documents splits a manifest into its documents, each trimmed.
func documents(manifest string) []string {
	var docs []string
	for d := range strings.SplitSeq(manifest, "\n---\n") {
		docs = append(docs, strings.TrimSpace(d))
	}
	return docs
}
