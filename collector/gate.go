package collector

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Pacing constants.
const (
	// windowLength is the sliding window in which at most max_qps requests
	// may reach the upstream; a little over the upstream's one second so
	// that the edges of its window cannot matter.
	windowLength = time.Second + 5*time.Millisecond
	// After a frequency-limit answer the rate halves (not below
	// minRateFactor of max_qps) and then climbs back by recoverStep of
	// max_qps every recoverEvery without another one.
	minRateFactor = 0.05
	recoverStep   = 0.1
	recoverEvery  = 2 * time.Second
	// A request reaches the upstream about halfway through its round
	// trip; the window rule allows the one-way delay to be anywhere in
	// [arrivalLow, arrivalHigh] of the round trip (half of it, ±20 %).
	arrivalLow  = 0.4
	arrivalHigh = 0.6
	// schedulingMargin covers what the round trips do not measure: a
	// request let through may wait for the scheduler before it leaves, and
	// the shortest recent round trip may include such a wait. The modelled
	// rule is used only where it saves more than this, so on a fast network
	// the gate keeps to the completion rule.
	schedulingMargin = 10 * time.Millisecond
	// fallbackFor is how long a gate keeps to the completion rule after a
	// frequency-limit answer: the network did not behave as modelled.
	fallbackFor = 5 * time.Minute
)

// gate is a door in front of upstream requests: of one command of one app
// (one SDKAppID, whose quota it guards), or of all its commands together
// (see appGates). Two mechanisms work together:
//
//   - pacing like a token bucket of burst 1 at the current rate spaces
//     requests evenly, and is slowed down after frequency-limit answers;
//     requests start by priority, then in arrival order;
//   - a log of the last floor(max_qps) requests' send and completion
//     times: a request may start only once the one max_qps requests before
//     it reached the upstream at least windowLength before this one can.
//     A request reaches the upstream between its send and its completion,
//     about halfway: the rule takes the latest arrival of the old request
//     (arrivalHigh of its round trip) and the earliest of the new one
//     (arrivalLow of the shortest recent round trip), so no window of the
//     upstream's second holds more than max_qps requests while one-way
//     delays stay within ±20 % of half the round trip. The cost is 0.2 of
//     the round trip per window: 95 % of max_qps at 250 ms.
//   - the safety net: after a frequency-limit answer the gate keeps, for
//     fallbackFor, to the completion rule, which holds whatever the
//     network: the upstream has seen a request by the time it completes
//     and sees a new one only after it is sent, so the request max_qps
//     later starts windowLength after the old one completed.
//
// (A bucket alone at rate r lets r+1 calls into some windows, and late
// goroutines bunch up.) A gate survives reloads so the quota is kept
// across them.
type gate struct {
	mu         sync.Mutex
	maxQPS     float64
	current    float64   // the pacing rate
	nextStart  time.Time // pacing: no request starts before
	lastChange time.Time
	slots      []*gateSlot // ring: the slot a new request reuses is slots[next]
	next       int
	released   chan struct{} // closed and replaced when a request completes or a priority waiter leaves
	// queue holds the waiting requests in the order they may start.
	queue []*gateWaiter
	// recoverEvery is how often a slowed-down rate climbs a step.
	recoverEvery time.Duration
	// fallbackUntil: until then, the completion rule.
	fallbackUntil time.Time
	fallbackFor   time.Duration
}

// gateSlot records one request: in flight, or when it completed.
type gateSlot struct {
	inFlight bool
	sent     time.Time
	done     time.Time
}

// rtt is the slot's round trip, once completed.
func (s *gateSlot) rtt() time.Duration { return s.done.Sub(s.sent) }

func newGate(maxQPS float64) *gate {
	g := &gate{
		released:     make(chan struct{}),
		recoverEvery: recoverEvery,
		fallbackFor:  fallbackFor,
	}
	g.setMaxQPS(maxQPS)
	return g
}

// setMaxQPS changes the ceiling (on reload), keeping the most recent
// requests' slots so a reload cannot open a burst.
func (g *gate) setMaxQPS(maxQPS float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if maxQPS == g.maxQPS {
		return
	}
	g.maxQPS = maxQPS
	g.current = maxQPS
	size := max(1, int(math.Floor(maxQPS)))
	slots := make([]*gateSlot, size)
	for i := range slots {
		slots[i] = &gateSlot{}
	}
	// Keep the newest slots of the old ring, newest last.
	for i := range min(size, len(g.slots)) {
		slots[size-1-i] = g.slots[(g.next-1-i+2*len(g.slots))%len(g.slots)]
	}
	g.slots, g.next = slots, 0
}

