package main

// End-to-end tests of the real binary: each test builds it once (shared),
// starts the Tencent API fake in-process and the exporter as a child
// process on loopback with random ports, and talks to it over HTTP, the way
// Prometheus and users do.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/crypto/bcrypt"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
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
		case w.up == 1 && !ok:
			t.Errorf("room %s: no last success timestamp after a success", room)
		case w.up == 1 && (ts < float64(time.Now().Add(-time.Hour).Unix()) || ts > float64(time.Now().Add(time.Minute).Unix())):
			t.Errorf("room %s: last success timestamp %g is not about now", room, ts)
		case w.up == 0 && w.members < 0 && ok:
			t.Errorf("room %s: last success timestamp %g but it never succeeded", room, ts)
		}
	}
}

func TestBinaryMetrics(t *testing.T) {
	mainApp := newFakeApp(t, 1400000101)
	mainApp.SetRoom("room-a", tencenttest.Room{MemberCount: 1234})
	mainApp.SetRoom("room-b", tencenttest.Room{MemberCount: 56})
	mainApp.SetRoom("room-zero", tencenttest.Room{MemberCount: 0})
	mainApp.SetRoom("room-big", tencenttest.Room{MemberCount: 2500}) // more than one page: counted from the first
	mainApp.SetRoom("room-offline", tencenttest.Room{ErrorCode: 100006})
	mainApp.SetRoom("room-flaky", tencenttest.Room{MemberCount: 77})
	mainApp.FailNext("room-flaky", 100001, 1)
	mainApp.SetRoom("room-502", tencenttest.Room{HTTPStatus: 502})
	// room-gone is never set: 100004.
	inline := newFakeApp(t, 1400000102)
	inline.SetRoom("room-c", tencenttest.Room{MemberCount: 9})

	dir, configPath := configDir(t, mainApp)
	writeFile(t, configPath, "apps:\n"+
		appYAML("main", mainApp, keyFileRel, "max_qps: 50\nrefresh_interval: 4s",
			"{id: room-a, labels: {streamer: alice, tier: gold}}",
			"{id: room-b, labels: {streamer: bob}}",
			"room-zero", "room-big", "room-gone", "room-offline", "room-flaky", "room-502")+
		appYAML("inline", inline, "secret_key: "+inline.key, "", "room-c"))
	start := time.Now()
	e := startExporter(t, "--config.file="+configPath)

	body, m := e.scrape(t)

	t.Run("rooms", func(t *testing.T) {
		checkRooms(t, m, "main", map[string]roomState{
			"room-a":       {1234, 1, 1},
			"room-b":       {56, 1, 1},
			"room-zero":    {0, 1, 1},
			"room-big":     {2500, 1, 1},
			"room-gone":    {-1, 0, 0},
			"room-offline": {-1, 0, 1},
			"room-flaky":   {-1, 0, -1}, // failed once, never answered yet
			"room-502":     {-1, 0, -1},
		})
		checkRooms(t, m, "inline", map[string]roomState{"room-c": {9, 1, 1}})
		// Every room family has one label set: app, room and the union of
		// the room labels, empty where a room lacks one.
		for _, name := range []string{"tencent_live_room_members", "tencent_live_room_up", "tencent_live_room_exists", "tencent_live_room_last_success_timestamp_seconds"} {
			for _, s := range m.series(name) {
				got := slices.Sorted(maps.Keys(s.labels))
				if want := []string{"app", "room", "streamer", "tier"}; !slices.Equal(got, want) {
					t.Errorf("%s%v: label names %q; want %q", name, s.labels, got, want)
				}
			}
		}
		if v, _ := m.get(t, "tencent_live_room_members", "room", "room-a", "streamer", "alice", "tier", "gold"); v != 1234 {
			t.Errorf("room-a with its labels streamer=alice tier=gold: %g; want 1234", v)
		}
		if _, ok := m.get(t, "tencent_live_room_members", "room", "room-b", "streamer", "bob", "tier", ""); !ok {
			t.Errorf("room-b: want streamer=bob and an empty tier")
		}
	})

	t.Run("errors and app metrics", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			match []string
			min   float64
			max   float64
		}{
			{"tencent_live_scrape_errors_total", []string{"app", "main", "code", "100004"}, 1, 1},
			{"tencent_live_scrape_errors_total", []string{"app", "main", "code", "100006"}, 1, 1},
			{"tencent_live_scrape_errors_total", []string{"app", "main", "code", "100001"}, 1, 1},
			{"tencent_live_scrape_errors_total", []string{"app", "main", "code", "http_502"}, 1, 100},
			{"tencent_live_app_up", []string{"app", "main"}, 1, 1},
			{"tencent_live_app_up", []string{"app", "inline"}, 1, 1},
			{"tencent_live_app_max_qps", []string{"app", "main"}, 50, 50},
			{"tencent_live_app_limiter_qps", []string{"app", "main"}, 50, 50},
			{"tencent_live_app_rooms", []string{"app", "main"}, 8, 8},
			{"tencent_live_app_rooms", []string{"app", "inline"}, 1, 1},
			{"tencent_live_rooms_deferred_total", []string{"app", "main"}, 0, 0},
			{"tencent_live_api_request_duration_seconds", []string{"app", "main", "command", "get_member_list"}, 8, 100},
			{"tencent_live_api_request_duration_seconds", []string{"app", "inline", "command", "get_member_list"}, 1, 100},
			{"tencent_live_exporter_build_info", []string{"version", testVersion}, 1, 1},
			{"tencent_live_exporter_config_last_reload_successful", nil, 1, 1},
			{"tencent_live_exporter_config_last_reload_success_timestamp_seconds", nil, float64(start.Unix() - 1), float64(time.Now().Unix() + 1)},
			{scrapeDurationName, nil, 0, 4.5},
		} {
			got, ok := m.get(t, c.name, c.match...)
			if !ok || got < c.min || got > c.max {
				t.Errorf("%s%v = %g (present %v); want in [%g, %g]", c.name, c.match, got, ok, c.min, c.max)
			}
		}
		if codes := m.series("tencent_live_scrape_errors_total"); len(codes) != 4 {
			t.Errorf("tencent_live_scrape_errors_total has %d series; want the 4 codes of the main app: %v", len(codes), codes)
		}
		for _, name := range []string{"promhttp_metric_handler_requests_total", "promhttp_metric_handler_requests_in_flight", "go_goroutines", "go_info", "process_cpu_seconds_total", "process_start_time_seconds"} {
			if len(m.series(name)) == 0 {
				t.Errorf("%s missing", name)
			}
		}
		// The key read from the relative secret_key_file signed every call.
		if s := mainApp.Stats(); s.AuthFailures != 0 || s.CallsByRoom["room-a"] != 1 {
			t.Errorf("fake stats %+v; want no auth failures and one call for room-a", s)
		}
	})

	t.Run("promtool check metrics", func(t *testing.T) {
		promtool := promtoolOrSkip(t)
		cmd := exec.CommandContext(t.Context(), promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) != 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})

	t.Run("transient failure recovers", func(t *testing.T) {
		var last scrapeResult
		waitFor(t, e.Process, waitTimeout, "room-flaky to answer after its injected 100001", func() bool {
			_, last = e.scrape(t)
			up, _ := last.get(t, "tencent_live_room_up", "room", "room-flaky")
			return up == 1
		})
		checkRooms(t, last, "main", map[string]roomState{"room-flaky": {77, 1, 1}, "room-502": {-1, 0, -1}})
	})

	t.Run("scrape timeout header", func(t *testing.T) {
		for _, h := range []string{"abc", "0", "-1", "NaN", "Inf", "-Inf", "1e400"} {
			resp, body := httpDo(t, http.MethodGet, e.url+"/metrics", http.Header{scrapeTimeoutHeader: {h}})
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, scrapeTimeoutHeader) {
				t.Errorf("%s: %q: status %d, body %q; want 400 naming the header", scrapeTimeoutHeader, h, resp.StatusCode, body)
			}
		}
		// Without the header the default budget applies.
		if resp, _ := httpDo(t, http.MethodGet, e.url+"/metrics", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET /metrics without %s: status %d; want 200", scrapeTimeoutHeader, resp.StatusCode)
		}
	})

	pages := map[string]string{"/metrics": body} // what users and Prometheus see, checked for secrets
	t.Run("endpoints", func(t *testing.T) {
		for _, c := range []struct {
			path   string
			method string
			status int
			want   []string
		}{
			{"/", http.MethodGet, 200, []string{`href="/metrics"`, `href="/config"`, `href="/-/healthy"`, testVersion}},
			{"/-/healthy", http.MethodGet, 200, []string{"Healthy"}},
			{"/-/ready", http.MethodGet, 200, []string{"Ready"}},
			{"/config", http.MethodGet, 200, []string{
				"secret_key: <secret>",
				"secret_key_file: " + filepath.Join(dir, "secrets", "app.key"),
				"endpoint: " + mainApp.URL,
				"refresh_interval: 4s",
			}},
			{"/-/reload", http.MethodGet, 405, []string{"POST"}},
			{"/no-such-page", http.MethodGet, 404, nil},
		} {
			resp, got := httpDo(t, c.method, e.url+c.path, nil)
			pages[c.path] = got
			if resp.StatusCode != c.status {
				t.Errorf("%s %s: status %d; want %d\n%s", c.method, c.path, resp.StatusCode, c.status, got)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s %s: body does not contain %q:\n%s", c.method, c.path, w, got)
				}
			}
		}
	})

	t.Run("no secret anywhere", func(t *testing.T) {
		pages["log"] = e.Out.String()
		if !strings.Contains(pages["log"], `level=DEBUG`) {
			t.Errorf("the log has no debug lines; was --log.level=debug applied?")
		}
		assertNoSecret(t, []string{mainApp.key, inline.key}, pages)
	})
}

