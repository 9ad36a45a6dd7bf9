// Package collector owns what tencent_live_exporter collects: the YAML
// configuration, the per-app runtimes that refresh rooms within their
// budget (gates per command, concurrency cap, back-offs) and the
// Prometheus metrics. It imports package tencent for the wire protocol;
// tencent never imports it.
package collector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// ErrClosed is returned by ApplyConfig after Close.
var ErrClosed = errors.New("exporter closed")

// Options are the exporter's settings that do not come from the
// configuration file.
type Options struct {
	Logger    *slog.Logger
	UserAgent string // sent upstream, e.g. "tencent_live_exporter/1.0.0"
	// ShardCount and ShardIndex split the apps among ShardCount
	// exporters: each app belongs to exactly one, chosen by AppShard or by
	// its shard: pin, which polls it at its full limits and serves its
	// series; the others make no call for it. ShardCount 0 or 1 means no
	// sharding.
	ShardCount int
	ShardIndex int
}

// OtherApp is a configured app another shard owns.
type OtherApp struct {
	Name     string
	SDKAppID uint64
	Shard    int // its owner
	webhook  *WebhookConfig
}

// Exporter keeps one long-lived runtime per configured app and exposes
// their rooms. A reload reconciles the runtimes with the new
// configuration instead of rebuilding them. It implements
// prometheus.Collector.
type Exporter struct {
	opts     Options
	logger   *slog.Logger
	inst     *instruments
	retiring sync.WaitGroup // runtimes dropped by a reload, winding down
	arenas   arenaPool      // where scrapes copy room series

	mu       sync.RWMutex
	closed   bool
	cfg      *Config
	runtimes map[runtimeKey]*appRuntime
	order    []*appRuntime           // configuration order
	others   []OtherApp              // apps other shards own, in configuration order
	gates    map[uint64]*appGates    // by SDKAppID: the quota is per app and outlives runtimes
	webhooks map[uint64]webhookRoute // by SDKAppID: the apps with a webhook block
}

// webhookRoute is where a callback of one app goes: its settings, and its
// runtime when this shard owns it.
type webhookRoute struct {
	app WebhookApp
	rt  *appRuntime // nil: another shard owns the app
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
	e := &Exporter{
		opts:     opts,
		logger:   opts.Logger,
		inst:     newInstruments(),
		runtimes: map[runtimeKey]*appRuntime{},
		gates:    map[uint64]*appGates{},
	}
	if err := e.ApplyConfig(cfg); err != nil {
		return nil, err
	}
	return e, nil
}

// ownerOf is the shard that owns app ac: its shard pin, or AppShard.
func (e *Exporter) ownerOf(ac *AppConfig) int {
	if ac.Shard != nil {
		return *ac.Shard
	}
	return AppShard(ac.SDKAppID, e.opts.ShardCount)
}

// commandLimits are an app's per-command ceilings for this exporter.
// Every command has a gate, configured or not, so that a later
// configuration can turn a command on without a new set of gates.
func (e *Exporter) commandLimits(ac *AppConfig) map[string]float64 {
	limits := make(map[string]float64, len(commands))
	for _, c := range commands {
		limits[c.name] = c.maxQPS(ac)
	}
	return limits
}

// appUpdate is what a reload changes in one runtime, prepared before
// anything is touched so that a failure leaves the running state alone.
type appUpdate struct {
	rt       *appRuntime
	ac       *AppConfig
	fresh    bool // a runtime this configuration starts
	signer   *tencent.Signer
	newCreds bool
	client   *tencent.Client
	rooms    []RoomConfig
}