// wait blocks until a request may start, or ctx ends. The caller must
// call done once the request has completed. Requests start by priority
// (lower first), then in the order they arrived.
func (g *gate) wait(ctx context.Context, priority int) (done func(), err error) {
	slot, err := g.acquire(ctx, priority)
	if err != nil {
		return nil, err
	}
	return func() { g.complete(slot) }, nil
}

// markSent moves a slot's send time to when the request really left,
// after the gates behind this one.
func (g *gate) markSent(slot *gateSlot, t time.Time) {
	g.mu.Lock()
	slot.sent = t
	g.mu.Unlock()
}

// acquire takes a slot for a request; complete releases it.
func (g *gate) acquire(ctx context.Context, priority int) (*gateSlot, error) {
	g.recover(time.Now())
	me := &gateWaiter{priority: priority}
	g.mu.Lock()
	// Behind every waiter of the same or a higher priority.
	i := len(g.queue)
	for i > 0 && g.queue[i-1].priority > priority {
		i--
	}
	g.queue = slices.Insert(g.queue, i, me)
	leave := func() {
		g.queue = slices.DeleteFunc(g.queue, func(w *gateWaiter) bool { return w == me })
		g.broadcastLocked() // the next in line may go
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		now := time.Now()
		var until time.Time // when to look again; zero: when woken
		if g.queue[0] == me {
			slot := g.slots[g.next]
			var reuseAt time.Time // when the slot's window rule lets a new request start
			if !slot.inFlight && !slot.done.IsZero() && !now.Before(g.nextStart) {
				reuseAt = g.reuseAtLocked(slot, now)
			}
			switch {
			case now.Before(g.nextStart):
				until = g.nextStart
			case slot.inFlight:
			case now.Before(reuseAt):
				until = reuseAt
			default:
				fresh := &gateSlot{inFlight: true, sent: now}
				g.slots[g.next] = fresh
				g.next = (g.next + 1) % len(g.slots)
				// Burst 1 on a schedule: the next request may start one
				// interval after this one's slot, however late this one
				// woke, so wake-up delays do not add up; after an idle
				// interval the schedule starts again from now.
				interval := time.Duration(float64(time.Second) / g.current)
				if now.Sub(g.nextStart) >= interval {
					g.nextStart = now
				}
				g.nextStart = g.nextStart.Add(interval)
				leave()
				g.mu.Unlock()
				return fresh, nil
			}
		}
		released := g.released
		g.mu.Unlock()
		var expired <-chan time.Time
		if !until.IsZero() {
			if timer == nil {
				timer = time.NewTimer(until.Sub(now))
			} else {
				timer.Reset(until.Sub(now))
			}
			expired = timer.C
		}
		select {
		case <-ctx.Done():
			g.mu.Lock()
			leave()
			g.mu.Unlock()
			return nil, ctx.Err()
		case <-released:
		case <-expired:
		}
		g.mu.Lock()
	}
}

// reuseAtLocked is when the request max_qps after the slot's may start.
func (g *gate) reuseAtLocked(slot *gateSlot, now time.Time) time.Time {
	completion := slot.done.Add(windowLength)
	if now.Before(g.fallbackUntil) {
		return completion
	}
	minRTT := slot.rtt()
	for _, s := range g.slots {
		if !s.inFlight && !s.done.IsZero() {
			minRTT = min(minRTT, s.rtt())
		}
	}
	arrivedBy := slot.sent.Add(time.Duration(arrivalHigh * float64(slot.rtt())))
	modelled := arrivedBy.Add(windowLength - time.Duration(arrivalLow*float64(minRTT)) + schedulingMargin)
	if modelled.After(completion) {
		return completion
	}
	return modelled
}

// gateWaiter is one request's place in a gate's queue.
type gateWaiter struct{ priority int }

func (g *gate) complete(s *gateSlot) {
	g.mu.Lock()
	s.inFlight, s.done = false, time.Now()
	g.broadcastLocked()
	g.mu.Unlock()
}

func (g *gate) broadcastLocked() {
	close(g.released)
	g.released = make(chan struct{})
}

