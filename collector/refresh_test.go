package collector

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// TestNeverOverTheLimit runs the exporter at max_qps 200 against a fake
// that rejects the 201st call in any sliding second.
func TestNeverOverTheLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("2.5 s of virtual time, 500 rooms: about 0.5 s of CPU")
	}
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 200)
		srv.SetLatency(5 * time.Millisecond)
		ids := withRooms(srv, roomIDs("room", 500), tencenttest.Room{MemberCount: 1})
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "max_qps: 200\nrefresh_interval: 1h", ids...))
		start := time.Now()
		for srv.Stats().Calls < len(ids) && time.Since(start) < 20*time.Second {
			scrape(t, e, time.Second)
		}
		stats := srv.Stats()
		if stats.RateLimited != 0 {
			t.Errorf("the fake answered 60007 %d times; want 0", stats.RateLimited)
		}
		if stats.MaxPerSecond > 200 {
			t.Errorf("max calls in a sliding second = %d; want <= 200", stats.MaxPerSecond)
		}
		if stats.Calls != len(ids) {
			t.Errorf("calls = %d; want one per room (%d)", stats.Calls, len(ids))
		}
		t.Logf("%d calls in %s, max %d in a second", stats.Calls, time.Since(start), stats.MaxPerSecond)
	})
}

func TestFrequencyLimitSlowsDownAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 20)
		ids := withRooms(srv, roomIDs("room", 100), tencenttest.Room{MemberCount: 1})
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "max_qps: 100\nrefresh_interval: 1h", ids...))
		g := e.gates[testSDKAppID].commands[tencent.CommandGetMemberList]
		scrape(t, e, 1500*time.Millisecond)

		if got := testutil.ToFloat64(e.inst.errors.WithLabelValues("app", tencent.CommandGetMemberList, "60007")); got < 1 {
			t.Fatalf("errors{code=60007} = %v; want some", got)
		}
		slowed := testutil.ToFloat64(appGauge(e, appLimiterQPSDesc, "app"))
		if slowed >= 100 {
			t.Fatalf("limiter_qps = %v after 60007 answers; want < max_qps 100", slowed)
		}
		// With the ceiling lowered, 60007s become rare: most calls succeed.
		before := srv.Stats()
		scrape(t, e, 1500*time.Millisecond)
		after := srv.Stats()
		if calls, limited := after.Calls-before.Calls, after.RateLimited-before.RateLimited; limited*2 > calls {
			t.Errorf("after slowing down, %d of %d calls were still rate limited", limited, calls)
		}

		srv.SetRateLimit(0)
		g.mu.Lock()
		g.recoverEvery = 10 * time.Millisecond
		g.mu.Unlock()
		eventually(t, 10*time.Second, "limiter_qps back at max_qps", func() bool {
			scrape(t, e, 50*time.Millisecond)
			return g.qps() == 100
		})
	})
}

func TestOfflineRoomsBackOff(t *testing.T) {
	if testing.Short() {
		t.Skip("3 s of virtual time: about 0.5 s of CPU")
	}
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		live, gone := roomIDs("live", 20), roomIDs("gone", 20)
		for _, id := range live {
			srv.SetRoom(id, tencenttest.Room{MemberCount: 5})
		}
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey,
			"max_qps: 200\nrefresh_interval: 100ms\noffline_backoff_max: 400ms", append(live, gone...)...))
		for start := time.Now(); time.Since(start) < 3*time.Second; {
			scrape(t, e, 50*time.Millisecond)
			time.Sleep(40 * time.Millisecond)
		}
		stats := srv.Stats()
		liveCalls, goneCalls := 0, 0
		for _, id := range live {
			liveCalls += stats.CallsByRoom[id]
		}
		for _, id := range gone {
			goneCalls += stats.CallsByRoom[id]
		}
		t.Logf("calls: live rooms %d, gone rooms %d (ratio %.2f)", liveCalls, goneCalls, float64(goneCalls)/float64(liveCalls))
		if liveCalls < 20*15 {
			t.Errorf("live rooms got %d calls in 3s at 100ms refresh; want >= 300", liveCalls)
		}
		if goneCalls*2 > liveCalls {
			t.Errorf("gone rooms got %d calls vs %d for live ones; want <= 0.5x", goneCalls, liveCalls)
		}

		// A room that comes back is live at its next retry, within the cap.
		srv.SetRoom(gone[0], tencenttest.Room{MemberCount: 31})
		eventually(t, 5*time.Second, "the returned room to show its members", func() bool {
			scrape(t, e, 100*time.Millisecond)
			return testutil.CollectAndCount(metricByRoom(t, e, "tencent_live_room_members", gone[0])) == 1
		})
		if got := testutil.ToFloat64(metricByRoom(t, e, "tencent_live_room_members", gone[0])); got != 31 {
			t.Errorf("returned room members = %v; want 31", got)
		}
	})
}

