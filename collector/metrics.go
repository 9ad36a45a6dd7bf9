package collector

import (
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// namespace prefixes every metric of the exporter.
const namespace = "tencent_live"

// Label names.
const (
	appLabel     = "app"
	roomLabel    = "room"
	codeLabel    = "code"
	commandLabel = "command"
)

// App-level descriptors; room-level ones depend on the configured room
// labels and live in roomDescs.
var (
	appUpDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "app", "up"),
		"Whether the app's get_member_list requests are accepted and answered: 0 while they draw auth or configuration errors (wrong key, region, identifier, arrears...) or no answer at all (network outage, timeouts, HTTP errors, three in a row). Other commands' failures show in tencent_live_command_up.",
		[]string{appLabel}, nil)
	commandUpDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "command", "up"),
		"Whether an enabled upstream command is accepted for the app: 0 while its calls draw auth, permission or configuration errors (e.g. 60010 for a feature the plan lacks); it then backs off on its own. For get_member_list, the same as tencent_live_app_up.",
		[]string{appLabel, commandLabel}, nil)
	appMaxQPSDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "app", "max_qps"),
		"Configured ceiling of calls per second of one upstream command for the app, this exporter's share (max_qps for get_member_list, divided among shards).",
		[]string{appLabel, commandLabel}, nil)
	appLimiterQPSDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "app", "limiter_qps"),
		"Current ceiling of calls per second of one upstream command; below max_qps for a while after frequency-limit answers (60007 for the command, 60011 for the whole app).",
		[]string{appLabel, commandLabel}, nil)
	appRoomsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "app", "rooms"),
		"Number of rooms watched for the app by this exporter (its shard).",
		[]string{appLabel}, nil)
	discoveryRoomsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "discovery", "rooms"),
		"Rooms the last successful get_room_list sweep listed that pass the discovery filters, before the max_rooms cap (the same on every shard).",
		[]string{appLabel}, nil)
	discoverySkippedDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "discovery", "rooms_skipped"),
		"Rooms that pass the discovery filters but are not watched because of max_rooms (the lowest ViewCount first).",
		[]string{appLabel}, nil)
	webhookLastAcceptedDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "webhook", "last_accepted_timestamp_seconds"),
		"Unix time at which the app's last verified webhook callback was accepted; absent until the first.",
		[]string{appLabel}, nil)
	discoveryLastSuccessDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "discovery", "last_success_timestamp_seconds"),
		"Unix time at which the last successful get_room_list sweep ended.",
		[]string{appLabel}, nil)
)

// Room metadata families carry only app and room (and room_info its
// attributes): a room's title or owner must not split its measured series.
var (
	idLabelNames   = []string{appLabel, roomLabel}
	infoLabelNames = []string{appLabel, roomLabel, "name", "owner", "category", "type"}

	roomInfoFamily = newRoomFamily("info", gauge,
		"Room metadata, value 1: name and owner from get_room_list or get_room_info, category (its ints joined with ,), type (empty until get_room_info has answered). Join on app and room.",
		infoLabelNames)
	roomMaxMembersFamily = newRoomFamily("max_members", gauge,
		"Maximum number of members of the room (MaxMemberCount from get_room_info).",
		idLabelNames)
	roomMaxSeatsFamily = newRoomFamily("max_seats", gauge,
		"Maximum number of seats of the room (MaxSeatCount from get_room_info).",
		idLabelNames)
	roomCreatedFamily = newRoomFamily("created_timestamp_seconds", gauge,
		"Unix time at which the room was created (CreateTime).",
		idLabelNames)
	roomViewsFamily = newRoomFamily("views", gauge,
		"The room's ViewCount from the latest get_room_list or get_room_info answer; the upstream documents it as the room's view count, which orders the listing, and does not define it further.",
		idLabelNames)
)

// otherCode is the code label of any failure outside the closed set.
const otherCode = "other"

