package examples_test

// The end-to-end test of the examples against a real Prometheus: the
// Tencent API fake runs in-process with rooms in crafted states, the built
// exporter runs with a configuration derived from config.yml, and
// Prometheus runs with prometheus.yml and the rule files, sped up (1 s
// scrapes and evaluations, short for: and windows). Everything listens on
// 127.0.0.1 with random ports and is stopped when the test ends.

import (
	"bytes"
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

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
	"github.com/tencent-live-exporter/tencent_live_exporter/internal/childproc"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

const exporterConfigFile = "config.yml"

// Generous bounds for a loaded CI machine; the test polls, never sleeps
// for an outcome.
const (
	startTimeout = 30 * time.Second
	dataTimeout  = 45 * time.Second
	alertTimeout = 90 * time.Second
)

// TestExampleConfig checks that config.yml is a valid configuration (its
// secret file is not read) that the end-to-end test can derive from.
func TestExampleConfig(t *testing.T) {
	f, err := os.Open(exporterConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := collector.Decode(f)
	if err != nil {
		t.Fatalf("collector.Decode(%q) = %v; want a valid configuration", exporterConfigFile, err)
	}
	a := cfg.Apps[0]
	if a.Region == "" || a.SecretKeyFile == "" || len(a.Rooms) == 0 {
		t.Errorf("%s: first app has region %q, secret_key_file %q, %d rooms; want all set (the e2e test replaces them)",
			exporterConfigFile, a.Region, a.SecretKeyFile, len(a.Rooms))
	}
}

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
	name     string
	sdkAppID uint64
	key      string // the fake's key
	fileKey  string // the key written to secret_key_file (wrong for a misconfigured app)
	settings map[string]any
	rooms    []e2eRoom
	fake     *tencenttest.Server
}

type e2eRoom struct {
	id     string
	labels map[string]string
	room   *tencenttest.Room // nil: never set (100004)
}

// exporterConfig derives the exporter's configuration from config.yml: the
// first app there is the template of each test app, with the endpoint of
// the app's fake instead of a region, its key in a file, the app's
// settings and the test's rooms.
func exporterConfig(t *testing.T, dir string, apps []*e2eApp) string {
	t.Helper()
	b, err := os.ReadFile(exporterConfigFile)
	if err != nil {
		t.Fatal(err)
	}
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
	var out []any
	for _, a := range apps {
		keyFile := filepath.Join(dir, a.name+".key")
		if err := os.WriteFile(keyFile, []byte(a.fileKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		app := maps.Clone(example)
		for _, k := range []string{"region", "endpoint", "secret_key", "secret_key_file"} {
			delete(app, k)
		}
		app["name"], app["sdkappid"] = a.name, a.sdkAppID
		app["endpoint"], app["secret_key_file"] = a.fake.URL, keyFile
		maps.Copy(app, a.settings)
		var rooms []any
		for _, r := range a.rooms {
			room := map[string]any{"id": r.id}
			if len(r.labels) > 0 {
				room["labels"] = r.labels
			}
			rooms = append(rooms, room)
		}
		app["rooms"] = rooms
		out = append(out, app)
	}
	doc["apps"] = out
	b, err = yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tencent_live_exporter.yml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Shortened durations of the test's copies of the rule files. The rate
// windows must be short for the rates to reach their steady value within
// the test (rate divides by the whole window); the offset and the stale
// threshold so that those alerts can fire within seconds.
const (
	e2eRateWindow     = "[20s]"
	e2eCollapseOffset = "offset 10s"
	e2eStaleAfter     = "> 10"
)

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
			s = mustReplace(t, f, s, "offset 5m", e2eCollapseOffset)
			s = mustReplace(t, f, s, "> 180", e2eStaleAfter)
			lines := strings.Split(s, "\n")
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

func TestE2EPrometheus(t *testing.T) {
	prometheus := lookPathOrSkip(t, "prometheus", "prometheus")
	promtool := lookPathOrSkip(t, "promtool", "prometheus")
	exporterBin := buildExporter(t)
	dir := t.TempDir()

	room := func(n int) *tencenttest.Room { return &tencenttest.Room{MemberCount: n} }
	live := &e2eApp{
		name: "e2e-live", sdkAppID: 1400000601,
		settings: map[string]any{"max_qps": 20, "refresh_interval": "2s", "offline_backoff_max": "8s"},
		rooms: []e2eRoom{
			{"live-alice", map[string]string{"streamer": "alice", "tier": "gold"}, room(1200)},
			{"live-bob", map[string]string{"streamer": "bob"}, room(300)},
			{"live-carol", nil, room(45)},
			{"live-flaky", nil, room(77)},                            // fails once with 100001 first
			{"live-collapse", nil, room(1000)},                       // drops to 10: TencentLiveAudienceCollapse
			{"live-ending", nil, room(500)},                          // deleted: TencentLiveRoomGone
			{"live-stale", nil, room(80)},                            // then answers 502: TencentLiveRoomDataStale
			{"live-never", nil, nil},                                 // 100004 from the start: no alert
			{"live-chat", nil, &tencenttest.Room{ErrorCode: 100006}}, // not a live room
			{"live-proxy", nil, &tencenttest.Room{HTTPStatus: 502}},  // TencentLiveUpstreamErrorRateHigh
		},
	}
	// The key in its file is not the app's: every call fails with 70009.
	badKey := &e2eApp{
		name: "e2e-badkey", sdkAppID: 1400000602,
		settings: map[string]any{"refresh_interval": "2s"},
		rooms:    []e2eRoom{{"bad-1", nil, room(5)}},
	}
	// Six rooms due every second at max_qps 2: the limiter runs flat out.
	quota := &e2eApp{
		name: "e2e-quota", sdkAppID: 1400000603,
		settings: map[string]any{"max_qps": 2, "refresh_interval": "1s"},
	}
	for i := range 6 {
		quota.rooms = append(quota.rooms, e2eRoom{fmt.Sprintf("quota-%d", i), nil, room(100 + i)})
	}
	apps := []*e2eApp{live, badKey, quota}
	for _, a := range apps {
		a.key = childproc.SecretKey(t, "tle-e2e-secret-")
		a.fileKey = a.key
		a.fake = tencenttest.NewServer(tencenttest.Options{SDKAppID: a.sdkAppID, Identifier: "administrator", SecretKey: a.key, RateLimit: 200})
		t.Cleanup(a.fake.Close)
		for _, r := range a.rooms {
			if r.room != nil {
				a.fake.SetRoom(r.id, *r.room)
			}
		}
	}
	badKey.fileKey = childproc.SecretKey(t, "tle-e2e-secret-")
	live.fake.FailNext("live-flaky", 100001, 1)

	exporterConfigPath := exporterConfig(t, dir, apps)
	exporterAddr := childproc.FreeAddr(t)
	exporter := childproc.Start(t, dir, exporterBin,
		"--config.file="+exporterConfigPath, "--web.listen-address="+exporterAddr, "--log.level=debug")
	waitReady(t, exporter, "http://"+exporterAddr+"/-/ready")

	rules := fastRules(t, dir)
	promConfig := prometheusConfig(t, dir, exporterAddr, rules)
	if out := runTool(t, promtool, "check", "config", promConfig); !strings.Contains(out, "SUCCESS: 2 rule files found") {
		t.Fatalf("promtool check config on the derived configuration: want both rule files:\n%s", out)
	}
	promAddr := childproc.FreeAddr(t)
	prom := childproc.Start(t, dir, prometheus,
		"--config.file="+promConfig,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr,
	)
	api := promAPI{url: "http://" + promAddr}
	procs := []*childproc.Process{exporter, prom}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if _, body, err := api.alerts(); err == nil {
			t.Logf("/api/v1/alerts:\n%s", body)
		}
		if _, body, err := httpGet(api.url+"/api/v1/targets", nil); err == nil {
			t.Logf("/api/v1/targets:\n%s", body)
		}
		if b, err := os.ReadFile(exporterConfigPath); err == nil {
			t.Logf("exporter configuration:\n%s", b)
		}
	})
	waitReady(t, prom, api.url+"/-/ready")
	t.Logf("Prometheus ready at %s", promAddr)

	t.Run("target up", func(t *testing.T) {
		waitFor(t, startTimeout, `up{job="tencent_live"} == 1`, procs, func() string {
			res, err := api.query(`up{job="tencent_live"}`)
			if err != nil {
				return err.Error()
			}
			if len(res) != 1 || res[0].Value != 1 || res[0].Metric["instance"] != exporterAddr {
				return fmt.Sprintf("%+v", res)
			}
			return ""
		})
	})

	t.Run("room members match the fake", func(t *testing.T) {
		want := map[string]float64{}
		for _, a := range apps {
			for _, r := range a.rooms {
				if r.room != nil && r.room.ErrorCode == 0 && r.room.HTTPStatus == 0 && a != badKey {
					want[a.name+"/"+r.id] = float64(r.room.MemberCount)
				}
			}
		}
		waitFor(t, dataTimeout, "tencent_live_room_members to match the fake", procs, func() string {
			res, err := api.query(`tencent_live_room_members{job="tencent_live"}`)
			if err != nil {
				return err.Error()
			}
			got := map[string]float64{}
			for _, s := range res {
				got[s.Metric["app"]+"/"+s.Metric["room"]] = s.Value
			}
			if !maps.Equal(got, want) {
				return fmt.Sprintf("got %v, want %v", got, want)
			}
			return ""
		})
		// The room labels of config.yml's form reach Prometheus.
		res, err := api.query(`tencent_live_room_members{room="live-alice", streamer="alice", tier="gold"}`)
		if err != nil || len(res) != 1 {
			t.Errorf("live-alice with its labels: %v, %v", res, err)
		}
	})

	t.Run("series carry the command", func(t *testing.T) {
		// The ceilings and the error counter are per upstream command, as
		// the rules and the dashboard assume: a series without command
		// would silently drop out of their on (app, command) joins.
		res, err := api.query(`tencent_live_app_max_qps{command=""} or tencent_live_app_limiter_qps{command=""} or tencent_live_scrape_errors_total{command=""}`)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range res {
			t.Errorf("series without a command label: %v", s.Metric)
		}
		var allApps []string
		for _, a := range apps {
			allApps = append(allApps, a.name)
		}
		checks := []struct {
			promql string
			want   []string // apps that must have a sample
		}{
			{`count by (app) (tencent_live_app_max_qps{command="get_member_list"})`, allApps},
			{`count by (app) (tencent_live_app_limiter_qps{command="get_member_list"})`, allApps},
			{`count by (app) (tencent_live_api_request_duration_seconds_count{command="get_member_list"})`, allApps},
			{`count by (app) (tencent_live_scrape_errors_total{command="get_member_list", code="http_502"})`, []string{live.name}},
			{`count by (app) (tencent_live_scrape_errors_total{command="get_member_list", code="70009"})`, []string{badKey.name}},
		}
		for _, c := range checks {
			waitFor(t, dataTimeout, c.promql, procs, func() string {
				res, err := api.query(c.promql)
				if err != nil {
					return err.Error()
				}
				got := map[string]bool{}
				for _, s := range res {
					got[s.Metric["app"]] = true
				}
				var missing []string
				for _, app := range c.want {
					if !got[app] {
						missing = append(missing, app)
					}
				}
				if len(missing) > 0 {
					return fmt.Sprintf("no sample for %v in %+v", missing, res)
				}
				return ""
			})
		}
	})

	t.Run("promtool check metrics", func(t *testing.T) {
		status, body, err := httpGet("http://"+exporterAddr+"/metrics", http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"5"}})
		if err != nil || status != http.StatusOK {
			t.Fatalf("GET /metrics: status %d, %v", status, err)
		}
		cmd := exec.CommandContext(t.Context(), promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})

	t.Run("dashboard expressions return data", func(t *testing.T) {
		type expr struct{ where, promql string }
		var exprs []expr
		for _, dt := range dashboardTargets(t) {
			exprs = append(exprs, expr{dt.String(), substituteGrafanaVars(dt.Expr)})
		}
		for i, sel := range dashboardVariableSelectors(t) {
			exprs = append(exprs, expr{fmt.Sprintf("template variable %d", i), substituteGrafanaVars(sel)})
		}
		// Rates need two samples in their window: poll until every panel
		// has data, but a PromQL error is final.
		waitFor(t, dataTimeout, "every dashboard expression to return data", procs, func() string {
			var empty []string
			for _, e := range exprs {
				res, err := api.query(e.promql)
				if err != nil {
					t.Fatalf("%s: %v", e.where, err)
				}
				if len(res) == 0 {
					empty = append(empty, e.where+": "+e.promql)
				}
			}
			return strings.Join(empty, "\n")
		})
	})

	t.Run("rule expressions evaluate", func(t *testing.T) {
		// The expressions as users load them (5m windows: they may have no
		// data yet, but must parse and evaluate).
		for _, r := range loadRules(t) {
			if _, err := api.query(r.Expr); err != nil {
				t.Errorf("%s: %v", r, err)
			}
		}
		// The sped-up copies Prometheus runs: every rule healthy, and every
		// recorded series present.
		waitFor(t, dataTimeout, "every rule to be evaluated without error", procs, func() string {
			status, body, err := httpGet(api.url+"/api/v1/rules", nil)
			if err != nil || status != http.StatusOK {
				return fmt.Sprintf("/api/v1/rules: status %d, %v", status, err)
			}
			var r struct {
				Data struct {
					Groups []struct {
						Rules []struct {
							Name      string `json:"name"`
							Health    string `json:"health"`
							LastError string `json:"lastError"`
						} `json:"rules"`
					} `json:"groups"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				return err.Error()
			}
			var bad []string
			n := 0
			for _, g := range r.Data.Groups {
				for _, rule := range g.Rules {
					n++
					if rule.Health != "ok" {
						bad = append(bad, fmt.Sprintf("%s: health %q %s", rule.Name, rule.Health, rule.LastError))
					}
				}
			}
			if want := len(loadRules(t)); n != want {
				bad = append(bad, fmt.Sprintf("Prometheus loaded %d rules; want %d", n, want))
			}
			return strings.Join(bad, "\n")
		})
		names := slices.Sorted(maps.Keys(recordedNames(t)))
		waitFor(t, dataTimeout, "every recorded series", procs, func() string {
			var missing []string
			for _, name := range names {
				res, err := api.query(name)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if len(res) == 0 {
					missing = append(missing, name)
				}
			}
			return strings.Join(missing, ", ")
		})
	})

	t.Run("alerts", func(t *testing.T) {
		// live-collapse must have had its audience for the whole offset
		// before it collapses.
		waitFor(t, dataTimeout, "10 s of history for live-collapse", procs, func() string {
			res, err := api.query(`tencent_live_room_members{room="live-collapse"} ` + e2eCollapseOffset)
			if err != nil {
				return err.Error()
			}
			if len(res) != 1 || res[0].Value != 1000 {
				return fmt.Sprintf("%+v", res)
			}
			return ""
		})
		live.fake.SetRoom("live-collapse", tencenttest.Room{MemberCount: 10})
		live.fake.DeleteRoom("live-ending")
		live.fake.SetRoom("live-stale", tencenttest.Room{HTTPStatus: 502})

		// Each expected alert (as alertKey names it) and what its summary
		// must name.
		expected := map[string][]string{
			"TencentLiveAudienceCollapse app=e2e-live room=live-collapse":                         {"live-collapse"},
			"TencentLiveRoomGone app=e2e-live room=live-ending":                                   {"live-ending"},
			"TencentLiveRoomDataStale app=e2e-live room=live-stale":                               {"live-stale"},
			"TencentLiveAppAuthFailing app=e2e-badkey":                                            {"e2e-badkey"},
			"TencentLiveQuotaNearLimit app=e2e-quota command=get_member_list":                     {"e2e-quota", "get_member_list"},
			"TencentLiveUpstreamErrorRateHigh app=e2e-live command=get_member_list code=http_502": {"e2e-live", "get_member_list", "http_502"},
		}
		// Every call of e2e-badkey fails, which is also an error rate. Any
		// other alert firing (TencentLiveExporterDown,
		// TencentLiveConfigReloadFailed, one for a healthy room or for
		// live-never, which never existed) fails the test.
		allowed := func(labels map[string]string) bool {
			return labels["alertname"] == "TencentLiveUpstreamErrorRateHigh" && labels["app"] == "e2e-badkey"
		}
		seen := map[string]bool{}
		waitFor(t, alertTimeout, "the expected alerts to fire", procs, func() string {
			alerts, body, err := api.alerts()
			if err != nil {
				return err.Error()
			}
			for _, a := range alerts {
				if a.State != "firing" {
					continue
				}
				k := alertKey(a.Labels)
				needles, ok := expected[k]
				switch {
				case ok && !seen[k]:
					seen[k] = true
					s := a.Annotations["summary"]
					for _, needle := range needles {
						if !strings.Contains(s, needle) {
							t.Errorf("%s: summary %q does not name %q", k, s, needle)
						}
					}
					if strings.Contains(s, "<no value>") {
						t.Errorf("%s: summary %q has an empty template value", k, s)
					}
				case !ok && !allowed(a.Labels):
					t.Fatalf("unexpected alert firing: %s\n%s", k, body)
				}
			}
			var missing []string
			for k := range expected {
				if !seen[k] {
					missing = append(missing, k)
				}
			}
			slices.Sort(missing)
			return strings.Join(missing, "; ")
		})
		if alerts, _, err := api.alerts(); err == nil {
			var states []string
			for _, a := range alerts {
				states = append(states, alertKey(a.Labels)+": "+a.State)
			}
			slices.Sort(states)
			t.Logf("alerts once all expected ones fired:\n%s", strings.Join(states, "\n"))
		}
	})

	t.Run("no secret in the exporter's log", func(t *testing.T) {
		log := exporter.Out.String()
		for _, a := range apps {
			if strings.Contains(log, a.key) || strings.Contains(log, a.fileKey) {
				t.Errorf("the exporter's log contains the key of %s", a.name)
			}
		}
	})
}
