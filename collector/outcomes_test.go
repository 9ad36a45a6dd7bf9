package collector

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// Tests of who owns each outcome: a room fact changes the room, a command
// problem the command, an app problem the app; and of the discovered room
// set's ranking.

// roomValue is the value of family name for room, and whether it is
// served, from one collection: the exporter may drop the series between
// two.
func roomValue(t *testing.T, e *Exporter, name, room string) (float64, bool) {
	t.Helper()
	ch := make(chan prometheus.Metric, 16)
	go func() { metricByRoom(t, e, name, room).Collect(ch); close(ch) }()
	var got []prometheus.Metric
	for m := range ch {
		got = append(got, m)
	}
	if len(got) == 0 {
		return 0, false
	}
	// ToFloat64 of what was collected, and it alone.
	return testutil.ToFloat64(collectorFunc(func(ch chan<- prometheus.Metric) {
		for _, m := range got {
			ch <- m
		}
	})), true
}

// appValue is the value of an app-level gauge of app "app".
func appValue(t *testing.T, e *Exporter, name string, labels ...string) float64 {
	t.Helper()
	out := exposition(t, e, name)
	prefix := name + `{app="app"`
	for _, l := range labels {
		prefix += "," + l
	}
	prefix += "} "
	for line := range strings.SplitSeq(out, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no series %s... in:\n%s", prefix, out)
	return 0
}

func watchedRooms(e *Exporter) []string {
	rt := e.order[0]
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var ids []string
	for _, r := range rt.order {
		ids = append(ids, r.id)
	}
	return ids
}

// Defect 1: max_rooms keeps the rooms with the highest ViewCount, sweep
// after sweep, not the first ones discovered.
func TestMaxRoomsFollowsTheMostViewed(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("a", tencenttest.Room{MemberCount: 1, ViewCount: 100})
	srv.SetRoom("b", tencenttest.Room{MemberCount: 2, ViewCount: 90})
	srv.SetRoom("c", tencenttest.Room{MemberCount: 3, ViewCount: 80})
	e := newExporter(t, Options{}, discoveryYAML(srv.URL, "refresh_interval: 100ms\ndiscovery: {interval: 100ms, max_rooms: 2}"))
	eventually(t, 10*time.Second, "a and b watched", func() bool {
		scrape(t, e, time.Second)
		return watched(e, "a") && watched(e, "b") && !watched(e, "c")
	})
	srv.SetRoom("c", tencenttest.Room{MemberCount: 3000, ViewCount: 10000})
	eventually(t, 10*time.Second, "c watched instead of b", func() bool {
		scrape(t, e, time.Second)
		return watched(e, "a") && watched(e, "c") && !watched(e, "b")
	})
	if _, ok := roomValue(t, e, "tencent_live_room_members", "b"); ok {
		t.Error("room b is no longer watched, yet its member count is served")
	}
	eventually(t, 10*time.Second, "c's members served", func() bool {
		scrape(t, e, time.Second)
		v, ok := roomValue(t, e, "tencent_live_room_members", "c")
		return ok && v == 3000
	})
	if got := appValue(t, e, "tencent_live_discovery_rooms_skipped"); got != 1 {
		t.Errorf("rooms_skipped = %v; want 1", got)
	}

	// Within the hysteresis, the watched room keeps its place.
	srv.SetRoom("b", tencenttest.Room{MemberCount: 2, ViewCount: 105})
	n := sweeps(e, sweepOK)
	eventually(t, 10*time.Second, "two more sweeps", func() bool {
		scrape(t, e, time.Second)
		return sweeps(e, sweepOK) >= n+2
	})
	if !watched(e, "a") || watched(e, "b") {
		t.Errorf("watched %v: b (105) replaced a (100) within the 10%% hysteresis", watchedRooms(e))
	}
}

// Defect 2: lowering max_rooms by reload drops the lowest rooms, and
// rooms_skipped counts only rooms not watched.
func TestLoweringMaxRoomsDropsRooms(t *testing.T) {
	srv := newFake(t, 0)
	for i, id := range []string{"r1", "r2", "r3", "r4", "r5"} {
		srv.SetRoom(id, tencenttest.Room{MemberCount: 10, ViewCount: int64(500 - 100*i)})
	}
	e := newExporter(t, Options{}, discoveryYAML(srv.URL, "discovery: {interval: 100ms, max_rooms: 5}"))
	eventually(t, 10*time.Second, "5 rooms watched", func() bool {
		scrape(t, e, time.Second)
		return len(watchedRooms(e)) == 5
	})
	if err := e.ApplyConfig(mustDecode(t, discoveryYAML(srv.URL, "discovery: {interval: 1h, max_rooms: 2}"))); err != nil {
		t.Fatal(err)
	}
	scrape(t, e, time.Second)
	if got := watchedRooms(e); len(got) != 2 || !watched(e, "r1") || !watched(e, "r2") {
		t.Errorf("after max_rooms 5 -> 2, watched %v; want [r1 r2]", got)
	}
	if got := appValue(t, e, "tencent_live_app_rooms"); got != 2 {
		t.Errorf("app_rooms = %v; want 2", got)
	}
	if got := appValue(t, e, "tencent_live_discovery_rooms_skipped"); got != 3 {
		t.Errorf("rooms_skipped = %v; want 3", got)
	}
	if _, ok := roomValue(t, e, "tencent_live_room_members", "r5"); ok {
		t.Error("r5 is no longer watched, yet its member count is served")
	}
}

// Defect 8: a truncated sweep only adds; it does not lower what a complete
// sweep measured.
func TestTruncatedSweepKeepsCompleteCounts(t *testing.T) {
	srv := newFake(t, 0)
	for i, id := range roomIDs("live", 100) {
		srv.SetRoom(id, tencenttest.Room{MemberCount: 1, ViewCount: int64(1000 - i)})
	}
	e := newExporter(t, Options{}, discoveryYAML(srv.URL, "discovery: {interval: 100ms, max_rooms: 10}"))
	eventually(t, 10*time.Second, "a complete sweep", func() bool {
		scrape(t, e, time.Second)
		return sweeps(e, sweepOK) >= 1
	})
	if err := e.ApplyConfig(mustDecode(t, discoveryYAML(srv.URL, "discovery: {interval: 100ms, max_rooms: 10, max_pages: 2}"))); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "a truncated sweep", func() bool {
		scrape(t, e, time.Second)
		return sweeps(e, sweepTruncated) >= 1
	})
	if got := appValue(t, e, "tencent_live_discovery_rooms"); got != 100 {
		t.Errorf("discovery_rooms = %v after a truncated sweep; want 100 (the complete sweep's)", got)
	}
	if got := appValue(t, e, "tencent_live_discovery_rooms_skipped"); got != 90 {
		t.Errorf("rooms_skipped = %v after a truncated sweep; want 90", got)
	}
}

