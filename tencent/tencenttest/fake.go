package tencenttest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MemberListPath is the only path a Fake serves.
const MemberListPath = "/v4/live_engine_http_srv/get_member_list"

const (
	// maxListed is the upstream's cap on listed members.
	maxListed       = 1000
	defaultPageSize = 100
	// maxBodyBytes bounds the request body read; the real one is tiny.
	maxBodyBytes = 1 << 20
	// nextPrefix starts every Next token this fake issues.
	nextPrefix = "next_"
)

// Error codes answered by the fake besides the UserSig ones.
const (
	codeURLParse         = 60002
	codeJSONParse        = 60003
	codeInvalidSDKAppID  = 60006
	codeRateLimited      = 60007
	codeNeedsAdmin       = 60010
	codeSDKAppIDMissing  = 60012
	codeSDKAppIDNotFound = 70016
	codeInvalidParams    = 100002
	codeRoomNotFound     = 100004
)

// errorInfos are the ErrorInfo texts for codes answered without a more
// specific reason (room and injected errors).
var errorInfos = map[int]string{
	60007:  "command frequency limit exceeded",
	60008:  "service timeout",
	60011:  "app frequency limit exceeded",
	70001:  "usersig expired",
	100001: "system error, retry",
	100002: "invalid parameters",
	100004: "room does not exist",
	100006: "room is not a live room",
}

func errorInfo(code int) string {
	if s, ok := errorInfos[code]; ok {
		return s
	}
	return "error " + strconv.Itoa(code)
}

// Options configure a Fake.
type Options struct {
	SDKAppID   uint64           // the only SDKAppID accepted
	Identifier string           // the App administrator identifier accepted
	SecretKey  string           // key used to verify UserSig
	Now        func() time.Time // clock for UserSig expiry checks; nil = time.Now
	RateLimit  int              // max accepted calls in any sliding 1 s window (by arrival); 0 = unlimited; beyond it answer 60007
	PageSize   int              // members listed per page; 0 = 100
}

// Room is what the fake answers for one room id.
type Room struct {
	MemberCount int           // Response.MemberCount
	Members     []string      // listed accounts; nil = generated "user-1".."user-N" for N = min(MemberCount, 1000)
	ErrorCode   int           // non-zero: answer ActionStatus FAIL with this ErrorCode on every call (e.g. 100004, 100006, 100001, 60007)
	Latency     time.Duration // extra delay before answering this room (stops early if the request's context ends)
	HTTPStatus  int           // non-zero and != 200: answer this HTTP status with a short text body (e.g. 502; outside 200..999: 502)
	RawBody     string        // non-empty: answer HTTP 200 with exactly this body on every page (garbage, truncated JSON, or a wrong-shaped answer such as "Response":{} or "ErrorCode":60007.0)
	EndlessNext bool          // every page answers a non-empty Next (a server that never ends paging)
}

// Stats counts what a Fake was asked. Stats returns a copy.
type Stats struct {
	Calls        int            // all get_member_list requests received (any outcome, any method)
	CallsByRoom  map[string]int // by RoomId from the body (only requests whose body decoded with a non-empty string RoomId)
	RateLimited  int            // answered 60007 because of RateLimit
	AuthFailures int            // rejected while checking the query string and UserSig (60002, 60006, 60010, 60012, 70xxx)
	Injected     int            // answered an error injected with FailNext
	MaxPerSecond int            // the most requests that arrived within any sliding 1 s window
	MaxInFlight  int            // the most requests being handled at once
}

// Fake is a fake get_member_list API. It implements http.Handler and is
// safe for concurrent use; configure it with its methods at any time.
type Fake struct {
	// Fixed at New.
	opts      Options
	now       func() time.Time
	pageSize  int
	idPrefix  string
	start     time.Time
	elapsed   func() time.Duration // monotonic clock of the rate limit and MaxPerSecond; tests replace it
	done      chan struct{}        // closed by Server.Close to end latency waits
	closeOnce sync.Once

	seq     atomic.Uint64
	latency atomic.Int64
	sigs    sigCache

	mu        sync.Mutex
	rateLimit int
	rooms     map[string]Room
	fails     map[string]failure
	accepted  window // arrival times of calls the rate limit let through
	arrivals  window // arrival times of all calls, for MaxPerSecond
	inFlight  int
	stats     Stats
}

// failure is a pending FailNext injection.
type failure struct {
	code int
	n    int
}