// metricCode maps an error code from tencent.ErrorCode to the code label
// of tencent_live_scrape_errors_total, from a closed set: documented
// upstream codes, the client's transport codes, common HTTP statuses, and
// otherCode for anything else, so a misbehaving upstream cannot create
// series without bound.
func metricCode(code string) string {
	if n, err := strconv.Atoi(code); err == nil {
		if tencent.IsDocumentedCode(n) {
			return code
		}
		return otherCode
	}
	if tencent.IsTransportCode(code) || tencent.IsCommonHTTPCode(code) {
		return code
	}
	return otherCode
}

// DurationBuckets are the classic buckets of the API latency histogram.
var DurationBuckets = []float64{.01, .025, .05, .1, .2, .35, .5, .75, 1, 2, 3, 5}

// instruments are the long-lived metrics of an Exporter; they survive
// reloads.
type instruments struct {
	errors    *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	deferred  *prometheus.CounterVec
	sweeps    *prometheus.CounterVec
	statsDips *prometheus.CounterVec
	// What webhook events tell (see events.go).
	endedRooms          *prometheus.CounterVec
	endedTotals         [numEndedTotals]*prometheus.CounterVec
	memberEvents        *prometheus.CounterVec
	heartbeatInterrupts *prometheus.CounterVec
}

// vec is a metric vector with app-labelled series.
type vec interface {
	prometheus.Collector
	DeletePartialMatch(prometheus.Labels) int
}

// vecs are every vector of the instruments.
func (in *instruments) vecs() []vec {
	out := []vec{in.errors, in.duration, in.deferred, in.sweeps, in.statsDips, in.endedRooms, in.memberEvents, in.heartbeatInterrupts}
	for _, v := range in.endedTotals {
		out = append(out, v)
	}
	return out
}

// Results of a discovery sweep.
const (
	sweepOK        = "ok"
	sweepError     = "error"
	sweepTruncated = "truncated"
)

func newInstruments() *instruments {
	in := &instruments{
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "scrape_errors_total",
			Help:      "Failed upstream queries by command and error code: a documented upstream ErrorCode, or timeout, network, http_<status>, decode, body_too_large, paging, and other for anything else.",
		}, []string{appLabel, commandLabel, codeLabel}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace:                       namespace,
			Name:                            "api_request_duration_seconds",
			Help:                            "Latency of upstream API requests; its count is the number of calls made.",
			Buckets:                         DurationBuckets,
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{appLabel, commandLabel}),
		deferred: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "rooms_deferred_total",
			Help:      "Room refreshes a scrape could not wait for because its time budget ran out (each counted once, however many scrapes waited); those rooms were served from cache.",
		}, []string{appLabel}),
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "discovery_sweeps_total",
			Help:      "get_room_list sweeps by result: ok, error (the room set is kept), truncated (max_pages reached: rooms read are added, none removed).",
		}, []string{appLabel, "result"}),
		statsDips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "room_stats_dips_total",
			Help:      "Times a room's get_room_stats counters went down while the room lived on (no 100004 in between, the same CreateTime): an upstream inconsistency. The highest values are held, so rate() sees no reset.",
		}, []string{appLabel}),
		endedRooms: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "app_ended_rooms_total",
			Help:      "Rooms of the app that ended, by cause (destroy_by_user, destroy_by_system, other), from webhook events (Live.CallbackAfterDestroyRoom); each room counted once.",
		}, []string{appLabel, "cause"}),
		memberEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "member_events_total",
			Help:      "Accounts in webhook member events of the app, by event (online, offline) and cause (enter, leave, heartbeat_interrupt, heartbeat_recover, kicked, other). Member counts stay get_member_list's.",
		}, []string{appLabel, "event", "cause"}),
		heartbeatInterrupts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "room_heartbeat_interrupts_total",
			Help:      "Viewers of a watched room that went offline because their heartbeat stopped (their network dropped), from webhook member events: a stream-quality signal.",
		}, idLabelNames),
	}
	for i, f := range endedTotalFamilies {
		in.endedTotals[i] = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "app_ended_room_" + f.name,
			Help:      f.help + " over the rooms of the app that ended, from the final Statistic of webhook destroy events: daily sums that outlive the rooms' own series.",
		}, []string{appLabel})
	}
	return in
}

