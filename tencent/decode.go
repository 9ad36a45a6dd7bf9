package tencent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// envelope is the common body of every answer. ErrorCode stays raw because
// it may arrive as 60007.0, which encoding/json refuses for an int.
type envelope struct {
	ActionStatus string          `json:"ActionStatus"`
	ErrorCode    json.RawMessage `json:"ErrorCode"`
	ErrorInfo    string          `json:"ErrorInfo"`
	RequestID    string          `json:"RequestId"`
	Response     json.RawMessage `json:"Response"`
}

// decodeAnswer maps a 200 body to out or to an error, and returns the
// answer's RequestId. out is a json.Unmarshaler that checks the fields its
// command promises: a successful answer without them is an error, never
// data.
func decodeAnswer(command string, data []byte, out any) (string, error) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		// A field of the wrong type fails the whole envelope; the
		// RequestId may still be readable, and support asks for it.
		var id struct {
			RequestID string `json:"RequestId"`
		}
		_ = json.Unmarshal(data, &id)
		return id.RequestID, decodeError(command, id.RequestID, err)
	}
	code, ok := jsonInt(env.ErrorCode)
	switch {
	case len(env.ErrorCode) == 0 || string(env.ErrorCode) == "null":
		code = 0 // absent: the ActionStatus alone decides
	case !ok:
		return env.RequestID, decodeError(command, env.RequestID, fieldError("ErrorCode", env.ErrorCode, "an integer"))
	}
	if code != 0 || env.ActionStatus != "OK" {
		if code == 0 {
			return env.RequestID, decodeError(command, env.RequestID,
				fmt.Errorf("ActionStatus %q with ErrorCode 0", env.ActionStatus))
		}
		return env.RequestID, &APIError{Command: command, Code: code, Info: env.ErrorInfo, RequestID: env.RequestID}
	}
	if len(env.Response) == 0 || string(env.Response) == "null" {
		return env.RequestID, decodeError(command, env.RequestID, errors.New("no Response in a successful answer"))
	}
	if jsonKind(env.Response) != "an object" {
		return env.RequestID, decodeError(command, env.RequestID, fieldError("Response", env.Response, "an object"))
	}
	if err := json.Unmarshal(env.Response, out); err != nil {
		return env.RequestID, decodeError(command, env.RequestID, fmt.Errorf("Response: %w", err))
	}
	return env.RequestID, nil
}

// decodeError is the error of an answer that cannot be trusted.
func decodeError(command, requestID string, err error) *TransportError {
	if requestID != "" {
		err = fmt.Errorf("%w (request id %q)", err, requestID)
	}
	return &TransportError{Command: command, Code: "decode", Err: err}
}

// memberListPage is one get_member_list Response. Its UnmarshalJSON checks
// what the command promises, so a wrong answer fails rather than reading
// as an empty room.
type memberListPage struct {
	// listMembers decodes MemberList and Next too. A count needs neither,
	// so without it an odd member list cannot fail the count.
	listMembers bool

	MemberCount int
	Members     []string // each entry's Member_Account; a number as its literal text
	Next        string
}

