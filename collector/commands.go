package collector

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

// taskKind is one upstream command: the index of its entry in commands.
// Each room has one task per per-room kind, with its own due time and
// back-off; the app has one discovery task.
type taskKind int

const (
	taskMembers taskKind = iota // get_member_list: the room's member count
	taskSeats                   // get_seat_list: who is on stage
	taskStats                   // get_room_stats: engagement counters
	taskInfo                    // get_room_info: capacity, seats, type
	numRoomTaskKinds
	// taskDiscovery is get_room_list: one sweep of the app's listing.
	taskDiscovery = numRoomTaskKinds
	numTaskKinds  = numRoomTaskKinds + 1
)

// primaryKind is the primary command's kind: whether a room exists and
// whether the app is up are its to say.
const primaryKind = taskMembers

// commandSpec is everything the collector knows of one upstream command.
// The worker, the gates, the reload and the view loop over commands;
// adding a command adds an entry here (see "Adding a command" in
// docs/design.md), not a case in each of them.
type commandSpec struct {
	name string // the upstream command, as in metric labels
	// primary: the command whose answers decide whether a room exists and
	// whether the app is up. Exactly one command is primary.
	primary bool
	// scrapeWaits: a scrape waits for this command's due tasks.
	scrapeWaits bool
	// priority orders the commands at the app-wide gate (max_qps_total):
	// lower goes first.
	priority int
	// enabled says whether a configuration turns the command on.
	enabled func(*AppConfig) bool
	// interval is how often each task of an enabled command is due.
	interval func(*AppConfig) time.Duration
	// maxQPS is the command's ceiling in a configuration, enabled or not:
	// every command has a gate, so turning one on needs no new gate.
	maxQPS func(*AppConfig) float64
	// concurrency is the requests of the command in flight at once, given
	// its ceiling.
	concurrency func(ac *AppConfig, maxQPS float64) int
	// sources are the room snapshots (roomSources) the command fills.
	sources []int
	// fetch calls the command for a task. apply stores a successful
	// answer; it runs under the runtime's lock.
	fetch func(ctx context.Context, rt *appRuntime, c *tencent.Client, t *task) (apply func(now time.Time), err error)
	// owners says who owns each class of answer (primaryOwners or
	// optionalOwners).
	owners [numAnswerClasses]owner
}

// commands is the table of upstream commands, indexed by taskKind. It is
// filled by init: its entries call the runtime, which reads the table.
var commands [numTaskKinds]commandSpec

