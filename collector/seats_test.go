package collector

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

var seatFamilyNames = []string{"tencent_live_room_seats", "tencent_live_room_seats_taken", "tencent_live_room_seats_locked", "tencent_live_room_owner_on_seat"}

// Seats per room from get_seat_list: the host found by Owner_Account
// wherever they sit, numeric accounts included; no owner_on_seat while the
// owner is unknown.
func TestRoomSeats(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("stage", tencenttest.Room{MemberCount: 80, Owner: "10086", OwnerAsNumber: true, SeatAccountsNumeric: true,
		Seats: []tencenttest.Seat{{Account: "guest"}, {}, {Account: "10086"}, {Locked: true}}})
	srv.SetRoom("anon", tencenttest.Room{MemberCount: 3, Seats: []tencenttest.Seat{{Account: "someone"}, {}}, EmptySeatsOmitted: true})
	e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "refresh_interval: 100ms\nroom_seats: {interval: 1s}\nroom_info: {interval: 1s}",
		"{id: stage, labels: {tier: gold}}", "anon"))
	eventually(t, 10*time.Second, "seats and owner known", func() bool {
		scrape(t, e, time.Second)
		// anon's Owner_Account is empty: owner_on_seat would be a guess.
		return testutil.CollectAndCount(e, "tencent_live_room_owner_on_seat") == 1 &&
			testutil.CollectAndCount(e, "tencent_live_room_seats") == 2
	})
	want := `# HELP tencent_live_room_owner_on_seat Whether the room's owner (Owner_Account from the listing or get_room_info) sits on any seat (get_seat_list): 1 or 0; absent while the owner is unknown. Up to room_seats.interval old.
# TYPE tencent_live_room_owner_on_seat gauge
tencent_live_room_owner_on_seat{app="app",room="stage",tier="gold"} 1
# HELP tencent_live_room_seats Seats the room has (entries of get_seat_list). Up to room_seats.interval old.
# TYPE tencent_live_room_seats gauge
tencent_live_room_seats{app="app",room="anon",tier=""} 2
tencent_live_room_seats{app="app",room="stage",tier="gold"} 4
# HELP tencent_live_room_seats_locked Seats of the room that cannot be taken (IsTakenDisabled in get_seat_list). Up to room_seats.interval old.
# TYPE tencent_live_room_seats_locked gauge
tencent_live_room_seats_locked{app="app",room="anon",tier=""} 0
tencent_live_room_seats_locked{app="app",room="stage",tier="gold"} 1
# HELP tencent_live_room_seats_taken Seats of the room with someone on them (get_seat_list). Up to room_seats.interval old.
# TYPE tencent_live_room_seats_taken gauge
tencent_live_room_seats_taken{app="app",room="anon",tier=""} 1
tencent_live_room_seats_taken{app="app",room="stage",tier="gold"} 2
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want), seatFamilyNames...); err != nil {
		t.Error(err)
	}

	// The host steps off: the stage has a guest, not the owner.
	srv.SetRoom("stage", tencenttest.Room{MemberCount: 80, Owner: "10086", OwnerAsNumber: true,
		Seats: []tencenttest.Seat{{Account: "guest"}, {}, {}, {Locked: true}}})
	eventually(t, 10*time.Second, "owner off stage", func() bool {
		scrape(t, e, time.Second)
		v, ok := roomValue(t, e, "tencent_live_room_owner_on_seat", "stage")
		return ok && v == 0
	})
	if v, _ := roomValue(t, e, "tencent_live_room_seats_taken", "stage"); v != 1 {
		t.Errorf("seats_taken = %v; want 1", v)
	}
	// And comes back, at another seat.
	srv.SetRoom("stage", tencenttest.Room{MemberCount: 80, Owner: "10086",
		Seats: []tencenttest.Seat{{Account: "10086"}, {}, {}, {Locked: true}}})
	eventually(t, 10*time.Second, "owner on stage again", func() bool {
		scrape(t, e, time.Second)
		v, ok := roomValue(t, e, "tencent_live_room_owner_on_seat", "stage")
		return ok && v == 1
	})
}

// A get_seat_list failure is its own: 100004 does not decide the room is
// gone, an odd answer is decode and never data, a denial backs the command
// off alone.
func TestRoomSeatsFailures(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("r", tencenttest.Room{MemberCount: 42, Seats: []tencenttest.Seat{{Account: "a"}}})
	srv.SetRoom("odd", tencenttest.Room{MemberCount: 7, SeatsRawBody: `{"ActionStatus":"OK","ErrorCode":0,"RequestId":"x","Response":{"SeatList":null}}`})
	srv.FailNextCommand(tencent.CommandGetSeatList, "r", 100004, 1<<30)
	e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "refresh_interval: 100ms\nroom_seats: {interval: 1s}", "r", "odd"))
	eventually(t, 10*time.Second, "get_seat_list answered 100004 and decode", func() bool {
		scrape(t, e, time.Second)
		return testutil.ToFloat64(e.inst.errors.WithLabelValues("app", tencent.CommandGetSeatList, "100004")) >= 1 &&
			testutil.ToFloat64(e.inst.errors.WithLabelValues("app", tencent.CommandGetSeatList, "decode")) >= 1
	})
	for name, want := range map[string]float64{"tencent_live_room_members": 42, "tencent_live_room_exists": 1, "tencent_live_room_up": 1} {
		if got, ok := roomValue(t, e, name, "r"); !ok || got != want {
			t.Errorf("%s{r} = %v (served %v); want %v", name, got, ok, want)
		}
	}
	if n := testutil.CollectAndCount(e, seatFamilyNames...); n != 0 {
		t.Errorf("%d seat series from a 100004 and an odd answer; want none", n)
	}

	srv.FailNextCommand(tencent.CommandGetSeatList, "r", 60010, 1<<30)
	srv.FailNextCommand(tencent.CommandGetSeatList, "odd", 60010, 1<<30)
	eventually(t, 10*time.Second, "get_seat_list not accepted", func() bool {
		scrape(t, e, time.Second)
		return appValue(t, e, "tencent_live_command_up", `command="get_seat_list"`) == 0
	})
	if got := appValue(t, e, "tencent_live_app_up"); got != 1 {
		t.Errorf("app_up = %v while only get_seat_list is denied; want 1", got)
	}
}

// Discovered rooms have seats too, with only app and room labels, and
// owner_on_seat from the listing's Owner_Account without room_info.
func TestDiscoveredRoomSeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		srv.SetRoom("onstage", tencenttest.Room{MemberCount: 30, Owner: "amy", ViewCount: 2, Seats: []tencenttest.Seat{{}, {Account: "amy"}}})
		srv.SetRoom("offstage", tencenttest.Room{MemberCount: 20, Owner: "ben", ViewCount: 1, Seats: []tencenttest.Seat{{Account: "guest"}, {}}})
		e := newExporter(t, Options{}, discoveryYAML(srv.URL, "refresh_interval: 200ms\ndiscovery: {interval: 1s}\nroom_seats: {interval: 1s}"))
		eventually(t, 10*time.Second, "seats of both discovered rooms", func() bool {
			scrape(t, e, time.Second)
			return testutil.CollectAndCount(e, "tencent_live_room_owner_on_seat") == 2
		})
		want := `# HELP tencent_live_room_owner_on_seat Whether the room's owner (Owner_Account from the listing or get_room_info) sits on any seat (get_seat_list): 1 or 0; absent while the owner is unknown. Up to room_seats.interval old.
