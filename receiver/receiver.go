// Package receiver takes Tencent's Live webhook callbacks: it finds the
// app, verifies the signature and the time before it reads the body,
// bounds the body, drops duplicates, decodes the event (package tencent)
// and hands it to the room registry (package collector). It answers at
// once: a request never waits on an upstream call or on a scrape. It is
// meant to face the internet, on a listener of its own.
package receiver

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// MaxBodyBytes bounds a callback's body; the documented ones are far
// smaller.
const MaxBodyBytes = 1 << 20

// DuplicateWindow is how long an identical callback counts as a
// duplicate.
const DuplicateWindow = time.Minute

// maxRemembered bounds the bodies remembered against duplicates: at 10 000
// events a second, the last 10 s; older duplicates are rare and harmless
// (events are hints that polling repairs).
const maxRemembered = 100_000

// Results of a request, as in tencent_live_webhook_requests_total.
const (
	ResultOK           = collector.EventOK
	ResultIgnored      = collector.EventIgnored
	ResultNotOwned     = collector.EventNotOwned
	ResultBadSignature = "bad_signature"
	ResultStale        = "stale"
	ResultUnknownApp   = "unknown_app"
	ResultTooLarge     = "too_large"
	ResultMalformed    = "malformed"
	ResultDuplicate    = "duplicate"
	// ResultForwarded: the app's owner (another shard) took the event;
	// ResultForwardFailed: it could not be reached in time.
	ResultForwarded     = "forwarded"
	ResultForwardFailed = "forward_failed"
)

// forwardedHeader marks a callback one shard passes to the app's owner: a
// shard that does not own the app either does not pass it on again.
const forwardedHeader = "X-Tencent-Live-Exporter-Forwarded"

// ForwardTimeout bounds the hop to an app's owner.
const ForwardTimeout = 2 * time.Second

// Registry is the room registry the events change: collector.Exporter.
type Registry interface {
	WebhookApp(sdkAppID uint64) (collector.WebhookApp, bool)
	ApplyEvent(sdkAppID uint64, ev *tencent.Event, now time.Time) string
}

// Receiver is the callback endpoint. It implements http.Handler and
// prometheus.Collector (its own metrics).
type Receiver struct {
	registry Registry
	logger   *slog.Logger
	now      func() time.Time
	// ownerURL is the callback URL of a shard ("" when unknown): the
	// events of apps another shard owns go there.
	ownerURL func(shard int) string
	client   *http.Client

	requests *prometheus.CounterVec
	duration prometheus.Histogram
	seen     dedupe
}

var (
	_ http.Handler         = (*Receiver)(nil)
	_ prometheus.Collector = (*Receiver)(nil)
)

// New returns a Receiver applying events to registry. ownerURL, when not
// nil, gives the callback URL of a shard, to which the events of the apps
// it owns are forwarded.
func New(registry Registry, logger *slog.Logger, ownerURL func(shard int) string) *Receiver {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if ownerURL == nil {
		ownerURL = func(int) string { return "" }
	}
	return &Receiver{
		registry: registry,
		logger:   logger,
		now:      time.Now,
		ownerURL: ownerURL,
		client:   &http.Client{Timeout: ForwardTimeout},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "tencent_live",
			Name:      "webhook_requests_total",
			Help:      "Webhook callbacks received, by app (empty when unknown), command (other for any command not known) and result: ok, ignored (about nothing this exporter watches, or an unknown command), forwarded to the shard that owns the app (forward_failed when it could not be reached; not_owned when no shard URL is known), duplicate, bad_signature, stale (RequestTime over 60 s away), unknown_app, too_large, malformed.",
		}, []string{"app", "command", "result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace:                       "tencent_live",
			Name:                            "webhook_request_duration_seconds",
			Help:                            "Time to handle a webhook callback, from its headers to the reply.",
			Buckets:                         []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: time.Hour,
		}),
	}
}

// Describe implements prometheus.Collector.
func (rc *Receiver) Describe(ch chan<- *prometheus.Desc) {
	rc.requests.Describe(ch)
	rc.duration.Describe(ch)
}

// Collect implements prometheus.Collector.
func (rc *Receiver) Collect(ch chan<- prometheus.Metric) {
	rc.requests.Collect(ch)
	rc.duration.Collect(ch)
}

// ServeHTTP handles one callback.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	app, command, result, status := rc.handle(w, r)
	rc.requests.WithLabelValues(app, command, result).Inc()
	if status != http.StatusOK {
		rc.logger.Debug("Webhook callback refused", "app", app, "command", command, "result", result, "status", status, "remote", r.RemoteAddr)
		http.Error(w, http.StatusText(status), status)
	} else {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, tencent.CallbackReply)
	}
	rc.duration.Observe(time.Since(start).Seconds())
}

