package tencenttest

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestTLSSigVectors(t *testing.T) {
	for _, tc := range []struct {
		identifier string
		expire     int64
		want       string
	}{
		{"xiaojun", 15552000, "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="},
		{"administrator", 86400, "yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60="},
	} {
		t.Run(tc.identifier, func(t *testing.T) {
			if got := makeTLSSig(testKey, tc.identifier, testAppID, testSigTime, tc.expire); got != tc.want {
				t.Errorf("test helper TLS.sig = %q; want %q", got, tc.want)
			}
			u := UserSig{Version: "2.0", Identifier: tc.identifier, SDKAppID: testAppID, Time: testSigTime, Expire: tc.expire}
			if got := tlsSig(testKey, u); got != tc.want {
				t.Errorf("tlsSig = %q; want %q", got, tc.want)
			}

			s := makeUserSig(t, testKey, tc.identifier, testAppID, testSigTime, tc.expire)
			got, err := DecodeUserSig(s)
			if err != nil {
				t.Fatalf("DecodeUserSig: %v", err)
			}
			u.Sig = tc.want
			if got != u {
				t.Errorf("DecodeUserSig = %+v; want %+v", got, u)
			}
			if code, err := VerifyUserSig(s, testAppID, tc.identifier, testKey, time.Unix(testSigTime, 0)); code != 0 {
				t.Errorf("VerifyUserSig = %d, %v; want 0", code, err)
			}
		})
	}
}

func TestVerifyUserSig(t *testing.T) {
	valid := validSig(t)
	doc := func(mutate func(*sigDoc)) string {
		d := sigDoc{Ver: "2.0", Identifier: testAdmin, SDKAppID: testAppID, Time: testSigTime, Expire: testExpire,
			Sig: makeTLSSig(testKey, testAdmin, testAppID, testSigTime, testExpire)}
		mutate(&d)
		return encodeUserSig(t, d)
	}
	raw := func(json string) string { return encodeUserSig(t, []byte(json)) }
	bomb := encodeUserSig(t, bytes.Repeat([]byte(" "), 1<<20))
	expiry := time.Unix(testSigTime+testExpire, 0)

	for _, tc := range []struct {
		name       string
		sig        string
		sdkAppID   uint64
		identifier string
		key        string
		now        time.Time
		want       int
	}{
		{"valid", valid, testAppID, testAdmin, testKey, testNow, 0},
		{"valid at the last second", valid, testAppID, testAdmin, testKey, expiry, 0},
		{"valid before its time", valid, testAppID, testAdmin, testKey, time.Unix(0, 0), 0},
		{"wrong key", valid, testAppID, testAdmin, strings.Repeat("0", 64), testNow, 70009},
		{"signed with another key", makeUserSig(t, "other", testAdmin, testAppID, testSigTime, testExpire), testAppID, testAdmin, testKey, testNow, 70009},
		{"tampered expire", doc(func(d *sigDoc) { d.Expire *= 2 }), testAppID, testAdmin, testKey, testNow, 70009},
		{"wrong identifier", valid, testAppID, "xiaojun", testKey, testNow, 70013},
		{"identifier case", valid, testAppID, "Administrator", testKey, testNow, 70013},
		{"wrong sdkappid", valid, testAppID + 1, testAdmin, testKey, testNow, 70014},
		{"expired", valid, testAppID, testAdmin, testKey, expiry.Add(time.Second), 70001},
		{"negative expire", makeUserSig(t, testKey, testAdmin, testAppID, testSigTime, -1), testAppID, testAdmin, testKey, time.Unix(testSigTime, 0), 70001},
		{"huge expire", makeUserSig(t, testKey, testAdmin, testAppID, testSigTime, math.MaxInt64), testAppID, testAdmin, testKey, testNow, 0},
		{"empty", "", testAppID, testAdmin, testKey, testNow, 70002},
		{"not base64", "garbage!!", testAppID, testAdmin, testKey, testNow, 70003},
		{"truncated", valid[:len(valid)/2], testAppID, testAdmin, testKey, testNow, 70003},
		{"not zlib", "aGVsbG8gd29ybGQ_", testAppID, testAdmin, testKey, testNow, 70003},
		{"not json", raw("TLS.ver:2.0"), testAppID, testAdmin, testKey, testNow, 70003},
		{"json null", raw("null"), testAppID, testAdmin, testKey, testNow, 70003},
		{"json array", raw("[1,2]"), testAppID, testAdmin, testKey, testNow, 70003},
		{"missing sig", raw(`{"TLS.ver":"2.0","TLS.identifier":"administrator","TLS.sdkappid":1400000000,"TLS.time":1700000000,"TLS.expire":86400}`), testAppID, testAdmin, testKey, testNow, 70003},
		{"sdkappid as string", raw(`{"TLS.ver":"2.0","TLS.identifier":"administrator","TLS.sdkappid":"1400000000","TLS.time":1700000000,"TLS.expire":86400,"TLS.sig":"x"}`), testAppID, testAdmin, testKey, testNow, 70003},
		{"identifier as number", raw(`{"TLS.ver":"2.0","TLS.identifier":7,"TLS.sdkappid":1400000000,"TLS.time":1700000000,"TLS.expire":86400,"TLS.sig":"x"}`), testAppID, testAdmin, testKey, testNow, 70003},
		{"lowercase keys", raw(`{"tls.ver":"2.0","tls.identifier":"administrator","tls.sdkappid":1400000000,"tls.time":1700000000,"tls.expire":86400,"tls.sig":"x"}`), testAppID, testAdmin, testKey, testNow, 70003},
		{"version 1", doc(func(d *sigDoc) { d.Ver = "1.0" }), testAppID, testAdmin, testKey, testNow, 70003},
		{"zip bomb", bomb, testAppID, testAdmin, testKey, testNow, 70003},
		{"too long", strings.Repeat("A", maxUserSigLen+4), testAppID, testAdmin, testKey, testNow, 70003},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := VerifyUserSig(tc.sig, tc.sdkAppID, tc.identifier, tc.key, tc.now)
			if code != tc.want {
				t.Fatalf("VerifyUserSig() = %d, %v; want %d", code, err, tc.want)
			}
			if (err == nil) != (code == 0) {
				t.Fatalf("VerifyUserSig() = %d, %v: error and code disagree", code, err)
			}
			if err != nil {
				msg := err.Error()
				if tc.sig != "" && strings.Contains(msg, tc.sig) || strings.Contains(msg, tc.key) {
					t.Errorf("error %q quotes the usersig or the key", msg)
				}
			}
		})
	}
}

