package tencenttest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// walk pages through roomID like a client, at most maxPages pages.
func walk(t *testing.T, s *Server, roomID string, maxPages int) (pages []apiResponse) {
	t.Helper()
	next := ""
	for range maxPages {
		ar := call(t, s, roomID, next)
		if ar.ActionStatus != "OK" {
			t.Fatalf("page %d: %s %d %q", len(pages)+1, ar.ActionStatus, ar.ErrorCode, ar.ErrorInfo)
		}
		pages = append(pages, ar)
		if next = ar.Response.Next; next == "" {
			return pages
		}
	}
	return pages
}

func TestMemberListPaging(t *testing.T) {
	names := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf("acct-%04d", i)
		}
		return s
	}
	for _, tc := range []struct {
		name                string
		pageSize            int
		room                Room
		wantPages           int
		wantListed          int
		wantFirst, wantLast string
	}{
		{"2500 members, 1000 listed", 0, Room{MemberCount: 2500}, 10, 1000, "user-1", "user-1000"},
		{"250 members", 100, Room{MemberCount: 250}, 3, 250, "user-1", "user-250"},
		{"exactly one page", 100, Room{MemberCount: 100}, 1, 100, "user-1", "user-100"},
		{"empty room", 0, Room{}, 1, 0, "", ""},
		{"explicit members", 2, Room{MemberCount: 7, Members: []string{"alice", "bob", "carol"}}, 2, 3, "alice", "carol"},
		{"explicit members capped", 250, Room{MemberCount: 1200, Members: names(1200)}, 4, 1000, "acct-0000", "acct-0999"},
		{"empty explicit list", 0, Room{MemberCount: 9, Members: []string{}}, 1, 0, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := setup(t, func(o *Options) { o.PageSize = tc.pageSize })
			s.SetRoom("room", tc.room)
			pages := walk(t, s, "room", 50)
			if len(pages) != tc.wantPages {
				t.Fatalf("walked %d pages; want %d", len(pages), tc.wantPages)
			}
			pageSize := tc.pageSize
			if pageSize == 0 {
				pageSize = 100
			}
			var listed []string
			seen := make(map[string]bool)
			for i, p := range pages {
				if p.Response.MemberCount != tc.room.MemberCount {
					t.Errorf("page %d: MemberCount = %d; want %d", i+1, p.Response.MemberCount, tc.room.MemberCount)
				}
				if p.Response.MemberList == nil {
					t.Errorf("page %d: MemberList is null, want an array", i+1)
				}
				if len(p.Response.MemberList) > pageSize {
					t.Errorf("page %d: %d members; want at most %d", i+1, len(p.Response.MemberList), pageSize)
				}
				if last := i == len(pages)-1; last != (p.Response.Next == "") {
					t.Errorf("page %d of %d: Next = %q", i+1, len(pages), p.Response.Next)
				}
				for _, m := range p.Response.MemberList {
					if seen[m.Account] {
						t.Errorf("page %d: %q listed twice", i+1, m.Account)
					}
					seen[m.Account] = true
					listed = append(listed, m.Account)
				}
			}
			if len(listed) != tc.wantListed {
				t.Fatalf("listed %d members; want %d", len(listed), tc.wantListed)
			}
			if len(listed) > 0 && (listed[0] != tc.wantFirst || listed[len(listed)-1] != tc.wantLast) {
				t.Errorf("listed %q..%q; want %q..%q", listed[0], listed[len(listed)-1], tc.wantFirst, tc.wantLast)
			}
			if got := s.Stats().CallsByRoom["room"]; got != tc.wantPages {
				t.Errorf("CallsByRoom[room] = %d; want %d", got, tc.wantPages)
			}
		})
	}
}

func TestSetRoomCopiesMembers(t *testing.T) {
	s := setup(t)
	members := []string{"alice", "bob"}
	s.SetRoom("room", Room{MemberCount: 2, Members: members})
	members[0] = "mallory"
	ar := call(t, s, "room", "")
	if got := ar.Response.MemberList[0].Account; got != "alice" {
		t.Errorf("first member = %q; want alice", got)
	}
}

