package tencenttest

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	// roomListMaxCount is get_room_list's largest Count.
	roomListMaxCount = 20
	// roomsPrefix starts every get_room_list Next token this fake issues:
	// "rooms_<page>_<offset>", page being the 1-based page the token asks
	// for (so FailListPage can name it) and offset the index of its first
	// room in the order of the moment.
	roomsPrefix = "rooms_"
	// maxListToken bounds both numbers of a get_room_list token.
	maxListToken = 1 << 30
)

// Growth of a room's own counters (when Room.Stats is zero), per person
// present per second, in member-milliseconds per unit: with MemberCount m
// for s seconds, likes grow by m*s/10, messages by m*s/20, gifts by
// m*s/100 (10 coins each), unique gift senders by m*s/400 and viewers by
// m*s/60 (turnover) on top of every rise of MemberCount (joins).
const (
	msPerLike        = 10_000
	msPerMessage     = 20_000
	msPerGift        = 100_000
	coinsPerGift     = 10
	msPerGiftSender  = 400_000
	msPerViewerTurns = 60_000
)

// Room is what the fake answers for one room id. The zero value is an empty
// live room. A room's ErrorCode, HTTPStatus and Latency apply to every
// command about it (get_member_list, get_room_info, get_room_stats); each
// command has its own raw body.
type Room struct {
	MemberCount int           // Response.MemberCount
	Members     []string      // listed accounts; nil = generated "user-1".."user-N" for N = min(MemberCount, 1000)
	ErrorCode   int           // non-zero: answer ActionStatus FAIL with this ErrorCode on every call about the room (e.g. 100004, 100006, 100001, 60007)
	Latency     time.Duration // extra delay before answering this room (stops early if the request's context ends)
	HTTPStatus  int           // non-zero and != 200: answer this HTTP status with a short text body (e.g. 502; outside 200..999: 502)
	RawBody     string        // non-empty: answer get_member_list with HTTP 200 and exactly this body on every page (garbage, truncated JSON, or a wrong-shaped answer such as "Response":{} or "ErrorCode":60007.0)
	EndlessNext bool          // every page answers a non-empty Next (a server that never ends paging)

	// Metadata, answered by get_room_list and get_room_info.
	Name              string // RoomName
	Owner             string // Owner_Account
	OwnerAsNumber     bool   // send Owner_Account as a bare JSON number when Owner is an integer literal (e.g. "12345")
	CoverURL          string
	Category          []int
	CreateTime        int64 // unix seconds; 0 = when SetRoom created the room (by Options.Now)
	ActivityStatus    int
	ViewCount         int64  // get_room_list sorts by it, descending
	MaxMemberCount    int    // sent as is, negative included
	MaxSeatCount      int    // sent as is
	RoomType          string // "" = "Live"
	IsSeatEnabled     bool
	TakeSeatMode      string // "" = "ApplyToTake"
	TakeSeatModeAsInt bool   // send TakeSeatMode as the old pages' int: FreeToTake 1, ApplyToTake 2, an integer literal as itself, anything else 0
	IsMessageDisabled bool
	Private           bool   // IsPublicVisible false: get_room_list does not list the room
	InfoRawBody       string // like RawBody, for get_room_info

	// Counters, answered by get_room_stats.
	Stats        RoomCounters // non-zero: answered exactly; zero: the fake's own counters, grown with the audience (see the package doc)
	FreezeStats  bool         // the fake's own counters stop growing while set
	StatsRawBody string       // like RawBody, for get_room_stats

	// Seats, answered by get_seat_list: one entry per seat, Index being
	// the position. An empty Account is an empty seat.
	Seats               []Seat
	EmptySeatsOmitted   bool   // an empty seat has no Member_Account at all, instead of ""
	SeatAccountsNumeric bool   // send integer-literal accounts as bare JSON numbers
	SeatsRawBody        string // like RawBody, for get_seat_list
}

// Seat is one seat of a Room.
type Seat struct {
	Account string // who sits on it; "" = empty
	Locked  bool   // IsTakenDisabled
}

// seatListResponse is get_seat_list's Response.
type seatListResponse struct {
	SeatList []seatEntry `json:"SeatList"`
}

type seatEntry struct {
	Index           int             `json:"Index"`
	Account         json.RawMessage `json:"Member_Account,omitempty"`
	IsTakenDisabled bool            `json:"IsTakenDisabled"`
	IsVideoDisabled bool            `json:"IsVideoDisabled"`
	IsAudioDisabled bool            `json:"IsAudioDisabled"`
}

