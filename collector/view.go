package collector

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// View is what one scrape exposes: the apps and rooms as they were when
// it began, with their latest data. It is a prometheus.Gatherer, which
// serves the room series without a registry's per-scrape work, and a
// prometheus.Collector serving the same series through one.
type View struct {
	apps   []appView  // sorted by name
	others []OtherApp // apps other shards own
	inst   *instruments
	arenas *arenaPool
	// ordered[k]: the rooms of all apps, in turn and each app's rooms in
	// its order for k, are strictly increasing by label set k.
	ordered [numLabelSets]bool
}

var (
	_ prometheus.TransactionalGatherer = (*View)(nil)
	_ prometheus.Collector             = (*View)(nil)
)

// The label sets of room series.
const (
	roomLabelSet = iota // app, room and the extra labels
	idLabelSet          // app and room: metadata families
	infoLabelSet        // room_info's
	numLabelSets
)

// appView is one runtime's part of a scrape: the rooms it had when the
// scrape began, in label order.
type appView struct {
	rt       *appRuntime
	name     string
	sourceOn [numSources]bool // the sources some enabled command (or the webhook) fills
	*sortedRooms
}

// sortedRooms is a runtime's room set as views take it: sorted by room
// labels, and in a second order by room_info labels, the rooms without
// any last. A scrape that finds a family's series in their label set's
// order, and knows that order sorted, need not compare them.
type sortedRooms struct {
	rooms     []roomRef
	infoOrder []int // every index of rooms
	infoGen   uint64
	// ordered[k]: in the order for k, the rooms with label set k are
	// strictly increasing by it.
	ordered [numLabelSets]bool
}

// roomRef is a room as views see it, with its label sets as they were
// when sortedRooms was made.
type roomRef struct {
	*room
	labelSets [numLabelSets][]*dto.LabelPair
}

// at is the i-th room in the order for label set k.
func (s *sortedRooms) at(k, i int) *roomRef {
	if k == infoLabelSet {
		i = s.infoOrder[i]
	}
	return &s.rooms[i]
}

// labelSets yields label set k of the rooms that have it, in the order
// for k.
func (s *sortedRooms) labelSets(k int) iter.Seq[[]*dto.LabelPair] {
	return func(yield func([]*dto.LabelPair) bool) {
		for i := range s.rooms {
			if set := s.at(k, i).labelSets[k]; set != nil && !yield(set) {
				return
			}
		}
	}
}

func (e *Exporter) view() *View {
	e.mu.RLock()
	defer e.mu.RUnlock()
	v := &View{apps: make([]appView, 0, len(e.order)), others: e.others, inst: e.inst, arenas: &e.arenas}
	for _, rt := range e.order {
		v.apps = append(v.apps, rt.view())
	}
	slices.SortFunc(v.apps, func(a, b appView) int { return strings.Compare(a.name, b.name) })
	v.checkOrder()
	return v
}

// checkOrder finds which label sets the view's rooms, app after app, are
// strictly increasing by.
func (v *View) checkOrder() {
	for k := range v.ordered {
		v.ordered[k] = v.orderedBy(k)
	}
}

func (v *View) orderedBy(k int) bool {
	var last []*dto.LabelPair // the last label set of the apps before
	for _, a := range v.apps {
		if !a.ordered[k] {
			return false
		}
		for set := range a.labelSets(k) { // the app's first
			if last != nil && compareLabels(last, set) >= 0 {
				return false
			}
			break
		}
		for i := len(a.rooms) - 1; i >= 0; i-- {
			if set := a.at(k, i).labelSets[k]; set != nil {
				last = set
				break
			}
		}
	}
	return true
}

func (rt *appRuntime) view() appView {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	switch {
	case rt.sorted == nil: // the room set changed
		rooms := make([]roomRef, len(rt.order))
		for i, r := range rt.order {
			rooms[i] = roomRef{room: r}
			rooms[i].labelSets[roomLabelSet], rooms[i].labelSets[idLabelSet] = r.labels, r.idLabels
		}
		slices.SortStableFunc(rooms, func(a, b roomRef) int {
			return compareLabels(a.labelSets[roomLabelSet], b.labelSets[roomLabelSet])
		})
		rt.sorted = &sortedRooms{rooms: rooms}
		for _, k := range []int{roomLabelSet, idLabelSet} {
			rt.sorted.ordered[k] = rt.sorted.isStrictlySorted(k)
		}
		rt.sortInfoLocked()
	case rt.sorted.infoGen != rt.infoGen: // room_info labels changed
		old := rt.sorted
		rt.sorted = &sortedRooms{rooms: slices.Clone(old.rooms), ordered: old.ordered} // views may hold old
		rt.sortInfoLocked()
	}
	return appView{rt: rt, name: rt.name, sourceOn: rt.sourceOn, sortedRooms: rt.sorted}
}

