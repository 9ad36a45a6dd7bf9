package tencenttest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func FuzzDecodeUserSig(f *testing.F) {
	f.Add(validSig(f))
	f.Add(makeUserSig(f, testKey, "xiaojun", testAppID, testSigTime, 15552000))
	f.Add(makeUserSig(f, "other-key", "", 0, -1, -1))
	f.Add(encodeUserSig(f, sigDoc{Ver: "1.0", Identifier: "x", SDKAppID: 1, Time: 1, Expire: 1, Sig: "x"}))
	f.Add(encodeUserSig(f, []byte(`{"TLS.ver":"2.0","TLS.sdkappid":"1"}`)))
	f.Add(encodeUserSig(f, []byte(`null`)))
	f.Add(encodeUserSig(f, bytes.Repeat([]byte("{"), 1000)))
	f.Add("")
	f.Add("garbage")
	f.Add("eJw_")
	f.Add("aGVsbG8gd29ybGQ_")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := DecodeUserSig(s)
		if err != nil {
			if len(s) >= 16 && strings.Contains(err.Error(), s) {
				t.Errorf("error %q quotes the usersig", err)
			}
			want := codeSigUnparsable
			if s == "" {
				want = codeSigEmpty
			}
			if code, _ := VerifyUserSig(s, testAppID, testAdmin, testKey, testNow); code != want {
				t.Errorf("VerifyUserSig of an undecodable usersig = %d; want %d", code, want)
			}
			return
		}

		// Verified against its own fields at its own time, the outcome
		// follows from the fields alone.
		at := time.Unix(u.Time, 0)
		want := 0
		switch {
		case u.Version != "2.0":
			want = codeSigUnparsable
		case u.Expire < 0:
			want = codeSigExpired
		case u.Sig != makeTLSSig(testKey, u.Identifier, u.SDKAppID, u.Time, u.Expire):
			want = codeSigMismatch
		}
		code, err := VerifyUserSig(s, u.SDKAppID, u.Identifier, testKey, at)
		if code != want || (err == nil) != (code == 0) {
			t.Fatalf("VerifyUserSig(%+v) = %d, %v; want %d", u, code, err, want)
		}
		if u.Version == "2.0" {
			if code, _ := VerifyUserSig(s, u.SDKAppID+1, u.Identifier, testKey, at); code != codeSigSDKAppID {
				t.Errorf("other sdkappid: code %d; want %d", code, codeSigSDKAppID)
			}
			if code, _ := VerifyUserSig(s, u.SDKAppID, u.Identifier+"x", testKey, at); code != codeSigIdentifier {
				t.Errorf("other identifier: code %d; want %d", code, codeSigIdentifier)
			}
		}

		// Encoding the decoded fields again gives the same fields back.
		again, err := DecodeUserSig(encodeUserSig(t, sigDoc{
			Ver: u.Version, Identifier: u.Identifier, SDKAppID: u.SDKAppID, Time: u.Time, Expire: u.Expire, Sig: u.Sig,
		}))
		if err != nil || again != u {
			t.Errorf("re-encoded %+v decodes to %+v, %v", u, again, err)
		}
	})
}

func FuzzServeHTTP(f *testing.F) {
	valid := validQuery(f).Encode()
	for _, seed := range []struct{ query, body string }{
		{valid, `{"RoomId":"room","Next":""}`},
		{valid, `{"RoomId":"room","Next":"next_100"}`},
		{valid, `{"RoomId":"room","Next":"next_999"}`},
		{valid, `{"RoomId":"endless","Next":"next_0"}`},
		{valid, `{"RoomId":"members","Next":""}`},
		{valid, `{"RoomId":"not-live","Next":""}`},
		{valid, `{"RoomId":"unknown","Next":""}`},
		{valid, `{"RoomId":"room","Next":"garbage"}`},
		{valid, `{"RoomId":"room"}`},
		{valid, `{"RoomId":"room","Next":null,"RoomId":1}`},
		{valid, `{"RoomId":"r\u00e9\ud800","Next":""}`},
		{valid, `[]`},
		{valid, `null`},
		{valid, ``},
		{valid, `{`},
		{valid, "\xff\xfe"},
		{"", `{"RoomId":"room","Next":""}`},
		{"sdkappid=1&random=1&contenttype=json", `{"RoomId":"room","Next":""}`},
		{valid + "&x=%zz", `{"RoomId":"room","Next":""}`},
		{valid + ";", `{"RoomId":"room","Next":""}`},
	} {
		f.Add(seed.query, seed.body)
	}
	f.Fuzz(func(t *testing.T, rawQuery, body string) {
		fake := New(testOptions())
		fake.SetRoom("room", Room{MemberCount: 2500})
		fake.SetRoom("endless", Room{MemberCount: 150, EndlessNext: true})
		fake.SetRoom("members", Room{MemberCount: 3, Members: []string{"a", "b", "\u00e9"}})
		fake.SetRoom("not-live", Room{ErrorCode: 100006})

		req := httptest.NewRequest(http.MethodPost, MemberListPath, strings.NewReader(body))
		req.URL.RawQuery = rawQuery
		rec := httptest.NewRecorder()
		fake.ServeHTTP(rec, req)

		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d %q", rec.Code, rec.Body.Bytes())
		}
		checkEnvelope(t, rec.Body.Bytes())
		var ar apiResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &ar); err != nil {
			t.Fatalf("answer: %v", err)
		}
		if ar.Response != nil && len(ar.Response.MemberList) > defaultPageSize {
			t.Errorf("page of %d members; want at most %d", len(ar.Response.MemberList), defaultPageSize)
		}
		if st := fake.Stats(); st.Calls != 1 || st.MaxInFlight != 1 || st.MaxPerSecond != 1 {
			t.Errorf("Stats = %+v; want one call", st)
		}
	})
}

