package tencenttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRoomListPaging(t *testing.T) {
	s := setup(t)
	var want []string
	for i := range 45 {
		id := fmt.Sprintf("room-%02d", i)
		// Pairs share a ViewCount: ties go by RoomId.
		s.SetRoom(id, Room{ViewCount: int64(100 - i/2)})
		want = append(want, id)
	}
	var (
		listed []string
		sizes  []int
		last   int64 = 1 << 62
		next         = ""
	)
	for range 10 {
		p := listRooms(t, s, next, 20)
		sizes = append(sizes, len(p.RoomList))
		for _, r := range p.RoomList {
			if r.ViewCount > last {
				t.Errorf("%s (ViewCount %d) listed after a room of ViewCount %d", r.RoomID, r.ViewCount, last)
			}
			last = r.ViewCount
			listed = append(listed, r.RoomID)
		}
		if next = p.Next; next == "" {
			break
		}
	}
	if fmt.Sprint(sizes) != "[20 20 5]" {
		t.Errorf("page sizes %v; want [20 20 5]", sizes)
	}
	if strings.Join(listed, ",") != strings.Join(want, ",") {
		t.Errorf("listed %v; want %v", listed, want)
	}
	if got := s.Stats().CallsByCommand[CommandGetRoomList]; got != 3 {
		t.Errorf("CallsByCommand[get_room_list] = %d; want 3", got)
	}

	// A listing that fills its last page exactly ends there.
	s2 := setup(t)
	for i := range 4 {
		s2.SetRoom(strconv.Itoa(i), Room{})
	}
	if p := listRooms(t, s2, "", 2); p.ids() != "0,1" || p.Next == "" {
		t.Errorf("page 1 = %s, Next %q; want 0,1 and a Next", p.ids(), p.Next)
	} else if p := listRooms(t, s2, p.Next, 2); p.ids() != "2,3" || p.Next != "" {
		t.Errorf("page 2 = %s, Next %q; want 2,3 and no Next", p.ids(), p.Next)
	}
	if p := listRooms(t, setup(t), "", 20); len(p.RoomList) != 0 || p.Next != "" {
		t.Errorf("no rooms: %+v; want an empty RoomList and no Next", p)
	}
}

// TestRoomListReordering shows why callers must de-duplicate: the order is
// recomputed for every page, so rooms move across pages while a caller
// reads.
func TestRoomListReordering(t *testing.T) {
	s := setup(t)
	for id, views := range map[string]int64{"a": 40, "b": 30, "c": 20, "d": 10} {
		s.SetRoom(id, Room{ViewCount: views})
	}
	sweep := func(between func()) []string {
		t.Helper()
		p1 := listRooms(t, s, "", 2)
		between()
		p2 := listRooms(t, s, p1.Next, 2)
		if p2.Next != "" {
			t.Fatalf("page 2 Next = %q; want the end", p2.Next)
		}
		return []string{p1.ids(), p2.ids()}
	}

	// d moves up past everyone after page 1: b shifts onto page 2 and is
	// listed twice, d is not listed at all.
	if got := sweep(func() { s.SetRoom("d", Room{ViewCount: 50}) }); fmt.Sprint(got) != "[a,b b,c]" {
		t.Errorf("room moving up: pages %v; want [a,b b,c]", got)
	}
	// Now d,a,b,c: a moves down to the end after page 1 and is listed
	// twice, while b, passed by it, is missed.
	if got := sweep(func() { s.SetRoom("a", Room{ViewCount: 0}) }); fmt.Sprint(got) != "[d,a c,a]" {
		t.Errorf("room moving down: pages %v; want [d,a c,a]", got)
	}
	// A room deleted behind the reader shifts the rest up: c is missed.
	if got := sweep(func() { s.DeleteRoom("d") }); fmt.Sprint(got) != "[d,b a]" {
		t.Errorf("room deleted: pages %v; want [d,b a]", got)
	}
}

