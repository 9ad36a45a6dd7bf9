package collector

import (
	"slices"
	"strings"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// webhookQuiet is how long after the last accepted event discovery keeps
// to reconcile_interval (or for reconcile_interval, if shorter); then it
// sweeps at discovery.interval again, as if there were no webhook (the
// callback URL or the network path may be broken).
const webhookQuiet = 5 * time.Minute

// quietAfterLocked is when, without another event, sweeps go back to
// discovery.interval.
func (rt *appRuntime) quietAfterLocked() time.Time {
	return rt.lastEvent.Add(min(webhookQuiet, time.Duration(rt.webhook.ReconcileInterval)))
}

// Results of ApplyEvent, as in tencent_live_webhook_requests_total.
const (
	EventOK       = "ok"        // the event changed what this exporter serves
	EventIgnored  = "ignored"   // verified and counted, about nothing this exporter watches
	EventNotOwned = "not_owned" // an app another shard owns
)

// WebhookApp is what a callback receiver needs to check an app's
// callbacks.
type WebhookApp struct {
	Name          string
	Token         string // "" only with AllowUnsigned
	AllowUnsigned bool
	// Shard owns the app; when it is not this one (Owned false), its
	// events go to that shard.
	Shard int
	Owned bool
}

// WebhookApp returns the webhook settings of the configured app with
// sdkAppID, and false when none has a webhook block. An app another shard
// owns is returned with Owned false.
func (e *Exporter) WebhookApp(sdkAppID uint64) (WebhookApp, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	route, ok := e.webhooks[sdkAppID]
	return route.app, ok
}

// ApplyEvent applies a verified callback of the app with sdkAppID and says
// what it did. It makes no upstream call and waits on no scrape: events
// are hints applied at once, and polling stays the truth that repairs
// what they missed.
func (e *Exporter) ApplyEvent(sdkAppID uint64, ev *tencent.Event, now time.Time) string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	rt := e.webhooks[sdkAppID].rt
	if rt == nil {
		return EventIgnored // reloaded away (or to another shard) since the receiver looked it up
	}
	rt.mu.Lock()
	if rt.retired { // closed since the reload that made the route
		rt.mu.Unlock()
		return EventIgnored
	}
	rt.lastEvent = now
	result := rt.applyEventLocked(ev, now)
	rt.mu.Unlock()
	rt.signal() // rooms may be due now, or the sweeps' pace changed
	return result
}

// applyEventLocked applies one event to the room registry.
func (rt *appRuntime) applyEventLocked(ev *tencent.Event, now time.Time) string {
	r := rt.rooms[ev.RoomID]
	switch ev.Command {
	case tencent.CallbackRoomCreated:
		if r != nil {
			rt.applyEventInfoLocked(r, ev, now)
			return EventOK
		}
		return rt.eventRoomCreatedLocked(ev, now)
	case tencent.CallbackRoomDestroyed:
		rt.countEndedLocked(ev)
		if r == nil {
			return EventIgnored
		}
		rt.roomFactLocked(r, answerRoomGone) // its series go; a discovered room leaves
		if !r.removed {
			rt.buildRoomMetricsLocked(r)
		}
		return EventOK
	case tencent.CallbackRoomInfoUpdated:
		if r == nil {
			return EventIgnored
		}
		rt.applyEventInfoLocked(r, ev, now)
		return EventOK
	case tencent.CallbackMemberStateChanged:
		event, cause := memberEventLabel(ev.MemberEvent), memberCauseLabel(ev.MemberCause)
		if ev.Members > 0 {
			rt.inst.memberEvents.WithLabelValues(rt.name, event, cause).Add(float64(ev.Members))
		}
		if r == nil {
			return EventIgnored
		}
		if event == "offline" && cause == "heartbeat_interrupt" && ev.Members > 0 {
			rt.inst.heartbeatInterrupts.WithLabelValues(rt.name, r.id).Add(float64(ev.Members))
		}
		return EventOK
	case tencent.CallbackSeatsChanged:
		if r == nil || !rt.sourceOn[sourceSeats] {
			return EventIgnored
		}
		rt.applySeatsLocked(r, &tencent.SeatList{Seats: ev.Seats}, now)
		rt.buildRoomMetricsLocked(r)
		return EventOK
	}
	return EventIgnored
}