func TestBinaryReload(t *testing.T) {
	f := newFakeApp(t, 1400000201)
	for i, id := range []string{"keep-1", "keep-2", "drop-1", "new-1", "new-2"} {
		f.SetRoom(id, tencenttest.Room{MemberCount: 10 * (i + 1)})
	}
	_, configPath := configDir(t, f)
	config := func(settings string, rooms ...string) string {
		return "apps:\n" + appYAML("live", f, keyFileRel, settings, rooms...)
	}
	// A long refresh_interval: rooms kept across a reload keep their cached
	// value and are not asked again.
	const settings = "refresh_interval: 10m"
	writeFile(t, configPath, config(settings, "keep-1", "keep-2", "drop-1"))
	e := startExporter(t, "--config.file="+configPath)

	type want map[string]float64 // room → members; -1: no room series at all
	check := func(t *testing.T, m scrapeResult, w want) {
		t.Helper()
		for room, members := range w {
			got, ok := m.get(t, "tencent_live_room_members", "room", room)
			switch {
			case members < 0:
				for _, name := range []string{"tencent_live_room_members", "tencent_live_room_up", "tencent_live_room_exists", "tencent_live_room_last_success_timestamp_seconds"} {
					if v, ok := m.get(t, name, "room", room); ok {
						t.Errorf("%s{room=%q} = %g; want no series for a removed room", name, room, v)
					}
				}
			case !ok || got != members:
				t.Errorf("tencent_live_room_members{room=%q} = %g (present %v); want %g", room, got, ok, members)
			}
		}
	}
	reloadOK := func(t *testing.T, m scrapeResult) float64 {
		t.Helper()
		v, ok := m.get(t, "tencent_live_exporter_config_last_reload_successful")
		if !ok {
			t.Fatal("tencent_live_exporter_config_last_reload_successful missing")
		}
		return v
	}

	_, m := e.scrape(t)
	check(t, m, want{"keep-1": 10, "keep-2": 20, "drop-1": 30, "new-1": -1})

	t.Run("GET is not allowed", func(t *testing.T) {
		resp, _ := httpDo(t, http.MethodGet, e.url+"/-/reload", nil)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
			t.Errorf("GET /-/reload: status %d, Allow %q; want 405, POST", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})

	t.Run("cross-site POST is refused", func(t *testing.T) {
		resp, body := httpDo(t, http.MethodPost, e.url+"/-/reload", http.Header{"Origin": {"http://evil.example"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /-/reload with Origin http://evil.example: status %d, body %q; want 403", resp.StatusCode, body)
		}
	})

	t.Run("POST adds and removes rooms", func(t *testing.T) {
		f.SetRoom("keep-1", tencenttest.Room{MemberCount: 11}) // not asked again before refresh_interval
		writeFile(t, configPath, config(settings, "keep-1", "keep-2", "new-1"))
		resp, body := httpDo(t, http.MethodPost, e.url+"/-/reload", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /-/reload: status %d; want 200\n%s", resp.StatusCode, body)
		}
		_, m := e.scrape(t)
		check(t, m, want{"keep-1": 10, "keep-2": 20, "new-1": 40, "drop-1": -1})
		if got := f.Stats().CallsByRoom["keep-1"]; got != 1 {
			t.Errorf("keep-1 asked %d times upstream; want 1 (cached data kept across the reload)", got)
		}
		if v := reloadOK(t, m); v != 1 {
			t.Errorf("config_last_reload_successful = %g; want 1", v)
		}
	})

	resp, goodConfig := httpDo(t, http.MethodGet, e.url+"/config", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(goodConfig, "new-1") {
		t.Fatalf("GET /config: status %d\n%s", resp.StatusCode, goodConfig)
	}
	for _, c := range []struct {
		name, config, want string
	}{
		{"invalid value", config("max_qps: 500", "keep-1", "new-2"), "max_qps must be in (0, 200], got 500"},
		{"unknown key", config("refresh_intervall: 1m", "keep-1", "new-2"), `unknown key "refresh_intervall" in app`},
		{"not YAML", "apps: [\n", "yaml"},
	} {
		t.Run("POST rejects "+c.name, func(t *testing.T) {
			writeFile(t, configPath, c.config)
			resp, body := httpDo(t, http.MethodPost, e.url+"/-/reload", nil)
			if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, c.want) || !strings.Contains(body, configPath) {
				t.Errorf("POST /-/reload: status %d, body %q; want 500 naming %s and %q", resp.StatusCode, body, configPath, c.want)
			}
			if _, got := httpDo(t, http.MethodGet, e.url+"/config", nil); got != goodConfig {
				t.Errorf("/config changed after a failed reload:\n%s\nwant:\n%s", got, goodConfig)
			}
			_, m := e.scrape(t)
			check(t, m, want{"keep-1": 10, "keep-2": 20, "new-1": 40, "new-2": -1})
			if v := reloadOK(t, m); v != 0 {
				t.Errorf("config_last_reload_successful = %g after a failed reload; want 0", v)
			}
		})
	}

	t.Run("SIGHUP", func(t *testing.T) {
		writeFile(t, configPath, config(settings, "keep-1", "new-1", "new-2"))
		e.Signal(t, syscall.SIGHUP)
		waitFor(t, e.Process, waitTimeout, "the SIGHUP reload", func() bool {
			_, m := e.scrape(t)
			v, _ := m.get(t, "tencent_live_exporter_config_last_reload_successful")
			return v == 1
		})
		// The scrape that saw the success may have collected the rooms
		// before the apply; one that starts after it cannot.
		_, m := e.scrape(t)
		check(t, m, want{"keep-1": 10, "new-1": 40, "new-2": 50, "keep-2": -1, "drop-1": -1})
		if e.Exited() {
			t.Fatalf("exporter exited on SIGHUP: %v", e.Err())
		}
	})

	assertNoSecret(t, []string{f.key}, map[string]string{"log": e.Out.String()})
}

func TestBinaryConfigCheck(t *testing.T) {
	f := newFakeApp(t, 1400000301)
	dir, _ := configDir(t, f)
	for _, c := range []struct {
		name   string
		config string
		want   string // in the output; empty: must succeed
	}{
		{"good", appYAML("live", f, keyFileRel, "max_qps: 20", "room-1", "{id: room-2, labels: {streamer: bob}}"), "Config file is ok"},
		{"max_qps out of range", appYAML("live", f, keyFileRel, "max_qps: 500", "room-1"), "max_qps must be in (0, 200], got 500"},
		{"unknown key", appYAML("live", f, keyFileRel, "refresh_intervall: 1m", "room-1"), `unknown key "refresh_intervall" in app`},
		{"unknown region", strings.Replace(appYAML("live", f, keyFileRel, "", "room-1"), "endpoint: "+f.URL, "region: mars", 1), `unknown region "mars"`},
		{"both secrets", appYAML("live", f, keyFileRel+"\n    secret_key: "+f.key, "", "room-1"), "at most one of secret_key and secret_key_file may be set"},
		{"missing key file", appYAML("live", f, "secret_key_file: secrets/missing.key", "", "room-1"), "secret_key_file"},
		{"duplicate room", appYAML("live", f, keyFileRel, "", "room-1", "room-1"), `duplicate room id "room-1"`},
		{"reserved label", appYAML("live", f, keyFileRel, "", "{id: room-1, labels: {app: x}}"), `label name "app" is reserved`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".yml")
			writeFile(t, path, "apps:\n"+c.config)
			p := childproc.Start(t, t.TempDir(), exporterBinary(t), "--config.check", "--config.file="+path)
			select {
			case <-p.Done():
			case <-time.After(startTimeout):
				t.Fatalf("--config.check still running after %s", startTimeout)
			}
			out := p.Out.String()
			if good := c.name == "good"; good != (p.Err() == nil) {
				t.Errorf("--config.check: exit %v; want success %v\n%s", p.Err(), good, out)
			}
			// logfmt escapes the quotes of the error message.
			if !strings.Contains(out, c.want) && !strings.Contains(out, strings.ReplaceAll(c.want, `"`, `\"`)) {
				t.Errorf("--config.check output does not contain %q:\n%s", c.want, out)
			}
			assertNoSecret(t, []string{f.key}, map[string]string{"--config.check output": out})
		})
	}
}

func TestBinaryVersion(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), exporterBinary(t), "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "version "+testVersion) {
		t.Errorf("--version: %v\n%s\nwant it to print version %s", err, out, testVersion)
	}
}

