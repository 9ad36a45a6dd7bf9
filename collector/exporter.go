// Package collector owns what tencent_live_exporter collects: the YAML
// configuration, the per-app refresh budget (rate limit, concurrency cap,
// back-offs) and the Prometheus metrics. It imports package tencent for
// the wire protocol; tencent never imports it.
package collector

import (
	"container/heap"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// Options are the exporter's settings that do not come from the
// configuration file.
type Options struct {
	Logger    *slog.Logger
	UserAgent string // sent upstream, e.g. "tencent_live_exporter/1.0.0"
	// ShardCount and ShardIndex split every app's rooms among ShardCount
	// exporters by a hash of SDKAppID and room id; each takes 1/ShardCount
	// of max_qps. ShardCount 0 or 1 means no sharding.
	ShardCount int
	ShardIndex int
}

// Exporter refreshes the configured rooms and exposes them.
// It implements prometheus.Collector.
type Exporter struct {
	opts   Options
	logger *slog.Logger
	inst   *instruments

	mu    sync.RWMutex
	cfg   *Config
	apps  []*app
	gates map[uint64]*gate // by SDKAppID: the quota is per app and outlives reloads
}

var _ prometheus.Collector = (*Exporter)(nil)

// New starts an Exporter for cfg. No upstream call is made until the first
// Refresh. Close stops it.
func New(cfg *Config, opts Options) (*Exporter, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.UserAgent == "" {
		opts.UserAgent = tencent.DefaultUserAgent
	}
	if opts.ShardCount <= 1 {
		opts.ShardCount, opts.ShardIndex = 1, 0
	}
	if opts.ShardIndex < 0 || opts.ShardIndex >= opts.ShardCount {
		return nil, fmt.Errorf("shard index %d out of range [0, %d)", opts.ShardIndex, opts.ShardCount)
	}
	e := &Exporter{opts: opts, logger: opts.Logger, inst: newInstruments(), gates: map[uint64]*gate{}}
	if err := e.ApplyConfig(cfg); err != nil {
		return nil, err
	}
	return e, nil
}

// InShard reports whether a room belongs to shard index of count.
func InShard(sdkAppID uint64, roomID string, index, count int) bool {
	if count <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatUint(sdkAppID, 10)))
	h.Write([]byte{0})
	h.Write([]byte(roomID))
	return h.Sum64()%uint64(count) == uint64(index)
}