// fakeIDs tells Fakes apart in RequestIds.
var fakeIDs atomic.Uint64

// New returns a Fake with no rooms: every room answers 100004 until SetRoom.
func New(opts Options) *Fake {
	f := &Fake{
		opts:      opts,
		now:       opts.Now,
		pageSize:  opts.PageSize,
		idPrefix:  "fake-" + strconv.FormatUint(fakeIDs.Add(1), 10) + "-",
		start:     time.Now(),
		done:      make(chan struct{}),
		rateLimit: max(opts.RateLimit, 0),
		rooms:     make(map[string]Room),
		fails:     make(map[string]failure),
		stats:     Stats{CallsByRoom: make(map[string]int)},
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.pageSize <= 0 {
		f.pageSize = defaultPageSize
	}
	f.elapsed = func() time.Duration { return time.Since(f.start) }
	return f
}

// SetRoom makes the fake answer r for room id, replacing what it answered
// before. Members is copied.
func (f *Fake) SetRoom(id string, r Room) {
	if r.Members != nil {
		r.Members = append(make([]string, 0, len(r.Members)), r.Members...)
	}
	f.mu.Lock()
	f.rooms[id] = r
	f.mu.Unlock()
}

// DeleteRoom forgets room id: it then answers 100004, like a room never set.
func (f *Fake) DeleteRoom(id string) {
	f.mu.Lock()
	delete(f.rooms, id)
	f.mu.Unlock()
}

// FailNext makes the next n calls for room id that pass the query, rate
// limit and body checks answer ErrorCode code; later calls are answered
// normally again. It replaces any pending injection for the room; n <= 0 or
// code 0 cancels it.
func (f *Fake) FailNext(id string, code int, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n <= 0 || code == 0 {
		delete(f.fails, id)
		return
	}
	f.fails[id] = failure{code: code, n: n}
}

// SetLatency sets an extra delay for every call, added to the room's
// Latency; 0 removes it.
func (f *Fake) SetLatency(d time.Duration) {
	f.latency.Store(int64(max(d, 0)))
}

// SetRateLimit sets Options.RateLimit: at most n accepted calls in any
// sliding second; n <= 0 is unlimited.
func (f *Fake) SetRateLimit(n int) {
	f.mu.Lock()
	f.rateLimit = max(n, 0)
	f.mu.Unlock()
}

// Stats returns a copy of the counters.
func (f *Fake) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	s.CallsByRoom = make(map[string]int, len(f.stats.CallsByRoom))
	for k, v := range f.stats.CallsByRoom {
		s.CallsByRoom[k] = v
	}
	return s
}

// ResetStats zeroes the counters. It does not reset the rate limit's
// window, which is behaviour, not a statistic.
func (f *Fake) ResetStats() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats = Stats{CallsByRoom: make(map[string]int), MaxInFlight: f.inFlight}
	f.arrivals.reset()
}

// close ends all latency waits; the Fake answers nothing afterwards.
func (f *Fake) close() {
	f.closeOnce.Do(func() { close(f.done) })
}

// answer is what one call gets, decided when it arrives.
type answer struct {
	code       int
	info       string
	httpStatus int
	rawBody    string
	latency    time.Duration
	room       Room // for a page
	offset     int
}

// request is a decoded request body.
type request struct {
	roomID string // non-empty when the body decoded with a string RoomId
	offset int    // from Next
	code   int    // non-zero when the body is invalid
	info   string
}

// ServeHTTP answers POST /v4/live_engine_http_srv/get_member_list as the
// package doc describes. A call still waiting out a latency when its Server
// is closed is aborted with http.ErrAbortHandler, which net/http recovers.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != MemberListPath {
		http.NotFound(w, r)
		return
	}
	f.enter()
	defer f.leave()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	// CPU work outside the lock: read and decode the body, check the query.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	req := decodeBody(body, err)
	authCode, authInfo := f.checkQuery(r.URL.RawQuery)

	a := f.decide(authCode, authInfo, req)

	if d := time.Duration(f.latency.Load()) + a.latency; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return // the client is gone: nobody reads an answer
		case <-f.done:
			t.Stop()
			// Server.Close: drop the connection so the client sees no
			// answer rather than an empty 200; net/http recovers this.
			panic(http.ErrAbortHandler)
		}
	}
	f.write(w, a)
}

