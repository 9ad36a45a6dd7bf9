package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// discoveryYAML is one app with discovery and the given extra blocks, and
// the static rooms.
func discoveryYAML(url, settings string, rooms ...string) string {
	y := appYAML("app", url, testKey, settings, rooms...)
	if len(rooms) == 0 {
		y = strings.TrimSuffix(y, "    rooms:\n")
	}
	return y
}

// exposition renders the named families of e.
func exposition(t *testing.T, e *Exporter, names ...string) string {
	t.Helper()
	out, err := testutil.CollectAndFormat(e, expfmt.TypeTextPlain, names...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// watched reports whether e watches room id of its first app.
func watched(e *Exporter, id string) bool {
	rt := e.order[0]
	rt.mu.Lock()
	defer rt.mu.Unlock()
	_, ok := rt.rooms[id]
	return ok
}

func sweeps(e *Exporter, result string) float64 {
	return testutil.ToFloat64(e.inst.sweeps.WithLabelValues("app", result))
}

func TestDiscoveryWatchesListedRoomsWithMetadata(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("live-a", tencenttest.Room{MemberCount: 120, Name: "Alice's show", Owner: "alice", Category: []int{1, 3}, ViewCount: 900, CreateTime: 1700000000, MaxMemberCount: 5000, MaxSeatCount: 8})
	srv.SetRoom("live-b", tencenttest.Room{MemberCount: 7, Name: "Bob", Owner: "10086", OwnerAsNumber: true, Category: []int{2}, ViewCount: 50, CreateTime: 1700000100})
	srv.SetRoom("live-test-x", tencenttest.Room{MemberCount: 1, ViewCount: 10}) // excluded
	srv.SetRoom("other", tencenttest.Room{MemberCount: 1, ViewCount: 5})        // not included
	srv.SetRoom("live-hidden", tencenttest.Room{MemberCount: 1, Private: true}) // not listed
	e := newExporter(t, Options{}, discoveryYAML(srv.URL, `discovery: {interval: 100ms, include: ['^live-'], exclude: ['^live-test-']}
room_info: {interval: 1h}`))

	eventually(t, 10*time.Second, "both listed rooms watched, with room info", func() bool {
		scrape(t, e, 2*time.Second)
		return strings.Contains(exposition(t, e, "tencent_live_room_info"), `type="Live"`) &&
			strings.Count(exposition(t, e, "tencent_live_room_info"), `type="Live"`) == 2
	})
	scrape(t, e, 2*time.Second)
	want := `# HELP tencent_live_app_rooms Number of rooms watched for the app by this exporter (on the shard that owns the app).
# TYPE tencent_live_app_rooms gauge
tencent_live_app_rooms{app="app"} 2
# HELP tencent_live_discovery_rooms Rooms the last successful get_room_list sweep listed that pass the discovery filters, before the max_rooms cap.
# TYPE tencent_live_discovery_rooms gauge
tencent_live_discovery_rooms{app="app"} 2
# HELP tencent_live_discovery_rooms_skipped Rooms that pass the discovery filters but are not watched because of max_rooms (the lowest ViewCount first).
# TYPE tencent_live_discovery_rooms_skipped gauge
tencent_live_discovery_rooms_skipped{app="app"} 0
# HELP tencent_live_room_created_timestamp_seconds Unix time at which the room was created (CreateTime).
# TYPE tencent_live_room_created_timestamp_seconds gauge
tencent_live_room_created_timestamp_seconds{app="app",room="live-a"} 1.7e+09
tencent_live_room_created_timestamp_seconds{app="app",room="live-b"} 1.7000001e+09
# HELP tencent_live_room_info Room metadata, value 1: name and owner from get_room_list or get_room_info, category (its ints joined with ,), type (empty until get_room_info has answered). Join on app and room.
# TYPE tencent_live_room_info gauge
tencent_live_room_info{app="app",category="1,3",name="Alice's show",owner="alice",room="live-a",type="Live"} 1
tencent_live_room_info{app="app",category="2",name="Bob",owner="10086",room="live-b",type="Live"} 1
# HELP tencent_live_room_max_members Maximum number of members of the room (MaxMemberCount from get_room_info).
# TYPE tencent_live_room_max_members gauge
tencent_live_room_max_members{app="app",room="live-a"} 5000
tencent_live_room_max_members{app="app",room="live-b"} 0
# HELP tencent_live_room_members People in the room (MemberCount) from the last successful answer, which may be up to refresh_interval old (see the last success timestamp). Absent while the room does not exist or is not a live room.
# TYPE tencent_live_room_members gauge
tencent_live_room_members{app="app",room="live-a"} 120
tencent_live_room_members{app="app",room="live-b"} 7
# HELP tencent_live_room_views The room's ViewCount from the latest get_room_list or get_room_info answer; the upstream documents it as the room's view count, which orders the listing, and does not define it further.
# TYPE tencent_live_room_views gauge
tencent_live_room_views{app="app",room="live-a"} 900
tencent_live_room_views{app="app",room="live-b"} 50
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want),
		"tencent_live_app_rooms", "tencent_live_discovery_rooms", "tencent_live_discovery_rooms_skipped",
		"tencent_live_room_created_timestamp_seconds", "tencent_live_room_info", "tencent_live_room_max_members",
		"tencent_live_room_members", "tencent_live_room_views"); err != nil {
		t.Error(err)
	}
	if sweeps(e, sweepOK) < 1 || sweeps(e, sweepError) != 0 {
		t.Errorf("sweeps ok = %v, error = %v; want >= 1 and 0", sweeps(e, sweepOK), sweeps(e, sweepError))
	}
	if problems, err := testutil.CollectAndLint(e); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// A dissolved room leaves at its first 100004 once a successful sweep no
// longer lists it; one the listing drops while it still answers leaves
// after two sweeps; a static room never leaves.
func TestDiscoveredRoomsLeave(t *testing.T) {
	srv := newFake(t, 0)
	for i, id := range []string{"live-a", "live-b", "live-c", "static-s"} {
		srv.SetRoom(id, tencenttest.Room{MemberCount: 10 + i, ViewCount: int64(100 - i)})
	}
	e := newExporter(t, Options{}, discoveryYAML(srv.URL, "refresh_interval: 100ms\ndiscovery: {interval: 300ms}", "static-s"))
	eventually(t, 10*time.Second, "discovered rooms watched", func() bool {
		scrape(t, e, time.Second)
		return watched(e, "live-a") && watched(e, "live-b") && watched(e, "live-c")
	})

	srv.DeleteRoom("live-b")                                                               // dissolved: 100004 and unlisted
	srv.SetRoom("live-c", tencenttest.Room{MemberCount: 12, ViewCount: 98, Private: true}) // unlisted, still answers
	srv.SetRoom("static-s", tencenttest.Room{MemberCount: 13, Private: true})
	okBefore := sweeps(e, sweepOK)
	eventually(t, 10*time.Second, "the dissolved room gone", func() bool {
		scrape(t, e, time.Second)
		return !watched(e, "live-b")
	})
	if n := sweeps(e, sweepOK) - okBefore; n >= sweepsMissedToExit && watched(e, "live-c") {
		t.Errorf("live-c unlisted for %v sweeps is still watched", n)
	}
	eventually(t, 10*time.Second, "the unlisted room gone after two sweeps", func() bool {
		scrape(t, e, time.Second)
		return !watched(e, "live-c")
	})
	if n := sweeps(e, sweepOK) - okBefore; n < sweepsMissedToExit {
		t.Errorf("live-c left after %v successful sweeps; want %d", n, sweepsMissedToExit)
	}
	text := exposition(t, e, "tencent_live_room_members", "tencent_live_room_up")
	for _, gone := range []string{"live-b", "live-c"} {
		if strings.Contains(text, `room="`+gone+`"`) {
			t.Errorf("%s still has series:\n%s", gone, text)
		}
	}
	if !watched(e, "static-s") || !strings.Contains(text, `room="static-s"`) {
		t.Errorf("the static room left:\n%s", text)
	}
}

// A sweep that fails midway keeps the room set; a truncated one adds
// what it read and removes nothing.
func TestFailedAndTruncatedSweeps(t *testing.T) {
	srv := newFake(t, 0)
	ids := roomIDs("live", 50) // three pages of 20
	for i, id := range ids {
		srv.SetRoom(id, tencenttest.Room{MemberCount: 1, ViewCount: int64(1000 - i)})
	}
	e := newExporter(t, Options{}, discoveryYAML(srv.URL, "discovery: {interval: 200ms, max_pages: 5}"))
	eventually(t, 10*time.Second, "all 50 rooms watched", func() bool {
		scrape(t, e, time.Second)
		return testutil.ToFloat64(appGauge(e, appRoomsDesc, "app")) == 50
	})

	for _, id := range ids[25:] {
		srv.DeleteRoom(id)
	}
	srv.FailListPage(2, 100001, 1000) // every sweep now fails on its second page
	errBefore := sweeps(e, sweepError)
	eventually(t, 10*time.Second, "two failed sweeps", func() bool {
		scrape(t, e, time.Second)
		return sweeps(e, sweepError)-errBefore >= 2
	})
	rt := e.order[0]
	rt.mu.Lock()
	n := len(rt.rooms)
	rt.mu.Unlock()
	// Rooms leave only on their own 100004, never because of a failed sweep.
	if n < 25 {
		t.Errorf("after failed sweeps %d rooms are watched; want the 25 still alive at least", n)
	}
	for _, id := range ids[:25] {
		if !watched(e, id) {
			t.Errorf("room %s dropped after a failed sweep", id)
		}
	}

	srv.FailListPage(2, 0, 0) // clear the injection
	srv.SetEndlessRoomList(true)
	truncBefore := sweeps(e, sweepTruncated)
	eventually(t, 10*time.Second, "a truncated sweep", func() bool {
		scrape(t, e, time.Second)
		return sweeps(e, sweepTruncated) > truncBefore
	})
	for _, id := range ids[:25] {
		if !watched(e, id) {
			t.Errorf("room %s dropped after a truncated sweep", id)
		}
	}
	if got := testutil.ToFloat64(e.inst.errors.WithLabelValues("app", tencent.CommandGetRoomList, "100001")); got < 2 {
		t.Errorf("errors{command=get_room_list,code=100001} = %v; want >= 2", got)
	}
}

// When the filters keep more rooms than max_rooms, the ones with the
// highest ViewCount are watched and the rest counted.
func TestDiscoveryMaxRooms(t *testing.T) {
	srv := newFake(t, 0)
	for i := range 30 {
		srv.SetRoom(fmt.Sprintf("live-%02d", i), tencenttest.Room{MemberCount: 1, ViewCount: int64(100 + i)})
	}
	e := newExporter(t, Options{}, discoveryYAML(srv.URL, "discovery: {interval: 1h, max_rooms: 10}"))
	eventually(t, 10*time.Second, "a sweep", func() bool {
		scrape(t, e, time.Second)
		return sweeps(e, sweepOK) == 1
	})
	for i := range 30 {
		id := fmt.Sprintf("live-%02d", i)
		if want := i >= 20; watched(e, id) != want {
			t.Errorf("room %s (ViewCount %d) watched = %v; want %v", id, 100+i, !want, want)
		}
	}
	want := `# HELP tencent_live_discovery_rooms_skipped Rooms that pass the discovery filters but are not watched because of max_rooms (the lowest ViewCount first).
# TYPE tencent_live_discovery_rooms_skipped gauge
tencent_live_discovery_rooms_skipped{app="app"} 20
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want), "tencent_live_discovery_rooms_skipped"); err != nil {
		t.Error(err)
	}
}

