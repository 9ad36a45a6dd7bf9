package collector

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// contact is what the runtime knows of the upstream's view of its
// credentials. Until it has accepted them, one request at a time probes.
type contact int8

const (
	contactUnknown  contact = iota // first contact, or credentials changed
	contactAccepted                // the upstream answered
	contactFailing                 // auth/config errors, or no answer at all
)

// commandBackoffMax caps the back-off of a command whose calls are
// denied (an auth, permission or configuration answer).
const commandBackoffMax = 10 * time.Minute

// appHealth is what an app's answers say of the app and of each command
// as a whole: whether the upstream accepts them, the back-offs, and which
// failures have been logged. It knows nothing of rooms; it is guarded by
// the runtime's lock.
type appHealth struct {
	logger *slog.Logger
	// settle is how long a command must keep answering after its last
	// failure before the failure is logged as over.
	settle time.Duration

	contact      contact
	up           bool
	blockedUntil time.Time
	backoff      time.Duration
	noAnswers    int // requests of the primary command in a row without an answer
	warned       map[warnKey]*warnState
	lastError    *ErrorStatus
	commands     [numTaskKinds]commandHealth
}

// commandHealth is one command's state for the whole app.
type commandHealth struct {
	failing      bool // its last answer denied it (or, for the primary command, the app is down)
	blockedUntil time.Time
	backoff      time.Duration
	lastCode     string
}

type warnKey struct{ command, code string }

type warnState struct {
	last        time.Time // logged
	lastFailure time.Time
	suppressed  int
}

func newAppHealth() appHealth {
	return appHealth{up: true, warned: map[warnKey]*warnState{}}
}

// reset forgets what the upstream said of earlier credentials: a reload
// may be the fix, so the app probes at once, one request first.
func (h *appHealth) reset() {
	h.contact, h.blockedUntil, h.backoff, h.noAnswers = contactUnknown, time.Time{}, 0, 0
	for k := range h.commands {
		h.commands[k].blockedUntil, h.commands[k].backoff = time.Time{}, 0
	}
}

// blocked reports whether the app is backing off at now.
func (h *appHealth) blocked(now time.Time) bool { return now.Before(h.blockedUntil) }

// ready reports whether a request of kind k may start now, with inFlight
// of its requests in flight, or how long until one may (forever: until a
// completion). While the upstream has not accepted the app's credentials,
// or a command's, one request probes at a time.
func (h *appHealth) ready(k taskKind, inFlight, appInFlight int, now time.Time) (bool, time.Duration) {
	switch c := &h.commands[k]; {
	case now.Before(h.blockedUntil):
		return false, h.blockedUntil.Sub(now)
	case h.contact != contactAccepted && appInFlight >= 1:
		return false, forever
	case now.Before(c.blockedUntil):
		return false, c.blockedUntil.Sub(now)
	case c.failing && inFlight >= 1:
		return false, forever
	}
	return true, 0
}

// answered notes that the upstream accepted the app's credentials.
// command, when set, had a useful answer: failures logged for it are over.
func (h *appHealth) answered(now time.Time, command string) {
	if h.contact == contactFailing {
		h.logger.Info("App requests accepted again")
	}
	h.contact, h.up = contactAccepted, true
	h.backoff, h.blockedUntil, h.noAnswers = 0, time.Time{}, 0
	h.commands[primaryKind].failing = false
	if command != "" {
		h.settled(now, command)
	}
}

// settled ends the logged failures of a command that keeps answering:
// a failure is over once the failing rooms, retried after settle, have not
// failed again.
func (h *appHealth) settled(now time.Time, command string) {
	var codes []string
	for k, w := range h.warned {
		if k.command == command && now.Sub(w.lastFailure) > h.settle {
			codes = append(codes, k.code)
			delete(h.warned, k)
		}
	}
	if len(codes) > 0 {
		sort.Strings(codes)
		h.logger.Info("Upstream calls succeeding again", "command", command, "codes_before", codes)
	}
}

// commandAnswered notes a useful answer of command k: if the command was
// denied, it is accepted again. The primary command's answers accept the
// app too.
func (h *appHealth) commandAnswered(k taskKind, now time.Time) {
	if commands[k].primary {
		h.answered(now, commands[k].name)
		return
	}
	c := &h.commands[k]
	if c.failing {
		h.logger.Info("Upstream command accepted again", "command", commands[k].name, "code_before", c.lastCode)
	}
	*c = commandHealth{}
	h.settled(now, commands[k].name)
}

// commandFailing notes that command k was denied (auth, permission or
// configuration): the command alone backs off, doubling from retry up to
// commandBackoffMax.
func (h *appHealth) commandFailing(k taskKind, now time.Time, retry time.Duration, code string, err error) {
	command := commands[k].name
	h.warn(now, slog.LevelError, command, code, err)
	c := &h.commands[k]
	c.failing, c.lastCode = true, code
	if now.Before(c.blockedUntil) {
		return // another request of the same burst: already backing off
	}
	c.backoff = min(max(2*c.backoff, retry), max(commandBackoffMax, retry))
	c.blockedUntil = now.Add(c.backoff)
}

// noAnswer notes a request of the primary command that got no answer. An
// app that never answered, or stopped answering, backs off and then sends
// one probe. It reports whether the app went down.
func (h *appHealth) noAnswer(now time.Time, k taskKind, retry time.Duration, code string, err error) bool {
	h.noAnswers++
	if h.contact == contactAccepted && h.noAnswers < noAnswerLimit {
		h.warn(now, slog.LevelWarn, commands[k].name, code, err)
		return false
	}
	return h.appFailing(now, retry, retry, k, code, err)
}

// appFailing marks the app down and blocks it for a doubling back-off,
// from retry up to limit, before one probe. It reports whether the app
// went down with this answer.
func (h *appHealth) appFailing(now time.Time, limit, retry time.Duration, k taskKind, code string, err error) bool {
	level := slog.LevelWarn
	if tencent.Classify(err) == tencent.ClassConfig {
		level = slog.LevelError
	}
	h.warn(now, level, commands[k].name, code, err)
	h.commands[k].failing, h.commands[k].lastCode = true, code
	if now.Before(h.blockedUntil) {
		return false // another request of the same burst: already backing off
	}
	h.backoff = min(max(2*h.backoff, retry), max(limit, retry))
	h.blockedUntil = now.Add(h.backoff)
	wasUp := h.up
	h.contact, h.up = contactFailing, false
	return wasUp
}

// warn logs a failure the first time it happens for a command and code,
// then at most once per warnEvery while it goes on.
func (h *appHealth) warn(now time.Time, level slog.Level, command, code string, err error) {
	k := warnKey{command, code}
	w, seen := h.warned[k]
	if seen {
		w.lastFailure = now
	}
	if seen && now.Sub(w.last) < warnEvery {
		w.suppressed++
		return
	}
	if !seen {
		w = &warnState{lastFailure: now}
		h.warned[k] = w
	}
	var requestID string
	var apiErr *tencent.APIError
	if errors.As(err, &apiErr) {
		requestID = apiErr.RequestID
	}
	msg := "Upstream calls failing"
	if seen {
		msg = "Upstream calls still failing"
	}
	h.logger.Log(context.Background(), level, msg, "command", command, "code", code, "request_id", requestID,
		"failures_since_last_log", w.suppressed+1, "err", err)
	w.last, w.suppressed = now, 0
}

// commandUp reports whether command k is accepted: for the primary
// command, whether the app is up.
func (h *appHealth) commandUp(k taskKind) bool {
	if commands[k].primary {
		return h.up
	}
	return !h.commands[k].failing
}
