package collector

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"text/tabwriter"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

var (
	loadReport = flag.Bool("load", false, "run the load harness (TestLoadReport) and print its table")
	loadFull   = flag.Bool("load.full", false, "with -load, also run the full-size ceiling (7600 rooms, 40s refresh; about 3 minutes)")
	loadScale  = flag.Int("load.scale", 10, "with -load, divide the rooms and intervals of the multi-command scenarios by this (1: full size)")
	loadChurn  = flag.Duration("load.churn", 3*time.Minute, "with -load, how long the churn scenario runs (3m at scale 10 is 30 scaled minutes)")
	loadOnly   = flag.String("load.only", "", "with -load, run only the scenarios whose name contains this")
)

// ceilingScenario describes a steady-state run at the upstream's ceiling.
type ceilingScenario struct {
	rooms          int
	refresh        time.Duration
	maxQPS         int
	scrapers       int           // Prometheus servers scraping the same exporter
	scrapeInterval time.Duration // each scraper's interval
	scrapeTimeout  time.Duration // its timeout; the budget is 0.5s less
	warmup, run    time.Duration // measured after warmup, for run
	gone           int           // extra rooms that answer 100004
	latency        time.Duration
	// virtual: the fake on pipes, for a caller inside a synctest bubble.
	virtual bool
}

// ceilingResult is what a ceiling run measured in steady state.
type ceilingResult struct {
	neverFetched   int           // rooms without any successful answer at the end
	maxAge         time.Duration // oldest room data seen at any scrape in the window
	callsPerRoom   float64       // live-room calls per room per refresh_interval in the window
	goneRatio      float64       // calls to gone rooms / calls to live rooms over the whole run
	rateLimited    int           // 60007 answers
	maxPerSecond   int           // most calls the fake saw in a sliding second
	scrapeP50      time.Duration // scrape (refresh wait) latency
	scrapeMax      time.Duration
	callsPerSecond float64
}

func runCeiling(tb testing.TB, sc ceilingScenario) ceilingResult {
	tb.Helper()
	var srv *tencenttest.Server
	if sc.virtual {
		srv = newPipeFake(tb, sc.maxQPS)
	} else {
		srv = newFake(tb, sc.maxQPS)
	}
	srv.SetLatency(sc.latency)
	live := roomIDs("live", sc.rooms)
	for _, id := range live {
		srv.SetRoom(id, tencenttest.Room{MemberCount: 10})
	}
	gone := roomIDs("gone", sc.gone)
	e := newExporter(tb, Options{}, appYAML("app", srv.URL, testKey,
		fmt.Sprintf("max_qps: %d\nrefresh_interval: %s\noffline_backoff_max: %s", sc.maxQPS, sc.refresh, 4*sc.refresh),
		append(live, gone...)...))
	a := e.order[0]

	var (
		mu        sync.Mutex
		maxAge    time.Duration
		durations []time.Duration
		wg        sync.WaitGroup
	)
	start := time.Now()
	measureFrom := start.Add(sc.warmup)
	end := measureFrom.Add(sc.run)
	var windowStart tencenttest.Stats
	var windowOnce sync.Once
	runScrapers(&wg, e, sc.scrapers, sc.scrapeInterval, sc.scrapeTimeout, end, func(t0 time.Time, took time.Duration) {
		if t0.Before(measureFrom) {
			return
		}
		windowOnce.Do(func() { windowStart = srv.Stats() })
		age := oldestLive(a, len(live), time.Now())
		mu.Lock()
		maxAge = max(maxAge, age)
		durations = append(durations, took)
		mu.Unlock()
	})
	wg.Wait()
	window := time.Since(measureFrom)
	stats := srv.Stats()

	var res ceilingResult
	a.mu.Lock()
	for _, r := range a.order[:len(live)] {
		if r.lastSuccess.IsZero() {
			res.neverFetched++
		}
	}
	a.mu.Unlock()
	liveWindow, liveAll, goneAll := 0, 0, 0
	for _, id := range live {
		liveWindow += stats.CallsByRoom[id] - windowStart.CallsByRoom[id]
		liveAll += stats.CallsByRoom[id]
	}
	for _, id := range gone {
		goneAll += stats.CallsByRoom[id]
	}
	res.maxAge = maxAge
	res.callsPerRoom = float64(liveWindow) / float64(sc.rooms) / (window.Seconds() / sc.refresh.Seconds())
	if liveAll > 0 {
		res.goneRatio = float64(goneAll) / float64(liveAll)
	}
	res.rateLimited = stats.RateLimited
	res.maxPerSecond = stats.MaxPerSecond
	res.callsPerSecond = float64(stats.Calls-windowStart.Calls) / window.Seconds()
	if n := len(durations); n > 0 {
		sortDurations(durations)
		res.scrapeP50, res.scrapeMax = durations[n/2], durations[n-1]
	}
	return res
}