func TestRoomListEntries(t *testing.T) {
	s := setup(t)
	s.SetRoom("full", Room{
		Name: "Full room", Owner: "144115212345", OwnerAsNumber: true, CoverURL: "https://c/x.png",
		Category: []int{3, 1}, CreateTime: 1700000123, ActivityStatus: 2, ViewCount: 99,
		MemberCount: 7, IsSeatEnabled: true,
	})
	s.SetRoom("plain", Room{ViewCount: 5})
	s.SetRoom("owner-text", Room{Owner: "alice", OwnerAsNumber: true, ViewCount: 4})
	s.SetRoom("owner-zero", Room{Owner: "007", OwnerAsNumber: true, ViewCount: 3})
	s.SetRoom("owner-string", Room{Owner: "12345", ViewCount: 2})
	ra := callPath(t, s, RoomListPath, listBody("", 20))
	want := `{"RoomList":[` +
		`{"RoomId":"full","RoomName":"Full room","Owner_Account":144115212345,"CoverURL":"https://c/x.png","Category":[3,1],"CreateTime":1700000123,"ActivityStatus":2,"ViewCount":99},` +
		`{"RoomId":"plain","RoomName":"","Owner_Account":"","CoverURL":"","Category":[],"CreateTime":` + strconv.FormatInt(testNow.Unix(), 10) + `,"ActivityStatus":0,"ViewCount":5},` +
		`{"RoomId":"owner-text","RoomName":"","Owner_Account":"alice","CoverURL":"","Category":[],"CreateTime":1700003600,"ActivityStatus":0,"ViewCount":4},` +
		`{"RoomId":"owner-zero","RoomName":"","Owner_Account":"007","CoverURL":"","Category":[],"CreateTime":1700003600,"ActivityStatus":0,"ViewCount":3},` +
		`{"RoomId":"owner-string","RoomName":"","Owner_Account":"12345","CoverURL":"","Category":[],"CreateTime":1700003600,"ActivityStatus":0,"ViewCount":2}` +
		`],"Next":""}`
	if string(ra.Response) != want {
		t.Errorf("Response =\n%s\nwant\n%s", ra.Response, want)
	}
}

func TestRoomListSkipsPrivateAndGone(t *testing.T) {
	s := setup(t)
	s.SetRoom("public", Room{ViewCount: 1})
	s.SetRoom("private", Room{ViewCount: 100, Private: true})
	s.SetRoom("gone", Room{ViewCount: 100, ErrorCode: 100004})
	s.SetRoom("not-live", Room{ViewCount: 100, ErrorCode: 100006})
	s.SetRoom("flaky", Room{ViewCount: 3, ErrorCode: 100001}) // a failing call, not a fact about the room
	s.SetRoom("proxy", Room{ViewCount: 2, HTTPStatus: 502})
	s.SetRoom("deleted", Room{ViewCount: 100})
	s.DeleteRoom("deleted")
	if got := listRooms(t, s, "", 20).ids(); got != "flaky,proxy,public" {
		t.Errorf("listed %s; want flaky,proxy,public", got)
	}
	// A private room exists all the same.
	ra := callPath(t, s, RoomInfoPath, roomBody("private"))
	if ra.ErrorCode != 0 || !strings.Contains(string(ra.Response), `"IsPublicVisible":false`) {
		t.Errorf("get_room_info(private) = %d %s; want IsPublicVisible false", ra.ErrorCode, ra.Response)
	}
}

func TestRoomListEndless(t *testing.T) {
	s := setup(t, func(o *Options) { o.EndlessRoomList = true })
	for _, id := range []string{"a", "b", "c"} {
		s.SetRoom(id, Room{})
	}
	var pages []string
	next := ""
	for range 6 {
		p := listRooms(t, s, next, 2)
		if p.Next == "" {
			t.Fatalf("page %d: no Next; want an endless listing", len(pages)+1)
		}
		pages = append(pages, p.ids())
		next = p.Next
	}
	if got := strings.Join(pages, " "); got != "a,b c a,b c a,b c" {
		t.Errorf("pages %s; want the listing over and over", got)
	}

	s.SetEndlessRoomList(false)
	if p := listRooms(t, s, next, 2); p.ids() != "a,b" || p.Next == "" {
		t.Errorf("after switching off: %s, Next %q; want a,b and a Next", p.ids(), p.Next)
	} else if p := listRooms(t, s, p.Next, 2); p.ids() != "c" || p.Next != "" {
		t.Errorf("after switching off: %s, Next %q; want c and the end", p.ids(), p.Next)
	}

	empty := setup(t)
	empty.SetEndlessRoomList(true)
	if p := listRooms(t, empty, "", 20); len(p.RoomList) != 0 || p.Next == "" {
		t.Errorf("endless with no rooms: %+v; want no rooms and a Next", p)
	}
}

func TestFailListPage(t *testing.T) {
	s := setup(t)
	for i := range 5 {
		s.SetRoom(strconv.Itoa(i), Room{})
	}
	s.FailListPage(2, 100001, 1)
	s.FailListPage(3, 60007, 5)
	s.FailListPage(3, 0, 5) // cancelled
	p1 := listRooms(t, s, "", 2)
	if ra := callPath(t, s, RoomListPath, listBody(p1.Next, 2)); ra.ErrorCode != 100001 || !strings.Contains(ra.ErrorInfo, "injected") {
		t.Fatalf("page 2: %s %d %q; want the injected 100001", ra.ActionStatus, ra.ErrorCode, ra.ErrorInfo)
	}
	p2 := listRooms(t, s, p1.Next, 2) // the retry of the same page
	p3 := listRooms(t, s, p2.Next, 2)
	if p1.ids()+" "+p2.ids()+" "+p3.ids() != "0,1 2,3 4" || p3.Next != "" {
		t.Errorf("pages %s %s %s; want 0,1 2,3 4", p1.ids(), p2.ids(), p3.ids())
	}

	// Page 1 is the page asked with Next "", whatever the Count.
	s.FailListPage(1, 60011, 2)
	for range 2 {
		if ra := callPath(t, s, RoomListPath, listBody("", 20)); ra.ErrorCode != 60011 {
			t.Fatalf("page 1: ErrorCode %d; want 60011", ra.ErrorCode)
		}
	}
	listRooms(t, s, "", 20)
	if st := s.Stats(); st.Injected != 3 || st.AppRateLimited != 0 {
		t.Errorf("Stats = %+v; want Injected 3 and no AppRateLimited", st)
	}
}

