package main

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/internal/childproc"
)

func TestBinaryVersion(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), exporterBinary(t), "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "version "+testVersion) {
		t.Errorf("--version: %v\n%s\nwant it to print version %s", err, out, testVersion)
	}
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
	// Queried successfully: it does not exist. A healthy demo reads up.
	if v, ok := m.get(t, "tencent_live_room_up", "app", "demo", "room", "live-gone"); !ok || v != 1 {
		t.Errorf("demo: tencent_live_room_up{room=live-gone} = %g (present %v); want 1", v, ok)
	}
	if v, _ := m.get(t, "tencent_live_app_up", "app", "demo"); v != 1 {
		t.Errorf("demo: tencent_live_app_up = %g; want 1", v)
	}
	// Seats: the hosts on stage, wherever they sit (carol's on seat 2).
	waitFor(t, e.Process, waitTimeout, "the demo's stage", func() bool {
		_, m = e.scrape(t)
		for _, room := range []string{"live-1001", "live-1003", "live-1004"} {
			if v, ok := m.get(t, "tencent_live_room_owner_on_seat", "app", "demo", "room", room); !ok || v != 1 {
				return false
			}
		}
		v, ok := m.get(t, "tencent_live_room_seats", "app", "demo", "room", "live-1002")
		return ok && v == 4
	})
	// The demo's fake posts signed callbacks to the receiver it runs.
	waitFor(t, e.Process, waitTimeout, "the demo's webhook callbacks", func() bool {
		_, m = e.scrape(t)
		v, ok := m.get(t, "tencent_live_webhook_requests_total", "app", "demo", "command", "Live.CallbackAfterMemberStateChanged", "result", "ok")
		return ok && v > 0
	})
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