func FuzzServeRoomCommands(f *testing.F) {
	paths := []string{RoomListPath, RoomInfoPath, RoomStatsPath, MemberListPath}
	for _, seed := range []struct {
		path uint8
		body string
	}{
		{0, `{"Next":"","Count":20}`},
		{0, `{"Next":"rooms_2_1","Count":1}`},
		{0, `{"Next":"rooms_3_0","Count":20}`},
		{0, `{"Next":"next_100","Count":20}`},
		{0, `{"Next":"","Count":20.0}`},
		{0, `{"Next":"","Count":21}`},
		{1, `{"RoomId":"room"}`},
		{1, `{"RoomId":"private"}`},
		{1, `{"RoomId":"numbers"}`},
		{1, `{"RoomId":"not-live"}`},
		{2, `{"RoomId":"room"}`},
		{2, `{"RoomId":"explicit"}`},
		{2, `{"RoomId":"` + strings.Repeat("x", 49) + `"}`},
		{2, `{"RoomId":1}`},
		{3, `{"RoomId":"room","Next":""}`},
		{1, `null`},
		{2, ``},
	} {
		f.Add(seed.path, seed.body)
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		fake := New(testOptions())
		fake.SetRoom("room", Room{MemberCount: 25, ViewCount: 3, Category: []int{1}})
		fake.SetRoom("private", Room{Private: true, ViewCount: 9})
		fake.SetRoom("numbers", Room{Owner: "12345", OwnerAsNumber: true, TakeSeatModeAsInt: true, ViewCount: 3})
		fake.SetRoom("not-live", Room{ErrorCode: 100006})
		fake.SetRoom("explicit", Room{Stats: RoomCounters{TotalMsgCount: 4}})
		path := paths[int(which)%len(paths)]

		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.URL.RawQuery = validQuery(t).Encode()
		rec := httptest.NewRecorder()
		fake.ServeHTTP(rec, req)

		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d %q", rec.Code, rec.Body.Bytes())
		}
		checkEnvelope(t, rec.Body.Bytes())
		var ra rawAnswer
		if err := json.Unmarshal(rec.Body.Bytes(), &ra); err != nil {
			t.Fatalf("answer: %v", err)
		}
		if ra.ActionStatus == "OK" {
			switch path {
			case RoomListPath:
				var p listPage
				if err := json.Unmarshal(ra.Response, &p); err != nil || p.RoomList == nil || len(p.RoomList) > 20 {
					t.Errorf("get_room_list Response %s (%v)", ra.Response, err)
				}
				for _, r := range p.RoomList {
					if r.RoomID == "private" || r.RoomID == "not-live" {
						t.Errorf("listed %s", r.RoomID)
					}
				}
			case RoomInfoPath:
				var resp struct {
					RoomInfo struct {
						RoomID string `json:"RoomId"`
					}
				}
				if err := json.Unmarshal(ra.Response, &resp); err != nil || resp.RoomInfo.RoomID == "" {
					t.Errorf("get_room_info Response %s (%v)", ra.Response, err)
				}
			case RoomStatsPath:
				var c map[string]int64
				if err := json.Unmarshal(ra.Response, &c); err != nil || len(c) != 6 {
					t.Errorf("get_room_stats Response %s (%v)", ra.Response, err)
				}
			}
		}
		name := strings.TrimPrefix(path, ServicePath)
		if st := fake.Stats(); st.CallsByCommand[name] != 1 || st.MaxInFlight != 1 || st.MaxPerSecondAll != 1 {
			t.Errorf("Stats = %+v; want one %s call", st, name)
		}
	})
}