// Defect 3: while every call of the app is denied, its rooms say so:
// room_up 0 at once, and their values stop once older than max_age, while
// the last success timestamp stays.
func TestDeniedAppTakesItsRoomsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		srv.SetRoom("a", tencenttest.Room{MemberCount: 500})
		srv.SetRoom("b", tencenttest.Room{MemberCount: 700})
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "refresh_interval: 200ms\nmax_age: 1s", "a", "b"))
		scrape(t, e, 5*time.Second)
		for _, id := range []string{"a", "b"} {
			if _, ok := roomValue(t, e, "tencent_live_room_members", id); !ok {
				t.Fatalf("room %s has no member count", id)
			}
			srv.FailNext(id, 70009, 1<<30)
		}
		eventually(t, 10*time.Second, "app down", func() bool {
			scrape(t, e, time.Second)
			return appValue(t, e, "tencent_live_app_up") == 0
		})
		for _, id := range []string{"a", "b"} {
			if v, _ := roomValue(t, e, "tencent_live_room_up", id); v != 0 {
				t.Errorf("room %s: up = %v while the app is denied; want 0", id, v)
			}
		}
		eventually(t, 10*time.Second, "member counts older than max_age gone", func() bool {
			scrape(t, e, time.Second)
			_, a := roomValue(t, e, "tencent_live_room_members", "a")
			_, b := roomValue(t, e, "tencent_live_room_members", "b")
			return !a && !b
		})
		for _, id := range []string{"a", "b"} {
			if v, _ := roomValue(t, e, "tencent_live_room_up", id); v != 0 {
				t.Errorf("room %s: up = %v with expired data; want 0", id, v)
			}
			if _, ok := roomValue(t, e, "tencent_live_room_last_success_timestamp_seconds", id); !ok {
				t.Errorf("room %s: last_success_timestamp_seconds gone; it stays", id)
			}
		}
		// The key is accepted again: the rooms come back.
		srv.FailNext("a", 0, 0)
		srv.FailNext("b", 0, 0)
		eventually(t, 10*time.Second, "rooms back", func() bool {
			scrape(t, e, time.Second)
			v, ok := roomValue(t, e, "tencent_live_room_members", "b")
			up, _ := roomValue(t, e, "tencent_live_room_up", "a")
			return ok && v == 700 && up == 1 && appValue(t, e, "tencent_live_app_up") == 1
		})
	})
}

