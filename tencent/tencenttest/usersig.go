package tencenttest

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Error codes the verifier answers, as documented by Tencent.
const (
	codeSigExpired    = 70001
	codeSigEmpty      = 70002
	codeSigUnparsable = 70003
	codeSigMismatch   = 70009
	codeSigIdentifier = 70013
	codeSigSDKAppID   = 70014
)

const (
	// maxUserSigLen bounds the encoded UserSig we try to decode: real ones
	// are a few hundred bytes.
	maxUserSigLen = 16 << 10
	// maxInflated bounds the inflated JSON, against zip bombs.
	maxInflated = 64 << 10
)

// UserSig is a decoded UserSig v2: the fields of its JSON document.
type UserSig struct {
	Version    string // TLS.ver, "2.0" for a v2 signature
	Identifier string // TLS.identifier
	SDKAppID   uint64 // TLS.sdkappid
	Time       int64  // TLS.time, unix seconds when it was made
	Expire     int64  // TLS.expire, validity in seconds from Time
	Sig        string // TLS.sig, standard base64 of the HMAC-SHA256
}

var (
	errSigEmpty = errors.New("usersig is empty")
	// urlUnsafe reverses the URL-safe substitution of UserSig v2.
	urlUnsafe = strings.NewReplacer("*", "+", "-", "/", "_", "=")
)

// DecodeUserSig decodes a UserSig v2 string without verifying it: it reverses
// the URL-safe base64 alphabet (* - _), base64-decodes, inflates the zlib
// stream (at most 64 KiB) and parses the JSON document, whose six TLS.*
// fields must all be present with their documented JSON types. It never
// panics, and its errors never quote the input.
func DecodeUserSig(s string) (UserSig, error) {
	if s == "" {
		return UserSig{}, errSigEmpty
	}
	if len(s) > maxUserSigLen {
		return UserSig{}, fmt.Errorf("usersig is longer than %d bytes", maxUserSigLen)
	}
	raw, err := base64.StdEncoding.DecodeString(urlUnsafe.Replace(s))
	if err != nil {
		return UserSig{}, fmt.Errorf("usersig base64: %w", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return UserSig{}, fmt.Errorf("usersig zlib: %w", err)
	}
	doc, err := io.ReadAll(io.LimitReader(zr, maxInflated+1))
	if err != nil {
		return UserSig{}, fmt.Errorf("usersig zlib: %w", err)
	}
	if len(doc) > maxInflated {
		return UserSig{}, fmt.Errorf("usersig inflates to more than %d bytes", maxInflated)
	}
	if err := zr.Close(); err != nil {
		return UserSig{}, fmt.Errorf("usersig zlib: %w", err)
	}

	// A map, not a struct: encoding/json matches struct fields
	// case-insensitively, and the upstream's names are case-sensitive.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(doc, &fields); err != nil {
		return UserSig{}, fmt.Errorf("usersig json: %w", err)
	}
	var u UserSig
	for _, f := range []struct {
		name string
		dst  any
	}{
		{"TLS.ver", &u.Version},
		{"TLS.identifier", &u.Identifier},
		{"TLS.sdkappid", &u.SDKAppID},
		{"TLS.time", &u.Time},
		{"TLS.expire", &u.Expire},
		{"TLS.sig", &u.Sig},
	} {
		v, ok := fields[f.name]
		if !ok || string(v) == "null" {
			return UserSig{}, fmt.Errorf("usersig json: %s is missing", f.name)
		}
		_, wantString := f.dst.(*string)
		if isString := len(v) > 0 && v[0] == '"'; isString != wantString {
			return UserSig{}, fmt.Errorf("usersig json: %s has the wrong type", f.name)
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return UserSig{}, fmt.Errorf("usersig json: %s: %w", f.name, err)
		}
	}
	return u, nil
}

// VerifyUserSig verifies a UserSig v2 string for sdkAppID and identifier
// with the secret key at the time now, the way the upstream does. It returns
// 0 and nil when the signature is valid, and otherwise the documented error
// code with a short reason: 70002 empty, 70003 unparsable (including a
// TLS.ver other than "2.0"), 70014 TLS.sdkappid is not sdkAppID, 70013
// TLS.identifier is not identifier, 70001 expired (now is after
// TLS.time+TLS.expire), 70009 TLS.sig is not the HMAC-SHA256 made with key.
// The reason never quotes the UserSig or the key.
func VerifyUserSig(s string, sdkAppID uint64, identifier, key string, now time.Time) (code int, err error) {
	if s == "" {
		return codeSigEmpty, errSigEmpty
	}
	u, err := DecodeUserSig(s)
	if err != nil {
		return codeSigUnparsable, err
	}
	return checkUserSig(u, sdkAppID, identifier, key, now)
}

// checkUserSig is VerifyUserSig after decoding.
func checkUserSig(u UserSig, sdkAppID uint64, identifier, key string, now time.Time) (int, error) {
	switch {
	case u.Version != "2.0":
		return codeSigUnparsable, fmt.Errorf("usersig version %q is not 2.0", u.Version)
	case u.SDKAppID != sdkAppID:
		return codeSigSDKAppID, fmt.Errorf("usersig sdkappid %d does not match %d", u.SDKAppID, sdkAppID)
	case u.Identifier != identifier:
		return codeSigIdentifier, fmt.Errorf("usersig identifier %q does not match %q", u.Identifier, identifier)
	case expired(now.Unix(), u.Time, u.Expire):
		return codeSigExpired, errors.New("usersig expired")
	case !hmac.Equal([]byte(u.Sig), []byte(tlsSig(key, u))):
		return codeSigMismatch, errors.New("usersig signature does not verify")
	}
	return 0, nil
}

// expired reports now > t+expire without overflowing int64.
func expired(now, t, expire int64) bool {
	if expire >= 0 {
		if t > math.MaxInt64-expire {
			return false // valid until after the end of time
		}
	} else if t < math.MinInt64-expire {
		return true
	}
	return now > t+expire
}

// tlsSig computes TLS.sig for u's fields with key.
func tlsSig(key string, u UserSig) string {
	b := make([]byte, 0, 128)
	b = append(b, "TLS.identifier:"...)
	b = append(b, u.Identifier...)
	b = append(b, "\nTLS.sdkappid:"...)
	b = strconv.AppendUint(b, u.SDKAppID, 10)
	b = append(b, "\nTLS.time:"...)
	b = strconv.AppendInt(b, u.Time, 10)
	b = append(b, "\nTLS.expire:"...)
	b = strconv.AppendInt(b, u.Expire, 10)
	b = append(b, '\n')
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(b)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// sigCache remembers decoded UserSigs: a client reuses one signature for
// hours, and inflating it on every call would dominate the fake's cost.
// Only decoding is cached; every call still runs checkUserSig.
type sigCache struct {
	mu sync.Mutex
	m  map[string]UserSig
}

// maxCachedSigs bounds sigCache; it is emptied when full.
const maxCachedSigs = 256

func (c *sigCache) decode(s string) (UserSig, error) {
	c.mu.Lock()
	u, ok := c.m[s]
	c.mu.Unlock()
	if ok {
		return u, nil
	}
	u, err := DecodeUserSig(s)
	if err != nil {
		return u, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedSigs {
		c.m = make(map[string]UserSig)
	}
	c.m[s] = u
	c.mu.Unlock()
	return u, nil
}