// ApplyConfig reconciles the running apps with cfg. An app (an SDKAppID
// at one upstream) that stays keeps its runtime: rooms that stay keep
// their data, schedules and requests in flight; removed rooms are dropped
// (answers in flight for them are discarded); added rooms are due at once;
// changed settings apply at once. Apps no longer configured stop. On error
// nothing changes. After Close it returns ErrClosed.
func (e *Exporter) ApplyConfig(cfg *Config) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}

	updates := make([]*appUpdate, 0, len(cfg.Apps))
	seen := make(map[runtimeKey]bool, len(cfg.Apps))
	var others []OtherApp
	for _, ac := range cfg.Apps {
		key := keyOf(ac)
		if seen[key] {
			return fmt.Errorf("app %q: another app has the same sdkappid and endpoint", ac.Name)
		}
		seen[key] = true
		if ac.Shard != nil && *ac.Shard >= e.opts.ShardCount {
			return fmt.Errorf("line %d: app %q: shard: %d, but there are %d shards (--shard.count)", ac.line, ac.Name, *ac.Shard, e.opts.ShardCount)
		}
		if owner := e.ownerOf(ac); owner != e.opts.ShardIndex {
			others = append(others, OtherApp{Name: ac.Name, SDKAppID: ac.SDKAppID, Shard: owner, webhook: ac.Webhook})
			continue // another shard polls it: no runtime, no call, no series here
		}
		u := &appUpdate{ac: ac, rt: e.runtimes[key]}
		if u.rt == nil {
			u.fresh = true
			gates := e.gates[ac.SDKAppID]
			if gates == nil {
				gates = newAppGates(e.commandLimits(ac))
			}
			u.rt = newRuntime(key, gates, e.inst)
		}
		u.rt.mu.Lock()
		u.signer, u.newCreds = u.rt.signer, u.rt.cfg == nil || !u.rt.cfg.sameCredentials(ac)
		u.rt.mu.Unlock()
		if u.newCreds {
			u.signer = tencent.NewSigner(ac.SDKAppID, ac.Identifier, string(ac.SecretKey), tencent.WithTTL(time.Duration(ac.UserSigTTL)))
		}
		client, err := u.rt.clientFor(ac, u.signer, e.opts.UserAgent)
		if err != nil {
			return fmt.Errorf("app %q: %w", ac.Name, err)
		}
		u.client = client
		u.rooms = ac.Rooms
		updates = append(updates, u)
	}

	// Nothing can fail from here on.
	var retired []*appRuntime
	for key, rt := range e.runtimes {
		if !seen[key] {
			retired = append(retired, rt)
		}
	}
	slices.SortFunc(retired, func(a, b *appRuntime) int { return cmp.Compare(a.key.sdkAppID, b.key.sdkAppID) })
	e.rename(updates, retired)

	descs := newRoomDescs(cfg)
	now := time.Now()
	runtimes := make(map[runtimeKey]*appRuntime, len(updates))
	order := make([]*appRuntime, 0, len(updates))
	// Gates outlive the apps that use them: an app removed by one reload
	// and added back by the next finds its history, so no sequence of
	// reloads opens a burst. There is one set per SDKAppID ever
	// configured, a few hundred bytes each.
	gates := maps.Clone(e.gates)
	for _, u := range updates {
		limits := e.commandLimits(u.ac)
		u.rt.gates.setLimits(limits, u.ac.MaxQPSTotal)
		gates[u.ac.SDKAppID] = u.rt.gates
		labels := descs.labelPairs(u.ac.Name, u.rooms)
		u.rt.mu.Lock()
		u.rt.applyLocked(u, descs, labels, limits, now)
		u.rt.mu.Unlock()
		if u.fresh {
			u.rt.start()
		}
		u.rt.signal()
		runtimes[u.rt.key] = u.rt
		order = append(order, u.rt)
		e.inst.deferred.WithLabelValues(u.ac.Name) // a series from the start, so rate() works
	}
	for _, rt := range retired {
		e.retiring.Go(rt.wait)
	}
	webhooks := map[uint64]webhookRoute{}
	for _, u := range updates {
		if w := u.ac.Webhook; w != nil {
			webhooks[u.ac.SDKAppID] = webhookRoute{rt: u.rt,
				app: WebhookApp{Name: u.ac.Name, Token: string(w.Token), AllowUnsigned: w.AllowUnsigned, Shard: e.opts.ShardIndex, Owned: true}}
		}
	}
	for _, o := range others {
		if w := o.webhook; w != nil {
			webhooks[o.SDKAppID] = webhookRoute{app: WebhookApp{Name: o.Name, Token: string(w.Token), AllowUnsigned: w.AllowUnsigned, Shard: o.Shard}}
		}
	}
	e.cfg, e.runtimes, e.order, e.others, e.gates, e.webhooks = cfg, runtimes, order, others, gates, webhooks
	for _, ac := range cfg.Apps {
		if ac.Webhook != nil && ac.Webhook.AllowUnsigned {
			e.logger.Warn("Webhook callbacks of this app are accepted unsigned: anybody who can reach the receiver can change its rooms; set a token", "app", ac.Name)
		}
	}
	return nil
}

