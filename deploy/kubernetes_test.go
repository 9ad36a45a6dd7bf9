package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	ktypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
)

var update = flag.Bool("update", false, "rewrite the generated rule files (kubernetes/base/prometheusrule.yaml, the chart's files/prometheus-rules.yaml) from examples/")

const (
	manifestDir = "kubernetes"
	ruleFile    = "kubernetes/base/prometheusrule.yaml"
	namespace   = "monitoring"
	jobName     = "tencent_live" // examples/prometheus.yml's job, which the alerts name
)

// ruleSources are the example rule files the PrometheusRule is made of.
var ruleSources = []string{"../examples/recording_rules.yml", "../examples/alerts.yml"}

// decoder decodes YAML strictly (unknown and duplicate fields are errors)
// into the registered API types.
var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, networkingv1.AddToScheme, monitoringv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Yaml: true, Strict: true})
}()

// decodeAll decodes every document of a YAML stream.
func decodeAll(t *testing.T, name string, data []byte) []runtime.Object {
	t.Helper()
	var objs []runtime.Object
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, gvk, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		t.Logf("%s: %s", name, gvk)
		objs = append(objs, obj)
	}
}

// TestManifestsDecodeStrictly: every file under kubernetes/ decodes into
// the real types with no unknown field: the kustomizations into
// kustomize's, the others into Kubernetes' and prometheus-operator's.
func TestManifestsDecodeStrictly(t *testing.T) {
	n := 0
	err := filepath.WalkDir(manifestDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" {
			t.Errorf("%s: not YAML; only manifests belong under %s", p, manifestDir)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		if d.Name() == "kustomization.yaml" {
			var k ktypes.Kustomization
			if err := yaml.UnmarshalStrict(data, &k); err != nil {
				t.Errorf("%s: %v", p, err)
			}
			return nil
		}
		if objs := decodeAll(t, p, data); len(objs) != 1 {
			t.Errorf("%s: %d objects; want one per file", p, len(objs))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Errorf("%d manifests found; want the base and both overlays", n)
	}
}

// rendered is an overlay as `kubectl apply -k` would send it, or the
// chart as `helm install` would.
type rendered struct {
	configMaps      []*corev1.ConfigMap
	secrets         []*corev1.Secret
	services        []*corev1.Service
	deployments     []*appsv1.Deployment
	statefulSets    []*appsv1.StatefulSet
	serviceMonitors []*monitoringv1.ServiceMonitor
	rules           []*monitoringv1.PrometheusRule
	ingresses       []*networkingv1.Ingress

	// The Secret the pods read the keys from, when it is not rendered:
	// the chart's existingSecret, with the keys its apps read.
	existingSecret *corev1.Secret
	// The image the pods run, when not the released one (VERSION).
	image string
}

// sort files a decoded object under its kind.
func (r *rendered) sort(t *testing.T, where string, obj runtime.Object) {
	t.Helper()
	if m, ok := obj.(interface{ GetNamespace() string }); !ok || m.GetNamespace() != namespace {
		t.Errorf("%s: %T is not in namespace %s", where, obj, namespace)
	}
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		r.configMaps = append(r.configMaps, o)
	case *corev1.Secret:
		r.secrets = append(r.secrets, o)
	case *corev1.Service:
		r.services = append(r.services, o)
	case *appsv1.Deployment:
		r.deployments = append(r.deployments, o)
	case *appsv1.StatefulSet:
		r.statefulSets = append(r.statefulSets, o)
	case *monitoringv1.ServiceMonitor:
		r.serviceMonitors = append(r.serviceMonitors, o)
	case *monitoringv1.PrometheusRule:
		r.rules = append(r.rules, o)
	case *networkingv1.Ingress:
		r.ingresses = append(r.ingresses, o)
	default:
		t.Errorf("%s: unexpected %T", where, obj)
	}
}

