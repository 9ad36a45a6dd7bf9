package collector

import (
	"slices"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// roomStats are a room's engagement counters as served: the highest value
// each has had while the room lived on.
type roomStats struct {
	values  [numStats]int64
	at      time.Time // the last answer
	created int64     // the room's CreateTime when they were read (0: unknown)
}

// roomSeats is what get_seat_list said of a room's seats.
type roomSeats struct {
	total, taken, locked int
	accounts             []string // on a seat; few: a room has a handful of seats
	at                   time.Time
}

// applySeatsLocked stores a get_seat_list answer.
func (rt *appRuntime) applySeatsLocked(r *room, list *tencent.SeatList, now time.Time) {
	s := &roomSeats{total: len(list.Seats), at: now}
	for _, seat := range list.Seats {
		if seat.Taken() {
			s.taken++
			s.accounts = append(s.accounts, seat.Account)
		}
		if seat.Locked {
			s.locked++
		}
	}
	r.seats = s
}

// applyMembersLocked stores a get_member_list answer.
func (rt *appRuntime) applyMembersLocked(r *room, list *tencent.MemberList, now time.Time) {
	r.attempted, r.up, r.hasCount = true, true, true
	r.exists = existsYes
	r.members = list.MemberCount
	r.lastSuccess = now
}

// roomFactLocked stores what the primary command says of a room instead
// of its data: it does not exist (100004), or is not a live room. The
// room was queried successfully, so it is up; it has no member count.
func (rt *appRuntime) roomFactLocked(r *room, class answerClass) {
	r.attempted, r.up, r.hasCount = true, true, false
	r.exists = existsYes
	if class != answerRoomGone {
		return
	}
	r.exists, r.hasStats, r.stats, r.seats = existsNo, false, nil, nil // ended: counters start again if it returns
	if !r.static && r.missed > 0 {
		// A discovered room the listing no longer shows has ended.
		rt.removeRoomsLocked([]*room{r})
	}
}

// applyStatsLocked stores a get_room_stats answer. While the room lives on
// (no 100004 in between, the same CreateTime) a counter never goes down:
// a dip is the upstream's inconsistency, counted, and the highest value is
// held, so that rate() sees no reset.
func (rt *appRuntime) applyStatsLocked(r *room, st *tencent.RoomStats, now time.Time) {
	values := [numStats]int64{st.TotalViewers, st.TotalLikesReceived, st.TotalMsgCount, st.TotalGiftsSent, st.TotalGiftCoins, st.TotalUniqueGiftSenders}
	var created int64
	if r.meta != nil {
		created = r.meta.created
	}
	if old := r.stats; old != nil && (old.created == created || old.created == 0 || created == 0) {
		dipped := false
		for i := range values {
			if values[i] < old.values[i] {
				values[i], dipped = old.values[i], true
			}
		}
		if dipped {
			rt.inst.statsDips.WithLabelValues(rt.name).Inc()
			rt.logger.Debug("Room stats went down while the room lived on; the highest values are kept", "room", r.id)
		}
		created = max(created, old.created)
	}
	r.stats = &roomStats{values: values, at: now, created: created}
	r.hasStats = true
}

// maxAges are how old each source's values may get before they are no
// longer served: max_age for member counts; for the other sources, max_age
// or twice the longest interval of the enabled commands that fill them,
// whichever is longer.
func (rt *appRuntime) maxAges() (ages [numSources]time.Duration) {
	for src := range ages {
		ages[src] = rt.maxAge
		if src == sourceMembers {
			continue
		}
		for k, c := range commands {
			if rt.sched.enabled[k] && slices.Contains(c.sources, src) {
				ages[src] = max(ages[src], 2*rt.sched.interval[k])
			}
		}
	}
	if rt.webhook != nil && !roomCommandFills(rt.sched.enabled, sourceMeta) && !rt.sched.enabled[taskDiscovery] {
		// Only events set the metadata, when it changes: it is the room's
		// state until the next event, not a sample that ages.
		ages[sourceMeta] = forever / 2
	}
	return ages
}

// expireLocked stops serving room values older than their maximum age:
// a value that could not be refreshed is not shown as if it were fresh.
// The member count's room shows up 0; last_success_timestamp_seconds
// stays. It scans the rooms at most once a second, and only when a value
// may have expired.
func (rt *appRuntime) expireLocked(now time.Time) {
	if now.Before(rt.nextExpiry) {
		return
	}
	ages := rt.maxAges()
	// A value set after this scan expires no sooner than the shortest age
	// from now: the next scan is due by then at the latest.
	next := now.Add(slices.Min(ages[:]))
	for _, r := range rt.order {
		changed := false
		for src, s := range roomSources {
			read, ok := s.readAt(r)
			if !ok {
				continue
			}
			if at := read.Add(ages[src]); now.Before(at) {
				next = minTime(next, at)
			} else {
				s.drop(rt, r)
				changed = true
			}
		}
		if changed {
			rt.buildRoomMetricsLocked(r)
		}
	}
	rt.nextExpiry = maxTime(next, now.Add(time.Second))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// buildRoomMetricsLocked renders a room's state as metrics once, so
// scrapes only pass them on.
func (rt *appRuntime) buildRoomMetricsLocked(r *room) {
	renderRoom(r, rt.descs, rt.sourceOn)
}

// renderRoom stores a room's snapshots, one per source, from its state:
// the series of its families, built with d, for the sources that are on.
// The room's owner holds its lock.
func renderRoom(r *room, d *roomDescs, sourceOn [numSources]bool) {
	if !r.static && r.exists == existsNo {
		// A discovered room that ended shows nothing: rooms come and go
		// all day, and only a configured one's end is news (exists 0). It
		// stays watched until the listing drops it too, so that a stale
		// listing does not add it back again and again.
		r.snapshot.Store(nil)
		r.metaSnapshot.Store(nil)
		r.statsSnapshot.Store(nil)
		r.seatsSnapshot.Store(nil)
		return
	}
	s := newRoomSnapshot(numMemberFamilies)
	if r.hasCount && r.exists != existsNo {
		s.set(famMembers, d.members, r.labels, float64(r.members))
	}
	if r.attempted {
		s.set(famUp, d.up, r.labels, boolToFloat(r.up))
	}
	if r.exists != existsUnknown {
		s.set(famExists, d.exists, r.labels, boolToFloat(r.exists == existsYes))
	}
	if !r.lastSuccess.IsZero() {
		s.set(famLastSuccess, d.lastSuccess, r.labels, float64(r.lastSuccess.UnixNano())/1e9)
	}
	r.snapshot.Store(s)

	if m := r.meta; m != nil && m.known && r.exists != existsNo {
		s := newRoomSnapshot(numMetaFamilies)
		s.set(famInfo, roomInfoFamily, m.info, 1)
		if m.hasInfo {
			s.set(famMaxMembers, roomMaxMembersFamily, r.idLabels, float64(m.maxMembers))
			s.set(famMaxSeats, roomMaxSeatsFamily, r.idLabels, float64(m.maxSeats))
		}
		if m.created > 0 {
			s.set(famCreated, roomCreatedFamily, r.idLabels, float64(m.created))
		}
		s.set(famViews, roomViewsFamily, r.idLabels, float64(m.views))
		r.metaSnapshot.Store(s)
	} else {
		r.metaSnapshot.Store(nil)
	}

	if r.hasStats && r.exists != existsNo && sourceOn[sourceStats] {
		s := newRoomSnapshot(numStats)
		for i, v := range r.stats.values {
			s.set(i, d.stats[i], r.labels, float64(v))
		}
		r.statsSnapshot.Store(s)
	} else {
		r.statsSnapshot.Store(nil)
	}

	if seats := r.seats; seats != nil && r.exists != existsNo && sourceOn[sourceSeats] {
		s := newRoomSnapshot(numSeatFamilies)
		s.set(famSeats, d.seats[famSeats], r.labels, float64(seats.total))
		s.set(famSeatsTaken, d.seats[famSeatsTaken], r.labels, float64(seats.taken))
		s.set(famSeatsLocked, d.seats[famSeatsLocked], r.labels, float64(seats.locked))
		if r.meta != nil && r.meta.owner != "" {
			s.set(famOwnerOnSeat, d.seats[famOwnerOnSeat], r.labels, boolToFloat(slices.Contains(seats.accounts, r.meta.owner)))
		}
		r.seatsSnapshot.Store(s)
	} else {
		r.seatsSnapshot.Store(nil)
	}
}
