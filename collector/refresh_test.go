package collector

import (
	"fmt"
	"runtime"
	"strings"
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

// Shards own whole apps: each app belongs to exactly one shard, which
// polls all its rooms at the app's full max_qps; the others make no call
// for it and serve none of its series, only tencent_live_app_owned 0.
func TestShardsOwnWholeApps(t *testing.T) {
	const shards = 3
	srvs := make([]*tencenttest.Server, 4)
	var apps []string
	for a := range srvs {
		id := uint64(testSDKAppID + a)
		srvs[a] = tencenttest.NewServer(tencenttest.Options{SDKAppID: id, Identifier: testIdentifier, SecretKey: testKey, RateLimit: 30})
		t.Cleanup(srvs[a].Close)
		withRooms(srvs[a], roomIDs("room", 20), tencenttest.Room{MemberCount: 1})
		apps = append(apps, appYAMLWithID(id, fmt.Sprintf("app%d", a), srvs[a].URL, testKey, "max_qps: 30\nrefresh_interval: 1h", roomIDs("room", 20)...))
	}
	owners := make(map[string][]int)
	for i := range shards {
		e := newExporter(t, Options{ShardCount: shards, ShardIndex: i}, apps...)
		scrape(t, e, 30*time.Second)
		out := exposition(t, e, "tencent_live_app_owned", "tencent_live_app_max_qps")
		for a := range srvs {
			name := fmt.Sprintf("app%d", a)
			switch {
			case strings.Contains(out, `tencent_live_app_owned{app="`+name+`"} 1`):
				owners[name] = append(owners[name], i)
				if !strings.Contains(out, `tencent_live_app_max_qps{app="`+name+`",command="get_member_list"} 30`) {
					t.Errorf("shard %d owns %s but not at its full max_qps:\n%s", i, name, out)
				}
			case !strings.Contains(out, `tencent_live_app_owned{app="`+name+`"} 0`):
				t.Errorf("shard %d says nothing of %s:\n%s", i, name, out)
			}
		}
		for _, st := range e.Status() {
			if st.Owned != (st.Shard == i) {
				t.Errorf("shard %d: status of %s: owned %v, shard %d", i, st.Name, st.Owned, st.Shard)
			}
		}
	}
	for a, srv := range srvs {
		name := fmt.Sprintf("app%d", a)
		if len(owners[name]) != 1 || owners[name][0] != AppShard(uint64(testSDKAppID+a), shards) {
			t.Errorf("%s owned by shards %v; want exactly AppShard's", name, owners[name])
		}
		stats := srv.Stats()
		for _, id := range roomIDs("room", 20) {
			if n := stats.CallsByRoom[id]; n != 1 {
				t.Errorf("%s: room %s fetched %d times by the shards; want 1, by its owner", name, id, n)
			}
		}
	}
	// A pin overrides the hash, and must name a shard that exists.
	pinned := appYAMLWithID(testSDKAppID, "app0", srvs[0].URL, testKey, "shard: 2", "room-0")
	if e := newExporter(t, Options{ShardCount: shards, ShardIndex: 2}, pinned); len(e.order) != 1 {
		t.Error("shard 2 does not own the app pinned to it")
	}
	if _, err := New(mustDecode(t, appYAMLWithID(testSDKAppID, "app0", srvs[0].URL, testKey, "shard: 3", "r")), Options{ShardCount: 3}); err == nil ||
		!strings.Contains(err.Error(), "shard: 3, but there are 3 shards") {
		t.Errorf("pin to shard 3 of 3: %v; want an error naming it", err)
	}
	if _, err := New(mustDecode(t, appYAML("app", srvs[0].URL, testKey, "", "r")), Options{ShardCount: 2, ShardIndex: 2}); err == nil {
		t.Errorf("New with shard index 2 of 2 succeeded; want an error")
	}
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
