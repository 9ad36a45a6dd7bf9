package collector

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/goleak"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// The tests in this file each pin down one defect of the rebuild-on-reload
// core (issue "one long-lived runtime per app"); each names it.

// lastSuccess returns when a room of the first app last answered.
func lastSuccess(e *Exporter, roomID string) time.Time {
	e.mu.RLock()
	rt := e.order[0]
	e.mu.RUnlock()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if r, ok := rt.rooms[roomID]; ok {
		return r.lastSuccess
	}
	return time.Time{}
}

// viewText renders what a View exposes for the named families.
func viewText(t *testing.T, v *View, names ...string) string {
	t.Helper()
	out, err := testutil.CollectAndFormat(v, expfmt.TypeTextPlain, names...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// Defect 1: a scrape that overlaps a reload waited for its whole budget on
// apps the reload had stopped, and counted its rooms as deferred.
func TestScrapeOverlappingReloadAnswersInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		srv.SetLatency(150 * time.Millisecond)
		ids := withRooms(srv, roomIDs("room", 20), tencenttest.Room{MemberCount: 3})
		yaml := appYAML("app", srv.URL, testKey, "max_qps: 50\nmax_concurrency: 4", ids...)
		e := newExporter(t, Options{}, yaml)

		var wg sync.WaitGroup
		took := make([]time.Duration, 3)
		for i := range took {
			wg.Go(func() { took[i] = scrape(t, e, 20*time.Second) })
		}
		time.Sleep(200 * time.Millisecond) // the scrapes are waiting
		if err := e.ApplyConfig(mustDecode(t, yaml)); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		// 20 rooms, 4 at a time, 150 ms each: about 0.8 s without a reload.
		for i, d := range took {
			if d > 5*time.Second {
				t.Errorf("scrape %d overlapping a reload took %s; want about 1 s", i, d)
			}
		}
		if got := testutil.ToFloat64(e.inst.deferred.WithLabelValues("app")); got != 0 {
			t.Errorf("deferred = %v; want 0", got)
		}
		for _, id := range ids {
			if lastSuccess(e, id).IsZero() {
				t.Errorf("room %s never refreshed", id)
			}
		}
	})
}

