package tencenttest

import (
	"encoding/json"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ServicePath prefixes every path a Fake serves: ServicePath + command.
const ServicePath = "/v4/live_engine_http_srv/"

// The commands a Fake serves, as named in its paths, Stats and
// SetCommandRateLimit.
const (
	CommandGetMemberList = "get_member_list"
	CommandGetRoomList   = "get_room_list"
	CommandGetRoomInfo   = "get_room_info"
	CommandGetRoomStats  = "get_room_stats"
	CommandGetSeatList   = "get_seat_list"
)

// MicServicePath prefixes get_seat_list, which another service serves.
const MicServicePath = "/v4/room_engine_http_mic/"

// The paths a Fake serves; any other path answers HTTP 404.
const (
	MemberListPath = ServicePath + CommandGetMemberList
	RoomListPath   = ServicePath + CommandGetRoomList
	RoomInfoPath   = ServicePath + CommandGetRoomInfo
	RoomStatsPath  = ServicePath + CommandGetRoomStats
	SeatListPath   = MicServicePath + CommandGetSeatList
)

// command indexes the per-command state of a Fake.
type command int

const (
	cmdMemberList command = iota
	cmdRoomList
	cmdRoomInfo
	cmdRoomStats
	cmdSeatList
	numCommands
)

var commandNames = [numCommands]string{CommandGetMemberList, CommandGetRoomList, CommandGetRoomInfo, CommandGetRoomStats, CommandGetSeatList}

// commandPaths are the paths the commands are served at.
var commandPaths = [numCommands]string{MemberListPath, RoomListPath, RoomInfoPath, RoomStatsPath, SeatListPath}

func (c command) String() string { return commandNames[c] }

// parseCommand maps a command name to its index.
func parseCommand(name string) (command, bool) {
	for c, n := range commandNames {
		if n == name {
			return command(c), true
		}
	}
	return 0, false
}

// mustCommand is parseCommand for the setters: a misspelt command in a test
// is a bug to report at once, not a limit silently never applied.
func mustCommand(name string) command {
	c, ok := parseCommand(name)
	if !ok {
		panic("tencenttest: unknown command " + strconv.Quote(name))
	}
	return c
}

const (
	// maxListed is the upstream's cap on listed members.
	maxListed       = 1000
	defaultPageSize = 100
	// maxBodyBytes bounds the request body read; the real one is tiny.
	maxBodyBytes = 1 << 20
	// nextPrefix starts every get_member_list Next token this fake issues.
	nextPrefix = "next_"
	// maxStatsRoomID is get_room_stats's documented cap on RoomId, in bytes.
	maxStatsRoomID = 48
)

// Error codes answered by the fake besides the UserSig ones.
const (
	codeURLParse         = 60002
	codeJSONParse        = 60003
	codeInvalidSDKAppID  = 60006
	codeRateLimited      = 60007
	codeNeedsAdmin       = 60010
	codeAppRateLimited   = 60011
	codeSDKAppIDMissing  = 60012
	codeSDKAppIDNotFound = 70016
	codeInvalidParams    = 100002
	codeRoomNotFound     = 100004
	codeNotLiveRoom      = 100006
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

// Options configure a Fake. Each rate limit counts accepted calls (those
// that passed every limit) in any sliding 1 s window, by arrival; 0 is
// unlimited.
type Options struct {
	SDKAppID   uint64           // the only SDKAppID accepted
	Identifier string           // the App administrator identifier accepted
	SecretKey  string           // key used to verify UserSig
	Now        func() time.Time // clock for UserSig expiry checks and rooms' CreateTime; nil = time.Now
	RateLimit  int              // get_member_list's limit (upstream: 200); beyond it answer 60007
	PageSize   int              // members listed per page; 0 = 100

	RoomListRateLimit  int  // get_room_list's limit (upstream: 10); beyond it answer 60007
	RoomInfoRateLimit  int  // get_room_info's limit (upstream: 200); beyond it answer 60007
	RoomStatsRateLimit int  // get_room_stats's limit (upstream: 100); beyond it answer 60007
	SeatListRateLimit  int  // get_seat_list's limit (upstream: 200); beyond it answer 60007
	AppRateLimit       int  // all commands together; beyond it answer 60011 (checked before the command's own limit)
	EndlessRoomList    bool // get_room_list never ends: the last page's Next starts the listing over
}

// Stats counts what a Fake was asked. Stats returns a copy. The fields
// kept from before the fake served more than get_member_list (Calls,
// CallsByRoom, RateLimited, MaxPerSecond) still count get_member_list
// only; the ...ByCommand maps count every command, get_member_list
// included, by command name.
type Stats struct {
	Calls        int            // get_member_list requests received (any outcome, any method)
	CallsByRoom  map[string]int // get_member_list requests by RoomId from the body (only requests whose body decoded with a non-empty string RoomId)
	RateLimited  int            // get_member_list calls answered 60007 because of RateLimit
	AuthFailures int            // calls of any command rejected while checking the query string and UserSig (60002, 60006, 60010, 60012, 70xxx)
	Injected     int            // calls of any command answered an error injected with FailNext, FailNextCommand or FailListPage
	MaxPerSecond int            // the most get_member_list requests that arrived within any sliding 1 s window
	MaxInFlight  int            // the most requests (of any command) being handled at once

	CallsByCommand        map[string]int            // requests received (any outcome, any method)
	CallsByCommandRoom    map[string]map[string]int // room-scoped commands (get_member_list, get_room_info, get_room_stats): requests by RoomId, as CallsByRoom
	RateLimitedByCommand  map[string]int            // answered 60007 because of the command's own limit
	MaxPerSecondByCommand map[string]int            // the most requests that arrived within any sliding 1 s window
	AppRateLimited        int                       // answered 60011 because of AppRateLimit
	MaxPerSecondAll       int                       // the most requests of all commands together within any sliding 1 s window
}

// Fake is a fake of the live room REST API. It implements http.Handler and
// is safe for concurrent use; configure it with its methods at any time.
type Fake struct {
	// Fixed at New.
	opts      Options
	now       func() time.Time
	pageSize  int
	idPrefix  string
	start     time.Time
	elapsed   func() time.Duration // monotonic clock of the rate limits, MaxPerSecond and counter growth; tests replace it
	done      chan struct{}        // closed by Server.Close to end latency waits
	closeOnce sync.Once

	seq       atomic.Uint64
	latency   atomic.Int64
	netRTT    atomic.Int64  // modelled round trip; 0: none
	netShare  atomic.Uint64 // float64 bits: share of netRTT before a request arrives
	netJitter atomic.Uint64 // float64 bits: relative jitter of that share
	sigs      sigCache

	mu           sync.Mutex
	rateLimits   [numCommands]int
	appRateLimit int
	endlessList  bool
	listRawBody  string
	rooms        map[string]*roomState
	fails        map[failKey]failure
	listFails    map[int]failure     // by get_room_list page, 1-based
	accepted     [numCommands]window // arrival times of calls the rate limits let through
	acceptedAll  window              // the same, all commands together
	arrivals     [numCommands]window // arrival times of all calls, for MaxPerSecondByCommand
	arrivalsAll  window
	inFlight     int
	stats        Stats

	callbacks callbacks // the webhook callbacks it posts (see SetCallbackTarget)
}

// failKey names a FailNextCommand injection.
type failKey struct {
	cmd    command
	roomID string
}

// failure is a pending injection.
type failure struct {
	code int
	n    int
}

// fakeIDs tells Fakes apart in RequestIds.
var fakeIDs atomic.Uint64

// New returns a Fake with no rooms: every room answers 100004 until SetRoom.
func New(opts Options) *Fake {
	f := &Fake{
		opts:         opts,
		now:          opts.Now,
		pageSize:     opts.PageSize,
		idPrefix:     "fake-" + strconv.FormatUint(fakeIDs.Add(1), 10) + "-",
		start:        time.Now(),
		done:         make(chan struct{}),
		appRateLimit: max(opts.AppRateLimit, 0),
		endlessList:  opts.EndlessRoomList,
		rooms:        make(map[string]*roomState),
		fails:        make(map[failKey]failure),
		listFails:    make(map[int]failure),
		stats:        newStats(0),
	}
	f.rateLimits = [numCommands]int{
		cmdMemberList: max(opts.RateLimit, 0),
		cmdRoomList:   max(opts.RoomListRateLimit, 0),
		cmdRoomInfo:   max(opts.RoomInfoRateLimit, 0),
		cmdRoomStats:  max(opts.RoomStatsRateLimit, 0),
		cmdSeatList:   max(opts.SeatListRateLimit, 0),
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

func newStats(maxInFlight int) Stats {
	return Stats{
		CallsByRoom:           make(map[string]int),
		MaxInFlight:           maxInFlight,
		CallsByCommand:        make(map[string]int),
		CallsByCommandRoom:    make(map[string]map[string]int),
		RateLimitedByCommand:  make(map[string]int),
		MaxPerSecondByCommand: make(map[string]int),
	}
}

// FailNext makes the next n get_member_list calls for room id that pass the
// query, rate limit and body checks answer ErrorCode code; later calls are
// answered normally again. It replaces any pending get_member_list
// injection for the room; n <= 0 or code 0 cancels it. It is
// FailNextCommand(CommandGetMemberList, id, code, n).
func (f *Fake) FailNext(id string, code int, n int) {
	f.FailNextCommand(CommandGetMemberList, id, code, n)
}

// FailNextCommand is FailNext for any room-scoped command (get_member_list,
// get_room_info or get_room_stats): each command's injections for a room
// are counted down apart. It panics on another command.
func (f *Fake) FailNextCommand(cmd string, id string, code int, n int) {
	c := mustCommand(cmd)
	if c == cmdRoomList {
		panic("tencenttest: FailNextCommand of get_room_list: use FailListPage")
	}
	k := failKey{cmd: c, roomID: id}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n <= 0 || code == 0 {
		delete(f.fails, k)
		return
	}
	f.fails[k] = failure{code: code, n: n}
}

// FailListPage makes the next n get_room_list calls asking for page (1 is
// the page asked with Next "", 2 the one asked with the Next of page 1, and
// so on) answer ErrorCode code once they pass the query, rate limit and
// body checks: a sweep then fails midway. It replaces any pending
// injection for that page; n <= 0 or code 0 cancels it.
func (f *Fake) FailListPage(page, code, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n <= 0 || code == 0 {
		delete(f.listFails, page)
		return
	}
	f.listFails[page] = failure{code: code, n: n}
}

// SetLatency sets an extra delay for every call, added to the room's
// Latency; 0 removes it.
func (f *Fake) SetLatency(d time.Duration) {
	f.latency.Store(int64(max(d, 0)))
}

// SetRateLimit sets Options.RateLimit, get_member_list's limit: at most n
// accepted calls in any sliding second; n <= 0 is unlimited. It is
// SetCommandRateLimit(CommandGetMemberList, n).
func (f *Fake) SetRateLimit(n int) {
	f.SetCommandRateLimit(CommandGetMemberList, n)
}

// SetCommandRateLimit sets one command's limit (Options.RateLimit,
// RoomListRateLimit, RoomInfoRateLimit or RoomStatsRateLimit): at most n
// accepted calls of cmd in any sliding second, beyond which it answers
// 60007; n <= 0 is unlimited. It panics on an unknown command.
func (f *Fake) SetCommandRateLimit(cmd string, n int) {
	c := mustCommand(cmd)
	f.mu.Lock()
	f.rateLimits[c] = max(n, 0)
	f.mu.Unlock()
}

// SetAppRateLimit sets Options.AppRateLimit: at most n accepted calls of
// all commands together in any sliding second, beyond which the fake
// answers 60011; n <= 0 is unlimited.
func (f *Fake) SetAppRateLimit(n int) {
	f.mu.Lock()
	f.appRateLimit = max(n, 0)
	f.mu.Unlock()
}

// SetEndlessRoomList sets Options.EndlessRoomList.
func (f *Fake) SetEndlessRoomList(on bool) {
	f.mu.Lock()
	f.endlessList = on
	f.mu.Unlock()
}

// SetRoomListRawBody makes every get_room_list call that passes the query,
// rate limit and body checks (and any FailListPage injection) answer HTTP
// 200 with exactly body, like Room.RawBody; "" goes back to listing rooms.
func (f *Fake) SetRoomListRawBody(body string) {
	f.mu.Lock()
	f.listRawBody = body
	f.mu.Unlock()
}

// Stats returns a copy of the counters.
func (f *Fake) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	s.CallsByRoom = maps.Clone(f.stats.CallsByRoom)
	s.CallsByCommand = maps.Clone(f.stats.CallsByCommand)
	s.RateLimitedByCommand = maps.Clone(f.stats.RateLimitedByCommand)
	s.MaxPerSecondByCommand = maps.Clone(f.stats.MaxPerSecondByCommand)
	s.CallsByCommandRoom = make(map[string]map[string]int, len(f.stats.CallsByCommandRoom))
	for cmd, byRoom := range f.stats.CallsByCommandRoom {
		s.CallsByCommandRoom[cmd] = maps.Clone(byRoom)
	}
	return s
}

// ResetStats zeroes the counters. It does not reset the rate limits'
// windows, which are behaviour, not statistics.
func (f *Fake) ResetStats() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats = newStats(f.inFlight)
	for c := range f.arrivals {
		f.arrivals[c].reset()
	}
	f.arrivalsAll.reset()
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
	response   any  // the Response of a success; nil for a get_member_list page, built by write
	room       Room // for a get_member_list page
	offset     int
}

// request is a decoded request body.
type request struct {
	roomID string // non-empty when the body decoded with a string RoomId
	offset int    // from Next: a member offset, or a room offset for get_room_list
	page   int    // get_room_list: the 1-based page asked for
	count  int    // get_room_list: Count
	code   int    // non-zero when the body is invalid
	info   string
}

// ServeHTTP answers POST ServicePath + command for the four commands of
// live_engine_http_srv and MicServicePath + get_seat_list, as
// the package doc describes. A call still waiting out a latency when its
// Server is closed is aborted with http.ErrAbortHandler, which net/http
// recovers.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cmd := command(slices.Index(commandPaths[:], r.URL.Path))
	if cmd < 0 {
		http.NotFound(w, r)
		return
	}
	// A modelled network: the request reaches the API after a one-way
	// delay, and only then counts in the sliding windows.
	rtt, share := time.Duration(f.netRTT.Load()), math.Float64frombits(f.netShare.Load())
	var oneWay time.Duration
	if rtt > 0 {
		jitter := math.Float64frombits(f.netJitter.Load())
		oneWay = time.Duration(float64(rtt) * share * (1 - jitter + 2*jitter*rand.Float64()))
		if !f.sleep(r, oneWay) {
			return
		}
	}
	f.enter(cmd)
	defer f.leave()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	// CPU work outside the lock: read and decode the body, check the query.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	req := decodeRequest(cmd, body, err)
	authCode, authInfo := f.checkQuery(r.URL.RawQuery)

	a := f.decide(cmd, authCode, authInfo, req)

	if d := time.Duration(f.latency.Load()) + a.latency + max(rtt-oneWay, 0); d > 0 {
		if !f.sleep(r, d) {
			return
		}
	}
	f.write(w, a)
}

// sleep waits d, or less if the client goes (false) or the server closes.
func (f *Fake) sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false // the client is gone: nobody reads an answer
	case <-f.done:
		// Server.Close: drop the connection so the client sees no answer
		// rather than an empty 200; net/http recovers this.
		panic(http.ErrAbortHandler)
	}
}

