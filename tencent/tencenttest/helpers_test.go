package tencenttest

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The published test vector inputs of the shared doc.
const (
	testKey     = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	testAppID   = uint64(1400000000)
	testAdmin   = "administrator"
	testSigTime = int64(1700000000)
	testExpire  = int64(86400)
)

// testNow is one hour into the life of the test signatures.
var testNow = time.Unix(testSigTime+3600, 0)

func testOptions() Options {
	return Options{
		SDKAppID:   testAppID,
		Identifier: testAdmin,
		SecretKey:  testKey,
		Now:        func() time.Time { return testNow },
	}
}

// makeTLSSig computes TLS.sig exactly as the shared doc spells it, apart
// from the package's tlsSig.
func makeTLSSig(key, identifier string, sdkAppID uint64, t, expire int64) string {
	mac := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(mac, "TLS.identifier:%s\nTLS.sdkappid:%d\nTLS.time:%d\nTLS.expire:%d\n", identifier, sdkAppID, t, expire)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// sigDoc is the JSON document inside a UserSig v2.
type sigDoc struct {
	Ver        string `json:"TLS.ver"`
	Identifier string `json:"TLS.identifier"`
	SDKAppID   uint64 `json:"TLS.sdkappid"`
	Expire     int64  `json:"TLS.expire"`
	Time       int64  `json:"TLS.time"`
	Sig        string `json:"TLS.sig"`
}

// encodeUserSig marshals doc (any JSON value, or raw bytes), compresses
// it and applies the URL-safe base64 of UserSig v2.
func encodeUserSig(tb testing.TB, doc any) string {
	tb.Helper()
	raw, ok := doc.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(doc); err != nil {
			tb.Fatalf("marshal usersig: %v", err)
		}
	}
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		tb.Fatalf("compress usersig: %v", err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatalf("compress usersig: %v", err)
	}
	s := base64.StdEncoding.EncodeToString(buf.Bytes())
	return strings.NewReplacer("+", "*", "/", "-", "=", "_").Replace(s)
}

// makeUserSig makes a UserSig v2 the way Tencent's SDKs do.
func makeUserSig(tb testing.TB, key, identifier string, sdkAppID uint64, t, expire int64) string {
	tb.Helper()
	return encodeUserSig(tb, sigDoc{
		Ver:        "2.0",
		Identifier: identifier,
		SDKAppID:   sdkAppID,
		Expire:     expire,
		Time:       t,
		Sig:        makeTLSSig(key, identifier, sdkAppID, t, expire),
	})
}

// validSig is a UserSig accepted by testOptions.
func validSig(tb testing.TB) string {
	tb.Helper()
	return makeUserSig(tb, testKey, testAdmin, testAppID, testSigTime, testExpire)
}

// validQuery is a query string accepted by testOptions.
func validQuery(tb testing.TB) url.Values {
	tb.Helper()
	return url.Values{
		"sdkappid":    {fmt.Sprint(testAppID)},
		"identifier":  {testAdmin},
		"usersig":     {validSig(tb)},
		"random":      {"3141592653"},
		"contenttype": {"json"},
	}
}

// memberBody is a get_member_list request body.
func memberBody(roomID, next string) string {
	b, _ := json.Marshal(map[string]string{"RoomId": roomID, "Next": next})
	return string(b)
}

// apiResponse is the upstream's envelope, as a client reads it.
type apiResponse struct {
	ActionStatus string
	ErrorCode    int
	ErrorInfo    string
	RequestID    string `json:"RequestId"`
	Response     *struct {
		MemberCount int
		MemberList  []struct {
			Account string `json:"Member_Account"`
		}
		Next string
	}
}

// setup starts a Server with testOptions changed by opts.
func setup(t *testing.T, opts ...func(*Options)) *Server {
	t.Helper()
	o := testOptions()
	for _, fn := range opts {
		fn(&o)
	}
	return serve(t, New(o))
}

