package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector/internal/floor"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// cachedExporter returns an Exporter holding apps × roomsPerApp rooms that
// have all answered, without any upstream (nothing is refreshed). With
// all, every room also has room_info and room_stats data: 15 series a
// room instead of 4.
func cachedExporter(tb testing.TB, apps, roomsPerApp int, all ...bool) *Exporter {
	tb.Helper()
	full := len(all) > 0 && all[0]
	var b strings.Builder
	b.WriteString("apps:\n")
	for a := range apps {
		fmt.Fprintf(&b, "  - name: %s\n    sdkappid: %d\n    endpoint: http://127.0.0.1:1\n    identifier: admin\n    secret_key: k\n",
			floor.AppName(a), 1400000000+a)
		if full {
			b.WriteString("    room_info: {interval: 1h}\n    room_stats: {interval: 1h}\n")
		}
		b.WriteString("    rooms:\n")
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
			if full {
				rt.applyInfoLocked(r, &tencent.RoomInfo{RoomSummary: tencent.RoomSummary{RoomID: r.id, RoomName: "room " + r.id, Owner: "owner", Category: []int{i % 5}, CreateTime: 1700000000 + int64(i), ViewCount: int64(i)},
					RoomType: "Live", MaxMemberCount: 1000, MaxSeatCount: 8}, now)
				rt.applyStatsLocked(r, &tencent.RoomStats{TotalViewers: int64(i), TotalLikesReceived: int64(2 * i), TotalMsgCount: int64(3 * i), TotalGiftsSent: 4, TotalGiftCoins: 40, TotalUniqueGiftSenders: 2}, now)
			}
			rt.buildRoomMetricsLocked(r)
		}
		rt.mu.Unlock()
	}
	return e
}

// BenchmarkScrape10000Rooms serves /metrics for 5 apps × 2000 cached rooms
// from the exporter, as its handler does (the Go and process collectors
// and the View's own Gather), and from two floors built from the same
// exposition: const metrics through a registry ("floor"), and the parsed
// families served as they are ("static": encoding alone). With the member
// families only (40 000 room series) and with every room family
// (150 000). Compare the three side by side.
func BenchmarkScrape10000Rooms(b *testing.B) {
	for _, all := range []bool{false, true} {
		exporter, floorReg, static := scrapeTargets(b, all)
		families := "members"
		if all {
			families = "all"
		}
		for _, gzip := range []bool{false, true} {
			mode := "plain"
			if gzip {
				mode = "gzip"
			}
			b.Run(families+"/"+mode+"/exporter", func(b *testing.B) { benchmarkServe(b, exporter, gzip) })
			b.Run(families+"/"+mode+"/floor", func(b *testing.B) { benchmarkServe(b, floorReg, gzip) })
			b.Run(families+"/"+mode+"/static", func(b *testing.B) { benchmarkServe(b, static, gzip) })
		}
	}
}

// scrapeTargets returns what the scrape-cost comparisons serve: a cached
// exporter of 5 apps × 2000 rooms gathered as its handler does, and the
// two floors built from its exposition.
func scrapeTargets(tb testing.TB, all bool) (exporter, floorReg, static prometheus.TransactionalGatherer) {
	exporter = exporterGatherer(cachedExporter(tb, 5, 2000, all))
	var text bytes.Buffer
	if err := writeExposition(&text, exporter); err != nil {
		tb.Fatal(err)
	}
	reg, err := floor.FromExposition(bytes.NewReader(text.Bytes()))
	if err != nil {
		tb.Fatal(err)
	}
	g, err := floor.StaticFromExposition(bytes.NewReader(text.Bytes()))
	if err != nil {
		tb.Fatal(err)
	}
	return exporter, prometheus.ToTransactionalGatherer(reg), prometheus.ToTransactionalGatherer(g)
}