// Defect 2: a reload storm cancelled every request in flight, so no room
// was ever refreshed. Acceptance: 20 rooms, 150 ms latency, a reload every
// 100 ms for 10 s while scraping every second.
func TestReloadStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("12 s of virtual time: about 3 s of CPU under -race")
	}
	synctest.Test(t, func(t *testing.T) {
		const (
			refresh = time.Second
			run     = 10 * time.Second
			budget  = 800 * time.Millisecond
		)
		srv := newPipeFake(t, 0)
		srv.SetLatency(150 * time.Millisecond)
		ids := withRooms(srv, roomIDs("room", 20), tencenttest.Room{MemberCount: 3})
		configs := make([]*Config, 2)
		for i := range configs { // a real change each time: a label and the concurrency
			rooms := append([]string{fmt.Sprintf("{id: %s, labels: {tier: t%d}}", ids[0], i)}, ids[1:]...)
			configs[i] = mustDecode(t, appYAML("app", srv.URL, testKey,
				fmt.Sprintf("max_qps: 100\nrefresh_interval: %s\nmax_concurrency: %d", refresh, 8+i), rooms...))
		}
		e, err := New(configs[0], Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		scrape(t, e, 5*time.Second) // every room answered once

		stop := make(chan struct{})
		var wg sync.WaitGroup
		reloads := 0
		wg.Go(func() {
			ticker := time.NewTicker(100 * time.Millisecond)
			defer ticker.Stop()
			for i := 1; ; i++ {
				select {
				case <-stop:
					return
				case <-ticker.C:
					if err := e.ApplyConfig(configs[i%2]); err != nil {
						t.Error(err)
					}
					reloads++
				}
			}
		})
		var maxScrape time.Duration
		wg.Go(func() {
			ticker := time.NewTicker(time.Second)
			defer ticker.Stop()
			for {
				select {
				case <-stop:
					return
				case <-ticker.C:
					maxScrape = max(maxScrape, scrape(t, e, budget))
				}
			}
		})
		serve := func() { // serving views while reloads change labels and rooms refresh
			for {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
					if text := serveView(t, e.view()); strings.Count(text, "\ntencent_live_room_up{") != len(ids) {
						t.Errorf("a view served %d rooms, want %d", strings.Count(text, "\ntencent_live_room_up{"), len(ids))
					}
				}
			}
		}
		wg.Go(serve)
		wg.Go(serve) // two at once: they encode the same shared messages
		// Track each room's refreshes: the longest gap between two.
		last := make(map[string]time.Time, len(ids))
		maxGap := map[string]time.Duration{}
		for _, id := range ids {
			last[id] = lastSuccess(e, id)
		}
		before := srv.Stats()
		start := time.Now()
		for time.Since(start) < run {
			time.Sleep(20 * time.Millisecond)
			now := time.Now()
			for _, id := range ids {
				if ls := lastSuccess(e, id); ls.After(last[id]) {
					maxGap[id] = max(maxGap[id], ls.Sub(last[id]))
					last[id] = ls
				}
				maxGap[id] = max(maxGap[id], now.Sub(last[id]))
			}
		}
		elapsed := time.Since(start)
		after := srv.Stats()
		close(stop)
		wg.Wait()

		worst := time.Duration(0)
		for _, id := range ids {
			worst = max(worst, maxGap[id])
		}
		calls := after.Calls - before.Calls
		want := float64(len(ids)) * elapsed.Seconds() / refresh.Seconds()
		t.Logf("%d reloads; %d calls in %s (%.0f expected); longest gap between refreshes %s; slowest scrape %s",
			reloads, calls, elapsed.Round(time.Millisecond), want, worst, maxScrape)
		if worst > refresh+time.Second {
			t.Errorf("a room went %s without a refresh; want <= refresh_interval + 1s", worst)
		}
		if maxScrape > budget+300*time.Millisecond {
			t.Errorf("slowest scrape %s; want within its %s budget", maxScrape, budget)
		}
		if ratio := float64(calls) / want; ratio < 0.95 || ratio > 1.05 {
			t.Errorf("%d upstream calls, %.2f of one per room per refresh_interval; want within 5%%", calls, ratio)
		}
	})
}

// Defect 3: a scrape refreshed one room set and collected another, so a
// room added by a reload during the scrape was served, never queried, as
// room_up 0.
func TestScrapeServesTheRoomSetItWaitedOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		srv.SetRoom("old", tencenttest.Room{MemberCount: 1, Latency: 300 * time.Millisecond})
		srv.SetRoom("new", tencenttest.Room{MemberCount: 2, Latency: 300 * time.Millisecond})
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "", "old"))

		views := make(chan *View)
		go func() {
			ctx, cancel := contextWithTimeout(5 * time.Second)
			defer cancel()
			views <- e.Refresh(ctx)
		}()
		time.Sleep(100 * time.Millisecond)
		if err := e.ApplyConfig(mustDecode(t, appYAML("app", srv.URL, testKey, "", "old", "new"))); err != nil {
			t.Fatal(err)
		}
		text := viewText(t, <-views, "tencent_live_room_up", "tencent_live_room_members")
		if strings.Contains(text, `room="new"`) {
			t.Errorf("a scrape that began before the reload serves the room it added:\n%s", text)
		}
		if !strings.Contains(text, `tencent_live_room_members{app="app",room="old"} 1`) {
			t.Errorf("the scrape does not serve the room it waited on:\n%s", text)
		}
		// The next scrape waits for the new room and serves it.
		ctx, cancel := contextWithTimeout(5 * time.Second)
		defer cancel()
		text = viewText(t, e.Refresh(ctx), "tencent_live_room_up")
		if !strings.Contains(text, `tencent_live_room_up{app="app",room="new"} 1`) {
			t.Errorf("the next scrape does not serve the added room as up:\n%s", text)
		}
	})
}

