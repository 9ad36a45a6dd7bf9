package collector

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"
)

// TestGateWindowCountsCompletions checks the completion rule, the gate's
// safety net after a frequency-limit answer: with max_qps N, a request
// starts only once the request N before it has completed at least
// windowLength ago, so no upstream second can see more than N requests,
// whatever each request's latency.
func TestGateWindowCountsCompletions(t *testing.T) {
	const maxQPS, requests = 10, 35
	g := newGate(maxQPS)
	g.slowDown(time.Now())
	g.mu.Lock()
	g.current, g.recoverEvery = maxQPS, time.Hour // the fallback alone, at full rate
	g.mu.Unlock()
	records := runGate(t, g, requests, func() (time.Duration, float64) {
		return time.Duration(rand.IntN(80)) * time.Millisecond, rand.Float64() // any latency, any arrival
	})
	for k := 0; k+maxQPS < len(records); k++ {
		if gap := records[k+maxQPS].start.Sub(records[k].end); gap < windowLength {
			t.Errorf("request %d started %s after request %d ended; want >= %s", k+maxQPS, gap, k, windowLength)
		}
	}
	checkArrivals(t, records, maxQPS)
}

// TestGateModelledWindow checks the default rule on the network it
// models: round trips of 100 ms whose requests arrive at the upstream
// after 40 to 60 % of it. No upstream second sees more than max_qps.
func TestGateModelledWindow(t *testing.T) {
	const maxQPS, requests = 10, 35
	g := newGate(maxQPS)
	records := runGate(t, g, requests, func() (time.Duration, float64) {
		return 100 * time.Millisecond, arrivalLow + (arrivalHigh-arrivalLow)*rand.Float64()
	})
	checkArrivals(t, records, maxQPS)
}

// gateRecord is one request through a gate: its send, its arrival at the
// (simulated) upstream and its completion.
type gateRecord struct{ start, arrival, end time.Time }

// runGate sends requests through g at once; network gives each its round
// trip and the share of it after which it reaches the upstream.
func runGate(t *testing.T, g *gate, requests int, network func() (time.Duration, float64)) []gateRecord {
	t.Helper()
	var (
		mu      sync.Mutex
		records []gateRecord
		wg      sync.WaitGroup
	)
	for range requests {
		wg.Go(func() {
			done, err := g.wait(context.Background(), 0)
			if err != nil {
				t.Error(err)
				return
			}
			rtt, share := network()
			start := time.Now()
			time.Sleep(rtt)
			end := time.Now()
			mu.Lock()
			records = append(records, gateRecord{start, start.Add(time.Duration(share * float64(end.Sub(start)))), end})
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

func TestGateWaitHonoursContext(t *testing.T) {
	g := newGate(1)
	done, err := g.wait(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := g.wait(ctx, 1); err == nil {
		t.Fatalf("second request within the window and with the first in flight was let through")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("cancelled wait returned after %s", took)
	}
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
			g := newGate(tc.qps)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			const n = 8
			order := make(chan int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					done, err := g.wait(ctx, 1)
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
	}
}

// TestGateReuseRule checks when the request max_qps after a completed one
// may start: by the modelled arrival rule, or after a frequency-limit
// answer by the completion rule.
func TestGateReuseRule(t *testing.T) {
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
	g.mu.Lock()
	fallback := g.reuseAtLocked(slot, t0)
	g.mu.Unlock()
	if want := slot.done.Add(windowLength); !fallback.Equal(want) {
		t.Errorf("after 60007: reuse at t0+%s; want the completion rule, t0+%s", fallback.Sub(t0), want.Sub(t0))
	}
}