func TestRoomErrors(t *testing.T) {
	s := setup(t)
	s.SetRoom("deleted", Room{MemberCount: 3})
	s.DeleteRoom("deleted")
	s.SetRoom("not-live", Room{ErrorCode: 100006})
	s.SetRoom("broken", Room{ErrorCode: 100001})
	s.SetRoom("limited", Room{ErrorCode: 60007, MemberCount: 5})
	for _, tc := range []struct {
		room string
		want int
	}{
		{"never-set", 100004},
		{"deleted", 100004},
		{"not-live", 100006},
		{"broken", 100001},
		{"limited", 60007},
	} {
		t.Run(tc.room, func(t *testing.T) {
			for range 2 { // on every call
				ar := call(t, s, tc.room, "")
				if ar.ActionStatus != "FAIL" || ar.ErrorCode != tc.want {
					t.Fatalf("answer = %s %d; want FAIL %d", ar.ActionStatus, ar.ErrorCode, tc.want)
				}
			}
		})
	}
	if st := s.Stats(); st.RateLimited != 0 || st.AuthFailures != 0 || st.Injected != 0 {
		t.Errorf("Stats = %+v; want no rate-limited, auth or injected failures for room errors", st)
	}
}

func TestFailNext(t *testing.T) {
	s := setup(t)
	s.SetRoom("room", Room{MemberCount: 3})
	s.SetRoom("other", Room{MemberCount: 4})

	s.FailNext("room", 100001, 2)
	for i := range 2 {
		if ar := call(t, s, "room", ""); ar.ErrorCode != 100001 {
			t.Fatalf("call %d: ErrorCode = %d; want 100001", i+1, ar.ErrorCode)
		}
		if ar := call(t, s, "other", ""); ar.ErrorCode != 0 {
			t.Fatalf("other room: ErrorCode = %d; want 0", ar.ErrorCode)
		}
	}
	if ar := call(t, s, "room", ""); ar.ErrorCode != 0 || ar.Response.MemberCount != 3 {
		t.Fatalf("after the injections: %s %d; want OK with 3 members", ar.ActionStatus, ar.ErrorCode)
	}

	// A signature error injected for a room that does not exist.
	s.FailNext("ghost", 70001, 1)
	if ar := call(t, s, "ghost", ""); ar.ErrorCode != 70001 {
		t.Errorf("ErrorCode = %d; want 70001", ar.ErrorCode)
	}
	if ar := call(t, s, "ghost", ""); ar.ErrorCode != 100004 {
		t.Errorf("ErrorCode = %d; want 100004", ar.ErrorCode)
	}

	// Replaced, then cancelled.
	s.FailNext("room", 60007, 5)
	s.FailNext("room", 100001, 1)
	if ar := call(t, s, "room", ""); ar.ErrorCode != 100001 {
		t.Errorf("ErrorCode = %d; want 100001 (replaced injection)", ar.ErrorCode)
	}
	s.FailNext("room", 60007, 5)
	s.FailNext("room", 60007, 0)
	if ar := call(t, s, "room", ""); ar.ErrorCode != 0 {
		t.Errorf("ErrorCode = %d; want 0 (cancelled injection)", ar.ErrorCode)
	}

	st := s.Stats()
	if st.Injected != 4 || st.AuthFailures != 0 || st.RateLimited != 0 {
		t.Errorf("Stats = %+v; want Injected 4 and no auth or rate-limit failures", st)
	}
}

