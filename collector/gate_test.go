package collector

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The gate tests run in virtual time (testing/synctest): time.Now, timers
// and sleeps inside the bubble follow a fake clock that moves only when
// every goroutine waits, so a request held 100 ms is held exactly 100 ms,
// the tests take milliseconds and their figures are exact whatever the
// load on the machine. Each gate is made inside its bubble: its channels
// and timers must belong to it.

// TestGateWindowCountsCompletions checks the completion rule, the gate's
// safety net after a frequency-limit answer: with max_qps N, a request
// starts only once the request N before it has completed at least
// windowLength ago, so no upstream second can see more than N requests,
// whatever each request's latency.
func TestGateWindowCountsCompletions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxQPS, requests = 10, 35
		g := newGate(maxQPS)
		g.slowDown(time.Now())
		g.mu.Lock()
		g.current, g.recoverEvery = maxQPS, time.Hour // the fallback alone, at full rate
		g.mu.Unlock()
		rng := rand.New(rand.NewPCG(1, 2))
		network := make([]gateNetwork, requests)
		for i := range network { // any latency, any arrival
			network[i] = gateNetwork{time.Duration(rng.IntN(80)) * time.Millisecond, rng.Float64()}
		}
		records := runGate(t, g, network)
		for k := 0; k+maxQPS < len(records); k++ {
			if gap := records[k+maxQPS].start.Sub(records[k].end); gap < windowLength {
				t.Errorf("request %d started %s after request %d ended; want >= %s", k+maxQPS, gap, k, windowLength)
			}
		}
		checkArrivals(t, records, maxQPS)
	})
}

// TestGateModelledWindow checks the default rule on the network it
// models: round trips of 100 ms whose requests arrive at the upstream
// after 40 to 60 % of it. No upstream second sees more than max_qps, and
// the rule costs what the gate's comment says: the request max_qps later
// starts 0.6 - 0.4 of the round trip, plus the scheduling margin, after
// one window, never later.
func TestGateModelledWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxQPS, requests, rtt = 10, 35, 100 * time.Millisecond
		g := newGate(maxQPS)
		rng := rand.New(rand.NewPCG(3, 4))
		network := make([]gateNetwork, requests)
		for i := range network {
			network[i] = gateNetwork{rtt, arrivalLow + (arrivalHigh-arrivalLow)*rng.Float64()}
		}
		records := runGate(t, g, network)
		checkArrivals(t, records, maxQPS)
		want := time.Duration(arrivalHigh*float64(rtt)) + windowLength - time.Duration(arrivalLow*float64(rtt)) + schedulingMargin
		for k := 0; k+maxQPS < len(records); k++ {
			if gap := records[k+maxQPS].start.Sub(records[k].start); gap != want {
				t.Errorf("request %d started %s after request %d; want %s", k+maxQPS, gap, k, want)
			}
		}
	})
}

// gateNetwork is one request's round trip and the share of it after which
// it reaches the upstream.
type gateNetwork struct {
	rtt   time.Duration
	share float64
}

// gateRecord is one request through a gate: its send, its arrival at the
// (simulated) upstream and its completion.
type gateRecord struct{ start, arrival, end time.Time }

// runGate sends len(network) requests through g at once, the i-th on
// network[i], and returns them by start time.
func runGate(t *testing.T, g *gate, network []gateNetwork) []gateRecord {
	t.Helper()
	var (
		mu      sync.Mutex
		records []gateRecord
		wg      sync.WaitGroup
	)
	for _, n := range network {
		wg.Go(func() {
			done, err := g.wait(context.Background(), 0)
			if err != nil {
				t.Error(err)
				return
			}
			start := time.Now()
			time.Sleep(n.rtt)
			end := time.Now()
			mu.Lock()
			records = append(records, gateRecord{start, start.Add(time.Duration(n.share * float64(end.Sub(start)))), end})
			mu.Unlock()
			done()
		})
	}
	wg.Wait()
	sort.Slice(records, func(i, j int) bool { return records[i].start.Before(records[j].start) })
	return records
}

// checkArrivals fails if any second of the upstream's clock holds more
// than maxQPS arrivals.
func checkArrivals(t *testing.T, records []gateRecord, maxQPS int) {
	t.Helper()
	for _, w := range records {
		n := 0
		for _, r := range records {
			if r.arrival.After(w.arrival.Add(-time.Second)) && !r.arrival.After(w.arrival) {
				n++
			}
		}
		if n > maxQPS {
			t.Errorf("%d requests reached the upstream in the second up to %s; want <= %d", n, w.arrival.Format(time.StampMicro), maxQPS)
		}
	}
}

// TestGatePacing checks the token bucket of burst 1: requests waiting at
// once start exactly one interval apart, and after an idle spell the
// schedule starts again from the next request instead of letting a burst
// through.
func TestGatePacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate(20) // one request per 50 ms; 20 slots, so no window binds here
		t0 := time.Now()
		starts := make(chan time.Duration, 8)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				done, err := g.wait(t.Context(), 0)
				if err != nil {
					t.Error(err)
					return
				}
				starts <- time.Since(t0)
				done()
			})
		}
		wg.Wait()
		time.Sleep(time.Second) // idle
		for range 2 {
			done, err := g.wait(t.Context(), 0)
			if err != nil {
				t.Fatal(err)
			}
			starts <- time.Since(t0)
			done()
		}
		close(starts)
		want := []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 1150 * time.Millisecond, 1200 * time.Millisecond}
		i := 0
		for got := range starts {
			if got != want[i] {
				t.Errorf("request %d started at t0+%s; want t0+%s", i, got, want[i])
			}
			i++
		}
	})
}

func TestGateWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate(1)
		done, err := g.wait(t.Context(), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer done()
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := g.wait(ctx, 1); err == nil {
			t.Fatalf("second request within the window and with the first in flight was let through")
		}
		if took := time.Since(start); took != 50*time.Millisecond {
			t.Errorf("cancelled wait returned after %s; want at its 50ms deadline", took)
		}
		// The waiter that left is out of the queue.
		g.mu.Lock()
		queued := len(g.queue)
		g.mu.Unlock()
		if queued != 0 {
			t.Errorf("%d waiters still queued after the cancelled wait; want 0", queued)
		}
	})
}

// TestGateIsFIFO checks that requests pass a busy gate in the order they
// arrived, so no room can lose the race for the next slot again and again.
// Both the pacing and the completion window must keep the order: with 3
// slots and requests held 200 ms, later requests wait for completions.
func TestGateIsFIFO(t *testing.T) {
	for _, tc := range []struct {
		name string
		qps  float64
		hold time.Duration
	}{
		{"pacing", 20, 0},
		{"completion window", 3, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newGate(tc.qps)
				const n = 8
				order := make(chan int, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						done, err := g.wait(t.Context(), 1)
						if err != nil {
							t.Error(err)
							return
						}
						order <- i
						time.Sleep(tc.hold)
						done()
					})
					time.Sleep(5 * time.Millisecond) // arrive in order, all within the first interval
				}
				wg.Wait()
				close(order)
				want := 0
				for got := range order {
					if got != want {
						t.Fatalf("request %d passed the gate in position %d; want arrival order", got, want)
					}
					want++
				}
			})
		})
	}
}

// TestGatePriority checks that a waiter of a lower priority number goes
// first, ahead of one that has waited longer (the app-wide gate serves
// get_member_list before the other commands).
func TestGatePriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate(5)                     // one request per 200 ms
		done, err := g.wait(t.Context(), 1) // uses the first token
		if err != nil {
			t.Fatal(err)
		}
		done()
		order := make(chan int, 2)
		var wg sync.WaitGroup
		for _, priority := range []int{1, 0} {
			wg.Go(func() {
				if d, err := g.wait(t.Context(), priority); err == nil {
					order <- priority
					d()
				}
			})
			synctest.Wait() // the first waits before the second arrives
		}
		wg.Wait()
		if first := <-order; first != 0 {
			t.Errorf("first through the gate: priority %d; want 0", first)
		}
	})
}

// TestGateReuseRule checks when the request max_qps after a completed one
// may start: by the modelled arrival rule, or after a frequency-limit
// answer by the completion rule, until fallbackFor has passed.
func TestGateReuseRule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate(10)
		t0 := time.Now()
		slot := &gateSlot{sent: t0, done: t0.Add(250 * time.Millisecond)}
		g.mu.Lock()
		for i := range g.slots {
			g.slots[i] = slot // every recent round trip took 250 ms
		}
		modelled := g.reuseAtLocked(slot, t0)
		g.mu.Unlock()
		// Arrived by 0.6 x 250 ms; the next arrives 0.4 x 250 ms after it is
		// sent; plus the scheduling margin.
		if want := t0.Add(150*time.Millisecond + windowLength - 100*time.Millisecond + schedulingMargin); !modelled.Equal(want) {
			t.Errorf("modelled rule: reuse at t0+%s; want t0+%s", modelled.Sub(t0), want.Sub(t0))
		}
		g.slowDown(t0)
		completion := slot.done.Add(windowLength)
		for _, tc := range []struct {
			at   time.Duration
			want time.Time
		}{
			{0, completion},
			{fallbackFor - time.Nanosecond, completion},
			{fallbackFor, modelled},
		} {
			g.mu.Lock()
			got := g.reuseAtLocked(slot, t0.Add(tc.at))
			g.mu.Unlock()
			if !got.Equal(tc.want) {
				t.Errorf("t0+%s after a 60007 at t0: reuse at t0+%s; want t0+%s", tc.at, got.Sub(t0), tc.want.Sub(t0))
			}
		}
	})
}

// TestGateSlowsDownAndRecovers checks the rate after frequency-limit
// answers: halved by each, never below minRateFactor of max_qps, then up
// by recoverStep of max_qps for each recoverEvery without another one.
func TestGateSlowsDownAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxQPS = 100
		g := newGate(maxQPS)
		for range 6 { // 50, 25, 12.5, 6.25, then the floor
			g.slowDown(time.Now())
		}
		if got, want := g.qps(), maxQPS*minRateFactor; got != want {
			t.Fatalf("qps after six 60007 = %v; want the floor %v", got, want)
		}
		time.Sleep(recoverEvery - time.Nanosecond)
		g.recover(time.Now())
		if got := g.qps(); got != maxQPS*minRateFactor {
			t.Errorf("qps just before recoverEvery = %v; want still %v", got, maxQPS*minRateFactor)
		}
		want := maxQPS * minRateFactor
		for step := 1; want < maxQPS; step++ {
			time.Sleep(recoverEvery)
			g.recover(time.Now())
			want = min(maxQPS, want+maxQPS*recoverStep)
			if got := g.qps(); got != want {
				t.Fatalf("qps after %d x recoverEvery = %v; want %v", step, got, want)
			}
		}
		g.slowDown(time.Now())
		if got := g.qps(); got != maxQPS/2 {
			t.Errorf("qps after a 60007 at full rate = %v; want %v", got, maxQPS/2)
		}
	})
}
