package tencent

import (
	"context"
	"encoding/json"
	"fmt"
)

// SeatList is the answer of get_seat_list: every seat of a room, taken or
// not, in the order of the answer.
type SeatList struct {
	Seats     []Seat
	RequestID string
}

// Seat is one seat of a room.
type Seat struct {
	Index int
	// Account is the user on the seat: "" when the seat is empty. A
	// numeric Member_Account reads as its decimal text.
	Account       string
	Locked        bool // IsTakenDisabled: the seat cannot be taken
	VideoDisabled bool
	AudioDisabled bool
}

// Taken reports whether someone sits on the seat.
func (s Seat) Taken() bool { return s.Account != "" }

// GetSeatList lists the seats of one room and who sits on them. It calls
// v4/room_engine_http_mic/get_seat_list (note the service: not
// live_engine_http_srv; upstream limit: 200 calls a second), documented
// at https://www.tencentcloud.com/document/product/1071/76869.
//
// The host is not always at Index 0: find them by the room's
// Owner_Account. An answer without a SeatList array, with an entry that is
// not an object, without an integer Index, or with two entries of the same
// Index is a "decode" error. An empty SeatList is a room without seats.
func (c *Client) GetSeatList(ctx context.Context, roomID string) (*SeatList, error) {
	var resp seatListResponse
	requestID, err := c.call(ctx, CommandGetSeatList, roomRequest{RoomID: roomID}, &resp)
	if err != nil {
		return nil, err
	}
	resp.list.RequestID = requestID
	return &resp.list, nil
}

// seatListResponse is a get_seat_list Response.
type seatListResponse struct{ list SeatList }

// UnmarshalJSON decodes a Response object: SeatList must be an array (an
// empty one is a room without seats; absent or null is an error, never a
// room without seats), each entry an object with a non-negative integer
// Index, unique in the list. Member_Account is optional: missing, null or
// "" is an empty seat, a number is kept as its decimal text. The
// Is*Disabled flags are optional booleans, false when absent.
func (r *seatListResponse) UnmarshalJSON(data []byte) error {
	o := readObject("Response", data)
	list := o.raw("SeatList")
	if o.err != nil {
		return o.err
	}
	if jsonKind(list) != "an array" {
		return fieldError("SeatList", list, "an array")
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(list, &entries); err != nil {
		return fmt.Errorf("SeatList: %w", err)
	}
	seats := make([]Seat, 0, len(entries))
	seen := make(map[int]bool, len(entries))
	for i, entry := range entries {
		name := fmt.Sprintf("SeatList[%d]", i)
		e := readObject(name, entry)
		if e.err == nil && absent(e.raw("Index")) {
			return fmt.Errorf("%s: Index is missing, want a non-negative integer", name)
		}
		seat := Seat{
			Index:         e.intField("Index", 0),
			Account:       e.account("Member_Account"),
			Locked:        e.flag("IsTakenDisabled", false),
			VideoDisabled: e.flag("IsVideoDisabled", false),
			AudioDisabled: e.flag("IsAudioDisabled", false),
		}
		if e.err != nil {
			if jsonKind(entry) != "an object" {
				return e.err // already names the entry
			}
			return fmt.Errorf("%s: %w", name, e.err)
		}
		if seen[seat.Index] {
			return fmt.Errorf("%s: Index %d appears twice", name, seat.Index)
		}
		seen[seat.Index] = true
		seats = append(seats, seat)
	}
	r.list.Seats = seats
	return nil
}
