package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
)

// scrapeTimeoutHeader is how Prometheus tells a target its scrape timeout.
const scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// errDemoConfigFile: with --demo the file would be silently ignored.
var errDemoConfigFile = errors.New("--demo uses a built-in configuration; drop --config.file")

// flagValues are the flags checkFlags checks, by their names.
type flagValues struct {
	demo, configFileSet      bool
	metricsPath              string
	maxTimeout, writeTimeout time.Duration
	callbackAddr             string
	callbackPath             string
	shardURL                 string
}

// checkFlags rejects flag combinations that cannot do what they say.
func checkFlags(f flagValues) error {
	switch {
	case f.demo && f.configFileSet:
		return errDemoConfigFile
	case f.maxTimeout <= 0:
		return fmt.Errorf("--scrape.max-timeout must be positive, got %s", f.maxTimeout)
	case f.writeTimeout <= 0:
		return fmt.Errorf("--scrape.write-timeout must be positive, got %s", f.writeTimeout)
	case f.shardURL != "" && (!strings.Contains(f.shardURL, "{shard}") || !strings.HasPrefix(f.shardURL, "http")):
		return fmt.Errorf(`--shard.callback-url=%q: must be an http(s) URL holding "{shard}"`, f.shardURL)
	case f.callbackAddr != "" && (!strings.HasPrefix(f.callbackPath, "/") || strings.ContainsAny(f.callbackPath, "%{} ") || path.Clean(f.callbackPath) != f.callbackPath):
		return fmt.Errorf(`--callback.path=%q: must be a plain, clean path starting with "/"`, f.callbackPath)
	}
	return checkTelemetryPath(f.metricsPath)
}

// checkTelemetryPath refuses, before http.ServeMux would panic on it, a
// metrics path that is not a path or that a fixed path already has. A
// plain, clean path other than the fixed ones is a literal pattern that
// conflicts with none of them.
func checkTelemetryPath(p string) error {
	clean := path.Clean(p)
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf(`--web.telemetry-path=%q: must start with "/"`, p)
	case fixedPaths[p] != "":
		return fmt.Errorf("--web.telemetry-path=%q: %s is served there; choose another path", p, fixedPaths[p])
	case strings.ContainsAny(p, "%{}") || strings.ContainsFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }),
		p != clean && p != clean+"/":
		return fmt.Errorf("--web.telemetry-path=%q: must be a plain path: no spaces, %%-escapes, {wildcards}, //, . or .. segments", p)
	}
	return nil
}

// configError adds to err, when the configuration file itself does not
// exist, how to give one: it is where a new user's first run ends. When a
// file cannot be read for lack of permission, it says as whom the exporter
// runs and how to let it read the file.
func configError(path string, err error) error {
	if err == nil {
		return nil
	}
	if _, statErr := os.Stat(path); errors.Is(statErr, fs.ErrNotExist) {
		return fmt.Errorf("%w; pass --config.file=PATH (examples/config.yml is a start), or try --demo for a built-in fake of the Tencent API", err)
	}
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w: %s", err, permissionHint(os.Getuid(), os.Getgid(), os.Getenv("INVOCATION_ID") != ""))
	}
	return err
}

// imageUser is the uid and gid the container image runs as (nobody).
const imageUser = 65534

// permissionHint says how to let the exporter, running as uid and gid
// (under systemd when systemd is true), read a file it was refused.
func permissionHint(uid, gid int, systemd bool) string {
	who := fmt.Sprintf("the exporter runs as uid %d, gid %d", uid, gid)
	if uid == imageUser {
		who = fmt.Sprintf("the exporter runs as uid %d (nobody, the container image's user)", imageUser)
	}
	fix := fmt.Sprintf("make the file readable by it (e.g. owner or group %d, mode 0440)", gid)
	switch {
	case systemd:
		fix += ", or with systemd's DynamicUser= hand the key over with LoadCredential= (see examples/systemd/)"
	case uid == imageUser:
		fix += fmt.Sprintf(", or on Kubernetes mount the Secret with defaultMode: 0440 and the pod's fsGroup: %d", imageUser)
	}
	return who + "; " + fix
}

