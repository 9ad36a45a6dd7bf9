package deploy

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/getter"
	release "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

const (
	chartDir     = "helm/tencent-live-exporter"
	helmRuleFile = chartDir + "/files/prometheus-rules.yaml"
	helmValues   = "testdata/helm"
	// releaseName is the release the comparisons with kustomize install:
	// its objects then have the overlays' names.
	releaseName = "tencent-live-exporter"
	// kubeVersion is the cluster the chart is rendered for (helm template
	// --kube-version).
	kubeVersion = "v1.31.0"
)

// helmRulesHeader opens the chart's generated rule file.
const helmRulesHeader = `# Code generated from examples/recording_rules.yml and examples/alerts.yml
# by ` + "`go test -run TestHelmRules -update`" + ` in deploy/. DO NOT EDIT.
#
# The rule groups of the examples, which templates/prometheusrule.yaml
# puts under the PrometheusRule's spec.
`

// generateHelmRules builds the chart's rule file: a Prometheus rule file
// with the groups of the examples.
func generateHelmRules() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(helmRulesHeader + "groups:\n")
	if err := writeRuleGroups(&b, ""); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// TestHelmRules: the chart's files/prometheus-rules.yaml is what
// generateHelmRules makes of the examples now (run with -update after
// editing them), and the PrometheusRule the chart renders holds exactly
// their groups.
func TestHelmRules(t *testing.T) {
	want, err := generateHelmRules()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(helmRuleFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := readFile(t, helmRuleFile); got != string(want) {
		t.Errorf("%s is out of date with examples/: run `go test -run TestHelmRules -update` in deploy/", helmRuleFile)
	}
	r := renderHelm(t, loadValues(t, "single.yaml"))
	if len(r.rules) != 1 {
		t.Fatalf("%d PrometheusRules; want 1", len(r.rules))
	}
	var groups []any
	for _, src := range ruleSources {
		g, _ := ruleGroups(t, src, []byte(readFile(t, src))).([]any)
		groups = append(groups, g...)
	}
	b, err := yaml.Marshal(r.rules[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleGroups(t, "the chart's PrometheusRule", b); !reflect.DeepEqual(got, any(groups)) {
		t.Errorf("the chart's PrometheusRule groups differ from the examples'")
	}
}

// loadValues merges values files of testdata/helm as `helm install -f a
// -f b` does.
func loadValues(t *testing.T, files ...string) map[string]any {
	t.Helper()
	opts := values.Options{}
	for _, f := range files {
		opts.ValueFiles = append(opts.ValueFiles, filepath.Join(helmValues, f))
	}
	vals, err := opts.MergeValues(getter.Providers{})
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

// helmTemplate renders the chart with Helm's install action, client only,
// as `helm template` and `helm install --dry-run` do: the values are
// checked against values.schema.json, then the templates run.
func helmTemplate(t *testing.T, vals map[string]any, kube string) (*release.Release, error) {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(action.NewConfiguration(action.ConfigurationSetLogger(slog.NewTextHandler(io.Discard, nil))))
	install.DryRunStrategy = action.DryRunClient
	install.Replace = true
	install.ReleaseName = releaseName
	install.Namespace = namespace
	if install.KubeVersion, err = common.ParseKubeVersion(kube); err != nil {
		t.Fatal(err)
	}
	rel, err := install.RunWithContext(t.Context(), chrt, vals)
	if err != nil {
		return nil, err
	}
	r, ok := rel.(*release.Release)
	if !ok {
		t.Fatalf("release %T", rel)
	}
	return r, nil
}

// renderHelm renders the chart and decodes every object strictly into the
// Kubernetes and prometheus-operator types.
func renderHelm(t *testing.T, vals map[string]any) rendered {
	t.Helper()
	rel, err := helmTemplate(t, vals, kubeVersion)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	if len(rel.Hooks) > 0 {
		t.Errorf("the chart has %d hooks; want none", len(rel.Hooks))
	}
	var r rendered
	for _, obj := range decodeAll(t, "chart (rendered)", []byte(rel.Manifest)) {
		r.sort(t, "chart", obj)
	}
	if len(r.configMaps) != 1 || len(r.secrets) != 0 || len(r.services) != 1 || len(r.deployments)+len(r.statefulSets) != 1 {
		t.Fatalf("the chart renders %d ConfigMaps, %d Secrets, %d Services, %d Deployments, %d StatefulSets; want one workload, its ConfigMap and Service, no Secret",
			len(r.configMaps), len(r.secrets), len(r.services), len(r.deployments), len(r.statefulSets))
	}
	// The pods read the keys from existingSecret, where values' apps
	// expect them: <name>.key, or <sdkappid>.key for an unnamed app, and
	// <name>.webhook-token for an app with a signed webhook.
	r.existingSecret = &corev1.Secret{Data: map[string][]byte{}}
	r.existingSecret.Name, _ = vals["existingSecret"].(string)
	cfg, err := collector.Decode(strings.NewReader(mustYAML(t, vals["config"])))
	if err != nil {
		t.Fatalf("values' config with no keys: %v", err)
	}
	for _, app := range cfg.Apps {
		r.existingSecret.Data[app.Name+".key"] = []byte("x") // Decode names an unnamed app by its sdkappid
		if app.Webhook != nil && !app.Webhook.AllowUnsigned {
			r.existingSecret.Data[app.Name+".webhook-token"] = []byte("x")
		}
	}
	if image, _ := vals["image"].(map[string]any); image != nil {
		repository, _ := image["repository"].(string)
		tag, _ := image["tag"].(string)
		r.image = cmp.Or(repository, "tencent_live_exporter") + ":" + cmp.Or(tag, strings.TrimSpace(readFile(t, "../VERSION")))
	}
	return r
}

// TestChartVersion: the chart installs the exporter of VERSION by default
// (the image tag is its appVersion).
func TestChartVersion(t *testing.T) {
	var chart struct {
		APIVersion string `json:"apiVersion"`
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, chartDir+"/Chart.yaml")), &chart); err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(readFile(t, "../VERSION")); chart.AppVersion != want {
		t.Errorf("Chart.yaml appVersion %q; want VERSION %q", chart.AppVersion, want)
	}
	// apiVersion v2: Helm 3 installs it as well as Helm 4.
	if chart.APIVersion != "v2" || chart.Version == "" {
		t.Errorf("Chart.yaml apiVersion %q, version %q; want v2 and a version", chart.APIVersion, chart.Version)
	}
}

// mustYAML is v as YAML, with a secret_key on each app and a token on
// each signed webhook, so that collector.Decode accepts it without the
// files the chart sets.
func mustYAML(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Apps []map[string]any `json:"apps"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, app := range cfg.Apps {
		app["secret_key"] = "x"
		if w, present := app["webhook"]; present {
			m, _ := w.(map[string]any)
			if m == nil {
				m = map[string]any{}
				app["webhook"] = m
			}
			if m["allow_unsigned"] != true {
				m["token"] = "x"
			}
		}
	}
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(y)
}

// TestHelmLint: `helm lint --strict` passes with each values file of
// testdata/helm and with the chart's defaults (lint does not stop at the
// templates' fail; TestHelmValuesRejected shows the install does).
func TestHelmLint(t *testing.T) {
	kube, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	lint := func(vals map[string]any) *action.LintResult {
		l := action.NewLint()
		l.Strict = true
		l.Namespace = namespace
		l.KubeVersion = kube
		return l.Run([]string{chartDir}, vals)
	}
	files, err := filepath.Glob(filepath.Join(helmValues, "*.yaml"))
	if err != nil || len(files) < 4 {
		t.Fatalf("values files %v, %v; want at least 4", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			res := lint(loadValues(t, filepath.Base(f)))
			for _, m := range res.Messages {
				t.Logf("%s", m)
			}
			if len(res.Errors) > 0 || res.TotalChartsLinted != 1 {
				t.Errorf("helm lint --strict: %v", res.Errors)
			}
		})
	}
	t.Run("defaults", func(t *testing.T) {
		if res := lint(map[string]any{}); len(res.Errors) > 0 {
			t.Errorf("helm lint --strict with the defaults: %v", res.Errors)
		}
	})
}

// TestHelmSingle: one exporter, never two at once, as single/.
func TestHelmSingle(t *testing.T) {
	r := renderHelm(t, loadValues(t, "single.yaml"))
	if len(r.deployments) != 1 || len(r.serviceMonitors) != 1 || len(r.rules) != 1 || len(r.ingresses) != 0 {
		t.Fatalf("%d Deployments, %d ServiceMonitors, %d PrometheusRules, %d Ingresses; want 1, 1, 1, 0",
			len(r.deployments), len(r.serviceMonitors), len(r.rules), len(r.ingresses))
	}
	d := r.deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("Deployment replicas %v, strategy %q; want 1 and Recreate (two exporters would share the quota)", d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	c := checkWorkload(t, r, r.existingSecret, d.Spec.Template)
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--shard.") || strings.HasPrefix(a, "--callback.") {
			t.Errorf("single exporter with %s", a)
		}
	}
	checkSelects(t, d.Spec.Selector.MatchLabels, d.Spec.Template)
}

// TestHelmSharded: shards.count pods, pod i serving shard i of
// shards.count, as shards/.
func TestHelmSharded(t *testing.T) {
	vals := loadValues(t, "sharded.yaml")
	r := renderHelm(t, vals)
	if len(r.statefulSets) != 1 {
		t.Fatal("mode sharded renders no StatefulSet")
	}
	s := r.statefulSets[0]
	c := checkWorkload(t, r, r.existingSecret, s.Spec.Template)
	count := vals["shards"].(map[string]any)["count"].(float64)
	if s.Spec.Replicas == nil || float64(*s.Spec.Replicas) != count {
		t.Errorf("StatefulSet replicas %v; want shards.count %v", s.Spec.Replicas, count)
	}
	checkShardWiring(t, r, s, c, int64(count))
	checkSelects(t, s.Spec.Selector.MatchLabels, s.Spec.Template)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkSelects: a workload's selector matches its own pods.
func checkSelects(t *testing.T, selector map[string]string, pod corev1.PodTemplateSpec) {
	t.Helper()
	if len(selector) == 0 {
		t.Error("empty selector")
	}
	for k, v := range selector {
		if pod.Labels[k] != v {
			t.Errorf("selector %s=%s: the pods lack it", k, v)
		}
	}
}

// TestHelmMatchesKustomize: the chart and the overlays deploy the same
// exporter: the same configuration, and pods with the same image, args,
// environment, ports, probes, resources, security contexts and volumes.
func TestHelmMatchesKustomize(t *testing.T) {
	for _, tc := range []struct{ overlay, values string }{
		{"single", "single.yaml"},
		{"shards", "sharded.yaml"},
	} {
		t.Run(tc.overlay, func(t *testing.T) {
			k, h := render(t, tc.overlay), renderHelm(t, loadValues(t, tc.values))
			kPod, hPod := podOf(t, k), podOf(t, h)
			kc, hc := kPod.Spec.Containers[0], hPod.Spec.Containers[0]
			same := func(what string, a, b any) {
				t.Helper()
				if !reflect.DeepEqual(a, b) {
					t.Errorf("%s differ:\nkustomize %s\nhelm      %s", what, mustJSON(t, a), mustJSON(t, b))
				}
			}
			same("images", kc.Image, hc.Image)
			same("container args", kc.Args, hc.Args)
			same("container env", kc.Env, hc.Env)
			same("container ports", kc.Ports, hc.Ports)
			same("liveness probes", kc.LivenessProbe, hc.LivenessProbe)
			same("readiness probes", kc.ReadinessProbe, hc.ReadinessProbe)
			same("resources", kc.Resources, hc.Resources)
			same("container security contexts", kc.SecurityContext, hc.SecurityContext)
			same("volume mounts", kc.VolumeMounts, hc.VolumeMounts)
			same("pod security contexts", kPod.Spec.SecurityContext, hPod.Spec.SecurityContext)
			same("volumes", kPod.Spec.Volumes, hPod.Spec.Volumes)
			same("automountServiceAccountToken", kPod.Spec.AutomountServiceAccountToken, hPod.Spec.AutomountServiceAccountToken)
			same("workload names", workloadName(k), workloadName(h))
			same("Service ports", k.services[0].Spec.Ports, h.services[0].Spec.Ports)
			same("Service clusterIPs", k.services[0].Spec.ClusterIP, h.services[0].Spec.ClusterIP)
			same("ServiceMonitor endpoints", k.serviceMonitors[0].Spec.Endpoints, h.serviceMonitors[0].Spec.Endpoints)
			var kConfig, hConfig any
			if err := yaml.Unmarshal([]byte(k.configMaps[0].Data["config.yml"]), &kConfig); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal([]byte(h.configMaps[0].Data["config.yml"]), &hConfig); err != nil {
				t.Fatal(err)
			}
			same("configurations", kConfig, hConfig)
			if len(k.deployments) == 1 {
				kd, hd := k.deployments[0].Spec, h.deployments[0].Spec
				same("replicas", kd.Replicas, hd.Replicas)
				same("strategies", kd.Strategy, hd.Strategy)
			} else {
				ks, hs := k.statefulSets[0].Spec, h.statefulSets[0].Spec
				same("replicas", ks.Replicas, hs.Replicas)
				same("pod management policies", ks.PodManagementPolicy, hs.PodManagementPolicy)
			}
		})
	}
}

// podOf is the pod template of the one workload.
func podOf(t *testing.T, r rendered) corev1.PodTemplateSpec {
	t.Helper()
	switch {
	case len(r.deployments) == 1 && len(r.statefulSets) == 0:
		return r.deployments[0].Spec.Template
	case len(r.statefulSets) == 1 && len(r.deployments) == 0:
		return r.statefulSets[0].Spec.Template
	}
	t.Fatalf("%d Deployments, %d StatefulSets; want one workload", len(r.deployments), len(r.statefulSets))
	return corev1.PodTemplateSpec{}
}

func workloadName(r rendered) string {
	if len(r.deployments) == 1 {
		return "Deployment/" + r.deployments[0].Name
	}
	return "StatefulSet/" + r.statefulSets[0].Name
}

// TestHelmMinimal: an install with nothing but the Secret and the apps:
// no prometheus-operator objects, and an unnamed app's key is
// <sdkappid>.key.
func TestHelmMinimal(t *testing.T) {
	r := renderHelm(t, loadValues(t, "minimal.yaml"))
	if len(r.deployments) != 1 || len(r.serviceMonitors)+len(r.rules)+len(r.ingresses) != 0 {
		t.Errorf("%d Deployments, %d ServiceMonitors, %d PrometheusRules, %d Ingresses; want 1, 0, 0, 0",
			len(r.deployments), len(r.serviceMonitors), len(r.rules), len(r.ingresses))
	}
	checkWorkload(t, r, r.existingSecret, r.deployments[0].Spec.Template)
	if keys := r.existingSecret.Data; keys["1400000001.key"] == nil || keys["shows.key"] == nil {
		t.Errorf("keys %v; want 1400000001.key and shows.key", slices.Sorted(maps.Keys(keys)))
	}
	if want := "secret_key_file: /run/secrets/tencent_live_exporter/1400000001.key"; !strings.Contains(r.configMaps[0].Data["config.yml"], want) {
		t.Errorf("config.yml lacks %q:\n%s", want, r.configMaps[0].Data["config.yml"])
	}
}

// TestHelmWebhook: the webhook block wires the receiver's flags, port,
// web configuration and an Ingress that exposes the callback path only.
func TestHelmWebhook(t *testing.T) {
	vals := loadValues(t, "webhook.yaml")
	r := renderHelm(t, vals)
	if len(r.statefulSets) != 1 || len(r.ingresses) != 1 {
		t.Fatalf("%d StatefulSets, %d Ingresses; want 1, 1", len(r.statefulSets), len(r.ingresses))
	}
	pod := r.statefulSets[0].Spec.Template
	c := checkWorkload(t, r, r.existingSecret, pod)
	webConfig := "/etc/tencent_live_exporter/callback-web/web-config.yml"
	for _, want := range []string{"--callback.listen-address=:9865", "--callback.path=/tencent/callback", "--callback.web.config.file=" + webConfig, "--log.level=debug"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %q lack %s", c.Args, want)
		}
	}
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "callback" && p.ContainerPort == 9865 }) {
		t.Errorf("container ports %+v; want callback 9865", c.Ports)
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == "callback-web-config" && m.MountPath == filepath.Dir(webConfig)
	}) || !slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool {
		return v.Name == "callback-web-config" && v.Secret != nil && v.Secret.SecretName == "live-callback-web"
	}) {
		t.Errorf("no Secret live-callback-web mounted at %s", filepath.Dir(webConfig))
	}
	if c.Image != "registry.example.com/tencent_live_exporter:0.1.0-rc.1" {
		t.Errorf("image %s; want image.repository:image.tag", c.Image)
	}
	svc := r.services[0]
	ing := r.ingresses[0]
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" || len(ing.Spec.TLS) != 1 || len(ing.Spec.Rules) != 1 {
		t.Fatalf("Ingress %+v; want class nginx, one TLS entry, one rule", ing.Spec)
	}
	paths := ing.Spec.Rules[0].HTTP.Paths
	if ing.Spec.Rules[0].Host != "live-callbacks.example.com" || len(paths) != 1 {
		t.Fatalf("Ingress rule %+v; want live-callbacks.example.com and one path", ing.Spec.Rules[0])
	}
	p := paths[0]
	if p.Path != "/tencent/callback" || p.PathType == nil || *p.PathType != networkingv1.PathTypeExact ||
		p.Backend.Service == nil || p.Backend.Service.Name != svc.Name || p.Backend.Service.Port.Name != "callback" {
		t.Errorf("Ingress path %+v; want exactly /tencent/callback to Service %s port callback", p, svc.Name)
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Name == "callback" && sp.Port == 9865 }) {
		t.Errorf("Service ports %+v; want callback 9865", svc.Spec.Ports)
	}
	for _, ep := range r.serviceMonitors[0].Spec.Endpoints {
		if ep.Port != "http" {
			t.Errorf("ServiceMonitor scrapes port %s; want http only", ep.Port)
		}
	}
	rel, err := helmTemplate(t, vals, kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://live-callbacks.example.com/tencent/callback"; !strings.Contains(rel.Info.Notes, want) {
		t.Errorf("NOTES do not give the callback URL %s:\n%s", want, rel.Info.Notes)
	}
	config := r.configMaps[0].Data["config.yml"]
	for _, want := range []string{"token_file: /run/secrets/tencent_live_exporter/prod-live.webhook-token", "allow_unsigned: true"} {
		if !strings.Contains(config, want) {
			t.Errorf("config.yml lacks %q:\n%s", want, config)
		}
	}
	if r.existingSecret.Data["internal.webhook-token"] != nil {
		t.Error("an app with allow_unsigned reads a token")
	}
}

// TestHelmValuesRejected: wrong values fail the install, before anything
// reaches the cluster, with a message that names the key.
func TestHelmValuesRejected(t *testing.T) {
	app := func(kv ...any) map[string]any {
		a := map[string]any{"name": "prod-live", "sdkappid": 1400000000, "region": "singapore", "identifier": "administrator", "rooms": []any{map[string]any{"id": "live-1"}}}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(a, kv[i].(string))
			} else {
				a[kv[i].(string)] = kv[i+1]
			}
		}
		return a
	}
	base := func(kv ...any) map[string]any {
		v := map[string]any{"existingSecret": "keys", "config": map[string]any{"apps": []any{app()}}}
		for i := 0; i < len(kv); i += 2 {
			v[kv[i].(string)] = kv[i+1]
		}
		return v
	}
	apps := func(a ...any) map[string]any { return map[string]any{"apps": a} }
	tests := []struct {
		name string
		vals map[string]any
		kube string
		want []string // substrings of the error
	}{
		{"no secret", base("existingSecret", ""), "", []string{"existingSecret is required", "kubectl -n monitoring create secret generic"}},
		{"secret name", base("existingSecret", "My_Keys"), "", []string{"/existingSecret", "does not match pattern"}},
		{"no apps", base("config", apps()), "", []string{"config.apps is empty"}},
		{"mode", base("mode", "double"), "", []string{"/mode", "'single', 'sharded'"}},
		{"one shard", base("mode", "sharded", "shards", map[string]any{"count": 1}), "", []string{"/shards/count", "minimum"}},
		{"old cluster for shards", base("mode", "sharded"), "v1.27.9", []string{"mode sharded needs Kubernetes 1.28 or later"}},
		{"key in values", base("config", apps(app("secret_key", "abc"))), "", []string{"config.apps[0] (prod-live): secret_key and secret_key_file are not allowed", "the key prod-live.key of existingSecret"}},
		{"key file in values", base("config", apps(app("secret_key_file", "k"))), "", []string{"config.apps[0] (prod-live): secret_key and secret_key_file are not allowed"}},
		{"typo in an app", base("config", apps(app("max_qsp", 10))), "", []string{"/config/apps/0", "'max_qsp' not allowed"}},
		{"unknown region", base("config", apps(app("region", "mars"))), "", []string{"/config/apps/0/region", "'singapore'"}},
		{"region and endpoint", base("config", apps(app("endpoint", "https://gw:8443"))), "", []string{"config.apps[0] (prod-live): set exactly one of region and endpoint"}},
		{"neither region nor endpoint", base("config", apps(app("region", nil))), "", []string{"config.apps[0] (prod-live): set exactly one of region and endpoint"}},
		{"unnamed app", base("config", apps(app("name", nil, "region", nil))), "", []string{"config.apps[0] (1400000000): set exactly one"}},
		{"no rooms", base("config", apps(app("rooms", nil))), "", []string{"config.apps[0] (prod-live): rooms must list at least one room (or set discovery)"}},
		{"max_qps", base("config", apps(app("max_qps", 300))), "", []string{"/config/apps/0/max_qps", "maximum"}},
		{"duration", base("config", apps(app("refresh_interval", "40 seconds"))), "", []string{"/config/apps/0/refresh_interval", "pattern"}},
		{"no sdkappid", base("config", apps(app("sdkappid", nil))), "", []string{"/config/apps/0", "missing property 'sdkappid'"}},
		{"same key twice", base("config", apps(app(), app("sdkappid", 1400000001))), "", []string{"config.apps[1] (prod-live): another app reads the key prod-live.key"}},
		{"typo at the top", base("serviceMonitors", map[string]any{"enabled": true}), "", []string{"'serviceMonitors' not allowed"}},
		{"flag the chart sets", base("extraArgs", []any{"--config.file=/tmp/x"}), "", []string{"extraArgs: --config.file=/tmp/x is a flag the chart sets itself"}},
		{"ingress without receiver", base("webhook", map[string]any{"ingress": map[string]any{"enabled": true, "hosts": []any{"x.example.com"}}}), "", []string{"webhook.ingress.enabled needs webhook.enabled"}},
		{"ingress without host", base("webhook", map[string]any{"enabled": true, "ingress": map[string]any{"enabled": true}}), "", []string{"/webhook/ingress/hosts", "minItems"}},
		{"webhook token in values", base("webhook", map[string]any{"enabled": true}, "config", apps(app("webhook", map[string]any{"token": "t0ken"}))), "", []string{"config.apps[0] (prod-live): webhook.token and webhook.token_file are not allowed", "prod-live.webhook-token"}},
		{"app webhook without receiver", base("config", apps(app("webhook", map[string]any{}))), "", []string{"config.apps[0] (prod-live): the app's webhook block needs the receiver: set webhook.enabled"}},
		{"receiver on the metrics port", base("webhook", map[string]any{"enabled": true, "port": 9864}), "", []string{"webhook.port 9864 is the port of /metrics"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kube := tc.kube
			if kube == "" {
				kube = kubeVersion
			}
			_, err := helmTemplate(t, tc.vals, kube)
			if err == nil {
				t.Fatalf("helm template %s: no error; want %q", mustJSON(t, tc.vals), tc.want)
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("helm template: %v\nwant %q in it", err, w)
				}
			}
		})
	}
}

// TestSchemaMatchesConfig: values.schema.json knows the keys of the
// exporter's configuration (so that a typo fails the install) and no
// other, its regions and its limits.
func TestSchemaMatchesConfig(t *testing.T) {
	var schema struct {
		Definitions struct {
			App schemaObject `json:"app"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal([]byte(readFile(t, chartDir+"/values.schema.json")), &schema); err != nil {
		t.Fatal(err)
	}
	app := schema.Definitions.App
	check := func(where string, o schemaObject, typ reflect.Type) {
		t.Helper()
		want := yamlKeys(typ)
		if got := slices.Sorted(maps.Keys(o.Properties)); !slices.Equal(got, want) {
			t.Errorf("schema %s properties %q; want the keys of %s: %q", where, got, typ, want)
		}
		if o.AdditionalProperties == nil || *o.AdditionalProperties {
			t.Errorf("schema %s: additionalProperties must be false, so that a typo fails", where)
		}
	}
	// secret_key and secret_key_file are known, so that the templates can
	// say why they are not allowed.
	check("app", app, reflect.TypeFor[collector.AppConfig]())
	check("app.discovery", app.Properties["discovery"], reflect.TypeFor[collector.DiscoveryConfig]())
	check("app.room_info", app.Properties["room_info"], reflect.TypeFor[collector.RoomInfoConfig]())
	check("app.room_stats", app.Properties["room_stats"], reflect.TypeFor[collector.RoomStatsConfig]())
	check("app.room_seats", app.Properties["room_seats"], reflect.TypeFor[collector.RoomSeatsConfig]())
	check("app.webhook", app.Properties["webhook"], reflect.TypeFor[collector.WebhookConfig]())
	check("app.rooms[]", *app.Properties["rooms"].Items, reflect.TypeFor[collector.RoomConfig]())

	if got := app.Properties["region"].Enum; !slices.Equal(got, tencent.Regions()) {
		t.Errorf("schema app.region enum %q; want tencent.Regions() %q", got, tencent.Regions())
	}
	for _, l := range []struct {
		where string
		o     schemaObject
		want  float64
	}{
		{"app.max_qps", app.Properties["max_qps"], collector.UpstreamQPSLimit},
		{"app.max_qps_total", app.Properties["max_qps_total"], collector.MaxQPSTotalLimit},
		{"app.max_concurrency", app.Properties["max_concurrency"], collector.MaxConcurrencyLimit},
		{"app.discovery.max_qps", app.Properties["discovery"].Properties["max_qps"], collector.RoomListQPSLimit},
		{"app.discovery.max_pages", app.Properties["discovery"].Properties["max_pages"], collector.MaxDiscoveryMaxPages},
		{"app.room_info.max_qps", app.Properties["room_info"].Properties["max_qps"], collector.RoomInfoQPSLimit},
		{"app.room_stats.max_qps", app.Properties["room_stats"].Properties["max_qps"], collector.RoomStatsQPSLimit},
		{"app.room_seats.max_qps", app.Properties["room_seats"].Properties["max_qps"], collector.RoomSeatsQPSLimit},
	} {
		if l.o.Maximum == nil || *l.o.Maximum != l.want {
			t.Errorf("schema %s maximum %v; want the exporter's %g", l.where, l.o.Maximum, l.want)
		}
	}
}

// schemaObject is the part of a JSON schema the test reads.
type schemaObject struct {
	Properties           map[string]schemaObject `json:"properties"`
	AdditionalProperties *bool                   `json:"-"`
	Items                *schemaObject           `json:"items"`
	Enum                 []string                `json:"enum"`
	Maximum              *float64                `json:"maximum"`
}

// UnmarshalJSON reads additionalProperties when it is a boolean (it may
// be a schema).
func (o *schemaObject) UnmarshalJSON(b []byte) error {
	type plain schemaObject
	var raw struct {
		plain
		AdditionalProperties json.RawMessage `json:"additionalProperties"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*o = schemaObject(raw.plain)
	var v bool
	if json.Unmarshal(raw.AdditionalProperties, &v) == nil {
		o.AdditionalProperties = &v
	}
	return nil
}

// yamlKeys are the YAML keys of a struct's exported fields, sorted.
func yamlKeys(typ reflect.Type) []string {
	var keys []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	slices.Sort(keys)
	return keys
}

// TestREADMEHelmInstall: the README's Helm install works as written: its
// values file renders, and the Secret its kubectl command creates is the
// one the chart mounts, with the key the app reads.
func TestREADMEHelmInstall(t *testing.T) {
	_, section, ok := strings.Cut(readFile(t, "../README.md"), "**Helm.**")
	if !ok {
		t.Fatal("README.md has no **Helm.** section")
	}
	secret := regexp.MustCompile(`kubectl -n (\S+) create secret generic (\S+) --from-file=([^=\s]+)=`).FindStringSubmatch(section)
	valuesFile := regexp.MustCompile(`(?s)cat > (\S+) <<'EOF'\n(.*?)\nEOF\n`).FindStringSubmatch(section)
	install := regexp.MustCompile(`helm install (\S+) (\S+) -n (\S+) -f (\S+)`).FindStringSubmatch(section)
	if secret == nil || valuesFile == nil || install == nil {
		t.Fatalf("README.md's Helm section: want a kubectl create secret, a values file written with cat and a helm install")
	}
	if install[2] != "deploy/"+chartDir || install[4] != valuesFile[1] || install[3] != secret[1] || install[3] != namespace {
		t.Errorf("README: helm install %q; want chart deploy/%s, -f %s, in namespace %s where the Secret is", install[0], chartDir, valuesFile[1], secret[1])
	}
	f := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(f, []byte(valuesFile[2]), 0o644); err != nil {
		t.Fatal(err)
	}
	vals, err := (&values.Options{ValueFiles: []string{f}}).MergeValues(getter.Providers{})
	if err != nil {
		t.Fatal(err)
	}
	r := renderHelm(t, vals)
	// The Secret the README creates, as the pods find it.
	created := &corev1.Secret{Data: map[string][]byte{secret[3]: []byte("the key")}}
	created.Name = secret[2]
	checkWorkload(t, r, created, podOf(t, r))
}
