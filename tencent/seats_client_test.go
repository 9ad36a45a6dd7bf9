package tencent_test

import (
	"reflect"
	"testing"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// get_seat_list is served by another service (room_engine_http_mic): the
// fake answers it there only, so an answer proves the path.
func TestGetSeatList(t *testing.T) {
	client, fake, requests := setup(t)
	fake.SetRoom("stage", tencenttest.Room{
		Seats:               []tencenttest.Seat{{Account: "guest"}, {}, {Account: "10086"}, {Locked: true}},
		EmptySeatsOmitted:   true,
		SeatAccountsNumeric: true,
	})
	list, err := client.GetSeatList(t.Context(), "stage")
	if err != nil {
		t.Fatal(err)
	}
	want := []tencent.Seat{{Index: 0, Account: "guest"}, {Index: 1}, {Index: 2, Account: "10086"}, {Index: 3, Locked: true}}
	if !reflect.DeepEqual(list.Seats, want) || list.RequestID == "" {
		t.Errorf("GetSeatList = %+v; want %+v and a request id", list, want)
	}
	if body := requests()[0].body; body != `{"RoomId":"stage"}` {
		t.Errorf("request body %s", body)
	}

	fake.SetRoom("bare", tencenttest.Room{})
	if list, err := client.GetSeatList(t.Context(), "bare"); err != nil || len(list.Seats) != 0 || list.Seats == nil {
		t.Errorf("room without seats: %+v, %v; want an empty list", list, err)
	}
	if _, err := client.GetSeatList(t.Context(), "nowhere"); tencent.ErrorCode(err) != "100004" {
		t.Errorf("unknown room: %v; want 100004", err)
	}
	fake.SetRoom("odd", tencenttest.Room{SeatsRawBody: `{"ActionStatus":"OK","ErrorCode":0,"RequestId":"x","Response":{"SeatList":{}}}`})
	if _, err := client.GetSeatList(t.Context(), "odd"); tencent.ErrorCode(err) != "decode" {
		t.Errorf("odd answer: %v; want a decode error", err)
	}
}