// UnmarshalJSON decodes a Response object: MemberCount must be a
// non-negative integer (12.0 counts as one); with listMembers, every
// Member_Account must be a string or a number, MemberList an array (absent
// or null lists nobody) and Next a string (absent or null ends paging).
func (p *memberListPage) UnmarshalJSON(data []byte) error {
	if jsonKind(data) != "an object" {
		return fieldError("Response", data, "an object")
	}
	// A map rather than a struct: upstream names are case-sensitive, and
	// encoding/json would match "membercount" to a MemberCount field.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	count, ok := jsonInt(fields["MemberCount"])
	if !ok || count < 0 {
		return fieldError("MemberCount", fields["MemberCount"], "a non-negative integer")
	}
	p.MemberCount = count
	if !p.listMembers {
		return nil
	}

	if next := fields["Next"]; len(next) > 0 && string(next) != "null" {
		if jsonKind(next) != "a string" {
			return fieldError("Next", next, "a string")
		}
		if err := json.Unmarshal(next, &p.Next); err != nil {
			return err
		}
	}
	list := fields["MemberList"]
	if len(list) == 0 || string(list) == "null" {
		return nil
	}
	if jsonKind(list) != "an array" {
		return fieldError("MemberList", list, "an array")
	}
	// A struct, not a map per entry: a page holds up to 1000 entries.
	// encoding/json then also matches a key differing only in case, which
	// is harmless for an account.
	var entries []memberEntry
	if err := json.Unmarshal(list, &entries); err != nil {
		return listError(list, err)
	}
	p.Members = make([]string, 0, len(entries))
	for i, e := range entries {
		switch e.Account.kind {
		case "a string", "number":
		case "":
			return fmt.Errorf("MemberList[%d]: Member_Account is missing, want a string or a number", i)
		default:
			return fmt.Errorf("MemberList[%d]: Member_Account is %s, want a string or a number", i, e.Account.kind)
		}
		p.Members = append(p.Members, e.Account.value)
	}
	return nil
}

// memberEntry is one MemberList entry.
type memberEntry struct {
	Account account `json:"Member_Account"`
}

// account is a Member_Account. Docs show accounts as strings, but a sample
// shows a bare number for another *_Account field: a number is kept as its
// literal text, so 12345 and "12345" name the same account.
type account struct {
	value string
	kind  string // jsonKind of the value; "" when the key is absent
}

// UnmarshalJSON records the value and its kind; the page decides whether
// the kind is acceptable, so it can say which entry was wrong.
func (a *account) UnmarshalJSON(data []byte) error {
	a.kind = jsonKind(data)
	switch a.kind {
	case "a string":
		// Most accounts need no unescaping; this saves a decoder pass
		// per entry on 1000-entry pages.
		if len(data) >= 2 {
			if inner := data[1 : len(data)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
				a.value = string(inner)
				return nil
			}
		}
		return json.Unmarshal(data, &a.value)
	case "number":
		a.value = string(data)
	}
	return nil
}

// listError explains why a MemberList array did not decode: it names the
// first entry that is not an object, else returns err.
func listError(list json.RawMessage, err error) error {
	var entries []json.RawMessage
	if json.Unmarshal(list, &entries) == nil {
		for i, entry := range entries {
			if kind := jsonKind(entry); kind != "an object" {
				return fmt.Errorf("MemberList[%d]: %w", i, fieldError("entry", entry, "an object"))
			}
		}
	}
	return err
}

// fieldError says what a field held instead of what was wanted. It names
// the JSON type, and the value only for a number: strings may be long or
// carry an account.
func fieldError(field string, raw json.RawMessage, want string) error {
	got := jsonKind(raw)
	if got == "number" {
		lit := string(raw)
		if len(lit) > 32 {
			lit = lit[:32] + "..."
		}
		got = "the number " + lit
	}
	return fmt.Errorf("%s is %s, want %s", field, got, want)
}

// jsonKind names the JSON type of a raw value from encoding/json (which
// carries no leading white space); "missing" when there is none.
func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "missing"
	}
	switch c := raw[0]; {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "number"
	}
	return "not JSON"
}

// jsonInt reads a JSON number literal that denotes an integer in int range,
// written as one (12) or as an integral float (12.0, 1.2e1). See jsonInt64.
func jsonInt(lit []byte) (n int, ok bool) {
	v, ok := jsonInt64(lit)
	if !ok || int64(int(v)) != v {
		return 0, false
	}
	return int(v), true
}