// seatList is the Response of get_seat_list.
func (r *Room) seatList() seatListResponse {
	resp := seatListResponse{SeatList: make([]seatEntry, len(r.Seats))}
	for i, seat := range r.Seats {
		e := seatEntry{Index: i, IsTakenDisabled: seat.Locked}
		switch {
		case seat.Account == "" && r.EmptySeatsOmitted:
		case r.SeatAccountsNumeric && isIntegerLiteral(seat.Account):
			e.Account = json.RawMessage(seat.Account)
		default:
			e.Account = stringJSON(seat.Account)
		}
		resp.SeatList[i] = e
	}
	return resp
}

// RoomCounters are the cumulative counters of get_room_stats.
type RoomCounters struct {
	TotalViewers           int64 `json:"TotalViewers"`
	TotalGiftsSent         int64 `json:"TotalGiftsSent"`
	TotalGiftCoins         int64 `json:"TotalGiftCoins"`
	TotalUniqueGiftSenders int64 `json:"TotalUniqueGiftSenders"`
	TotalLikesReceived     int64 `json:"TotalLikesReceived"`
	TotalMsgCount          int64 `json:"TotalMsgCount"`
}

// SetRoom makes the fake answer r for room id, replacing what it answered
// before. Members and Category are copied. A room that did not exist (never
// set, or deleted since) is created: its CreateTime defaults to now and its
// own counters start from zero.
func (f *Fake) SetRoom(id string, r Room) {
	if r.Members != nil {
		r.Members = append(make([]string, 0, len(r.Members)), r.Members...)
	}
	if r.Category != nil {
		r.Category = append(make([]int, 0, len(r.Category)), r.Category...)
	}
	r.Seats = slices.Clone(r.Seats)
	f.mu.Lock()
	now := f.elapsed()
	st, ok := f.rooms[id]
	var before *Room
	if !ok {
		st = &roomState{created: f.now().Unix(), settled: now}
		f.rooms[id] = st
	} else {
		prev := st.room
		before = &prev
	}
	st.set(r, now)
	cbs := f.changeCallbacks(id, before, st, f.now())
	f.mu.Unlock()
	f.queueCallbacks(cbs)
}

// DeleteRoom forgets room id: it then answers 100004 to every command,
// like a room never set, and is not listed. Setting it again creates a new
// room, whose counters start from zero.
func (f *Fake) DeleteRoom(id string) {
	f.mu.Lock()
	st, ok := f.rooms[id]
	delete(f.rooms, id)
	var body map[string]any
	if ok {
		now := f.now()
		c := st.stats(f.elapsed())
		body = map[string]any{
			"Operator_Account": st.room.Owner, "RoomId": id, "EventType": "DestroyByUser", "EventTime": now.UnixMilli(),
			"RoomInfo": st.roomInfoBody(id, now),
			"Statistic": map[string]int64{
				"TotalViewers": c.TotalViewers, "TotalGiftsSent": c.TotalGiftsSent, "TotalGiftCoins": c.TotalGiftCoins,
				"TotalUniqueGiftSenders": c.TotalUniqueGiftSenders, "TotalLikesReceived": c.TotalLikesReceived,
			},
		}
	}
	f.mu.Unlock()
	if ok {
		f.postCallback(CallbackRoomDestroyed, body)
	}
}

// roomState is a room as the fake keeps it: the Room last set, and what
// outlives SetRoom calls until DeleteRoom.
type roomState struct {
	room    Room
	created int64 // unix seconds when SetRoom created it

	// The fake's own counters: audience is the integral of MemberCount
	// over time (member-milliseconds) up to settled, joins the sum of the
	// rises of MemberCount, members the MemberCount they were last
	// brought up to date with.
	audience int64
	joins    int64
	members  int
	settled  time.Duration // Fake.elapsed of the last update
}

// settle brings the counters up to now with the room's current audience.
func (s *roomState) settle(now time.Duration) {
	if d := (now - s.settled).Milliseconds(); d > 0 && !s.room.FreezeStats {
		s.audience += int64(max(s.room.MemberCount, 0)) * d
	}
	s.settled = max(s.settled, now)
}

// set replaces the room, counting the time before now with the old one and
// a rise of MemberCount as people who joined.
func (s *roomState) set(r Room, now time.Duration) {
	s.settle(now)
	s.room = r
	members := max(r.MemberCount, 0)
	if members > s.members && !r.FreezeStats {
		s.joins += int64(members - s.members)
	}
	s.members = members
}