// handle decides a callback's fate; the caller counts and answers.
func (rc *Receiver) handle(w http.ResponseWriter, r *http.Request) (app, command, result string, status int) {
	q := queryFold(r.URL.RawQuery)
	command = commandLabel(q["callbackcommand"], q["webhookcommand"])
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return "", command, ResultMalformed, http.StatusMethodNotAllowed
	}
	id, err := strconv.ParseUint(q["sdkappid"], 10, 64)
	if err != nil {
		return "", command, ResultUnknownApp, http.StatusForbidden
	}
	wa, ok := rc.registry.WebhookApp(id)
	if !ok {
		return "", command, ResultUnknownApp, http.StatusForbidden
	}
	app = wa.Name
	now := rc.now()
	// Verify before reading the body: a forged request costs a hash.
	if !wa.AllowUnsigned || wa.Token != "" {
		switch err := tencent.VerifyCallback(wa.Token, q["sign"], q["requesttime"], now); {
		case errors.Is(err, tencent.ErrCallbackStale):
			return app, command, ResultStale, http.StatusUnauthorized
		case err != nil:
			return app, command, ResultBadSignature, http.StatusUnauthorized
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return app, command, ResultTooLarge, http.StatusRequestEntityTooLarge
		}
		return app, command, ResultMalformed, http.StatusBadRequest
	}
	if !wa.Owned {
		result, status = rc.forward(r, wa.Shard, body), http.StatusOK
		if result == ResultForwardFailed {
			status = http.StatusBadGateway
		}
		return app, command, result, status
	}
	raw := firstOf(q["callbackcommand"], q["webhookcommand"])
	ev, err := tencent.DecodeCallback(raw, body)
	switch {
	case errors.Is(err, tencent.ErrUnknownCallback):
		return app, command, ResultIgnored, http.StatusOK // new commands appear over time
	case err != nil:
		return app, command, ResultMalformed, http.StatusBadRequest
	}
	if rc.seen.again(id, raw, body, now) {
		return app, command, ResultDuplicate, http.StatusOK
	}
	return app, command, rc.registry.ApplyEvent(id, ev, now), http.StatusOK
}

// forward passes a verified callback of an app another shard owns to that
// shard, query and body as Tencent sent them (the owner verifies them
// again), within ForwardTimeout. A callback forwarded once is not
// forwarded again.
func (rc *Receiver) forward(r *http.Request, shard int, body []byte) string {
	target := rc.ownerURL(shard)
	if target == "" || r.Header.Get(forwardedHeader) != "" {
		return ResultNotOwned
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, target+"?"+r.URL.RawQuery, bytes.NewReader(body))
	if err != nil {
		return ResultForwardFailed
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(forwardedHeader, "1")
	resp, err := rc.client.Do(req)
	if err != nil {
		rc.logger.Warn("Cannot forward a webhook callback to the app's shard", "shard", shard, "err", err)
		return ResultForwardFailed
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		rc.logger.Warn("The app's shard refused a forwarded webhook callback", "shard", shard, "status", resp.StatusCode)
		return ResultForwardFailed
	}
	return ResultForwarded
}

// queryFold parses a raw query with its names lowercased: Tencent's pages
// spell them SdkAppid and SdkAppId, CallbackCommand and WebhookCommand.
// The first value of a name wins.
func queryFold(raw string) map[string]string {
	out := make(map[string]string, 8)
	for part := range strings.SplitSeq(raw, "&") {
		name, value, _ := strings.Cut(part, "=")
		name, err1 := unescape(name)
		value, err2 := unescape(value)
		if err1 != nil || err2 != nil || name == "" {
			continue
		}
		name = strings.ToLower(name)
		if _, ok := out[name]; !ok {
			out[name] = value
		}
	}
	return out
}

func unescape(s string) (string, error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	return url.QueryUnescape(s)
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// knownCommands are the command label values; anything else is "other",
// so a prober cannot create series without bound.
var knownCommands = map[string]bool{
	tencent.CallbackRoomCreated:             true,
	tencent.CallbackRoomDestroyed:           true,
	tencent.CallbackRoomInfoUpdated:         true,
	tencent.CallbackMemberStateChanged:      true,
	tencent.CallbackMemberStateChangedAlias: true,
	tencent.CallbackSeatsChanged:            true,
}

func commandLabel(a, b string) string {
	c := firstOf(a, b)
	if c == tencent.CallbackMemberStateChangedAlias {
		return tencent.CallbackMemberStateChanged
	}
	if knownCommands[c] {
		return c
	}
	return "other"
}

// dedupe remembers the callbacks of the last DuplicateWindow (at most
// maxRemembered of them) by a hash of app, command and body.
type dedupe struct {
	mu    sync.Mutex
	when  map[[32]byte]time.Time
	order [][32]byte // FIFO of the keys, oldest first, from head
	head  int
}

// again records a callback and reports whether the same one came within
// DuplicateWindow.
func (d *dedupe) again(app uint64, command string, body []byte, now time.Time) bool {
	h := sha256.New()
	var buf [8]byte
	for i := range buf {
		buf[i] = byte(app >> (8 * i))
	}
	h.Write(buf[:])
	h.Write([]byte(command))
	h.Write([]byte{0})
	h.Write(body)
	var key [32]byte
	h.Sum(key[:0])

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.when == nil {
		d.when = make(map[[32]byte]time.Time)
	}
	// Forget what is older than the window, or beyond the bound.
	for d.head < len(d.order) {
		k := d.order[d.head]
		if t, ok := d.when[k]; ok && now.Sub(t) < DuplicateWindow && len(d.when) < maxRemembered {
			break
		}
		delete(d.when, k)
		d.order[d.head] = [32]byte{}
		d.head++
	}
	if d.head > len(d.order)/2 && d.head > 1024 {
		d.order = append(d.order[:0], d.order[d.head:]...)
		d.head = 0
	}
	if t, ok := d.when[key]; ok && now.Sub(t) < DuplicateWindow {
		return true
	}
	if _, ok := d.when[key]; !ok {
		d.order = append(d.order, key)
	}
	d.when[key] = now
	return false
}
