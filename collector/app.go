package collector

import (
	"container/heap"
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// Retry timing for failures that are neither successes nor room facts.
const (
	transientRetryFactor = 4 // a transient failure is retried after refresh_interval / 4
	minTransientRetry    = time.Second
	authBackoffMax       = 10 * time.Minute
	// idleFactor × refresh_interval without a scrape stops all upstream calls.
	idleFactor = 2
)

// existence of a room as of its last definitive answer.
const (
	existsUnknown int8 = iota
	existsYes
	existsNo
)

// room is one watched room and what is known of it. Fields below mu are
// guarded by the owning app's mu; snapshot is read by Collect without locks.
type room struct {
	id     string
	index  int              // position in config, breaks ties between equally due rooms
	labels []*dto.LabelPair // app, room and extra labels, built once per configuration

	heapIndex   int // position in app.queue; -1 while in flight
	due         time.Time
	attempted   bool
	up          bool
	exists      int8
	hasCount    bool
	members     int
	lastSuccess time.Time
	backoff     time.Duration // current offline back-off, 0 while live
	deferred    bool          // whether deferredDue holds a counted due time
	deferredDue time.Time     // the due time already counted as deferred

	snapshot atomic.Pointer[roomSnapshot] // built once per change, served by every scrape
}

// roomQueue is a min-heap of rooms by due time: the stalest room first.
type roomQueue []*room

func (q roomQueue) Len() int { return len(q) }
func (q roomQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].index < q[j].index
}
func (q roomQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].heapIndex = i
	q[j].heapIndex = j
}
func (q *roomQueue) Push(x any) {
	r := x.(*room)
	r.heapIndex = len(*q)
	*q = append(*q, r)
}
func (q *roomQueue) Pop() any {
	old := *q
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	r.heapIndex = -1
	return r
}

// app refreshes the rooms of one configured app. A single worker goroutine
// hands due rooms, stalest first, to at most max_concurrency fetches, each
// of whose requests passes the app's gate. It calls upstream only while
// scrapes keep coming (see demand), so scrapes drive it, yet it keeps
// going between them: a room is refreshed when its data is due, not only
// inside a scrape's budget.
type app struct {
	cfg     *AppConfig
	name    string
	client  *tencent.Client
	http    *http.Client
	gate    *gate
	descs   *roomDescs
	inst    *instruments
	logger  *slog.Logger
	refresh time.Duration
	rooms   []*room
	sem     chan struct{}
	wake    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu           sync.Mutex
	queue        roomQueue
	inFlight     []*room
	progress     chan struct{} // closed and replaced whenever a fetch completes
	lastDemand   time.Time
	up           bool
	blockedUntil time.Time
	authBackoff  time.Duration
}

func (a *app) start() {
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.wg.Add(1)
	go a.run()
}

// stop cancels in-flight requests and waits for every goroutine.
func (a *app) stop() {
	a.cancel()
	a.wg.Wait()
	a.http.CloseIdleConnections()
}

