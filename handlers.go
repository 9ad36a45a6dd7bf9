package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
)

// scrapeTimeoutHeader is how Prometheus tells a target its scrape timeout.
const scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// scrapeBudget is how long a scrape may spend refreshing rooms: the
// header's timeout minus offset, or fallback without a header.
func scrapeBudget(h http.Header, offset, fallback time.Duration) (time.Duration, error) {
	raw := h.Get(scrapeTimeoutHeader)
	if raw == "" {
		return fallback, nil
	}
	seconds, err := strconv.ParseFloat(raw, 64)
	if err != nil || seconds <= 0 || seconds > 86400 {
		return 0, fmt.Errorf("invalid %s header %q: want a positive number of seconds", scrapeTimeoutHeader, raw)
	}
	timeout := time.Duration(seconds * float64(time.Second))
	if timeout > offset {
		return timeout - offset, nil
	}
	return timeout / 2, nil // an offset larger than the timeout would leave nothing
}

// metricsHandler refreshes due rooms within the scrape's budget, then
// serves the registry.
type metricsHandler struct {
	exporter       *collector.Exporter
	gatherer       prometheus.Gatherer
	timeoutOffset  time.Duration
	defaultTimeout time.Duration
	inFlight       chan struct{} // nil: unlimited
	opts           promhttp.HandlerOpts
}

func (h *metricsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.inFlight != nil {
		select {
		case h.inFlight <- struct{}{}:
			defer func() { <-h.inFlight }()
		default:
			http.Error(w, "too many concurrent scrapes", http.StatusServiceUnavailable)
			return
		}
	}
	budget, err := scrapeBudget(r.Header, h.timeoutOffset, h.defaultTimeout)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), budget)
	start := time.Now()
	h.exporter.Refresh(ctx)
	cancel()
	g := scrapeGatherer{base: h.gatherer, duration: time.Since(start)}
	promhttp.HandlerFor(g, h.opts).ServeHTTP(w, r)
}

func newSemaphore(n int) chan struct{} {
	if n <= 0 {
		return nil
	}
	return make(chan struct{}, n)
}

// scrapeGatherer adds this scrape's own duration to what base gathers.
// Appending one family keeps the cost of a scrape at the registry's own.
type scrapeGatherer struct {
	base     prometheus.Gatherer
	duration time.Duration
}

const scrapeDurationName = "tencent_live_scrape_duration_seconds"

func (g scrapeGatherer) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := g.base.Gather()
	mf := &dto.MetricFamily{
		Name:   proto.String(scrapeDurationName),
		Help:   proto.String("Time this scrape spent refreshing rooms before answering."),
		Type:   dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(g.duration.Seconds())}}},
	}
	i, _ := slices.BinarySearchFunc(mfs, scrapeDurationName, func(m *dto.MetricFamily, name string) int {
		return strings.Compare(m.GetName(), name)
	})
	return slices.Insert(mfs, i, mf), err
}

// reloadHandler asks the reload loop to reload and answers its outcome.
func reloadHandler(reloadCh chan<- chan error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "reload requires POST", http.StatusMethodNotAllowed)
			return
		}
		errCh := make(chan error)
		reloadCh <- errCh
		if err := <-errCh; err != nil {
			http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "Config reloaded")
	})
}

// reloadStatus exposes the outcome of the last configuration (re)load.
// It implements prometheus.Collector.
type reloadStatus struct {
	mu          sync.Mutex
	successful  bool
	lastSuccess time.Time
}

var (
	reloadSuccessfulDesc = prometheus.NewDesc("tencent_live_exporter_config_last_reload_successful",
		"Whether the last configuration reload attempt was successful.", nil, nil)
	reloadTimestampDesc = prometheus.NewDesc("tencent_live_exporter_config_last_reload_success_timestamp_seconds",
		"Timestamp of the last successful configuration reload.", nil, nil)
)

func newReloadStatus() *reloadStatus { return &reloadStatus{} }

func (s *reloadStatus) succeeded(t time.Time) {
	s.mu.Lock()
	s.successful, s.lastSuccess = true, t
	s.mu.Unlock()
}

func (s *reloadStatus) failed() {
	s.mu.Lock()
	s.successful = false
	s.mu.Unlock()
}

func (s *reloadStatus) Describe(ch chan<- *prometheus.Desc) {
	ch <- reloadSuccessfulDesc
	ch <- reloadTimestampDesc
}

func (s *reloadStatus) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := 0.0
	if s.successful {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(reloadSuccessfulDesc, prometheus.GaugeValue, v)
	ch <- prometheus.MustNewConstMetric(reloadTimestampDesc, prometheus.GaugeValue, float64(s.lastSuccess.Unix()))
}