func init() {
	commands = [numTaskKinds]commandSpec{
		taskMembers: {
			name:        tencent.CommandGetMemberList,
			primary:     true,
			scrapeWaits: true,
			priority:    0,
			enabled:     func(*AppConfig) bool { return true },
			interval:    func(ac *AppConfig) time.Duration { return time.Duration(ac.RefreshInterval) },
			maxQPS:      func(ac *AppConfig) float64 { return ac.MaxQPS },
			concurrency: func(ac *AppConfig, _ float64) int { return ac.MaxConcurrency },
			sources:     []int{sourceMembers},
			fetch: func(ctx context.Context, rt *appRuntime, c *tencent.Client, t *task) (func(time.Time), error) {
				list, err := c.GetMemberList(ctx, t.room.id)
				return func(now time.Time) { rt.applyMembersLocked(t.room, list, now) }, err
			},
			owners: primaryOwners,
		},
		taskSeats: {
			name:     tencent.CommandGetSeatList,
			priority: 1,
			enabled:  func(ac *AppConfig) bool { return ac.RoomSeats != nil },
			interval: func(ac *AppConfig) time.Duration { return time.Duration(ac.RoomSeats.Interval) },
			maxQPS: func(ac *AppConfig) float64 {
				if ac.RoomSeats == nil {
					return DefaultRoomSeatsMaxQPS
				}
				return ac.RoomSeats.MaxQPS
			},
			concurrency: latencyConcurrency,
			sources:     []int{sourceSeats},
			fetch: func(ctx context.Context, rt *appRuntime, c *tencent.Client, t *task) (func(time.Time), error) {
				list, err := c.GetSeatList(ctx, t.room.id)
				return func(now time.Time) { rt.applySeatsLocked(t.room, list, now) }, err
			},
			owners: optionalOwners,
		},
		taskStats: {
			name:     tencent.CommandGetRoomStats,
			priority: 3,
			enabled:  func(ac *AppConfig) bool { return ac.RoomStats != nil },
			interval: func(ac *AppConfig) time.Duration { return time.Duration(ac.RoomStats.Interval) },
			maxQPS: func(ac *AppConfig) float64 {
				if ac.RoomStats == nil {
					return DefaultRoomStatsMaxQPS
				}
				return ac.RoomStats.MaxQPS
			},
			concurrency: latencyConcurrency,
			sources:     []int{sourceStats},
			fetch: func(ctx context.Context, rt *appRuntime, c *tencent.Client, t *task) (func(time.Time), error) {
				stats, err := c.GetRoomStats(ctx, t.room.id)
				return func(now time.Time) { rt.applyStatsLocked(t.room, stats, now) }, err
			},
			owners: optionalOwners,
		},
		taskInfo: {
			name:     tencent.CommandGetRoomInfo,
			priority: 4,
			enabled:  func(ac *AppConfig) bool { return ac.RoomInfo != nil },
			interval: func(ac *AppConfig) time.Duration { return time.Duration(ac.RoomInfo.Interval) },
			maxQPS: func(ac *AppConfig) float64 {
				if ac.RoomInfo == nil {
					return DefaultRoomInfoMaxQPS
				}
				return ac.RoomInfo.MaxQPS
			},
			concurrency: latencyConcurrency,
			sources:     []int{sourceMeta},
			fetch: func(ctx context.Context, rt *appRuntime, c *tencent.Client, t *task) (func(time.Time), error) {
				info, err := c.GetRoomInfo(ctx, t.room.id)
				return func(now time.Time) { rt.applyInfoLocked(t.room, info, now) }, err
			},
			owners: optionalOwners,
		},
		taskDiscovery: {
			name:     tencent.CommandGetRoomList,
			priority: 2,
			enabled:  func(ac *AppConfig) bool { return ac.Discovery != nil },
			interval: func(ac *AppConfig) time.Duration { return time.Duration(ac.Discovery.Interval) },
			maxQPS: func(ac *AppConfig) float64 {
				if ac.Discovery == nil {
					return DefaultDiscoveryMaxQPS
				}
				return ac.Discovery.MaxQPS
			},
			concurrency: func(*AppConfig, float64) int { return 1 }, // a sweep reads its pages one by one
			sources:     []int{sourceMeta},
			fetch: func(ctx context.Context, rt *appRuntime, c *tencent.Client, _ *task) (func(time.Time), error) {
				res, err := rt.runSweep(ctx, c)
				return func(now time.Time) { rt.applySweepLocked(res, now) }, err
			},
			owners: optionalOwners,
		},
	}
}

// roomCommandFills reports whether an enabled per-room command fills
// source src: metadata a listing set stays fresh only then, once the
// listing no longer shows the room.
func roomCommandFills(enabled [numTaskKinds]bool, src int) bool {
	for k := range numRoomTaskKinds {
		if enabled[k] && slices.Contains(commands[k].sources, src) {
			return true
		}
	}
	return false
}

// latencyConcurrency is enough requests in flight that a 250 ms upstream
// still lets the command's max_qps through.
func latencyConcurrency(_ *AppConfig, maxQPS float64) int {
	return max(2, int(math.Ceil(maxQPS*latencyAllowance.Seconds())))
}

// Commands returns the names of the upstream commands the collector
// knows, get_member_list first.
func Commands() []string {
	names := make([]string, len(commands))
	for k, c := range commands {
		names[k] = c.name
	}
	return names
}

// command is the upstream command of a task kind.
func (k taskKind) command() string { return commands[k].name }