func TestExpired(t *testing.T) {
	for _, tc := range []struct {
		now, t, expire int64
		want           bool
	}{
		{100, 0, 100, false},
		{101, 0, 100, true},
		{0, 0, -1, true},
		{math.MaxInt64, math.MaxInt64, math.MaxInt64, false},
		{math.MinInt64, math.MinInt64, math.MinInt64, true},
		{0, math.MinInt64, -1, true},
		{math.MaxInt64, 1, math.MaxInt64, false},
	} {
		if got := expired(tc.now, tc.t, tc.expire); got != tc.want {
			t.Errorf("expired(%d, %d, %d) = %v; want %v", tc.now, tc.t, tc.expire, got, tc.want)
		}
	}
}

func TestSigCache(t *testing.T) {
	var c sigCache
	valid := validSig(t)
	for range 2 {
		if _, err := c.decode(valid); err != nil {
			t.Fatalf("decode: %v", err)
		}
	}
	if _, err := c.decode("garbage!!"); err == nil {
		t.Fatal("decode(garbage) succeeded")
	}
	if len(c.m) != 1 {
		t.Errorf("cache holds %d entries; want 1 (errors are not cached)", len(c.m))
	}
	for i := range maxCachedSigs {
		c.m[fmt.Sprint(i)] = UserSig{}
	}
	if _, err := c.decode(makeUserSig(t, testKey, testAdmin, testAppID, testSigTime+1, testExpire)); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(c.m) != 1 {
		t.Errorf("full cache holds %d entries after a new decode; want 1 (emptied)", len(c.m))
	}
}