// sortInfoLocked orders rt.sorted's rooms by their current room_info
// labels. Every room is in the order, so a stale order costs a sort,
// never a series.
func (rt *appRuntime) sortInfoLocked() {
	s := rt.sorted
	s.infoOrder, s.infoGen = make([]int, len(s.rooms)), rt.infoGen
	for i := range s.rooms {
		r := &s.rooms[i]
		r.labelSets[infoLabelSet] = nil
		if r.meta != nil {
			r.labelSets[infoLabelSet] = r.meta.info
		}
		s.infoOrder[i] = i
	}
	slices.SortStableFunc(s.infoOrder, func(a, b int) int {
		x, y := s.rooms[a].labelSets[infoLabelSet], s.rooms[b].labelSets[infoLabelSet]
		if x == nil || y == nil {
			return cmp.Compare(len(y), len(x)) // rooms without last
		}
		return compareLabels(x, y)
	})
	s.ordered[infoLabelSet] = s.isStrictlySorted(infoLabelSet)
}

func (s *sortedRooms) isStrictlySorted(k int) bool {
	var last []*dto.LabelPair
	for set := range s.labelSets(k) {
		if last != nil && compareLabels(last, set) >= 0 {
			return false
		}
		last = set
	}
	return true
}

// setOrderLocked replaces the room set.
func (rt *appRuntime) setOrderLocked(order []*room) {
	rt.order, rt.sorted = order, nil
}

// Describe implements prometheus.Collector. It sends nothing: room
// descriptors change with the configuration, so a View is an unchecked
// collector.
func (v *View) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector: it passes on the series built
// when rooms were refreshed, without calling upstream. A registry then
// checks and sorts them again; Gather serves the same series without
// that work.
func (v *View) Collect(ch chan<- prometheus.Metric) {
	// An arena of its own: the registry's messages point into it.
	families, _ := v.roomFamilies(&seriesArena{}) // duplicates are left out either way
	for _, f := range families {
		for _, m := range f.metrics {
			ch <- sharedMetric{desc: f.family.desc, metric: m}
		}
	}
	v.collectApps(ch)
}

