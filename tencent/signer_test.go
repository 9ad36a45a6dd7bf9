package tencent

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"

// decodeForTest reverses GenerateUserSig's outer encoding.
func decodeForTest(t *testing.T, sig string) userSigDoc {
	t.Helper()
	raw := strings.NewReplacer("*", "+", "-", "/", "_", "=").Replace(sig)
	compressed, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		t.Fatalf("zlib: %v", err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	var doc userSigDoc
	if err := json.Unmarshal(plain, &doc); err != nil {
		t.Fatalf("json %s: %v", plain, err)
	}
	return doc
}

func TestGenerateUserSigVectors(t *testing.T) {
	tests := []struct {
		identifier string
		expire     time.Duration
		wantSig    string
	}{
		{"xiaojun", 15552000 * time.Second, "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="},
		{"administrator", 86400 * time.Second, "yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60="},
	}
	for _, tt := range tests {
		t.Run(tt.identifier, func(t *testing.T) {
			sig := GenerateUserSig(1400000000, tt.identifier, testKey, time.Unix(1700000000, 0), tt.expire)
			doc := decodeForTest(t, sig)
			want := userSigDoc{Version: "2.0", Identifier: tt.identifier, SDKAppID: 1400000000,
				Expire: int64(tt.expire / time.Second), Time: 1700000000, Sig: tt.wantSig}
			if doc != want {
				t.Errorf("GenerateUserSig(%q) decodes to %+v; want %+v", tt.identifier, doc, want)
			}
			if strings.ContainsAny(sig, "+/=") {
				t.Errorf("GenerateUserSig(%q) = %q; want URL-safe characters only", tt.identifier, sig)
			}
			if strings.Contains(sig, testKey) {
				t.Errorf("signature contains the secret key")
			}
		})
	}
}

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestSignerCachesAndRenews(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1700000000, 0)}
	s := NewSigner(1400000000, "administrator", testKey, WithTTL(100*time.Second), WithClock(clock.Now))

	first := s.UserSig()
	if got := decodeForTest(t, first); got.Time != 1700000000 || got.Expire != 100 {
		t.Fatalf("first sig time/expire = %d/%d; want 1700000000/100", got.Time, got.Expire)
	}
	clock.Advance(79 * time.Second)
	if got := s.UserSig(); got != first {
		t.Errorf("UserSig at 79%% of its life made a new signature; want the cached one")
	}
	clock.Advance(1 * time.Second)
	renewed := s.UserSig()
	if renewed == first {
		t.Fatalf("UserSig at 80%% of its life reused the old signature")
	}
	if got := decodeForTest(t, renewed); got.Time != 1700000080 {
		t.Errorf("renewed sig time = %d; want 1700000080", got.Time)
	}
	clock.Advance(time.Second)
	s.Invalidate()
	if got := decodeForTest(t, s.UserSig()); got.Time != 1700000081 {
		t.Errorf("after Invalidate sig time = %d; want 1700000081", got.Time)
	}
}

func TestSignerConcurrent(t *testing.T) {
	s := NewSigner(1400000000, "administrator", testKey)
	var wg sync.WaitGroup
	sigs := make([]string, 8)
	for i := range sigs {
		wg.Go(func() { sigs[i] = s.UserSig() })
	}
	wg.Wait()
	for i, sig := range sigs {
		if sig != sigs[0] {
			t.Errorf("concurrent UserSig #%d differs from #0: cache not shared", i)
		}
	}
}

func BenchmarkUserSigCached(b *testing.B) {
	s := NewSigner(1400000000, "administrator", testKey)
	s.UserSig()
	b.ReportAllocs()
	for b.Loop() {
		s.UserSig()
	}
}

func BenchmarkUserSigFresh(b *testing.B) {
	now := time.Unix(1700000000, 0)
	b.ReportAllocs()
	for b.Loop() {
		GenerateUserSig(1400000000, "administrator", testKey, now, DefaultUserSigTTL)
	}
}
