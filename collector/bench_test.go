package collector

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector/internal/floor"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// cachedExporter returns an Exporter holding apps × roomsPerApp rooms that
// have all answered, without any upstream (nothing is refreshed).
func cachedExporter(tb testing.TB, apps, roomsPerApp int) *Exporter {
	tb.Helper()
	var b strings.Builder
	b.WriteString("apps:\n")
	for a := range apps {
		fmt.Fprintf(&b, "  - name: %s\n    sdkappid: %d\n    endpoint: http://127.0.0.1:1\n    identifier: admin\n    secret_key: k\n    rooms:\n",
			floor.AppName(a), 1400000000+a)
		for r := range roomsPerApp {
			fmt.Fprintf(&b, "      - id: %s\n", floor.RoomID(r))
		}
	}
	cfg, err := Decode(strings.NewReader(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	e, err := New(cfg, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Close)
	now := time.Now()
	for _, rt := range e.order {
		rt.mu.Lock()
		for i, r := range rt.order {
			r.attempted, r.up, r.exists, r.hasCount, r.members, r.lastSuccess = true, true, existsYes, true, i, now
			rt.buildRoomMetricsLocked(r)
		}
		rt.mu.Unlock()
	}
	return e
}

func benchmarkServe(b *testing.B, reg *prometheus.Registry, gzip bool) {
	handler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkScrape10000Rooms serves /metrics for 5 apps × 2000 cached rooms
// (40 000 room series); BenchmarkFloor10000Rooms serves the same series
// the cheapest way client_golang can. Compare them side by side.
func BenchmarkScrape10000Rooms(b *testing.B) {
	e := cachedExporter(b, 5, 2000)
	reg := prometheus.NewRegistry()
	reg.MustRegister(e, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	b.Run("plain", func(b *testing.B) { benchmarkServe(b, reg, false) })
	b.Run("gzip", func(b *testing.B) { benchmarkServe(b, reg, true) })
}

func BenchmarkFloor10000Rooms(b *testing.B) {
	reg := floor.Registry(5, 2000)
	b.Run("plain", func(b *testing.B) { benchmarkServe(b, reg, false) })
	b.Run("gzip", func(b *testing.B) { benchmarkServe(b, reg, true) })
}

// BenchmarkCollect10000Rooms measures Collect alone: what the exporter adds
// on top of the registry.
func BenchmarkCollect10000Rooms(b *testing.B) {
	e := cachedExporter(b, 5, 2000)
	ch := make(chan prometheus.Metric, 1024)
	done := make(chan int)
	go func() {
		n := 0
		for range ch {
			n++
		}
		done <- n
	}()
	b.ReportAllocs()
	for b.Loop() {
		e.Collect(ch)
	}
	close(ch)
	<-done
}

// BenchmarkColdRefresh1000Rooms times a cold scrape of 1000 due rooms
// against the fake at 20 ms latency and max_qps 200, and reports the
// achieved calls per second.
func BenchmarkColdRefresh1000Rooms(b *testing.B) {
	srv := newFake(b, 200)
	srv.SetLatency(20 * time.Millisecond)
	ids := roomIDs("room", 1000)
	for _, id := range ids {
		srv.SetRoom(id, tencenttest.Room{MemberCount: 5})
	}
	cfg := mustDecode(b, appYAML("app", srv.URL, testKey, "max_qps: 200\nrefresh_interval: 1h", ids...))
	b.ReportAllocs()
	var calls int
	var elapsed time.Duration
	for b.Loop() {
		srv.ResetStats()
		e, err := New(cfg, Options{})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		start := time.Now()
		e.Refresh(ctx)
		elapsed += time.Since(start)
		cancel()
		e.Close()
		calls += srv.Stats().Calls
		if s := srv.Stats(); s.RateLimited != 0 {
			b.Errorf("%d calls answered 60007", s.RateLimited)
		}
	}
	b.ReportMetric(float64(calls)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(100*float64(calls)/elapsed.Seconds()/200, "%ofmax_qps")
}