// Defect 4: cached data followed the app's name, not its identity.
func TestSwappedNamesKeepTheirData(t *testing.T) {
	srvA := newFake(t, 0)
	srvA.SetRoom("r", tencenttest.Room{MemberCount: 10})
	srvB := tencenttest.NewServer(tencenttest.Options{SDKAppID: 1400000002, Identifier: testIdentifier, SecretKey: testKey})
	t.Cleanup(srvB.Close)
	srvB.SetRoom("r", tencenttest.Room{MemberCount: 20})
	srvB.SetRoom("missing-in-b", tencenttest.Room{ErrorCode: 100004})

	e := newExporter(t, Options{},
		appYAML("a", srvA.URL, testKey, "refresh_interval: 1h", "r"),
		appYAMLWithID(1400000002, "b", srvB.URL, testKey, "refresh_interval: 1h", "r", "missing-in-b"))
	scrape(t, e, 5*time.Second)
	if err := e.ApplyConfig(mustDecode(t,
		appYAML("b", srvA.URL, testKey, "refresh_interval: 1h", "r"),
		appYAMLWithID(1400000002, "a", srvB.URL, testKey, "refresh_interval: 1h", "r", "missing-in-b"))); err != nil {
		t.Fatal(err)
	}
	// No refresh in between: the cached data must follow each SDKAppID.
	want := `# HELP tencent_live_room_members People in the room (MemberCount) from the last successful answer, which may be up to refresh_interval old (see the last success timestamp). Absent while the room does not exist or is not a live room.
# TYPE tencent_live_room_members gauge
tencent_live_room_members{app="a",room="r"} 20
tencent_live_room_members{app="b",room="r"} 10
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want), "tencent_live_room_members"); err != nil {
		t.Error(err)
	}
	// The error counted for the app now named "a" (then "b") is gone from
	// both names: no counter carries one app's history under another name.
	if n := testutil.CollectAndCount(e, "tencent_live_scrape_errors_total"); n != 0 {
		out, _ := testutil.CollectAndFormat(e, expfmt.TypeTextPlain, "tencent_live_scrape_errors_total")
		t.Errorf("error counters survive a name swap:\n%s", out)
	}
	if srvA.Stats().Calls != 1 || srvB.Stats().Calls != 2 {
		t.Errorf("calls = %d and %d; want 1 and 2 (a rename refetches nothing)", srvA.Stats().Calls, srvB.Stats().Calls)
	}
}

// Defect 5: lowering offline_backoff_max capped the back-off but not the
// next due time, so a room stayed unrefreshed for the old back-off.
func TestLowerBackoffCapClampsDueTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		srv.SetRoom("gone", tencenttest.Room{ErrorCode: 100004})
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "refresh_interval: 50ms\noffline_backoff_max: 1h", "gone"))
		// 50, 100, 200, 400, 800 ms, 1.6 s...: let the back-off grow.
		for start := time.Now(); time.Since(start) < 1600*time.Millisecond; {
			scrape(t, e, 100*time.Millisecond)
			time.Sleep(50 * time.Millisecond)
		}
		e.order[0].mu.Lock()
		backoff := e.order[0].rooms["gone"].tasks[taskMembers].backoff
		e.order[0].mu.Unlock()
		if backoff < 800*time.Millisecond {
			t.Fatalf("back-off grew to %s only; the test needs >= 800ms", backoff)
		}
		before := srv.Stats().Calls
		if err := e.ApplyConfig(mustDecode(t, appYAML("app", srv.URL, testKey, "refresh_interval: 50ms\noffline_backoff_max: 50ms", "gone"))); err != nil {
			t.Fatal(err)
		}
		reloaded := time.Now()
		eventually(t, 5*time.Second, "the gone room asked again", func() bool {
			scrape(t, e, 20*time.Millisecond)
			return srv.Stats().Calls > before
		})
		if waited := time.Since(reloaded); waited > backoff/2 {
			t.Errorf("after the cap dropped to 50ms the room waited %s (its back-off was %s); want the new cap", waited, backoff)
		}
	})
}

// Defect 6: demand was recorded only when a scrape began, so with a short
// refresh_interval the worker went idle in the middle of a scrape.
func TestWorkerStaysBusyWhileAScrapeWaits(t *testing.T) {
	for _, refresh := range []string{"1ms", "200ms"} {
		t.Run(refresh, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newPipeFake(t, 0)
				ids := withRooms(srv, roomIDs("room", 60), tencenttest.Room{MemberCount: 1})
				// 60 rooms at 30 calls/s: about 2 s, far beyond 2 x refresh_interval.
				e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "max_qps: 30\nrefresh_interval: "+refresh, ids...))
				scrape(t, e, 6*time.Second)
				fetched := 0
				for _, id := range ids {
					if srv.Stats().CallsByRoom[id] > 0 {
						fetched++
					}
				}
				if fetched != len(ids) {
					t.Errorf("one scrape with a 6 s budget fetched %d of %d rooms; want all", fetched, len(ids))
				}
			})
		})
	}
}

// Defect 7: ApplyConfig after Close restarted the workers. Close is final.
func TestApplyConfigAfterCloseIsRefused(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := tencenttest.NewServer(tencenttest.Options{SDKAppID: testSDKAppID, Identifier: testIdentifier, SecretKey: testKey})
	defer srv.Close()
	srv.SetRoom("r", tencenttest.Room{MemberCount: 1})
	cfg := mustDecode(t, appYAML("app", srv.URL, testKey, "", "r"))
	e, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	scrape(t, e, 5*time.Second)
	e.Close()
	if err := e.ApplyConfig(cfg); !errors.Is(err, ErrClosed) {
		t.Errorf("ApplyConfig after Close = %v; want ErrClosed", err)
	}
	before := srv.Stats().Calls
	scrape(t, e, 200*time.Millisecond)
	if calls := srv.Stats().Calls; calls != before {
		t.Errorf("a scrape after Close made %d calls", calls-before)
	}
	if n := testutil.CollectAndCount(e, "tencent_live_room_members"); n != 0 {
		t.Errorf("a closed exporter still serves %d room series", n)
	}
	e.Close() // twice is fine
}

// Defect 11: the code label took any value the upstream sent.
func TestErrorCodeLabelIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		ids := roomIDs("room", 30)
		for i, id := range ids {
			srv.SetRoom(id, tencenttest.Room{ErrorCode: 190000 + i}) // undocumented codes
		}
		srv.SetRoom("status", tencenttest.Room{HTTPStatus: 418})
		srv.SetRoom("notlive", tencenttest.Room{ErrorCode: 100006})
		srv.SetRoom("ok", tencenttest.Room{MemberCount: 1})
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "max_qps: 200", append([]string{"ok", "status", "notlive"}, ids...)...))
		scrape(t, e, 5*time.Second)
		want := `# HELP tencent_live_scrape_errors_total Failed upstream queries by command and error code: a documented upstream ErrorCode, or timeout, network, http_<status>, decode, body_too_large, paging, and other for anything else.
# TYPE tencent_live_scrape_errors_total counter
tencent_live_scrape_errors_total{app="app",code="100006",command="get_member_list"} 1
tencent_live_scrape_errors_total{app="app",code="other",command="get_member_list"} 31
`
		if err := testutil.CollectAndCompare(e, strings.NewReader(want), "tencent_live_scrape_errors_total"); err != nil {
			t.Error(err)
		}
	})
}

// Defect 12: an OK answer without a member count was a success with 0
// members.
func TestAnswerWithoutMemberCountIsNotData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		srv.SetRoom("ok", tencenttest.Room{MemberCount: 5})
		srv.SetRoom("empty", tencenttest.Room{RawBody: `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RequestId":"x","Response":{}}`})
		srv.SetRoom("negative", tencenttest.Room{RawBody: `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RequestId":"y","Response":{"MemberCount":-3}}`})
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "", "ok", "empty", "negative"))
		scrape(t, e, 5*time.Second)
		want := `# HELP tencent_live_room_members People in the room (MemberCount) from the last successful answer, which may be up to refresh_interval old (see the last success timestamp). Absent while the room does not exist or is not a live room.
# TYPE tencent_live_room_members gauge
tencent_live_room_members{app="app",room="ok"} 5
# HELP tencent_live_room_up Whether the room's data is being refreshed: 1 when the last get_member_list query got an answer about the room (100004 and 100006 included: see exists and members), 0 when it failed, while the app is down or backing off, or once the member count is older than max_age.
# TYPE tencent_live_room_up gauge
tencent_live_room_up{app="app",room="empty"} 0
tencent_live_room_up{app="app",room="negative"} 0
tencent_live_room_up{app="app",room="ok"} 1
# HELP tencent_live_scrape_errors_total Failed upstream queries by command and error code: a documented upstream ErrorCode, or timeout, network, http_<status>, decode, body_too_large, paging, and other for anything else.
# TYPE tencent_live_scrape_errors_total counter
tencent_live_scrape_errors_total{app="app",code="decode",command="get_member_list"} 2
`
		if err := testutil.CollectAndCompare(e, strings.NewReader(want), "tencent_live_room_members", "tencent_live_room_up", "tencent_live_scrape_errors_total"); err != nil {
			t.Error(err)
		}
	})
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Defect 13: failures were silent at the default log level, and app_up
// stayed 1 while no request got an answer.
func TestUnreachableAppIsLoggedAndDown(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("r", tencenttest.Room{MemberCount: 4})
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// A port nothing listens on: the fake's, once closed.
	closed := tencenttest.NewServer(tencenttest.Options{SDKAppID: testSDKAppID, Identifier: testIdentifier, SecretKey: testKey})
	deadURL := closed.URL
	closed.Close()
	e := newExporter(t, Options{Logger: logger}, appYAML("app", deadURL, testKey, "refresh_interval: 1s", roomIDs("room", 10)...))
	for range 3 {
		scrape(t, e, 300*time.Millisecond)
	}
	if got := testutil.ToFloat64(appGauge(e, appUpDesc, "app")); got != 0 {
		t.Errorf("app_up = %v with nothing listening; want 0", got)
	}
	text := logs.String()
	if strings.Count(text, "level=WARN") != 1 || !strings.Contains(text, "code=network") {
		t.Errorf("want exactly one warning naming code=network in the logs:\n%s", text)
	}

	// The endpoint is fixed by a reload: recovery is logged, app_up is 1.
	if err := e.ApplyConfig(mustDecode(t, appYAML("app", srv.URL, testKey, "refresh_interval: 1s", "r"))); err != nil {
		t.Fatal(err)
	}
	scrape(t, e, 5*time.Second)
	if got := testutil.ToFloat64(appGauge(e, appUpDesc, "app")); got != 1 {
		t.Errorf("app_up = %v after the fix; want 1", got)
	}
}

