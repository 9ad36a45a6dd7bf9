package main

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

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
			"room-gone":    {-1, 1, 0},  // queried: it does not exist
			"room-offline": {-1, 1, 1},  // queried: not a live room
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

// TestBinaryWriteDeadline: a client that asks for /metrics and never
// reads holds its request slot only until the write deadline (the refresh
// budget plus --scrape.write-timeout), not for the rest of the run.
//
// The answer is made far larger than the socket buffers between the two
// (long label values on a few hundred rooms), so the slow client's answer
// blocks in write; with --web.max-requests=1 every other scrape gets 503
// while it does.
func TestBinaryWriteDeadline(t *testing.T) {
	const (
		rooms        = 250
		writeTimeout = 3 * time.Second
		minBody      = 8 << 20 // well above what the kernel buffers on loopback (4 MiB send, 4 KiB receive here)
	)
	f := newFakeApp(t, 1400001101)
	var ids []string
	pad := strings.Repeat("x", 10000)
	for i := range rooms {
		id := fmt.Sprintf("room-%03d", i)
		f.SetRoom(id, tencenttest.Room{MemberCount: i})
		ids = append(ids, fmt.Sprintf("{id: %s, labels: {pad: %s-%s}}", id, id, pad))
	}
	_, configPath := configDir(t, f)
	writeFile(t, configPath, "apps:\n"+appYAML("live", f, keyFileRel, "max_qps: 200\nrefresh_interval: 10m", ids...))
	e := startExporter(t, "--config.file="+configPath, "--web.max-requests=1", "--scrape.write-timeout="+writeTimeout.String())

	// Every room answered once: from now on scrapes answer from cache.
	waitFor(t, e.Process, waitTimeout, "every room to answer", func() bool {
		_, m := e.scrape(t)
		return len(m.series("tencent_live_room_members")) == rooms
	})
	body, _ := e.scrape(t)
	if len(body) < minBody {
		t.Fatalf("/metrics is %d bytes; the test needs at least %d to fill the socket buffers", len(body), minBody)
	}

	// The slow client: a small receive buffer, and no read past the status.
	addr := strings.TrimPrefix(e.url, "http://")
	dialer := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	// slowRequest sends a scrape on a new connection and reads its status
	// line only: the status comes with the first 4 KiB of the answer, so
	// a 200 means the request holds the slot and writes its answer.
	slowRequest := func() (status string, sent time.Time) {
		conn, err := dialer.DialContext(t.Context(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		sent = time.Now()
		if _, err := fmt.Fprintf(conn, "GET /metrics HTTP/1.1\r\nHost: %s\r\n%s: 1\r\n\r\n", addr, scrapeTimeoutHeader); err != nil {
			t.Fatal(err)
		}
		if err := conn.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
			t.Fatal(err)
		}
		line := make([]byte, len("HTTP/1.1 200"))
		if _, err := io.ReadFull(conn, line); err != nil {
			t.Fatalf("slow client: read the status line: %v", err)
		}
		return string(line), sent
	}
	var sent time.Time
	waitFor(t, e.Process, waitTimeout, "the slow client to get the request slot", func() bool {
		var status string
		status, sent = slowRequest()
		return status == "HTTP/1.1 200" // else a scrape above still had the slot
	})

	// Once its deadline (0.5 s of budget + writeTimeout) has passed, the
	// slot is free again and scrapes succeed. The bound is generous: only
	// a slot held for good fails the test.
	waitFor(t, e.Process, writeTimeout+30*time.Second, "a scrape to succeed after the slow client's write deadline", func() bool {
		resp, _, err := fetch(httpClient, http.MethodGet, e.url+"/metrics", http.Header{scrapeTimeoutHeader: {"5"}}, nil)
		if err != nil {
			t.Fatalf("GET /metrics: %v", err)
		}
		return resp.StatusCode == http.StatusOK
	})
	if took := time.Since(sent); took < writeTimeout {
		t.Errorf("the slot was free again %s after the slow request; want no earlier than its deadline (--scrape.write-timeout=%s and more)", took.Round(time.Millisecond), writeTimeout)
	}
	_, m := e.scrape(t)
	if got := len(m.series("tencent_live_room_members")); got != rooms {
		t.Errorf("scrape after the slow client: %d rooms; want %d", got, rooms)
	}
	// One line for the cut answer, not one per metric family.
	if n := strings.Count(e.Out.String(), "error encoding and sending metric family"); n > 1 {
		t.Errorf("%d encoding errors logged for one slow client; want at most 1:\n%s", n, e.Out.String())
	}
}