// Each command keeps to its own limit against a fake enforcing them
// separately.
func TestDiscoveryWithinPerCommandLimits(t *testing.T) {
	srv := newFake(t, 50)
	srv.SetCommandRateLimit(tencent.CommandGetRoomList, 5)
	srv.SetCommandRateLimit(tencent.CommandGetRoomInfo, 20)
	for i := range 100 {
		srv.SetRoom(fmt.Sprintf("live-%03d", i), tencenttest.Room{MemberCount: 1, ViewCount: int64(i)})
	}
	e := newExporter(t, Options{}, discoveryYAML(srv.URL, "max_qps: 50\ndiscovery: {interval: 1h, max_qps: 5}\nroom_info: {max_qps: 20}"))
	eventually(t, 20*time.Second, "every room's info", func() bool {
		scrape(t, e, 2*time.Second)
		return strings.Count(exposition(t, e, "tencent_live_room_info"), `type="Live"`) == 100
	})
	st := srv.Stats()
	for _, command := range []string{tencent.CommandGetMemberList, tencent.CommandGetRoomList, tencent.CommandGetRoomInfo} {
		if st.RateLimitedByCommand[command] != 0 {
			t.Errorf("%s drew %d answers 60007", command, st.RateLimitedByCommand[command])
		}
	}
	if st.MaxPerSecondByCommand[tencent.CommandGetRoomList] > 5 || st.MaxPerSecondByCommand[tencent.CommandGetRoomInfo] > 20 {
		t.Errorf("max per second: list %d, info %d; want <= 5 and <= 20", st.MaxPerSecondByCommand[tencent.CommandGetRoomList], st.MaxPerSecondByCommand[tencent.CommandGetRoomInfo])
	}
}

