package collector

import (
	"bytes"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// compareGolden gathers the named metrics from e and compares them with
// testdata/exposition/<name>.prom.
func compareGolden(t *testing.T, e *Exporter, golden string, names ...string) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	path := filepath.Join("testdata", "exposition", golden+".prom")
	if *update {
		var buf bytes.Buffer
		got, err := testutil.CollectAndFormat(e, expfmt.TypeTextPlain, names...)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(got)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	if err := testutil.GatherAndCompare(reg, want, names...); err != nil {
		t.Error(err)
	}
}

func TestCollectExposition(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("alice-room", tencenttest.Room{MemberCount: 120})
	srv.SetRoom("gold-room", tencenttest.Room{MemberCount: 0})
	srv.SetRoom("notlive", tencenttest.Room{ErrorCode: 100006})
	srv.SetRoom("broken", tencenttest.Room{HTTPStatus: 502})
	e := newExporter(t, Options{}, appYAML("test", srv.URL, testKey, "max_qps: 50",
		"{id: alice-room, labels: {streamer: alice}}",
		"{id: gold-room, labels: {tier: gold}}",
		"gone", "notlive", "broken"))

	scrape(t, e, 5*time.Second)

	compareGolden(t, e, "collect",
		"tencent_live_room_members", "tencent_live_room_up", "tencent_live_room_exists",
		"tencent_live_scrape_errors_total", "tencent_live_app_up", "tencent_live_app_rooms",
		"tencent_live_app_max_qps", "tencent_live_app_limiter_qps", "tencent_live_rooms_deferred_total")

	// Timestamps differ per run: check presence and plausibility instead.
	for _, room := range []string{"alice-room", "gold-room"} {
		v := testutil.ToFloat64(metricByRoom(t, e, "tencent_live_room_last_success_timestamp_seconds", room))
		if age := time.Since(time.Unix(0, int64(v*1e9))); age < 0 || age > time.Minute {
			t.Errorf("room %s last success is %s old; want just now", room, age)
		}
	}
	if n := testutil.CollectAndCount(e, "tencent_live_room_last_success_timestamp_seconds"); n != 2 {
		t.Errorf("last success timestamps: %d series; want 2 (only rooms that answered)", n)
	}
	if n := testutil.CollectAndCount(e, "tencent_live_api_request_duration_seconds"); n != 1 {
		t.Errorf("latency histogram: %d series; want 1", n)
	}
}

// metricByRoom returns the collector of one room's series of a family.
func metricByRoom(t *testing.T, e *Exporter, name, room string) prometheus.Collector {
	t.Helper()
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		all := make(chan prometheus.Metric, 1024)
		go func() { e.Collect(all); close(all) }()
		for m := range all {
			d := m.Desc().String()
			if !strings.Contains(d, `fqName: "`+name+`"`) {
				continue
			}
			var pb = metricLabels(t, m)
			if pb["room"] == room {
				ch <- m
			}
		}
	})
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

func TestCollectLint(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("a", tencenttest.Room{MemberCount: 3})
	e := newExporter(t, Options{}, appYAML("lint", srv.URL, testKey, "", "{id: a, labels: {streamer: x}}", "b", "c"))
	scrape(t, e, 5*time.Second)
	problems, err := testutil.CollectAndLint(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestRoomGoneStopsShowingMembers(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("r", tencenttest.Room{MemberCount: 42})
	e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "refresh_interval: 50ms", "r"))
	scrape(t, e, 5*time.Second)
	if got := testutil.ToFloat64(metricByRoom(t, e, "tencent_live_room_members", "r")); got != 42 {
		t.Fatalf("members = %v; want 42", got)
	}
	srv.DeleteRoom("r")
	time.Sleep(60 * time.Millisecond)
	scrape(t, e, 5*time.Second)
	if n := testutil.CollectAndCount(metricByRoom(t, e, "tencent_live_room_members", "r")); n != 0 {
		t.Errorf("a dissolved room still shows %d member series; want none", n)
	}
	if got := testutil.ToFloat64(metricByRoom(t, e, "tencent_live_room_exists", "r")); got != 0 {
		t.Errorf("exists = %v; want 0", got)
	}
	// The query succeeded: its answer is that the room does not exist.
	if got := testutil.ToFloat64(metricByRoom(t, e, "tencent_live_room_up", "r")); got != 1 {
		t.Errorf("up = %v; want 1", got)
	}
}