// enter counts an arriving call.
func (f *Fake) enter() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats.Calls++
	f.inFlight++
	f.stats.MaxInFlight = max(f.stats.MaxInFlight, f.inFlight)
	now := f.elapsed()
	f.arrivals.prune(now - time.Second)
	f.arrivals.push(now)
	f.stats.MaxPerSecond = max(f.stats.MaxPerSecond, f.arrivals.n)
}

func (f *Fake) leave() {
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
}

// checkQuery validates the query string and its UserSig; it returns 0 when
// the call may go on.
func (f *Fake) checkQuery(rawQuery string) (int, string) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return codeURLParse, "URL parse error: " + err.Error()
	}
	if _, err := strconv.ParseUint(q.Get("random"), 10, 32); err != nil {
		return codeURLParse, "URL parse error: random must be an unsigned 32-bit integer"
	}
	if q.Get("contenttype") != "json" {
		return codeURLParse, "URL parse error: contenttype must be json"
	}
	sdkAppID := q.Get("sdkappid")
	if sdkAppID == "" {
		return codeSDKAppIDMissing, "sdkappid is missing"
	}
	n, err := strconv.ParseUint(sdkAppID, 10, 64)
	if err != nil {
		return codeInvalidSDKAppID, "sdkappid is invalid"
	}
	if n != f.opts.SDKAppID {
		return codeSDKAppIDNotFound, "no key for sdkappid " + sdkAppID
	}
	identifier := q.Get("identifier")
	usersig := q.Get("usersig")
	if usersig == "" {
		return codeSigEmpty, errSigEmpty.Error()
	}
	u, err := f.sigs.decode(usersig)
	if err != nil {
		return codeSigUnparsable, err.Error()
	}
	if code, err := checkUserSig(u, f.opts.SDKAppID, identifier, f.opts.SecretKey, f.now()); code != 0 {
		return code, err.Error()
	}
	if identifier != f.opts.Identifier {
		return codeNeedsAdmin, "identifier is not an App administrator"
	}
	return 0, ""
}

// decodeBody checks a request body: 60003 when it is not JSON, 100002 when
// it is not {"RoomId":"non-empty","Next":"token"}.
func decodeBody(body []byte, readErr error) request {
	switch {
	case readErr != nil:
		return request{code: codeJSONParse, info: "request body could not be read"}
	case len(body) > maxBodyBytes:
		return request{code: codeJSONParse, info: "request body is too large"}
	case !json.Valid(body):
		return request{code: codeJSONParse, info: "request body is not valid JSON"}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return request{code: codeInvalidParams, info: "request body is not a JSON object"}
	}
	var req request
	roomID, ok := jsonString(fields["RoomId"])
	if !ok || roomID == "" {
		return request{code: codeInvalidParams, info: "RoomId must be a non-empty string"}
	}
	req.roomID = roomID
	next, ok := jsonString(fields["Next"])
	if !ok {
		req.code, req.info = codeInvalidParams, "Next must be a string"
		return req
	}
	offset, ok := parseNext(next)
	if !ok {
		req.code, req.info = codeInvalidParams, "Next is not a token from a previous page"
		return req
	}
	req.offset = offset
	return req
}

// jsonString decodes a JSON string, rejecting other types (null included).
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// parseNext turns a Next token into a member offset ("" is the first page).
func parseNext(next string) (int, bool) {
	if next == "" {
		return 0, true
	}
	digits, ok := strings.CutPrefix(next, nextPrefix)
	if !ok || digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 16)
	if err != nil || n > maxListed {
		return 0, false
	}
	return int(n), true
}

func nextToken(offset int) string {
	return nextPrefix + strconv.Itoa(offset)
}

// decide runs the checks that need the Fake's state, in the documented
// order, and counts the outcome.
func (f *Fake) decide(authCode int, authInfo string, req request) answer {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.roomID != "" {
		f.stats.CallsByRoom[req.roomID]++
	}
	if authCode != 0 {
		f.stats.AuthFailures++
		return answer{code: authCode, info: authInfo}
	}

	now := f.elapsed()
	f.accepted.prune(now - time.Second)
	if f.rateLimit > 0 && f.accepted.n >= f.rateLimit {
		f.stats.RateLimited++
		return answer{code: codeRateLimited, info: errorInfo(codeRateLimited)}
	}
	f.accepted.push(now)

	if req.code != 0 {
		return answer{code: req.code, info: req.info}
	}
	if fl, ok := f.fails[req.roomID]; ok {
		if fl.n--; fl.n <= 0 {
			delete(f.fails, req.roomID)
		} else {
			f.fails[req.roomID] = fl
		}
		f.stats.Injected++
		return answer{code: fl.code, info: errorInfo(fl.code) + " (injected)"}
	}
	room, ok := f.rooms[req.roomID]
	if !ok {
		return answer{code: codeRoomNotFound, info: errorInfo(codeRoomNotFound)}
	}
	a := answer{latency: max(room.Latency, 0)}
	switch {
	case room.HTTPStatus != 0 && room.HTTPStatus != http.StatusOK:
		a.httpStatus = room.HTTPStatus
	case room.RawBody != "":
		a.rawBody = room.RawBody
	case room.ErrorCode != 0:
		a.code, a.info = room.ErrorCode, errorInfo(room.ErrorCode)
	default:
		a.room, a.offset = room, req.offset
	}
	return a
}

