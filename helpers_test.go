package main

// What the tests of the real binary share. Each test builds it once
// (shared), starts the Tencent API fake in-process and the exporter as a
// child process on loopback with random ports, and talks to it over HTTP,
// the way Prometheus and users do. The tests are in files by feature:
// metrics_handler_test.go, reload_test.go, flags_test.go,
// config_file_test.go, server_test.go.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tencent-live-exporter/tencent_live_exporter/internal/childproc"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// testVersion is injected into the binary, so build_info can be checked.
const testVersion = "0.0.0-test"

// Generous bounds for a loaded CI machine; tests poll, never sleep.
const (
	startTimeout = 30 * time.Second
	waitTimeout  = 30 * time.Second
)

var (
	binDir    string // removed by TestMain
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tencent_live_exporter-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// exporterBinary builds the exporter once per test run, with testVersion.
func exporterBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, exporterName)
		cmd := exec.Command("go", "build", "-o", binPath,
			"-ldflags", "-X github.com/prometheus/common/version.Version="+testVersion, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

var httpClient = &http.Client{Timeout: 15 * time.Second}

// fetch sends a request and returns the status and body; transport errors
// are returned, not fatal.
func fetch(client *http.Client, method, url string, header http.Header, body io.Reader) (*http.Response, string, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, "", err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// httpDo is fetch with the shared plain-HTTP client, failing on transport errors.
func httpDo(t *testing.T, method, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	resp, body, err := fetch(httpClient, method, url, header, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp, body
}

// waitFor polls ok until it holds or timeout passes; the process dying
// ends the wait early.
func waitFor(t *testing.T, p *childproc.Process, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if p != nil && p.Exited() {
			t.Fatalf("%s exited (%v) while waiting for %s", p.Name, p.Err(), what)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exporter is a running exporter binary.
type exporter struct {
	*childproc.Process
	url string // http://127.0.0.1:port
}

// startExporter runs the binary with args plus a free listen address and
// debug logging, in a fresh working directory, and waits until it is ready.
func startExporter(t *testing.T, args ...string) *exporter {
	t.Helper()
	addr := childproc.FreeAddr(t)
	args = append([]string{"--web.listen-address=" + addr, "--log.level=debug"}, args...)
	e := &exporter{Process: childproc.Start(t, t.TempDir(), exporterBinary(t), args...), url: "http://" + addr}
	waitFor(t, e.Process, startTimeout, "/-/ready", func() bool {
		resp, _, err := fetch(httpClient, http.MethodGet, e.url+"/-/ready", nil, nil)
		return err == nil && resp.StatusCode == http.StatusOK
	})
	return e
}

// scrape gets /metrics as Prometheus does and parses it.
func (e *exporter) scrape(t *testing.T) (string, scrapeResult) {
	t.Helper()
	resp, body := httpDo(t, http.MethodGet, e.url+"/metrics", http.Header{scrapeTimeoutHeader: {"5"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d, body:\n%s", resp.StatusCode, body)
	}
	return body, parseMetrics(t, body)
}

// scrapeResult is a parsed exposition, by metric family name.
type scrapeResult map[string]*dto.MetricFamily

func parseMetrics(t *testing.T, body string) scrapeResult {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return mfs
}

// series is one series of a family: its labels and value (the sample count
// for histograms and summaries).
type series struct {
	labels map[string]string
	value  float64
}

func (s scrapeResult) series(name string) []series {
	mf := s[name]
	if mf == nil {
		return nil
	}
	var out []series
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		var v float64
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			v = m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			v = m.GetGauge().GetValue()
		case dto.MetricType_HISTOGRAM:
			v = float64(m.GetHistogram().GetSampleCount())
		case dto.MetricType_SUMMARY:
			v = float64(m.GetSummary().GetSampleCount())
		default:
			v = m.GetUntyped().GetValue()
		}
		out = append(out, series{labels: labels, value: v})
	}
	return out
}

// get returns the value of the series of name whose labels include the
// name/value pairs in match; ok is false when there is none. Several
// matches fail the test.
func (s scrapeResult) get(t *testing.T, name string, match ...string) (float64, bool) {
	t.Helper()
	var found []series
	for _, sr := range s.series(name) {
		if matches(sr.labels, match) {
			found = append(found, sr)
		}
	}
	switch len(found) {
	case 0:
		return 0, false
	case 1:
		return found[0].value, true
	}
	t.Fatalf("%s%v: %d series match, want at most one", name, match, len(found))
	return 0, false
}

func matches(labels map[string]string, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		if labels[pairs[i]] != pairs[i+1] {
			return false
		}
	}
	return true
}

const testIdentifier = "administrator"

// fakeApp is the Tencent API fake for one app, with its key.
type fakeApp struct {
	*tencenttest.Server
	sdkAppID uint64
	key      string
}

func newFakeApp(t *testing.T, sdkAppID uint64) *fakeApp {
	t.Helper()
	key := childproc.SecretKey(t, "tle-secret-")
	srv := tencenttest.NewServer(tencenttest.Options{
		SDKAppID: sdkAppID, Identifier: testIdentifier, SecretKey: key, RateLimit: 200,
	})
	t.Cleanup(srv.Close)
	return &fakeApp{Server: srv, sdkAppID: sdkAppID, key: key}
}

// appYAML is one app entry of a config pointing at f. secret is either
// "secret_key_file: path" or "secret_key: key"; rooms are YAML flow
// mappings or bare ids.
func appYAML(name string, f *fakeApp, secret, settings string, rooms ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    sdkappid: %d\n    endpoint: %s\n    identifier: %s\n    %s\n",
		name, f.sdkAppID, f.URL, testIdentifier, secret)
	for line := range strings.SplitSeq(strings.TrimSpace(settings), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			fmt.Fprintf(&b, "    %s\n", line)
		}
	}
	b.WriteString("    rooms:\n")
	for _, r := range rooms {
		if strings.HasPrefix(r, "{") {
			fmt.Fprintf(&b, "      - %s\n", r)
		} else {
			fmt.Fprintf(&b, "      - id: %s\n", r)
		}
	}
	return b.String()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// configDir writes f's key to secrets/app.key in a new directory and
// returns the directory and the path of config.yml in it (not yet written).
func configDir(t *testing.T, f *fakeApp) (dir, configPath string) {
	t.Helper()
	dir = t.TempDir()
	writeFile(t, filepath.Join(dir, "secrets", "app.key"), f.key+"\n")
	return dir, filepath.Join(dir, "config.yml")
}

// keyFileRel is the secret_key_file setting configDir prepares: relative,
// so it must resolve against the config file's directory (the exporter
// runs elsewhere).
const keyFileRel = "secret_key_file: secrets/app.key"

// assertNoSecret fails if any of the texts contains one of the secrets.
func assertNoSecret(t *testing.T, secrets []string, texts map[string]string) {
	t.Helper()
	for where, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s contains a secret", where)
			}
		}
	}
}