// runScrapers starts n Prometheus-like scrapers of e, spread over the
// interval as Prometheus spreads targets, until end; each scrape's start
// and duration go to record. wg tracks them.
func runScrapers(wg *sync.WaitGroup, e *Exporter, n int, interval, timeout time.Duration, end time.Time, record func(t0 time.Time, took time.Duration)) {
	for s := range n {
		wg.Go(func() {
			time.Sleep(time.Duration(s) * interval / time.Duration(n))
			ticker := time.NewTicker(interval)
			defer ticker.Stop()
			for now := time.Now(); now.Before(end); now = <-ticker.C {
				ctx, cancel := context.WithTimeout(context.Background(), timeout-500*time.Millisecond)
				t0 := time.Now()
				e.Refresh(ctx)
				took := time.Since(t0)
				cancel()
				record(t0, took)
			}
		})
	}
}

// oldestLive is the age of the stalest data among the first n rooms
// (never-fetched rooms count as infinitely old).
func oldestLive(a *appRuntime, n int, now time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var oldest time.Duration
	for _, r := range a.order[:n] {
		if r.lastSuccess.IsZero() {
			return time.Duration(1<<63 - 1)
		}
		oldest = max(oldest, now.Sub(r.lastSuccess))
	}
	return oldest
}

func sortDurations(d []time.Duration) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j] < d[j-1]; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

// scaledCeiling is the 10x-scaled ceiling of issue #5: 760 rooms at a 4s
// refresh with max_qps 200 need 190 calls/s, 95% of the limit; two
// Prometheus servers scrape every 1.5s with a 1s timeout.
var scaledCeiling = ceilingScenario{
	rooms: 760, refresh: 4 * time.Second, maxQPS: 200,
	scrapers: 2, scrapeInterval: 1500 * time.Millisecond, scrapeTimeout: time.Second,
	warmup: 8 * time.Second, run: 12 * time.Second, latency: 5 * time.Millisecond,
}

// loadFigures reports whether a test checks its timing and throughput
// figures (data age, calls/s, scrape latency): only under -load, which
// `make load` runs on a machine with nothing else to do. Without it a test
// checks only what holds whatever the machine's speed (limits never
// exceeded), so the race-enabled suite cannot flake on a busy machine.
func loadFigures() bool { return *loadReport }

// runLoad runs a scenario: in real time under -load, where its figures
// count; else in virtual time (a synctest bubble, the fake on pipes),
// where only what holds whatever the machine's speed is checked.
func runLoad[S ceilingScenario | multiScenario, R any](t *testing.T, sc S, run func(testing.TB, S) R) R {
	t.Helper()
	if loadFigures() {
		return run(t, sc)
	}
	var res R
	synctest.Test(t, func(t *testing.T) {
		switch sc := any(&sc).(type) {
		case *ceilingScenario:
			sc.virtual = true
		case *multiScenario:
			sc.virtual = true
		}
		res = run(t, sc)
	})
	return res
}

