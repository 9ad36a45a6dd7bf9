package tencenttest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Callback commands the fake posts, as Tencent names them.
const (
	CallbackRoomCreated        = "Live.CallbackAfterCreateRoom"
	CallbackRoomDestroyed      = "Live.CallbackAfterDestroyRoom"
	CallbackRoomInfoUpdated    = "Live.CallbackAfterUpdateRoomInfo"
	CallbackMemberStateChanged = "Live.CallbackAfterMemberStateChanged"
	CallbackSeatsChanged       = "Mic.CallbackAfterSeatInfoChanged"
)

// callbacks posts a Fake's webhook callbacks, in order, from one goroutine.
type callbacks struct {
	mu       sync.Mutex
	target   string // the callback URL; "" posts nothing
	token    string // "" posts unsigned callbacks
	dropRate float64
	queue    chan callback
	client   *http.Client
	start    sync.Once
	sent     map[string]int // by command: posted
	statuses map[int]int    // answers by HTTP status
}

type callback struct {
	command string
	body    []byte
}

// SetCallbackTarget makes the fake post Live webhook callbacks to target
// (a URL with its path, e.g. "http://127.0.0.1:9865/callback"), signed
// with token ("" posts unsigned ones), as Tencent does: SetRoom of a new
// room posts Live.CallbackAfterCreateRoom, of a room whose name, category,
// capacity or take-seat mode changed Live.CallbackAfterUpdateRoomInfo, of
// a room whose seats changed Mic.CallbackAfterSeatInfoChanged; DeleteRoom
// posts Live.CallbackAfterDestroyRoom with the room's final Statistic.
// Callbacks go in order from one goroutine, shortly after the change.
// "" stops posting.
func (f *Fake) SetCallbackTarget(target, token string) {
	c := &f.callbacks
	c.mu.Lock()
	defer c.mu.Unlock()
	c.target, c.token = target, token
}

// SetCallbackDropRate drops this share (0 to 1) of the callbacks at
// random, as a lossy network would.
func (f *Fake) SetCallbackDropRate(p float64) {
	c := &f.callbacks
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropRate = p
}

// CallbacksPosted returns the callbacks posted by command, and the
// receiver's answers by HTTP status.
func (f *Fake) CallbacksPosted() (byCommand, byStatus map[string]int) {
	c := &f.callbacks
	c.mu.Lock()
	defer c.mu.Unlock()
	byCommand, byStatus = map[string]int{}, map[string]int{}
	for k, v := range c.sent {
		byCommand[k] = v
	}
	for k, v := range c.statuses {
		byStatus[strconv.Itoa(k)] = v
	}
	return byCommand, byStatus
}

// PostMemberEvent posts a Live.CallbackAfterMemberStateChanged for room:
// event Online or Offline, cause Enter, Leave, HeartbeatInterrupt...
func (f *Fake) PostMemberEvent(room, event, cause string, accounts ...string) {
	members := make([]map[string]string, len(accounts))
	for i, a := range accounts {
		members[i] = map[string]string{"Member_Account": a}
	}
	f.postCallback(CallbackMemberStateChanged, map[string]any{
		"RoomId": room, "EventType": event, "EventCause": cause, "MemberList": members, "EventTime": f.now().UnixMilli(),
	})
}

// postCallback queues one callback, unless no target is set or it is
// dropped.
func (f *Fake) postCallback(command string, body any) {
	c := &f.callbacks
	c.mu.Lock()
	if c.target == "" || (c.dropRate > 0 && rand.Float64() < c.dropRate) {
		c.mu.Unlock()
		return
	}
	c.start.Do(func() {
		c.queue = make(chan callback, 4096)
		c.client = &http.Client{Timeout: 5 * time.Second}
		c.sent, c.statuses = map[string]int{}, map[int]int{}
		go f.sendCallbacks()
	})
	c.mu.Unlock()
	data, err := json.Marshal(body)
	if err != nil {
		return
	}
	select {
	case c.queue <- callback{command, data}:
	case <-f.done:
	}
}

