package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// Demo settings: a fake app whose rooms change every demoStep.
const (
	demoSDKAppID   = 1400000000
	demoIdentifier = "administrator"
	demoStep       = 5 * time.Second
)

// demoRoom is one room of the demo and how its audience moves.
type demoRoom struct {
	id, streamer string
	base, swing  float64 // members oscillate around base by ±swing
	period       time.Duration
}

// Pop-up rooms: demoPopups of them live at any time, each for
// demoPopupLife, staggered, so discovery finds rooms appearing and ending.
const (
	demoPopups    = 4
	demoPopupLife = 2 * time.Minute
)

var demoRooms = []demoRoom{
	{"live-1001", "alice", 1200, 400, 4 * time.Minute},
	{"live-1002", "bob", 300, 250, 90 * time.Second},
	{"live-1003", "carol", 40, 30, 3 * time.Minute},
	{"live-1004", "dave", 5000, 1500, 10 * time.Minute},
}

// demo runs the Tencent API fake on loopback with moving member counts,
// one room that does not exist and one that fails now and then.
type demo struct {
	server *tencenttest.Server
	config string // YAML: goes through the same decoding as a real file
	// callbackAddr is where the exporter receives the fake's webhook
	// callbacks, and token what signs them.
	callbackAddr, token string
	stop                chan struct{}
	wg                  sync.WaitGroup
}

func startDemo(logger *slog.Logger) (*demo, error) {
	keyBytes := make([]byte, 32)
	if _, err := rand.Read(keyBytes); err != nil {
		return nil, err
	}
	key := hex.EncodeToString(keyBytes)
	// A free loopback port for the receiver: the fake posts its callbacks
	// there once the exporter listens (see StartCallbacks).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	callbackAddr := l.Addr().String()
	l.Close()
	d := &demo{
		callbackAddr: callbackAddr,
		token:        hex.EncodeToString(keyBytes[:16]),
		server: tencenttest.NewServer(tencenttest.Options{
			SDKAppID: demoSDKAppID, Identifier: demoIdentifier, SecretKey: key, RateLimit: 200,
		}),
		stop: make(chan struct{}),
	}
	var rooms strings.Builder
	for _, r := range demoRooms {
		fmt.Fprintf(&rooms, "      - id: %s\n        labels: {streamer: %s}\n", r.id, r.streamer)
	}
	rooms.WriteString("      - id: live-gone\n      - id: live-flaky\n")
	d.config = fmt.Sprintf(`apps:
  - name: demo
    sdkappid: %d
    endpoint: %s
    identifier: %s
    secret_key: %s
    max_qps: 20
    refresh_interval: %s
    discovery: {interval: 15s, include: ['^live-']}
    room_info: {interval: 1m}
    room_stats: {interval: %s}
    room_seats: {interval: %s}
    webhook: {token: %s}
    rooms:
%s`, demoSDKAppID, d.server.URL, demoIdentifier, key, demoStep, demoStep, demoStep, d.token, rooms.String())

	d.move(time.Now())
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		ticker := time.NewTicker(demoStep)
		defer ticker.Stop()
		for {
			select {
			case <-d.stop:
				return
			case now := <-ticker.C:
				d.move(now)
			}
		}
	}()
	logger.Info("Demo mode: serving a fake Tencent API on loopback", "url", d.server.URL)
	return d, nil
}

// move sets every room's audience for time now, and starts and ends the
// pop-up rooms.
func (d *demo) move(now time.Time) {
	for i, r := range demoRooms {
		phase := 2 * math.Pi * float64(now.UnixNano()%int64(r.period)) / float64(r.period)
		members := int(r.base + r.swing*math.Sin(phase))
		d.server.SetRoom(r.id, tencenttest.Room{
			MemberCount: members, Name: r.streamer + "'s live", Owner: r.streamer,
			Category: []int{1 + i%3}, ViewCount: int64(members) * 3, MaxMemberCount: 10000, MaxSeatCount: 4,
			Seats: demoSeats(r, now),
		})
	}
	// Pop-up room n lives from n x demoPopupLife/demoPopups for demoPopupLife.
	slot := now.UnixNano() / int64(demoPopupLife/demoPopups)
	for n := slot - demoPopups - 2; n <= slot; n++ {
		id := fmt.Sprintf("live-pop-%d", n)
		if n <= slot-demoPopups {
			d.server.DeleteRoom(id)
			continue
		}
		age := time.Duration(now.UnixNano() - n*int64(demoPopupLife/demoPopups))
		members := 20 + int(200*math.Sin(math.Pi*float64(age)/float64(demoPopupLife)))
		d.server.SetRoom(id, tencenttest.Room{
			MemberCount: members, Name: fmt.Sprintf("Pop-up %d", n%100), Owner: "guest",
			Category: []int{2}, ViewCount: int64(members), MaxMemberCount: 500, MaxSeatCount: 4,
		})
	}
	for _, r := range demoRooms {
		d.server.PostMemberEvent(r.id, "Online", "Enter", "viewer-"+strconv.FormatInt(now.Unix(), 10))
		if now.Unix()/int64(demoStep.Seconds())%3 == 0 {
			d.server.PostMemberEvent(r.id, "Offline", "HeartbeatInterrupt", "viewer-"+strconv.FormatInt(now.Unix()-60, 10))
		}
	}
	d.server.SetRoom("live-flaky", tencenttest.Room{MemberCount: 77})
	if now.Unix()/int64(demoStep.Seconds())%4 == 0 {
		d.server.FailNext("live-flaky", 100001, 1)
	}
}

// demoHostAway is how long, of every demoHostCycle, bob's host leaves the
// stage: dead air long enough for TencentLiveRoomDeadAir (for: 3m) to
// fire, and resolve when the host is back.
const (
	demoHostCycle = 8 * time.Minute
	demoHostAway  = 4 * time.Minute
)

// demoSeats are a room's four seats at now: the host on one (not always
// seat 0), a guest, a locked seat; bob steps off now and then.
func demoSeats(r demoRoom, now time.Time) []tencenttest.Seat {
	seats := []tencenttest.Seat{{}, {Account: "guest-" + r.streamer}, {}, {Locked: true}}
	host := 0
	if r.streamer == "carol" {
		host = 2 // the host is not always on seat 0
	}
	away := r.streamer == "bob" && now.UnixNano()%int64(demoHostCycle) < int64(demoHostAway)
	if !away {
		seats[host].Account = r.streamer
	}
	return seats
}

// StartCallbacks makes the fake post signed webhook callbacks to the
// receiver at path: rooms appear the instant they are created.
func (d *demo) StartCallbacks(path string) {
	d.server.SetCallbackTarget("http://"+d.callbackAddr+path, d.token)
}

// Config returns the demo's configuration, decoded like a file.
func (d *demo) Config() (*collector.Config, error) {
	return collector.Decode(strings.NewReader(d.config))
}

// Close stops the demo's fake.
func (d *demo) Close() {
	close(d.stop)
	d.wg.Wait()
	d.server.Close()
}