// Gather implements prometheus.TransactionalGatherer. The app-level
// families and the instruments go through a registry; the room families,
// nearly all of a scrape, are copied into an arena in exposition order and
// served from there: the work per series is the copy of its labels and
// value, plus a comparison of label values only in a family whose order
// the view does not know (see roomFamilies). done returns the arena for
// the next scrape; the families must not be used after it.
//
// What a registry would check holds by construction: label names are
// fixed, label values come from YAML and JSON and so are valid UTF-8,
// rooms are unique within an app and apps within a view. Duplicates are
// still detected, as a sorted family finds them next to each other.
func (v *View) Gather() (_ []*dto.MetricFamily, done func(), _ error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(appCollector{v})
	mfs, err := reg.Gather()
	arena := v.arenas.get()
	families, roomErr := v.roomFamilies(arena)
	for _, f := range families {
		typ := f.family.typ
		mfs = append(mfs, &dto.MetricFamily{Name: &f.family.name, Help: &f.family.help, Type: &typ, Metric: f.metrics})
	}
	slices.SortFunc(mfs, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return mfs, func() { v.arenas.put(arena) }, errors.Join(err, roomErr)
}

// appCollector collects a view's app-level families and instruments.
type appCollector struct{ v *View }

func (c appCollector) Describe(chan<- *prometheus.Desc)    {}
func (c appCollector) Collect(ch chan<- prometheus.Metric) { c.v.collectApps(ch) }

func (v *View) collectApps(ch chan<- prometheus.Metric) {
	for _, a := range v.apps {
		a.collect(ch)
	}
	for _, o := range v.others {
		ch <- prometheus.MustNewConstMetric(appOwnedDesc, prometheus.GaugeValue, 0, o.Name)
	}
	v.inst.collect(ch)
}

// The sources of a room's series: its snapshots, by what fills them.
const (
	sourceMembers = iota // get_member_list
	sourceMeta           // get_room_list and get_room_info
	sourceStats          // get_room_stats
	sourceSeats          // get_seat_list
	numSources
)

// roomSources are the snapshots of a room, with the label set of each of
// their families, indexed by source; and the data behind them: when it
// was read (false: none is served) and how to drop it, once it is older
// than its maximum age or no enabled command fills it any more.
var roomSources = [numSources]struct {
	load      func(*room) *roomSnapshot
	labelSets []int
	readAt    func(*room) (time.Time, bool)
	drop      func(*appRuntime, *room)
}{
	sourceMembers: {
		func(r *room) *roomSnapshot { return r.snapshot.Load() },
		[]int{famMembers: roomLabelSet, famUp: roomLabelSet, famExists: roomLabelSet, famLastSuccess: roomLabelSet},
		func(r *room) (time.Time, bool) { return r.lastSuccess, r.hasCount },
		// The room cannot be refreshed: down, no count, the timestamp stays.
		func(_ *appRuntime, r *room) { r.hasCount, r.attempted, r.up = false, true, false },
	},
	sourceMeta: {
		func(r *room) *roomSnapshot { return r.metaSnapshot.Load() },
		[]int{famInfo: infoLabelSet, famMaxMembers: idLabelSet, famMaxSeats: idLabelSet, famCreated: idLabelSet, famViews: idLabelSet},
		func(r *room) (time.Time, bool) {
			if r.meta == nil || !r.meta.known {
				return time.Time{}, false
			}
			return r.meta.refreshed, true
		},
		func(rt *appRuntime, r *room) {
			if r.meta != nil {
				r.meta = nil
				rt.infoGen++ // views sort room_info again
			}
		},
	},
	sourceStats: {
		func(r *room) *roomSnapshot { return r.statsSnapshot.Load() },
		slices.Repeat([]int{roomLabelSet}, numStats),
		func(r *room) (time.Time, bool) {
			if !r.hasStats {
				return time.Time{}, false
			}
			return r.stats.at, true
		},
		func(_ *appRuntime, r *room) { r.hasStats = false }, // the highest values stay: a dip is not a reset
	},
	sourceSeats: {
		func(r *room) *roomSnapshot { return r.seatsSnapshot.Load() },
		slices.Repeat([]int{roomLabelSet}, numSeatFamilies),
		func(r *room) (time.Time, bool) {
			if r.seats == nil {
				return time.Time{}, false
			}
			return r.seats.at, true
		},
		func(_ *appRuntime, r *room) { r.seats = nil },
	},
}

// sourceEnabled reports whether a command enabled in an app fills source
// src: an app with none has no such snapshot.
func sourceEnabled(enabled [numTaskKinds]bool, src int) bool {
	for k, c := range commands {
		if enabled[k] && slices.Contains(c.sources, src) {
			return true
		}
	}
	return false
}

// familySeries is one room family of a scrape, its series in exposition
// order.
type familySeries struct {
	family  *roomFamily
	metrics []*dto.Metric
	inOrder bool // every series carries its room's label set, as the view took it
}

// roomFamilies copies the view's room series into arena, family by
// family, each sorted by label values as a registry sorts them, without
// duplicates. It reads each source's families in the order of their label
// set: a family whose series all carry the label set the view took, when
// the view knows that order strictly sorted, is served as read. Others
// are checked, and sorted if need be.
func (v *View) roomFamilies(arena *seriesArena) ([]familySeries, error) {
	rooms := 0
	for _, a := range v.apps {
		rooms += len(a.rooms)
	}
	var out []familySeries
	var errs []error
	first := 0 // the arena index of the source's first family
	for srcIndex, src := range roomSources {
		families := make([]familySeries, len(src.labelSets))
		lists := make([]*arenaFamily, len(src.labelSets)) // each reset at its first series
		for k := range numLabelSets {
			if !slices.Contains(src.labelSets, k) {
				continue
			}
			for _, a := range v.apps {
				if !a.sourceOn[srcIndex] {
					continue // no room of the app has this source: do not read them all to find out
				}
				for i := range a.rooms {
					r := a.at(k, i)
					s := src.load(r.room)
					if s == nil {
						continue
					}
					for fam, set := range src.labelSets {
						series := &s.series[fam]
						if set != k || series.family == nil {
							continue
						}
						f := &families[fam]
						if lists[fam] == nil {
							f.family, f.inOrder = series.family, true
							lists[fam] = arena.family(first+fam, rooms, series.family.typ)
						}
						f.inOrder = f.inOrder && sameLabels(series.labels, r.labelSets[k])
						lists[fam].add(series)
					}
				}
			}
		}
		for fam, f := range families {
			if lists[fam] == nil {
				continue
			}
			f.metrics = lists[fam].metrics
			if !f.inOrder || !v.ordered[src.labelSets[fam]] {
				var err error
				if f.metrics, err = sortSeries(f.family.name, f.metrics); err != nil {
					errs = append(errs, err)
				}
			}
			out = append(out, f)
		}
		first += len(src.labelSets)
	}
	return out, errors.Join(errs...)
}

// sameLabels reports whether a and b are the same label pairs: the same
// slice, not merely equal ones.
func sameLabels(a, b []*dto.LabelPair) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// sortSeries sorts a family's series by label values unless they already
// are, and drops duplicates, which it reports.
func sortSeries(name string, metrics []*dto.Metric) ([]*dto.Metric, error) {
	for i := 1; i < len(metrics); i++ {
		if compareLabels(metrics[i-1].Label, metrics[i].Label) >= 0 {
			slices.SortStableFunc(metrics, func(a, b *dto.Metric) int { return compareLabels(a.Label, b.Label) })
			break
		}
	}
	var err error
	metrics = slices.CompactFunc(metrics, func(a, b *dto.Metric) bool {
		if compareLabels(a.Label, b.Label) != 0 {
			return false
		}
		if err == nil {
			err = fmt.Errorf("series %s%s collected twice; the second is left out", name, formatLabels(b.Label))
		}
		return true
	})
	return metrics, err
}

// compareLabels orders label sets, each sorted by name, as registries do:
// by their number, then by their values in turn.
func compareLabels(a, b []*dto.LabelPair) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	for i := range a {
		if c := strings.Compare(a[i].GetValue(), b[i].GetValue()); c != 0 {
			return c
		}
	}
	return 0
}