func TestHTTPStatusAndRawBody(t *testing.T) {
	s := setup(t)
	s.SetRoom("proxy", Room{HTTPStatus: 502, MemberCount: 3})
	s.SetRoom("ok-status", Room{HTTPStatus: 200, MemberCount: 3})
	s.SetRoom("garbage", Room{RawBody: "<html>oops"})
	s.SetRoom("truncated", Room{RawBody: `{"ActionStatus":"OK","ErrorCode":0,"Response":{"MemberCo`})

	q, body := validQuery(t).Encode(), memberBody("proxy", "")
	status, raw, _ := post(t, s, MemberListPath, q, body)
	if status != http.StatusBadGateway || !strings.Contains(string(raw), "502") {
		t.Errorf("proxy room: HTTP %d %q; want 502 with a short text", status, raw)
	}
	if ar := call(t, s, "ok-status", ""); ar.ErrorCode != 0 || ar.Response.MemberCount != 3 {
		t.Errorf("HTTPStatus 200: %s %d; want a normal answer", ar.ActionStatus, ar.ErrorCode)
	}
	for _, room := range []string{"garbage", "truncated"} {
		status, raw, _ := post(t, s, MemberListPath, q, memberBody(room, ""))
		want := map[string]string{"garbage": "<html>oops", "truncated": `{"ActionStatus":"OK","ErrorCode":0,"Response":{"MemberCo`}[room]
		if status != http.StatusOK || string(raw) != want {
			t.Errorf("%s room: HTTP %d %q; want 200 %q", room, status, raw, want)
		}
	}

	// Wrong-shaped answers a client must not take for data are served
	// byte for byte, for the first page and any later one.
	for _, body := range []string{
		`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RequestId":"r","Response":{}}`,
		`{"ActionStatus":"OK","ErrorCode":0,"RequestId":"r","Response":{"MemberCount":-1}}`,
		`{"ActionStatus":"OK","ErrorCode":0,"RequestId":"r","Response":{"MemberCount":12.0}}`,
		`{"ActionStatus":"OK","ErrorCode":0,"RequestId":"r","Response":{"MemberCount":"12"}}`,
		`{"ActionStatus":"FAIL","ErrorCode":60007.0,"ErrorInfo":"limit","RequestId":"r"}`,
		`{"ActionStatus":"OK","ErrorCode":0,"RequestId":"r","Response":{"MemberCount":1,"MemberList":[{"Member_Account":12345}],"Next":""}}`,
		`{"ActionStatus":"OK","ErrorCode":0,"RequestId":"r","Response":{"MemberCount":1,"MemberList":[{"Member_Account":{}}],"Next":""}}`,
	} {
		s.SetRoom("shape", Room{RawBody: body})
		for _, next := range []string{"", nextToken(100)} {
			status, raw, _ := post(t, s, MemberListPath, q, memberBody("shape", next))
			if status != http.StatusOK || string(raw) != body {
				t.Errorf("RawBody %s, Next %q: HTTP %d %q; want 200 and the body verbatim", body, next, status, raw)
			}
		}
	}
}

func TestEndlessNext(t *testing.T) {
	s := setup(t)
	s.SetRoom("endless", Room{MemberCount: 150, EndlessNext: true})
	s.SetRoom("empty", Room{EndlessNext: true})
	pages := walk(t, s, "endless", 20)
	if len(pages) != 20 {
		t.Fatalf("walked %d pages; want 20 (Next never empty)", len(pages))
	}
	if got := len(pages[1].Response.MemberList); got != 50 {
		t.Errorf("page 2 lists %d members; want 50", got)
	}
	if a, b := pages[0].Response.MemberList[0].Account, pages[2].Response.MemberList[0].Account; a != b {
		t.Errorf("page 3 starts with %q; want the first page again (%q)", b, a)
	}
	if pages := walk(t, s, "empty", 5); len(pages) != 5 {
		t.Errorf("empty endless room: walked %d pages; want 5", len(pages))
	}
}