// selfSignedCert writes a CA-capable certificate for 127.0.0.1 and its key
// into dir and returns a pool that trusts it.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tencent_live_exporter test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestBinaryTLSBasicAuth(t *testing.T) {
	f := newFakeApp(t, 1400000401)
	f.SetRoom("room-1", tencenttest.Room{MemberCount: 321})
	dir, configPath := configDir(t, f)
	writeFile(t, configPath, "apps:\n"+appYAML("live", f, keyFileRel, "", "room-1"))

	const user = "prometheus"
	password := childproc.SecretKey(t, "tle-secret-")
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, pool := selfSignedCert(t, dir)
	webConfig := filepath.Join(dir, "web-config.yml")
	writeFile(t, webConfig, fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: %s\n",
		certFile, keyFile, user, hash))

	addr := childproc.FreeAddr(t)
	p := childproc.Start(t, t.TempDir(), exporterBinary(t),
		"--web.listen-address="+addr, "--web.config.file="+webConfig, "--config.file="+configPath, "--log.level=debug")
	tlsClient := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	httpsURL := "https://" + addr
	get := func(client *http.Client, url, user, password string) (int, string, error) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return 0, "", err
		}
		req.Header.Set(scrapeTimeoutHeader, "5")
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	waitFor(t, p, startTimeout, "/-/ready over https", func() bool {
		status, _, err := get(tlsClient, httpsURL+"/-/ready", user, password)
		return err == nil && status == http.StatusOK
	})

	status, body, err := get(tlsClient, httpsURL+"/metrics", user, password)
	if err != nil || status != http.StatusOK {
		t.Fatalf("https with the right user: status %d, err %v", status, err)
	}
	if v, _ := parseMetrics(t, body).get(t, "tencent_live_room_members", "room", "room-1"); v != 321 {
		t.Errorf("tencent_live_room_members{room=room-1} = %g over https; want 321", v)
	}
	for _, c := range []struct{ name, user, password string }{
		{"wrong password", user, "not-" + password},
		{"wrong user", "grafana", password},
		{"no credentials", "", ""},
	} {
		if status, _, err := get(tlsClient, httpsURL+"/metrics", c.user, c.password); err != nil || status != http.StatusUnauthorized {
			t.Errorf("https, %s: status %d, err %v; want 401", c.name, status, err)
		}
	}
	if status, _, err := get(httpClient, "http://"+addr+"/metrics", user, password); err == nil && status == http.StatusOK {
		t.Errorf("plain http answered 200; want it refused")
	}
	var unknownAuthority x509.UnknownAuthorityError
	if _, _, err := get(&http.Client{Timeout: 15 * time.Second}, httpsURL+"/metrics", user, password); !errors.As(err, &unknownAuthority) {
		t.Errorf("https with a client that does not trust the certificate: err %v; want an unknown authority error", err)
	}
	assertNoSecret(t, []string{f.key, password}, map[string]string{"log": p.Out.String()})
}