func TestRoomListBadBody(t *testing.T) {
	s := setup(t)
	s.SetRoom("r", Room{})
	for _, tc := range []struct {
		name string
		body string
		want int
	}{
		{"valid", `{"Next":"","Count":20}`, 0},
		{"Count 1", `{"Next":"","Count":1}`, 0},
		{"extra field", `{"Next":"","Count":5,"RoomId":"r"}`, 0},
		{"token", `{"Next":"rooms_2_0","Count":5}`, 0},
		{"token past the end", `{"Next":"rooms_9_1000","Count":5}`, 0},
		{"not json", `Next=&Count=20`, 60003},
		{"truncated", `{"Next":"","Count":`, 60003},
		{"json null", `null`, 100002},
		{"json array", `[]`, 100002},
		{"Count 0", `{"Next":"","Count":0}`, 100002},
		{"Count 21", `{"Next":"","Count":21}`, 100002},
		{"Count negative", `{"Next":"","Count":-1}`, 100002},
		{"Count float", `{"Next":"","Count":20.0}`, 100002},
		{"Count exponent", `{"Next":"","Count":2e1}`, 100002},
		{"Count string", `{"Next":"","Count":"20"}`, 100002},
		{"Count null", `{"Next":"","Count":null}`, 100002},
		{"Count missing", `{"Next":""}`, 100002},
		{"Next missing", `{"Count":20}`, 100002},
		{"Next null", `{"Next":null,"Count":20}`, 100002},
		{"Next number", `{"Next":0,"Count":20}`, 100002},
		{"lowercase names", `{"next":"","count":20}`, 100002},
		{"member token", `{"Next":"next_100","Count":20}`, 100002},
		{"page 1 token", `{"Next":"rooms_1_0","Count":20}`, 100002},
		{"leading zero", `{"Next":"rooms_02_0","Count":20}`, 100002},
		{"negative offset", `{"Next":"rooms_2_-1","Count":20}`, 100002},
		{"no offset", `{"Next":"rooms_2","Count":20}`, 100002},
		{"extra part", `{"Next":"rooms_2_0_0","Count":20}`, 100002},
		{"token case", `{"Next":"ROOMS_2_0","Count":20}`, 100002},
		{"huge page", `{"Next":"rooms_99999999999999999999_0","Count":20}`, 100002},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ra := callPath(t, s, RoomListPath, tc.body); ra.ErrorCode != tc.want {
				t.Errorf("ErrorCode = %d (%q); want %d", ra.ErrorCode, ra.ErrorInfo, tc.want)
			}
		})
	}
}

func TestRoomCommandBadBody(t *testing.T) {
	s := setup(t)
	long48, long49 := strings.Repeat("x", 48), strings.Repeat("y", 49)
	for _, id := range []string{"r", long48, long49} {
		s.SetRoom(id, Room{})
	}
	for _, tc := range []struct {
		name            string
		body            string
		wantInfo, wantS int
	}{
		{"valid", `{"RoomId":"r"}`, 0, 0},
		{"extra field", `{"RoomId":"r","Next":7}`, 0, 0},
		{"48 bytes", roomBody(long48), 0, 0},
		{"49 bytes", roomBody(long49), 0, 100002},
		{"unknown room", `{"RoomId":"nope"}`, 100004, 100004},
		{"empty", ``, 60003, 60003},
		{"json null", `null`, 100002, 100002},
		{"empty object", `{}`, 100002, 100002},
		{"empty RoomId", `{"RoomId":""}`, 100002, 100002},
		{"RoomId number", `{"RoomId":1}`, 100002, 100002},
		{"lowercase name", `{"roomid":"r"}`, 100002, 100002},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ra := callPath(t, s, RoomInfoPath, tc.body); ra.ErrorCode != tc.wantInfo {
				t.Errorf("get_room_info: ErrorCode = %d (%q); want %d", ra.ErrorCode, ra.ErrorInfo, tc.wantInfo)
			}
			if ra := callPath(t, s, RoomStatsPath, tc.body); ra.ErrorCode != tc.wantS {
				t.Errorf("get_room_stats: ErrorCode = %d (%q); want %d", ra.ErrorCode, ra.ErrorInfo, tc.wantS)
			}
		})
	}
}

