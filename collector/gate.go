package collector

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
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
)

// gate is the single door in front of every upstream request of one app
// (one SDKAppID, whose quota it guards). Two mechanisms work together:
//
//   - a token bucket (burst 1) at the current rate spaces requests evenly,
//     and is slowed down after frequency-limit answers;
//   - a log of the last floor(max_qps) requests' completion times: a request
//     may start only when the one max_qps requests before it completed at
//     least windowLength ago. The upstream has seen a request by the time it
//     completes, and sees a new one only after it starts, so no window of
//     the upstream's second ever holds more than max_qps requests, whatever
//     the network jitter or goroutine scheduling (a bucket alone at rate r
//     lets r+1 calls into some windows, and late goroutines bunch up).
//
// The price is that a window's requests take their own latency out of it:
// throughput is at most max_qps / (1 s + latency), 98 % at 20 ms.
// A gate survives reloads so the quota is kept across them.
type gate struct {
	limiter *rate.Limiter

	mu         sync.Mutex
	maxQPS     float64
	current    float64 // the bucket's rate
	lastChange time.Time
	slots      []*gateSlot // ring: the slot a new request reuses is slots[next]
	next       int
	released   chan struct{} // closed and replaced when a request completes
	// recoverEvery is how often a slowed-down rate climbs a step.
	recoverEvery time.Duration
}

// gateSlot records one request: in flight, or when it completed.
type gateSlot struct {
	inFlight bool
	done     time.Time
}

func newGate(maxQPS float64) *gate {
	g := &gate{
		limiter:      rate.NewLimiter(rate.Limit(maxQPS), 1),
		released:     make(chan struct{}),
		recoverEvery: recoverEvery,
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
	g.limiter.SetLimit(rate.Limit(maxQPS))
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
// call done once the request has completed.
func (g *gate) wait(ctx context.Context) (done func(), err error) {
	g.recover(time.Now())
	if err := g.limiter.Wait(ctx); err != nil {
		return nil, err
	}
	for {
		g.mu.Lock()
		slot := g.slots[g.next]
		now := time.Now()
		if !slot.inFlight && (slot.done.IsZero() || now.Sub(slot.done) >= windowLength) {
			fresh := &gateSlot{inFlight: true}
			g.slots[g.next] = fresh
			g.next = (g.next + 1) % len(g.slots)
			g.mu.Unlock()
			return func() { g.complete(fresh) }, nil
		}
		released := g.released
		var timer *time.Timer
		var expired <-chan time.Time
		if !slot.inFlight {
			timer = time.NewTimer(windowLength - now.Sub(slot.done))
			expired = timer.C
		}
		g.mu.Unlock()
		var err error
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-released:
		case <-expired:
		}
		if timer != nil {
			timer.Stop()
		}
		if err != nil {
			return nil, err
		}
	}
}

func (g *gate) complete(s *gateSlot) {
	g.mu.Lock()
	s.inFlight, s.done = false, time.Now()
	close(g.released)
	g.released = make(chan struct{})
	g.mu.Unlock()
}

// slowDown halves the rate after a frequency-limit answer.
func (g *gate) slowDown(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.current = max(g.current/2, g.maxQPS*minRateFactor)
	g.lastChange = now
	g.limiter.SetLimitAt(now, rate.Limit(g.current))
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
	g.limiter.SetLimitAt(now, rate.Limit(g.current))
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
