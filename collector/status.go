package collector

import (
	"errors"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// callRateWindow is how far back Status looks to compute calls per second.
const callRateWindow = 10 * time.Second

// AppStatus is an app's state for people (the landing page): what the
// metrics say, in one place.
type AppStatus struct {
	Name      string
	Owned     bool // by this shard; the others' are listed with their owner only
	Shard     int  // the shard that owns it
	Up        bool
	Rooms     int // rooms watched by this exporter
	Deferred  int // room refreshes scrapes could not wait for, since the app started
	LastError *ErrorStatus
	Commands  []CommandStatus
}

// ErrorStatus is the last failure of an app's upstream calls.
type ErrorStatus struct {
	Command   string
	Code      string // as in tencent_live_scrape_errors_total
	RequestID string // empty when the upstream gave none
	Time      time.Time
}

// CommandStatus is one upstream command of an app.
type CommandStatus struct {
	Command     string
	Up          bool    // accepted: see tencent_live_command_up
	CallsPerSec float64 // over the last callRateWindow
	MaxQPS      float64
	LimiterQPS  float64
}

// Status reports every configured app: those this shard owns in the order
// of their names (as in /metrics), then those other shards own, in
// configuration order.
func (e *Exporter) Status() []AppStatus {
	v := e.view()
	out := make([]AppStatus, 0, len(v.apps))
	now := time.Now()
	for _, a := range v.apps {
		rt := a.rt
		rt.mu.Lock()
		st := AppStatus{Name: rt.name, Owned: true, Shard: e.opts.ShardIndex, Up: rt.health.up, Rooms: len(a.rooms), Deferred: rt.deferredTotal}
		if le := rt.health.lastError; le != nil {
			st.LastError = new(*le)
		}
		for k, c := range commands {
			if !rt.sched.enabled[k] {
				continue
			}
			st.Commands = append(st.Commands, CommandStatus{
				Command:     c.name,
				Up:          rt.health.commandUp(taskKind(k)),
				CallsPerSec: rt.calls[k].rate(now, callRateWindow),
			})
		}
		rt.mu.Unlock()
		for i := range st.Commands {
			st.Commands[i].MaxQPS, st.Commands[i].LimiterQPS = rt.gates.limits(st.Commands[i].Command)
		}
		out = append(out, st)
	}
	for _, o := range v.others {
		out = append(out, AppStatus{Name: o.Name, Shard: o.Shard})
	}
	return out
}

// callCounter counts calls per second over the last minute.
type callCounter struct {
	secs   [60]int64 // unix second of each bucket
	counts [60]int
}

func (c *callCounter) add(t time.Time) {
	sec := t.Unix()
	i := sec % int64(len(c.secs))
	if c.secs[i] != sec {
		c.secs[i], c.counts[i] = sec, 0
	}
	c.counts[i]++
}

// rate is the calls per second over the complete seconds of the last
// window before now.
func (c *callCounter) rate(now time.Time, window time.Duration) float64 {
	n := int64(window / time.Second)
	end := now.Unix() // the current second is incomplete: not counted
	total := 0
	for sec := end - n; sec < end; sec++ {
		i := sec % int64(len(c.secs))
		if c.secs[i] == sec {
			total += c.counts[i]
		}
	}
	return float64(total) / float64(n)
}

// errorStatus describes err for Status.
func errorStatus(command, code string, err error, now time.Time) *ErrorStatus {
	es := &ErrorStatus{Command: command, Code: code, Time: now}
	var apiErr *tencent.APIError
	if errors.As(err, &apiErr) {
		es.RequestID = apiErr.RequestID
	}
	return es
}
