package tencent

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Callback commands of the Live webhook: what Tencent posts to an app's
// callback URL. CallbackMemberStateChangedAlias is the spelling one table
// of the docs uses for CallbackMemberStateChanged.
const (
	CallbackRoomCreated             = "Live.CallbackAfterCreateRoom"
	CallbackRoomDestroyed           = "Live.CallbackAfterDestroyRoom"
	CallbackRoomInfoUpdated         = "Live.CallbackAfterUpdateRoomInfo"
	CallbackMemberStateChanged      = "Live.CallbackAfterMemberStateChanged"
	CallbackMemberStateChangedAlias = "Live.CallbackMemberStateChanged"
	CallbackSeatsChanged            = "Mic.CallbackAfterSeatInfoChanged"
)

// CallbackWindow is how far a callback's RequestTime may be from now.
const CallbackWindow = 60 * time.Second

// CallbackReply is the body Tencent expects in answer to a callback.
const CallbackReply = `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`

// Errors of VerifyCallback.
var (
	ErrCallbackUnsigned = errors.New("callback without Sign or RequestTime")
	ErrCallbackSign     = errors.New("callback Sign does not match the token")
	ErrCallbackStale    = errors.New("callback RequestTime outside the accepted window")
)

// CallbackSign is a callback's Sign for token at requestTime (the decimal
// Unix seconds Tencent sends): the lowercase hex of SHA-256(Token +
// RequestTime). The body is not signed.
func CallbackSign(token, requestTime string) string {
	sum := sha256.Sum256([]byte(token + requestTime))
	return hex.EncodeToString(sum[:])
}

// VerifyCallback checks a callback's Sign and RequestTime query
// parameters against token: the signature in constant time, then the time
// within CallbackWindow of now. The signature is checked first, so that
// an unsigned prober learns nothing of the clock.
func VerifyCallback(token, sign, requestTime string, now time.Time) error {
	if sign == "" || requestTime == "" {
		return ErrCallbackUnsigned
	}
	want := CallbackSign(token, requestTime)
	// Compare the fixed-size hex digests: lowercase expected, any case
	// accepted (hex is hex).
	if len(sign) != len(want) || subtle.ConstantTimeCompare([]byte(strings.ToLower(sign)), []byte(want)) != 1 {
		return ErrCallbackSign
	}
	sec, err := strconv.ParseInt(requestTime, 10, 64)
	if err != nil {
		return ErrCallbackStale
	}
	at := time.Unix(sec, 0)
	if d := now.Sub(at); d > CallbackWindow || d < -CallbackWindow {
		return ErrCallbackStale
	}
	return nil
}

// Event is one decoded callback. Fields a command does not carry are zero.
type Event struct {
	Command   string    // one of the Callback* constants (the alias normalized)
	RoomID    string    // every known command names one room
	EventTime time.Time // zero when absent
	Operator  string    // Operator_Account

	// Room is the RoomInfo of created, destroyed and info-updated events;
	// nil when absent. Its fields absent from the event are zero (see
	// RoomFields).
	Room *RoomInfo
	// RoomFields are the RoomInfo members the event carried, by upstream
	// name: an info update sends only what changed.
	RoomFields map[string]bool

	// Destroyed: EventType (DestroyByUser, DestroyBySystem) and the final
	// totals; Statistic nil when absent.
	DestroyCause string
	Statistic    *RoomStats

	// Member state: EventType (Online, Offline), EventCause (Enter, Leave,
	// HeartbeatInterrupt, HeartbeatRecover, Kicked...) and the accounts.
	MemberEvent string
	MemberCause string
	Members     int // accounts in MemberList

	// Seats: the room's seats after the change.
	Seats []Seat
}

// ErrUnknownCallback is returned by DecodeCallback for a command it does
// not know: new ones appear over time, and are answered OK and ignored.
var ErrUnknownCallback = errors.New("unknown callback command")

