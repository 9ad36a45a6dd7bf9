package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
	"github.com/tencent-live-exporter/tencent_live_exporter/internal/childproc"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

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
		{"not YAML", "apps: [\n", "line 1: invalid YAML"},
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
			// The landing page says so, and why, until a good reload.
			_, page := httpDo(t, http.MethodGet, e.url+"/", nil)
			shown := html.UnescapeString(lineWith(page, `id="reload-failed"`) + lineWith(page, "reload-error"))
			if !strings.Contains(shown, "The last configuration reload failed") || !strings.Contains(shown, c.want) {
				t.Errorf("landing page after a failed reload: %q; want the failure and %q", shown, c.want)
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
		if _, page := httpDo(t, http.MethodGet, e.url+"/", nil); strings.Contains(page, "reload-failed") {
			t.Errorf("landing page still shows the failed reload after a good one:\n%s", lineWith(page, "reload-failed"))
		}
		if e.Exited() {
			t.Fatalf("exporter exited on SIGHUP: %v", e.Err())
		}
	})

	assertNoSecret(t, []string{f.key}, map[string]string{"log": e.Out.String()})
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