// The final totals of ended rooms, in the order of instruments.endedTotals.
const (
	endedViewers = iota
	endedLikes
	endedGifts
	endedGiftCoins
	endedGiftSenders
	numEndedTotals
)

var endedTotalFamilies = [numEndedTotals]struct{ name, help string }{
	{"viewers_total", "Viewers (TotalViewers)"},
	{"likes_total", "Likes received (TotalLikesReceived)"},
	{"gifts_total", "Gifts sent (TotalGiftsSent)"},
	{"gift_coins_total", "Coins' worth of gifts (TotalGiftCoins)"},
	{"gift_senders_total", "Distinct gift senders of each room, added up (TotalUniqueGiftSenders)"},
}

func (in *instruments) collect(ch chan<- prometheus.Metric) {
	for _, v := range in.vecs() {
		v.Collect(ch)
	}
}

// forget drops the series of an app that is no longer configured.
func (in *instruments) forget(app string) {
	for _, v := range in.vecs() {
		v.DeletePartialMatch(prometheus.Labels{appLabel: app})
	}
}

// roomDescs are the room-level descriptors of one configuration: their
// label names are app, room and the union of every room's extra labels,
// so each family has one consistent label set (missing labels are empty).
type roomDescs struct {
	extra       []string // sorted extra label names
	members     *roomFamily
	up          *roomFamily
	exists      *roomFamily
	lastSuccess *roomFamily
	stats       [numStats]*roomFamily
	seats       [numSeatFamilies]*roomFamily
}

// roomFamily is one family of room series: its exposition header, and its
// descriptor for registries.
type roomFamily struct {
	name, help string
	typ        dto.MetricType
	desc       *prometheus.Desc
}

const (
	gauge   = dto.MetricType_GAUGE
	counter = dto.MetricType_COUNTER
)

// newRoomFamily describes the family tencent_live_room_<name>.
func newRoomFamily(name string, typ dto.MetricType, help string, labels []string) *roomFamily {
	fq := prometheus.BuildFQName(namespace, "room", name)
	return &roomFamily{name: fq, help: help, typ: typ, desc: prometheus.NewDesc(fq, help, labels, nil)}
}

// The get_room_stats counters, in the order of roomDescs.stats.
const (
	statViewers = iota
	statLikes
	statMessages
	statGifts
	statGiftCoins
	statGiftSenders
	numStats
)

// statsFamilies name and describe the get_room_stats counters.
var statsFamilies = [numStats]struct{ name, help string }{
	{"viewers_total", "Viewers the room has had since it was created (TotalViewers from get_room_stats)."},
	{"likes_total", "Likes the room has received since it was created (TotalLikesReceived from get_room_stats)."},
	{"messages_total", "Chat messages sent in the room since it was created (TotalMsgCount from get_room_stats)."},
	{"gifts_total", "Gifts sent in the room since it was created (TotalGiftsSent from get_room_stats)."},
	{"gift_coins_total", "Coins' worth of gifts sent in the room since it was created (TotalGiftCoins from get_room_stats)."},
	{"gift_senders_total", "Distinct accounts that sent gifts in the room since it was created (TotalUniqueGiftSenders from get_room_stats)."},
}

// The get_seat_list families, in the order of roomDescs.seats.
const (
	famSeats = iota
	famSeatsTaken
	famSeatsLocked
	famOwnerOnSeat
	numSeatFamilies
)

// seatFamilies name and describe the get_seat_list families.
var seatFamilies = [numSeatFamilies]struct{ name, help string }{
	{"seats", "Seats the room has (entries of get_seat_list)."},
	{"seats_taken", "Seats of the room with someone on them (get_seat_list)."},
	{"seats_locked", "Seats of the room that cannot be taken (IsTakenDisabled in get_seat_list)."},
	{"owner_on_seat", "Whether the room's owner (Owner_Account from the listing or get_room_info) sits on any seat (get_seat_list): 1 or 0; absent while the owner is unknown."},
}

