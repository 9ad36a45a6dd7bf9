package tencent

import "context"

// RoomListMaxCount is the largest Count get_room_list accepts (20).
const RoomListMaxCount = 20

// RoomSummary is one room of a get_room_list page.
type RoomSummary struct {
	RoomID         string
	RoomName       string
	Owner          string // Owner_Account: a string, or a number in its decimal text
	CoverURL       string
	Category       []int // nil when absent or empty
	CreateTime     int64 // unix seconds; 0 if absent
	ActivityStatus int
	ViewCount      int64
}

// RoomListPage is one answer of get_room_list.
type RoomListPage struct {
	// Rooms are in the upstream's order: ViewCount descending. That order
	// changes while a caller pages, so a sweep may see a room twice or
	// miss one: de-duplicate by RoomID and never read a missing room as
	// an ended one from a single sweep.
	Rooms     []RoomSummary
	Next      string // "" when the listing is done
	RequestID string
}

type roomListRequest struct {
	Next  string `json:"Next"`
	Count int    `json:"Count"`
}

// GetRoomList reads one page of the app's public rooms: the first with
// next "", then each with the Next of the page before, until Next is "".
// count is clamped to 1..RoomListMaxCount. It calls
// v4/live_engine_http_srv/get_room_list (upstream limit: 10 calls a
// second), documented at
// https://www.tencentcloud.com/document/product/1071/76888.
//
// An answer without a RoomList array, or with an entry lacking a RoomId,
// is a "decode" error: a broken page never reads as an empty listing.
func (c *Client) GetRoomList(ctx context.Context, next string, count int) (*RoomListPage, error) {
	count = min(max(count, 1), RoomListMaxCount)
	var resp roomListResponse
	requestID, err := c.call(ctx, CommandGetRoomList, roomListRequest{Next: next, Count: count}, &resp)
	if err != nil {
		return nil, err
	}
	resp.page.RequestID = requestID
	return &resp.page, nil
}

// RoomInfo is the answer of get_room_info: what a listing says of the
// room, and more.
type RoomInfo struct {
	RoomSummary
	RoomType          string // "Live" for a live room
	MaxMemberCount    int
	MaxSeatCount      int
	IsSeatEnabled     bool
	TakeSeatMode      string // int or string upstream; ints as decimal text
	IsMessageDisabled bool
	IsPublicVisible   bool // true when absent: the upstream's default
	RequestID         string
}

type roomRequest struct {
	RoomID string `json:"RoomId"`
}

// GetRoomInfo describes one room. It calls
// v4/live_engine_http_srv/get_room_info (upstream limit: 200 calls a
// second), documented at https://cloud.tencent.com/document/product/647/63404.
//
// The docs disagree on two types, so Owner_Account may be a string or a
// number and TakeSeatMode an int or a string; an answer without a RoomInfo
// object holding a RoomId is a "decode" error.
func (c *Client) GetRoomInfo(ctx context.Context, roomID string) (*RoomInfo, error) {
	var resp roomInfoResponse
	requestID, err := c.call(ctx, CommandGetRoomInfo, roomRequest{RoomID: roomID}, &resp)
	if err != nil {
		return nil, err
	}
	resp.info.RequestID = requestID
	return &resp.info, nil
}

// RoomStats is the answer of get_room_stats: cumulative counts since the room was created.
type RoomStats struct {
	TotalViewers           int64 // viewers ever (cumulative, not unique)
	TotalGiftsSent         int64 // gifts received
	TotalGiftCoins         int64 // coin value of the gifts received
	TotalUniqueGiftSenders int64 // distinct gift senders
	TotalLikesReceived     int64
	TotalMsgCount          int64 // messages sent in the room
	RequestID              string
}

// GetRoomStats reads one room's cumulative counters. They start again from
// zero when a room is dissolved and created anew under the same id. It
// calls v4/live_engine_http_srv/get_room_stats (upstream limit: 100 calls
// a second; RoomId at most 48 bytes), documented at
// https://www.tencentcloud.com/document/product/1071/80478.
//
// An answer missing any of the six Total* counters, or with one that is
// not a non-negative integer, is a "decode" error.
func (c *Client) GetRoomStats(ctx context.Context, roomID string) (*RoomStats, error) {
	var resp roomStatsResponse
	requestID, err := c.call(ctx, CommandGetRoomStats, roomRequest{RoomID: roomID}, &resp)
	if err != nil {
		return nil, err
	}
	resp.stats.RequestID = requestID
	return &resp.stats, nil
}