// render builds an overlay with kustomize's own library (what kubectl
// apply -k runs) and decodes the result strictly.
func render(t *testing.T, overlay string) rendered {
	t.Helper()
	r := renderObjects(t, overlay)
	if len(r.configMaps) != 1 || len(r.secrets) != 0 || len(r.services) != 1 || len(r.serviceMonitors) != 1 || len(r.rules) != 1 ||
		len(r.deployments)+len(r.statefulSets) != 1 {
		t.Fatalf("%s renders %d ConfigMaps, %d Secrets, %d Services, %d Deployments, %d StatefulSets, %d ServiceMonitors, %d PrometheusRules; want one workload, one of each other and no Secret (the keys never come from a file of the repository)",
			overlay, len(r.configMaps), len(r.secrets), len(r.services), len(r.deployments), len(r.statefulSets), len(r.serviceMonitors), len(r.rules))
	}
	return r
}

// renderObjects builds an overlay and decodes every object strictly, with
// no expectation of what it holds.
func renderObjects(t *testing.T, overlay string) rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(manifestDir, overlay))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", overlay, err)
	}
	out, err := resMap.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	var r rendered
	for _, obj := range decodeAll(t, overlay+" (rendered)", out) {
		r.sort(t, overlay, obj)
	}
	return r
}

// readmeCommands returns the kubectl commands of the README's Kubernetes
// install, in order.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	lines := strings.Split(readFile(t, "../README.md"), "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "**Kubernetes.**") })
	if i < 0 {
		t.Fatal("README.md: no **Kubernetes.** section")
	}
	for ; i < len(lines) && lines[i] != "```sh"; i++ {
	}
	var cmds []string
	for i++; i < len(lines) && lines[i] != "```"; i++ {
		if strings.HasPrefix(lines[i], "kubectl ") {
			cmds = append(cmds, lines[i])
		}
	}
	if len(cmds) == 0 {
		t.Fatal("README.md: no kubectl command in the Kubernetes section's first sh block")
	}
	return cmds
}