func TestBinaryDemo(t *testing.T) {
	e := startExporter(t, "--demo")
	_, m := e.scrape(t)
	for _, room := range []string{"live-1001", "live-1002", "live-1003", "live-1004"} {
		if v, ok := m.get(t, "tencent_live_room_members", "app", "demo", "room", room); !ok || v <= 0 {
			t.Errorf("demo: tencent_live_room_members{app=demo,room=%s} = %g (present %v); want a positive count", room, v, ok)
		}
	}
	if v, ok := m.get(t, "tencent_live_room_exists", "app", "demo", "room", "live-gone"); !ok || v != 0 {
		t.Errorf("demo: tencent_live_room_exists{room=live-gone} = %g (present %v); want 0", v, ok)
	}
	if v, _ := m.get(t, "tencent_live_app_up", "app", "demo"); v != 1 {
		t.Errorf("demo: tencent_live_app_up = %g; want 1", v)
	}
}

func TestBinaryShutdown(t *testing.T) {
	f := newFakeApp(t, 1400000501)
	f.SetRoom("room-1", tencenttest.Room{MemberCount: 5})
	_, configPath := configDir(t, f)
	writeFile(t, configPath, "apps:\n"+appYAML("live", f, keyFileRel, "", "room-1"))
	e := startExporter(t, "--config.file="+configPath)
	e.scrape(t)

	e.Signal(t, syscall.SIGTERM)
	select {
	case <-e.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("exporter still running 15s after SIGTERM")
	}
	if e.Err() != nil {
		t.Errorf("exporter exit after SIGTERM: %v; want status 0", e.Err())
	}
	if !strings.Contains(e.Out.String(), "Shutting down") {
		t.Errorf("no \"Shutting down\" in the log:\n%s", e.Out.String())
	}
}

func TestBinaryScrapeBudget(t *testing.T) {
	f := newFakeApp(t, 1400000701)
	f.SetRoom("fast", tencenttest.Room{MemberCount: 3})
	f.SetRoom("slow", tencenttest.Room{MemberCount: 4, Latency: time.Minute})
	_, configPath := configDir(t, f)
	writeFile(t, configPath, "apps:\n"+appYAML("live", f, keyFileRel, "request_timeout: 2m", "fast", "slow"))
	e := startExporter(t, "--config.file="+configPath)

	// Prometheus' timeout of 2 s leaves 1.5 s to refresh (the default
	// --scrape.timeout-offset is 0.5 s): the answer comes in time, from
	// what is known, although a room is still being asked.
	start := time.Now()
	resp, body := httpDo(t, http.MethodGet, e.url+"/metrics", http.Header{scrapeTimeoutHeader: {"2"}})
	elapsed := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d\n%s", resp.StatusCode, body)
	}
	if elapsed >= 2*time.Second {
		t.Errorf("scrape with a 2 s timeout took %s; want it answered before Prometheus gives up", elapsed)
	}
	m := parseMetrics(t, body)
	if d, _ := m.get(t, scrapeDurationName); d < 1.4 || d >= 2 {
		t.Errorf("%s = %g; want about the 1.5 s budget", scrapeDurationName, d)
	}
	if n, _ := m.get(t, "tencent_live_rooms_deferred_total", "app", "live"); n != 1 {
		t.Errorf("tencent_live_rooms_deferred_total = %g; want 1 (the slow room)", n)
	}
	// The slow room has never answered: nothing is known of it yet.
	checkRooms(t, m, "live", map[string]roomState{"fast": {3, 1, 1}, "slow": {-1, -1, -1}})
}