// counters are the fake's own counters as of the last settle.
func (s *roomState) counters() RoomCounters {
	a := s.audience
	gifts := a / msPerGift
	return RoomCounters{
		TotalViewers:           s.joins + a/msPerViewerTurns,
		TotalGiftsSent:         gifts,
		TotalGiftCoins:         gifts * coinsPerGift,
		TotalUniqueGiftSenders: a / msPerGiftSender,
		TotalLikesReceived:     a / msPerLike,
		TotalMsgCount:          a / msPerMessage,
	}
}

// stats is the Response of get_room_stats at now.
func (s *roomState) stats(now time.Duration) RoomCounters {
	s.settle(now)
	if s.room.Stats != (RoomCounters{}) {
		return s.room.Stats
	}
	return s.counters()
}

// createTime is the room's CreateTime.
func (s *roomState) createTime() int64 {
	if s.room.CreateTime != 0 {
		return s.room.CreateTime
	}
	return s.created
}

// listed reports whether get_room_list lists the room: public, and not
// answering that it is gone or not a live room.
func (s *roomState) listed() bool {
	return !s.room.Private && s.room.ErrorCode != codeRoomNotFound && s.room.ErrorCode != codeNotLiveRoom
}

// rawBody is the room's raw body for a room-scoped command.
func (r *Room) rawBody(cmd command) string {
	switch cmd {
	case cmdRoomInfo:
		return r.InfoRawBody
	case cmdRoomStats:
		return r.StatsRawBody
	case cmdSeatList:
		return r.SeatsRawBody
	}
	return r.RawBody
}

// roomSummary is one entry of get_room_list's RoomList.
type roomSummary struct {
	RoomID         string          `json:"RoomId"`
	RoomName       string          `json:"RoomName"`
	Owner          json.RawMessage `json:"Owner_Account"`
	CoverURL       string          `json:"CoverURL"`
	Category       []int           `json:"Category"`
	CreateTime     int64           `json:"CreateTime"`
	ActivityStatus int             `json:"ActivityStatus"`
	ViewCount      int64           `json:"ViewCount"`
}

type roomListResponse struct {
	RoomList []roomSummary `json:"RoomList"`
	Next     string        `json:"Next"`
}

type roomInfoResponse struct {
	RoomInfo roomInfo `json:"RoomInfo"`
}

// roomInfo is get_room_info's Response.RoomInfo.
type roomInfo struct {
	RoomID            string          `json:"RoomId"`
	RoomName          string          `json:"RoomName"`
	RoomType          string          `json:"RoomType"`
	Owner             json.RawMessage `json:"Owner_Account"`
	CreateTime        int64           `json:"CreateTime"`
	MaxMemberCount    int             `json:"MaxMemberCount"`
	MaxSeatCount      int             `json:"MaxSeatCount"`
	IsSeatEnabled     bool            `json:"IsSeatEnabled"`
	TakeSeatMode      json.RawMessage `json:"TakeSeatMode"`
	IsMessageDisabled bool            `json:"IsMessageDisabled"`
	IsPublicVisible   bool            `json:"IsPublicVisible"`
	CoverURL          string          `json:"CoverURL"`
	Category          []int           `json:"Category"`
	ActivityStatus    int             `json:"ActivityStatus"`
	ViewCount         int64           `json:"ViewCount"`
}

// summary is the room's get_room_list entry.
func (s *roomState) summary(id string) roomSummary {
	r := &s.room
	return roomSummary{
		RoomID:         id,
		RoomName:       r.Name,
		Owner:          r.ownerJSON(),
		CoverURL:       r.CoverURL,
		Category:       categoryJSON(r.Category),
		CreateTime:     s.createTime(),
		ActivityStatus: r.ActivityStatus,
		ViewCount:      r.ViewCount,
	}
}

// info is the Response of get_room_info.
func (s *roomState) info(id string) roomInfoResponse {
	r := &s.room
	roomType := r.RoomType
	if roomType == "" {
		roomType = "Live"
	}
	return roomInfoResponse{RoomInfo: roomInfo{
		RoomID:            id,
		RoomName:          r.Name,
		RoomType:          roomType,
		Owner:             r.ownerJSON(),
		CreateTime:        s.createTime(),
		MaxMemberCount:    r.MaxMemberCount,
		MaxSeatCount:      r.MaxSeatCount,
		IsSeatEnabled:     r.IsSeatEnabled,
		TakeSeatMode:      r.takeSeatModeJSON(),
		IsMessageDisabled: r.IsMessageDisabled,
		IsPublicVisible:   !r.Private,
		CoverURL:          r.CoverURL,
		Category:          categoryJSON(r.Category),
		ActivityStatus:    r.ActivityStatus,
		ViewCount:         r.ViewCount,
	}}
}

