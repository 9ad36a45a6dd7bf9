package examples_test

// The end-to-end test's harness: the exporter and Prometheus as child
// processes, their configurations, and Prometheus' HTTP API.

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tencent-live-exporter/tencent_live_exporter/internal/childproc"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

var httpClient = &http.Client{Timeout: 15 * time.Second}

// httpGet returns the status and body of a GET, or an error.
func httpGet(url string, header http.Header) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	maps.Copy(req.Header, header)
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitFor polls ok until it holds or timeout passes; one of procs dying
// ends the wait early. ok returns a description of what is still missing.
func waitFor(t *testing.T, timeout time.Duration, what string, procs []*childproc.Process, ok func() (missing string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		missing := ok()
		if missing == "" {
			return
		}
		for _, p := range procs {
			if p.Exited() {
				t.Fatalf("%s exited (%v) while waiting for %s", p.Name, p.Err(), what)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, missing)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitReady waits for GET url to answer 200.
func waitReady(t *testing.T, p *childproc.Process, url string) {
	t.Helper()
	waitFor(t, startTimeout, p.Name+" "+url, []*childproc.Process{p}, func() string {
		status, body, err := httpGet(url, nil)
		if err != nil || status != http.StatusOK {
			return fmt.Sprintf("status %d, err %v, body %q", status, err, childproc.Tail(body, 200))
		}
		return ""
	})
}

// buildExporter builds the exporter from the repository root.
func buildExporter(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tencent_live_exporter")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin,
		"-ldflags", "-X github.com/prometheus/common/version.Version=0.0.0-e2e", ".")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// e2eApp is one app of the scenario: its fake, its settings over those of
// config.yml, its rooms and what the fake serves for them.
type e2eApp struct {
	name      string
	sdkAppID  uint64
	key       string         // the fake's key
	fileKey   string         // the key written to secret_key_file (wrong for a misconfigured app)
	discovery bool           // derived from config.yml's first app with discovery instead of its first app
	settings  map[string]any // over the app of config.yml; nested mappings (discovery:) are merged
	rooms     []e2eRoom      // listed in the exporter's configuration
	listed    []e2eRoom      // only in the fake: found by discovery and watched
	unwatched []e2eRoom      // only in the fake: left out by discovery's filters or max_rooms
	fake      *tencenttest.Server
}

type e2eRoom struct {
	id     string
	labels map[string]string
	room   *tencenttest.Room // nil: never set (100004)
}

// exporterConfig derives the exporter's configuration from config.yml, its
// commented app uncommented: the first app there is the template of each
// test app, with the endpoint of
// the app's fake instead of a region, its key in a file, the app's
// settings and the test's rooms.
func exporterConfig(t *testing.T, dir string, apps []*e2eApp) string {
	t.Helper()
	b := exampleConfig(t)
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", exporterConfigFile, err)
	}
	examples, _ := doc["apps"].([]any)
	if len(examples) == 0 {
		t.Fatalf("%s: no apps", exporterConfigFile)
	}
	example, ok := examples[0].(map[string]any)
	if !ok {
		t.Fatalf("%s: apps[0] is not a mapping", exporterConfigFile)
	}
	var discoveryExample map[string]any
	for _, e := range examples {
		if m, ok := e.(map[string]any); ok && m["discovery"] != nil {
			discoveryExample = m
			break
		}
	}
	var out []any
	for _, a := range apps {
		template := example
		if a.discovery {
			if discoveryExample == nil {
				t.Fatalf("%s: no app with discovery", exporterConfigFile)
			}
			template = discoveryExample
		}
		keyFile := filepath.Join(dir, a.name+".key")
		if err := os.WriteFile(keyFile, []byte(a.fileKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		app := maps.Clone(template)
		for _, k := range []string{"region", "endpoint", "secret_key", "secret_key_file"} {
			delete(app, k)
		}
		app["name"], app["sdkappid"] = a.name, a.sdkAppID
		app["endpoint"], app["secret_key_file"] = a.fake.URL, keyFile
		mergeSettings(app, a.settings)
		var rooms []any
		for _, r := range a.rooms {
			room := map[string]any{"id": r.id}
			if len(r.labels) > 0 {
				room["labels"] = r.labels
			}
			rooms = append(rooms, room)
		}
		if len(rooms) > 0 {
			app["rooms"] = rooms
		} else {
			delete(app, "rooms") // optional with discovery
		}
		out = append(out, app)
	}
	doc["apps"] = out
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tencent_live_exporter.yml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mergeSettings copies src over dst, merging mappings present in both
// (so that discovery: {interval: 1s} keeps config.yml's filters) without
// modifying dst's nested mappings, which config.yml's apps share.
func mergeSettings(dst, src map[string]any) {
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			if base, ok := dst[k].(map[string]any); ok {
				merged := maps.Clone(base)
				mergeSettings(merged, sub)
				dst[k] = merged
				continue
			}
		}
		dst[k] = v
	}
}

// Shortened durations of the test's copies of the rule files. The rate
// windows must be short for the rates to reach their steady value within
// the test (rate divides by the whole window); the offsets, thresholds and
// windows of the alerts so that they can fire within seconds.
const (
	e2eRateWindow     = "[20s]"
	e2eCollapseOffset = "offset 10s"
	// A chat is flat when its counters did not move for e2eChatFlat, after
	// moving in the e2eChatBefore before. Stats are fetched every second:
	// 15 s of flat samples is a frozen room, not a slow fetch.
	e2eChatFlat   = "[15s]"
	e2eChatBefore = "[1m] offset 15s"
)

// e2eRewrites are the replacements in each alert's rule in the test's
// copy of alerts.yml: each must occur in that rule, and only that rule is
// changed.
var e2eRewrites = map[string][][2]string{
	"TencentLiveAudienceCollapse": {{"offset 5m", e2eCollapseOffset}},
	"TencentLiveRoomDataStale":    {{"> 180", "> 10"}},
	"TencentLiveDiscoveryFailing": {{"> 300", "> 10"}, {"offset 5m", "offset 10s"}},
	"TencentLiveRoomChatSilent":   {{"[10m]", e2eChatFlat}, {"[1h] offset 10m", e2eChatBefore}},
}

// e2eFor is the for: of each alert in the test's copy; alerts not listed
// get 0s. The exporter may miss one scrape deadline on a loaded machine,
// which must not count as being down.
var e2eFor = map[string]string{"TencentLiveExporterDown": "5s"}

// mustReplace replaces every old in s, failing if there is none: the test
// must notice when a rule it speeds up has changed.
func mustReplace(t *testing.T, file, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%s: %q not found; update the e2e test's rewrite", file, old)
	}
	return strings.ReplaceAll(s, old, new)
}

var (
	alertLineRe = regexp.MustCompile(`^\s*- alert:\s*(\S+)`)
	forLineRe   = regexp.MustCompile(`^(\s*)for:\s*\S+\s*$`)
)

// fastRules writes the test's copies of the rule files into dir.
func fastRules(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	for _, f := range ruleFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		switch f {
		case recordingRulesFile:
			s = mustReplace(t, f, s, "[5m]", e2eRateWindow)
		case alertingRulesFile:
			lines := strings.Split(s, "\n")
			// Each rule's lines run from its "- alert:" to the next one.
			var blocks [][]string
			var names []string
			for _, l := range lines {
				if m := alertLineRe.FindStringSubmatch(l); m != nil || len(blocks) == 0 {
					name := ""
					if m != nil {
						name = m[1]
					}
					blocks, names = append(blocks, nil), append(names, name)
				}
				blocks[len(blocks)-1] = append(blocks[len(blocks)-1], l)
			}
			done := map[string]bool{}
			for i, b := range blocks {
				rule := strings.Join(b, "\n")
				for _, r := range e2eRewrites[names[i]] {
					rule = mustReplace(t, f+" "+names[i], rule, r[0], r[1])
				}
				done[names[i]] = e2eRewrites[names[i]] != nil
				blocks[i] = strings.Split(rule, "\n")
			}
			for name := range e2eRewrites {
				if !done[name] {
					t.Fatalf("%s: no alert %s to rewrite; update the e2e test's rewrites", f, name)
				}
			}
			lines = slices.Concat(blocks...)
			alert, rewritten := "", 0
			for i, l := range lines {
				if m := alertLineRe.FindStringSubmatch(l); m != nil {
					alert = m[1]
				}
				if m := forLineRe.FindStringSubmatch(l); m != nil && alert != "" {
					d := e2eFor[alert]
					if d == "" {
						d = "0s"
					}
					lines[i] = m[1] + "for: " + d
					rewritten++
				}
			}
			if rewritten == 0 {
				t.Fatalf("%s: no for: rewritten", f)
			}
			s = strings.Join(lines, "\n")
		}
		path := filepath.Join(dir, f)
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}

// prometheusConfig derives Prometheus' configuration from prometheus.yml:
// 1 s scrapes and evaluations, the exporter's address as the only target
// and the fast rule files.
func prometheusConfig(t *testing.T, dir, target string, rules []string) string {
	t.Helper()
	b, err := os.ReadFile(prometheusConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", prometheusConfigFile, err)
	}
	global, _ := doc["global"].(map[string]any)
	if global == nil {
		t.Fatalf("%s: no global section", prometheusConfigFile)
	}
	global["scrape_interval"], global["scrape_timeout"], global["evaluation_interval"] = "1s", "1s", "1s"
	doc["rule_files"] = rules
	scrapes, _ := doc["scrape_configs"].([]any)
	found := false
	for _, sc := range scrapes {
		job, _ := sc.(map[string]any)
		if job == nil || job["job_name"] != "tencent_live" {
			continue
		}
		found = true
		job["scrape_interval"], job["scrape_timeout"] = "1s", "1s"
		job["static_configs"] = []any{map[string]any{"targets": []string{target}}}
	}
	if !found {
		t.Fatalf(`%s: no scrape config with job_name "tencent_live", which alerts.yml expects`, prometheusConfigFile)
	}
	b, err = yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// promAPI queries Prometheus' HTTP API.
type promAPI struct{ url string }

// promSample is one element of an instant query's result.
type promSample struct {
	Metric map[string]string
	Value  float64
}

// query evaluates expr now. The error covers transport, HTTP and PromQL
// (parse and evaluation) failures.
func (p promAPI) query(expr string) ([]promSample, error) {
	resp, err := httpClient.PostForm(p.url+"/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("query %q: status %d: %w", expr, resp.StatusCode, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s: %s", expr, r.ErrorType, r.Error)
	}
	parse := func(pair []any) (float64, error) {
		if len(pair) != 2 {
			return 0, fmt.Errorf("query %q: bad value %v", expr, pair)
		}
		s, ok := pair[1].(string)
		if !ok {
			return 0, fmt.Errorf("query %q: bad value %v", expr, pair)
		}
		return strconv.ParseFloat(s, 64)
	}
	switch r.Data.ResultType {
	case "vector":
		var vec []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &vec); err != nil {
			return nil, fmt.Errorf("query %q: %w", expr, err)
		}
		out := make([]promSample, 0, len(vec))
		for _, s := range vec {
			v, err := parse(s.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, promSample{Metric: s.Metric, Value: v})
		}
		return out, nil
	case "scalar":
		var pair []any
		if err := json.Unmarshal(r.Data.Result, &pair); err != nil {
			return nil, fmt.Errorf("query %q: %w", expr, err)
		}
		v, err := parse(pair)
		return []promSample{{Value: v}}, err
	}
	return nil, fmt.Errorf("query %q: unexpected result type %q", expr, r.Data.ResultType)
}

// promAlert is an element of /api/v1/alerts.
type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

func (p promAPI) alerts() ([]promAlert, string, error) {
	status, body, err := httpGet(p.url+"/api/v1/alerts", nil)
	if err != nil {
		return nil, body, err
	}
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Alerts []promAlert `json:"alerts"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || status != http.StatusOK || r.Status != "success" {
		return nil, body, fmt.Errorf("/api/v1/alerts: status %d: %w", status, err)
	}
	return r.Data.Alerts, body, nil
}

// alertKey names an alert instance by the labels that tell ours apart.
func alertKey(labels map[string]string) string {
	k := labels["alertname"]
	for _, l := range []string{"app", "command", "room", "code"} {
		if v, ok := labels[l]; ok {
			k += " " + l + "=" + v
		}
	}
	return k
}