// promtoolOrSkip finds promtool: without it the test is skipped on a
// developer's machine but fails in CI, where .ci/run installs it.
func promtoolOrSkip(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "" {
		t.Skip("promtool not found in PATH (install the Debian package prometheus); skipping because CI is unset")
	}
	t.Fatal("promtool not found in PATH and CI is set: .ci/run must install the Debian package prometheus")
	return ""
}

// roomState is what one room's series must show.
type roomState struct {
	members float64 // -1: no series
	up      float64 // -1: no series (never answered)
	exists  float64 // -1: no series
}

// checkRooms compares the room families of app with want.
func checkRooms(t *testing.T, m scrapeResult, app string, want map[string]roomState) {
	t.Helper()
	for room, w := range want {
		check := func(name string, want float64) {
			t.Helper()
			got, ok := m.get(t, name, "app", app, "room", room)
			switch {
			case want < 0 && ok:
				t.Errorf("%s{app=%q,room=%q} = %g; want no series", name, app, room, got)
			case want >= 0 && !ok:
				t.Errorf("%s{app=%q,room=%q} missing; want %g", name, app, room, want)
			case want >= 0 && got != want:
				t.Errorf("%s{app=%q,room=%q} = %g; want %g", name, app, room, got, want)
			}
		}
		check("tencent_live_room_members", w.members)
		check("tencent_live_room_up", w.up)
		check("tencent_live_room_exists", w.exists)
		ts, ok := m.get(t, "tencent_live_room_last_success_timestamp_seconds", "app", app, "room", room)
		switch {
		case w.members >= 0 && !ok:
			t.Errorf("room %s: no last success timestamp after a member count", room)
		case w.members >= 0 && (ts < float64(time.Now().Add(-time.Hour).Unix()) || ts > float64(time.Now().Add(time.Minute).Unix())):
			t.Errorf("room %s: last success timestamp %g is not about now", room, ts)
		case w.members < 0 && ok:
			t.Errorf("room %s: last success timestamp %g but it never had a member count", room, ts)
		}
	}
}

// runToExit runs the binary with args and waits for it to exit on its own.
func runToExit(t *testing.T, args ...string) (string, error) {
	t.Helper()
	p := childproc.Start(t, t.TempDir(), exporterBinary(t), args...)
	select {
	case <-p.Done():
	case <-time.After(startTimeout):
		t.Fatalf("%s still running after %s; want it to exit", strings.Join(args, " "), startTimeout)
	}
	return p.Out.String(), p.Err()
}
