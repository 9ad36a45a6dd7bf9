package collector

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// The outcome policy, as a reader would state it: who owns what.
func TestOutcomeOwners(t *testing.T) {
	apiErr := func(code int) error { return &tencent.APIError{Code: code} }
	timeout := &tencent.TransportError{Code: "timeout", Err: errors.New("deadline")}
	tests := []struct {
		kind taskKind
		err  error
		want owner
	}{
		{taskMembers, nil, ownerRoom},
		{taskMembers, apiErr(100004), ownerRoom},
		{taskMembers, apiErr(100006), ownerRoom},
		{taskMembers, apiErr(70009), ownerApp},
		{taskMembers, apiErr(60010), ownerApp},
		{taskMembers, apiErr(60007), ownerGate},
		{taskMembers, apiErr(60011), ownerGate},
		{taskMembers, timeout, ownerApp},
		{taskMembers, apiErr(100001), ownerTask},
		{taskStats, nil, ownerRoom},
		{taskStats, apiErr(100004), ownerHint},
		{taskStats, apiErr(100006), ownerTaskBackoff},
		{taskStats, apiErr(60010), ownerCommand},
		{taskStats, apiErr(70009), ownerCommand},
		{taskStats, apiErr(60007), ownerGate},
		{taskStats, timeout, ownerTask},
		{taskInfo, apiErr(100004), ownerHint},
		{taskInfo, apiErr(60020), ownerCommand},
		{taskDiscovery, apiErr(60010), ownerCommand},
		{taskDiscovery, timeout, ownerTask},
		{taskDiscovery, apiErr(100001), ownerTask},
	}
	for _, tc := range tests {
		if got := commands[tc.kind].owners[classifyAnswer(tc.err)]; got != tc.want {
			t.Errorf("%s answering %v: owner %d; want %d", tc.kind.command(), tc.err, got, tc.want)
		}
	}
	primaries := 0
	for _, c := range commands {
		if c.primary {
			primaries++
		}
	}
	if primaries != 1 {
		t.Errorf("%d primary commands; want exactly 1", primaries)
	}
}

func testHealth() appHealth {
	h := newAppHealth()
	h.logger = slog.New(slog.DiscardHandler)
	return h
}

// A denied command backs off alone: doubling from retry, capped, one probe
// at a time afterwards; a useful answer ends it. The app stays up.
func TestCommandBackoff(t *testing.T) {
	h := testHealth()
	h.contact = contactAccepted
	now := time.Unix(1_700_000_000, 0)
	denied := &tencent.APIError{Code: 60010}
	retry := 15 * time.Second
	var got []time.Duration
	for range 8 {
		h.commandFailing(taskStats, now, retry, "60010", denied)
		got = append(got, h.commands[taskStats].backoff)
		if ok, wait := h.ready(taskStats, 0, 0, now); ok || wait != h.commands[taskStats].backoff {
			t.Fatalf("ready while backing off: %v, wait %v", ok, wait)
		}
		if ok, _ := h.ready(taskMembers, 0, 0, now); !ok {
			t.Fatal("get_member_list held back by get_room_stats' back-off")
		}
		now = h.commands[taskStats].blockedUntil
	}
	want := []time.Duration{15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("back-offs %v; want %v", got, want)
		}
	}
	if ok, _ := h.ready(taskStats, 0, 0, now); !ok {
		t.Error("no probe once the back-off ended")
	}
	if ok, _ := h.ready(taskStats, 1, 1, now); ok {
		t.Error("a second request while the probe is in flight")
	}
	if !h.up || h.commandUp(taskStats) || !h.commandUp(taskMembers) {
		t.Errorf("up %v, command_up stats %v, members %v; want true, false, true", h.up, h.commandUp(taskStats), h.commandUp(taskMembers))
	}
	h.commandAnswered(taskStats, now)
	if !h.commandUp(taskStats) || h.commands[taskStats].backoff != 0 {
		t.Error("a useful answer did not end the command's back-off")
	}
	if ok, _ := h.ready(taskStats, 5, 5, now); !ok {
		t.Error("requests held back after the command recovered")
	}
}