// signal wakes the worker without blocking.
func (a *app) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *app) run() {
	defer a.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		// Take a slot before picking, so the room picked is the stalest
		// one at the moment a request can start.
		select {
		case a.sem <- struct{}{}:
		case <-a.ctx.Done():
			return
		}
		r, wait := a.next(time.Now())
		if r != nil {
			a.wg.Add(1)
			go a.fetch(r)
			continue
		}
		<-a.sem
		var timeout <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			timeout = timer.C
		}
		select {
		case <-a.ctx.Done():
			return
		case <-a.wake:
		case <-timeout:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// next pops the stalest due room, or says how long to sleep (0: until woken).
func (a *app) next(now time.Time) (*room, time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	idleAt := a.lastDemand.Add(idleFactor * a.refresh)
	if !now.Before(idleAt) {
		return nil, 0 // nobody scrapes: no upstream calls until one does
	}
	wait := idleAt.Sub(now)
	if now.Before(a.blockedUntil) {
		return nil, min(wait, a.blockedUntil.Sub(now))
	}
	if len(a.queue) == 0 {
		return nil, wait
	}
	if top := a.queue[0]; top.due.After(now) {
		return nil, min(wait, top.due.Sub(now))
	}
	r := heap.Pop(&a.queue).(*room)
	a.inFlight = append(a.inFlight, r)
	return r, 0
}

func (a *app) fetch(r *room) {
	defer a.wg.Done()
	defer func() { <-a.sem }()
	list, err := a.client.GetMemberList(a.ctx, r.id)
	a.complete(r, list, err, time.Now())
}

// complete records a fetch's outcome and schedules the room's next one.
func (a *app) complete(r *room, list *tencent.MemberList, err error, now time.Time) {
	code := tencent.ErrorCode(err)
	if err != nil && code != "canceled" {
		a.inst.errors.WithLabelValues(a.name, code).Inc()
	}
	a.mu.Lock()
	defer func() {
		for i, f := range a.inFlight {
			if f == r {
				a.inFlight = append(a.inFlight[:i], a.inFlight[i+1:]...)
				break
			}
		}
		heap.Push(&a.queue, r)
		close(a.progress)
		a.progress = make(chan struct{})
		a.mu.Unlock()
		a.signal()
	}()

	switch class := tencent.Classify(err); {
	case code == "canceled":
		return // shutdown or reload: nothing was learnt
	case class == tencent.ClassNone:
		r.attempted, r.up, r.exists, r.hasCount = true, true, existsYes, true
		r.members = list.MemberCount
		r.lastSuccess = now
		r.backoff = 0
		r.due = now.Add(a.refresh)
		a.appAnsweredLocked()
	case class == tencent.ClassRoom:
		r.attempted, r.up, r.hasCount = true, false, false
		r.exists = existsYes
		if code == "100004" {
			r.exists = existsNo
		}
		r.backoff = min(max(2*r.backoff, a.refresh), time.Duration(a.cfg.OfflineBackoffMax))
		r.due = now.Add(r.backoff)
		a.appAnsweredLocked()
		a.logger.Debug("Room answered a room-level error", "room", r.id, "code", code, "retry_in", r.backoff, "err", err)
	case class == tencent.ClassConfig:
		r.due = now // retried as soon as the app is unblocked
		if now.Before(a.blockedUntil) {
			break // another request of the same burst: already backing off
		}
		a.authBackoff = min(max(2*a.authBackoff, a.refresh/transientRetryFactor, minTransientRetry), authBackoffMax)
		a.blockedUntil = now.Add(a.authBackoff)
		if a.up {
			a.logger.Error("App failing with an auth or configuration error; backing off", "code", code, "retry_in", a.authBackoff, "err", err)
		} else {
			a.logger.Warn("App still failing", "code", code, "retry_in", a.authBackoff, "err", err)
		}
		a.up = false
	default: // transient
		r.attempted, r.up = true, false
		if tencent.IsRateLimited(err) {
			a.gate.slowDown(now)
			r.due = now // the slower gate paces the retry
		} else {
			r.due = now.Add(max(a.refresh/transientRetryFactor, minTransientRetry))
		}
		a.logger.Debug("Room query failed", "room", r.id, "code", code, "err", err)
	}
	a.buildRoomMetrics(r)
}

// appAnsweredLocked notes that the upstream accepted the app's credentials.
func (a *app) appAnsweredLocked() {
	if !a.up {
		a.logger.Info("App requests accepted")
	}
	a.up = true
	a.authBackoff = 0
	a.blockedUntil = time.Time{}
}

// buildRoomMetrics renders a room's state as metrics once, so scrapes
// only pass them on.
func (a *app) buildRoomMetrics(r *room) {
	s := &roomSnapshot{}
	if r.hasCount && r.exists != existsNo {
		s.add(a.descs.members, r.labels, float64(r.members))
	}
	s.add(a.descs.up, r.labels, boolToFloat(r.up))
	if r.exists != existsUnknown {
		s.add(a.descs.exists, r.labels, boolToFloat(r.exists == existsYes))
	}
	if !r.lastSuccess.IsZero() {
		s.add(a.descs.lastSuccess, r.labels, float64(r.lastSuccess.UnixNano())/1e9)
	}
	r.snapshot.Store(s)
}

// demand records a scrape: the worker calls upstream while they keep coming.
func (a *app) demand(now time.Time) {
	a.mu.Lock()
	a.lastDemand = now
	a.mu.Unlock()
	a.signal()
}

// awaitRefresh waits until every room that was due at t0 has been fetched,
// or ctx ends; then it counts the rooms left waiting as deferred.
func (a *app) awaitRefresh(ctx context.Context, t0 time.Time) {
	for {
		a.mu.Lock()
		if time.Now().Before(a.blockedUntil) {
			a.mu.Unlock()
			return // the app is backing off: nothing to wait for
		}
		pending := a.pendingLocked(t0)
		ch := a.progress
		a.mu.Unlock()
		if !pending {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			a.mu.Lock()
			n := a.deferLocked(t0)
			a.mu.Unlock()
			if n > 0 {
				a.inst.deferred.WithLabelValues(a.name).Add(float64(n))
			}
			return
		}
	}
}

// pendingLocked reports whether a room due at t0 is still queued or in
// flight; the queue is a heap, so its top tells.
func (a *app) pendingLocked(t0 time.Time) bool {
	for _, r := range a.inFlight {
		if !r.due.After(t0) {
			return true
		}
	}
	return len(a.queue) > 0 && !a.queue[0].due.After(t0)
}

// deferLocked counts the rooms due at t0 that a scrape gives up waiting
// for. A room counts once per due time, however many scrapes waited for it.
func (a *app) deferLocked(t0 time.Time) int {
	n := 0
	count := func(r *room) {
		if !r.due.After(t0) && !(r.deferred && r.deferredDue.Equal(r.due)) {
			r.deferred, r.deferredDue = true, r.due
			n++
		}
	}
	for _, r := range a.inFlight {
		count(r)
	}
	for _, r := range a.queue {
		count(r)
	}
	return n
}

// collect sends the app's room metrics and app-level gauges.
func (a *app) collect(ch chan<- prometheus.Metric) {
	for _, r := range a.rooms {
		if s := r.snapshot.Load(); s != nil {
			for i := range s.n {
				ch <- &s.series[i]
			}
		}
	}
	a.mu.Lock()
	up := a.up
	a.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(appUpDesc, prometheus.GaugeValue, boolToFloat(up), a.name)
	ch <- prometheus.MustNewConstMetric(appMaxQPSDesc, prometheus.GaugeValue, a.gate.maxQPSValue(), a.name)
	ch <- prometheus.MustNewConstMetric(appLimiterQPSDesc, prometheus.GaugeValue, a.gate.qps(), a.name)
	ch <- prometheus.MustNewConstMetric(appRoomsDesc, prometheus.GaugeValue, float64(len(a.rooms)), a.name)
}

func boolToFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
