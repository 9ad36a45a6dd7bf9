package collector

import (
	"sync"

	dto "github.com/prometheus/client_model/go"
)

// seriesArena is where a scrape copies the room series it serves, family
// by family, in exposition order: the encoder then reads each family from
// one block of memory, in order, instead of chasing snapshots allocated
// one by one as refreshes came in (which took 1.3-1.7 times as long over
// HTTP). Arenas are reused from scrape to scrape; the messages in a slot
// point into the slot, so its parts are set once, when the slot is made,
// and a scrape writes only labels and values.
type seriesArena struct {
	families [numRoomFamilies]arenaFamily
}

// Every room family, in the order of roomSources: the arena's index.
const numRoomFamilies = numMemberFamilies + numMetaFamilies + numStats + numSeatFamilies

// arenaFamily is one family's slots and the list of their messages.
type arenaFamily struct {
	slots    []arenaSlot
	counters []dto.Counter // a counter family's values, next to its slots
	metrics  []*dto.Metric
}

type arenaSlot struct {
	metric dto.Metric
	value  float64
	gauge  dto.Gauge
}

// family returns family g's list, reset and able to hold n series.
func (a *seriesArena) family(g, n int, typ dto.MetricType) *arenaFamily {
	f := &a.families[g]
	if len(f.slots) < n || len(f.slots) > 4*n+1024 { // too small, or far too big since rooms left
		n += n / 8 // rooms come and go: room to grow
		f.slots, f.metrics = make([]arenaSlot, n), make([]*dto.Metric, 0, n)
		if typ == counter {
			f.counters = make([]dto.Counter, n)
		}
		for i := range f.slots {
			slot := &f.slots[i]
			if typ == counter {
				f.counters[i].Value = &slot.value
				slot.metric.Counter = &f.counters[i]
			} else {
				slot.gauge.Value = &slot.value
				slot.metric.Gauge = &slot.gauge
			}
		}
	}
	f.metrics = f.metrics[:0]
	return f
}

// add appends a copy of s.
func (f *arenaFamily) add(s *roomSeries) {
	slot := &f.slots[len(f.metrics)]
	slot.metric.Label, slot.value = s.labels, s.value
	f.metrics = append(f.metrics, &slot.metric)
}

// arenaPool keeps the arena of a finished scrape for the next one. It
// keeps one: scrapes seldom overlap, and an arena of 150 000 series is
// some 30 MB; the arenas of overlapping scrapes are left to the GC.
// (A sync.Pool keeps one per processor, and more until the GC runs.)
type arenaPool struct {
	mu   sync.Mutex
	idle *seriesArena
}

func (p *arenaPool) get() *seriesArena {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.idle
	p.idle = nil
	if a == nil {
		a = &seriesArena{}
	}
	return a
}

func (p *arenaPool) put(a *seriesArena) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle = a
}