// TestWarningsAreRateLimitedAndRecoveryLogged checks the log of a failure
// that goes on, then ends, on one app.
func TestWarningsAreRateLimitedAndRecoveryLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		ids := withRooms(srv, roomIDs("room", 5), tencenttest.Room{ErrorCode: 100001})
		srv.SetRoom("probe", tencenttest.Room{MemberCount: 1})
		var logs syncBuffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		e := newExporter(t, Options{Logger: logger}, appYAML("app", srv.URL, testKey, "refresh_interval: 100ms", append([]string{"probe"}, ids...)...))
		// 100001 is retried after max(refresh_interval / 4, 1 s).
		eventually(t, 10*time.Second, "three 100001 answers for one room", func() bool {
			scrape(t, e, 300*time.Millisecond)
			return srv.Stats().CallsByRoom[ids[0]] >= 3
		})
		if n := strings.Count(logs.String(), "code=100001"); n != 1 {
			t.Errorf("100001 logged %d times; want once while it goes on:\n%s", n, logs.String())
		}
		withRooms(srv, ids, tencenttest.Room{MemberCount: 1})
		eventually(t, 5*time.Second, "recovery logged", func() bool {
			scrape(t, e, 300*time.Millisecond)
			return strings.Contains(logs.String(), "Upstream calls succeeding again")
		})
	})
}

