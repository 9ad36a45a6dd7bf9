package tencent

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The docs' worked example.
func TestCallbackSign(t *testing.T) {
	if got := CallbackSign("xxxxyyyy", "1669872112"); got != "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061" {
		t.Errorf("CallbackSign = %s", got)
	}
}

func TestVerifyCallback(t *testing.T) {
	now := time.Unix(1669872112, 0)
	good := CallbackSign("tok", "1669872112")
	tests := []struct {
		name, token, sign, time string
		want                    error
	}{
		{"good", "tok", good, "1669872112", nil},
		{"uppercase hex", "tok", strings.ToUpper(good), "1669872112", nil},
		{"59 s early", "tok", CallbackSign("tok", "1669872053"), "1669872053", nil},
		{"61 s early", "tok", CallbackSign("tok", "1669872051"), "1669872051", ErrCallbackStale},
		{"61 s ahead", "tok", CallbackSign("tok", "1669872173"), "1669872173", ErrCallbackStale},
		{"replayed later", "tok", good, "1669872112", nil}, // see the stale case: same pair, later clock
		{"wrong token", "other", good, "1669872112", ErrCallbackSign},
		{"time changed", "tok", good, "1669872113", ErrCallbackSign},
		{"truncated sign", "tok", good[:63], "1669872112", ErrCallbackSign},
		{"no sign", "tok", "", "1669872112", ErrCallbackUnsigned},
		{"no time", "tok", good, "", ErrCallbackUnsigned},
		{"time not a number", "tok", CallbackSign("tok", "soon"), "soon", ErrCallbackStale},
	}
	for _, tt := range tests {
		if err := VerifyCallback(tt.token, tt.sign, tt.time, now); !errors.Is(err, tt.want) {
			t.Errorf("%s: VerifyCallback = %v; want %v", tt.name, err, tt.want)
		}
	}
	if err := VerifyCallback("tok", good, "1669872112", now.Add(2*time.Minute)); !errors.Is(err, ErrCallbackStale) {
		t.Errorf("a request replayed two minutes later: %v; want stale", err)
	}
}

func TestDecodeCallback(t *testing.T) {
	tests := []struct {
		name, command, body string
		want                *Event
		wantErr             string
	}{
		{"created", CallbackRoomCreated,
			`{"Operator_Account":"alice","RoomInfo":{"RoomId":"r1","RoomName":"Alice","RoomType":"Live","Owner_Account":10086,"MaxMemberCount":500,"MaxSeatCount":4,"TakeSeatMode":"ApplyToTake","CreateTime":1700000000,"Category":[1,2],"EventTime":1700000000123}}`,
			&Event{Command: CallbackRoomCreated, RoomID: "r1", Operator: "alice", EventTime: time.UnixMilli(1700000000123),
				Room: &RoomInfo{RoomSummary: RoomSummary{RoomID: "r1", RoomName: "Alice", Owner: "10086", CreateTime: 1700000000, Category: []int{1, 2}},
					RoomType: "Live", MaxMemberCount: 500, MaxSeatCount: 4, TakeSeatMode: "ApplyToTake", IsPublicVisible: true}}, ""},
		{"created, EventTime at the top", CallbackRoomCreated, `{"EventTime":5,"RoomInfo":{"RoomId":"r1"}}`,
			&Event{Command: CallbackRoomCreated, RoomID: "r1", EventTime: time.UnixMilli(5), Room: &RoomInfo{RoomSummary: RoomSummary{RoomID: "r1"}, IsPublicVisible: true}}, ""},
		{"destroyed with totals", CallbackRoomDestroyed,
			`{"RoomId":"r1","EventType":"DestroyBySystem","EventTime":7,"Statistic":{"TotalViewers":10,"TotalGiftsSent":2,"TotalGiftCoins":20,"TotalUniqueGiftSenders":1,"TotalLikesReceived":30}}`,
			&Event{Command: CallbackRoomDestroyed, RoomID: "r1", EventTime: time.UnixMilli(7), DestroyCause: "DestroyBySystem",
				Statistic: &RoomStats{TotalViewers: 10, TotalGiftsSent: 2, TotalGiftCoins: 20, TotalUniqueGiftSenders: 1, TotalLikesReceived: 30}}, ""},
		{"destroyed, older page", CallbackRoomDestroyed, `{"RoomId":"r1","EventType":"DestroyByUser"}`,
			&Event{Command: CallbackRoomDestroyed, RoomID: "r1", DestroyCause: "DestroyByUser"}, ""},
		{"member state, alias", CallbackMemberStateChangedAlias,
			`{"RoomId":"r1","EventType":"Offline","EventCause":"HeartbeatInterrupt","MemberList":[{"Member_Account":"a"},{"Member_Account":12}],"EventTime":9}`,
			&Event{Command: CallbackMemberStateChanged, RoomID: "r1", MemberEvent: "Offline", MemberCause: "HeartbeatInterrupt", Members: 2, EventTime: time.UnixMilli(9)}, ""},
		{"seats", CallbackSeatsChanged, `{"RoomId":"r1","SeatList":[{"Index":0,"Member_Account":"host"},{"Index":1}]}`,
			&Event{Command: CallbackSeatsChanged, RoomID: "r1", Seats: []Seat{{Index: 0, Account: "host"}, {Index: 1}}}, ""},
		{"unknown command", "Live.CallbackSomethingNew", `{}`, nil, ErrUnknownCallback.Error()},
		{"not JSON", CallbackRoomCreated, `{"RoomInfo":{"RoomId":"r1",}}`, nil, "not valid JSON"},
		{"not an object", CallbackRoomCreated, `[1]`, nil, "body is an array, want an object"},
		{"no RoomInfo", CallbackRoomCreated, `{"RoomId":"r1"}`, nil, "RoomInfo is missing"},
		{"no RoomId", CallbackRoomInfoUpdated, `{"RoomInfo":{"RoomName":"x"}}`, nil, "RoomId is missing"},
		{"member list not an array", CallbackMemberStateChanged, `{"RoomId":"r1","MemberList":{}}`, nil, "MemberList is an object"},
		{"seats without a list", CallbackSeatsChanged, `{"RoomId":"r1"}`, nil, "SeatList is missing"},
		{"negative total", CallbackRoomDestroyed, `{"RoomId":"r1","Statistic":{"TotalViewers":-1}}`, nil, "Statistic: TotalViewers is the number -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeCallback(tt.command, []byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DecodeCallback = %+v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.RoomFields = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecodeCallback =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// FuzzDecodeCallback: never a panic; a decoded event names its room.
func FuzzDecodeCallback(f *testing.F) {
	f.Add(CallbackRoomCreated, []byte(`{"RoomInfo":{"RoomId":"r1","Owner_Account":1}}`))
	f.Add(CallbackRoomDestroyed, []byte(`{"RoomId":"r1","Statistic":{"TotalViewers":1}}`))
	f.Add(CallbackMemberStateChanged, []byte(`{"RoomId":"r1","MemberList":[{"Member_Account":"a"}]}`))
	f.Add(CallbackSeatsChanged, []byte(`{"RoomId":"r1","SeatList":[]}`))
	f.Fuzz(func(t *testing.T, command string, body []byte) {
		ev, err := DecodeCallback(command, body)
		if err == nil && (ev == nil || ev.RoomID == "") {
			t.Fatalf("DecodeCallback(%q, %q) = %+v without a room", command, body, ev)
		}
	})
}