// TestBinaryReloadFixesCredentials: an app failing auth backs off; once
// the operator fixes its key and reloads, the next scrape should use the
// new key.
func TestBinaryReloadFixesCredentials(t *testing.T) {
	f := newFakeApp(t, 1400000601)
	f.SetRoom("room-1", tencenttest.Room{MemberCount: 42})
	dir, configPath := configDir(t, f)
	keyFile := filepath.Join(dir, "secrets", "app.key")
	writeFile(t, keyFile, childproc.SecretKey(t, "tle-secret-")+"\n") // not the app's key
	writeFile(t, configPath, "apps:\n"+appYAML("live", f, keyFileRel, "", "room-1"))
	e := startExporter(t, "--config.file="+configPath)

	_, m := e.scrape(t)
	if up, _ := m.get(t, "tencent_live_app_up", "app", "live"); up != 0 {
		t.Fatalf("tencent_live_app_up = %g with a wrong key; want 0", up)
	}
	if n, _ := m.get(t, "tencent_live_scrape_errors_total", "app", "live", "code", "70009"); n < 1 {
		t.Errorf("tencent_live_scrape_errors_total{code=70009} = %g; want at least 1", n)
	}

	// The operator fixes the key and reloads: the next scrape uses it.
	writeFile(t, keyFile, f.key+"\n")
	if resp, body := httpDo(t, http.MethodPost, e.url+"/-/reload", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /-/reload: status %d\n%s", resp.StatusCode, body)
	}
	start := time.Now()
	_, m = e.scrape(t)
	up, _ := m.get(t, "tencent_live_app_up", "app", "live")
	members, ok := m.get(t, "tencent_live_room_members", "room", "room-1")
	if up != 1 || !ok || members != 42 {
		t.Errorf("first scrape %s after reloading with the right key: app_up %g, room-1 members %g (present %v); want 1 and 42",
			time.Since(start).Round(time.Millisecond), up, members, ok)
	}
}

// TestBinaryShutdownDuringSlowScrape: SIGTERM while a scrape waits on a
// slow upstream ends the wait at once; the exporter exits promptly.
func TestBinaryShutdownDuringSlowScrape(t *testing.T) {
	f := newFakeApp(t, 1400000801)
	f.SetRoom("slow", tencenttest.Room{MemberCount: 4, Latency: time.Minute})
	_, configPath := configDir(t, f)
	writeFile(t, configPath, "apps:\n"+appYAML("live", f, keyFileRel, "request_timeout: 2m", "slow"))
	e := startExporter(t, "--config.file="+configPath)

	scraped := make(chan error, 1)
	go func() {
		_, _, err := fetch(httpClient, http.MethodGet, e.url+"/metrics", http.Header{scrapeTimeoutHeader: {"60"}}, nil)
		scraped <- err
	}()
	waitFor(t, e.Process, 10*time.Second, "the slow room's request to reach the fake", func() bool {
		return f.Stats().CallsByRoom["slow"] == 1
	})
	start := time.Now()
	e.Signal(t, syscall.SIGTERM)
	select {
	case <-e.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("exporter still running 15s after SIGTERM")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("exit took %s after SIGTERM with a scrape waiting; want well under the 5 s shutdown timeout", took)
	}
	if e.Err() != nil {
		t.Errorf("exporter exit after SIGTERM: %v; want status 0", e.Err())
	}
	if strings.Contains(e.Out.String(), "Error shutting down") {
		t.Errorf("shutdown hit its timeout:\n%s", e.Out.String())
	}
	<-scraped // answered from cache or cut by the exit; either way it returned
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

// TestBinaryMissingConfig: a first run without a configuration file says
// how to give one, or to try --demo; a missing secret_key_file does not
// get that hint, since the configuration file itself was found.
func TestBinaryMissingConfig(t *testing.T) {
	hints := []string{"--config.file=PATH", "examples/config.yml", "--demo"}
	for _, args := range [][]string{nil, {"--config.check"}, {"--config.file=nowhere/config.yml"}} {
		out, err := runToExit(t, args...)
		if err == nil {
			t.Errorf("%q without a config file: exit 0; want an error", args)
		}
		for _, want := range hints {
			if !strings.Contains(out, want) {
				t.Errorf("%q without a config file: output lacks %q:\n%s", args, want, out)
			}
		}
	}
	f := newFakeApp(t, 1400000601)
	_, configPath := configDir(t, f)
	writeFile(t, configPath, "apps:\n"+appYAML("live", f, "secret_key_file: secrets/missing.key", "", "room-1"))
	out, err := runToExit(t, "--config.file="+configPath)
	if err == nil || !strings.Contains(out, "secret_key_file") || strings.Contains(out, "--demo") {
		t.Errorf("missing secret_key_file: exit %v; want an error naming secret_key_file without the first-run hint:\n%s", err, out)
	}
}

// TestBinaryDemoConfigFile: --config.check checks the file even with
// --demo, and --demo refuses a --config.file it would ignore.
func TestBinaryDemoConfigFile(t *testing.T) {
	f := newFakeApp(t, 1400000901)
	dir, good := configDir(t, f)
	writeFile(t, good, "apps:\n"+appYAML("live", f, keyFileRel, "", "room-1"))
	bad := filepath.Join(dir, "bad.yml")
	writeFile(t, bad, "apps:\n"+appYAML("live", f, keyFileRel, "max_qps: 500", "room-1"))
	missing := filepath.Join(dir, "nonexistent.yml")

	for _, c := range []struct {
		name string
		args []string
		ok   bool
		want string // in the output
	}{
		{"check missing file", []string{"--demo", "--config.check", "--config.file=" + missing}, false, missing},
		{"check bad file", []string{"--demo", "--config.check", "--config.file=" + bad}, false, "max_qps must be in (0, 200], got 500"},
		{"check good file", []string{"--demo", "--config.check", "--config.file=" + good}, true, "Config file is ok"},
		{"run with a file", []string{"--demo", "--config.file=" + good}, false, errDemoConfigFile.Error()},
		// Set by the user, although it is the default value.
		{"run with the default file", []string{"--demo", "--config.file=tencent_live_exporter.yml"}, false, errDemoConfigFile.Error()},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A free address: should the exporter wrongly start, it
			// must not take a real port.
			out, err := runToExit(t, append([]string{"--web.listen-address=" + childproc.FreeAddr(t)}, c.args...)...)
			if (err == nil) != c.ok {
				t.Errorf("%s: exit %v; want success %v\n%s", strings.Join(c.args, " "), err, c.ok, out)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("%s: output does not contain %q:\n%s", strings.Join(c.args, " "), c.want, out)
			}
			if !c.ok && strings.Contains(out, "Config file is ok") {
				t.Errorf("%s: output says the config is ok:\n%s", strings.Join(c.args, " "), out)
			}
			assertNoSecret(t, []string{f.key}, map[string]string{"output": out})
		})
	}
}