func TestConcurrentScrapesShareFetches(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetLatency(20 * time.Millisecond)
	ids := roomIDs("room", 30)
	for i, id := range ids {
		srv.SetRoom(id, tencenttest.Room{MemberCount: i})
	}
	e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "max_qps: 200\nmax_concurrency: 8", ids...))

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { scrape(t, e, 10*time.Second) })
	}
	wg.Wait()
	stats := srv.Stats()
	for _, id := range ids {
		if got := stats.CallsByRoom[id]; got != 1 {
			t.Errorf("room %s fetched %d times by 10 concurrent scrapes; want 1", id, got)
		}
	}
	if stats.MaxInFlight > 8 {
		t.Errorf("max in flight = %d; want <= max_concurrency 8", stats.MaxInFlight)
	}
}

func TestScrapeBudget(t *testing.T) {
	srv := newFake(t, 0)
	ids := withRooms(srv, roomIDs("room", 5), tencenttest.Room{MemberCount: 7})
	e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "refresh_interval: 100ms\nrequest_timeout: 10s", ids...))
	scrape(t, e, 5*time.Second) // warm the cache

	srv.SetLatency(3 * time.Second)
	withRooms(srv, ids, tencenttest.Room{MemberCount: 99})
	time.Sleep(150 * time.Millisecond) // every room is due again
	took := scrape(t, e, 200*time.Millisecond)
	if took > 1500*time.Millisecond {
		t.Errorf("scrape with a 200ms budget against a 3s upstream took %s; want it back near its budget", took)
	}
	for _, id := range ids {
		if got := testutil.ToFloat64(metricByRoom(t, e, "tencent_live_room_members", id)); got != 7 {
			t.Errorf("room %s members = %v; want the cached 7", id, got)
		}
	}
	if got := testutil.ToFloat64(e.inst.deferred.WithLabelValues("app")); got != 5 {
		t.Errorf("deferred = %v; want 5 (every due room)", got)
	}
	scrape(t, e, 100*time.Millisecond) // a second scraper gives up on the same rooms
	if got := testutil.ToFloat64(e.inst.deferred.WithLabelValues("app")); got != 5 {
		t.Errorf("deferred after a second scrape = %v; want still 5 (a room counts once per due time)", got)
	}
}

func TestAuthFailureBacksOffAndSurfaces(t *testing.T) {
	srv := newFake(t, 0)
	ids := withRooms(srv, roomIDs("room", 20), tencenttest.Room{MemberCount: 1})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newExporter(t, Options{Logger: logger}, appYAML("app", srv.URL, "wrong-key-0000", "refresh_interval: 1s\nmax_concurrency: 4", ids...))
	for range 5 {
		scrape(t, e, 300*time.Millisecond)
	}
	stats := srv.Stats()
	if stats.AuthFailures == 0 {
		t.Fatalf("the fake saw no auth failures")
	}
	// One burst of at most max_concurrency requests, then back-off.
	if stats.Calls > 4 {
		t.Errorf("app with a wrong key made %d calls in 5 scrapes; want <= 4 (back off)", stats.Calls)
	}
	if got := testutil.ToFloat64(appGauge(e, appUpDesc, "app")); got != 0 {
		t.Errorf("app_up = %v; want 0", got)
	}
	if got := testutil.ToFloat64(e.inst.errors.WithLabelValues("app", tencent.CommandGetMemberList, "70009")); got < 1 {
		t.Errorf("errors{code=70009} = %v; want >= 1", got)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "70009") {
		t.Errorf("auth failure not logged loudly with its code:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "wrong-key-0000") || strings.Contains(logs.String(), "usersig=eJ") {
		t.Errorf("logs leak the key or a usersig:\n%s", logs.String())
	}
}

// appGauge collects one app-level gauge of e.
func appGauge(e *Exporter, desc *prometheus.Desc, app string) prometheus.Collector {
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		all := make(chan prometheus.Metric, 1024)
		go func() { e.Collect(all); close(all) }()
		for m := range all {
			if m.Desc() == desc {
				ch <- m
			}
		}
	})
}