// jsonInt64 reads a JSON number literal that denotes an integer in int64
// range, written as one (12) or as an integral float (12.0, 1.2e1). It works
// on the decimal digits, not through float64, so 12.000000000000000001 is
// not an integer and 9007199254740993.0 is not rounded. ok is false for
// anything else: a fraction, a value beyond int64, a non-number (JSON's
// grammar included: no leading zeros, no leading plus).
func jsonInt64(lit []byte) (n int64, ok bool) {
	s := string(lit)
	unsigned := strings.TrimPrefix(s, "-")
	mant, expText, hasExp := unsigned, "", false
	if i := strings.IndexAny(unsigned, "eE"); i >= 0 {
		mant, expText, hasExp = unsigned[:i], unsigned[i+1:], true
		expDigits := expText
		if expDigits != "" && (expDigits[0] == '+' || expDigits[0] == '-') {
			expDigits = expDigits[1:]
		}
		if !allDigits(expDigits) {
			return 0, false
		}
	}
	intPart, frac, hasFrac := strings.Cut(mant, ".")
	if !allDigits(intPart) || (len(intPart) > 1 && intPart[0] == '0') || (hasFrac && !allDigits(frac)) {
		return 0, false
	}
	if !hasFrac && !hasExp {
		// The common case: a plain integer.
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return v, true
		}
		return 0, false
	}

	var exp int64
	if hasExp {
		var err error
		exp, err = strconv.ParseInt(expText, 10, 32)
		if err != nil {
			// The exponent alone is beyond ±2^31: only a zero mantissa
			// (0e99999999999) is an integer in range.
			return 0, strings.Trim(intPart+frac, "0") == ""
		}
	}
	// value = digits × 10^exp, with digits free of leading and trailing zeros.
	digits := strings.TrimLeft(intPart+frac, "0")
	exp -= int64(len(frac))
	trimmed := strings.TrimRight(digits, "0")
	exp += int64(len(digits) - len(trimmed))
	digits = trimmed
	switch {
	case digits == "":
		return 0, true // 0.0, -0e5
	case exp < 0:
		return 0, false // a fraction: the last digit is not zero
	case int64(len(digits))+exp > 19:
		return 0, false // more than 19 digits is beyond int64
	}
	s = digits + strings.Repeat("0", int(exp))
	if len(unsigned) < len(lit) {
		s = "-" + s
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// object reads the members of a JSON object by their exact name, keeping
// the first failure: once a read fails, later reads return zero values and
// err says what was wrong. A map rather than a struct: upstream names are
// case-sensitive, and encoding/json would match "roomid" to a RoomId field.
type object struct {
	members map[string]json.RawMessage
	err     error
}

// readObject decodes raw, which must be a JSON object; name says what it is
// in errors.
func readObject(name string, raw json.RawMessage) *object {
	o := &object{}
	if jsonKind(raw) != "an object" {
		o.err = fieldError(name, raw, "an object")
		return o
	}
	if err := json.Unmarshal(raw, &o.members); err != nil {
		o.err = fmt.Errorf("%s: %w", name, err)
	}
	return o
}

// raw returns a member, or nil once a read has failed.
func (o *object) raw(name string) json.RawMessage {
	if o.err != nil {
		return nil
	}
	return o.members[name]
}

// fail records err unless a read failed before.
func (o *object) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

// absent reports a member that is missing or null: both read as the zero
// value of an optional field.
func absent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// str unmarshals a JSON string member.
func (o *object) str(name string, raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		o.fail(fmt.Errorf("%s: %w", name, err))
	}
	return s
}

// id reads a required, non-empty string, such as a RoomId.
func (o *object) id(name string) string {
	raw := o.raw(name)
	if o.err != nil {
		return ""
	}
	if jsonKind(raw) != "a string" {
		o.fail(fieldError(name, raw, "a non-empty string"))
		return ""
	}
	s := o.str(name, raw)
	if s == "" {
		o.fail(fmt.Errorf("%s is empty, want a non-empty string", name))
	}
	return s
}

// text reads an optional string; absent or null is "".
func (o *object) text(name string) string {
	raw := o.raw(name)
	switch {
	case o.err != nil || absent(raw):
		return ""
	case jsonKind(raw) != "a string":
		o.fail(fieldError(name, raw, "a string"))
		return ""
	}
	return o.str(name, raw)
}