// Defect 15: auth back-off sent up to max_concurrency requests, not one
// probe; so did first contact.
func TestWrongKeySendsOneProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		srv.SetLatency(200 * time.Millisecond)
		ids := withRooms(srv, roomIDs("room", 20), tencenttest.Room{MemberCount: 1})
		e := newExporter(t, Options{}, appYAML("app", srv.URL, "wrong-key-0000", "refresh_interval: 4s\nmax_concurrency: 50", ids...))
		for range 3 {
			scrape(t, e, 300*time.Millisecond)
		}
		stats := srv.Stats()
		if stats.Calls != 1 || stats.MaxInFlight != 1 {
			t.Errorf("a wrong key drew %d calls (%d at once) in 1 s; want one probe", stats.Calls, stats.MaxInFlight)
		}
		// Fixed by a reload: one probe at once, then every room.
		if err := e.ApplyConfig(mustDecode(t, appYAML("app", srv.URL, testKey, "refresh_interval: 4s\nmax_concurrency: 50", ids...))); err != nil {
			t.Fatal(err)
		}
		took := scrape(t, e, 5*time.Second)
		if calls := srv.Stats().Calls - stats.Calls; calls != len(ids) {
			t.Errorf("after the fix: %d calls; want one per room (%d)", calls, len(ids))
		}
		// One probe (200 ms), then the 19 others at once (200 ms).
		if took > 2*time.Second {
			t.Errorf("the scrape after the fix took %s; want the probe then all at once", took)
		}
	})
}