// setupPipe is setup on a PipeServer, for a test inside a synctest
// bubble: the Fake's latencies and clock run on the bubble's fake time.
func setupPipe(t *testing.T, opts ...func(*Options)) *Server {
	t.Helper()
	o := testOptions()
	for _, fn := range opts {
		fn(&o)
	}
	s := NewPipeServer(o)
	t.Cleanup(s.Close)
	return s
}

// serve starts a Server for f, closed at cleanup.
func serve(t *testing.T, f *Fake) *Server {
	t.Helper()
	s := startServer(f)
	t.Cleanup(s.Close)
	return s
}

// manualClock replaces Fake.elapsed so sliding windows are tested without
// sleeping.
type manualClock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *manualClock) elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.d
}

func (c *manualClock) set(d time.Duration) {
	c.mu.Lock()
	c.d = d
	c.mu.Unlock()
}

// setupClock starts a Server, with testOptions changed by opts, whose
// windows and counter growth run on a manual clock.
func setupClock(t *testing.T, opts ...func(*Options)) (*Server, *manualClock) {
	t.Helper()
	o := testOptions()
	for _, fn := range opts {
		fn(&o)
	}
	f := New(o)
	c := &manualClock{}
	f.elapsed = c.elapsed // before the server starts: no race
	return serve(t, f), c
}

var testClient = &http.Client{Timeout: 30 * time.Second}

// post calls the fake at path with a raw query string and body. It returns
// the HTTP status, the raw body and, for JSON answers, the decoded envelope.
func post(t *testing.T, s *Server, path, rawQuery, body string) (int, []byte, apiResponse) {
	t.Helper()
	return do(t, s, http.MethodPost, path, rawQuery, body)
}

func do(t *testing.T, s *Server, method, path, rawQuery, body string) (int, []byte, apiResponse) {
	t.Helper()
	status, raw, ar, err := doErr(t.Context(), s, method, path, rawQuery, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, raw, ar
}

// doErr is do for goroutines, which must not call t.Fatal.
func doErr(ctx context.Context, s *Server, method, path, rawQuery, body string) (int, []byte, apiResponse, error) {
	u := s.URL + path
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return 0, nil, apiResponse{}, err
	}
	client := testClient
	if s.transport != nil { // a pipe server: only its own clients reach it
		client = s.Client()
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, apiResponse{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, apiResponse{}, err
	}
	var ar apiResponse
	if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(raw, &ar) // RawBody rooms answer garbage on purpose
	}
	return resp.StatusCode, raw, ar, nil
}

// call makes a valid get_member_list call and checks the envelope's
// invariants: HTTP 200, valid JSON, Response present exactly on OK.
func call(t *testing.T, s *Server, roomID, next string) apiResponse {
	t.Helper()
	return callWith(t, s, validQuery(t).Encode(), memberBody(roomID, next))
}

func callWith(t *testing.T, s *Server, rawQuery, body string) apiResponse {
	t.Helper()
	status, raw, ar := post(t, s, MemberListPath, rawQuery, body)
	if status != http.StatusOK {
		t.Fatalf("HTTP status = %d; want 200 (body %q)", status, raw)
	}
	checkEnvelope(t, raw)
	return ar
}

