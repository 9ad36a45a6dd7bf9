package tencent

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// seatListShapes are get_seat_list Responses: the documented shape, its
// variants, and odd answers that must be "decode" errors, never data.
var seatListShapes = []struct {
	name     string
	response string
	wantErr  string
	want     []Seat
}{
	{"host on seat 0, two empty",
		`{"SeatList":[{"Index":0,"Member_Account":"host","IsTakenDisabled":false,"IsVideoDisabled":false,"IsAudioDisabled":false},{"Index":1,"Member_Account":""},{"Index":2}]}`, "",
		[]Seat{{Index: 0, Account: "host"}, {Index: 1}, {Index: 2}}},
	{"host not at index 0", `{"SeatList":[{"Index":0,"Member_Account":"guest"},{"Index":3,"Member_Account":"host"}]}`, "",
		[]Seat{{Index: 0, Account: "guest"}, {Index: 3, Account: "host"}}},
	{"numeric account", `{"SeatList":[{"Index":0,"Member_Account":10086},{"Index":1,"Member_Account":10087.0}]}`, "",
		[]Seat{{Index: 0, Account: "10086"}, {Index: 1, Account: "10087"}}},
	{"null account is an empty seat", `{"SeatList":[{"Index":0,"Member_Account":null}]}`, "", []Seat{{Index: 0}}},
	{"locked and muted", `{"SeatList":[{"Index":1,"IsTakenDisabled":true,"IsVideoDisabled":true,"IsAudioDisabled":true}]}`, "",
		[]Seat{{Index: 1, Locked: true, VideoDisabled: true, AudioDisabled: true}}},
	{"no seats at all", `{"SeatList":[]}`, "", []Seat{}},
	{"extra members", `{"RoomId":"r","SeatList":[{"Index":0,"Member_Account":"a","Extra":1}]}`, "", []Seat{{Index: 0, Account: "a"}}},
	{"missing SeatList", `{}`, "SeatList is missing, want an array", nil},
	{"null SeatList", `{"SeatList":null}`, "SeatList is null, want an array", nil},
	{"SeatList an object", `{"SeatList":{}}`, "SeatList is an object, want an array", nil},
	{"entry not an object", `{"SeatList":["host"]}`, "SeatList[0] is a string, want an object", nil},
	{"missing Index", `{"SeatList":[{"Member_Account":"a"}]}`, "SeatList[0]: Index is missing, want a non-negative integer", nil},
	{"negative Index", `{"SeatList":[{"Index":-1}]}`, "SeatList[0]: Index is the number -1, want a non-negative integer", nil},
	{"fractional Index", `{"SeatList":[{"Index":1.5}]}`, "SeatList[0]: Index is the number 1.5, want a non-negative integer", nil},
	{"duplicate Index", `{"SeatList":[{"Index":1},{"Index":1,"Member_Account":"a"}]}`, "SeatList[1]: Index 1 appears twice", nil},
	{"account an object", `{"SeatList":[{"Index":0,"Member_Account":{}}]}`, "SeatList[0]: Member_Account is an object, want a string or a number", nil},
	{"flag a string", `{"SeatList":[{"Index":0,"IsTakenDisabled":"yes"}]}`, "SeatList[0]: IsTakenDisabled is a string", nil},
	{"lowercase", `{"seatlist":[]}`, "SeatList is missing", nil},
}

func TestDecodeSeatList(t *testing.T) {
	for _, tt := range seatListShapes {
		t.Run(tt.name, func(t *testing.T) {
			var resp seatListResponse
			_, err := decodeAnswer(CommandGetSeatList, []byte(okAnswer(tt.response)), &resp)
			checkRoomDecode(t, tt.response, err, tt.wantErr)
			if !reflect.DeepEqual(resp.list.Seats, tt.want) {
				t.Errorf("decode(%s) = %+v; want %+v", tt.response, resp.list.Seats, tt.want)
			}
		})
	}
}

// FuzzDecodeSeatList: never a panic; an error has a stable code and leaves
// no data; a success is an OK envelope with seats of unique, non-negative
// indexes.
func FuzzDecodeSeatList(f *testing.F) {
	for _, tt := range seatListShapes {
		f.Add([]byte(okAnswer(tt.response)))
	}
	f.Add([]byte(failAnswer("100004")))
	f.Fuzz(func(t *testing.T, data []byte) {
		var resp seatListResponse
		_, err := decodeAnswer(CommandGetSeatList, data, &resp)
		if err != nil {
			var apiErr *APIError
			if code := ErrorCode(err); code != "decode" && (!errors.As(err, &apiErr) || apiErr.Code == 0) {
				t.Fatalf("decodeAnswer(%q) error %v has code %q", data, err, code)
			}
			if resp.list.Seats != nil {
				t.Fatalf("error %v left data %+v", err, resp.list.Seats)
			}
			return
		}
		var env envelope
		if json.Unmarshal(data, &env) != nil || env.ActionStatus != "OK" || resp.list.Seats == nil {
			t.Fatalf("decodeAnswer accepted %q as %+v", data, resp.list.Seats)
		}
		seen := map[int]bool{}
		for _, s := range resp.list.Seats {
			if s.Index < 0 || seen[s.Index] {
				t.Fatalf("decodeAnswer(%q): seat %+v", data, s)
			}
			seen[s.Index] = true
		}
	})
}