// account reads an optional *_Account: a string, or a number (a sample
// shows Owner_Account bare), kept as its decimal text when it is an
// integer (12345 and 12345.0 read "12345") and as its literal otherwise.
// Absent or null is "".
func (o *object) account(name string) string {
	raw := o.raw(name)
	switch {
	case o.err != nil || absent(raw):
		return ""
	case jsonKind(raw) == "number":
		if text, ok := integerText(raw); ok {
			return text
		}
		return string(raw)
	case jsonKind(raw) != "a string":
		o.fail(fieldError(name, raw, "a string or a number"))
		return ""
	}
	return o.str(name, raw)
}

// integerText is the decimal text of a JSON integer (12345 and 12345.0
// both read "12345").
func integerText(raw json.RawMessage) (string, bool) {
	n, ok := jsonInt64(raw)
	if !ok {
		return "", false
	}
	return strconv.FormatInt(n, 10), true
}

// mode reads an optional enumeration the docs give both as an int and as a
// string (TakeSeatMode): an integer reads as its decimal text. Absent or
// null is "".
func (o *object) mode(name string) string {
	raw := o.raw(name)
	switch {
	case o.err != nil || absent(raw):
		return ""
	case jsonKind(raw) == "number":
		if text, ok := integerText(raw); ok {
			return text
		}
	case jsonKind(raw) == "a string":
		return o.str(name, raw)
	}
	o.fail(fieldError(name, raw, "a string or an integer"))
	return ""
}

// int64Field reads an integer written as 12 or 12.0 (or 1.2e1), at least
// minimum. Absent or null is 0 unless required.
func (o *object) int64Field(name string, required bool, minimum int64) int64 {
	raw := o.raw(name)
	if o.err != nil || absent(raw) && !required {
		return 0
	}
	n, ok := jsonInt64(raw)
	if !ok || n < minimum {
		want := "an integer"
		if minimum == 0 {
			want = "a non-negative integer"
		}
		o.fail(fieldError(name, raw, want))
		return 0
	}
	return n
}

// count reads a required non-negative integer, such as a cumulative counter.
func (o *object) count(name string) int64 {
	return o.int64Field(name, true, 0)
}

// intField is an optional int64Field whose value must also fit an int.
func (o *object) intField(name string, minimum int64) int {
	n := o.int64Field(name, false, minimum)
	if int64(int(n)) != n {
		o.fail(fieldError(name, o.members[name], "an integer in int range"))
		return 0
	}
	return int(n)
}

// flag reads an optional boolean; absent or null is def.
func (o *object) flag(name string, def bool) bool {
	raw := o.raw(name)
	switch {
	case o.err != nil:
		return false
	case absent(raw):
		return def
	case string(raw) == "true":
		return true
	case string(raw) == "false":
		return false
	}
	o.fail(fieldError(name, raw, "a boolean"))
	return false
}

// ints reads an optional array of integers (Category); absent, null and
// empty are nil.
func (o *object) ints(name string) []int {
	raw := o.raw(name)
	switch {
	case o.err != nil || absent(raw):
		return nil
	case jsonKind(raw) != "an array":
		o.fail(fieldError(name, raw, "an array of integers"))
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		o.fail(fmt.Errorf("%s: %w", name, err))
		return nil
	}
	if len(items) == 0 {
		return nil
	}
	out := make([]int, len(items))
	for i, item := range items {
		n, ok := jsonInt(item)
		if !ok {
			o.fail(fieldError(fmt.Sprintf("%s[%d]", name, i), item, "an integer"))
			return nil
		}
		out[i] = n
	}
	return out
}

// roomListResponse is a get_room_list Response. Its UnmarshalJSON checks
// what the command promises: RoomList is an array (an empty one lists no
// rooms; absent or null is an error, never an empty listing) and every
// entry has a non-empty RoomId.
type roomListResponse struct{ page RoomListPage }