// rename gives runtimes their new names and retires the dropped ones. The
// series of every name whose owner changes are deleted first, while the
// runtimes involved are locked, so no counter carries one app's history
// under another's name.
func (e *Exporter) rename(updates []*appUpdate, retired []*appRuntime) {
	before := make(map[string]*appRuntime, len(e.runtimes))
	for _, rt := range e.runtimes {
		rt.mu.Lock()
		before[rt.name] = rt
		rt.mu.Unlock()
	}
	after := make(map[string]*appRuntime, len(updates))
	var involved []*appRuntime
	for _, u := range updates {
		after[u.ac.Name] = u.rt
		if !u.fresh && u.rt.name != u.ac.Name {
			involved = append(involved, u.rt)
		}
	}
	for _, rt := range retired {
		rt.retire() // records no metric from now on
	}
	for _, rt := range involved {
		rt.mu.Lock()
	}
	for name, rt := range before {
		if after[name] != rt {
			e.inst.forget(name)
		}
	}
	for _, u := range updates { // involved runtimes are locked; fresh ones not started
		if u.fresh || u.rt.name != u.ac.Name {
			u.rt.name, u.rt.logger = u.ac.Name, e.logger.With("app", u.ac.Name)
			u.rt.health.logger = u.rt.logger
		}
	}
	for _, rt := range involved {
		rt.mu.Unlock()
	}
}

