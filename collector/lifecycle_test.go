package collector

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// What users do next with an optional room command, for each of them:
// it breaks and its values stop being served once too old while members
// carry on; it recovers; its own 60007 slows it alone; a reload lowers its
// max_qps; a reload turns it off and its series go at once, with no call
// after.
func TestOptionalCommandLifecycle(t *testing.T) {
	for _, tc := range []struct {
		command string
		block   string // the configuration block that turns it on, interval 1 s
		lowered string // the same, max_qps lowered
		family  string // a family only this command fills
	}{
		{tencent.CommandGetRoomStats, "room_stats: {interval: 1s}", "room_stats: {interval: 1s, max_qps: 5}", "tencent_live_room_messages_total"},
		{tencent.CommandGetRoomInfo, "room_info: {interval: 1s}", "room_info: {interval: 1s, max_qps: 5}", "tencent_live_room_max_members"},
		{tencent.CommandGetSeatList, "room_seats: {interval: 1s}", "room_seats: {interval: 1s, max_qps: 5}", "tencent_live_room_seats_taken"},
	} {
		t.Run(tc.command, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newPipeFake(t, 0)
				srv.SetRoom("r", tencenttest.Room{MemberCount: 42, Name: "r", Owner: "host", MaxMemberCount: 500,
					Stats: tencenttest.RoomCounters{TotalMsgCount: 7}, Seats: []tencenttest.Seat{{Account: "host"}, {}}})
				base := "refresh_interval: 200ms\n"
				command := `command="` + tc.command + `"`
				e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, base+tc.block, "r"))
				served := func() bool {
					_, ok := roomValue(t, e, tc.family, "r")
					return ok
				}
				eventually(t, 5*time.Second, tc.family+" served", func() bool {
					scrape(t, e, time.Second)
					return served()
				})

				// Broken for longer than twice its interval: no longer served,
				// while the room's members are.
				srv.FailNextCommand(tc.command, "r", 100001, 1<<30)
				broke := time.Now()
				eventually(t, 10*time.Second, tc.family+" no longer served", func() bool {
					scrape(t, e, time.Second)
					return !served()
				})
				// Served until the last answer is twice the interval old: at
				// least an interval after the first failure.
				if held := time.Since(broke); held < time.Second {
					t.Errorf("%s dropped %s after the command broke; want it served until twice its 1 s interval old", tc.family, held)
				}
				if v, ok := roomValue(t, e, "tencent_live_room_members", "r"); !ok || v != 42 {
					t.Errorf("members = %v (served %v) while %s fails; want 42", v, ok, tc.command)
				}
				if got := appValue(t, e, "tencent_live_app_up"); got != 1 {
					t.Errorf("app_up = %v while only %s fails; want 1", got, tc.command)
				}

				srv.FailNextCommand(tc.command, "r", 0, 0)
				eventually(t, 10*time.Second, tc.family+" served again", func() bool {
					scrape(t, e, time.Second)
					return served()
				})

				// Its own frequency limit (60007) slows it alone.
				srv.FailNextCommand(tc.command, "r", 60007, 1)
				eventually(t, 10*time.Second, tc.command+" slowed by a 60007", func() bool {
					scrape(t, e, time.Second)
					return appValue(t, e, "tencent_live_app_limiter_qps", command) < appValue(t, e, "tencent_live_app_max_qps", command)
				})
				members := `command="get_member_list"`
				if got, limit := appValue(t, e, "tencent_live_app_limiter_qps", members), appValue(t, e, "tencent_live_app_max_qps", members); got != limit {
					t.Errorf("limiter_qps{get_member_list} = %v after a 60007 of %s; want its max_qps %v", got, tc.command, limit)
				}

				// A reload lowers its max_qps: the gate follows at once.
				if err := e.ApplyConfig(mustDecode(t, appYAML("app", srv.URL, testKey, base+tc.lowered, "r"))); err != nil {
					t.Fatal(err)
				}
				scrape(t, e, time.Second)
				if got := appValue(t, e, "tencent_live_app_max_qps", command); got != 5 {
					t.Errorf("max_qps{%s} = %v after the reload; want 5", tc.command, got)
				}

				// A reload turns it off: its series go with the next scrape,
				// members stay, and the upstream hears no more of it.
				if err := e.ApplyConfig(mustDecode(t, appYAML("app", srv.URL, testKey, base, "r"))); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Second) // any request in flight has ended
				scrape(t, e, time.Second)
				if served() {
					t.Errorf("%s still served after a reload turned %s off", tc.family, tc.command)
				}
				if v, ok := roomValue(t, e, "tencent_live_room_members", "r"); !ok || v != 42 {
					t.Errorf("members = %v (served %v) after the reload; want 42", v, ok)
				}
				calls := srv.Stats().CallsByCommand[tc.command]
				for range 10 {
					time.Sleep(500 * time.Millisecond)
					scrape(t, e, time.Second)
				}
				if more := srv.Stats().CallsByCommand[tc.command] - calls; more != 0 {
					t.Errorf("%d %s calls in 5 s after a reload turned it off; want none", more, tc.command)
				}
			})
		})
	}
}
