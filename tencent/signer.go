package tencent

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultUserSigTTL is the validity of a UserSig made by a Signer; Tencent
// recommends at least 24 hours.
const DefaultUserSigTTL = 24 * time.Hour

// renewFraction is how much of a signature's life may pass before the
// Signer makes a new one, so a request never carries a sig about to expire.
const renewFraction = 0.8

// Signer makes and caches UserSig v2 signatures for one App administrator.
// It is safe for concurrent use.
type Signer struct {
	sdkAppID   uint64
	identifier string
	key        string
	ttl        time.Duration
	now        func() time.Time

	mu      sync.Mutex
	sig     string
	renewAt time.Time
}

// SignerOption configures a Signer.
type SignerOption func(*Signer)

// WithTTL sets how long each signature is valid (default DefaultUserSigTTL).
// Values below one second are raised to one second.
func WithTTL(ttl time.Duration) SignerOption {
	return func(s *Signer) {
		s.ttl = max(ttl, time.Second)
	}
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) SignerOption {
	return func(s *Signer) { s.now = now }
}

// NewSigner returns a Signer for the given SDKAppID, administrator
// identifier and secret key (the console's SDKSecretKey).
func NewSigner(sdkAppID uint64, identifier, secretKey string, opts ...SignerOption) *Signer {
	s := &Signer{
		sdkAppID:   sdkAppID,
		identifier: identifier,
		key:        secretKey,
		ttl:        DefaultUserSigTTL,
		now:        time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// UserSig returns a valid signature, reusing the cached one until 80 % of
// its life has passed.
func (s *Signer) UserSig() string {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sig == "" || !now.Before(s.renewAt) {
		s.sig = GenerateUserSig(s.sdkAppID, s.identifier, s.key, now, s.ttl)
		s.renewAt = now.Add(time.Duration(float64(s.ttl) * renewFraction))
	}
	return s.sig
}

// Invalidate drops the cached signature so the next UserSig call makes a
// fresh one. The client calls it after a 70001 (expired) answer.
func (s *Signer) Invalidate() {
	s.mu.Lock()
	s.sig = ""
	s.mu.Unlock()
}

// userSigDoc is the signed document; field order follows Tencent's SDKs.
type userSigDoc struct {
	Version    string `json:"TLS.ver"`
	Identifier string `json:"TLS.identifier"`
	SDKAppID   uint64 `json:"TLS.sdkappid"`
	Expire     int64  `json:"TLS.expire"`
	Time       int64  `json:"TLS.time"`
	Sig        string `json:"TLS.sig"`
}

// userSigReplacer turns standard base64 with Tencent's URL-safe substitutions
// applied afterwards ('+'→'*', '/'→'-', '='→'_').
var userSigReplacer = strings.NewReplacer("+", "*", "/", "-", "=", "_")

// GenerateUserSig makes a UserSig v2 issued at issued and valid for ttl
// (whole seconds).
func GenerateUserSig(sdkAppID uint64, identifier, secretKey string, issued time.Time, ttl time.Duration) string {
	doc := userSigDoc{
		Version:    "2.0",
		Identifier: identifier,
		SDKAppID:   sdkAppID,
		Expire:     int64(ttl / time.Second),
		Time:       issued.Unix(),
	}
	doc.Sig = sigHMAC(sdkAppID, identifier, secretKey, doc.Time, doc.Expire)
	raw, _ := json.Marshal(doc) // cannot fail: only strings and integers
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestSpeed) // cannot fail: valid level
	_, _ = zw.Write(raw)                               // writes to a bytes.Buffer do not fail
	_ = zw.Close()
	return userSigReplacer.Replace(base64.StdEncoding.EncodeToString(buf.Bytes()))
}

// sigHMAC computes TLS.sig: base64(HMAC-SHA256(key, string to sign)).
func sigHMAC(sdkAppID uint64, identifier, key string, issued, expire int64) string {
	var b []byte
	b = append(b, "TLS.identifier:"...)
	b = append(b, identifier...)
	b = append(b, "\nTLS.sdkappid:"...)
	b = strconv.AppendUint(b, sdkAppID, 10)
	b = append(b, "\nTLS.time:"...)
	b = strconv.AppendInt(b, issued, 10)
	b = append(b, "\nTLS.expire:"...)
	b = strconv.AppendInt(b, expire, 10)
	b = append(b, '\n')
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(b)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