// UnmarshalJSON decodes a Response object. Next must be a string when
// present; absent or null ends paging, as for get_member_list.
func (r *roomListResponse) UnmarshalJSON(data []byte) error {
	o := readObject("Response", data)
	list := o.raw("RoomList")
	if o.err != nil {
		return o.err
	}
	if jsonKind(list) != "an array" {
		return fieldError("RoomList", list, "an array")
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(list, &entries); err != nil {
		return fmt.Errorf("RoomList: %w", err)
	}
	rooms := make([]RoomSummary, 0, len(entries))
	for i, entry := range entries {
		room, err := decodeRoomSummary(entry)
		if err != nil {
			return fmt.Errorf("RoomList[%d]: %w", i, err)
		}
		rooms = append(rooms, room)
	}
	next := o.text("Next")
	if o.err != nil {
		return o.err
	}
	r.page.Rooms, r.page.Next = rooms, next
	return nil
}

// decodeRoomSummary decodes one RoomList entry.
func decodeRoomSummary(raw json.RawMessage) (RoomSummary, error) {
	o := readObject("entry", raw)
	room := o.summary()
	if o.err != nil {
		return RoomSummary{}, o.err
	}
	return room, nil
}

// summary reads the members a RoomList entry and a RoomInfo share.
func (o *object) summary() RoomSummary {
	return RoomSummary{
		RoomID:         o.id("RoomId"),
		RoomName:       o.text("RoomName"),
		Owner:          o.account("Owner_Account"),
		CoverURL:       o.text("CoverURL"),
		Category:       o.ints("Category"),
		CreateTime:     o.int64Field("CreateTime", false, 0),
		ActivityStatus: o.intField("ActivityStatus", math.MinInt64),
		ViewCount:      o.int64Field("ViewCount", false, 0),
	}
}

// roomInfoResponse is a get_room_info Response: RoomInfo must be an object
// with a non-empty RoomId.
type roomInfoResponse struct{ info RoomInfo }

// UnmarshalJSON decodes a Response object. Optional members may be absent
// or null (zero values; IsPublicVisible then reads true, the upstream's
// default), but a member of the wrong type fails the answer.
func (r *roomInfoResponse) UnmarshalJSON(data []byte) error {
	resp := readObject("Response", data)
	raw := resp.raw("RoomInfo")
	if resp.err != nil {
		return resp.err
	}
	o := readObject("RoomInfo", raw)
	info := RoomInfo{
		RoomSummary:       o.summary(),
		RoomType:          o.text("RoomType"),
		MaxMemberCount:    o.intField("MaxMemberCount", 0),
		MaxSeatCount:      o.intField("MaxSeatCount", 0),
		IsSeatEnabled:     o.flag("IsSeatEnabled", false),
		TakeSeatMode:      o.mode("TakeSeatMode"),
		IsMessageDisabled: o.flag("IsMessageDisabled", false),
		IsPublicVisible:   o.flag("IsPublicVisible", true),
	}
	if o.err != nil {
		if jsonKind(raw) != "an object" {
			return o.err // already names RoomInfo
		}
		return fmt.Errorf("RoomInfo: %w", o.err)
	}
	r.info = info
	return nil
}

// roomStatsResponse is a get_room_stats Response: the six Total* counters
// must all be present as non-negative integers.
type roomStatsResponse struct{ stats RoomStats }

// UnmarshalJSON decodes a Response object.
func (r *roomStatsResponse) UnmarshalJSON(data []byte) error {
	o := readObject("Response", data)
	stats := RoomStats{
		TotalViewers:           o.count("TotalViewers"),
		TotalGiftsSent:         o.count("TotalGiftsSent"),
		TotalGiftCoins:         o.count("TotalGiftCoins"),
		TotalUniqueGiftSenders: o.count("TotalUniqueGiftSenders"),
		TotalLikesReceived:     o.count("TotalLikesReceived"),
		TotalMsgCount:          o.count("TotalMsgCount"),
	}
	if o.err != nil {
		return o.err
	}
	r.stats = stats
	return nil
}
