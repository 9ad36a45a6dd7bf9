package collector

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
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

	meta     *roomMeta  // nil until a listing or get_room_info said something
	stats    *roomStats // nil until get_room_stats answers, and after the room ended
	hasStats bool       // stats are served: answered within their maximum age
	seats    *roomSeats // nil until get_seat_list answers, and once expired or ended

	// Built once per change, served by every scrape.
	snapshot      atomic.Pointer[roomSnapshot] // members, up, exists, last success
	metaSnapshot  atomic.Pointer[roomSnapshot] // info, capacity, creation, views
	statsSnapshot atomic.Pointer[roomSnapshot] // engagement counters
	seatsSnapshot atomic.Pointer[roomSnapshot] // seats
}

// roomMeta is what get_room_list and get_room_info say of a room.
type roomMeta struct {
	known      bool      // from a listing or get_room_info
	refreshed  time.Time // when a listing or get_room_info last said it
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

// discoveryState is what an app's sweeps have measured.
type discoveryState struct {
	cfg           *DiscoveryConfig // nil: discovery is off
	listed        int              // rooms the last complete sweep kept, before max_rooms
	candidates    int              // of those, rooms not configured: they compete for max_rooms
	skipped       int              // of those, rooms beyond max_rooms
	lastSweep     time.Time        // end of the last complete sweep
	loggedSkipped int              // skipped as last logged
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
	maxAge        time.Duration
	client        *tencent.Client
	signer        *tencent.Signer
	gen           uint64 // credentials generation: answers to older ones say nothing of the app
	rooms         map[string]*room
	order         []*room      // static rooms in configuration order, then discovered ones; replaced, never modified, so scrapes may hold it
	sorted        *sortedRooms // order sorted by labels, made by the first scrape that needs it; nil when stale
	infoGen       uint64       // changes of room_info labels: sorted's info order is stale when it differs
	nextIndex     int          // index of the next room added
	sched         scheduler
	sourceOn      [numSources]bool // sources an enabled command fills
	health        appHealth
	nextExpiry    time.Time // when the next room value gets older than its maximum age
	sweep         task      // the discovery task
	disc          discoveryState
	webhook       *WebhookConfig // nil: no callbacks for the app
	lastEvent     time.Time      // when the last verified callback was applied
	shardIndex    int
	shardCount    int
	progress      chan struct{} // closed and replaced whenever a fetch completes
	lastDemand    time.Time
	waiters       int // scrapes waiting now: demand while they wait
	deferredTotal int
	calls         [numTaskKinds]callCounter
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
		sched:    newScheduler(),
		health:   newAppHealth(),
		progress: make(chan struct{}),
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
	rt.expireLocked(now)
	wait := forever
	if rt.waiters == 0 {
		idleAt := rt.lastDemand.Add(idleFactor * rt.refresh)
		if !now.Before(idleAt) {
			return nil, forever // nobody scrapes: no upstream calls (nor expiries) until one does
		}
		wait = idleAt.Sub(now)
	}
	wait = min(wait, rt.nextExpiry.Sub(now), rt.paceSweepLocked(now))
	t, next := rt.sched.next(now, func(k taskKind, inFlight int) (bool, time.Duration) {
		return rt.health.ready(k, inFlight, rt.sched.inFlightN, now)
	})
	return t, min(wait, next)
}

// fetch calls the task's command and records the answer.
func (rt *appRuntime) fetch(t *task, client *tencent.Client, gen uint64) {
	defer rt.wg.Done()
	var sent time.Time // when the first request passed the gates
	ctx := context.WithValue(rt.ctx, sentAtKey{}, &sent)
	apply, err := commands[t.kind].fetch(ctx, rt, client, t)
	if sent.IsZero() {
		sent = time.Now()
	}
	rt.complete(t, gen, err, sent, apply)
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
// interval whatever the latency. apply stores a successful answer. What
// the answer changes (the room, the task, the command or the app) is the
// command's policy (commandSpec.owners), applied here.
func (rt *appRuntime) complete(t *task, gen uint64, err error, started time.Time, apply func(time.Time)) {
	now := time.Now()
	rt.mu.Lock()
	defer func() {
		close(rt.progress)
		rt.progress = make(chan struct{})
		rt.mu.Unlock()
		rt.signal()
	}()
	rt.sched.done(t)
	if rt.retired {
		return
	}
	spec := &commands[t.kind]
	r, command := t.room, spec.name
	dropped := (r != nil && r.removed) || !rt.sched.enabled[t.kind]
	code := tencent.ErrorCode(err)
	if code == "canceled" {
		if !dropped {
			rt.sched.push(t) // nothing was learnt; due as before
		}
		return
	}
	class := classifyAnswer(err)
	label := metricCode(code)
	if err != nil {
		rt.inst.errors.WithLabelValues(rt.name, command, label).Inc()
		if class != answerRoomGone && class != answerRoomFact {
			rt.health.lastError = errorStatus(command, label, err, now) // facts about rooms are not errors
		}
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
	interval := rt.sched.interval[t.kind]
	if t.kind == taskDiscovery {
		interval = rt.discoveryIntervalLocked(now) // slower while webhook events arrive
	}
	t.lastAttempt = started
	defer func() {
		if r != nil && r.removed {
			return // removed by this very answer
		}
		rt.sched.push(t)
		if r != nil {
			rt.buildRoomMetricsLocked(r)
		}
	}()

	retry := transientDelayOf(interval)
	switch spec.owners[class] {
	case ownerRoom:
		if class == answerOK {
			apply(now)
			t.outcome, t.backoff = outcomeOK, 0
			t.due = started.Add(interval)
			if !spec.primary && r != nil && r.exists == existsNo {
				rt.sched.dueNow(&r.tasks[primaryKind], now) // a room that ended answers again: is it back?
			}
		} else {
			rt.roomFactLocked(r, class)
			rt.taskBackoffLocked(t, started, interval)
			rt.logger.Debug("Room answered a room-level error", "room", r.id, "command", command, "code", code, "retry_in", t.backoff, "err", err)
		}
		if current {
			rt.health.commandAnswered(t.kind, now)
		}
	case ownerTaskBackoff, ownerHint:
		rt.taskBackoffLocked(t, started, interval)
		if spec.owners[class] == ownerHint {
			rt.sched.dueNow(&r.tasks[primaryKind], now)
		}
		if current {
			rt.health.commandAnswered(t.kind, now)
		}
	case ownerGate:
		rt.primaryFailedLocked(t)
		t.outcome = outcomeTransient
		rt.gates.slowDown(command, isAppRateLimited(err), now)
		t.due = now // the slower gate paces the retry
		if current {
			rt.health.answered(now, "") // an answer, though not a useful one
			rt.health.warn(now, slog.LevelWarn, command, label, err)
		}
	case ownerTask:
		rt.primaryFailedLocked(t)
		t.outcome = outcomeTransient
		t.due = started.Add(retry)
		if current {
			if class != answerNoAnswer {
				rt.health.answered(now, "") // an answer, though not a useful one
			}
			rt.health.warn(now, slog.LevelWarn, command, label, err)
		}
	case ownerCommand:
		t.due = now // retried once the command's back-off ends
		if current {
			rt.health.commandFailing(t.kind, now, retry, label, err)
		}
	case ownerApp:
		switch {
		case !current:
			t.due = now // an answer to credentials no longer configured
		case class == answerNoAnswer:
			rt.primaryFailedLocked(t)
			t.outcome = outcomeTransient
			t.due = started.Add(retry)
			if rt.health.noAnswer(now, t.kind, rt.transientDelay(), label, err) {
				rt.appDownLocked()
			}
		default:
			t.due = now // retried as soon as the app is unblocked
			if rt.health.appFailing(now, authBackoffMax, rt.transientDelay(), t.kind, label, err) {
				rt.appDownLocked()
			}
		}
	}
}

// appDownLocked marks every room down when the app goes down: none can be
// refreshed until it is back.
func (rt *appRuntime) appDownLocked() {
	for _, r := range rt.order {
		if !r.attempted || r.up {
			r.attempted, r.up = true, false
			rt.buildRoomMetricsLocked(r)
		}
	}
}

// primaryFailedLocked notes that a room's primary command could not
// refresh it: the room is down until its next answer.
func (rt *appRuntime) primaryFailedLocked(t *task) {
	if commands[t.kind].primary && t.room != nil {
		t.room.attempted, t.room.up = true, false
	}
}

// taskBackoffLocked makes a task due after its room-fact back-off, which
// doubles from its interval up to offline_backoff_max.
func (rt *appRuntime) taskBackoffLocked(t *task, started time.Time, interval time.Duration) {
	t.outcome = outcomeRoomFact
	t.backoff = min(max(2*t.backoff, interval), max(rt.backoffMax, interval))
	t.due = started.Add(t.backoff)
}

func isAppRateLimited(err error) bool {
	var apiErr *tencent.APIError
	return errors.As(err, &apiErr) && apiErr.Code == tencent.CodeAppRateLimited
}

// transientDelay is how long the app waits after a transient failure of
// its primary command.
func (rt *appRuntime) transientDelay() time.Duration {
	return transientDelayOf(rt.refresh)
}

// demand records that a scrape arrived and waits: the worker calls
// upstream while scrapes keep coming.
func (rt *appRuntime) demand(now time.Time) {
	rt.mu.Lock()
	rt.lastDemand = now
	rt.waiters++
	rt.expireLocked(now)
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
		if rt.retired || rt.health.blocked(time.Now()) {
			rt.mu.Unlock()
			return // retired, or backing off: nothing to wait for
		}
		pending := rt.sched.pending(t0)
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
				n = rt.sched.deferDue(t0)
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

func boolToFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