// response is the upstream's JSON envelope.
type response struct {
	ActionStatus string              `json:"ActionStatus"`
	ErrorCode    int                 `json:"ErrorCode"`
	ErrorInfo    string              `json:"ErrorInfo"`
	RequestID    string              `json:"RequestId"`
	Response     *memberListResponse `json:"Response,omitempty"`
}

type memberListResponse struct {
	MemberCount int      `json:"MemberCount"`
	MemberList  []member `json:"MemberList"`
	Next        string   `json:"Next"`
}

type member struct {
	Account string `json:"Member_Account"`
}

// write sends a decided answer.
func (f *Fake) write(w http.ResponseWriter, a answer) {
	if a.httpStatus != 0 {
		code := a.httpStatus
		if code < 200 || code > 999 {
			// WriteHeader panics outside 100..999, and 1xx are not final.
			code = http.StatusBadGateway
		}
		http.Error(w, strconv.Itoa(code)+" "+http.StatusText(code)+" (tencenttest)", code)
		return
	}
	if a.rawBody != "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, a.rawBody)
		return
	}
	requestID := f.idPrefix + strconv.FormatUint(f.seq.Add(1), 10)
	resp := response{ActionStatus: "OK", ErrorCode: a.code, ErrorInfo: a.info, RequestID: requestID}
	if a.code != 0 {
		resp.ActionStatus = "FAIL"
	} else {
		resp.Response = f.page(a.room, a.offset)
	}
	b, err := json.Marshal(resp)
	if err != nil {
		// Only strings and ints: cannot happen, but answer valid JSON anyway.
		b = []byte(`{"ActionStatus":"FAIL","ErrorCode":100001,"ErrorInfo":"tencenttest: encoding failed","RequestId":"` + requestID + `"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// page lists one page of room's members from offset.
func (f *Fake) page(room Room, offset int) *memberListResponse {
	listed := len(room.Members)
	if room.Members == nil {
		listed = max(room.MemberCount, 0)
	}
	listed = min(listed, maxListed)

	end := min(offset+f.pageSize, listed)
	p := &memberListResponse{MemberCount: room.MemberCount, MemberList: []member{}}
	if offset < end {
		p.MemberList = make([]member, 0, end-offset)
		for i := offset; i < end; i++ {
			if room.Members != nil {
				p.MemberList = append(p.MemberList, member{Account: room.Members[i]})
			} else {
				p.MemberList = append(p.MemberList, member{Account: "user-" + strconv.Itoa(i+1)})
			}
		}
	}
	switch {
	case end < listed:
		p.Next = nextToken(end)
	case room.EndlessNext:
		p.Next = nextToken(0) // start over: the same members again, forever
	}
	return p
}

// window is a FIFO ring of arrival times, oldest first, for sliding
// one-second counts at thousands of calls per second.
type window struct {
	buf  []time.Duration
	head int
	n    int
}

// prune drops the times at or before cut.
func (w *window) prune(cut time.Duration) {
	for w.n > 0 && w.buf[w.head] <= cut {
		w.head = (w.head + 1) % len(w.buf)
		w.n--
	}
}

func (w *window) push(t time.Duration) {
	if w.n == len(w.buf) {
		buf := make([]time.Duration, max(16, 2*len(w.buf)))
		for i := range w.n {
			buf[i] = w.buf[(w.head+i)%len(w.buf)]
		}
		w.buf, w.head = buf, 0
	}
	w.buf[(w.head+w.n)%len(w.buf)] = t
	w.n++
}

func (w *window) reset() {
	w.head, w.n = 0, 0
}