// TestBinaryIdleTimeout: the server closes a keep-alive connection that
// stays idle for --web.idle-timeout.
func TestBinaryIdleTimeout(t *testing.T) {
	const idle = time.Second
	e := startExporter(t, "--demo", "--web.idle-timeout="+idle.String())
	addr := strings.TrimPrefix(e.url, "http://")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	if _, err := fmt.Fprintf(conn, "GET /-/healthy HTTP/1.1\r\nHost: %s\r\n\r\n", addr); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("GET /-/healthy: status %d, close %v; want 200 on a connection kept alive", resp.StatusCode, resp.Close)
	}

	idleSince := time.Now()
	const wait = 10 * time.Second
	if err := conn.SetReadDeadline(idleSince.Add(wait)); err != nil {
		t.Fatal(err)
	}
	_, err = br.ReadByte()
	took := time.Since(idleSince)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("idle connection still open after %s; want it closed after --web.idle-timeout=%s", wait, idle)
	case !errors.Is(err, io.EOF):
		t.Fatalf("idle connection: read %v; want EOF", err)
	case took < idle/2 || took > idle+5*time.Second:
		t.Errorf("idle connection closed after %s; want about %s", took.Round(time.Millisecond), idle)
	}
}

// TestBinaryScrapeOverlappingReload: a reload while scrapes wait on
// upstream must not leave them waiting out their budget.
//
// Three scrapes of rooms that are all due take about baseline; the same
// three with a reload in the middle must not take much longer. Each
// exporter has its own fake and fresh rooms, so both cases do the same
// upstream work.
func TestBinaryScrapeOverlappingReload(t *testing.T) {
	const (
		latency    = 150 * time.Millisecond
		maxTimeout = 5 * time.Second
		budget     = maxTimeout - 500*time.Millisecond // default --scrape.timeout-offset
	)
	var rooms []string
	for i := range 8 {
		rooms = append(rooms, fmt.Sprintf("room-%d", i+1))
	}
	start := func(t *testing.T, sdkAppID uint64) (*fakeApp, *exporter) {
		t.Helper()
		f := newFakeApp(t, sdkAppID)
		for i, id := range rooms {
			f.SetRoom(id, tencenttest.Room{MemberCount: 100 + i})
		}
		f.SetLatency(latency)
		_, configPath := configDir(t, f)
		// Two requests at a time: a scrape of all rooms takes about
		// four latencies.
		writeFile(t, configPath, "apps:\n"+appYAML("live", f, keyFileRel, "max_concurrency: 2\nrefresh_interval: 10m", rooms...))
		return f, startExporter(t, "--config.file="+configPath, "--scrape.max-timeout="+maxTimeout.String(), "--web.max-requests=4")
	}
	type outcome struct {
		status int
		body   string
		took   time.Duration
		err    error
	}
	// scrapeAsync scrapes with a header far above --scrape.max-timeout.
	scrapeAsync := func(e *exporter, out chan<- outcome) {
		go func() {
			start := time.Now()
			resp, body, err := fetch(httpClient, http.MethodGet, e.url+"/metrics", http.Header{scrapeTimeoutHeader: {"86400"}}, nil)
			o := outcome{body: body, took: time.Since(start), err: err}
			if resp != nil {
				o.status = resp.StatusCode
			}
			out <- o
		}()
	}
	check := func(t *testing.T, what string, o outcome, limit time.Duration) {
		t.Helper()
		if o.err != nil || o.status != http.StatusOK {
			t.Errorf("%s: status %d, err %v; want 200\n%s", what, o.status, o.err, o.body)
			return
		}
		if o.took > limit {
			t.Errorf("%s took %s; want at most %s (refresh budget %s)", what, o.took.Round(time.Millisecond), limit, budget)
		}
		m := parseMetrics(t, o.body)
		for i, id := range rooms {
			if v, ok := m.get(t, "tencent_live_room_members", "room", id); !ok || v != float64(100+i) {
				t.Errorf("%s: tencent_live_room_members{room=%q} = %g (present %v); want %d", what, id, v, ok, 100+i)
			}
		}
	}

	// Without a reload.
	_, a := start(t, 1400001001)
	results := make(chan outcome, 3)
	for range 3 {
		scrapeAsync(a, results)
	}
	var baseline time.Duration
	for i := range 3 {
		o := <-results
		check(t, fmt.Sprintf("scrape %d without a reload", i+1), o, budget)
		baseline = max(baseline, o.took)
	}
	if t.Failed() {
		t.FailNow()
	}
	limit := 2*baseline + time.Second
	if limit > budget-time.Second {
		t.Fatalf("three scrapes without a reload took %s: too slow to tell a stuck scrape (budget %s) from a slow machine", baseline, budget)
	}
	limit = limit.Round(time.Millisecond)
	t.Logf("three scrapes without a reload took %s; with a reload each must take at most %s", baseline.Round(time.Millisecond), limit)

	// The same with a reload while they wait on upstream.
	f, b := start(t, 1400001002)
	for range 3 {
		scrapeAsync(b, results)
	}
	waitFor(t, b.Process, waitTimeout, "the scrapes to reach upstream", func() bool { return f.Stats().Calls > 0 })
	if resp, body := httpDo(t, http.MethodPost, b.url+"/-/reload", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /-/reload: status %d\n%s", resp.StatusCode, body)
	}
	fourth := make(chan outcome, 1)
	scrapeAsync(b, fourth)
	for i := range 3 {
		check(t, fmt.Sprintf("scrape %d overlapping the reload", i+1), <-results, limit)
	}
	check(t, "scrape after the reload", <-fourth, limit)
}