func TestRoomStats(t *testing.T) {
	srv := newFake(t, 0)
	counters := tencenttest.RoomCounters{TotalViewers: 100, TotalGiftsSent: 5, TotalGiftCoins: 500, TotalUniqueGiftSenders: 3, TotalLikesReceived: 40, TotalMsgCount: 70}
	srv.SetRoom("r", tencenttest.Room{MemberCount: 9, Stats: counters})
	srv.SetRoom("gone", tencenttest.Room{ErrorCode: 100004})
	e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "room_stats: {interval: 100ms}", "{id: r, labels: {tier: gold}}", "gone"))
	eventually(t, 5*time.Second, "stats", func() bool {
		scrape(t, e, time.Second)
		return testutil.CollectAndCount(e, "tencent_live_room_likes_total") == 1
	})
	want := `# HELP tencent_live_room_gift_coins_total Coins' worth of gifts sent in the room since it was created (TotalGiftCoins from get_room_stats). Up to room_stats.interval old.
# TYPE tencent_live_room_gift_coins_total counter
tencent_live_room_gift_coins_total{app="app",room="r",tier="gold"} 500
# HELP tencent_live_room_gift_senders_total Distinct accounts that sent gifts in the room since it was created (TotalUniqueGiftSenders from get_room_stats). Up to room_stats.interval old.
# TYPE tencent_live_room_gift_senders_total counter
tencent_live_room_gift_senders_total{app="app",room="r",tier="gold"} 3
# HELP tencent_live_room_gifts_total Gifts sent in the room since it was created (TotalGiftsSent from get_room_stats). Up to room_stats.interval old.
# TYPE tencent_live_room_gifts_total counter
tencent_live_room_gifts_total{app="app",room="r",tier="gold"} 5
# HELP tencent_live_room_likes_total Likes the room has received since it was created (TotalLikesReceived from get_room_stats). Up to room_stats.interval old.
# TYPE tencent_live_room_likes_total counter
tencent_live_room_likes_total{app="app",room="r",tier="gold"} 40
# HELP tencent_live_room_messages_total Chat messages sent in the room since it was created (TotalMsgCount from get_room_stats). Up to room_stats.interval old.
# TYPE tencent_live_room_messages_total counter
tencent_live_room_messages_total{app="app",room="r",tier="gold"} 70
# HELP tencent_live_room_viewers_total Viewers the room has had since it was created (TotalViewers from get_room_stats). Up to room_stats.interval old.
# TYPE tencent_live_room_viewers_total counter
tencent_live_room_viewers_total{app="app",room="r",tier="gold"} 100
`
	names := []string{"tencent_live_room_gift_coins_total", "tencent_live_room_gift_senders_total", "tencent_live_room_gifts_total",
		"tencent_live_room_likes_total", "tencent_live_room_messages_total", "tencent_live_room_viewers_total"}
	if err := testutil.CollectAndCompare(e, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	eventually(t, 5*time.Second, "get_room_stats 100004 for the gone room, counted", func() bool {
		scrape(t, e, time.Second)
		return testutil.ToFloat64(e.inst.errors.WithLabelValues("app", tencent.CommandGetRoomStats, "100004")) >= 1
	})

	// Counters going down while the room lives on: the highest value is
	// held (rate() sees no reset), and the dip is counted.
	lower := counters
	lower.TotalLikesReceived = 10
	srv.SetRoom("r", tencenttest.Room{MemberCount: 9, Stats: lower})
	eventually(t, 5*time.Second, "the dip counted", func() bool {
		scrape(t, e, time.Second)
		return testutil.ToFloat64(e.inst.statsDips.WithLabelValues("app")) == 1
	})
	if got := exposition(t, e, "tencent_live_room_likes_total"); !strings.Contains(got, fmt.Sprintf("} %d\n", counters.TotalLikesReceived)) {
		t.Errorf("after a dip, likes_total = %s; want the highest value %d held", got, counters.TotalLikesReceived)
	}

	// A room that ends and comes back starts from zero: not a reset.
	srv.DeleteRoom("r")
	eventually(t, 5*time.Second, "the ended room's counters gone", func() bool {
		scrape(t, e, time.Second)
		return testutil.CollectAndCount(e, "tencent_live_room_likes_total") == 0
	})
	srv.SetRoom("r", tencenttest.Room{MemberCount: 2, Stats: tencenttest.RoomCounters{TotalViewers: 1, TotalLikesReceived: 1}})
	eventually(t, 10*time.Second, "the new room's counters", func() bool {
		scrape(t, e, time.Second)
		return testutil.CollectAndCount(e, "tencent_live_room_likes_total") == 1
	})
	if got := testutil.ToFloat64(e.inst.statsDips.WithLabelValues("app")); got != 1 {
		t.Errorf("stats resets = %v after the room came back; want still 1", got)
	}
}