// slowDown halves the rate after a frequency-limit answer.
func (g *gate) slowDown(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.current = max(g.current/2, g.maxQPS*minRateFactor)
	g.lastChange = now
	g.fallbackUntil = now.Add(g.fallbackFor)
}

// recover raises a slowed-down rate step by step.
func (g *gate) recover(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.current >= g.maxQPS || now.Sub(g.lastChange) < g.recoverEvery {
		return
	}
	g.current = min(g.maxQPS, g.current+g.maxQPS*recoverStep)
	g.lastChange = now
}

// qps is the current ceiling in calls per second.
func (g *gate) qps() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.current
}

// maxQPSValue is the configured ceiling.
func (g *gate) maxQPSValue() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.maxQPS
}

// appGates are the gates of one app (one SDKAppID): one per upstream
// command, each at that command's own limit, and behind them an optional
// app-wide gate (max_qps_total) for the limit the upstream enforces on all
// commands together (60011). get_member_list goes first through the
// app-wide gate. They outlive reloads and the runtimes that use them, so
// no reload can open a burst.
type appGates struct {
	commands map[string]*gate // fixed at creation: every command the exporter knows

	mu    sync.Mutex
	total *gate // nil while max_qps_total is not set
	// parked keeps the app-wide gate's history while max_qps_total is
	// unset, so setting it again cannot open a burst.
	parked *gate
}

func newAppGates(commandQPS map[string]float64) *appGates {
	ag := &appGates{commands: make(map[string]*gate, len(commandQPS))}
	for command, qps := range commandQPS {
		ag.commands[command] = newGate(qps)
	}
	return ag
}

// setLimits applies a configuration's limits: per command, and app-wide
// (0: none).
func (ag *appGates) setLimits(commandQPS map[string]float64, total float64) {
	for command, qps := range commandQPS {
		ag.commands[command].setMaxQPS(qps)
	}
	ag.mu.Lock()
	defer ag.mu.Unlock()
	switch {
	case total <= 0 && ag.total != nil:
		ag.parked, ag.total = ag.total, nil
	case total > 0 && ag.total == nil && ag.parked != nil:
		ag.total, ag.parked = ag.parked, nil
		ag.total.setMaxQPS(total)
	case total > 0 && ag.total == nil:
		ag.total = newGate(total)
	case total > 0:
		ag.total.setMaxQPS(total)
	}
}

func (ag *appGates) totalGate() *gate {
	ag.mu.Lock()
	defer ag.mu.Unlock()
	return ag.total
}

// wait passes the command's gate, then the app-wide one.
func (ag *appGates) wait(ctx context.Context, command string) (done func(), err error) {
	cg, ok := ag.commands[command]
	if !ok {
		return nil, fmt.Errorf("no gate for command %q", command)
	}
	commandSlot, err := cg.acquire(ctx, 0)
	if err != nil {
		return nil, err
	}
	total := ag.totalGate()
	if total == nil {
		return func() { cg.complete(commandSlot) }, nil
	}
	totalSlot, err := total.acquire(ctx, commandPriority(command))
	if err != nil {
		cg.complete(commandSlot) // counted as a request: conservative, never opens a burst
		return nil, err
	}
	cg.markSent(commandSlot, time.Now()) // the wait for the app-wide gate is no round trip
	return func() { total.complete(totalSlot); cg.complete(commandSlot) }, nil
}

// slowDown reacts to a frequency-limit answer: 60007 slows the command
// that drew it, 60011 the whole app (its app-wide gate, or every command's
// gate when max_qps_total is not set).
func (ag *appGates) slowDown(command string, appWide bool, now time.Time) {
	if !appWide {
		if g, ok := ag.commands[command]; ok {
			g.slowDown(now)
		}
		return
	}
	if total := ag.totalGate(); total != nil {
		total.slowDown(now)
		return
	}
	for _, g := range ag.commands {
		g.slowDown(now)
	}
}

// limits reports a command's configured ceiling and the current effective
// one (the lower of its own gate and the app-wide gate).
func (ag *appGates) limits(command string) (maxQPS, current float64) {
	g, ok := ag.commands[command]
	if !ok {
		return 0, 0
	}
	g.recover(time.Now())
	maxQPS, current = g.maxQPSValue(), g.qps()
	if total := ag.totalGate(); total != nil {
		total.recover(time.Now())
		current = min(current, total.qps())
	}
	return maxQPS, current
}
