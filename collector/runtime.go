package collector

import (
	"container/heap"
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// Retry and back-off timing.
const (
	transientRetryFactor = 4 // a transient failure is retried after refresh_interval / 4
	minTransientRetry    = time.Second
	authBackoffMax       = 10 * time.Minute
	// idleFactor × refresh_interval without a scrape stops all upstream calls.
	idleFactor = 2
	// noAnswerLimit failures in a row without an answer (network,
	// timeout, HTTP errors) mark an app that had answered as unreachable.
	noAnswerLimit = 3
	// warnEvery is how often a failure that goes on is logged again.
	warnEvery = 5 * time.Minute
)

// forever stands for "no deadline" in the worker's wait computation.
const forever = time.Duration(math.MaxInt64)

// existence of a room as of its last definitive answer.
const (
	existsUnknown int8 = iota
	existsYes
	existsNo
)

// contact is what the runtime knows of the upstream's view of its
// credentials. Until it has accepted them, one request at a time probes.
type contact int8

const (
	contactUnknown  contact = iota // first contact, or credentials changed
	contactAccepted                // the upstream answered
	contactFailing                 // auth/config errors, or no answer at all
)

// room is one watched room and what is known of it. Fields are guarded by
// the owning runtime's mu; snapshot is read by scrapes without locks.
type room struct {
	id       string
	index    int              // position: ties between equally due tasks
	labels   []*dto.LabelPair // app, room and extra labels
	idLabels []*dto.LabelPair // app and room: metadata families
	removed  bool             // dropped: answers in flight are discarded

	static     bool // configured: always watched, keeps its labels
	discovered bool // listed by a discovery sweep
	missed     int  // successful sweeps in a row that did not list it

	tasks [numRoomTaskKinds]task

	exists      int8
	attempted   bool // get_member_list has answered or failed at least once
	up          bool
	hasCount    bool
	members     int
	lastSuccess time.Time

	meta     *roomMeta          // nil until a listing or get_room_info said something
	stats    *tencent.RoomStats // the last get_room_stats answer
	hasStats bool

	// Built once per change, served by every scrape.
	snapshot      atomic.Pointer[roomSnapshot] // members, up, exists, last success
	metaSnapshot  atomic.Pointer[roomSnapshot] // info, capacity, creation, views
	statsSnapshot atomic.Pointer[roomSnapshot] // engagement counters
}

// roomMeta is what get_room_list and get_room_info say of a room.
type roomMeta struct {
	known      bool // from a listing or get_room_info
	name       string
	owner      string
	category   string // ints joined with ","
	created    int64
	views      int64
	hasInfo    bool // get_room_info answered
	roomType   string
	maxMembers int
	maxSeats   int
	info       []*dto.LabelPair // room_info's labels, rebuilt when they change
}

func newRoom(id string, index int) *room {
	r := &room{id: id, index: index}
	for k := range r.tasks {
		r.tasks[k] = task{room: r, kind: taskKind(k), heapIndex: -1}
	}
	return r
}

// runtimeKey is an app's identity: the quota and the data belong to the
// SDKAppID at one upstream, whatever name the configuration gives it.
type runtimeKey struct {
	sdkAppID uint64
	baseURL  string
}

func keyOf(ac *AppConfig) runtimeKey {
	base := ac.Endpoint
	if base == "" {
		base, _ = tencent.RegionBaseURL(ac.Region)
	} else if u, err := tencent.ParseBaseURL(base); err == nil {
		base = u.String()
	}
	return runtimeKey{sdkAppID: ac.SDKAppID, baseURL: base}
}

// appRuntime watches the rooms of one app for as long as configurations name
// it. It owns the signer and client, the room registry and the per-(room,
// command) schedules; the gates are shared with any later runtime of the
// same SDKAppID. A single worker goroutine hands due tasks, stalest first
// and get_member_list first, to at most max_concurrency fetches. It calls
// upstream only while scrapes keep coming, yet keeps going between them,
// so a room is refreshed when its data is due, not only inside a scrape.
type appRuntime struct {
	key    runtimeKey
	gates  *appGates
	inst   *instruments
	http   *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when retired
	wake   chan struct{}
	wg     sync.WaitGroup

	mu            sync.Mutex
	retired       bool
	name          string
	logger        *slog.Logger
	cfg           *AppConfig
	descs         *roomDescs
	refresh       time.Duration
	backoffMax    time.Duration
	maxConc       int
	client        *tencent.Client
	signer        *tencent.Signer
	gen           uint64 // credentials generation: answers to older ones say nothing of the app
	rooms         map[string]*room
	order         []*room      // static rooms in configuration order, then discovered ones; replaced, never modified, so scrapes may hold it
	sorted        *sortedRooms // order sorted by labels, made by the first scrape that needs it; nil when stale
	infoGen       uint64       // changes of room_info labels: sorted's info order is stale when it differs
	nextIndex     int          // index of the next room added
	queues        [numTaskKinds]taskQueue
	enabled       [numTaskKinds]bool
	interval      [numTaskKinds]time.Duration
	caps          [numTaskKinds]int // requests in flight per kind
	inFlight      map[*task]struct{}
	inFlightN     int // requests in flight, those of removed rooms included
	inFlightK     [numTaskKinds]int
	sweep         task // the discovery task
	discovery     *DiscoveryConfig
	listed        int       // rooms the last successful sweep kept, before max_rooms
	skipped       int       // of those, rooms beyond max_rooms
	lastSweep     time.Time // end of the last successful sweep
	loggedSkipped int       // skipped as last logged
	shardIndex    int
	shardCount    int
	progress      chan struct{} // closed and replaced whenever a fetch completes
	lastDemand    time.Time
	waiters       int // scrapes waiting now: demand while they wait

	contact       contact
	up            bool
	blockedUntil  time.Time
	appBackoff    time.Duration
	noAnswer      int                    // failures without an answer in a row
	warned        map[warnKey]*warnState // failures logged, for rate limiting and recovery
	lastError     *ErrorStatus
	deferredTotal int
	calls         [numTaskKinds]callCounter
}

type warnKey struct{ command, code string }

type warnState struct {
	last        time.Time // logged
	lastFailure time.Time
	suppressed  int
}

func newRuntime(key runtimeKey, gates *appGates, inst *instruments) *appRuntime {
	rt := &appRuntime{
		key:      key,
		gates:    gates,
		inst:     inst,
		http:     tencent.NewHTTPClient(MaxConcurrencyLimit),
		done:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		rooms:    map[string]*room{},
		inFlight: map[*task]struct{}{},
		progress: make(chan struct{}),
		up:       true,
		warned:   map[warnKey]*warnState{},
	}
	rt.sweep = task{kind: taskDiscovery, heapIndex: -1}
	rt.ctx, rt.cancel = context.WithCancel(context.Background())
	return rt
}

func (rt *appRuntime) start() {
	rt.wg.Add(1)
	go rt.run()
}

// retire stops the runtime for good: it cancels requests in flight, wakes
// waiting scrapes, and records no metric from then on. wait waits for its
// goroutines.
func (rt *appRuntime) retire() {
	rt.mu.Lock()
	if rt.retired {
		rt.mu.Unlock()
		return
	}
	rt.retired = true
	rt.mu.Unlock()
	rt.cancel()
	close(rt.done)
}

func (rt *appRuntime) wait() {
	rt.wg.Wait()
	rt.http.CloseIdleConnections()
}

// signal wakes the worker without blocking.
func (rt *appRuntime) signal() {
	select {
	case rt.wake <- struct{}{}:
	default:
	}
}

// clientFor builds the client of a configuration. signer is reused when
// the credentials are the same.
func (rt *appRuntime) clientFor(ac *AppConfig, signer *tencent.Signer, userAgent string) (*tencent.Client, error) {
	opts := []tencent.Option{
		tencent.WithTimeout(time.Duration(ac.RequestTimeout)),
		tencent.WithHTTPClient(rt.http),
		tencent.WithUserAgent(userAgent),
		// Every request, retries and pages included, passes the gates.
		tencent.WithRequestGate(rt.gateWait),
		tencent.WithRequestObserver(rt.observe),
	}
	if ac.Endpoint != "" {
		opts = append(opts, tencent.WithBaseURL(ac.Endpoint))
	} else {
		opts = append(opts, tencent.WithRegion(ac.Region))
	}
	return tencent.NewClient(ac.SDKAppID, ac.Identifier, signer, opts...)
}

// observe records one request's latency under the app's current name.
func (rt *appRuntime) observe(ri tencent.RequestInfo) {
	if tencent.ErrorCode(ri.Err) == "canceled" {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !rt.retired {
		rt.inst.duration.WithLabelValues(rt.name, ri.Command).Observe(ri.Duration.Seconds())
		for k := range numTaskKinds {
			if k.command() == ri.Command {
				rt.calls[k].add(time.Now())
			}
		}
	}
}

func (rt *appRuntime) run() {
	defer rt.wg.Done()
	timer := time.NewTimer(forever)
	defer timer.Stop()
	for {
		rt.mu.Lock()
		t, wait := rt.nextLocked(time.Now())
		if t != nil {
			client, gen := rt.client, rt.gen
			rt.mu.Unlock()
			rt.wg.Add(1)
			go rt.fetch(t, client, gen)
			continue
		}
		rt.mu.Unlock()
		var timeout <-chan time.Time
		if wait < forever {
			timer.Reset(wait)
			timeout = timer.C
		}
		select {
		case <-rt.ctx.Done():
			return
		case <-rt.wake:
		case <-timeout:
		}
		timer.Stop()
	}
}

// nextLocked takes the task to start now, or says how long to sleep
// (forever: until woken).
func (rt *appRuntime) nextLocked(now time.Time) (*task, time.Duration) {
	if rt.retired {
		return nil, forever
	}
	wait := forever
	if rt.waiters == 0 {
		idleAt := rt.lastDemand.Add(idleFactor * rt.refresh)
		if !now.Before(idleAt) {
			return nil, forever // nobody scrapes: no upstream calls until one does
		}
		wait = idleAt.Sub(now)
	}
	if now.Before(rt.blockedUntil) {
		return nil, min(wait, rt.blockedUntil.Sub(now))
	}
	if rt.contact != contactAccepted && rt.inFlightN >= 1 {
		return nil, wait // one probe until the upstream accepts the credentials
	}
	// Each kind has its own cap, so no command starves another of slots
	// while its requests wait at their own gate.
	for k := range rt.queues {
		q := &rt.queues[k]
		if len(*q) == 0 || rt.inFlightK[k] >= rt.caps[k] {
			continue // a completion wakes the worker
		}
		if top := (*q)[0]; top.due.After(now) {
			wait = min(wait, top.due.Sub(now))
			continue
		}
		t := heap.Pop(q).(*task)
		t.inFlight = true
		rt.inFlight[t] = struct{}{}
		rt.inFlightN++
		rt.inFlightK[k]++
		return t, 0
	}
	return nil, wait
}

// fetch calls the task's command and records the answer.
func (rt *appRuntime) fetch(t *task, client *tencent.Client, gen uint64) {
	defer rt.wg.Done()
	var sent time.Time // when the first request passed the gates
	ctx := context.WithValue(rt.ctx, sentAtKey{}, &sent)
	started := func() time.Time {
		if sent.IsZero() {
			return time.Now()
		}
		return sent
	}
	switch t.kind {
	case taskMembers:
		list, err := client.GetMemberList(ctx, t.room.id)
		rt.complete(t, gen, err, started(), func(now time.Time) {
			r := t.room
			r.attempted, r.up, r.hasCount = true, true, true
			r.members = list.MemberCount
			r.lastSuccess = now
		})
	case taskStats:
		stats, err := client.GetRoomStats(ctx, t.room.id)
		rt.complete(t, gen, err, started(), func(time.Time) { rt.applyStatsLocked(t.room, stats) })
	case taskInfo:
		info, err := client.GetRoomInfo(ctx, t.room.id)
		rt.complete(t, gen, err, started(), func(time.Time) { rt.applyInfoLocked(t.room, info) })
	case taskDiscovery:
		res, err := rt.runSweep(ctx, client)
		rt.complete(t, gen, err, started(), func(now time.Time) { rt.applySweepLocked(res, now) })
	default:
		rt.complete(t, gen, errors.New("unknown task kind"), started(), nil)
	}
}

// sentAtKey carries, in a fetch's context, where the gate notes when the
// fetch's first request was let through.
type sentAtKey struct{}

// gateWait passes a request through the app's gates. The client calls it
// in the fetching goroutine, so it may note the time in that fetch's
// context without a lock.
func (rt *appRuntime) gateWait(ctx context.Context, command string) (func(), error) {
	done, err := rt.gates.wait(ctx, command)
	if p, ok := ctx.Value(sentAtKey{}).(*time.Time); ok && err == nil && p.IsZero() {
		*p = time.Now()
	}
	return done, err
}

// complete records a fetch's outcome and schedules the task's next one,
// counting from when the request started, so a room is asked once per
// refresh_interval whatever the latency. apply stores a successful answer
// in the room.
func (rt *appRuntime) complete(t *task, gen uint64, err error, started time.Time, apply func(time.Time)) {
	now := time.Now()
	rt.mu.Lock()
	defer func() {
		close(rt.progress)
		rt.progress = make(chan struct{})
		rt.mu.Unlock()
		rt.signal()
	}()
	rt.inFlightN--
	rt.inFlightK[t.kind]--
	delete(rt.inFlight, t)
	t.inFlight = false
	if rt.retired {
		return
	}
	r, command := t.room, t.kind.command()
	dropped := (r != nil && r.removed) || !rt.enabled[t.kind]
	code := tencent.ErrorCode(err)
	if code == "canceled" {
		if !dropped {
			heap.Push(&rt.queues[t.kind], t) // nothing was learnt; due as before
		}
		return
	}
	label := metricCode(code)
	if err != nil {
		rt.inst.errors.WithLabelValues(rt.name, command, label).Inc()
		rt.lastError = errorStatus(command, label, err, now)
		if label == otherCode {
			rt.logger.Debug("Upstream answered an undocumented error code", "command", command, "code", code, "err", err)
		}
	}
	if err != nil && t.kind == taskDiscovery {
		rt.inst.sweeps.WithLabelValues(rt.name, sweepError).Inc() // the room set is kept
	}
	if dropped {
		return // the room or the command was dropped while in flight: the answer is discarded
	}
	current := gen == rt.gen // answered with the credentials configured now
	interval := rt.interval[t.kind]
	t.lastAttempt = started
	defer func() {
		if r != nil && r.removed {
			return // removed by this very answer
		}
		heap.Push(&rt.queues[t.kind], t)
		if r != nil {
			rt.buildRoomMetricsLocked(r)
		}
	}()

	switch class := tencent.Classify(err); {
	case class == tencent.ClassNone:
		apply(now)
		if r != nil {
			r.exists = existsYes
		}
		t.outcome, t.backoff = outcomeOK, 0
		t.due = started.Add(interval)
		if current {
			rt.answeredLocked(now, command)
		}
	case class == tencent.ClassRoom && r != nil:
		if t.kind == taskMembers {
			r.attempted, r.up, r.hasCount = true, false, false
		}
		r.exists = existsYes
		if code == "100004" {
			r.exists, r.hasStats = existsNo, false // ended: counters start again if it returns
			if t.kind == taskMembers && !r.static && r.missed > 0 {
				// A discovered room the listing no longer shows has ended.
				rt.removeRoomLocked(r)
				rt.setOrderLocked(slices.DeleteFunc(slices.Clone(rt.order), func(o *room) bool { return o == r }))
			}
		}
		t.outcome = outcomeRoomFact
		t.backoff = min(max(2*t.backoff, interval), max(rt.backoffMax, interval))
		t.due = started.Add(t.backoff)
		if current {
			rt.answeredLocked(now, command)
		}
		rt.logger.Debug("Room answered a room-level error", "room", r.id, "command", command, "code", code, "retry_in", t.backoff, "err", err)
	case class == tencent.ClassConfig && current:
		t.due = now // retried as soon as the app is unblocked
		rt.appFailingLocked(now, authBackoffMax, command, label, err)
	case class == tencent.ClassConfig:
		t.due = now // an answer to credentials no longer configured
	default: // transient
		if t.kind == taskMembers {
			r.attempted, r.up = true, false
		}
		t.outcome = outcomeTransient
		if tencent.IsRateLimited(err) {
			rt.gates.slowDown(command, isAppRateLimited(err), now)
			t.due = now // the slower gate paces the retry
		} else {
			t.due = started.Add(rt.transientDelayOf(interval))
		}
		var tErr *tencent.TransportError
		switch {
		case !current:
		case errors.As(err, &tErr):
			rt.noAnswerLocked(now, command, label, err)
		default:
			rt.answeredLocked(now, "") // an answer, though not a useful one
			rt.warnLocked(now, slog.LevelWarn, command, label, err)
		}
	}
}

func isAppRateLimited(err error) bool {
	var apiErr *tencent.APIError
	return errors.As(err, &apiErr) && apiErr.Code == tencent.CodeAppRateLimited
}

func (rt *appRuntime) transientDelay() time.Duration {
	return rt.transientDelayOf(rt.refresh)
}

func (rt *appRuntime) transientDelayOf(interval time.Duration) time.Duration {
	return max(interval/transientRetryFactor, minTransientRetry)
}

// answeredLocked notes that the upstream accepted the app's credentials.
// command, when set, had a useful answer: failures logged for it are over.
func (rt *appRuntime) answeredLocked(now time.Time, command string) {
	if rt.contact == contactFailing {
		rt.logger.Info("App requests accepted again")
	}
	rt.contact, rt.up = contactAccepted, true
	rt.appBackoff, rt.blockedUntil, rt.noAnswer = 0, time.Time{}, 0
	if command == "" {
		return
	}
	// A failure is over once the command keeps answering and the failing
	// rooms, retried after transientDelay, have not failed again.
	var codes []string
	for k, w := range rt.warned {
		if k.command == command && now.Sub(w.lastFailure) > 2*max(rt.refresh, rt.transientDelay()) {
			codes = append(codes, k.code)
			delete(rt.warned, k)
		}
	}
	if len(codes) > 0 {
		sort.Strings(codes)
		rt.logger.Info("Upstream calls succeeding again", "command", command, "codes_before", codes)
	}
}

// noAnswerLocked notes a request that got no answer. An app that never
// answered, or stopped answering, backs off and then sends one probe.
func (rt *appRuntime) noAnswerLocked(now time.Time, command, code string, err error) {
	rt.noAnswer++
	if rt.contact == contactAccepted && rt.noAnswer < noAnswerLimit {
		rt.warnLocked(now, slog.LevelWarn, command, code, err)
		return
	}
	rt.appFailingLocked(now, rt.refresh, command, code, err)
}

// appFailingLocked marks the app down and blocks it for a doubling
// back-off, capped at limit, before one probe.
func (rt *appRuntime) appFailingLocked(now time.Time, limit time.Duration, command, code string, err error) {
	level := slog.LevelWarn
	if tencent.Classify(err) == tencent.ClassConfig {
		level = slog.LevelError
	}
	rt.warnLocked(now, level, command, code, err)
	if now.Before(rt.blockedUntil) {
		return // another request of the same burst: already backing off
	}
	rt.appBackoff = min(max(2*rt.appBackoff, rt.transientDelay()), max(limit, rt.transientDelay()))
	rt.blockedUntil = now.Add(rt.appBackoff)
	rt.contact, rt.up = contactFailing, false
}

// warnLocked logs a failure the first time it happens for a command and
// code, then at most once per warnEvery while it goes on.
func (rt *appRuntime) warnLocked(now time.Time, level slog.Level, command, code string, err error) {
	k := warnKey{command, code}
	w, seen := rt.warned[k]
	if seen {
		w.lastFailure = now
	}
	if seen && now.Sub(w.last) < warnEvery {
		w.suppressed++
		return
	}
	if !seen {
		w = &warnState{lastFailure: now}
		rt.warned[k] = w
	}
	var requestID string
	var apiErr *tencent.APIError
	if errors.As(err, &apiErr) {
		requestID = apiErr.RequestID
	}
	msg := "Upstream calls failing"
	if seen {
		msg = "Upstream calls still failing"
	}
	rt.logger.Log(context.Background(), level, msg, "command", command, "code", code, "request_id", requestID,
		"failures_since_last_log", w.suppressed+1, "err", err)
	w.last, w.suppressed = now, 0
}

// buildRoomMetricsLocked renders a room's state as metrics once, so
// scrapes only pass them on.
func (rt *appRuntime) buildRoomMetricsLocked(r *room) {
	if !r.static && r.exists == existsNo {
		// A discovered room that ended shows nothing: rooms come and go
		// all day, and only a configured one's end is news (exists 0). It
		// stays watched until the listing drops it too, so that a stale
		// listing does not add it back again and again.
		r.snapshot.Store(nil)
		r.metaSnapshot.Store(nil)
		r.statsSnapshot.Store(nil)
		return
	}
	d := rt.descs
	s := newRoomSnapshot(numMemberFamilies)
	if r.hasCount && r.exists != existsNo {
		s.set(famMembers, d.members, r.labels, float64(r.members))
	}
	if r.attempted {
		s.set(famUp, d.up, r.labels, boolToFloat(r.up))
	}
	if r.exists != existsUnknown {
		s.set(famExists, d.exists, r.labels, boolToFloat(r.exists == existsYes))
	}
	if !r.lastSuccess.IsZero() {
		s.set(famLastSuccess, d.lastSuccess, r.labels, float64(r.lastSuccess.UnixNano())/1e9)
	}
	r.snapshot.Store(s)

	if m := r.meta; m != nil && m.known && r.exists != existsNo {
		s := newRoomSnapshot(numMetaFamilies)
		s.set(famInfo, roomInfoFamily, m.info, 1)
		if m.hasInfo {
			s.set(famMaxMembers, roomMaxMembersFamily, r.idLabels, float64(m.maxMembers))
			s.set(famMaxSeats, roomMaxSeatsFamily, r.idLabels, float64(m.maxSeats))
		}
		if m.created > 0 {
			s.set(famCreated, roomCreatedFamily, r.idLabels, float64(m.created))
		}
		s.set(famViews, roomViewsFamily, r.idLabels, float64(m.views))
		r.metaSnapshot.Store(s)
	} else {
		r.metaSnapshot.Store(nil)
	}

	if r.hasStats && r.exists != existsNo && rt.enabled[taskStats] {
		st := r.stats
		s := newRoomSnapshot(numStats)
		for i, v := range [numStats]int64{st.TotalViewers, st.TotalLikesReceived, st.TotalMsgCount, st.TotalGiftsSent, st.TotalGiftCoins, st.TotalUniqueGiftSenders} {
			s.set(i, d.stats[i], r.labels, float64(v))
		}
		r.statsSnapshot.Store(s)
	} else {
		r.statsSnapshot.Store(nil)
	}
}

// demand records that a scrape arrived and waits: the worker calls
// upstream while scrapes keep coming.
func (rt *appRuntime) demand(now time.Time) {
	rt.mu.Lock()
	rt.lastDemand = now
	rt.waiters++
	rt.mu.Unlock()
	rt.signal()
}

// awaitRefresh waits until every scrape-relevant task that was due at t0
// has been fetched, ctx ends or the runtime is retired; then it counts the
// tasks left waiting as deferred. Each demand must be matched by one
// awaitRefresh.
func (rt *appRuntime) awaitRefresh(ctx context.Context, t0 time.Time) {
	defer func() {
		rt.mu.Lock()
		rt.waiters--
		if now := time.Now(); now.After(rt.lastDemand) {
			rt.lastDemand = now
		}
		rt.mu.Unlock()
	}()
	for {
		rt.mu.Lock()
		if rt.retired || time.Now().Before(rt.blockedUntil) {
			rt.mu.Unlock()
			return // retired, or backing off: nothing to wait for
		}
		pending := rt.pendingLocked(t0)
		ch := rt.progress
		rt.mu.Unlock()
		if !pending {
			return
		}
		select {
		case <-ch:
		case <-rt.done:
			return
		case <-ctx.Done():
			rt.mu.Lock()
			n := 0
			if !rt.retired {
				n = rt.deferLocked(t0)
			}
			if n > 0 {
				rt.inst.deferred.WithLabelValues(rt.name).Add(float64(n))
				rt.deferredTotal += n
			}
			rt.mu.Unlock()
			return
		}
	}
}

// pendingLocked reports whether a task due at t0 is still queued or in
// flight; each queue is a heap, so its top tells.
func (rt *appRuntime) pendingLocked(t0 time.Time) bool {
	for t := range rt.inFlight {
		if t.kind.scrapeWaits() && !t.due.After(t0) {
			return true
		}
	}
	for k, q := range rt.queues {
		if taskKind(k).scrapeWaits() && len(q) > 0 && !q[0].due.After(t0) {
			return true
		}
	}
	return false
}

// deferLocked counts the tasks due at t0 that a scrape gives up waiting
// for. A task counts once per due time, however many scrapes waited.
func (rt *appRuntime) deferLocked(t0 time.Time) int {
	n := 0
	count := func(t *task) {
		if t.kind.scrapeWaits() && !t.due.After(t0) && !(t.deferred && t.deferredDue.Equal(t.due)) {
			t.deferred, t.deferredDue = true, t.due
			n++
		}
	}
	for t := range rt.inFlight {
		count(t)
	}
	for _, q := range rt.queues {
		for _, t := range q {
			count(t)
		}
	}
	return n
}

func boolToFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