func TestRoomCommandsCheckQuery(t *testing.T) {
	s := setup(t)
	s.SetRoom("r", Room{})
	wrongKey := validQuery(t)
	wrongKey.Set("usersig", makeUserSig(t, "other-key", testAdmin, testAppID, testSigTime, testExpire))
	noApp := validQuery(t)
	noApp.Del("sdkappid")
	calls := 0
	for _, path := range []string{RoomListPath, RoomInfoPath, RoomStatsPath} {
		body := roomBody("r")
		if path == RoomListPath {
			body = listBody("", 20)
		}
		for q, want := range map[string]int{wrongKey.Encode(): 70009, noApp.Encode(): 60012, validQuery(t).Encode(): 0} {
			if ra := callPathWith(t, s, path, q, body); ra.ErrorCode != want {
				t.Errorf("%s: ErrorCode = %d (%q); want %d", path, ra.ErrorCode, ra.ErrorInfo, want)
			}
			calls++
		}
	}
	st := s.Stats()
	if st.AuthFailures != 6 || st.Calls != 0 || st.CallsByCommandRoom[CommandGetRoomInfo]["r"] != 3 {
		t.Errorf("Stats = %+v; want 6 auth failures, no get_member_list calls, 3 get_room_info calls for r", st)
	}
}

func TestRoomInfo(t *testing.T) {
	s := setup(t)
	s.SetRoom("plain", Room{})
	s.SetRoom("full", Room{
		Name: "Full", Owner: "144115212345", OwnerAsNumber: true, CoverURL: "u", Category: []int{7},
		CreateTime: 1700000123, ActivityStatus: -1, ViewCount: 12, MaxMemberCount: 1000, MaxSeatCount: 9,
		RoomType: "Conference", IsSeatEnabled: true, TakeSeatMode: "FreeToTake", TakeSeatModeAsInt: true,
		IsMessageDisabled: true, Private: true,
	})
	for _, tc := range []struct{ id, want string }{
		{"plain", `{"RoomInfo":{"RoomId":"plain","RoomName":"","RoomType":"Live","Owner_Account":"","CreateTime":1700003600,` +
			`"MaxMemberCount":0,"MaxSeatCount":0,"IsSeatEnabled":false,"TakeSeatMode":"ApplyToTake","IsMessageDisabled":false,` +
			`"IsPublicVisible":true,"CoverURL":"","Category":[],"ActivityStatus":0,"ViewCount":0}}`},
		{"full", `{"RoomInfo":{"RoomId":"full","RoomName":"Full","RoomType":"Conference","Owner_Account":144115212345,"CreateTime":1700000123,` +
			`"MaxMemberCount":1000,"MaxSeatCount":9,"IsSeatEnabled":true,"TakeSeatMode":1,"IsMessageDisabled":true,` +
			`"IsPublicVisible":false,"CoverURL":"u","Category":[7],"ActivityStatus":-1,"ViewCount":12}}`},
	} {
		if ra := callPath(t, s, RoomInfoPath, roomBody(tc.id)); string(ra.Response) != tc.want {
			t.Errorf("get_room_info(%s) Response =\n%s\nwant\n%s", tc.id, ra.Response, tc.want)
		}
	}

	for _, tc := range []struct {
		mode  string
		asInt bool
		want  string
	}{
		{"", false, `"ApplyToTake"`},
		{"FreeToTake", false, `"FreeToTake"`},
		{"", true, `2`},
		{"ApplyToTake", true, `2`},
		{"FreeToTake", true, `1`},
		{"3", true, `3`},
		{"Other", true, `0`},
	} {
		s.SetRoom("mode", Room{TakeSeatMode: tc.mode, TakeSeatModeAsInt: tc.asInt})
		ra := callPath(t, s, RoomInfoPath, roomBody("mode"))
		if !strings.Contains(string(ra.Response), `"TakeSeatMode":`+tc.want+",") {
			t.Errorf("TakeSeatMode %q, as int %v: Response %s; want TakeSeatMode %s", tc.mode, tc.asInt, ra.Response, tc.want)
		}
	}
}