func TestBadBody(t *testing.T) {
	s := setup(t)
	s.SetRoom("r", Room{MemberCount: 150})
	for _, tc := range []struct {
		name string
		body string
		want int
	}{
		{"valid", `{"RoomId":"r","Next":""}`, 0},
		{"valid with token", `{"RoomId":"r","Next":"next_100"}`, 0},
		{"token past the end", `{"RoomId":"r","Next":"next_1000"}`, 0},
		{"extra field", `{"RoomId":"r","Next":"","Count":3}`, 0},
		{"empty", ``, 60003},
		{"not json", `RoomId=r&Next=`, 60003},
		{"truncated", `{"RoomId":"r","Next":`, 60003},
		{"trailing garbage", `{"RoomId":"r","Next":""} x`, 60003},
		{"too large", `{"RoomId":"r","Next":"","Pad":"` + strings.Repeat("x", maxBodyBytes) + `"}`, 60003},
		{"json null", `null`, 100002},
		{"json array", `[{"RoomId":"r","Next":""}]`, 100002},
		{"json string", `"r"`, 100002},
		{"empty object", `{}`, 100002},
		{"missing Next", `{"RoomId":"r"}`, 100002},
		{"missing RoomId", `{"Next":""}`, 100002},
		{"empty RoomId", `{"RoomId":"","Next":""}`, 100002},
		{"RoomId number", `{"RoomId":1,"Next":""}`, 100002},
		{"RoomId null", `{"RoomId":null,"Next":""}`, 100002},
		{"Next null", `{"RoomId":"r","Next":null}`, 100002},
		{"Next number", `{"RoomId":"r","Next":0}`, 100002},
		{"lowercase names", `{"roomid":"r","next":""}`, 100002},
		{"bad token", `{"RoomId":"r","Next":"garbage"}`, 100002},
		{"token without offset", `{"RoomId":"r","Next":"next_"}`, 100002},
		{"token with leading zero", `{"RoomId":"r","Next":"next_01"}`, 100002},
		{"token past the cap", `{"RoomId":"r","Next":"next_1001"}`, 100002},
		{"negative token", `{"RoomId":"r","Next":"next_-1"}`, 100002},
		{"token case", `{"RoomId":"r","Next":"NEXT_100"}`, 100002},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ar := callWith(t, s, validQuery(t).Encode(), tc.body)
			if ar.ErrorCode != tc.want {
				t.Errorf("ErrorCode = %d (%q); want %d", ar.ErrorCode, ar.ErrorInfo, tc.want)
			}
		})
	}
	if ar := call(t, s, "r", "next_1000"); len(ar.Response.MemberList) != 0 || ar.Response.Next != "" {
		t.Errorf("token past the end: %d members, Next %q; want an empty last page", len(ar.Response.MemberList), ar.Response.Next)
	}
}

func TestBadQuery(t *testing.T) {
	s := setup(t)
	s.SetRoom("r", Room{MemberCount: 1})
	with := func(key, value string) string {
		q := validQuery(t)
		q.Set(key, value)
		return q.Encode()
	}
	without := func(key string) string {
		q := validQuery(t)
		q.Del(key)
		return q.Encode()
	}
	bob := validQuery(t)
	bob.Set("identifier", "bob")
	bob.Set("usersig", makeUserSig(t, testKey, "bob", testAppID, testSigTime, testExpire))

	cases := []struct {
		name  string
		query string
		want  int
	}{
		{"valid", validQuery(t).Encode(), 0},
		{"random 0", with("random", "0"), 0},
		{"random max", with("random", "4294967295"), 0},
		{"unparsable query", validQuery(t).Encode() + "&x=%zz", 60002},
		{"no query", "", 60002},
		{"random missing", without("random"), 60002},
		{"random not a number", with("random", "abc"), 60002},
		{"random too large", with("random", "4294967296"), 60002},
		{"random negative", with("random", "-1"), 60002},
		{"contenttype missing", without("contenttype"), 60002},
		{"contenttype xml", with("contenttype", "xml"), 60002},
		{"contenttype case", with("contenttype", "JSON"), 60002},
		{"sdkappid missing", without("sdkappid"), 60012},
		{"sdkappid not a number", with("sdkappid", "abc"), 60006},
		{"sdkappid other", with("sdkappid", "1400000001"), 70016},
		{"usersig missing", without("usersig"), 70002},
		{"usersig garbage", with("usersig", "garbage"), 70003},
		{"usersig other key", with("usersig", makeUserSig(t, "other-key", testAdmin, testAppID, testSigTime, testExpire)), 70009},
		{"usersig other identifier", with("usersig", makeUserSig(t, testKey, "bob", testAppID, testSigTime, testExpire)), 70013},
		{"identifier missing", without("identifier"), 70013},
		{"usersig other sdkappid", with("usersig", makeUserSig(t, testKey, testAdmin, 1400000001, testSigTime, testExpire)), 70014},
		{"usersig expired", with("usersig", makeUserSig(t, testKey, testAdmin, testAppID, testSigTime-testExpire, 3599)), 70001},
		{"not an administrator", bob.Encode(), 60010},
	}
	failures := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ar := callWith(t, s, tc.query, memberBody("r", ""))
			if ar.ErrorCode != tc.want {
				t.Fatalf("ErrorCode = %d (%q); want %d", ar.ErrorCode, ar.ErrorInfo, tc.want)
			}
			if strings.Contains(ar.ErrorInfo, testKey) {
				t.Errorf("ErrorInfo %q quotes the key", ar.ErrorInfo)
			}
			if q, _ := url.ParseQuery(tc.query); q.Get("usersig") != "" && strings.Contains(ar.ErrorInfo, q.Get("usersig")) {
				t.Errorf("ErrorInfo %q quotes the usersig", ar.ErrorInfo)
			}
		})
		if tc.want != 0 {
			failures++
		}
	}
	st := s.Stats()
	if st.AuthFailures != failures || st.Calls != len(cases) || st.CallsByRoom["r"] != len(cases) {
		t.Errorf("Stats = %+v; want AuthFailures %d, Calls %d, CallsByRoom[r] %d", st, failures, len(cases), len(cases))
	}
}