func TestScrapeBudget(t *testing.T) {
	const (
		offset   = 500 * time.Millisecond
		fallback = 9 * time.Second
		maxTO    = 2 * time.Minute
	)
	for _, c := range []struct {
		header  string // "": no header
		want    time.Duration
		wantErr bool
	}{
		{header: "", want: fallback},
		{header: "10", want: 9500 * time.Millisecond},
		{header: "0.2", want: 100 * time.Millisecond}, // offset larger than the timeout: half of it
		{header: "120", want: maxTO - offset},
		{header: "86400", want: maxTO - offset}, // clamped, not refused
		{header: "1e300", want: maxTO - offset},
		{header: "NaN", wantErr: true},
		{header: "nan", wantErr: true},
		{header: "+Inf", wantErr: true},
		{header: "Inf", wantErr: true},
		{header: "infinity", wantErr: true},
		{header: "-Inf", wantErr: true},
		{header: "-1", wantErr: true},
		{header: "0", wantErr: true},
		{header: "abc", wantErr: true},
		{header: "1e400", wantErr: true}, // overflows float64
	} {
		h := http.Header{}
		if c.header != "" {
			h.Set(scrapeTimeoutHeader, c.header)
		}
		got, err := scrapeBudget(h, offset, fallback, maxTO)
		switch {
		case c.wantErr && err == nil:
			t.Errorf("scrapeBudget(%q) = %s; want an error", c.header, got)
		case c.wantErr && !strings.Contains(err.Error(), scrapeTimeoutHeader):
			t.Errorf("scrapeBudget(%q) error %q does not name the header", c.header, err)
		case !c.wantErr && (err != nil || got != c.want):
			t.Errorf("scrapeBudget(%q) = %s, %v; want %s", c.header, got, err, c.want)
		}
	}
	// The fallback is capped too.
	if got, err := scrapeBudget(http.Header{}, offset, 5*time.Minute, maxTO); err != nil || got != maxTO {
		t.Errorf("scrapeBudget(no header, fallback 5m) = %s, %v; want %s", got, err, maxTO)
	}
}

func TestCheckFlags(t *testing.T) {
	valid := flagValues{metricsPath: "/metrics", maxTimeout: 2 * time.Minute, writeTimeout: 30 * time.Second}
	for _, c := range []struct {
		name string
		set  func(f *flagValues)
		want string // "": no error
	}{
		{"defaults", nil, ""},
		{"config file set", func(f *flagValues) { f.configFileSet = true }, ""},
		{"demo", func(f *flagValues) { f.demo = true }, ""},
		{"demo and config file", func(f *flagValues) { f.demo, f.configFileSet = true, true }, errDemoConfigFile.Error()},
		{"max timeout 0", func(f *flagValues) { f.maxTimeout = 0 }, "--scrape.max-timeout must be positive, got 0s"},
		{"write timeout 0", func(f *flagValues) { f.writeTimeout = 0 }, "--scrape.write-timeout must be positive, got 0s"},
		{"write timeout negative", func(f *flagValues) { f.writeTimeout = -time.Second }, "--scrape.write-timeout must be positive, got -1s"},
		{"path /probe/metrics", func(f *flagValues) { f.metricsPath = `/probe/metrics` }, ""},
		{"path /metrics/", func(f *flagValues) { f.metricsPath = `/metrics/` }, ""},
		{"path /-/", func(f *flagValues) { f.metricsPath = `/-/` }, ""},
		{"path /config/", func(f *flagValues) { f.metricsPath = `/config/` }, ""},
		{"path metrics", func(f *flagValues) { f.metricsPath = `metrics` }, `--web.telemetry-path="metrics": must start with "/"`},
		{"empty path", func(f *flagValues) { f.metricsPath = `` }, `--web.telemetry-path="": must start with "/"`},
		{"path /", func(f *flagValues) { f.metricsPath = `/` }, `--web.telemetry-path="/": the landing page is served there; choose another path`},
		{"path /config", func(f *flagValues) { f.metricsPath = `/config` }, `--web.telemetry-path="/config": the configuration page is served there; choose another path`},
		{"path /-/reload", func(f *flagValues) { f.metricsPath = `/-/reload` }, `--web.telemetry-path="/-/reload": the reload endpoint is served there; choose another path`},
		{"path /-/healthy", func(f *flagValues) { f.metricsPath = `/-/healthy` }, `--web.telemetry-path="/-/healthy": the health check is served there; choose another path`},
		{"path /-/ready", func(f *flagValues) { f.metricsPath = `/-/ready` }, `--web.telemetry-path="/-/ready": the readiness check is served there; choose another path`},
		{"path /%63onfig", func(f *flagValues) { f.metricsPath = `/%63onfig` }, `--web.telemetry-path="/%63onfig": must be a plain path: no spaces, %-escapes, {wildcards}, //, . or .. segments`},
		{"path /{name}", func(f *flagValues) { f.metricsPath = `/{name}` }, `--web.telemetry-path="/{name}": must be a plain path: no spaces, %-escapes, {wildcards}, //, . or .. segments`},
		{"path /metrics x", func(f *flagValues) { f.metricsPath = `/metrics x` }, `--web.telemetry-path="/metrics x": must be a plain path: no spaces, %-escapes, {wildcards}, //, . or .. segments`},
		{"path //metrics", func(f *flagValues) { f.metricsPath = `//metrics` }, `--web.telemetry-path="//metrics": must be a plain path: no spaces, %-escapes, {wildcards}, //, . or .. segments`},
		{"path /a/../metrics", func(f *flagValues) { f.metricsPath = `/a/../metrics` }, `--web.telemetry-path="/a/../metrics": must be a plain path: no spaces, %-escapes, {wildcards}, //, . or .. segments`},
		{"path /a/./metrics", func(f *flagValues) { f.metricsPath = `/a/./metrics` }, `--web.telemetry-path="/a/./metrics": must be a plain path: no spaces, %-escapes, {wildcards}, //, . or .. segments`},
	} {
		f := valid
		if c.set != nil {
			c.set(&f)
		}
		err := checkFlags(f)
		if got := fmt.Sprint(err); (err == nil) != (c.want == "") || (err != nil && got != c.want) {
			t.Errorf("%s: checkFlags(%+v) = %v; want %q", c.name, f, err, c.want)
		}
	}
}