// SetNetwork models the network between client and API: every request
// takes rtt in all (on top of SetLatency and each room's Latency) and
// reaches the API, where it is counted in the rate-limit windows, after
// share of it, jittered by ±jitter of that (0.2: ±20 %). rtt 0 turns the
// model off.
func (f *Fake) SetNetwork(rtt time.Duration, share, jitter float64) {
	f.netRTT.Store(int64(rtt))
	f.netShare.Store(math.Float64bits(share))
	f.netJitter.Store(math.Float64bits(jitter))
}

// enter counts an arriving call.
func (f *Fake) enter(cmd command) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := cmd.String()
	f.stats.CallsByCommand[name]++
	f.inFlight++
	f.stats.MaxInFlight = max(f.stats.MaxInFlight, f.inFlight)
	now := f.elapsed()
	w := &f.arrivals[cmd]
	w.prune(now - time.Second)
	w.push(now)
	f.stats.MaxPerSecondByCommand[name] = max(f.stats.MaxPerSecondByCommand[name], w.n)
	f.arrivalsAll.prune(now - time.Second)
	f.arrivalsAll.push(now)
	f.stats.MaxPerSecondAll = max(f.stats.MaxPerSecondAll, f.arrivalsAll.n)
	if cmd == cmdMemberList {
		f.stats.Calls++
		f.stats.MaxPerSecond = f.stats.MaxPerSecondByCommand[name]
	}
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