// applyLocked reconciles a runtime with its new configuration. labels
// are those of u.rooms, in order; limits the per-command ceilings.
func (rt *appRuntime) applyLocked(u *appUpdate, descs *roomDescs, labels [][]*dto.LabelPair, limits map[string]float64, now time.Time) {
	ac := u.ac
	rt.cfg, rt.descs, rt.client, rt.signer = ac, descs, u.client, u.signer
	rt.refresh = time.Duration(ac.RefreshInterval)
	rt.backoffMax = time.Duration(ac.OfflineBackoffMax)
	rt.maxAge = time.Duration(ac.MaxAge)
	rt.disc.cfg = ac.Discovery
	rt.webhook = ac.Webhook
	rt.health.settle = 2 * max(rt.refresh, rt.transientDelay())
	if u.newCreds {
		rt.gen++
		rt.health.reset()
	}
	for k, c := range commands {
		on := c.enabled(ac)
		rt.sched.enabled[k] = on
		rt.sched.caps[k] = c.concurrency(ac, limits[c.name])
		if on {
			rt.sched.interval[k] = c.interval(ac)
		} else {
			rt.health.commands[k] = commandHealth{}
		}
	}
	for src := range rt.sourceOn {
		rt.sourceOn[src] = sourceEnabled(rt.sched.enabled, src)
	}
	if ac.Webhook != nil {
		rt.sourceOn[sourceMeta] = true // created and info-updated events carry metadata
	}
	if ac.Discovery == nil {
		rt.disc.listed, rt.disc.skipped, rt.disc.lastSweep = 0, 0, time.Time{}
	}
	rt.nextExpiry = time.Time{} // max_age or intervals may have changed

	// The room set: configured rooms in order, then discovered ones.
	order := make([]*room, 0, len(u.rooms)+len(rt.order))
	static := make(map[string]bool, len(u.rooms))
	for i, rc := range u.rooms {
		r, ok := rt.rooms[rc.ID]
		if !ok {
			r = rt.addRoomLocked(rc.ID, nil, now)
		}
		r.static, r.labels = true, labels[i]
		static[rc.ID] = true
		order = append(order, r)
	}
	for _, r := range rt.order {
		switch {
		case static[r.id]:
		case r.discovered && ac.Discovery != nil:
			r.static, r.labels = false, descs.roomLabels(ac.Name, r.id, nil)
			order = append(order, r)
		default:
			rt.removeRoomLocked(r)
		}
	}
	rt.setOrderLocked(order)

	// Tasks follow the commands turned on or off; settings apply to
	// existing schedules at once: no task waits longer than the new
	// settings allow after its last attempt.
	for _, r := range order {
		r.idLabels = idLabelPairs(ac.Name, r.id)
		if ac.Discovery == nil {
			r.discovered, r.missed = false, 0 // a configured room the listing had shown
		}
		for src, on := range rt.sourceOn {
			if !on && src != sourceMeta { // metadata: below, as listings may have set it
				roomSources[src].drop(rt, r) // nothing refreshes it any more
			}
		}
		if !r.discovered && !roomCommandFills(rt.sched.enabled, sourceMeta) && ac.Webhook == nil {
			r.meta = nil // nothing says what it is any more
		}
		if r.meta != nil && r.meta.known {
			r.meta.info = nil
			rt.infoLabelsLocked(r)
		}
		for k := range r.tasks {
			rt.sched.schedule(&r.tasks[k], now, rt.backoffMax)
		}
	}
	rt.sched.schedule(&rt.sweep, now, rt.backoffMax)
	rt.sched.reinit()
	if ac.Discovery != nil {
		rt.rankLocked(nil, rt.disc.candidates, false, now) // max_rooms may be lower now
	}
	for _, r := range rt.order {
		rt.buildRoomMetricsLocked(r)
	}
}

// sameCredentials reports whether two configurations of an app reach the
// same upstream with the same identity.
func (ac *AppConfig) sameCredentials(other *AppConfig) bool {
	return ac.SDKAppID == other.SDKAppID && ac.Region == other.Region && ac.Endpoint == other.Endpoint &&
		ac.Identifier == other.Identifier && ac.SecretKey == other.SecretKey && ac.UserSigTTL == other.UserSigTTL
}

// Refresh is called at the start of each scrape: it marks demand and waits
// until every room whose data is due has been refreshed, or ctx ends (the
// scrape's budget). It returns the View of the rooms it waited on, which
// the scrape should expose: a reload during the wait does not mix two room
// sets into one answer. Refreshing goes on afterwards, paced, while
// scrapes keep coming.
func (e *Exporter) Refresh(ctx context.Context) *View {
	v := e.view()
	now := time.Now()
	for _, a := range v.apps {
		a.rt.demand(now)
	}
	var wg sync.WaitGroup
	for _, a := range v.apps {
		wg.Go(func() { a.rt.awaitRefresh(ctx, now) })
	}
	wg.Wait()
	return v
}

// Config returns the running configuration.
func (e *Exporter) Config() *Config {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg
}

// Close stops every app's refreshing and waits for it. It is final: later
// ApplyConfig calls return ErrClosed, and later scrapes see no app.
func (e *Exporter) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.retiring.Wait()
		return
	}
	e.closed = true
	order := e.order
	e.runtimes, e.order = map[runtimeKey]*appRuntime{}, nil
	for _, rt := range order {
		rt.retire()
		e.retiring.Go(rt.wait)
	}
	e.mu.Unlock()
	e.retiring.Wait()
}

// Describe implements prometheus.Collector. It sends nothing: room
// descriptors change with the configuration, so the Exporter registers as
// an unchecked collector.
func (e *Exporter) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector: it collects the current View
// without refreshing anything.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.view().Collect(ch)
}