// ApplyConfig swaps in a new configuration: rooms that remain keep their
// cached data and schedule, removed rooms and apps disappear. On error the
// running configuration is untouched.
func (e *Exporter) ApplyConfig(cfg *Config) error {
	descs := newRoomDescs(cfg)
	apps := make([]*app, 0, len(cfg.Apps))
	for _, ac := range cfg.Apps {
		a, err := e.newApp(ac, descs)
		if err != nil {
			return fmt.Errorf("app %q: %w", ac.Name, err)
		}
		apps = append(apps, a)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	old := make(map[string]*app, len(e.apps))
	for _, a := range e.apps {
		a.stop()
		old[a.name] = a
	}
	gates := make(map[uint64]*gate, len(apps))
	for _, a := range apps {
		g, ok := e.gates[a.cfg.SDKAppID]
		if !ok {
			g = newGate(a.gateQPS(e.opts.ShardCount))
		}
		g.setMaxQPS(a.gateQPS(e.opts.ShardCount))
		a.gate = g
		gates[a.cfg.SDKAppID] = g
		if prev, ok := old[a.name]; ok {
			a.adopt(prev)
			delete(old, a.name)
		}
	}
	for name := range old {
		e.inst.forget(name)
	}
	for _, a := range apps {
		e.inst.deferred.WithLabelValues(a.name) // a series from the start, so rate() works
		a.start()
	}
	e.cfg, e.apps, e.gates = cfg, apps, gates
	return nil
}

func (ac *AppConfig) newClientOptions() []tencent.Option {
	opts := []tencent.Option{tencent.WithTimeout(time.Duration(ac.RequestTimeout))}
	if ac.Endpoint != "" {
		return append(opts, tencent.WithBaseURL(ac.Endpoint))
	}
	return append(opts, tencent.WithRegion(ac.Region))
}

func (e *Exporter) newApp(ac *AppConfig, descs *roomDescs) (*app, error) {
	a := &app{
		cfg:      ac,
		name:     ac.Name,
		descs:    descs,
		inst:     e.inst,
		logger:   e.logger.With("app", ac.Name),
		refresh:  time.Duration(ac.RefreshInterval),
		sem:      make(chan struct{}, ac.MaxConcurrency),
		wake:     make(chan struct{}, 1),
		progress: make(chan struct{}),
		up:       true,
	}
	a.http = tencent.NewHTTPClient(ac.MaxConcurrency)
	observer := e.inst.duration.WithLabelValues(ac.Name, tencent.CommandGetMemberList)
	signer := tencent.NewSigner(ac.SDKAppID, ac.Identifier, string(ac.SecretKey), tencent.WithTTL(time.Duration(ac.UserSigTTL)))
	opts := append(ac.newClientOptions(),
		tencent.WithHTTPClient(a.http),
		tencent.WithUserAgent(e.opts.UserAgent),
		// a.gate is set before start; every request, retries and pages
		// included, passes it.
		tencent.WithRequestGate(func(ctx context.Context) (func(), error) { return a.gate.wait(ctx) }),
		tencent.WithRequestObserver(func(ri tencent.RequestInfo) {
			if tencent.ErrorCode(ri.Err) != "canceled" {
				observer.Observe(ri.Duration.Seconds())
			}
		}),
	)
	client, err := tencent.NewClient(ac.SDKAppID, ac.Identifier, signer, opts...)
	if err != nil {
		return nil, err
	}
	a.client = client
	var mine []RoomConfig
	for _, rc := range ac.Rooms {
		if InShard(ac.SDKAppID, rc.ID, e.opts.ShardIndex, e.opts.ShardCount) {
			mine = append(mine, rc)
		}
	}
	labels := descs.labelPairs(ac.Name, mine)
	rooms := make([]room, len(mine)) // one allocation: Collect walks them in order
	a.rooms = make([]*room, len(mine))
	for i, rc := range mine {
		r := &rooms[i]
		r.id, r.index, r.labels = rc.ID, i, labels[i]
		a.rooms[i] = r
		heap.Push(&a.queue, r)
		a.buildRoomMetrics(r)
	}
	return a, nil
}

// sameCredentials reports whether two configurations of an app reach the
// same upstream with the same identity.
func (ac *AppConfig) sameCredentials(other *AppConfig) bool {
	return ac.SDKAppID == other.SDKAppID && ac.Region == other.Region && ac.Endpoint == other.Endpoint &&
		ac.Identifier == other.Identifier && ac.SecretKey == other.SecretKey
}

// gateQPS is this exporter's share of the app's max_qps.
func (a *app) gateQPS(shards int) float64 { return a.cfg.MaxQPS / float64(shards) }

// adopt takes over the state of the same app before a reload. prev must
// be stopped.
func (a *app) adopt(prev *app) {
	prev.mu.Lock()
	defer prev.mu.Unlock()
	a.lastDemand = prev.lastDemand
	if a.cfg.sameCredentials(prev.cfg) {
		// Otherwise the reload may be the fix: ask at once.
		a.up, a.blockedUntil, a.authBackoff = prev.up, prev.blockedUntil, prev.authBackoff
	}
	byID := make(map[string]*room, len(prev.rooms))
	for _, r := range prev.rooms {
		byID[r.id] = r
	}
	for _, r := range a.rooms {
		p, ok := byID[r.id]
		if !ok {
			continue
		}
		r.due, r.attempted, r.up, r.exists = p.due, p.attempted, p.up, p.exists
		r.hasCount, r.members, r.lastSuccess, r.backoff = p.hasCount, p.members, p.lastSuccess, p.backoff
		if r.up && r.lastSuccess.Add(a.refresh).Before(r.due) {
			r.due = r.lastSuccess.Add(a.refresh) // a shorter refresh_interval applies now
		}
		r.backoff = min(r.backoff, time.Duration(a.cfg.OfflineBackoffMax))
		a.buildRoomMetrics(r)
	}
	heap.Init(&a.queue)
}

// Refresh is called at the start of each scrape: it marks demand and waits
// until every room whose data is due has been refreshed, or ctx ends
// (the scrape's budget). Refreshing goes on afterwards, paced, while
// scrapes keep coming.
func (e *Exporter) Refresh(ctx context.Context) {
	e.mu.RLock()
	apps := e.apps
	e.mu.RUnlock()
	now := time.Now()
	for _, a := range apps {
		a.demand(now)
	}
	var wg sync.WaitGroup
	for _, a := range apps {
		wg.Go(func() { a.awaitRefresh(ctx, now) })
	}
	wg.Wait()
}

// Config returns the running configuration.
func (e *Exporter) Config() *Config {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg
}

// Close stops every app's refreshing and waits for it.
func (e *Exporter) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range e.apps {
		a.stop()
	}
	e.apps = nil
}

// Describe implements prometheus.Collector. It sends nothing: room
// descriptors change with the configuration, so the Exporter registers as
// an unchecked collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector: it passes on the metrics built
// when rooms were refreshed, without calling upstream.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.RLock()
	apps := e.apps
	e.mu.RUnlock()
	for _, a := range apps {
		a.collect(ch)
	}
	e.inst.collect(ch)
}
