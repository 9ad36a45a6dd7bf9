package collector

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// A discovered room is dropped after missing from this many successful
// sweeps in a row (or at its first 100004 once missing from one).
const sweepsMissedToExit = 2

// sweepResult is what one get_room_list sweep read.
type sweepResult struct {
	rooms     []tencent.RoomSummary // de-duplicated, in listing order (ViewCount descending)
	pages     int
	truncated bool // max_pages reached with a Next still to follow
}

// runSweep pages through the app's listing. It runs without the lock: the
// requests pass the get_room_list gate like any other.
func (rt *appRuntime) runSweep(ctx context.Context, client *tencent.Client) (*sweepResult, error) {
	rt.mu.Lock()
	maxPages := DefaultDiscoveryMaxPages
	if rt.disc.cfg != nil {
		maxPages = rt.disc.cfg.MaxPages
	}
	rt.mu.Unlock()
	res := &sweepResult{}
	seen := map[string]bool{}
	next := ""
	for {
		if res.pages == maxPages {
			res.truncated = true
			return res, nil
		}
		page, err := client.GetRoomList(ctx, next, tencent.RoomListMaxCount)
		if err != nil {
			return nil, err
		}
		res.pages++
		for _, r := range page.Rooms {
			// Rooms move between pages as their view counts change.
			if !seen[r.RoomID] {
				seen[r.RoomID] = true
				res.rooms = append(res.rooms, r)
			}
		}
		if page.Next == "" {
			return res, nil
		}
		next = page.Next
	}
}

// rankHysteresis is the edge a watched discovered room has over a
// newcomer when max_rooms forces a choice: a newcomer takes its place only
// with a ViewCount more than 10% higher, so that two rooms with about the
// same audience do not swap at every sweep.
const rankHysteresis = 0.10

// applySweepLocked reconciles the discovered rooms with a sweep: the
// max_rooms rooms with the highest ViewCount are watched, rooms no longer
// listed leave after sweepsMissedToExit complete sweeps. A truncated sweep
// only adds what it read, and lowers nothing a complete sweep measured.
func (rt *appRuntime) applySweepLocked(res *sweepResult, now time.Time) {
	d := rt.disc.cfg
	if d == nil {
		return // discovery was turned off while the sweep ran
	}
	result := sweepOK
	if res.truncated {
		result = sweepTruncated
	}
	rt.inst.sweeps.WithLabelValues(rt.name, result).Inc()

	var kept []tencent.RoomSummary
	for _, s := range res.rooms {
		if d.keeps(s.RoomID, s.Owner, s.Category) {
			kept = append(kept, s)
		}
	}
	listed := make(map[string]bool, len(kept))
	for _, s := range kept {
		listed[s.RoomID] = true
		if r, ok := rt.rooms[s.RoomID]; ok {
			r.missed, r.discovered = 0, true
			rt.setListingLocked(r, s, now)
			rt.buildRoomMetricsLocked(r)
		}
	}
	var gone []*room
	if !res.truncated {
		for _, r := range rt.order {
			if !r.discovered || listed[r.id] {
				continue
			}
			r.missed++
			if r.static {
				// A configured room stays, but what the listing said of it
				// goes unless get_room_info keeps it fresh.
				r.discovered, r.missed = false, 0
				if !roomCommandFills(rt.sched.enabled, sourceMeta) && rt.webhook == nil && r.meta != nil {
					r.meta = nil
					rt.infoGen++
					rt.buildRoomMetricsLocked(r)
				}
				continue
			}
			// Gone once its members answer said so, or after two sweeps.
			if r.missed >= sweepsMissedToExit || r.exists == existsNo {
				gone = append(gone, r)
			}
		}
		rt.disc.lastSweep = now
	}
	rt.removeRoomsLocked(gone)
	candidates := 0
	for _, s := range kept {
		if r, ok := rt.rooms[s.RoomID]; !ok || !r.static {
			candidates++
		}
	}
	if res.truncated {
		rt.disc.listed, rt.disc.candidates = max(rt.disc.listed, len(kept)), max(rt.disc.candidates, candidates)
	} else {
		rt.disc.listed, rt.disc.candidates = len(kept), candidates
	}
	rt.rankLocked(kept, rt.disc.candidates, res.truncated, now)
}

// rankLocked watches the max_rooms discovered rooms with the highest
// ViewCount: those read, in read, and the discovered rooms watched that
// read does not show, at their last ViewCount. Rooms beyond max_rooms stop
// being watched (their series go). Configured rooms are always watched and
// do not count. candidates are the rooms of read that are not configured.
func (rt *appRuntime) rankLocked(read []tencent.RoomSummary, candidates int, truncated bool, now time.Time) {
	d := rt.disc.cfg
	type candidate struct {
		summary *tencent.RoomSummary // nil: a watched room read does not show
		room    *room                // nil: not watched
		score   float64
	}
	var ranked []candidate
	seen := make(map[string]bool, len(read))
	for i := range read {
		s := &read[i]
		seen[s.RoomID] = true
		c := candidate{summary: s, score: float64(s.ViewCount)}
		if r, ok := rt.rooms[s.RoomID]; ok {
			if r.static {
				continue
			}
			c.room, c.score = r, c.score*(1+rankHysteresis)
		}
		ranked = append(ranked, c)
	}
	for _, r := range rt.order {
		if r.static || !r.discovered || seen[r.id] {
			continue
		}
		var views int64
		if r.meta != nil {
			views = r.meta.views
		}
		ranked = append(ranked, candidate{room: r, score: float64(views) * (1 + rankHysteresis)})
	}
	slices.SortStableFunc(ranked, func(a, b candidate) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(boolToFloat(b.room != nil), boolToFloat(a.room != nil)) // watched first
	})
	var added, dropped []*room
	for i, c := range ranked {
		switch {
		case i < d.MaxRooms && c.room == nil:
			r := rt.addRoomLocked(c.summary.RoomID, nil, now)
			r.discovered = true
			rt.setListingLocked(r, *c.summary, now)
			rt.buildRoomMetricsLocked(r)
			added = append(added, r)
		case i >= d.MaxRooms && c.room != nil:
			dropped = append(dropped, c.room)
		}
	}
	rt.removeRoomsLocked(dropped)
	if len(added) > 0 {
		rt.setOrderLocked(append(slices.Clone(rt.order), added...))
	}
	skipped := max(0, candidates-d.MaxRooms)
	if truncated {
		skipped = max(rt.disc.skipped, skipped)
	}
	rt.disc.skipped = skipped
	if rt.disc.skipped != rt.disc.loggedSkipped {
		rt.logger.Info("Discovery finds more rooms than max_rooms; the rooms with the lowest ViewCount are not watched",
			"listed", rt.disc.listed, "max_rooms", d.MaxRooms, "skipped", rt.disc.skipped)
		rt.disc.loggedSkipped = rt.disc.skipped
	}
}