func TestMethodAndPath(t *testing.T) {
	s := setup(t)
	s.SetRoom("r", Room{MemberCount: 1})
	q, body := validQuery(t).Encode(), memberBody("r", "")
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodPost, MemberListPath, http.StatusOK},
		{http.MethodGet, MemberListPath, http.StatusMethodNotAllowed},
		{http.MethodPut, MemberListPath, http.StatusMethodNotAllowed},
		{http.MethodDelete, MemberListPath, http.StatusMethodNotAllowed},
		{http.MethodPost, RoomListPath, http.StatusOK},
		{http.MethodGet, RoomInfoPath, http.StatusMethodNotAllowed},
		{http.MethodPost, "/v4/live_engine_http_srv/destroy_room", http.StatusNotFound},
		{http.MethodPost, "/v4/live_engine_http_srv/", http.StatusNotFound},
		{http.MethodPost, "/v4/other_srv/get_member_list", http.StatusNotFound},
		{http.MethodPost, MemberListPath + "/", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusNotFound},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			status, raw, _ := do(t, s, tc.method, tc.path, q, body)
			if status != tc.want {
				t.Errorf("HTTP %d %q; want %d", status, raw, tc.want)
			}
		})
	}
	// 405s are calls of the command, 404s are not.
	st := s.Stats()
	if st.Calls != 4 || st.CallsByCommand[CommandGetRoomList] != 1 || st.CallsByCommand[CommandGetRoomInfo] != 1 {
		t.Errorf("Calls = %d, CallsByCommand = %v; want 4 and one each of get_room_list and get_room_info", st.Calls, st.CallsByCommand)
	}
}

func TestRateLimit(t *testing.T) {
	s, clock := setupClock(t)
	s.SetRoom("r", Room{MemberCount: 1})
	s.SetRateLimit(3)
	step := func(at time.Duration, want int) {
		t.Helper()
		clock.set(at)
		if ar := call(t, s, "r", ""); ar.ErrorCode != want {
			t.Fatalf("at %v: ErrorCode = %d; want %d", at, ar.ErrorCode, want)
		}
	}
	step(0, 0)
	step(0, 0)
	step(100*time.Millisecond, 0)
	step(100*time.Millisecond, 60007)
	step(999*time.Millisecond, 60007)
	step(time.Second, 0) // the two calls at 0 left the window
	step(time.Second, 0)
	step(time.Second, 60007)
	step(1100*time.Millisecond, 0) // the call at 100 ms left it
	step(1500*time.Millisecond, 60007)

	// Rejected calls are not accepted calls: at 2.05 s the window holds 1.1 s.
	step(2050*time.Millisecond, 0)
	step(2050*time.Millisecond, 0)
	step(2050*time.Millisecond, 60007)

	// The query is checked before the rate limit, the body after it.
	clock.set(2060 * time.Millisecond)
	if ar := callWith(t, s, url.Values{}.Encode(), memberBody("r", "")); ar.ErrorCode != 60002 {
		t.Errorf("bad query while limited: ErrorCode = %d; want 60002", ar.ErrorCode)
	}
	if ar := callWith(t, s, validQuery(t).Encode(), "{"); ar.ErrorCode != 60007 {
		t.Errorf("bad body while limited: ErrorCode = %d; want 60007", ar.ErrorCode)
	}

	s.SetRateLimit(0)
	step(2070*time.Millisecond, 0)

	st := s.Stats()
	if st.RateLimited != 6 || st.AuthFailures != 1 {
		t.Errorf("Stats = %+v; want RateLimited 6, AuthFailures 1", st)
	}
}