# TYPE tencent_live_room_owner_on_seat gauge
tencent_live_room_owner_on_seat{app="app",room="offstage"} 0
tencent_live_room_owner_on_seat{app="app",room="onstage"} 1
# HELP tencent_live_room_seats_taken Seats of the room with someone on them (get_seat_list). Up to room_seats.interval old.
# TYPE tencent_live_room_seats_taken gauge
tencent_live_room_seats_taken{app="app",room="offstage"} 1
tencent_live_room_seats_taken{app="app",room="onstage"} 1
`
		if err := testutil.CollectAndCompare(e, strings.NewReader(want), "tencent_live_room_owner_on_seat", "tencent_live_room_seats_taken"); err != nil {
			t.Error(err)
		}
		if n := srv.Stats().CallsByCommand[tencent.CommandGetRoomInfo]; n != 0 {
			t.Errorf("%d get_room_info calls without room_info; want none", n)
		}
	})
}

// A room that ends (get_member_list answers 100004) takes its seat series
// with it at once, before they would expire.
func TestEndedRoomDropsSeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeFake(t, 0)
		srv.SetRoom("r", tencenttest.Room{MemberCount: 5, Seats: []tencenttest.Seat{{Account: "host"}}})
		e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "refresh_interval: 200ms\nroom_seats: {interval: 1h}", "r"))
		eventually(t, 5*time.Second, "seats served", func() bool {
			scrape(t, e, time.Second)
			return testutil.CollectAndCount(e, seatFamilyNames...) == 3 // no owner known: no owner_on_seat
		})
		srv.DeleteRoom("r")
		eventually(t, 5*time.Second, "the room ended", func() bool {
			scrape(t, e, time.Second)
			v, ok := roomValue(t, e, "tencent_live_room_exists", "r")
			return ok && v == 0
		})
		if n := testutil.CollectAndCount(e, seatFamilyNames...); n != 0 {
			t.Errorf("%d seat series of a room that ended; want none", n)
		}
	})
}