// The acceptance check of the runtime: no goroutine left after 200
// reloads with scrapes in flight.
func TestNoLeakAfterReloadsWithScrapesInFlight(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := tencenttest.NewServer(tencenttest.Options{SDKAppID: testSDKAppID, Identifier: testIdentifier, SecretKey: testKey})
	defer srv.Close()
	srv.SetLatency(20 * time.Millisecond)
	ids := withRooms(srv, roomIDs("room", 30), tencenttest.Room{MemberCount: 2})
	// Alternate room sets, names, credentials and endpoints (two ways to
	// name the same URL are one app; a trailing slash is another spelling).
	configs := []*Config{
		mustDecode(t, appYAML("app", srv.URL, testKey, "refresh_interval: 50ms", ids[:20]...)),
		mustDecode(t, appYAML("renamed", srv.URL, testKey, "refresh_interval: 50ms\nmax_concurrency: 3", ids[10:]...)),
		mustDecode(t, appYAML("app", srv.URL+"/", testKey, "refresh_interval: 50ms\nusersig_ttl: 1h", ids...)),
		mustDecode(t, appYAMLWithID(1400000002, "other", srv.URL, testKey, "", "x")),
	}
	e, err := New(configs[0], Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					scrape(t, e, 100*time.Millisecond)
				}
			}
		})
	}
	for i := range 200 {
		if err := e.ApplyConfig(configs[i%len(configs)]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if srv.Stats().Calls == 0 {
		t.Error("no upstream call during the reloads")
	}
	e.Close()
}

// TestMaxQPSTotalCapsTheApp checks the app-wide gate against a fake that
// answers 60011 above 20 calls a second.
func TestMaxQPSTotalCapsTheApp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 20)
		ids := withRooms(srv, roomIDs("room", 40), tencenttest.Room{MemberCount: 1})
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "max_qps: 200\nmax_qps_total: 20\nrefresh_interval: 1h", ids...))
		scrape(t, e, 10*time.Second)
		stats := srv.Stats()
		if stats.RateLimited != 0 || stats.MaxPerSecond > 20 {
			t.Errorf("max_qps_total 20: %d rate-limited answers, %d calls in a second; want 0 and <= 20", stats.RateLimited, stats.MaxPerSecond)
		}
		want := `# HELP tencent_live_app_limiter_qps Current ceiling of calls per second of one upstream command; below max_qps for a while after frequency-limit answers (60007 for the command, 60011 for the whole app).
# TYPE tencent_live_app_limiter_qps gauge
tencent_live_app_limiter_qps{app="app",command="get_member_list"} 20
`
		if err := testutil.CollectAndCompare(e, strings.NewReader(want), "tencent_live_app_limiter_qps"); err != nil {
			t.Error(err)
		}
	})
}