// exporterGatherer gathers as the exporter's /metrics handler does: the
// Go and process collectors, and the exporter's View.
func exporterGatherer(e *Exporter) prometheus.TransactionalGatherer {
	base := prometheus.NewRegistry()
	base.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return transactionalFunc(func() ([]*dto.MetricFamily, func(), error) {
		mfs, err := base.Gather()
		view, done, viewErr := e.view().Gather()
		mfs = append(mfs, view...)
		slices.SortFunc(mfs, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
		return mfs, done, errors.Join(err, viewErr)
	})
}

// transactionalFunc is a function that is a TransactionalGatherer.
type transactionalFunc func() ([]*dto.MetricFamily, func(), error)

func (f transactionalFunc) Gather() ([]*dto.MetricFamily, func(), error) { return f() }

// scrapeCostResult is the median time to serve /metrics in one mode.
type scrapeCostResult struct {
	mode                    string
	exporter, floor, static time.Duration
}

// scrapeCost serves /metrics in-process from a cached exporter of 10 000
// rooms and from the two floors built from its exposition, in turn, rounds
// times per mode, and returns the medians.
func scrapeCost(tb testing.TB, all bool, rounds int) []scrapeCostResult {
	exporter, floorReg, static := scrapeTargets(tb, all)
	var out []scrapeCostResult
	for _, gzip := range []bool{false, true} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		res := scrapeCostResult{mode: "plain"}
		if gzip {
			req.Header.Set("Accept-Encoding", "gzip")
			res.mode = "gzip"
		}
		handlers := []http.Handler{promhttp.HandlerForTransactional(exporter, promhttp.HandlerOpts{}),
			promhttp.HandlerForTransactional(floorReg, promhttp.HandlerOpts{}), promhttp.HandlerForTransactional(static, promhttp.HandlerOpts{})}
		took := make([][]time.Duration, len(handlers))
		for range rounds {
			for i, h := range handlers {
				rec := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(rec, req)
				took[i] = append(took[i], time.Since(start))
				if rec.Code != http.StatusOK {
					tb.Fatalf("status %d", rec.Code)
				}
			}
		}
		for i := range took {
			slices.Sort(took[i])
		}
		res.exporter, res.floor, res.static = took[0][rounds/2], took[1][rounds/2], took[2][rounds/2]
		out = append(out, res)
	}
	return out
}

func writeExposition(w io.Writer, g prometheus.TransactionalGatherer) error {
	mfs, done, err := g.Gather()
	defer done()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return nil
}

func benchmarkServe(b *testing.B, g prometheus.TransactionalGatherer, gzip bool) {
	handler := promhttp.HandlerForTransactional(g, promhttp.HandlerOpts{})
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

// BenchmarkGather10000Rooms measures the View's Gather alone, with every
// room family: what the exporter spends on a scrape before encoding (its
// arena reused, as from scrape to scrape).
func BenchmarkGather10000Rooms(b *testing.B) {
	e := cachedExporter(b, 5, 2000, true)
	b.ReportAllocs()
	for b.Loop() {
		_, done, err := e.view().Gather()
		if err != nil {
			b.Fatal(err)
		}
		done()
	}
}

// BenchmarkColdRefresh1000Rooms times a cold scrape of 1000 due rooms
// against the fake at 20 ms latency and max_qps 200, and reports the
// achieved calls per second.
func BenchmarkColdRefresh1000Rooms(b *testing.B) {
	srv := newFake(b, 200)
	srv.SetLatency(20 * time.Millisecond)
	ids := withRooms(srv, roomIDs("room", 1000), tencenttest.Room{MemberCount: 5})
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

// BenchmarkWebhookEvent is what one verified callback costs the exporter:
// finding its app (WebhookApp) and applying a member event (ApplyEvent),
// for the last of 200 apps with a webhook block.
func BenchmarkWebhookEvent(b *testing.B) {
	const apps = 200
	var y strings.Builder
	y.WriteString("apps:\n")
	for a := range apps {
		fmt.Fprintf(&y, "  - name: %s\n    sdkappid: %d\n    endpoint: http://127.0.0.1:1\n    identifier: admin\n    secret_key: k\n    webhook: {token: t}\n    rooms:\n      - id: r\n",
			floor.AppName(a), 1400000000+a)
	}
	cfg, err := Decode(strings.NewReader(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	last := uint64(1400000000 + apps - 1)
	ev := &tencent.Event{Command: tencent.CallbackMemberStateChanged, RoomID: "r", MemberEvent: "Online", MemberCause: "Enter", Members: 1}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := e.WebhookApp(last); !ok {
			b.Fatal("app not found")
		}
		if got := e.ApplyEvent(last, ev, now); got != EventOK {
			b.Fatalf("ApplyEvent = %q", got)
		}
	}
}