// Defect 4: an optional command that is denied (60010: a feature the plan
// lacks) backs off on its own and shows it; the app stays up while
// get_member_list answers.
func TestDeniedOptionalCommandBacksOffAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		ids := withRooms(srv, roomIDs("r", 60), tencenttest.Room{MemberCount: 5})
		for _, id := range ids {
			srv.FailNextCommand(tencent.CommandGetRoomStats, id, 60010, 1<<30)
		}
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "refresh_interval: 200ms\nroom_stats: {interval: 1s}", ids...))
		start := time.Now()
		downs := 0
		for time.Since(start) < 3*time.Second {
			scrape(t, e, time.Second)
			if appValue(t, e, "tencent_live_app_up") != 1 {
				downs++
			}
			time.Sleep(50 * time.Millisecond)
		}
		if downs > 0 {
			t.Errorf("app_up read 0 in %d scrapes while get_member_list answered", downs)
		}
		if got := appValue(t, e, "tencent_live_command_up", `command="get_room_stats"`); got != 0 {
			t.Errorf("command_up{get_room_stats} = %v; want 0", got)
		}
		if got := appValue(t, e, "tencent_live_command_up", `command="get_member_list"`); got != 1 {
			t.Errorf("command_up{get_member_list} = %v; want 1", got)
		}
		// The first burst (up to the command's concurrency cap, 13), then one
		// probe per back-off step: 250 ms, 500 ms, 1 s, 2 s.
		st := srv.Stats()
		if calls := st.CallsByCommand[tencent.CommandGetRoomStats]; calls > 20 {
			t.Errorf("get_room_stats made %d denied calls in 3 s; want at most 20 (a back-off)", calls)
		}
		if calls := st.CallsByCommand[tencent.CommandGetMemberList]; calls < 2*len(ids) {
			t.Errorf("get_member_list made %d calls in 3 s; want at least %d (it carries on)", calls, 2*len(ids))
		}
		for _, s := range e.Status() {
			for _, c := range s.Commands {
				if c.Up != (c.Command != tencent.CommandGetRoomStats) {
					t.Errorf("Status: command %s up = %v", c.Command, c.Up)
				}
			}
		}
		// The plan gains the feature: the command comes back by itself.
		for _, id := range ids {
			srv.FailNextCommand(tencent.CommandGetRoomStats, id, 0, 0)
		}
		eventually(t, 15*time.Second, "get_room_stats accepted again", func() bool {
			scrape(t, e, time.Second)
			return appValue(t, e, "tencent_live_command_up", `command="get_room_stats"`) == 1
		})
	})
}

// Defect 6: another command's 100004 does not hide a live room's member
// count: get_member_list decides whether a room exists.
func TestOtherCommandsRoomGoneDoesNotHideMembers(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("r", tencenttest.Room{MemberCount: 42})
	srv.FailNextCommand(tencent.CommandGetRoomInfo, "r", 100004, 1<<30)
	srv.FailNextCommand(tencent.CommandGetRoomStats, "r", 100004, 1<<30)
	e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "refresh_interval: 100ms\nroom_info: {interval: 100ms}\nroom_stats: {interval: 100ms}", "r"))
	eventually(t, 10*time.Second, "get_room_info and get_room_stats answered 100004", func() bool {
		scrape(t, e, time.Second)
		return testutil.ToFloat64(e.inst.errors.WithLabelValues("app", tencent.CommandGetRoomInfo, "100004")) >= 1 &&
			testutil.ToFloat64(e.inst.errors.WithLabelValues("app", tencent.CommandGetRoomStats, "100004")) >= 1
	})
	scrape(t, e, time.Second)
	for name, want := range map[string]float64{"tencent_live_room_members": 42, "tencent_live_room_exists": 1, "tencent_live_room_up": 1} {
		if got, ok := roomValue(t, e, name, "r"); !ok || got != want {
			t.Errorf("%s = %v (served %v); want %v", name, got, ok, want)
		}
	}
}