func TestCreateTime(t *testing.T) {
	var now atomic.Int64
	now.Store(1700000000)
	s := setup(t, func(o *Options) { o.Now = func() time.Time { return time.Unix(now.Load(), 0) } })
	createTime := func() int64 {
		t.Helper()
		ra := callPath(t, s, RoomInfoPath, roomBody("r"))
		var resp struct{ RoomInfo struct{ CreateTime int64 } }
		if err := json.Unmarshal(ra.Response, &resp); err != nil {
			t.Fatal(err)
		}
		if listed := listRooms(t, s, "", 20).RoomList[0].CreateTime; listed != resp.RoomInfo.CreateTime {
			t.Errorf("get_room_list CreateTime %d; get_room_info %d", listed, resp.RoomInfo.CreateTime)
		}
		return resp.RoomInfo.CreateTime
	}
	// Signatures made at testSigTime stay valid for a day.
	now.Store(testSigTime + 10)
	s.SetRoom("r", Room{})
	if got := createTime(); got != testSigTime+10 {
		t.Errorf("CreateTime = %d; want when SetRoom created the room, %d", got, testSigTime+10)
	}
	now.Store(testSigTime + 20)
	s.SetRoom("r", Room{MemberCount: 5}) // an update, not a new room
	if got := createTime(); got != testSigTime+10 {
		t.Errorf("after an update: CreateTime = %d; want %d", got, testSigTime+10)
	}
	s.DeleteRoom("r")
	s.SetRoom("r", Room{})
	if got := createTime(); got != testSigTime+20 {
		t.Errorf("after DeleteRoom and SetRoom: CreateTime = %d; want %d", got, testSigTime+20)
	}
	s.SetRoom("r", Room{CreateTime: 42})
	if got := createTime(); got != 42 {
		t.Errorf("explicit CreateTime = %d; want 42", got)
	}
}

func TestRoomCommandErrors(t *testing.T) {
	s := setup(t)
	s.SetRoom("deleted", Room{})
	s.DeleteRoom("deleted")
	s.SetRoom("gone", Room{ErrorCode: 100004})
	s.SetRoom("not-live", Room{ErrorCode: 100006})
	s.SetRoom("broken", Room{ErrorCode: 100001})
	s.SetRoom("limited", Room{ErrorCode: 60007})
	for _, tc := range []struct {
		room string
		want int
	}{
		{"never-set", 100004},
		{"deleted", 100004},
		{"gone", 100004},
		{"not-live", 100006},
		{"broken", 100001},
		{"limited", 60007},
	} {
		t.Run(tc.room, func(t *testing.T) {
			for _, path := range []string{MemberListPath, RoomInfoPath, RoomStatsPath} {
				body := roomBody(tc.room)
				if path == MemberListPath {
					body = memberBody(tc.room, "")
				}
				if ra := callPath(t, s, path, body); ra.ActionStatus != "FAIL" || ra.ErrorCode != tc.want {
					t.Errorf("%s: %s %d; want FAIL %d", path, ra.ActionStatus, ra.ErrorCode, tc.want)
				}
			}
		})
	}

	// HTTPStatus fails every command; each raw body only its own.
	s.SetRoom("proxy", Room{HTTPStatus: 503})
	for _, path := range []string{RoomInfoPath, RoomStatsPath} {
		if status, raw, _ := post(t, s, path, validQuery(t).Encode(), roomBody("proxy")); status != http.StatusServiceUnavailable {
			t.Errorf("%s of a 503 room: HTTP %d %q", path, status, raw)
		}
	}
	s.SetRoom("raw", Room{RawBody: "member", InfoRawBody: "info", StatsRawBody: "stats"})
	s.SetRoom("member-raw", Room{RawBody: "member"})
	q := validQuery(t).Encode()
	for _, tc := range []struct{ path, body, want string }{
		{MemberListPath, memberBody("raw", ""), "member"},
		{RoomInfoPath, roomBody("raw"), "info"},
		{RoomStatsPath, roomBody("raw"), "stats"},
	} {
		if status, raw, _ := post(t, s, tc.path, q, tc.body); status != http.StatusOK || string(raw) != tc.want {
			t.Errorf("%s: HTTP %d %q; want 200 %q", tc.path, status, raw, tc.want)
		}
	}
	if ra := callPath(t, s, RoomInfoPath, roomBody("member-raw")); ra.ErrorCode != 0 {
		t.Errorf("get_room_info of a room with only RawBody: %d; want a normal answer", ra.ErrorCode)
	}

	s.SetRoomListRawBody(`{"ActionStatus":"OK","ErrorCode":0,"RequestId":"x","Response":{}}`)
	if status, raw, _ := post(t, s, RoomListPath, q, listBody("", 20)); string(raw) != `{"ActionStatus":"OK","ErrorCode":0,"RequestId":"x","Response":{}}` {
		t.Errorf("get_room_list with a raw body: HTTP %d %q", status, raw)
	}
	s.SetRoomListRawBody("")
	listRooms(t, s, "", 20)
}