func formatLabels(labels []*dto.LabelPair) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", l.GetName(), l.GetValue())
	}
	b.WriteByte('}')
	return b.String()
}

// sharedMetric passes a snapshot's message to a registry, sharing its
// parts as const metrics do.
type sharedMetric struct {
	desc   *prometheus.Desc
	metric *dto.Metric
}

func (m sharedMetric) Desc() *prometheus.Desc { return m.desc }

func (m sharedMetric) Write(out *dto.Metric) error {
	out.Label, out.Gauge, out.Counter = m.metric.Label, m.metric.Gauge, m.metric.Counter
	return nil
}

// collect sends the app-level gauges of the view.
func (v appView) collect(ch chan<- prometheus.Metric) {
	rt := v.rt
	rt.mu.Lock()
	name, up := rt.name, rt.health.up
	discovery, listed, skipped, lastSweep := rt.disc.cfg != nil, rt.disc.listed, rt.disc.skipped, rt.disc.lastSweep
	enabled := rt.sched.enabled
	lastEvent := rt.lastEvent
	if rt.webhook == nil {
		lastEvent = time.Time{}
	}
	var commandUp [numTaskKinds]bool
	for k := range commandUp {
		commandUp[k] = rt.health.commandUp(taskKind(k))
	}
	rt.mu.Unlock()
	if discovery {
		ch <- prometheus.MustNewConstMetric(discoveryRoomsDesc, prometheus.GaugeValue, float64(listed), name)
		ch <- prometheus.MustNewConstMetric(discoverySkippedDesc, prometheus.GaugeValue, float64(skipped), name)
		if !lastSweep.IsZero() {
			ch <- prometheus.MustNewConstMetric(discoveryLastSuccessDesc, prometheus.GaugeValue, float64(lastSweep.UnixNano())/1e9, name)
		}
	}
	if !lastEvent.IsZero() {
		ch <- prometheus.MustNewConstMetric(webhookLastAcceptedDesc, prometheus.GaugeValue, float64(lastEvent.UnixNano())/1e9, name)
	}
	ch <- prometheus.MustNewConstMetric(appUpDesc, prometheus.GaugeValue, boolToFloat(up), name)
	ch <- prometheus.MustNewConstMetric(appOwnedDesc, prometheus.GaugeValue, 1, name)
	for k, c := range commands {
		if !enabled[k] {
			continue
		}
		maxQPS, current := rt.gates.limits(c.name)
		ch <- prometheus.MustNewConstMetric(appMaxQPSDesc, prometheus.GaugeValue, maxQPS, name, c.name)
		ch <- prometheus.MustNewConstMetric(appLimiterQPSDesc, prometheus.GaugeValue, current, name, c.name)
		ch <- prometheus.MustNewConstMetric(commandUpDesc, prometheus.GaugeValue, boolToFloat(commandUp[k]), name, c.name)
	}
	ch <- prometheus.MustNewConstMetric(appRoomsDesc, prometheus.GaugeValue, float64(len(v.rooms)), name)
}