// scrapeWaits reports whether a scrape waits for due tasks of this kind
// before answering.
func (k taskKind) scrapeWaits() bool { return commands[k].scrapeWaits }

// commandPriority is a command's place at the app-wide gate.
func commandPriority(command string) int {
	for _, c := range commands {
		if c.name == command {
			return c.priority
		}
	}
	return len(commands)
}

// answerClass sorts an upstream answer by what it says.
type answerClass int8

const (
	answerOK          answerClass = iota
	answerRoomGone                // 100004: the room does not exist (never created, or dissolved)
	answerRoomFact                // 100006, 100002: a fact about the room, not a fault
	answerDenied                  // auth, permission or configuration: retrying soon will not help
	answerRateLimited             // 60007 (the command's limit), 60011 (the app's)
	answerNoAnswer                // timeout, network, HTTP status, undecodable body
	answerFailed                  // an answer saying the call failed for now (100001, unknown codes)
	numAnswerClasses
)

// classifyAnswer sorts err.
func classifyAnswer(err error) answerClass {
	var tErr *tencent.TransportError
	switch class := tencent.Classify(err); {
	case class == tencent.ClassNone:
		return answerOK
	case class == tencent.ClassRoom && tencent.ErrorCode(err) == "100004":
		return answerRoomGone
	case class == tencent.ClassRoom:
		return answerRoomFact
	case class == tencent.ClassConfig:
		return answerDenied
	case tencent.IsRateLimited(err):
		return answerRateLimited
	case errors.As(err, &tErr):
		return answerNoAnswer
	default:
		return answerFailed
	}
}

// owner is what an answer changes: each class of answer of each command
// has exactly one.
type owner int8

const (
	// ownerRoom: the answer is the room's news: its data, or (from the
	// primary command) that it does not exist or is not a live room. The
	// task is due again after its interval, or after its room-fact
	// back-off.
	ownerRoom owner = iota
	// ownerTaskBackoff: a fact about the room that only this task cares
	// about: the task backs off (doubling from its interval, capped at
	// offline_backoff_max); nothing else changes.
	ownerTaskBackoff
	// ownerHint: as ownerTaskBackoff, and the primary command looks at the
	// room now: another command's 100004 does not decide that a room is
	// gone, get_member_list does.
	ownerHint
	// ownerTask: the task is retried after a quarter of its interval;
	// nothing else changes.
	ownerTask
	// ownerGate: the command's gate (60007) or the app-wide one (60011)
	// slows down; the task is due again at once, paced by the gate.
	ownerGate
	// ownerCommand: the command backs off for the whole app (doubling from
	// a quarter of its interval, capped at commandBackoffMax; then one
	// probe at a time) and shows tencent_live_command_up 0. The other
	// commands and the app carry on.
	ownerCommand
	// ownerApp: the app backs off (then one probe at a time), shows
	// tencent_live_app_up 0, and every room shows room_up 0.
	ownerApp
)

// The policies: who owns each class of answer.
var (
	// primaryOwners: get_member_list decides about rooms and about the
	// app. A request without an answer takes the app down only after
	// noAnswerLimit in a row; before that it is the task's.
	primaryOwners = [numAnswerClasses]owner{
		answerOK:          ownerRoom,
		answerRoomGone:    ownerRoom,
		answerRoomFact:    ownerRoom,
		answerDenied:      ownerApp,
		answerRateLimited: ownerGate,
		answerNoAnswer:    ownerApp,
		answerFailed:      ownerTask,
	}
	// optionalOwners: the other commands fill what they own, and their
	// failures stay theirs.
	optionalOwners = [numAnswerClasses]owner{
		answerOK:          ownerRoom,
		answerRoomGone:    ownerHint,
		answerRoomFact:    ownerTaskBackoff,
		answerDenied:      ownerCommand,
		answerRateLimited: ownerGate,
		answerNoAnswer:    ownerTask,
		answerFailed:      ownerTask,
	}
)