func TestFailNextCommand(t *testing.T) {
	s := setup(t)
	s.SetRoom("r", Room{MemberCount: 1})
	s.FailNextCommand(CommandGetRoomInfo, "r", 100001, 2)
	s.FailNext("r", 60007, 1)
	codes := func() string {
		t.Helper()
		return fmt.Sprint(
			callPath(t, s, MemberListPath, memberBody("r", "")).ErrorCode,
			callPath(t, s, RoomInfoPath, roomBody("r")).ErrorCode,
			callPath(t, s, RoomStatsPath, roomBody("r")).ErrorCode)
	}
	for i, want := range []string{"60007 100001 0", "0 100001 0", "0 0 0"} {
		if got := codes(); got != want {
			t.Errorf("round %d: member, info, stats codes %s; want %s", i+1, got, want)
		}
	}
	s.FailNextCommand(CommandGetRoomStats, "r", 70001, 1)
	if got := codes(); got != "0 0 70001" {
		t.Errorf("stats injection: codes %s; want 0 0 70001", got)
	}
	if st := s.Stats(); st.Injected != 4 {
		t.Errorf("Injected = %d; want 4", st.Injected)
	}

	for name, fn := range map[string]func(){
		"FailNextCommand(get_room_list)": func() { s.FailNextCommand(CommandGetRoomList, "r", 1, 1) },
		"FailNextCommand(unknown)":       func() { s.FailNextCommand("get_nothing", "r", 1, 1) },
		"SetCommandRateLimit(unknown)":   func() { s.SetCommandRateLimit("get_member_lists", 1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			fn()
		}()
	}
}

// TestCommandRateLimitsIndependent: each command has its own window, so
// calls of one never use up another's limit.
func TestCommandRateLimitsIndependent(t *testing.T) {
	s, clock := setupClock(t, func(o *Options) {
		o.RateLimit, o.RoomListRateLimit, o.RoomInfoRateLimit, o.RoomStatsRateLimit = 200, 10, 5, 3
	})
	s.SetRoom("r", Room{MemberCount: 1})
	type cmd struct {
		path, body string
		n          int
	}
	cmds := []cmd{
		{MemberListPath, memberBody("r", ""), 200},
		{RoomListPath, listBody("", 20), 10},
		{RoomInfoPath, roomBody("r"), 5},
		{RoomStatsPath, roomBody("r"), 3},
	}
	run := func(at time.Duration, extra int) (limited map[string]int) {
		t.Helper()
		clock.set(at)
		limited = make(map[string]int)
		for _, c := range cmds {
			for range c.n + extra {
				switch ra := callPath(t, s, c.path, c.body); ra.ErrorCode {
				case 0:
				case 60007:
					limited[c.path]++
				default:
					t.Fatalf("%s: ErrorCode %d (%q)", c.path, ra.ErrorCode, ra.ErrorInfo)
				}
			}
		}
		return limited
	}
	if limited := run(0, 0); len(limited) != 0 {
		t.Errorf("200 members, 10 lists, 5 infos and 3 stats in one second: %v answered 60007; want none", limited)
	}
	if limited := run(500*time.Millisecond, 1); len(limited) != 4 || limited[MemberListPath] != 201 {
		t.Errorf("more in the same second: 60007 by path %v; want every call of every command", limited)
	}
	if limited := run(time.Second, 0); len(limited) != 0 {
		t.Errorf("a second later: %v answered 60007; want none", limited)
	}
	st := s.Stats()
	wantLimited := map[string]int{CommandGetMemberList: 201, CommandGetRoomList: 11, CommandGetRoomInfo: 6, CommandGetRoomStats: 4}
	if fmt.Sprint(st.RateLimitedByCommand) != fmt.Sprint(wantLimited) || st.RateLimited != 201 || st.AppRateLimited != 0 {
		t.Errorf("RateLimitedByCommand %v, RateLimited %d, AppRateLimited %d; want %v, 201, 0", st.RateLimitedByCommand, st.RateLimited, st.AppRateLimited, wantLimited)
	}
	wantMax := map[string]int{CommandGetMemberList: 401, CommandGetRoomList: 21, CommandGetRoomInfo: 11, CommandGetRoomStats: 7}
	if fmt.Sprint(st.MaxPerSecondByCommand) != fmt.Sprint(wantMax) || st.MaxPerSecond != 401 || st.MaxPerSecondAll != 440 {
		t.Errorf("MaxPerSecondByCommand %v, MaxPerSecond %d, MaxPerSecondAll %d; want %v, 401, 440", st.MaxPerSecondByCommand, st.MaxPerSecond, st.MaxPerSecondAll, wantMax)
	}

	s.SetCommandRateLimit(CommandGetRoomList, 0)
	clock.set(1100 * time.Millisecond)
	for range 20 {
		if ra := callPath(t, s, RoomListPath, listBody("", 20)); ra.ErrorCode != 0 {
			t.Fatalf("unlimited get_room_list: ErrorCode %d", ra.ErrorCode)
		}
	}
}

func TestAppRateLimit(t *testing.T) {
	s, clock := setupClock(t, func(o *Options) { o.AppRateLimit, o.RoomListRateLimit = 5, 2 })
	s.SetRoom("r", Room{MemberCount: 1})
	member := func() int { return callPath(t, s, MemberListPath, memberBody("r", "")).ErrorCode }
	info := func() int { return callPath(t, s, RoomInfoPath, roomBody("r")).ErrorCode }
	stats := func() int { return callPath(t, s, RoomStatsPath, roomBody("r")).ErrorCode }
	list := func() int { return callPath(t, s, RoomListPath, listBody("", 20)).ErrorCode }
	step := func(at time.Duration, call func() int, want int) {
		t.Helper()
		clock.set(at)
		if got := call(); got != want {
			t.Fatalf("at %v: ErrorCode %d; want %d", at, got, want)
		}
	}
	step(0, member, 0)
	step(0, member, 0)
	step(0, info, 0)
	step(0, stats, 0)
	step(0, list, 0) // the fifth call of the app in this second
	step(0, list, 60011)
	step(500*time.Millisecond, member, 60011)
	step(time.Second, list, 0) // the calls at 0 left the window; the rejected ones never entered it
	step(time.Second, list, 0)
	step(time.Second, list, 60007) // within the app's limit, beyond the command's
	s.SetAppRateLimit(0)
	for range 10 {
		step(time.Second, member, 0)
	}
	s.SetAppRateLimit(1)
	step(3*time.Second, info, 0)
	step(3*time.Second, stats, 60011)

	st := s.Stats()
	if st.AppRateLimited != 3 || st.RateLimitedByCommand[CommandGetRoomList] != 1 || st.RateLimited != 0 {
		t.Errorf("Stats = %+v; want AppRateLimited 3, one get_room_list 60007, none for get_member_list", st)
	}
}

func TestRoomStatsGrowth(t *testing.T) {
	s, clock := setupClock(t)
	s.SetRoom("r", Room{MemberCount: 100})
	check := func(at time.Duration, want RoomCounters) {
		t.Helper()
		clock.set(at)
		if got := roomStats(t, s, "r"); got != want {
			t.Errorf("at %v: counters %+v; want %+v", at, got, want)
		}
	}
	// Everyone present when the room is created has viewed it.
	check(0, RoomCounters{TotalViewers: 100})
	// 100 people for 10 s: likes 100*10/10, messages /20, gifts /100 (10
	// coins each), unique senders /400, viewers +100*10/60 turnover.
	check(10*time.Second, RoomCounters{TotalViewers: 116, TotalGiftsSent: 10, TotalGiftCoins: 100, TotalUniqueGiftSenders: 2, TotalLikesReceived: 100, TotalMsgCount: 50})
	// 60 join; a call halfway changes nothing about the total.
	s.SetRoom("r", Room{MemberCount: 160})
	check(15*time.Second, RoomCounters{TotalViewers: 160 + 30, TotalGiftsSent: 18, TotalGiftCoins: 180, TotalUniqueGiftSenders: 4, TotalLikesReceived: 180, TotalMsgCount: 90})
	check(20*time.Second, RoomCounters{TotalViewers: 160 + 43, TotalGiftsSent: 26, TotalGiftCoins: 260, TotalUniqueGiftSenders: 6, TotalLikesReceived: 260, TotalMsgCount: 130})
	// People leaving add no viewers, and the fewer left add less.
	s.SetRoom("r", Room{MemberCount: 40})
	check(30*time.Second, RoomCounters{TotalViewers: 160 + 50, TotalGiftsSent: 30, TotalGiftCoins: 300, TotalUniqueGiftSenders: 7, TotalLikesReceived: 300, TotalMsgCount: 150})
	// Other commands do not grow anything.
	callPath(t, s, RoomInfoPath, roomBody("r"))
	check(30*time.Second, RoomCounters{TotalViewers: 160 + 50, TotalGiftsSent: 30, TotalGiftCoins: 300, TotalUniqueGiftSenders: 7, TotalLikesReceived: 300, TotalMsgCount: 150})
}

func TestRoomStatsFreeze(t *testing.T) {
	s, clock := setupClock(t)
	s.SetRoom("r", Room{MemberCount: 100})
	clock.set(10 * time.Second)
	before := roomStats(t, s, "r")
	s.SetRoom("r", Room{MemberCount: 100, FreezeStats: true})
	clock.set(100 * time.Second)
	if got := roomStats(t, s, "r"); got != before {
		t.Errorf("frozen for 90 s: %+v; want unchanged %+v", got, before)
	}
	s.SetRoom("r", Room{MemberCount: 500, FreezeStats: true}) // joins while frozen do not count
	s.SetRoom("r", Room{MemberCount: 500})                    // nor when thawed
	if got := roomStats(t, s, "r"); got != before {
		t.Errorf("thawed: %+v; want unchanged %+v", got, before)
	}
	clock.set(110 * time.Second)
	want := RoomCounters{TotalViewers: 100 + 6_000_000/60_000, TotalGiftsSent: 60, TotalGiftCoins: 600, TotalUniqueGiftSenders: 15, TotalLikesReceived: 600, TotalMsgCount: 300}
	if got := roomStats(t, s, "r"); got != want {
		t.Errorf("10 s after thawing with 500: %+v; want %+v", got, want)
	}

	// Frozen from creation: nothing at all.
	s.SetRoom("cold", Room{MemberCount: 100, FreezeStats: true})
	clock.set(200 * time.Second)
	if got := roomStats(t, s, "cold"); got != (RoomCounters{}) {
		t.Errorf("created frozen: %+v; want zero", got)
	}
}

func TestRoomStatsResetOnRecreate(t *testing.T) {
	s, clock := setupClock(t)
	s.SetRoom("r", Room{MemberCount: 100})
	clock.set(60 * time.Second)
	s.SetRoom("r", Room{MemberCount: 100, Name: "renamed"}) // an update keeps the counters
	if got := roomStats(t, s, "r"); got.TotalLikesReceived != 600 {
		t.Fatalf("after an update: %+v; want 600 likes", got)
	}
	s.DeleteRoom("r")
	if ra := callPath(t, s, RoomStatsPath, roomBody("r")); ra.ErrorCode != 100004 {
		t.Errorf("deleted room: ErrorCode %d; want 100004", ra.ErrorCode)
	}
	s.SetRoom("r", Room{MemberCount: 10})
	if got := roomStats(t, s, "r"); got != (RoomCounters{TotalViewers: 10}) {
		t.Errorf("recreated: %+v; want counters from zero (10 viewers)", got)
	}
	clock.set(70 * time.Second)
	if got := roomStats(t, s, "r"); got.TotalLikesReceived != 10 {
		t.Errorf("10 s after recreating with 10: %+v; want 10 likes", got)
	}
}

func TestRoomStatsExplicit(t *testing.T) {
	s, clock := setupClock(t)
	set := RoomCounters{TotalViewers: 1, TotalGiftsSent: 2, TotalGiftCoins: 3, TotalUniqueGiftSenders: 4, TotalLikesReceived: 5, TotalMsgCount: 6}
	s.SetRoom("r", Room{MemberCount: 1000, Stats: set})
	clock.set(time.Hour)
	if got := roomStats(t, s, "r"); got != set {
		t.Errorf("explicit Stats: %+v; want %+v", got, set)
	}
	s.SetRoom("r", Room{MemberCount: 1000, Stats: RoomCounters{TotalMsgCount: 9}})
	if got := roomStats(t, s, "r"); got != (RoomCounters{TotalMsgCount: 9}) {
		t.Errorf("explicit Stats with one counter: %+v", got)
	}
	// Back to the fake's own counters, which grew meanwhile.
	s.SetRoom("r", Room{MemberCount: 1000})
	if got := roomStats(t, s, "r"); got.TotalLikesReceived != 1000*3600/10 {
		t.Errorf("own counters: %+v; want %d likes", got, 1000*3600/10)
	}
}

func TestStatsByCommand(t *testing.T) {
	s, clock := setupClock(t)
	s.SetRoom("a", Room{MemberCount: 1})
	s.SetRoom("b", Room{MemberCount: 1})
	callPath(t, s, MemberListPath, memberBody("a", ""))
	callPath(t, s, RoomInfoPath, roomBody("a"))
	callPath(t, s, RoomInfoPath, roomBody("b"))
	callPath(t, s, RoomStatsPath, roomBody("b"))
	callPath(t, s, RoomStatsPath, `{}`) // no room to count it for
	clock.set(2 * time.Second)
	listRooms(t, s, "", 20)
	do(t, s, http.MethodGet, RoomStatsPath, "", "")

	st := s.Stats()
	want := Stats{Calls: 1, CallsByRoom: map[string]int{"a": 1}, MaxPerSecond: 1, MaxInFlight: 1,
		CallsByCommand: map[string]int{CommandGetMemberList: 1, CommandGetRoomInfo: 2, CommandGetRoomStats: 3, CommandGetRoomList: 1},
		CallsByCommandRoom: map[string]map[string]int{
			CommandGetMemberList: {"a": 1}, CommandGetRoomInfo: {"a": 1, "b": 1}, CommandGetRoomStats: {"b": 1},
		},
		RateLimitedByCommand:  map[string]int{},
		MaxPerSecondByCommand: map[string]int{CommandGetMemberList: 1, CommandGetRoomInfo: 2, CommandGetRoomStats: 2, CommandGetRoomList: 1},
		MaxPerSecondAll:       5,
	}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Errorf("Stats() =\n%+v\nwant\n%+v", st, want)
	}
	s.ResetStats()
	if st := s.Stats(); st.MaxPerSecondAll != 0 || len(st.CallsByCommand) != 0 || len(st.CallsByCommandRoom) != 0 {
		t.Errorf("after ResetStats: %+v", st)
	}
}
