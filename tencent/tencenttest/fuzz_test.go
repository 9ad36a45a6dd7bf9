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