// decodeRequest checks a request body: 60003 when it is not JSON, 100002
// when it is not what cmd takes.
func decodeRequest(cmd command, body []byte, readErr error) request {
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
	if cmd == cmdRoomList {
		return decodeRoomListRequest(fields)
	}
	var req request
	roomID, ok := jsonString(fields["RoomId"])
	if !ok || roomID == "" {
		return request{code: codeInvalidParams, info: "RoomId must be a non-empty string"}
	}
	req.roomID = roomID
	switch cmd {
	case cmdRoomInfo, cmdSeatList:
		return req
	case cmdRoomStats:
		if len(roomID) > maxStatsRoomID {
			req.code, req.info = codeInvalidParams, "RoomId is longer than 48 bytes"
		}
		return req
	}
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
func (f *Fake) decide(cmd command, authCode int, authInfo string, req request) answer {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := cmd.String()
	if req.roomID != "" {
		if cmd == cmdMemberList {
			f.stats.CallsByRoom[req.roomID]++
		}
		byRoom := f.stats.CallsByCommandRoom[name]
		if byRoom == nil {
			byRoom = make(map[string]int)
			f.stats.CallsByCommandRoom[name] = byRoom
		}
		byRoom[req.roomID]++
	}
	if authCode != 0 {
		f.stats.AuthFailures++
		return answer{code: authCode, info: authInfo}
	}

	now := f.elapsed()
	f.acceptedAll.prune(now - time.Second)
	if f.appRateLimit > 0 && f.acceptedAll.n >= f.appRateLimit {
		f.stats.AppRateLimited++
		return answer{code: codeAppRateLimited, info: errorInfo(codeAppRateLimited)}
	}
	accepted := &f.accepted[cmd]
	accepted.prune(now - time.Second)
	if limit := f.rateLimits[cmd]; limit > 0 && accepted.n >= limit {
		f.stats.RateLimitedByCommand[name]++
		if cmd == cmdMemberList {
			f.stats.RateLimited++
		}
		return answer{code: codeRateLimited, info: errorInfo(codeRateLimited)}
	}
	accepted.push(now)
	f.acceptedAll.push(now)

	if req.code != 0 {
		return answer{code: req.code, info: req.info}
	}
	if cmd == cmdRoomList {
		return f.listRooms(req)
	}
	k := failKey{cmd: cmd, roomID: req.roomID}
	if fl, ok := f.fails[k]; ok {
		if fl.n--; fl.n <= 0 {
			delete(f.fails, k)
		} else {
			f.fails[k] = fl
		}
		f.stats.Injected++
		return answer{code: fl.code, info: errorInfo(fl.code) + " (injected)"}
	}
	st, ok := f.rooms[req.roomID]
	if !ok {
		return answer{code: codeRoomNotFound, info: errorInfo(codeRoomNotFound)}
	}
	room := st.room
	rawBody := room.rawBody(cmd)
	a := answer{latency: max(room.Latency, 0)}
	switch {
	case room.HTTPStatus != 0 && room.HTTPStatus != http.StatusOK:
		a.httpStatus = room.HTTPStatus
	case rawBody != "":
		a.rawBody = rawBody
	case room.ErrorCode != 0:
		a.code, a.info = room.ErrorCode, errorInfo(room.ErrorCode)
	case cmd == cmdRoomInfo:
		a.response = st.info(req.roomID)
	case cmd == cmdRoomStats:
		a.response = st.stats(now)
	case cmd == cmdSeatList:
		a.response = room.seatList()
	default:
		a.room, a.offset = room, req.offset
	}
	return a
}

// response is the upstream's JSON envelope.
type response struct {
	ActionStatus string `json:"ActionStatus"`
	ErrorCode    int    `json:"ErrorCode"`
	ErrorInfo    string `json:"ErrorInfo"`
	RequestID    string `json:"RequestId"`
	Response     any    `json:"Response,omitempty"`
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
		resp.Response = a.response
		if a.response == nil {
			resp.Response = f.page(a.room, a.offset)
		}
	}
	b, err := json.Marshal(resp)
	if err != nil {
		// Only strings, numbers and valid raw JSON: cannot happen, but
		// answer valid JSON anyway.
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
