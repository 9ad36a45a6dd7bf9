package collector

import (
	"container/heap"
	"time"
)

// outcome is what a task's last attempt taught, which decides how its due
// time follows from settings that a reload may change.
type outcome int8

const (
	outcomeNone      outcome = iota // never attempted, or cancelled
	outcomeOK                       // answered: due after refresh_interval
	outcomeRoomFact                 // 100004/100006...: due after the back-off
	outcomeTransient                // failed: due after refresh_interval / 4
)

// task is one (room, command) schedule, or the app's discovery sweep
// (room nil).
type task struct {
	room *room // nil for the discovery sweep
	kind taskKind

	heapIndex   int // position in the kind's queue; -1 while not queued
	inFlight    bool
	due         time.Time
	lastAttempt time.Time
	outcome     outcome
	backoff     time.Duration // room-fact back-off, 0 after an answer
	deferred    bool          // whether deferredDue holds a counted due time
	deferredDue time.Time     // the due time already counted as deferred
}

// taskQueue is a min-heap of tasks by due time: the stalest first, ties
// broken by the rooms' order in the configuration.
type taskQueue []*task

func (q taskQueue) Len() int { return len(q) }
func (q taskQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].roomIndex() < q[j].roomIndex()
}
func (q taskQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].heapIndex = i
	q[j].heapIndex = j
}
func (q *taskQueue) Push(x any) {
	t := x.(*task)
	t.heapIndex = len(*q)
	*q = append(*q, t)
}
func (q *taskQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	t.heapIndex = -1
	return t
}

func (t *task) roomIndex() int {
	if t.room == nil {
		return -1
	}
	return t.room.index
}

// scheduler holds an app's tasks: a queue per command, the commands
// turned on, their intervals and caps of requests in flight. It knows
// nothing of upstream answers; the runtime tells it when a task is due.
type scheduler struct {
	queues    [numTaskKinds]taskQueue
	enabled   [numTaskKinds]bool
	interval  [numTaskKinds]time.Duration
	caps      [numTaskKinds]int // requests in flight per kind
	inFlight  map[*task]struct{}
	inFlightN int // requests in flight, those of removed rooms included
	inFlightK [numTaskKinds]int
}

func newScheduler() scheduler {
	return scheduler{inFlight: map[*task]struct{}{}}
}

// push queues a task at its due time.
func (s *scheduler) push(t *task) { heap.Push(&s.queues[t.kind], t) }

// remove unqueues a task; one in flight is forgotten, though still
// counted in inFlightN until it completes.
func (s *scheduler) remove(t *task) {
	if t.heapIndex >= 0 {
		heap.Remove(&s.queues[t.kind], t.heapIndex)
	}
	delete(s.inFlight, t)
}

// dueNow brings a queued task's due time forward to now.
func (s *scheduler) dueNow(t *task, now time.Time) {
	if t.heapIndex >= 0 && t.due.After(now) {
		t.due = now
		heap.Fix(&s.queues[t.kind], t.heapIndex)
	}
}

// fix restores a queued task's place after its due time changed.
func (s *scheduler) fix(t *task) {
	if t.heapIndex >= 0 {
		heap.Fix(&s.queues[t.kind], t.heapIndex)
	}
}

// done notes that a task's request completed.
func (s *scheduler) done(t *task) {
	s.inFlightN--
	s.inFlightK[t.kind]--
	delete(s.inFlight, t)
	t.inFlight = false
}

// next takes the task to start now, of a kind ready allows, or says how
// long until one is due. ready reports whether a kind may start a request
// now, and if not, how long until it may (forever: until woken).
func (s *scheduler) next(now time.Time, ready func(k taskKind, inFlight int) (bool, time.Duration)) (*task, time.Duration) {
	wait := forever
	// Each kind has its own cap, so no command starves another of slots
	// while its requests wait at their own gate.
	for k := range s.queues {
		q := &s.queues[k]
		if len(*q) == 0 || s.inFlightK[k] >= s.caps[k] {
			continue // a completion wakes the worker
		}
		top := (*q)[0]
		if top.due.After(now) {
			wait = min(wait, top.due.Sub(now))
			continue
		}
		if ok, w := ready(taskKind(k), s.inFlightK[k]); !ok {
			wait = min(wait, w)
			continue
		}
		t := heap.Pop(q).(*task)
		t.inFlight = true
		s.inFlight[t] = struct{}{}
		s.inFlightN++
		s.inFlightK[k]++
		return t, 0
	}
	return nil, wait
}

// pending reports whether a task a scrape waits for, due at t0, is still
// queued or in flight; each queue is a heap, so its top tells.
func (s *scheduler) pending(t0 time.Time) bool {
	for t := range s.inFlight {
		if t.kind.scrapeWaits() && !t.due.After(t0) {
			return true
		}
	}
	for k, q := range s.queues {
		if taskKind(k).scrapeWaits() && len(q) > 0 && !q[0].due.After(t0) {
			return true
		}
	}
	return false
}

// deferDue counts the tasks due at t0 that a scrape gives up waiting for.
// A task counts once per due time, however many scrapes waited.
func (s *scheduler) deferDue(t0 time.Time) int {
	n := 0
	count := func(t *task) {
		if t.kind.scrapeWaits() && !t.due.After(t0) && !(t.deferred && t.deferredDue.Equal(t.due)) {
			t.deferred, t.deferredDue = true, t.due
			n++
		}
	}
	for t := range s.inFlight {
		count(t)
	}
	for _, q := range s.queues {
		for _, t := range q {
			count(t)
		}
	}
	return n
}

// schedule queues or unqueues a task as its command is turned on or off,
// and clamps its due time to the current settings: no task waits longer
// than they allow after its last attempt. backoffMax caps room-fact
// back-offs. The caller re-inits the heaps.
func (s *scheduler) schedule(t *task, now time.Time, backoffMax time.Duration) {
	k := t.kind
	if !s.enabled[k] {
		if t.heapIndex >= 0 {
			heap.Remove(&s.queues[k], t.heapIndex)
		}
		return
	}
	if t.heapIndex < 0 && !t.inFlight {
		if t.outcome == outcomeNone {
			t.due = now
		}
		heap.Push(&s.queues[k], t)
	}
	interval := s.interval[k]
	var bound time.Time
	switch t.outcome {
	case outcomeOK:
		bound = t.lastAttempt.Add(interval)
	case outcomeRoomFact:
		t.backoff = min(t.backoff, max(backoffMax, interval))
		bound = t.lastAttempt.Add(t.backoff)
	case outcomeTransient:
		bound = t.lastAttempt.Add(transientDelayOf(interval))
	default:
		return
	}
	if bound.Before(t.due) {
		t.due = bound
	}
}

// reinit restores the heaps after due times changed in place.
func (s *scheduler) reinit() {
	for k := range s.queues {
		heap.Init(&s.queues[k])
	}
}

// transientDelayOf is how long a task of this interval waits after a
// transient failure.
func transientDelayOf(interval time.Duration) time.Duration {
	return max(interval/transientRetryFactor, minTransientRetry)
}