// checkEnvelope asserts raw is the upstream's JSON envelope.
func checkEnvelope(tb testing.TB, raw []byte) {
	tb.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		tb.Fatalf("answer is not a JSON object: %v: %q", err, raw)
	}
	var env struct {
		ActionStatus string
		ErrorCode    int
		ErrorInfo    string
		RequestID    string `json:"RequestId"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		tb.Fatalf("answer envelope: %v: %q", err, raw)
	}
	for _, k := range []string{"ActionStatus", "ErrorCode", "ErrorInfo", "RequestId"} {
		if _, ok := m[k]; !ok {
			tb.Errorf("answer has no %s: %q", k, raw)
		}
	}
	_, hasResponse := m["Response"]
	switch {
	case env.ActionStatus == "OK" && (env.ErrorCode != 0 || !hasResponse):
		tb.Errorf("OK answer with ErrorCode %d, Response present %v: %q", env.ErrorCode, hasResponse, raw)
	case env.ActionStatus == "FAIL" && (env.ErrorCode == 0 || hasResponse || env.ErrorInfo == ""):
		tb.Errorf("FAIL answer with ErrorCode %d, Response present %v: %q", env.ErrorCode, hasResponse, raw)
	case env.ActionStatus != "OK" && env.ActionStatus != "FAIL":
		tb.Errorf("ActionStatus = %q: %q", env.ActionStatus, raw)
	}
	if env.RequestID == "" {
		tb.Errorf("empty RequestId: %q", raw)
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// inFlight reads the Fake's current in-flight count.
func inFlight(f *Fake) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inFlight
}

// rawAnswer is the envelope with its Response left raw, for the commands
// other than get_member_list.
type rawAnswer struct {
	ActionStatus string
	ErrorCode    int
	ErrorInfo    string
	RequestID    string `json:"RequestId"`
	Response     json.RawMessage
}

// callPath makes a call with a valid query to path and checks the
// envelope's invariants.
func callPath(t *testing.T, s *Server, path, body string) rawAnswer {
	t.Helper()
	return callPathWith(t, s, path, validQuery(t).Encode(), body)
}

func callPathWith(t *testing.T, s *Server, path, rawQuery, body string) rawAnswer {
	t.Helper()
	status, raw, _ := post(t, s, path, rawQuery, body)
	if status != http.StatusOK {
		t.Fatalf("%s: HTTP status = %d; want 200 (body %q)", path, status, raw)
	}
	checkEnvelope(t, raw)
	var ra rawAnswer
	if err := json.Unmarshal(raw, &ra); err != nil {
		t.Fatalf("%s: answer: %v: %q", path, err, raw)
	}
	return ra
}

// listedRoom and listPage are a get_room_list entry and page as a test
// reads them: the fake's own wire types.
type (
	listedRoom = roomSummary
	listPage   = roomListResponse
)

func listBody(next string, count int) string {
	b, _ := json.Marshal(map[string]any{"Next": next, "Count": count})
	return string(b)
}

func roomBody(roomID string) string {
	b, _ := json.Marshal(map[string]string{"RoomId": roomID})
	return string(b)
}

// listRooms reads one get_room_list page, which must succeed.
func listRooms(t *testing.T, s *Server, next string, count int) listPage {
	t.Helper()
	ra := callPath(t, s, RoomListPath, listBody(next, count))
	if ra.ActionStatus != "OK" {
		t.Fatalf("get_room_list(%q, %d): %s %d %q", next, count, ra.ActionStatus, ra.ErrorCode, ra.ErrorInfo)
	}
	var p listPage
	if err := json.Unmarshal(ra.Response, &p); err != nil {
		t.Fatalf("get_room_list Response: %v: %s", err, ra.Response)
	}
	if p.RoomList == nil {
		t.Fatalf("get_room_list RoomList is null: %s", ra.Response)
	}
	return p
}

// ids lists the RoomIds of a page.
func (p listPage) ids() string {
	ids := make([]string, len(p.RoomList))
	for i, r := range p.RoomList {
		ids[i] = r.RoomID
	}
	return strings.Join(ids, ",")
}

// roomStats reads get_room_stats for id, which must succeed.
func roomStats(t *testing.T, s *Server, id string) RoomCounters {
	t.Helper()
	ra := callPath(t, s, RoomStatsPath, roomBody(id))
	if ra.ActionStatus != "OK" {
		t.Fatalf("get_room_stats(%q): %s %d %q", id, ra.ActionStatus, ra.ErrorCode, ra.ErrorInfo)
	}
	var c RoomCounters
	if err := json.Unmarshal(ra.Response, &c); err != nil {
		t.Fatalf("get_room_stats Response: %v: %s", err, ra.Response)
	}
	return c
}