// TestRateLimitRealClock checks the windows on the Fake's own clock (not
// a manual one), which in a synctest bubble is the bubble's fake time.
func TestRateLimitRealClock(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := setupPipe(t, func(o *Options) { o.RateLimit = 2 })
		s.SetRoom("r", Room{MemberCount: 1})
		for range 2 {
			if ar := call(t, s, "r", ""); ar.ErrorCode != 0 {
				t.Fatalf("ErrorCode = %d; want 0", ar.ErrorCode)
			}
		}
		time.Sleep(999 * time.Millisecond)
		if ar := call(t, s, "r", ""); ar.ErrorCode != 60007 {
			t.Errorf("third call within a second: ErrorCode = %d; want 60007", ar.ErrorCode)
		}
		time.Sleep(time.Millisecond)
		if ar := call(t, s, "r", ""); ar.ErrorCode != 0 {
			t.Errorf("a second later: ErrorCode = %d; want 0", ar.ErrorCode)
		}
	})
}

// TestLatency runs in virtual time: a call is answered exactly its
// latency after it is sent.
func TestLatency(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := setupPipe(t)
		s.SetRoom("slow", Room{MemberCount: 1, Latency: 150 * time.Millisecond})
		s.SetRoom("fast", Room{MemberCount: 1})
		elapsed := func(roomID string) time.Duration {
			t.Helper()
			start := time.Now()
			call(t, s, roomID, "")
			return time.Since(start)
		}
		if d := elapsed("slow"); d != 150*time.Millisecond {
			t.Errorf("room latency: answered after %v; want 150ms", d)
		}
		s.SetLatency(100 * time.Millisecond)
		if d := elapsed("slow"); d != 250*time.Millisecond {
			t.Errorf("room + global latency: answered after %v; want 250ms", d)
		}
		if d := elapsed("fast"); d != 100*time.Millisecond {
			t.Errorf("global latency: answered after %v; want 100ms", d)
		}
		if d := elapsed("unknown"); d != 100*time.Millisecond {
			t.Errorf("global latency on a 100004: answered after %v; want 100ms", d)
		}
		s.SetLatency(0)
		s.SetRoom("slow", Room{MemberCount: 1})
		if d := elapsed("slow"); d != 0 {
			t.Errorf("latency removed: answered after %v; want at once", d)
		}
	})
}

func TestLatencyCancelled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := setupPipe(t)
		s.SetRoom("stuck", Room{MemberCount: 1, Latency: time.Hour})
		client := s.Client()
		client.Timeout = 200 * time.Millisecond
		u := s.URL + MemberListPath + "?" + validQuery(t).Encode()
		start := time.Now()
		resp, err := client.Post(u, "application/json", strings.NewReader(memberBody("stuck", "")))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("answered HTTP %d; want a client timeout", resp.StatusCode)
		}
		if took := time.Since(start); took != 200*time.Millisecond {
			t.Errorf("the client gave up after %s; want its 200ms timeout", took)
		}
		synctest.Wait() // the handler sees the client go
		if n := inFlight(s.Fake); n != 0 {
			t.Errorf("%d calls still in flight once the client gave up; want 0", n)
		}
	})
}

// TestCloseEndsLatency checks that Close answers nothing to a call still
// waiting out its latency and does not wait for it: on loopback in real
// time, and on pipes in virtual time.
func TestCloseEndsLatency(t *testing.T) {
	t.Parallel()
	t.Run("loopback", func(t *testing.T) {
		closeEndsLatency(t, NewServer)
	})
	t.Run("pipe", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) { closeEndsLatency(t, NewPipeServer) })
	})
}