// A configured room that discovery also listed keeps its listing metadata
// only while something refreshes it: once discovery and room_info are
// both off, its metadata series go, its member series stay.
func TestStaticRoomMetadataGoesWithDiscovery(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("live-a", tencenttest.Room{MemberCount: 3, Name: "A", ViewCount: 9})
	e := newExporter(t, Options{}, discoveryYAML(srv.URL, "discovery: {interval: 100ms}", "live-a"))
	eventually(t, 10*time.Second, "the listing's metadata for the configured room", func() bool {
		return strings.Contains(scrape1(t, e), `tencent_live_room_info{app="app",category="",name="A"`)
	})
	if err := e.ApplyConfig(mustDecode(t, appYAML("app", srv.URL, testKey, "", "live-a"))); err != nil {
		t.Fatal(err)
	}
	rt := e.order[0]
	rt.mu.Lock()
	snapshot := rt.rooms["live-a"].metaSnapshot.Load()
	rt.mu.Unlock()
	if snapshot != nil { // views skip it, yet it would be stale
		t.Error("the room keeps a metadata snapshot with discovery and room_info off")
	}
	text := scrape1(t, e)
	if strings.Contains(text, "tencent_live_room_info{") || strings.Contains(text, "tencent_live_room_views{") {
		t.Errorf("metadata served with discovery and room_info off:\n%s", text)
	}
	if !strings.Contains(text, `tencent_live_room_members{app="app",room="live-a"} 3`) {
		t.Errorf("member count gone with discovery:\n%s", text)
	}
}