// ownerJSON is Owner_Account: a bare number with OwnerAsNumber when Owner
// is an integer literal, else a string.
func (r *Room) ownerJSON() json.RawMessage {
	if r.OwnerAsNumber && isIntegerLiteral(r.Owner) {
		return json.RawMessage(r.Owner)
	}
	return stringJSON(r.Owner)
}

// takeSeatModeJSON is TakeSeatMode: the string of the new pages, or with
// TakeSeatModeAsInt the int of the old ones.
func (r *Room) takeSeatModeJSON() json.RawMessage {
	mode := r.TakeSeatMode
	if mode == "" {
		mode = "ApplyToTake"
	}
	if !r.TakeSeatModeAsInt {
		return stringJSON(mode)
	}
	switch {
	case mode == "FreeToTake":
		return json.RawMessage("1")
	case mode == "ApplyToTake":
		return json.RawMessage("2")
	case isIntegerLiteral(mode):
		return json.RawMessage(mode)
	}
	return json.RawMessage("0")
}

func stringJSON(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// categoryJSON sends a nil Category as [], as the upstream does.
func categoryJSON(c []int) []int {
	if c == nil {
		return []int{}
	}
	return c
}

// isIntegerLiteral reports whether s is a JSON integer: an optional minus,
// then 0 or digits without a leading zero.
func isIntegerLiteral(s string) bool {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// decodeRoomListRequest checks a get_room_list body:
// {"Next":"token","Count":1..20}.
func decodeRoomListRequest(fields map[string]json.RawMessage) request {
	next, ok := jsonString(fields["Next"])
	if !ok {
		return request{code: codeInvalidParams, info: "Next must be a string"}
	}
	page, offset, ok := parseRoomsToken(next)
	if !ok {
		return request{code: codeInvalidParams, info: "Next is not a token from a previous page"}
	}
	count, err := strconv.Atoi(string(fields["Count"]))
	if err != nil || !isIntegerLiteral(string(fields["Count"])) || count < 1 || count > roomListMaxCount {
		return request{code: codeInvalidParams, info: "Count must be an integer from 1 to 20"}
	}
	return request{page: page, offset: offset, count: count}
}

// parseRoomsToken turns a get_room_list Next token into the page it asks
// for and the offset of its first room ("" is page 1 from offset 0).
func parseRoomsToken(next string) (page, offset int, ok bool) {
	if next == "" {
		return 1, 0, true
	}
	rest, ok := strings.CutPrefix(next, roomsPrefix)
	if !ok {
		return 0, 0, false
	}
	pageText, offsetText, ok := strings.Cut(rest, "_")
	if !ok || !isIntegerLiteral(pageText) || !isIntegerLiteral(offsetText) ||
		strings.HasPrefix(pageText, "-") || strings.HasPrefix(offsetText, "-") {
		return 0, 0, false
	}
	page, errPage := strconv.Atoi(pageText)
	offset, errOffset := strconv.Atoi(offsetText)
	if errPage != nil || errOffset != nil || page < 2 || page > maxListToken || offset > maxListToken {
		return 0, 0, false
	}
	return page, offset, true
}

func roomsToken(page, offset int) string {
	return roomsPrefix + strconv.Itoa(page) + "_" + strconv.Itoa(offset)
}

// listRooms answers a get_room_list call that passed the checks before
// step 4; f.mu is held.
func (f *Fake) listRooms(req request) answer {
	if fl, ok := f.listFails[req.page]; ok {
		if fl.n--; fl.n <= 0 {
			delete(f.listFails, req.page)
		} else {
			f.listFails[req.page] = fl
		}
		f.stats.Injected++
		return answer{code: fl.code, info: errorInfo(fl.code) + " (injected)"}
	}
	if f.listRawBody != "" {
		return answer{rawBody: f.listRawBody}
	}

	// The order of the moment: a room whose ViewCount changed since the
	// previous page may have moved across the page boundary.
	ids := make([]string, 0, len(f.rooms))
	for id, st := range f.rooms {
		if st.listed() {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := cmp.Compare(f.rooms[b].room.ViewCount, f.rooms[a].room.ViewCount); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	start := min(req.offset, len(ids))
	end := min(start+req.count, len(ids))
	resp := roomListResponse{RoomList: make([]roomSummary, 0, end-start)}
	for _, id := range ids[start:end] {
		resp.RoomList = append(resp.RoomList, f.rooms[id].summary(id))
	}
	switch {
	case end < len(ids):
		resp.Next = roomsToken(req.page+1, end)
	case f.endlessList:
		resp.Next = roomsToken(req.page+1, 0) // start over, forever
	}
	return answer{response: resp}
}
