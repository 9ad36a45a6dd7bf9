package collector

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

func createdEvent(id string) *tencent.Event {
	return &tencent.Event{Command: tencent.CallbackRoomCreated, RoomID: id,
		Room: &tencent.RoomInfo{RoomSummary: tencent.RoomSummary{RoomID: id, RoomName: id}}, RoomFields: map[string]bool{"RoomId": true, "RoomName": true}}
}

// While events arrive, sweeps keep to reconcile_interval; when they stop,
// back to discovery.interval. get_room_list calls fall by about the ratio
// of the two.
func TestWebhookPacesSweeps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		srv.SetRoom("live-1", tencenttest.Room{MemberCount: 1})
		e := newExporter(t, Options{}, discoveryYAML(srv.URL, "refresh_interval: 100ms\ndiscovery: {interval: 100ms}\nwebhook: {token: t, reconcile_interval: 1s}"))
		sweepCalls := func(d time.Duration, events bool) int {
			before := srv.Stats().CallsByCommand[tencent.CommandGetRoomList]
			end := time.Now().Add(d)
			for time.Now().Before(end) {
				if events {
					e.ApplyEvent(testSDKAppID, &tencent.Event{Command: tencent.CallbackMemberStateChanged, RoomID: "live-1", MemberEvent: "Online", MemberCause: "Enter", Members: 1}, time.Now())
				}
				scrape(t, e, 100*time.Millisecond)
				time.Sleep(20 * time.Millisecond)
			}
			return srv.Stats().CallsByCommand[tencent.CommandGetRoomList] - before
		}
		without := sweepCalls(3*time.Second, false)
		sweepCalls(1100*time.Millisecond, true) // the sweep due under the old pace runs
		with := sweepCalls(3*time.Second, true)
		t.Logf("get_room_list calls in 3 s: %d without events, %d with (reconcile_interval / discovery.interval = 10)", without, with)
		if with*4 > without {
			t.Errorf("get_room_list: %d calls with events against %d without; want at most a quarter", with, without)
		}
		// Quiet again: back to discovery.interval after reconcile_interval.
		time.Sleep(1200 * time.Millisecond)
		if after := sweepCalls(2*time.Second, false); after*2 < without*2/3 {
			t.Errorf("get_room_list: %d calls in 2 s once events stopped; want the normal pace again (%d in 3 s)", after, without)
		}
	})
}

// With a tenth of the created events lost, the watched set matches the
// listing after one reconcile_interval.
func TestWebhookReconcilesLostEvents(t *testing.T) {
	srv := newFake(t, 0)
	e := newExporter(t, Options{}, discoveryYAML(srv.URL, "refresh_interval: 100ms\ndiscovery: {interval: 100ms, max_rooms: 200}\nwebhook: {token: t, reconcile_interval: 1s}"))
	// Events arrive: once the sweep due now has run, the next one is a
	// reconcile_interval away.
	e.ApplyEvent(testSDKAppID, &tencent.Event{Command: tencent.CallbackMemberStateChanged, RoomID: "x"}, time.Now())
	n := sweeps(e, sweepOK)
	eventually(t, 5*time.Second, "a sweep at the slow pace", func() bool {
		scrape(t, e, 100*time.Millisecond)
		return sweeps(e, sweepOK) > n
	})
	n = sweeps(e, sweepOK) - 1
	rng := rand.New(rand.NewPCG(1, 2))
	var ids []string
	lost := 0
	for i := range 100 {
		id := fmt.Sprintf("live-%03d", i)
		ids = append(ids, id)
		srv.SetRoom(id, tencenttest.Room{MemberCount: 1, ViewCount: int64(100 + i)})
		if rng.Float64() < 0.1 {
			lost++
			continue
		}
		e.ApplyEvent(testSDKAppID, createdEvent(id), time.Now())
	}
	for range 5 { // the events keep the slow pace
		e.ApplyEvent(testSDKAppID, &tencent.Event{Command: tencent.CallbackMemberStateChanged, RoomID: "live-000"}, time.Now())
		scrape(t, e, 100*time.Millisecond)
	}
	if got := len(watchedRooms(e)); got != 100-lost && sweeps(e, sweepOK) == n+1 { // no sweep since: only events added rooms
		t.Fatalf("%d rooms watched right after the events; want the %d whose event arrived", got, 100-lost)
	}
	deadline := time.Now().Add(1500 * time.Millisecond) // one reconcile_interval, and some
	for !slices.Equal(sortedIDs(watchedRooms(e)), ids) {
		if time.Now().After(deadline) {
			t.Fatalf("after a reconcile_interval, %d rooms watched; want all %d listed (%d events lost)", len(watchedRooms(e)), len(ids), lost)
		}
		e.ApplyEvent(testSDKAppID, &tencent.Event{Command: tencent.CallbackMemberStateChanged, RoomID: "live-000"}, time.Now())
		scrape(t, e, 100*time.Millisecond)
		time.Sleep(50 * time.Millisecond)
	}
}