// applyReadme plays the README's kubectl commands, in order, against a
// cluster that starts empty, with overlay in place of the one the README
// applies: create namespace and create secret add objects (failing, as
// kubectl does, on one that exists), apply -k renders the overlay with
// kustomize's library and replaces what it names. It returns the rendered
// overlay and the Secret the cluster holds in the end, which must still be
// the one created from the user's key files.
func applyReadme(t *testing.T, overlay string) (rendered, *corev1.Secret) {
	t.Helper()
	namespaces := map[string]bool{}
	secrets := map[string]*corev1.Secret{} // namespace/name
	created := map[string]bool{}           // Secrets made from the user's files
	var r rendered
	applied := false
	for _, line := range readmeCommands(t) {
		line, _, _ = strings.Cut(line, "#")
		args := strings.Fields(line)[1:]
		ns := ""
		var rest []string
		for i := 0; i < len(args); i++ {
			switch a := args[i]; {
			case a == "-n" || a == "--namespace":
				i++
				ns = args[i]
			case strings.HasPrefix(a, "--namespace="):
				ns = strings.TrimPrefix(a, "--namespace=")
			default:
				rest = append(rest, a)
			}
		}
		switch {
		case len(rest) == 3 && rest[0] == "create" && rest[1] == "namespace":
			if namespaces[rest[2]] {
				t.Fatalf("%s: namespace %s exists", line, rest[2])
			}
			namespaces[rest[2]] = true
		case len(rest) >= 4 && rest[0] == "create" && rest[1] == "secret" && rest[2] == "generic":
			if !namespaces[ns] {
				t.Fatalf("%s: namespace %q not created before", line, ns)
			}
			s := &corev1.Secret{Data: map[string][]byte{}}
			s.Name, s.Namespace = rest[3], ns
			for _, a := range rest[4:] {
				spec, ok := strings.CutPrefix(a, "--from-file=")
				key, file, named := strings.Cut(spec, "=")
				if !ok || !named || strings.HasPrefix(file, "deploy/") {
					t.Fatalf("%s: %s; want --from-file=NAME=PATH to a key file of the user's", line, a)
				}
				s.Data[key] = []byte("the key from " + file)
			}
			if secrets[ns+"/"+s.Name] != nil {
				t.Fatalf("%s: Secret %s/%s exists (kubectl create fails)", line, ns, s.Name)
			}
			secrets[ns+"/"+s.Name], created[ns+"/"+s.Name] = s, true
		case len(rest) == 3 && rest[0] == "apply" && rest[1] == "-k":
			if _, ok := strings.CutPrefix(rest[2], "deploy/"+manifestDir+"/"); !ok {
				t.Fatalf("%s: want an overlay under deploy/%s/", line, manifestDir)
			}
			r = render(t, overlay)
			for _, obj := range r.configMaps {
				if !namespaces[obj.Namespace] {
					t.Errorf("%s: namespace %s not created before", line, obj.Namespace)
				}
			}
			for _, s := range r.secrets {
				if created[s.Namespace+"/"+s.Name] {
					t.Errorf("%s replaces Secret %s/%s, created from the user's key files, with the repository's %s", line, s.Namespace, s.Name, strings.Join(slices.Sorted(maps.Keys(s.StringData)), ", "))
				}
				secrets[s.Namespace+"/"+s.Name] = s
			}
			applied = true
		default:
			t.Fatalf("README.md: %q: a kubectl command this test does not know; teach it", line)
		}
	}
	if !applied {
		t.Fatal("README.md: no kubectl apply -k")
	}
	if len(secrets) != 1 {
		t.Fatalf("the README's commands leave %d Secrets; want one", len(secrets))
	}
	for _, s := range secrets {
		if s.Namespace != namespace {
			t.Errorf("the README creates Secret %s in namespace %q; the overlays run in %s", s.Name, s.Namespace, namespace)
		}
		return r, s
	}
	return r, nil
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// flagSet is every flag the exporter defines, read from its main.go.
// The listen, TLS and log flags come from exporter-toolkit's and
// promslog's AddFlags, which main.go calls: their flags are read from the
// same functions.
func flagSet(t *testing.T) map[string]bool {
	t.Helper()
	flags := map[string]bool{}
	main := readFile(t, "../main.go")
	for _, m := range regexp.MustCompile(`kingpin\.Flag\("([^"]+)"`).FindAllStringSubmatch(main, -1) {
		flags[m[1]] = true
	}
	if len(flags) == 0 {
		t.Fatal("no kingpin.Flag in ../main.go")
	}
	app := kingpin.New("tencent_live_exporter", "")
	if strings.Contains(main, "kingpinflag.AddFlags(kingpin.CommandLine") {
		kingpinflag.AddFlags(app, ":9864")
	}
	if strings.Contains(main, "promslogflag.AddFlags(kingpin.CommandLine") {
		promslogflag.AddFlags(app, &promslog.Config{})
	}
	for _, f := range app.Model().Flags {
		flags[f.Name] = true
	}
	return flags
}

// checkWorkload checks what both overlays share: the pod runs the
// released image as the image's user, with flags the exporter has, the
// configuration and keys where the configuration says, and the Service
// and ServiceMonitor reach it under the job name the alerts use.
func checkWorkload(t *testing.T, r rendered, secret *corev1.Secret, pod corev1.PodTemplateSpec) corev1.Container {
	t.Helper()
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers; want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	want := "tencent_live_exporter:" + strings.TrimSpace(readFile(t, "../VERSION"))
	if r.image != "" {
		want = r.image
	}
	if c.Image != want {
		t.Errorf("image %q; want %q", c.Image, want)
	}
	sc := pod.Spec.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 65534 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("pod securityContext %+v; want runAsNonRoot as 65534, the image's user", sc)
	}
	if csc := c.SecurityContext; csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
		csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation || csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container securityContext %+v; want a read-only root, no privilege escalation, all capabilities dropped", csc)
	}
	flags := flagSet(t)
	configFile := ""
	for _, a := range c.Args {
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || !flags[name] {
			t.Errorf("argument %q: the exporter has no such flag", a)
		}
		if name == "config.file" {
			configFile = value
		}
	}
	mounts := map[string]string{} // volume name -> mount path
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	volume := func(name string) corev1.Volume {
		for _, v := range pod.Spec.Volumes {
			if v.Name == name {
				return v
			}
		}
		t.Fatalf("no volume %s", name)
		return corev1.Volume{}
	}
	// --config.file is a key of the ConfigMap, mounted where it points.
	cm := r.configMaps[0]
	if v := volume("config"); v.ConfigMap == nil || v.ConfigMap.Name != cm.Name || mounts["config"] != path.Dir(configFile) {
		t.Errorf("--config.file=%s but the config volume %+v is mounted at %s", configFile, v.VolumeSource, mounts["config"])
	}
	config, ok := cm.Data[path.Base(configFile)]
	if !ok {
		t.Fatalf("ConfigMap %s has no %s", cm.Name, path.Base(configFile))
	}
	// The exporter accepts the configuration, as --config.check would
	// (the keys exist only in the cluster).
	cfg, err := collector.Decode(strings.NewReader(config))
	if err != nil {
		t.Errorf("ConfigMap %s: %s: %v", cm.Name, path.Base(configFile), err)
	}
	// Each secret_key_file is a key of the Secret, mounted where it points.
	if v := volume("secrets"); v.Secret == nil || v.Secret.SecretName != secret.Name {
		t.Errorf("secrets volume %+v; want Secret %s", v.VolumeSource, secret.Name)
	}
	keys := map[string]bool{}
	for k := range secret.Data {
		keys[k] = true
	}
	for k := range secret.StringData {
		keys[k] = true
	}
	if cfg != nil {
		for _, app := range cfg.Apps {
			f := app.SecretKeyFile
			if f == "" || app.SecretKey != "" {
				t.Errorf("app %q: the configuration must take every key from a secret_key_file", app.Name)
			}
			files := map[string]string{"secret_key_file": f}
			if app.Webhook != nil && !app.Webhook.AllowUnsigned {
				files["webhook.token_file"] = app.Webhook.TokenFile
				if app.Webhook.Token != "" {
					t.Errorf("app %q: the configuration must take the webhook token from a token_file", app.Name)
				}
			}
			for key, f := range files {
				if path.Dir(f) != mounts["secrets"] || !keys[path.Base(f)] {
					t.Errorf("app %q: %s %s: want one of the keys %v of Secret %s, mounted at %s", app.Name, key, f, slices.Sorted(maps.Keys(keys)), secret.Name, mounts["secrets"])
				}
			}
		}
	}

	port := -1
	for i, p := range c.Ports {
		if p.Name == "http" && p.ContainerPort == 9864 {
			port = i
		}
	}
	if port < 0 || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/-/ready" ||
		c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/-/healthy" {
		t.Errorf("container: want port http 9864 and probes on /-/ready and /-/healthy")
	}
	svc := r.services[0]
	for k, v := range svc.Spec.Selector {
		if pod.Labels[k] != v {
			t.Errorf("Service %s selects %s=%s, which the pods lack", svc.Name, k, v)
		}
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "http" && p.TargetPort.String() == "http" }) {
		t.Errorf("Service %s ports %+v; want http to the pods' http", svc.Name, svc.Spec.Ports)
	}
	for _, p := range svc.Spec.Ports {
		if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.TargetPort.String() }) {
			t.Errorf("Service %s port %s targets %s, which the container lacks", svc.Name, p.Name, p.TargetPort.String())
		}
	}
	if len(r.serviceMonitors) == 0 {
		return c
	}
	sm := r.serviceMonitors[0]
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("ServiceMonitor selects Services with %s=%s; Service %s lacks it", k, v, svc.Name)
		}
	}
	prom := readFile(t, "../examples/prometheus.yml")
	for _, ep := range sm.Spec.Endpoints {
		if ep.Port != "http" || ep.Path != "/metrics" {
			t.Errorf("ServiceMonitor endpoint port %q path %q; want http, /metrics", ep.Port, ep.Path)
		}
		if !strings.Contains(prom, "scrape_interval: "+string(ep.Interval)) || !strings.Contains(prom, "scrape_timeout: "+string(ep.ScrapeTimeout)) {
			t.Errorf("ServiceMonitor interval %s, timeout %v; want examples/prometheus.yml's", ep.Interval, ep.ScrapeTimeout)
		}
		job := ""
		for _, rc := range ep.RelabelConfigs {
			if rc.TargetLabel == "job" && rc.Replacement != nil {
				job = *rc.Replacement
			}
		}
		if job != jobName {
			t.Errorf("ServiceMonitor job %q; want %q, the job of the alerts", job, jobName)
		}
	}
	if !strings.Contains(readFile(t, "../examples/alerts.yml"), `up{job="`+jobName+`"}`) {
		t.Errorf("examples/alerts.yml no longer names job %q; update the ServiceMonitor and this test", jobName)
	}
	return c
}