// eventRoomCreatedLocked watches a room the instant it is created, when
// discovery would: it passes the filters and fits max_rooms. Its tasks are due at once; its metadata is the event's.
func (rt *appRuntime) eventRoomCreatedLocked(ev *tencent.Event, now time.Time) string {
	d := rt.disc.cfg
	if d == nil || ev.Room == nil || !d.keeps(ev.RoomID, ev.Room.Owner, ev.Room.Category) {
		return EventIgnored
	}
	watched := 0
	for _, o := range rt.order {
		if o.discovered && !o.static {
			watched++
		}
	}
	if watched >= d.MaxRooms {
		return EventIgnored // the next sweep ranks it with the others
	}
	r := rt.addRoomLocked(ev.RoomID, nil, now)
	r.discovered = true
	rt.setListingLocked(r, ev.Room.RoomSummary, now)
	rt.setOrderLocked(append(slices.Clone(rt.order), r))
	rt.buildRoomMetricsLocked(r)
	return EventOK
}

// applyEventInfoLocked stores what a created or info-updated event says
// of a watched room: only the members it carried (an update sends what
// changed).
func (rt *appRuntime) applyEventInfoLocked(r *room, ev *tencent.Event, now time.Time) {
	if ev.Room == nil {
		return
	}
	m, info, has := r.metaLocked(), ev.Room, ev.RoomFields
	m.known, m.refreshed = true, now
	if has["RoomName"] {
		m.name = info.RoomName
	}
	if has["Owner_Account"] {
		m.owner = info.Owner
	}
	if has["Category"] {
		m.category = joinInts(info.Category)
	}
	if has["CreateTime"] && info.CreateTime > 0 {
		m.created = info.CreateTime
	}
	if has["RoomType"] {
		m.roomType = info.RoomType
	}
	if has["MaxMemberCount"] {
		m.maxMembers = info.MaxMemberCount
	}
	if has["MaxSeatCount"] {
		m.maxSeats = info.MaxSeatCount
	}
	if has["MaxMemberCount"] || has["MaxSeatCount"] {
		m.hasInfo = true
	}
	rt.infoLabelsLocked(r)
	rt.buildRoomMetricsLocked(r)
}

// countEndedLocked adds an ended room's final totals to the app's
// counters of ended rooms.
func (rt *appRuntime) countEndedLocked(ev *tencent.Event) {
	cause := "other"
	switch ev.DestroyCause {
	case "DestroyByUser":
		cause = "destroy_by_user"
	case "DestroyBySystem":
		cause = "destroy_by_system"
	}
	rt.inst.endedRooms.WithLabelValues(rt.name, cause).Inc()
	if st := ev.Statistic; st != nil {
		for i, v := range [numEndedTotals]int64{st.TotalViewers, st.TotalLikesReceived, st.TotalGiftsSent, st.TotalGiftCoins, st.TotalUniqueGiftSenders} {
			if v > 0 {
				rt.inst.endedTotals[i].WithLabelValues(rt.name).Add(float64(v))
			}
		}
	}
}

// memberEventLabel and memberCauseLabel map EventType and EventCause to a
// closed set of label values.
func memberEventLabel(s string) string {
	switch strings.ToLower(s) {
	case "online":
		return "online"
	case "offline":
		return "offline"
	}
	return "other"
}

func memberCauseLabel(s string) string {
	switch s {
	case "Enter":
		return "enter"
	case "Leave":
		return "leave"
	case "HeartbeatInterrupt":
		return "heartbeat_interrupt"
	case "HeartbeatRecover":
		return "heartbeat_recover"
	case "Kicked":
		return "kicked"
	}
	return "other"
}

// discoveryIntervalLocked is the pace of sweeps at now: reconcile_interval
// while webhook events arrive, discovery.interval otherwise.
func (rt *appRuntime) discoveryIntervalLocked(now time.Time) time.Duration {
	d := rt.sched.interval[taskDiscovery]
	if rt.webhook != nil && !rt.lastEvent.IsZero() && now.Before(rt.quietAfterLocked()) {
		return max(d, time.Duration(rt.webhook.ReconcileInterval))
	}
	return d
}

// paceSweepLocked brings the next sweep forward to discovery.interval
// after the last once events stop, and says when that may next be needed.
func (rt *appRuntime) paceSweepLocked(now time.Time) time.Duration {
	if rt.webhook == nil || rt.lastEvent.IsZero() || rt.sweep.outcome != outcomeOK {
		return forever
	}
	quietAt := rt.quietAfterLocked()
	if now.Before(quietAt) {
		return quietAt.Sub(now)
	}
	if bound := rt.sweep.lastAttempt.Add(rt.sched.interval[taskDiscovery]); bound.Before(rt.sweep.due) && rt.sweep.heapIndex >= 0 {
		rt.sweep.due = maxTime(bound, now)
		rt.sched.fix(&rt.sweep)
	}
	return forever
}
