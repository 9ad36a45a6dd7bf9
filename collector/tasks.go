package collector

import (
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// taskKind is one upstream command. Each room has one task per room kind,
// with its own due time and back-off; the app has one discovery task. Each
// kind has its own queue, gate and concurrency cap. Adding a command adds
// a kind here, a case to appRuntime.fetch and the fields its answers fill
// in room; the worker stays the same.
type taskKind int

const (
	taskMembers taskKind = iota // get_member_list: the room's member count
	taskStats                   // get_room_stats: engagement counters
	taskInfo                    // get_room_info: capacity, seats, type
	numRoomTaskKinds
	// taskDiscovery is get_room_list: one sweep of the app's listing.
	taskDiscovery = numRoomTaskKinds
	numTaskKinds  = numRoomTaskKinds + 1
)

// command is the upstream command of a task kind.
func (k taskKind) command() string {
	switch k {
	case taskMembers:
		return tencent.CommandGetMemberList
	case taskStats:
		return tencent.CommandGetRoomStats
	case taskInfo:
		return tencent.CommandGetRoomInfo
	case taskDiscovery:
		return tencent.CommandGetRoomList
	}
	return "unknown"
}

// scrapeWaits reports whether a scrape waits for due tasks of this kind
// before answering.
func (k taskKind) scrapeWaits() bool { return k == taskMembers }

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
