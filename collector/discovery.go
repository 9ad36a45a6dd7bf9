package collector

import (
	"container/heap"
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
	if rt.discovery != nil {
		maxPages = rt.discovery.MaxPages
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

// applySweepLocked reconciles the discovered rooms with a sweep: rooms
// listed are watched (the max_rooms with the highest ViewCount), rooms no
// longer listed leave after sweepsMissedToExit successful sweeps; a
// truncated sweep only adds.
func (rt *appRuntime) applySweepLocked(res *sweepResult, now time.Time) {
	d := rt.discovery
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
	watched := 0 // discovered rooms watched that the listing still shows, or that are leaving
	for _, r := range rt.rooms {
		if r.discovered && !r.static {
			watched++
		}
	}
	var added []*room
	for i, s := range kept {
		listed[s.RoomID] = true
		r, ok := rt.rooms[s.RoomID]
		switch {
		case ok:
			r.missed = 0
			r.discovered = true
		case i >= d.MaxRooms || watched >= d.MaxRooms:
			continue // beyond the budget
		case !InShard(rt.key.sdkAppID, s.RoomID, rt.shardIndex, rt.shardCount):
			continue
		default:
			r = rt.addRoomLocked(s.RoomID, nil, now)
			r.discovered = true
			added = append(added, r)
			watched++
		}
		rt.setListingLocked(r, s)
		rt.buildRoomMetricsLocked(r)
	}
	rt.listed = len(kept)
	rt.skipped = max(0, len(kept)-d.MaxRooms)
	var gone []*room
	if !res.truncated {
		for _, r := range rt.rooms {
			if !r.discovered || listed[r.id] {
				continue
			}
			r.missed++
			if r.static {
				r.discovered, r.missed = false, 0 // static rooms never leave
				continue
			}
			// Gone once its members answer said so, or after two sweeps.
			if r.missed >= sweepsMissedToExit || r.exists == existsNo {
				gone = append(gone, r)
			}
		}
		rt.lastSweep = now
	}
	for _, r := range gone {
		rt.removeRoomLocked(r)
	}
	if len(added) > 0 || len(gone) > 0 {
		order := slices.DeleteFunc(slices.Clone(rt.order), func(r *room) bool { return r.removed })
		rt.setOrderLocked(append(order, added...))
	}
	if rt.skipped != rt.loggedSkipped {
		rt.logger.Info("Discovery finds more rooms than max_rooms; the rooms with the lowest ViewCount are not watched",
			"listed", len(kept), "max_rooms", d.MaxRooms, "skipped", rt.skipped)
		rt.loggedSkipped = rt.skipped
	}
}

// addRoomLocked registers a room and makes its enabled tasks due at once.
// labels are its static labels (nil for a discovered room).
func (rt *appRuntime) addRoomLocked(id string, labels map[string]string, now time.Time) *room {
	r := newRoom(id, rt.nextIndex)
	rt.nextIndex++
	r.labels, r.idLabels = rt.descs.roomLabels(rt.name, id, labels), idLabelPairs(rt.name, id)
	rt.rooms[id] = r
	for k := range r.tasks {
		if rt.enabled[k] {
			t := &r.tasks[k]
			t.due = now // due at once, yet not for scrapes that began before
			heap.Push(&rt.queues[k], t)
		}
	}
	rt.buildRoomMetricsLocked(r)
	return r
}

// removeRoomLocked drops a room: its queued tasks go, answers in flight
// for it are discarded. The caller rebuilds rt.order.
func (rt *appRuntime) removeRoomLocked(r *room) {
	r.removed = true
	delete(rt.rooms, r.id)
	for k := range r.tasks {
		t := &r.tasks[k]
		if t.heapIndex >= 0 {
			heap.Remove(&rt.queues[k], t.heapIndex)
		}
		delete(rt.inFlight, t) // still counted in inFlightN until it completes
	}
}

// setListingLocked stores what the listing says of a room.
func (rt *appRuntime) setListingLocked(r *room, s tencent.RoomSummary) {
	m := r.metaLocked()
	m.known = true
	m.name, m.owner, m.category = s.RoomName, s.Owner, joinInts(s.Category)
	m.views = s.ViewCount
	if s.CreateTime > 0 {
		m.created = s.CreateTime
	}
	rt.infoLabelsLocked(r)
}

// applyInfoLocked stores a get_room_info answer: what a listing says, and
// more.
func (rt *appRuntime) applyInfoLocked(r *room, info *tencent.RoomInfo) {
	m := r.metaLocked()
	m.hasInfo = true
	m.roomType, m.maxMembers, m.maxSeats = info.RoomType, info.MaxMemberCount, info.MaxSeatCount
	rt.setListingLocked(r, info.RoomSummary)
}

// applyStatsLocked stores a get_room_stats answer, counting counters that
// went down while the room lived on.
func (rt *appRuntime) applyStatsLocked(r *room, st *tencent.RoomStats) {
	if r.hasStats && r.stats != nil {
		old := *r.stats
		if st.TotalViewers < old.TotalViewers || st.TotalLikesReceived < old.TotalLikesReceived ||
			st.TotalMsgCount < old.TotalMsgCount || st.TotalGiftsSent < old.TotalGiftsSent ||
			st.TotalGiftCoins < old.TotalGiftCoins || st.TotalUniqueGiftSenders < old.TotalUniqueGiftSenders {
			rt.inst.statsResets.WithLabelValues(rt.name).Inc()
			rt.logger.Debug("Room stats went down while the room lived on", "room", r.id)
		}
	}
	r.stats, r.hasStats = st, true
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