// TestSingle: one exporter, never two at once, installed by the README's
// commands.
func TestSingle(t *testing.T) {
	r, secret := applyReadme(t, "single")
	if len(r.deployments) != 1 {
		t.Fatal("single/ renders no Deployment")
	}
	d := r.deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("Deployment replicas %v, strategy %q; want 1 and Recreate (two exporters would share the quota)", d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	c := checkWorkload(t, r, secret, d.Spec.Template)
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--shard.") {
			t.Errorf("single exporter with %s", a)
		}
	}
}

// TestShards: the StatefulSet's pods each take --shard.index from their
// ordinal and --shard.count from the one replica count in
// kustomization.yaml; installed by the README's commands, with shards/ in
// place of single/.
func TestShards(t *testing.T) {
	r, secret := applyReadme(t, "shards")
	if len(r.statefulSets) != 1 {
		t.Fatal("shards/ renders no StatefulSet")
	}
	s := r.statefulSets[0]
	c := checkWorkload(t, r, secret, s.Spec.Template)

	var k ktypes.Kustomization
	if err := yaml.UnmarshalStrict([]byte(readFile(t, "kubernetes/shards/kustomization.yaml")), &k); err != nil {
		t.Fatal(err)
	}
	if len(k.Replicas) != 1 || k.Replicas[0].Name != s.Name {
		t.Fatalf("kustomization replicas %+v; want the count of %s", k.Replicas, s.Name)
	}
	count := k.Replicas[0].Count
	if count < 2 || s.Spec.Replicas == nil || int64(*s.Spec.Replicas) != count {
		t.Errorf("StatefulSet replicas %v; want the kustomization's count %d (at least 2)", s.Spec.Replicas, count)
	}
	checkShardWiring(t, r, s, c, count)
}