// scrapeBudget is how long a scrape may spend refreshing rooms: the
// header's timeout minus offset, or fallback without a header. Neither
// exceeds maxTimeout: a larger header value is clamped rather than
// refused, since Prometheus may legitimately allow more than we do, but a
// value that is not a positive finite number is an error.
func scrapeBudget(h http.Header, offset, fallback, maxTimeout time.Duration) (time.Duration, error) {
	raw := h.Get(scrapeTimeoutHeader)
	if raw == "" {
		return min(fallback, maxTimeout), nil
	}
	// ParseFloat accepts "NaN" and "Inf" and fails on overflow ("1e400").
	seconds, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(seconds) || math.IsInf(seconds, 0) || seconds <= 0 {
		return 0, fmt.Errorf("invalid %s header %q: want a positive number of seconds", scrapeTimeoutHeader, raw)
	}
	timeout := maxTimeout
	if seconds < maxTimeout.Seconds() { // compared as float: a huge value would overflow a Duration
		timeout = time.Duration(seconds * float64(time.Second))
	}
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
	maxTimeout     time.Duration
	writeTimeout   time.Duration // to write the answer, after the budget
	inFlight       chan struct{} // nil: unlimited
	opts           promhttp.HandlerOpts
}

func (h *metricsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if h.inFlight != nil {
		select {
		case h.inFlight <- struct{}{}:
			defer func() { <-h.inFlight }()
		default:
			http.Error(w, "too many concurrent scrapes", http.StatusServiceUnavailable)
			return
		}
	}
	budget, err := scrapeBudget(r.Header, h.timeoutOffset, h.defaultTimeout, h.maxTimeout)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// A client that stops reading must not keep its slot: the answer has
	// the budget to refresh, then writeTimeout to reach the client. This
	// replaces the server's WriteTimeout, shorter than the longest budget.
	if err := http.NewResponseController(w).SetWriteDeadline(start.Add(budget + h.writeTimeout)); err != nil && h.opts.ErrorLog != nil {
		h.opts.ErrorLog.Println("cannot set the write deadline of a scrape:", err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), budget)
	view := h.exporter.Refresh(ctx)
	cancel()
	g := scrapeGatherer{base: h.gatherer, view: view, duration: time.Since(start)}
	promhttp.HandlerForTransactional(g, h.opts).ServeHTTP(&cutOffWriter{ResponseWriter: w}, r)
}

// cutOffWriter passes writes on until one fails (the write deadline
// passed, or the client left), then discards the rest: the encoder logs
// the first failure, not one per metric family.
type cutOffWriter struct {
	http.ResponseWriter
	failed bool
}

func (w *cutOffWriter) Write(p []byte) (int, error) {
	if w.failed {
		return len(p), nil
	}
	n, err := w.ResponseWriter.Write(p)
	w.failed = err != nil
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *cutOffWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func newSemaphore(n int) chan struct{} {
	if n <= 0 {
		return nil
	}
	return make(chan struct{}, n)
}

// scrapeGatherer serves one scrape: what base gathers (process, Go,
// build and reload metrics), the rooms the scrape waited on (its View, so
// a reload meanwhile cannot mix two room sets into one answer), and the
// scrape's own duration. The two sets of families are disjoint, so merging
// them costs a sort of a few dozen names, not a pass over every series.
type scrapeGatherer struct {
	base     prometheus.Gatherer
	view     prometheus.TransactionalGatherer
	duration time.Duration
}

const scrapeDurationName = "tencent_live_scrape_duration_seconds"

// Gather implements prometheus.TransactionalGatherer: done releases what
// the view lent the encoder.
func (g scrapeGatherer) Gather() (_ []*dto.MetricFamily, done func(), _ error) {
	mfs, err := g.base.Gather()
	done = func() {}
	if g.view != nil {
		viewMFs, viewDone, viewErr := g.view.Gather()
		mfs, done, err = append(mfs, viewMFs...), viewDone, errors.Join(err, viewErr)
		slices.SortFunc(mfs, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	}
	mf := &dto.MetricFamily{
		Name:   proto.String(scrapeDurationName),
		Help:   proto.String("Time this scrape spent refreshing rooms before answering."),
		Type:   dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(g.duration.Seconds())}}},
	}
	i, _ := slices.BinarySearchFunc(mfs, scrapeDurationName, func(m *dto.MetricFamily, name string) int {
		return strings.Compare(m.GetName(), name)
	})
	return slices.Insert(mfs, i, mf), done, err
}

// reloadHandler reloads the configuration on POST and answers the outcome.
// Requests a browser marks as coming from another site are refused, so a
// web page cannot make its visitor's browser reload the exporter.
func reloadHandler(rl *reloader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "reload requires POST", http.StatusMethodNotAllowed)
			return
		}
		if crossOrigin(r) {
			http.Error(w, "cross-origin reload refused", http.StatusForbidden)
			return
		}
		if err := rl.reload(r.Context()); err != nil {
			http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "Config reloaded")
	})
}