// A discovered room that answers 100004 while the listing still shows it
// serves no series (no exists 0 to alert on: rooms come and go all day),
// stays watched, and serves again once it answers; a configured room's
// 100004 shows as exists 0.
func TestEndedDiscoveredRoomShowsNothing(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("live-x", tencenttest.Room{MemberCount: 5, ViewCount: 9})
	srv.SetRoom("static-s", tencenttest.Room{MemberCount: 6, Private: true})
	e := newExporter(t, Options{}, discoveryYAML(srv.URL, "refresh_interval: 100ms\ndiscovery: {interval: 1h}", "static-s"))
	eventually(t, 10*time.Second, "the discovered room served", func() bool {
		return strings.Contains(scrape1(t, e), `tencent_live_room_members{app="app",room="live-x"} 5`)
	})
	srv.FailNext("live-x", 100004, 1_000_000) // still listed
	srv.FailNext("static-s", 100004, 1_000_000)
	eventually(t, 10*time.Second, "the configured room's end shown", func() bool {
		return strings.Contains(scrape1(t, e), `tencent_live_room_exists{app="app",room="static-s"} 0`)
	})
	eventually(t, 10*time.Second, "the ended discovered room's series gone", func() bool {
		return !strings.Contains(scrape1(t, e), `room="live-x"`)
	})
	if !watched(e, "live-x") {
		t.Error("the listed room is no longer watched")
	}
	srv.FailNext("live-x", 100004, 0)
	eventually(t, 30*time.Second, "the room served again once it answers", func() bool {
		return strings.Contains(scrape1(t, e), `tencent_live_room_members{app="app",room="live-x"} 5`)
	})
}
