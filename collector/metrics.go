package collector

import (
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
		"Configured ceiling of get_member_list calls per second for the app (max_qps).",
		[]string{appLabel}, nil)
	appLimiterQPSDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "app", "limiter_qps"),
		"Current ceiling of calls per second; below max_qps for a while after frequency-limit answers.",
		[]string{appLabel}, nil)
	appRoomsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "app", "rooms"),
		"Number of rooms watched for the app by this exporter (its shard).",
		[]string{appLabel}, nil)
)

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
			Help:      "Failed upstream queries by error code: the upstream ErrorCode, or timeout, network, http_<status>, decode, body_too_large, paging.",
		}, []string{appLabel, codeLabel}),
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
			Help:      "Room refreshes a scrape could not wait for because its time budget ran out; those rooms were served from cache.",
		}, []string{appLabel}),
	}
}

func (in *instruments) describe(ch chan<- *prometheus.Desc) {
	in.errors.Describe(ch)
	in.duration.Describe(ch)
	in.deferred.Describe(ch)
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

// labelValues returns app, room and the room's extra labels in desc order.
func (d *roomDescs) labelValues(app string, r RoomConfig) []string {
	values := make([]string, 0, 2+len(d.extra))
	values = append(values, app, r.ID)
	for _, name := range d.extra {
		values = append(values, r.Labels[name]) // "" when the room lacks it
	}
	return values
}