func closeEndsLatency(t *testing.T, start func(Options) *Server) {
	t.Helper()
	s := start(testOptions())
	s.SetRoom("stuck", Room{MemberCount: 1, Latency: time.Hour})
	u := s.URL + MemberListPath + "?" + validQuery(t).Encode()
	errc := make(chan error, 1)
	client := s.Client()
	defer client.CloseIdleConnections()
	go func() {
		resp, err := client.Post(u, "application/json", strings.NewReader(memberBody("stuck", "")))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	for inFlight(s.Fake) != 1 {
		runtime.Gosched() // no sleep: it would take virtual time in a bubble
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return while a call waited out its latency")
	}
	if err := <-errc; err == nil {
		t.Error("the waiting call got an answer; want none")
	}
	s.Close() // twice is fine
}

func TestStats(t *testing.T) {
	s, clock := setupClock(t)
	s.SetRoom("a", Room{MemberCount: 250})
	s.SetRoom("b", Room{MemberCount: 1})

	for _, at := range []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond} {
		clock.set(at)
		call(t, s, "a", "")
	}
	// With the two calls below, (0.17 s, 1.17 s] holds 6: more than any other window.
	for _, at := range []time.Duration{1150 * time.Millisecond, 1160 * time.Millisecond, 1170 * time.Millisecond} {
		clock.set(at)
		call(t, s, "b", "")
	}
	callWith(t, s, "", memberBody("b", "")) // auth failure, still counted for b
	callWith(t, s, validQuery(t).Encode(), "{")

	st := s.Stats()
	want := Stats{Calls: 8, CallsByRoom: map[string]int{"a": 3, "b": 4}, AuthFailures: 1, MaxPerSecond: 6, MaxInFlight: 1,
		CallsByCommand:        map[string]int{CommandGetMemberList: 8},
		CallsByCommandRoom:    map[string]map[string]int{CommandGetMemberList: {"a": 3, "b": 4}},
		RateLimitedByCommand:  map[string]int{},
		MaxPerSecondByCommand: map[string]int{CommandGetMemberList: 6},
		MaxPerSecondAll:       6}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Errorf("Stats() = %+v; want %+v", st, want)
	}

	st.CallsByRoom["a"] = 99
	st.CallsByCommand[CommandGetMemberList] = 99
	st.CallsByCommandRoom[CommandGetMemberList]["a"] = 99
	if got := s.Stats(); got.CallsByRoom["a"] != 3 || got.CallsByCommand[CommandGetMemberList] != 8 || got.CallsByCommandRoom[CommandGetMemberList]["a"] != 3 {
		t.Errorf("Stats() shares its maps: %+v after changing a copy", got)
	}

	s.ResetStats()
	clock.set(1180 * time.Millisecond)
	call(t, s, "a", "")
	want = Stats{Calls: 1, CallsByRoom: map[string]int{"a": 1}, MaxPerSecond: 1, MaxInFlight: 1,
		CallsByCommand:        map[string]int{CommandGetMemberList: 1},
		CallsByCommandRoom:    map[string]map[string]int{CommandGetMemberList: {"a": 1}},
		RateLimitedByCommand:  map[string]int{},
		MaxPerSecondByCommand: map[string]int{CommandGetMemberList: 1},
		MaxPerSecondAll:       1}
	if st := s.Stats(); fmt.Sprint(st) != fmt.Sprint(want) {
		t.Errorf("after ResetStats: Stats() = %+v; want %+v", st, want)
	}
}

func TestMaxInFlight(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const n = 5
		s := setupPipe(t)
		s.SetRoom("stuck", Room{MemberCount: 1, Latency: time.Hour})
		client := s.Client()
		ctx, cancel := context.WithCancel(t.Context())
		u := s.URL + MemberListPath + "?" + validQuery(t).Encode()
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(memberBody("stuck", "")))
				if err != nil {
					t.Error(err)
					return
				}
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
					t.Error("a stuck call was answered")
				}
			})
		}
		synctest.Wait() // every call is in flight
		if got := inFlight(s.Fake); got != n {
			t.Fatalf("%d calls in flight; want %d", got, n)
		}
		cancel()
		wg.Wait()
		synctest.Wait() // every handler has returned
		if st := s.Stats(); st.MaxInFlight != n || st.Calls != n || st.CallsByRoom["stuck"] != n || inFlight(s.Fake) != 0 {
			t.Errorf("Stats = %+v, %d in flight; want MaxInFlight, Calls and CallsByRoom[stuck] %d, none in flight", st, inFlight(s.Fake), n)
		}
	})
}