// checkShardWiring checks what makes the pods of a StatefulSet shards of
// count: each pod's index and the count reach the exporter's flags, a
// headless governing Service, pods started in parallel.
func checkShardWiring(t *testing.T, r rendered, s *appsv1.StatefulSet, c corev1.Container, count int64) {
	t.Helper()
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if got := env["SHARD_COUNT"].Value; got != strconv.FormatInt(count, 10) {
		t.Errorf("SHARD_COUNT = %q; want %d, the replica count", got, count)
	}
	if ref := env["SHARD_INDEX"].ValueFrom; ref == nil || ref.FieldRef == nil || ref.FieldRef.FieldPath != "metadata.labels['apps.kubernetes.io/pod-index']" {
		t.Errorf("SHARD_INDEX = %+v; want the pod's apps.kubernetes.io/pod-index label", env["SHARD_INDEX"])
	}
	for _, want := range []string{"--shard.index=$(SHARD_INDEX)", "--shard.count=$(SHARD_COUNT)"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %q lack %s", c.Args, want)
		}
	}
	svc := r.services[0]
	if s.Spec.ServiceName != svc.Name || svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("StatefulSet serviceName %q, Service %s clusterIP %q; want its headless governing Service", s.Spec.ServiceName, svc.Name, svc.Spec.ClusterIP)
	}
	if s.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy %q; want Parallel: shards do not wait for each other", s.Spec.PodManagementPolicy)
	}
}

// generatedHeader opens the generated PrometheusRule.
const generatedHeader = `# Code generated from examples/recording_rules.yml and examples/alerts.yml
# by ` + "`go test -run TestPrometheusRule -update`" + ` in deploy/. DO NOT EDIT.
#
# The rule groups of the examples, for prometheus-operator. Add the labels
# your Prometheus' ruleSelector asks for in kustomization.yaml.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: tencent-live-exporter
spec:
  groups:
`

// generateRule builds the PrometheusRule from the example rule files:
// their groups, comments included, under spec.groups.
func generateRule() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(generatedHeader)
	if err := writeRuleGroups(&b, "  "); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeRuleGroups writes the groups of the example rule files, comments
// included, as the items of a groups: key indented by indent.
func writeRuleGroups(b *bytes.Buffer, indent string) error {
	for i, src := range ruleSources {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		start := slices.Index(lines, "groups:")
		if start < 0 {
			return fmt.Errorf("%s: no top-level groups:", src)
		}
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "%s  # From examples/%s.\n", indent, path.Base(src))
		for _, line := range lines[start+1:] {
			switch {
			case strings.TrimSpace(line) == "":
				b.WriteString("\n")
			case line[0] != ' ' && line[0] != '#':
				return fmt.Errorf("%s: %q after groups:; groups must be the last key", src, line)
			default:
				b.WriteString(indent + line + "\n")
			}
		}
	}
	return nil
}