// sendCallbacks posts the queued callbacks in order until the Fake
// closes.
func (f *Fake) sendCallbacks() {
	c := &f.callbacks
	for {
		select {
		case <-f.done:
			return
		case cb := <-c.queue:
			c.mu.Lock()
			target, token := c.target, c.token
			c.mu.Unlock()
			if target == "" {
				continue
			}
			status := postSigned(c.client, target, f.opts.SDKAppID, token, cb.command, cb.body, f.now())
			c.mu.Lock()
			c.sent[cb.command]++
			c.statuses[status]++
			c.mu.Unlock()
		}
	}
}

// CallbackURL is target with the query Tencent appends to a callback for
// app and command, signed with token at t ("" token: unsigned).
func CallbackURL(target string, app uint64, token, command string, t time.Time) string {
	q := url.Values{}
	q.Set("SdkAppid", strconv.FormatUint(app, 10))
	q.Set("CallbackCommand", command)
	q.Set("contenttype", "json")
	q.Set("ClientIP", "127.0.0.1")
	q.Set("OptPlatform", "RESTAPI")
	if token != "" {
		rt := strconv.FormatInt(t.Unix(), 10)
		q.Set("RequestTime", rt)
		q.Set("Sign", callbackSign(token, rt))
	}
	return target + "?" + q.Encode()
}

// postSigned posts one callback and returns the HTTP status (0: no
// answer).
func postSigned(client *http.Client, target string, app uint64, token, command string, body []byte, now time.Time) int {
	resp, err := client.Post(CallbackURL(target, app, token, command, now), "application/json", bytes.NewReader(body))
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// roomInfoBody is a room's RoomInfo as callbacks carry it.
func (s *roomState) roomInfoBody(id string, now time.Time) map[string]any {
	r := &s.room
	return map[string]any{
		"RoomId": id, "RoomName": r.Name, "RoomType": "Live", "Owner_Account": r.ownerJSON(),
		"MaxMemberCount": r.MaxMemberCount, "MaxSeatCount": r.MaxSeatCount, "IsSeatEnabled": r.IsSeatEnabled,
		"TakeSeatMode": r.takeSeatModeJSON(), "IsMessageDisabled": r.IsMessageDisabled, "IsPublicVisible": !r.Private,
		"CoverURL": r.CoverURL, "Category": categoryJSON(r.Category), "CreateTime": s.createTime(), "EventTime": now.UnixMilli(),
	}
}

// changeCallbacks are the callbacks a change of a room from before to
// after posts: nil before is a new room.
func (f *Fake) changeCallbacks(id string, before *Room, after *roomState, now time.Time) []callback {
	var out []callback
	add := func(command string, body any) {
		if data, err := json.Marshal(body); err == nil {
			out = append(out, callback{command, data})
		}
	}
	r := &after.room
	switch {
	case before == nil:
		add(CallbackRoomCreated, map[string]any{"Operator_Account": r.Owner, "RoomInfo": after.roomInfoBody(id, now)})
	case before.Name != r.Name || !slices.Equal(before.Category, r.Category) || before.MaxMemberCount != r.MaxMemberCount ||
		before.TakeSeatMode != r.TakeSeatMode || before.Private != r.Private:
		add(CallbackRoomInfoUpdated, map[string]any{"Operator_Account": r.Owner, "EventTime": now.UnixMilli(), "RoomInfo": map[string]any{
			"RoomId": id, "RoomName": r.Name, "MaxMemberCount": r.MaxMemberCount, "Category": categoryJSON(r.Category),
			"IsPublicVisible": !r.Private, "TakeSeatMode": r.takeSeatModeJSON(), "CoverURL": r.CoverURL,
		}})
	}
	if r.Seats != nil && (before == nil || !slices.Equal(before.Seats, r.Seats)) {
		add(CallbackSeatsChanged, map[string]any{"RoomId": id, "SeatList": r.seatList().SeatList, "EventTime": now.UnixMilli()})
	}
	return out
}

// queueCallbacks hands callbacks to the sender.
func (f *Fake) queueCallbacks(cbs []callback) {
	for _, cb := range cbs {
		var body any = json.RawMessage(cb.body)
		f.postCallback(cb.command, body)
	}
}

// callbackSign is Tencent's Sign of a callback: the lowercase hex of
// SHA-256(token + requestTime), computed here on its own so that the fake
// checks the exporter's verification rather than sharing it.
func callbackSign(token, requestTime string) string {
	sum := sha256.Sum256([]byte(token + requestTime))
	return hex.EncodeToString(sum[:])
}