func TestConcurrentCalls(t *testing.T) {
	const workers, perWorker = 8, 25
	s := setup(t)
	rooms := []string{"r0", "r1", "r2", "r3"}
	for _, r := range rooms {
		s.SetRoom(r, Room{MemberCount: 120})
	}
	var (
		mu  sync.Mutex
		ids = make(map[string]bool)
		wg  sync.WaitGroup
	)
	q := validQuery(t).Encode()
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				if i%5 == 0 {
					s.FailNext(rooms[w%len(rooms)], 100001, 1)
				}
				status, raw, ar, err := doErr(t.Context(), s, http.MethodPost, MemberListPath, q, memberBody(rooms[(w+i)%len(rooms)], ""))
				if err != nil || status != http.StatusOK {
					t.Errorf("HTTP %d %q, %v", status, raw, err)
					return
				}
				mu.Lock()
				if ids[ar.RequestID] {
					t.Errorf("RequestId %q answered twice", ar.RequestID)
				}
				ids[ar.RequestID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	sum := 0
	for _, n := range st.CallsByRoom {
		sum += n
	}
	if st.Calls != workers*perWorker || sum != st.Calls {
		t.Errorf("Stats = %+v; want %d calls", st, workers*perWorker)
	}
	if st.MaxInFlight < 1 || st.MaxInFlight > workers || st.MaxPerSecond < 1 || st.MaxPerSecond > st.Calls {
		t.Errorf("Stats = %+v: MaxInFlight or MaxPerSecond out of range", st)
	}
}

func TestWindow(t *testing.T) {
	var w window
	for i := range 100 {
		w.push(time.Duration(i))
		if i%3 == 0 {
			w.prune(time.Duration(i - 10))
		}
	}
	w.prune(89)
	if w.n != 10 {
		t.Fatalf("window holds %d; want 10", w.n)
	}
	for i := range w.n {
		if got := w.buf[(w.head+i)%len(w.buf)]; got != time.Duration(90+i) {
			t.Fatalf("entry %d = %d; want %d", i, got, 90+i)
		}
	}
}

func BenchmarkServeHTTP(b *testing.B) {
	f := New(testOptions())
	f.SetRoom("r", Room{MemberCount: 2500})
	target := MemberListPath + "?" + validQuery(b).Encode()
	body := memberBody("r", "next_300")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
			rec := newDiscardRecorder()
			f.ServeHTTP(rec, req)
			if rec.status != http.StatusOK {
				b.Errorf("HTTP %d", rec.status)
				return
			}
		}
	})
}

// discardRecorder is a ResponseWriter that keeps only the status.
type discardRecorder struct {
	h      http.Header
	status int
}

func newDiscardRecorder() *discardRecorder { return &discardRecorder{h: make(http.Header)} }

func (r *discardRecorder) Header() http.Header { return r.h }

func (r *discardRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}

func (r *discardRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// TestNetwork checks the modelled network: a request counts only once it
// has arrived, after its one-way delay, and is answered a round trip
// after it was sent. It runs in virtual time, so the figures are exact.
func TestNetwork(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := setupPipe(t)
		s.SetRoom("r", Room{MemberCount: 1})
		s.SetNetwork(400*time.Millisecond, 0.5, 0.2) // arrives after 160-240 ms
		done := make(chan time.Duration)
		start := time.Now()
		go func() {
			call(t, s, "r", "")
			done <- time.Since(start)
		}()
		time.Sleep(160*time.Millisecond - time.Nanosecond)
		if n := s.Stats().Calls; n != 0 {
			t.Errorf("before 160 ms the API has counted %d calls; want 0 (the request is still on its way)", n)
		}
		time.Sleep(80 * time.Millisecond)
		if n := s.Stats().Calls; n != 1 {
			t.Errorf("after 240 ms the API has counted %d calls; want 1 (the request has arrived)", n)
		}
		if took := <-done; took != 400*time.Millisecond {
			t.Errorf("answered after %s; want the 400 ms round trip", took)
		}
	})
}