// TestBinaryTelemetryPath: a --web.telemetry-path the mux cannot take is
// a startup error naming the flag and the value, not a panic; one it can
// take serves metrics there.
func TestBinaryTelemetryPath(t *testing.T) {
	for _, path := range []string{"metrics", "/config", "/"} {
		out, err := runToExit(t, "--demo", "--web.listen-address="+childproc.FreeAddr(t), "--web.telemetry-path="+path)
		if err == nil {
			t.Errorf("--web.telemetry-path=%s: exit 0; want an error", path)
		}
		// logfmt quotes the message and escapes its quotes.
		if want := `--web.telemetry-path=\"` + path + `\"`; !strings.Contains(out, want) || strings.Contains(out, "panic") {
			t.Errorf("--web.telemetry-path=%s: output lacks %s, or panics:\n%s", path, want, out)
		}
	}
	e := startExporter(t, "--demo", "--web.telemetry-path=/probe/metrics")
	if resp, body := httpDo(t, http.MethodGet, e.url+"/probe/metrics", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "tencent_live_room_members") {
		t.Errorf("GET /probe/metrics: status %d; want 200 with the metrics\n%s", resp.StatusCode, body)
	}
	if resp, body := httpDo(t, http.MethodGet, e.url+"/", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/probe/metrics"`) {
		t.Errorf("GET /: status %d; want the landing page linking /probe/metrics\n%s", resp.StatusCode, body)
	}
}

// countingLoader is a reloader's load function that counts its calls.
type countingLoader struct {
	mu    sync.Mutex
	calls int
}

func (l *countingLoader) load() (*collector.Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	return &collector.Config{}, nil
}

func (l *countingLoader) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

func newTestReloader(load func() (*collector.Config, error)) *reloader {
	return newReloader(load, func(*collector.Config) error { return nil }, newReloadStatus(), slog.New(slog.DiscardHandler))
}

func TestReloadHandlerCrossOrigin(t *testing.T) {
	for _, c := range []struct {
		name   string
		header http.Header
		status int
	}{
		{"curl", nil, http.StatusOK},
		{"same origin", http.Header{"Origin": {"http://127.0.0.1:9864"}}, http.StatusOK},
		{"same origin, host case", http.Header{"Origin": {"http://LOCALHOST:9864"}, "Host": {"localhost:9864"}}, http.StatusOK},
		{"other origin", http.Header{"Origin": {"http://evil.example"}}, http.StatusForbidden},
		{"other port", http.Header{"Origin": {"http://127.0.0.1:9865"}}, http.StatusForbidden},
		{"opaque origin", http.Header{"Origin": {"null"}}, http.StatusForbidden},
		{"one of two origins", http.Header{"Origin": {"http://127.0.0.1:9864", "http://evil.example"}}, http.StatusForbidden},
		{"fetch same-origin", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {"http://127.0.0.1:9864"}}, http.StatusOK},
		{"fetch none", http.Header{"Sec-Fetch-Site": {"none"}}, http.StatusOK},
		{"fetch cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"fetch same-site", http.Header{"Sec-Fetch-Site": {"same-site"}}, http.StatusForbidden},
		{"fetch same-origin, other origin", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {"http://evil.example"}}, http.StatusForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			loader := &countingLoader{}
			h := reloadHandler(newTestReloader(loader.load))
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "http://127.0.0.1:9864/-/reload", nil)
			for k, vs := range c.header {
				if k == "Host" {
					req.Host = vs[0]
					continue
				}
				req.Header[k] = vs
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.status {
				t.Errorf("POST /-/reload %v: status %d, body %q; want %d", c.header, rec.Code, rec.Body, c.status)
			}
			if want := map[bool]int{true: 1, false: 0}[c.status == http.StatusOK]; loader.count() != want {
				t.Errorf("POST /-/reload %v: %d loads; want %d", c.header, loader.count(), want)
			}
		})
	}
}

// TestReloaderCoalesces: requests that arrive while an apply runs share
// the next apply, never the running one.
func TestReloaderCoalesces(t *testing.T) {
	var (
		mu      sync.Mutex
		calls   int
		started = make(chan int)      // a load began; its number
		release = make(chan struct{}) // lets one load end
	)
	load := func() (*collector.Config, error) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		started <- n
		<-release
		return nil, fmt.Errorf("load %d", n) // tells which apply a request got
	}
	loads := func() int {
		mu.Lock()
		defer mu.Unlock()
		return calls
	}
	rl := newTestReloader(load)
	reloadAsync := func(out chan<- error) {
		go func() { out <- rl.reload(t.Context()) }()
	}
	waitWaiting := func(n int) {
		t.Helper()
		deadline := time.Now().Add(waitTimeout)
		for rl.waiting() != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d requests waiting for the next apply; want %d", rl.waiting(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	expect := func(what string, err error, want string) {
		t.Helper()
		if fmt.Sprint(err) != want {
			t.Errorf("%s: reload() = %v; want %q", what, err, want)
		}
	}

	first := make(chan error, 1)
	reloadAsync(first)
	if n := <-started; n != 1 {
		t.Fatalf("first load is number %d", n)
	}

	// 20 requests while load 1 runs: it read the file before they came.
	const n = 20
	during := make(chan error, n)
	for range n {
		reloadAsync(during)
	}
	waitWaiting(n)
	release <- struct{}{}
	expect("the first request", <-first, "load 1")
	if n := <-started; n != 2 {
		t.Fatalf("second load is number %d", n)
	}

	// One more while load 2 runs: it waits for load 3.
	late := make(chan error, 1)
	reloadAsync(late)
	waitWaiting(1)
	release <- struct{}{}
	for i := range n {
		expect(fmt.Sprintf("request %d during load 1", i+1), <-during, "load 2")
	}
	if got := <-started; got != 3 {
		t.Fatalf("third load is number %d", got)
	}
	release <- struct{}{}
	expect("the request during load 2", <-late, "load 3")
	if got := loads(); got != 3 {
		t.Errorf("%d loads for %d requests in three waves; want 3", got, n+2)
	}

	// Idle again: a new request starts a new apply at once.
	again := make(chan error, 1)
	reloadAsync(again)
	<-started
	release <- struct{}{}
	expect("a request when idle", <-again, "load 4")
}

// TestReloaderContext: a request whose context ends stops waiting; the
// apply still happens and later requests are served.
func TestReloaderContext(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	rl := newTestReloader(func() (*collector.Config, error) {
		calls.Add(1)
		<-release
		return &collector.Config{}, nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- rl.reload(ctx) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("reload() with its context cancelled = %v; want context.Canceled", err)
	}
	close(release)
	if err := rl.reload(t.Context()); err != nil {
		t.Errorf("reload() = %v; want nil", err)
	}
	if got := calls.Load(); got < 1 || got > 2 {
		t.Errorf("%d loads; want 1 or 2", got)
	}
}
