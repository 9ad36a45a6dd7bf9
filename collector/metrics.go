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
		"Whether the app's requests are accepted: 0 while the upstream answers auth or configuration errors (wrong key, region, identifier, arrears...).",
		[]string{appLabel}, nil)
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
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	deferred *prometheus.CounterVec
}

func newInstruments() *instruments {
	return &instruments{
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
	}
}

func (in *instruments) collect(ch chan<- prometheus.Metric) {
	in.errors.Collect(ch)
	in.duration.Collect(ch)
	in.deferred.Collect(ch)
}

// forget drops the series of an app that is no longer configured.
func (in *instruments) forget(app string) {
	in.errors.DeletePartialMatch(prometheus.Labels{appLabel: app})
	in.duration.DeletePartialMatch(prometheus.Labels{appLabel: app})
	in.deferred.DeletePartialMatch(prometheus.Labels{appLabel: app})
}

// roomDescs are the room-level descriptors of one configuration: their
// label names are app, room and the union of every room's extra labels,
// so each family has one consistent label set (missing labels are empty).
type roomDescs struct {
	extra       []string // sorted extra label names
	members     *prometheus.Desc
	up          *prometheus.Desc
	exists      *prometheus.Desc
	lastSuccess *prometheus.Desc
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
	return &roomDescs{
		extra: extra,
		members: prometheus.NewDesc(prometheus.BuildFQName(namespace, "room", "members"),
			"People in the room (MemberCount) from the last successful answer, which may be up to refresh_interval old (see the last success timestamp). Absent while the room does not exist or is not a live room.",
			labels, nil),
		up: prometheus.NewDesc(prometheus.BuildFQName(namespace, "room", "up"),
			"Whether the last query for the room succeeded (1) or failed (0).",
			labels, nil),
		exists: prometheus.NewDesc(prometheus.BuildFQName(namespace, "room", "exists"),
			"Whether the room existed at the last definitive answer: 0 after error 100004 (never created or dissolved).",
			labels, nil),
		lastSuccess: prometheus.NewDesc(prometheus.BuildFQName(namespace, "room", "last_success_timestamp_seconds"),
			"Unix time of the last successful answer for the room, i.e. when the shown member count was fetched.",
			labels, nil),
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

// roomSeries is one series of a room as of one refresh. It implements
// prometheus.Metric like a const metric, but shares the room's label
// pairs and lives inside the room's snapshot.
type roomSeries struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	value  float64
	gauge  dto.Gauge // points at value
}

func (s *roomSeries) Desc() *prometheus.Desc { return s.desc }

func (s *roomSeries) Write(m *dto.Metric) error {
	// Shared and never modified, as client_golang's const metrics do.
	m.Label = s.labels
	m.Gauge = &s.gauge
	return nil
}

// roomSnapshot is what a room exposes until its next refresh.
type roomSnapshot struct {
	series [4]roomSeries
	n      int
}

func (s *roomSnapshot) add(desc *prometheus.Desc, labels []*dto.LabelPair, v float64) {
	rs := &s.series[s.n]
	rs.desc, rs.labels, rs.value = desc, labels, v
	rs.gauge.Value = &rs.value
	s.n++
}