func TestNoCallsWithoutScrapesAndNothingLeftAfterClose(t *testing.T) {
	srv := newFake(t, 0)
	ids := withRooms(srv, roomIDs("room", 10), tencenttest.Room{MemberCount: 1, Latency: 10 * time.Millisecond})
	baseline := runtime.NumGoroutine()
	cfg := mustDecode(t, appYAML("app", srv.URL, testKey, "refresh_interval: 50ms", ids...))
	e, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if calls := srv.Stats().Calls; calls != 0 {
		t.Fatalf("%d upstream calls before any scrape; want 0", calls)
	}
	scrape(t, e, 2*time.Second)
	time.Sleep(300 * time.Millisecond) // well past 2 x refresh_interval
	idle := srv.Stats().Calls
	time.Sleep(300 * time.Millisecond)
	if calls := srv.Stats().Calls; calls != idle {
		t.Errorf("calls went from %d to %d while nobody scraped; want none", idle, calls)
	}
	if idle < 10 {
		t.Errorf("only %d calls after a scrape; want every room", idle)
	}
	e.Close()
	eventually(t, 5*time.Second, "goroutines back to the baseline", func() bool {
		return runtime.NumGoroutine() <= baseline
	})
}

func TestReloadKeepsDropsAndAdds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		for _, id := range []string{"keep", "drop", "add"} {
			srv.SetRoom(id, tencenttest.Room{MemberCount: 10})
		}
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "refresh_interval: 1h", "keep", "drop"),
			appYAMLWithID(1400000002, "old-app", srv.URL, testKey, "", "x"))
		scrape(t, e, 5*time.Second)
		srv.SetRoom("keep", tencenttest.Room{MemberCount: 11})

		if err := e.ApplyConfig(mustDecode(t, appYAML("app", srv.URL, testKey, "refresh_interval: 1h", "{id: keep, labels: {tier: vip}}", "add"))); err != nil {
			t.Fatal(err)
		}
		scrape(t, e, 5*time.Second)
		stats := srv.Stats()
		if stats.CallsByRoom["keep"] != 1 {
			t.Errorf("kept room fetched %d times; want 1 (its fresh cache survives the reload)", stats.CallsByRoom["keep"])
		}
		if stats.CallsByRoom["add"] != 1 {
			t.Errorf("added room fetched %d times; want 1", stats.CallsByRoom["add"])
		}
		compareGolden(t, e, "reload", "tencent_live_room_members", "tencent_live_scrape_errors_total", "tencent_live_app_rooms")
	})
}

func TestShardsCoverEveryRoomOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const shards, rooms = 3, 3000
		ids := roomIDs("room", rooms)
		perShard := make([]int, shards)
		for _, id := range ids {
			owners := 0
			for i := range shards {
				if InShard(testSDKAppID, id, i, shards) {
					owners++
					perShard[i]++
				}
			}
			if owners != 1 {
				t.Fatalf("room %s is in %d shards; want exactly 1", id, owners)
			}
		}
		for i, n := range perShard {
			if n < rooms/shards*8/10 {
				t.Errorf("shard %d holds %d of %d rooms; want a fair share", i, n, rooms)
			}
		}

		// Three shard exporters against one app: together they fetch every
		// room exactly once and stay under the app's max_qps.
		srv := newPipeFake(t, 30)
		withRooms(srv, ids[:150], tencenttest.Room{MemberCount: 1})
		total, qps := 0.0, 0.0
		var wg sync.WaitGroup
		for i := range shards {
			e := newExporter(t, Options{ShardCount: shards, ShardIndex: i}, appYAML("app", srv.URL, testKey, "max_qps: 30\nrefresh_interval: 1h", ids[:150]...))
			total += testutil.ToFloat64(appGauge(e, appRoomsDesc, "app"))
			qps += e.gates[testSDKAppID].commands[tencent.CommandGetMemberList].qps()
			wg.Go(func() { scrape(t, e, 30*time.Second) })
		}
		wg.Wait()
		if total != 150 {
			t.Errorf("shards watch %v rooms in all; want 150", total)
		}
		if qps != 30 {
			t.Errorf("shards' ceilings add up to %v; want max_qps 30", qps)
		}
		stats := srv.Stats()
		for _, id := range ids[:150] {
			if n := stats.CallsByRoom[id]; n != 1 {
				t.Errorf("room %s fetched %d times by the shards; want 1", id, n)
			}
		}
		if stats.RateLimited != 0 || stats.MaxPerSecond > 30 {
			t.Errorf("shards together: %d answers 60007, max %d calls in a second; want 0 and <= 30", stats.RateLimited, stats.MaxPerSecond)
		}
		if _, err := New(mustDecode(t, appYAML("app", srv.URL, testKey, "", "r")), Options{ShardCount: 2, ShardIndex: 2}); err == nil {
			t.Errorf("New with shard index 2 of 2 succeeded; want an error")
		}
	})
}