// Defect 7: a configured room's listing metadata goes once the listing no
// longer shows it and nothing else refreshes it.
func TestConfiguredRoomDropsListingMetadataNoLongerListed(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("r", tencenttest.Room{MemberCount: 5, ViewCount: 9, Name: "old"})
	e := newExporter(t, Options{}, discoveryYAML(srv.URL, "discovery: {interval: 100ms}", "r"))
	eventually(t, 10*time.Second, "listing metadata", func() bool {
		scrape(t, e, time.Second)
		v, ok := roomValue(t, e, "tencent_live_room_views", "r")
		return ok && v == 9
	})
	srv.SetRoom("r", tencenttest.Room{MemberCount: 5, ViewCount: 5000, Name: "new", Private: true})
	eventually(t, 10*time.Second, "listing metadata gone", func() bool {
		scrape(t, e, time.Second)
		_, views := roomValue(t, e, "tencent_live_room_views", "r")
		_, info := roomValue(t, e, "tencent_live_room_info", "r")
		return !views && !info
	})
	if v, ok := roomValue(t, e, "tencent_live_room_members", "r"); !ok || v != 5 {
		t.Errorf("members = %v (served %v); the configured room stays watched", v, ok)
	}
}

// Defect 9: an app removed by one reload and added back by the next keeps
// its gates: max_qps holds across any sequence of reloads.
func TestReaddedAppKeepsItsGates(t *testing.T) {
	srv := newFake(t, 0)
	other := newFake(t, 0)
	ids := withRooms(srv, roomIDs("r", 200), tencenttest.Room{MemberCount: 1})
	with := mustDecode(t, appYAML("app", srv.URL, testKey, "max_qps: 20\nrefresh_interval: 100ms", ids...))
	without := mustDecode(t, appYAMLWithID(testSDKAppID+1, "filler", other.URL, testKey, "", "x"))
	e, err := New(with, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	for range 5 {
		scrape(t, e, 300*time.Millisecond)
		if err := e.ApplyConfig(without); err != nil {
			t.Fatal(err)
		}
		if err := e.ApplyConfig(with); err != nil {
			t.Fatal(err)
		}
		scrape(t, e, 300*time.Millisecond)
	}
	if got := srv.Stats().MaxPerSecondByCommand[tencent.CommandGetMemberList]; got > 20 {
		t.Errorf("get_member_list: %d calls within one second across reloads; max_qps is 20", got)
	}
}

// Defect 11: facts about rooms are not errors: 100004 does not take over
// the landing page's last error, and the room queried is up.
func TestRoomFactsAreNotTheLastError(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("live", tencenttest.Room{MemberCount: 3})
	e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "refresh_interval: 100ms", "live", "gone"))
	scrape(t, e, 5*time.Second)
	if le := e.Status()[0].LastError; le != nil {
		t.Errorf("LastError = %+v after a 100004; want none", le)
	}
	if v, _ := roomValue(t, e, "tencent_live_room_up", "gone"); v != 1 {
		t.Errorf("up{gone} = %v; want 1 (queried successfully)", v)
	}
	srv.FailNext("live", 60007, 1)
	eventually(t, 10*time.Second, "the 60007 as last error", func() bool {
		scrape(t, e, time.Second)
		le := e.Status()[0].LastError
		return le != nil && le.Code == "60007"
	})
	for range 5 { // gone answers 100004 again and again
		time.Sleep(100 * time.Millisecond)
		scrape(t, e, time.Second)
	}
	if le := e.Status()[0].LastError; le == nil || le.Code != "60007" {
		t.Errorf("LastError = %+v; want the 60007, not a room fact", le)
	}
}