// TestAppRateLimitSlowsEveryCommand checks that 60011 slows the app-wide
// gate and 60007 only the command's.
func TestAppRateLimitSlowsEveryCommand(t *testing.T) {
	for _, tc := range []struct {
		code      int
		total     float64
		wantTotal bool
	}{
		{code: 60007, total: 50, wantTotal: false},
		{code: 60011, total: 50, wantTotal: true},
		{code: 60011, total: 0, wantTotal: false},
	} {
		t.Run(fmt.Sprintf("%d/total=%g", tc.code, tc.total), func(t *testing.T) {
			ag := newAppGates(map[string]float64{tencent.CommandGetMemberList: 100})
			ag.setLimits(map[string]float64{tencent.CommandGetMemberList: 100}, tc.total)
			ag.slowDown(tencent.CommandGetMemberList, tc.code == 60011, time.Now())
			_, current := ag.limits(tencent.CommandGetMemberList)
			if current >= 100 && !tc.wantTotal {
				t.Errorf("limiter after %d = %v; want slowed", tc.code, current)
			}
			if total := ag.totalGate(); tc.wantTotal && total.qps() >= tc.total {
				t.Errorf("app-wide gate after %d = %v; want slowed below %v", tc.code, total.qps(), tc.total)
			}
			if total := ag.totalGate(); !tc.wantTotal && total != nil && total.qps() != tc.total {
				t.Errorf("app-wide gate after %d = %v; want untouched %v", tc.code, total.qps(), tc.total)
			}
		})
	}
}

var _ prometheus.Collector = (*View)(nil)

// TestStatus checks what the landing page shows of an app.
func TestStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		srv.SetRoom("ok", tencenttest.Room{MemberCount: 1})
		srv.SetRoom("bad", tencenttest.Room{ErrorCode: 100001})
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "max_qps: 40", "ok", "bad"))
		scrape(t, e, 5*time.Second)
		st := e.Status()
		if len(st) != 1 {
			t.Fatalf("Status() = %d apps; want 1", len(st))
		}
		a := st[0]
		if a.Name != "app" || !a.Up || a.Rooms != 2 {
			t.Errorf("Status()[0] = %+v; want app, up, 2 rooms", a)
		}
		if a.LastError == nil || a.LastError.Code != "100001" || a.LastError.RequestID == "" || a.LastError.Command != tencent.CommandGetMemberList {
			t.Errorf("last error = %+v; want 100001 from get_member_list with a request id", a.LastError)
		}
		if len(a.Commands) != 1 || a.Commands[0].MaxQPS != 40 || a.Commands[0].LimiterQPS != 40 {
			t.Errorf("commands = %+v; want get_member_list at max_qps 40", a.Commands)
		}
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second))) // the calls' second is complete
		if got := e.Status()[0].Commands[0].CallsPerSec; got != 0.2 {
			t.Errorf("calls/s = %v; want 2 calls over 10 s = 0.2", got)
		}
	})
}