// TestCeilingScaled is the CI version of the ceiling target. In the suite
// it runs in virtual time and checks the limits: never a 60007, never over
// 200 calls in a second. Under -load it runs in real time and also checks,
// with margins for a loaded machine, that every room was fetched, data no
// older than 1.5 x the 6s target, at most one call per room per refresh.
func TestCeilingScaled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 20 seconds of virtual time")
	}
	res := runLoad(t, scaledCeiling, runCeiling)
	t.Logf("scaled ceiling: %+v", res)
	if res.rateLimited != 0 || res.maxPerSecond > 200 {
		t.Errorf("limit: %d answers 60007, max %d calls in a second; want 0 and <= 200", res.rateLimited, res.maxPerSecond)
	}
	if !loadFigures() {
		return
	}
	if res.neverFetched != 0 {
		t.Errorf("%d of 760 rooms never fetched; want 0", res.neverFetched)
	}
	if res.maxAge > 9*time.Second {
		t.Errorf("oldest room data %s in steady state; want <= 6s (9s allowed in CI)", res.maxAge)
	}
	if res.callsPerRoom > 1.0 {
		t.Errorf("%.2f calls per room per refresh_interval with 2 scrapers; want <= 1.0", res.callsPerRoom)
	}
}

// TestLoadReport is the load harness: go test -run TestLoadReport -load -v ./collector/
// It prints each issue #5 figure measured in-process against the fake.
func TestLoadReport(t *testing.T) {
	if !*loadReport {
		t.Skip("load harness: run with -load (and -load.full for the full-size ceiling)")
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintln(w, "scenario\tfigure\tmeasured\ttarget")

	report := func(name string, sc ceilingScenario, ageTarget time.Duration) {
		if !strings.Contains(name, *loadOnly) {
			return
		}
		res := runCeiling(t, sc)
		fmt.Fprintf(w, "%s\trooms never fetched\t%d of %d\t0\n", name, res.neverFetched, sc.rooms)
		fmt.Fprintf(w, "%s\toldest data in steady state\t%.1fs\t<= %s\n", name, res.maxAge.Seconds(), ageTarget)
		fmt.Fprintf(w, "%s\tcalls/s (max_qps %d)\t%.1f\t\n", name, sc.maxQPS, res.callsPerSecond)
		fmt.Fprintf(w, "%s\tmax calls in any sliding second\t%d\t<= %d\n", name, res.maxPerSecond, sc.maxQPS)
		fmt.Fprintf(w, "%s\t60007 answers\t%d\t0\n", name, res.rateLimited)
		fmt.Fprintf(w, "%s\tcalls per room per refresh_interval (%d scrapers)\t%.3f\t<= 1.0\n", name, sc.scrapers, res.callsPerRoom)
		fmt.Fprintf(w, "%s\tscrape refresh wait p50 / max\t%s / %s\t< %s\n", name, res.scrapeP50.Round(time.Millisecond), res.scrapeMax.Round(time.Millisecond), sc.scrapeTimeout-500*time.Millisecond)
		w.Flush()
	}
	report("ceiling 10x-scaled (760 rooms, 4s)", scaledCeiling, 6*time.Second)
	if *loadFull {
		report("ceiling full (7600 rooms, 40s)", ceilingScenario{
			rooms: 7600, refresh: 40 * time.Second, maxQPS: 200,
			scrapers: 2, scrapeInterval: 15 * time.Second, scrapeTimeout: 10 * time.Second,
			warmup: 80 * time.Second, run: 90 * time.Second, latency: 20 * time.Millisecond,
		}, 60*time.Second)
	}

	for _, all := range []bool{false, true} {
		name := "scrape cost in-process, 10 000 rooms, member families (40 000 series)"
		if all {
			name = "scrape cost in-process, 10 000 rooms, all families (150 000 series)"
		}
		if !strings.Contains(name, *loadOnly) {
			continue
		}
		for _, c := range scrapeCost(t, all, 31) {
			fmt.Fprintf(w, "%s	/metrics %s median: exporter / floor / static	%s / %s / %s (%.2fx floor, %.2fx static)	<= 1.1x floor\n", name, c.mode,
				c.exporter.Round(10*time.Microsecond), c.floor.Round(10*time.Microsecond), c.static.Round(10*time.Microsecond),
				float64(c.exporter)/float64(c.floor), float64(c.exporter)/float64(c.static))
		}
		w.Flush()
	}

	if strings.Contains("offline back-off", *loadOnly) {
		off := runCeiling(t, ceilingScenario{
			rooms: 200, gone: 200, refresh: 4 * time.Second, maxQPS: 200,
			scrapers: 1, scrapeInterval: 1500 * time.Millisecond, scrapeTimeout: time.Second,
			warmup: time.Second, run: 60 * time.Second,
		})
		fmt.Fprintf(w, "offline back-off (200 live, 200 gone, 4s, cap 16s, 61s)\tcalls to gone / calls to live\t%.2f\t<= 0.5\n", off.goneRatio)
		w.Flush()
	}

	skip := func(name string) bool { return !strings.Contains(name, *loadOnly) }
	multi := func(name string, sc multiScenario, needs map[string]float64, intervals map[string]time.Duration) multiResult {
		if skip(name) {
			return multiResult{}
		}
		res := runMulti(t, sc)
		for _, c := range limitedCommands {
			need, ok := needs[c]
			if !ok {
				continue
			}
			fmt.Fprintf(w, "%s\t%s calls/s (%% of what its interval needs)\t%.1f (%.0f%% of %.1f)\t>= 95%%\n", name, c, res.callsPerSec[c], 100*res.callsPerSec[c]/need, need)
			if iv, ok := intervals[c]; ok {
				fmt.Fprintf(w, "%s\t%s longest gap per room / never fetched\t%.1fs / %d\t<= %.1fs / 0\n", name, c, res.maxGap[c].Seconds(), res.neverFetched[c], 1.1*iv.Seconds())
			}
		}
		fmt.Fprintf(w, "%s\t60007 by command / 60011\t%v / %d\tnone / 0\n", name, res.rateLimited, res.appLimited)
		fmt.Fprintf(w, "%s\tmost calls in a second by command / all\t%v / %d\t\n", name, res.maxPerSecond, res.maxAll)
		fmt.Fprintf(w, "%s\tslowest scrape\t%s\t< %s\n", name, res.scrapeMax.Round(time.Millisecond), sc.scrapeTimeout-500*time.Millisecond)
		w.Flush()
		return res
	}
	n := *loadScale
	d := time.Duration(n)
	scaleName := func(s string) string {
		if n == 1 {
			return s
		}
		return fmt.Sprintf("%s (1/%d)", s, n)
	}
	{
		name := scaleName("discovery ceiling, 8000 rooms")
		sc := discoveryCeiling(n)
		res := multi(name, sc, map[string]float64{
			tencent.CommandGetMemberList: float64(8000/n) / (40 * time.Second / d).Seconds(),
		}, map[string]time.Duration{tencent.CommandGetMemberList: 40 * time.Second / d})
		if !skip(name) {
			fmt.Fprintf(w, "%s\tfirst full sweep (%d pages at 10/s)\t%.1fs\t<= %.1fs\n", name, (8000/n+19)/20, res.firstSweep.Seconds(), 44.0/float64(n))
			w.Flush()
		}
	}
	{
		name := scaleName("churn, 4000 rooms, 10% replaced per minute")
		if !skip(name) {
			sc := churnScenario(n, *loadChurn)
			res := multi(name, sc, nil, map[string]time.Duration{tencent.CommandGetMemberList: 40 * time.Second / d})
			fmt.Fprintf(w, "%s\tnew room to data / ended room gone\t%.1fs / %.1fs\t<= %.0fs / %.0fs\n", name,
				res.newToData.Seconds(), res.endedToGone.Seconds(), (100 * time.Second / d).Seconds(), (120 * time.Second / d).Seconds())
			fmt.Fprintf(w, "%s\theap in use / goroutines, start -> end of %s\t%.1f -> %.1f MiB / %d -> %d\tno growth\n", name, *loadChurn,
				float64(res.heapStart)/(1<<20), float64(res.heapEnd)/(1<<20), res.goroutinesStart, res.goroutinesEnd)
			w.Flush()
		}
	}
	multi(scaleName("stats ceiling, 5700 rooms"), statsCeiling(n), map[string]float64{
		tencent.CommandGetMemberList: float64(5700/n) / (40 * time.Second / d).Seconds(),
		tencent.CommandGetRoomStats:  float64(5700/n) / (60 * time.Second / d).Seconds(),
	}, map[string]time.Duration{tencent.CommandGetMemberList: 40 * time.Second / d, tencent.CommandGetRoomStats: 60 * time.Second / d})
	multi(scaleName("every command at once, 7600 rooms, max_qps_total 300"), allCommandsCeiling(n), map[string]float64{
		tencent.CommandGetMemberList: float64(7600/n) / (40 * time.Second / d).Seconds(),
		tencent.CommandGetRoomStats:  float64(7600/n) / (120 * time.Second / d).Seconds(),
		tencent.CommandGetRoomInfo:   float64(7600/n) / (600 * time.Second / d).Seconds(),
		tencent.CommandGetRoomList:   float64((7600/n+19)/20) / (60 * time.Second / d).Seconds(),
	}, map[string]time.Duration{
		tencent.CommandGetMemberList: 40 * time.Second / d, tencent.CommandGetRoomStats: 120 * time.Second / d, tencent.CommandGetRoomInfo: 600 * time.Second / d,
	})

	multi(scaleName("every command at once with seats, 7600 rooms, max_qps_total 450"), allCommandsWithSeatsCeiling(n), map[string]float64{
		tencent.CommandGetMemberList: float64(7600/n) / (40 * time.Second / d).Seconds(),
		tencent.CommandGetRoomStats:  float64(7600/n) / (120 * time.Second / d).Seconds(),
		tencent.CommandGetRoomInfo:   float64(7600/n) / (600 * time.Second / d).Seconds(),
		tencent.CommandGetRoomList:   float64((7600/n+19)/20) / (60 * time.Second / d).Seconds(),
		tencent.CommandGetSeatList:   float64(7600/n) / (60 * time.Second / d).Seconds(),
	}, map[string]time.Duration{
		tencent.CommandGetMemberList: 40 * time.Second / d, tencent.CommandGetRoomStats: 120 * time.Second / d, tencent.CommandGetRoomInfo: 600 * time.Second / d,
		tencent.CommandGetSeatList: 60 * time.Second / d,
	})

	for _, rtt := range []time.Duration{20 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond} {
		if !strings.Contains("saturation", *loadOnly) {
			break
		}
		srv := newFake(t, 200)
		srv.SetNetwork(rtt, 0.5, 0.2) // arrives after half the round trip, ±20 %
		ids := withRooms(srv, roomIDs("room", 2000), tencenttest.Room{MemberCount: 5})
		settings := "max_qps: 200\nmax_concurrency: 100\nrefresh_interval: 1h"
		// First contact (one probe) happens before the measured scrape.
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, settings, "warm-up"))
		scrape(t, e, time.Minute)
		if err := e.ApplyConfig(mustDecode(t, appYAML("app", srv.URL, testKey, settings, ids...))); err != nil {
			t.Fatal(err)
		}
		before := srv.Stats()
		// The steady rate: calls between 1.5 s in and 1.5 s before the end.
		var mid1, mid2 tencenttest.Stats
		var t1, t2 time.Time
		go func() {
			time.Sleep(1500 * time.Millisecond)
			mid1, t1 = srv.Stats(), time.Now()
			time.Sleep(6 * time.Second)
			mid2, t2 = srv.Stats(), time.Now()
		}()
		took := scrape(t, e, time.Minute)
		st := srv.Stats()
		cold := float64(st.Calls-before.Calls) / took.Seconds()
		steady := float64(mid2.Calls-mid1.Calls) / t2.Sub(t1).Seconds()
		target := map[time.Duration]float64{20 * time.Millisecond: 195, 100 * time.Millisecond: 190, 250 * time.Millisecond: 185}[rtt]
		fmt.Fprintf(w, "saturation: 2000 due rooms, %s round trip\tcalls/s steady (%% of max_qps 200) / whole cold scrape / 60007 / most in a second\t%.1f (%.1f%%) / %.1f / %d / %d\t>= %.0f / / 0 / <= 200\n",
			rtt, steady, steady/2, cold, st.RateLimited, st.MaxPerSecond, target)
		w.Flush()
	}
}