func TestSecretNeverInOutput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		srv.SetRoom("a", tencenttest.Room{MemberCount: 1})
		srv.SetRoom("b", tencenttest.Room{HTTPStatus: 502})
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "", "a", "b"),
			appYAMLWithID(1400000002, "bad", srv.URL, "another-s3cr3t-DO-NOT-LEAK", "", "c"))
		scrape(t, e, 5*time.Second)
		out, err := testutil.CollectAndFormat(e, expfmt.TypeTextPlain)
		if err != nil {
			t.Fatal(err)
		}
		for name, text := range map[string]string{"metrics": string(out), "config": e.Config().String()} {
			for _, secret := range []string{testKey, "another-s3cr3t-DO-NOT-LEAK", "usersig="} {
				if strings.Contains(text, secret) {
					t.Errorf("%s output contains %q", name, secret)
				}
			}
		}
		if !strings.Contains(e.Config().String(), "secret_key: <secret>") {
			t.Errorf("config output does not show the secret as <secret>:\n%s", e.Config().String())
		}
	})
}

// TestGateFallsBackAfterRateLimit proves the gate's safety net against a
// real API answer on a 250 ms round trip: one 60007 answer switches the
// gate to the completion rule, and the fake's own limit is never hit. In
// the suite it runs in virtual time. Under -load it runs in real time and
// measures what the fallback costs: the modelled rule lets about 95 % of
// max_qps through, the completion rule the whole round trip per window
// (about 80 %).
func TestGateFallsBackAfterRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 15 seconds with -load")
	}
	if loadFigures() {
		gateFallsBack(t, newFake(t, 200), 1600)
		return
	}
	synctest.Test(t, func(t *testing.T) {
		gateFallsBack(t, newPipeFake(t, 200), 400) // a scrape of about 2 s, the 60007s halfway and at the end
	})
}

func gateFallsBack(t *testing.T, srv *tencenttest.Server, rooms int) {
	t.Helper()
	srv.SetNetwork(250*time.Millisecond, 0.5, 0.2)
	ids := withRooms(srv, roomIDs("room", rooms), tencenttest.Room{MemberCount: 1})
	e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "max_qps: 200\nmax_concurrency: 100\nrefresh_interval: 1h", ids...))
	g := e.gates[testSDKAppID].commands[tencent.CommandGetMemberList]
	g.mu.Lock()
	g.recoverEvery = time.Millisecond // the halved rate recovers at once: only the fallback stays
	g.mu.Unlock()
	// calls/s over [from, from+d] while one long scrape runs.
	rate := func(from, d time.Duration, start time.Time) float64 {
		time.Sleep(time.Until(start.Add(from)))
		before := srv.Stats().Calls
		time.Sleep(d)
		return float64(srv.Stats().Calls-before) / d.Seconds()
	}
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		scrape(t, e, 30*time.Second)
	}()
	var modelled, fallback float64
	if loadFigures() {
		modelled = rate(time.Second, 3*time.Second, start)
	}
	srv.FailNext(ids[len(ids)-1], 60007, 1) // the last room draws a 60007 when its turn comes
	srv.FailNext(ids[len(ids)/2], 60007, 1)
	eventually(t, 10*time.Second, "the gate in its fallback", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return time.Now().Before(g.fallbackUntil)
	})
	if loadFigures() {
		fallback = rate(time.Since(start)+time.Second, 3*time.Second, start)
	}
	<-done
	if st := srv.Stats(); st.RateLimited != 0 {
		t.Errorf("%d answers 60007 from the fake's limit; want 0 (only the injected ones)", st.RateLimited)
	}
	if !loadFigures() {
		return
	}
	t.Logf("250 ms round trip: %.1f calls/s with the modelled rule, %.1f in the fallback", modelled, fallback)
	// The completion rule allows 200 / (1.005 s + 0.25 s) = 159/s; the
	// modelled one 200 / (1.005 s + 0.05 s) = 190/s.
	if fallback > 170 || modelled < fallback+10 {
		t.Errorf("calls/s: %.1f before the 60007, %.1f after; want the completion rule's ~159 after, clearly below", modelled, fallback)
	}
}
