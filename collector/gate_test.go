package collector

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"
)

// TestGateWindowCountsCompletions checks the gate's invariant directly:
// with max_qps N, a request starts only once the request N before it has
// completed at least windowLength ago, so no upstream second can see more
// than N requests, whatever each request's latency.
func TestGateWindowCountsCompletions(t *testing.T) {
	const maxQPS, requests = 10, 35
	g := newGate(maxQPS)
	type record struct{ start, end time.Time }
	var (
		mu      sync.Mutex
		records []record
		wg      sync.WaitGroup
	)
	for range requests {
		wg.Go(func() {
			done, err := g.wait(context.Background(), false)
			if err != nil {
				t.Error(err)
				return
			}
			start := time.Now()
			time.Sleep(time.Duration(rand.IntN(80)) * time.Millisecond) // upstream latency
			end := time.Now()
			mu.Lock()
			records = append(records, record{start, end})
			mu.Unlock()
			done()
		})
	}
	wg.Wait()
	sort.Slice(records, func(i, j int) bool { return records[i].start.Before(records[j].start) })
	for k := 0; k+maxQPS < len(records); k++ {
		if gap := records[k+maxQPS].start.Sub(records[k].end); gap < windowLength {
			t.Errorf("request %d started %s after request %d ended; want >= %s", k+maxQPS, gap, k, windowLength)
		}
	}
	// And no 1 s window, even one that counts a request from its start to
	// its end, holds more than maxQPS requests.
	for _, w := range records {
		n := 0
		for _, r := range records {
			if r.end.After(w.start.Add(-time.Second)) && !r.start.After(w.start) {
				n++
			}
		}
		if n > maxQPS {
			t.Errorf("%d requests could reach the upstream in the second up to %s; want <= %d", n, w.start.Format(time.StampMicro), maxQPS)
		}
	}
}

func TestGateWaitHonoursContext(t *testing.T) {
	g := newGate(1)
	done, err := g.wait(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := g.wait(ctx, false); err == nil {
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
					done, err := g.wait(ctx, false)
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