// ruleGroups is rule groups as plain data, to compare.
func ruleGroups(t *testing.T, name string, data []byte) any {
	t.Helper()
	var doc struct {
		Groups any `json:"groups"`
		Spec   struct {
			Groups any `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if doc.Groups != nil {
		return doc.Groups
	}
	return doc.Spec.Groups
}

// TestPrometheusRule: kubernetes/base/prometheusrule.yaml is what
// generateRule makes of the examples now (run with -update after editing
// them), and holds exactly their groups.
func TestPrometheusRule(t *testing.T) {
	want, err := generateRule()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(ruleFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := []byte(readFile(t, ruleFile))
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with examples/: run `go test -run TestPrometheusRule -update` in deploy/", ruleFile)
	}
	objs := decodeAll(t, ruleFile, got)
	if len(objs) != 1 {
		t.Fatalf("%s: %d objects", ruleFile, len(objs))
	}
	rule, ok := objs[0].(*monitoringv1.PrometheusRule)
	if !ok {
		t.Fatalf("%s: %T; want a PrometheusRule", ruleFile, objs[0])
	}
	var groups []any
	names := 0
	for _, src := range ruleSources {
		g, _ := ruleGroups(t, src, []byte(readFile(t, src))).([]any)
		groups = append(groups, g...)
	}
	for _, g := range rule.Spec.Groups {
		names += len(g.Rules)
	}
	if gotGroups := ruleGroups(t, ruleFile, got); !reflect.DeepEqual(gotGroups, any(groups)) {
		t.Errorf("%s groups differ from the examples'", ruleFile)
	}
	if len(rule.Spec.Groups) != len(groups) || names < 10 {
		t.Errorf("%s: %d groups, %d rules; want the examples' %d groups", ruleFile, len(rule.Spec.Groups), names, len(groups))
	}
}

// TestWebhookComponent: the receiver is off in the overlays; the webhook
// component adds it to the workload (flag and port), a Service of its own
// and an Ingress that routes the callback path alone to it.
func TestWebhookComponent(t *testing.T) {
	for _, overlay := range []string{"single", "shards"} {
		for _, a := range podArgs(render(t, overlay)) {
			if strings.HasPrefix(a, "--callback.") {
				t.Errorf("%s runs the receiver (%s); it is off by default", overlay, a)
			}
		}
	}
	r := renderObjects(t, "single-webhook")
	if len(r.deployments) != 1 || len(r.services) != 2 || len(r.ingresses) != 1 {
		t.Fatalf("single-webhook renders %d Deployments, %d Services, %d Ingresses; want 1, 2, 1", len(r.deployments), len(r.services), len(r.ingresses))
	}
	c := r.deployments[0].Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--callback.listen-address=:9865") || !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "callback" && p.ContainerPort == 9865 }) {
		t.Errorf("the workload lacks the receiver: args %v, ports %v", c.Args, c.Ports)
	}
	ing := r.ingresses[0]
	if len(ing.Spec.TLS) == 0 || len(ing.Spec.Rules) != 1 || len(ing.Spec.Rules[0].HTTP.Paths) != 1 {
		t.Fatalf("Ingress %+v; want TLS and one path", ing.Spec)
	}
	p := ing.Spec.Rules[0].HTTP.Paths[0]
	if p.Path != "/callback" || p.Backend.Service.Port.Name != "callback" {
		t.Errorf("Ingress routes %s to %+v; want /callback to the callback port only", p.Path, p.Backend.Service)
	}
	var svc *corev1.Service
	for _, s := range r.services {
		if s.Name == p.Backend.Service.Name {
			svc = s
		}
	}
	if svc == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 9865 {
		t.Errorf("the Ingress' Service %v must expose the callback port alone", svc)
	}
}

// podArgs are the exporter container's arguments of an overlay's workload.
func podArgs(r rendered) []string {
	var pod corev1.PodTemplateSpec
	if len(r.deployments) > 0 {
		pod = r.deployments[0].Spec.Template
	} else {
		pod = r.statefulSets[0].Spec.Template
	}
	return pod.Spec.Containers[0].Args
}