// crossOrigin reports whether a browser sent r on behalf of another
// origin: Sec-Fetch-Site says so, or an Origin header names another host.
// Clients that are not browsers (curl, Prometheus) send neither header.
func crossOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none": // "none": typed by the user
	default: // cross-site, same-site (another origin) or unknown
		return true
	}
	for _, origin := range r.Header.Values("Origin") {
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			return true // "null" (an opaque origin) too
		}
	}
	return false
}

// reloader applies configuration reloads, from SIGHUP and POST /-/reload
// alike, one at a time. A request never shares an apply that had already
// started when it arrived (the file may have changed since that one read
// it); every request waiting when an apply starts shares that apply and
// its result, so a burst of requests costs at most two applies.
type reloader struct {
	load   func() (*collector.Config, error)
	apply  func(*collector.Config) error
	status *reloadStatus
	logger *slog.Logger

	mu      sync.Mutex
	running bool         // an apply goroutine is working through rounds
	next    *reloadRound // the requests waiting for the next apply; nil: none
}

// reloadRound is one apply and the requests that wait for it.
type reloadRound struct {
	waiting int           // requests that joined, under reloader.mu
	done    chan struct{} // closed once err is set
	err     error
}

// newReloader returns a reloader that loads with load and applies with
// apply (the Exporter's ApplyConfig), recording outcomes in status.
func newReloader(load func() (*collector.Config, error), apply func(*collector.Config) error, status *reloadStatus, logger *slog.Logger) *reloader {
	return &reloader{load: load, apply: apply, status: status, logger: logger}
}

// reload waits for an apply that starts after it was called and returns
// its result, or ctx's error if ctx ends first (the apply still happens).
func (rl *reloader) reload(ctx context.Context) error {
	rl.mu.Lock()
	if rl.next == nil {
		rl.next = &reloadRound{done: make(chan struct{})}
	}
	round := rl.next
	round.waiting++
	if !rl.running {
		rl.running = true
		go rl.run()
	}
	rl.mu.Unlock()
	select {
	case <-round.done:
		return round.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waiting returns how many requests wait for an apply not yet started.
func (rl *reloader) waiting() int {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.next == nil {
		return 0
	}
	return rl.next.waiting
}

// run applies rounds until none is waiting. Taking the round out of next
// under the lock, before loading, is what makes a later request wait for
// the apply after this one.
func (rl *reloader) run() {
	for {
		rl.mu.Lock()
		round := rl.next
		rl.next = nil
		if round == nil {
			rl.running = false
			rl.mu.Unlock()
			return
		}
		rl.mu.Unlock()
		round.err = rl.applyOnce()
		close(round.done)
	}
}

// applyOnce loads and applies the configuration; on error the running one
// stays.
func (rl *reloader) applyOnce() error {
	cfg, err := rl.load()
	if err == nil {
		err = rl.apply(cfg)
	}
	if err != nil {
		rl.logger.Error("Error reloading config", "err", err)
		rl.status.failed(time.Now(), err)
		return err
	}
	rl.logger.Info("Reloaded config", "apps", len(cfg.Apps))
	rl.status.succeeded(time.Now())
	return nil
}

// reloadStatus exposes the outcome of the last configuration (re)load,
// as metrics and, for the landing page, the failure that keeps the
// previous configuration running. It implements prometheus.Collector.
type reloadStatus struct {
	mu          sync.Mutex
	successful  bool
	lastSuccess time.Time
	lastFailure time.Time // of the failed reloads since the last success
	lastErr     error
}

// reloadState is what the landing page shows of the reloads.
type reloadState struct {
	Successful  bool
	LastSuccess time.Time
	LastFailure time.Time // zero while the last reload succeeded
	Err         error
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
	s.lastFailure, s.lastErr = time.Time{}, nil
	s.mu.Unlock()
}

func (s *reloadStatus) failed(t time.Time, err error) {
	s.mu.Lock()
	s.successful = false
	s.lastFailure, s.lastErr = t, err
	s.mu.Unlock()
}

// state returns the outcome of the last reload.
func (s *reloadStatus) state() reloadState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return reloadState{Successful: s.successful, LastSuccess: s.lastSuccess, LastFailure: s.lastFailure, Err: s.lastErr}
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