func newRoomDescs(cfg *Config) *roomDescs {
	var extra []string
	for _, a := range cfg.Apps {
		for _, r := range a.Rooms {
			for name := range r.Labels {
				extra = append(extra, name)
			}
		}
	}
	slices.Sort(extra)
	extra = slices.Compact(extra)
	labels := append([]string{appLabel, roomLabel}, extra...)
	var stats [numStats]*roomFamily
	for i, f := range statsFamilies {
		stats[i] = newRoomFamily(f.name, counter, f.help+" Up to room_stats.interval old.", labels)
	}
	var seats [numSeatFamilies]*roomFamily
	for i, f := range seatFamilies {
		seats[i] = newRoomFamily(f.name, gauge, f.help+" Up to room_seats.interval old.", labels)
	}
	return &roomDescs{
		stats: stats,
		seats: seats,
		extra: extra,
		members: newRoomFamily("members", gauge,
			"People in the room (MemberCount) from the last successful answer, which may be up to refresh_interval old (see the last success timestamp). Absent while the room does not exist or is not a live room.",
			labels),
		up: newRoomFamily("up", gauge,
			"Whether the room's data is being refreshed: 1 when the last get_member_list query got an answer about the room (100004 and 100006 included: see exists and members), 0 when it failed, while the app is down or backing off, or once the member count is older than max_age.",
			labels),
		exists: newRoomFamily("exists", gauge,
			"Whether the room existed at the last definitive answer: 0 after error 100004 (never created or dissolved).",
			labels),
		lastSuccess: newRoomFamily("last_success_timestamp_seconds", gauge,
			"Unix time of the last successful answer for the room, i.e. when the shown member count was fetched.",
			labels),
	}
}

// labelPairs builds the label pairs of an app's rooms once per
// configuration: app, room and the extra labels ("" where a room lacks
// one), sorted by name as the exposition requires. They live in one
// allocation, so a scrape walking 10 000 rooms reads memory in order
// instead of chasing pointers scattered by hours of refreshes.
func (d *roomDescs) labelPairs(app string, rooms []RoomConfig) [][]*dto.LabelPair {
	names := append([]string{appLabel, roomLabel}, d.extra...)
	slices.Sort(names)
	n := len(names)
	pairs := make([]dto.LabelPair, len(rooms)*n)
	ptrs := make([]*dto.LabelPair, len(rooms)*n)
	out := make([][]*dto.LabelPair, len(rooms))
	for i, r := range rooms {
		for j, name := range names {
			value := r.Labels[name]
			switch name {
			case appLabel:
				value = app
			case roomLabel:
				value = r.ID
			}
			p := &pairs[i*n+j]
			p.Name, p.Value = &names[j], proto.String(value)
			ptrs[i*n+j] = p
		}
		out[i] = ptrs[i*n : (i+1)*n : (i+1)*n]
	}
	return out
}

// roomLabels builds the label pairs of one room (a discovered one, or one
// added between configurations).
func (d *roomDescs) roomLabels(app, id string, labels map[string]string) []*dto.LabelPair {
	return d.labelPairs(app, []RoomConfig{{ID: id, Labels: labels}})[0]
}

// roomSeries is one series of a room as of one refresh. Scrapes copy it
// into their arena (see seriesArena).
type roomSeries struct {
	family *roomFamily // nil: absent
	labels []*dto.LabelPair
	value  float64
}

// roomSnapshot is what one source (members, metadata or stats) of a room
// exposes until its next refresh: series[i] is the source's i-th family.
// It is never modified once stored.
type roomSnapshot struct {
	series []roomSeries
}

// newRoomSnapshot makes a snapshot of a source of n families.
func newRoomSnapshot(n int) *roomSnapshot {
	return &roomSnapshot{series: make([]roomSeries, n)}
}

// set fills family i.
func (s *roomSnapshot) set(i int, f *roomFamily, labels []*dto.LabelPair, v float64) {
	s.series[i] = roomSeries{family: f, labels: labels, value: v}
}

// The families of each source, in the order of their snapshots.
const (
	famMembers = iota
	famUp
	famExists
	famLastSuccess
	numMemberFamilies
)

const (
	famInfo = iota
	famMaxMembers
	famMaxSeats
	famCreated
	famViews
	numMetaFamilies
)