// addRoomLocked registers a room and makes its enabled tasks due at once.
// labels are its static labels (nil for a discovered room). The caller
// adds it to rt.order.
func (rt *appRuntime) addRoomLocked(id string, labels map[string]string, now time.Time) *room {
	r := newRoom(id, rt.nextIndex)
	rt.nextIndex++
	r.labels, r.idLabels = rt.descs.roomLabels(rt.name, id, labels), idLabelPairs(rt.name, id)
	rt.rooms[id] = r
	for k := range r.tasks {
		if rt.sched.enabled[k] {
			t := &r.tasks[k]
			t.due = now // due at once, yet not for scrapes that began before
			rt.sched.push(t)
		}
	}
	rt.buildRoomMetricsLocked(r)
	return r
}

// removeRoomsLocked drops rooms: their queued tasks go, answers in flight
// for them are discarded, and rt.order no longer has them.
func (rt *appRuntime) removeRoomsLocked(rooms []*room) {
	if len(rooms) == 0 {
		return
	}
	for _, r := range rooms {
		rt.removeRoomLocked(r)
	}
	rt.setOrderLocked(slices.DeleteFunc(slices.Clone(rt.order), func(r *room) bool { return r.removed }))
}

// removeRoomLocked drops a room: its queued tasks go, answers in flight
// for it are discarded. The caller rebuilds rt.order.
func (rt *appRuntime) removeRoomLocked(r *room) {
	r.removed = true
	delete(rt.rooms, r.id)
	rt.inst.heartbeatInterrupts.DeleteLabelValues(rt.name, r.id)
	for k := range r.tasks {
		rt.sched.remove(&r.tasks[k])
	}
}

// setListingLocked stores what the listing says of a room.
func (rt *appRuntime) setListingLocked(r *room, s tencent.RoomSummary, now time.Time) {
	m := r.metaLocked()
	m.known, m.refreshed = true, now
	m.name, m.owner, m.category = s.RoomName, s.Owner, joinInts(s.Category)
	m.views = s.ViewCount
	if s.CreateTime > 0 {
		m.created = s.CreateTime
	}
	rt.infoLabelsLocked(r)
}

// applyInfoLocked stores a get_room_info answer: what a listing says, and
// more.
func (rt *appRuntime) applyInfoLocked(r *room, info *tencent.RoomInfo, now time.Time) {
	m := r.metaLocked()
	m.hasInfo = true
	m.roomType, m.maxMembers, m.maxSeats = info.RoomType, info.MaxMemberCount, info.MaxSeatCount
	rt.setListingLocked(r, info.RoomSummary, now)
}

// infoLabelsLocked rebuilds a room's room_info labels when they change.
func (rt *appRuntime) infoLabelsLocked(r *room) {
	m := r.metaLocked()
	values := map[string]string{appLabel: rt.name, roomLabel: r.id, "name": m.name, "owner": m.owner, "category": m.category, "type": m.roomType}
	changed := m.info == nil
	for _, p := range m.info {
		changed = changed || p.GetValue() != values[p.GetName()]
	}
	if !changed {
		return
	}
	rt.infoGen++ // views sort room_info again
	pairs := make([]dto.LabelPair, len(sortedInfoLabelNames))
	m.info = make([]*dto.LabelPair, len(sortedInfoLabelNames))
	for i := range sortedInfoLabelNames {
		pairs[i].Name, pairs[i].Value = &sortedInfoLabelNames[i], proto.String(values[sortedInfoLabelNames[i]])
		m.info[i] = &pairs[i]
	}
}

// sortedInfoLabelNames are room_info's label names in exposition order.
var sortedInfoLabelNames = slices.Sorted(slices.Values(infoLabelNames))

// metaLocked is the room's metadata, made on first use.
func (r *room) metaLocked() *roomMeta {
	if r.meta == nil {
		r.meta = &roomMeta{}
	}
	return r.meta
}

// idLabelPairs are the app and room labels of the metadata families.
func idLabelPairs(app, id string) []*dto.LabelPair {
	pairs := []dto.LabelPair{{Name: proto.String(appLabel), Value: proto.String(app)}, {Name: proto.String(roomLabel), Value: proto.String(id)}}
	return []*dto.LabelPair{&pairs[0], &pairs[1]}
}

func joinInts(v []int) string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}