func sortedIDs(ids []string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

// Events for rooms nobody watches are counted and otherwise ignored; a
// destroyed event ends a configured room at once.
func TestWebhookEventsOwnRooms(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("static", tencenttest.Room{MemberCount: 9})
	e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "refresh_interval: 1h\nwebhook: {token: t}", "static"))
	scrape(t, e, 5*time.Second)
	if got := e.ApplyEvent(testSDKAppID, createdEvent("elsewhere"), time.Now()); got != EventIgnored {
		t.Errorf("created without discovery: %s; want ignored", got)
	}
	if got := e.ApplyEvent(testSDKAppID+1, createdEvent("x"), time.Now()); got != EventIgnored {
		t.Errorf("another app: %s; want ignored", got)
	}
	ended := &tencent.Event{Command: tencent.CallbackRoomDestroyed, RoomID: "static", DestroyCause: "DestroyBySystem",
		Statistic: &tencent.RoomStats{TotalViewers: 40, TotalLikesReceived: 5}}
	if got := e.ApplyEvent(testSDKAppID, ended, time.Now()); got != EventOK {
		t.Errorf("destroyed: %s; want ok", got)
	}
	if v, _ := roomValue(t, e, "tencent_live_room_exists", "static"); v != 0 {
		t.Errorf("exists = %v after the destroyed event; want 0", v)
	}
	if _, ok := roomValue(t, e, "tencent_live_room_members", "static"); ok {
		t.Error("the destroyed room still shows its members")
	}
	if got := appValue(t, e, "tencent_live_app_ended_room_viewers_total"); got != 40 {
		t.Errorf("ended_room_viewers_total = %v; want 40", got)
	}
	interrupted := &tencent.Event{Command: tencent.CallbackMemberStateChanged, RoomID: "static", MemberEvent: "Offline", MemberCause: "HeartbeatInterrupt", Members: 3}
	e.ApplyEvent(testSDKAppID, interrupted, time.Now())
	if v, _ := roomValue(t, e, "tencent_live_room_heartbeat_interrupts_total", "static"); v != 3 {
		t.Errorf("heartbeat_interrupts_total = %v; want 3", v)
	}
	if got := appValue(t, e, "tencent_live_member_events_total", `cause="heartbeat_interrupt"`, `event="offline"`); got != 3 {
		t.Errorf("member_events_total = %v; want 3", got)
	}
}

// A reload decides where callbacks go: a token change is used at once, an
// app whose webhook block is removed is no longer found and its events
// change nothing, one put back is found again.
func TestWebhookAppFollowsReloads(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("live-1", tencenttest.Room{MemberCount: 1})
	with := func(token string) *Config {
		return mustDecode(t, appYAML("app", srv.URL, testKey, "refresh_interval: 1h\nwebhook: {token: "+token+"}", "live-1"))
	}
	enter := &tencent.Event{Command: tencent.CallbackMemberStateChanged, RoomID: "live-1", MemberEvent: "Online", MemberCause: "Enter", Members: 1}
	e, err := New(with("first"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	if w, ok := e.WebhookApp(testSDKAppID); !ok || w.Token != "first" || !w.Owned || w.Name != "app" {
		t.Fatalf("WebhookApp = %+v, %v; want app's, token first, owned", w, ok)
	}
	if _, ok := e.WebhookApp(testSDKAppID + 1); ok {
		t.Error("WebhookApp found an SDKAppID that is not configured")
	}
	if err := e.ApplyConfig(with("second")); err != nil {
		t.Fatal(err)
	}
	if w, _ := e.WebhookApp(testSDKAppID); w.Token != "second" {
		t.Errorf("token after the reload = %q; want second", w.Token)
	}
	if err := e.ApplyConfig(mustDecode(t, appYAML("app", srv.URL, testKey, "refresh_interval: 1h", "live-1"))); err != nil {
		t.Fatal(err)
	}
	if w, ok := e.WebhookApp(testSDKAppID); ok {
		t.Errorf("WebhookApp = %+v after the webhook block was removed; want none", w)
	}
	if got := e.ApplyEvent(testSDKAppID, enter, time.Now()); got != EventIgnored {
		t.Errorf("an event for an app without a webhook block: %q; want %q", got, EventIgnored)
	}
	if err := e.ApplyConfig(with("third")); err != nil {
		t.Fatal(err)
	}
	if got := e.ApplyEvent(testSDKAppID, enter, time.Now()); got != EventOK {
		t.Errorf("an event once the block is back: %q; want %q", got, EventOK)
	}
}
