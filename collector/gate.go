package collector

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Pacing constants. A token bucket with burst 1 at rate r lets r+1 calls
// into some 1 s windows, and a delayed goroutine can bunch calls up; so the
// bucket runs slightly below max_qps and a sliding-window log caps every
// window at max_qps calls with a little slack for network jitter.
const (
	paceFactor   = 0.975
	windowLength = time.Second + 25*time.Millisecond
	// After a frequency-limit answer the rate halves (not below
	// minRateFactor of max_qps) and then climbs back by recoverStep of
	// max_qps every recoverEvery without another one.
	minRateFactor = 0.05
	recoverStep   = 0.1
	recoverEvery  = 2 * time.Second
)

// gate is the single door in front of every upstream request of one app
// (one SDKAppID, whose quota it guards): a token bucket for smooth pacing,
// a sliding-window log as a hard cap per second, and a slow-down after
// frequency-limit answers. It survives reloads so the quota is kept across
// them.
type gate struct {
	limiter *rate.Limiter

	mu          sync.Mutex
	maxQPS      float64
	current     float64 // the bucket's rate before paceFactor
	lastChange  time.Time
	window      []time.Time // ring of the last len(window) request times
	next        int
	rateLimited int // frequency-limit answers seen, for tests
	// recoverEvery is how often a slowed-down rate climbs a step.
	recoverEvery time.Duration
}

func newGate(maxQPS float64) *gate {
	g := &gate{limiter: rate.NewLimiter(rate.Limit(maxQPS*paceFactor), 1), recoverEvery: recoverEvery}
	g.setMaxQPS(maxQPS)
	return g
}

// setMaxQPS changes the ceiling (on reload), keeping the recent request
// log so a reload cannot open a burst.
func (g *gate) setMaxQPS(maxQPS float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if maxQPS == g.maxQPS {
		return
	}
	g.maxQPS = maxQPS
	g.current = maxQPS
	g.limiter.SetLimit(rate.Limit(maxQPS * paceFactor))
	size := max(1, int(math.Floor(maxQPS)))
	window := make([]time.Time, size)
	// Keep the newest entries of the old log.
	for i := range min(size, len(g.window)) {
		idx := (g.next - 1 - i + 2*len(g.window)) % len(g.window)
		window[size-1-i] = g.window[idx]
	}
	g.window = window
	g.next = 0
}

// wait blocks until a request may be sent, or ctx ends.
func (g *gate) wait(ctx context.Context) error {
	g.recover(time.Now())
	if err := g.limiter.Wait(ctx); err != nil {
		return err
	}
	for {
		g.mu.Lock()
		now := time.Now()
		oldest := g.window[g.next]
		if oldest.IsZero() || now.Sub(oldest) >= windowLength {
			g.window[g.next] = now
			g.next = (g.next + 1) % len(g.window)
			g.mu.Unlock()
			return nil
		}
		delay := windowLength - now.Sub(oldest)
		g.mu.Unlock()
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// slowDown halves the rate after a frequency-limit answer.
func (g *gate) slowDown(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rateLimited++
	g.current = max(g.current/2, g.maxQPS*minRateFactor)
	g.lastChange = now
	g.limiter.SetLimitAt(now, rate.Limit(g.current*paceFactor))
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
	g.limiter.SetLimitAt(now, rate.Limit(g.current*paceFactor))
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