// DecodeCallback decodes the body of a callback command. An unknown
// command gives ErrUnknownCallback; a body that is not what the command
// carries (not an object, no RoomId, a field of the wrong type) an error
// saying what is wrong. Accounts may be strings or numbers; EventTime is
// Unix milliseconds, at the top level or in RoomInfo.
func DecodeCallback(command string, body []byte) (*Event, error) {
	if command == CallbackMemberStateChangedAlias {
		command = CallbackMemberStateChanged
	}
	switch command {
	case CallbackRoomCreated, CallbackRoomDestroyed, CallbackRoomInfoUpdated, CallbackMemberStateChanged, CallbackSeatsChanged:
	default:
		return nil, ErrUnknownCallback
	}
	if !json.Valid(body) {
		return nil, errors.New("body is not valid JSON")
	}
	o := readObject("body", body)
	if o.err != nil {
		return nil, o.err
	}
	ev := &Event{Command: command, Operator: o.account("Operator_Account")}
	eventTime := o.int64Field("EventTime", false, 0)
	switch command {
	case CallbackRoomCreated, CallbackRoomInfoUpdated, CallbackRoomDestroyed:
		raw := o.raw("RoomInfo")
		if !absent(raw) {
			ri := readObject("RoomInfo", raw)
			ev.Room = &RoomInfo{
				RoomSummary:       ri.summary(),
				RoomType:          ri.text("RoomType"),
				MaxMemberCount:    ri.intField("MaxMemberCount", 0),
				MaxSeatCount:      ri.intField("MaxSeatCount", 0),
				IsSeatEnabled:     ri.flag("IsSeatEnabled", false),
				TakeSeatMode:      ri.mode("TakeSeatMode"),
				IsMessageDisabled: ri.flag("IsMessageDisabled", false),
				IsPublicVisible:   ri.flag("IsPublicVisible", true),
			}
			if eventTime == 0 {
				eventTime = ri.int64Field("EventTime", false, 0)
			}
			if ri.err != nil {
				return nil, fmt.Errorf("RoomInfo: %w", ri.err)
			}
			ev.RoomFields = make(map[string]bool, len(ri.members))
			for name := range ri.members {
				ev.RoomFields[name] = true
			}
			ev.RoomID = ev.Room.RoomID
		}
		if command == CallbackRoomDestroyed {
			if id := o.text("RoomId"); id != "" {
				ev.RoomID = id
			}
			ev.DestroyCause = o.text("EventType")
			if raw := o.raw("Statistic"); !absent(raw) {
				st := readObject("Statistic", raw)
				ev.Statistic = &RoomStats{
					TotalViewers:           st.int64Field("TotalViewers", false, 0),
					TotalGiftsSent:         st.int64Field("TotalGiftsSent", false, 0),
					TotalGiftCoins:         st.int64Field("TotalGiftCoins", false, 0),
					TotalUniqueGiftSenders: st.int64Field("TotalUniqueGiftSenders", false, 0),
					TotalLikesReceived:     st.int64Field("TotalLikesReceived", false, 0),
				}
				if st.err != nil {
					return nil, fmt.Errorf("Statistic: %w", st.err)
				}
			}
		} else if ev.Room == nil {
			return nil, errors.New("RoomInfo is missing, want an object")
		}
	case CallbackMemberStateChanged:
		ev.RoomID = o.id("RoomId")
		ev.MemberEvent = o.text("EventType")
		ev.MemberCause = o.text("EventCause")
		if raw := o.raw("MemberList"); !absent(raw) {
			var entries []json.RawMessage
			if jsonKind(raw) != "an array" || json.Unmarshal(raw, &entries) != nil {
				return nil, fieldError("MemberList", raw, "an array")
			}
			ev.Members = len(entries)
		}
	case CallbackSeatsChanged:
		ev.RoomID = o.id("RoomId")
		var seats seatListResponse
		if err := seats.UnmarshalJSON(body); err != nil {
			return nil, err
		}
		ev.Seats = seats.list.Seats
	}
	if o.err != nil {
		return nil, o.err
	}
	if ev.RoomID == "" {
		return nil, errors.New("RoomId is missing, want a non-empty string")
	}
	if eventTime > 0 {
		ev.EventTime = time.UnixMilli(eventTime)
	}
	return ev, nil
}