// The app goes down once per burst of failures, and a primary answer
// brings it back.
func TestAppFailing(t *testing.T) {
	h := testHealth()
	now := time.Unix(1_700_000_000, 0)
	denied := &tencent.APIError{Code: 70009}
	if !h.appFailing(now, authBackoffMax, 10*time.Second, taskMembers, "70009", denied) {
		t.Fatal("the first denial did not take the app down")
	}
	if h.appFailing(now.Add(time.Second), authBackoffMax, 10*time.Second, taskMembers, "70009", denied) {
		t.Error("a second denial of the same burst took the app down again")
	}
	if ok, wait := h.ready(taskStats, 0, 0, now); ok || wait != 10*time.Second {
		t.Errorf("ready = %v, wait %v during the app's back-off; want false, 10s", ok, wait)
	}
	if h.up || h.commandUp(taskMembers) {
		t.Error("app up while denied")
	}
	after := now.Add(10 * time.Second)
	if ok, _ := h.ready(taskMembers, 0, 0, after); !ok {
		t.Error("no probe after the back-off")
	}
	if ok, _ := h.ready(taskMembers, 0, 1, after); ok {
		t.Error("more than one probe while the credentials are not accepted")
	}
	h.commandAnswered(taskMembers, after)
	if !h.up || h.contact != contactAccepted || !h.commandUp(taskMembers) {
		t.Error("a get_member_list answer did not bring the app back")
	}
}

// No answer takes an app that had answered down only after noAnswerLimit
// in a row.
func TestNoAnswerLimit(t *testing.T) {
	h := testHealth()
	h.contact = contactAccepted
	now := time.Unix(1_700_000_000, 0)
	timeout := &tencent.TransportError{Code: "timeout"}
	for i := 1; i < noAnswerLimit; i++ {
		if h.noAnswer(now, taskMembers, time.Second, "timeout", timeout) {
			t.Fatalf("down after %d requests without an answer", i)
		}
	}
	if !h.noAnswer(now, taskMembers, time.Second, "timeout", timeout) {
		t.Fatalf("not down after %d requests without an answer", noAnswerLimit)
	}
}

// The scheduler hands out due tasks, stalest first, within each kind's cap
// and what the health allows; dueNow brings a task forward.
func TestScheduler(t *testing.T) {
	s := newScheduler()
	now := time.Unix(1_700_000_000, 0)
	s.enabled = [numTaskKinds]bool{taskMembers: true, taskStats: true}
	s.caps = [numTaskKinds]int{taskMembers: 1, taskStats: 1}
	a, b := newRoom("a", 0), newRoom("b", 1)
	a.tasks[taskMembers].due = now.Add(time.Second)
	b.tasks[taskMembers].due = now.Add(2 * time.Second)
	b.tasks[taskStats].due = now
	for _, tk := range []*task{&a.tasks[taskMembers], &b.tasks[taskMembers], &b.tasks[taskStats]} {
		s.push(tk)
	}
	all := func(taskKind, int) (bool, time.Duration) { return true, 0 }
	noStats := func(k taskKind, _ int) (bool, time.Duration) { return k != taskStats, time.Minute }

	if tk, wait := s.next(now, noStats); tk != nil || wait != time.Second {
		t.Fatalf("next = %v, %v; want nothing for 1s (stats held back)", tk, wait)
	}
	s.dueNow(&b.tasks[taskMembers], now)
	tk, _ := s.next(now, all)
	if tk != &b.tasks[taskMembers] {
		t.Fatalf("next = %+v; want b's member task, made due now", tk)
	}
	if tk2, _ := s.next(now, noStats); tk2 != nil {
		t.Fatalf("a second member task started beyond the cap of 1: %+v", tk2)
	}
	s.done(tk)
	if !s.pending(now.Add(time.Second)) {
		t.Error("a's member task, due at 1s, not pending for a scrape that arrived then")
	}
	if s.pending(now) {
		t.Error("pending for a scrape that arrived before any member task was due")
	}
	if got := s.deferDue(now.Add(time.Second)); got != 1 {
		t.Errorf("deferDue = %d; want 1", got)
	}
	if got := s.deferDue(now.Add(time.Second)); got != 0 {
		t.Errorf("deferDue counted the same due time twice: %d", got)
	}
}
