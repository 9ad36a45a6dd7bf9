package tencent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Error codes from the upstream documentation that the exporter treats
// specially. The full list is in the upstream's "Error Codes" page.
const (
	CodeUserSigExpired     = 70001  // UserSig expired: sign again and retry once
	CodeCommandRateLimited = 60007  // a command called more often than its own limit (get_member_list 200/s, get_room_list 10/s, ...)
	CodeAppRateLimited     = 60011  // app-wide frequency limit
	CodeSystemError        = 100001 // transient backend failure
	CodeInvalidParameters  = 100002 // the request's parameters are invalid
	CodeRoomNotFound       = 100004 // the room was never created or is dissolved
	CodeNotLiveRoom        = 100006 // the room is not a live room
)

// APIError is an answer of HTTP 200 whose body reports a failure
// (ActionStatus FAIL or a non-zero ErrorCode).
type APIError struct {
	Command   string // e.g. "get_member_list"
	Code      int    // upstream ErrorCode
	Info      string // upstream ErrorInfo
	RequestID string // upstream RequestId; Tencent support asks for it
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: error %d: %s (request id %q)", e.Command, e.Code, e.Info, e.RequestID)
}

// Is reports whether target is an *APIError with the same Code, so
// errors.Is(err, &APIError{Code: CodeRoomNotFound}) works.
func (e *APIError) Is(target error) bool {
	t, ok := target.(*APIError)
	return ok && t.Code == e.Code
}

// TransportError is a failure to get a decodable answer at all: a timeout,
// a refused connection, an HTTP status other than 200, an oversize or
// undecodable body, or a successful answer missing what its command
// promises. Code is one of TransportCodes or "http_<status>", e.g. "http_502".
type TransportError struct {
	Command string
	Code    string
	Err     error
}

func (e *TransportError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%s: %s", e.Command, e.Code)
	}
	return fmt.Sprintf("%s: %s: %v", e.Command, e.Code, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// ErrorCode returns a short stable code for err, usable as a metric label:
// the upstream ErrorCode as a decimal string for an *APIError, the
// TransportError's Code, "canceled" or "timeout" for context errors, or
// "unknown".
func ErrorCode(err error) string {
	var apiErr *APIError
	var tErr *TransportError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &apiErr):
		return strconv.Itoa(apiErr.Code)
	case errors.As(err, &tErr):
		return tErr.Code
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "unknown"
	}
}

// Class says what a caller should do about an error.
type Class int

// The classes of errors.
const (
	// ClassNone is the class of a nil error.
	ClassNone Class = iota
	// ClassTransient: retry later (frequency limits, timeouts, 5xx, system errors).
	ClassTransient
	// ClassConfig: the app's credentials, region or account are wrong or
	// blocked; retrying soon will not help, so back off and surface it.
	ClassConfig
	// ClassRoom: a fact about one room (it does not exist, it is not a
	// live room, its id is invalid), not a fault of the caller.
	ClassRoom
)

func (c Class) String() string {
	switch c {
	case ClassNone:
		return "none"
	case ClassTransient:
		return "transient"
	case ClassConfig:
		return "config"
	case ClassRoom:
		return "room"
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Classify sorts err into a Class. Unknown upstream codes are transient,
// so a new code leads to a later retry rather than to silence.
func Classify(err error) Class {
	if err == nil {
		return ClassNone
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return ClassTransient
	}
	switch c := apiErr.Code; {
	case c == CodeRoomNotFound, c == CodeNotLiveRoom, c == CodeInvalidParameters:
		return ClassRoom
	case c == 60007, c == 60008, c == 60011, c == 60013, c == 60014, c == 60018, c == 60019, c == CodeSystemError:
		return ClassTransient
	case c >= 60000 && c < 61000, c >= 70000 && c < 71000:
		return ClassConfig
	default:
		return ClassTransient
	}
}

// IsRateLimited reports whether err is an upstream frequency-limit answer
// (60007 or 60011): the caller should slow down.
func IsRateLimited(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && (apiErr.Code == CodeCommandRateLimited || apiErr.Code == CodeAppRateLimited)
}

// transportCodes are the codes ErrorCode gives besides upstream ErrorCodes
// and "http_<status>".
var transportCodes = []string{"timeout", "network", "canceled", "decode", "body_too_large", "paging", "unknown"}

// TransportCodes returns the fixed codes ErrorCode gives for failures that
// are neither an upstream ErrorCode nor an HTTP status: "timeout",
// "network", "canceled", "decode", "body_too_large", "paging" and
// "unknown". The slice is a fresh copy.
func TransportCodes() []string {
	return slices.Clone(transportCodes)
}

// IsTransportCode reports whether code is one of TransportCodes.
func IsTransportCode(code string) bool {
	return slices.Contains(transportCodes, code)
}

// IsCommonHTTPCode reports whether code is "http_<status>" for one of the
// statuses proxies and gateways commonly answer: 400, 401, 403, 404, 408,
// 429, 500, 502, 503 or 504. The set is closed so that a metric label can
// fold any other status into one value and stay bounded.
func IsCommonHTTPCode(code string) bool {
	switch code {
	case "http_400", "http_401", "http_403", "http_404", "http_408",
		"http_429", "http_500", "http_502", "http_503", "http_504":
		return true
	}
	return false
}

// documentedCodes are the upstream ErrorCodes the live room documentation
// names for its commands (get_member_list, get_room_list, get_room_info,
// get_room_stats) and the common REST errors.
var documentedCodes = map[int]bool{
	// Common REST errors.
	60002: true, 60003: true, 60004: true, 60005: true, 60006: true,
	60007: true, 60008: true, 60009: true, 60010: true, 60011: true,
	60012: true, 60013: true, 60014: true, 60015: true, 60016: true,
	60017: true, 60018: true, 60019: true, 60020: true, 60021: true,
	// UserSig and account errors.
	70001: true, 70002: true, 70003: true, 70004: true, 70005: true,
	70006: true, 70007: true, 70009: true, 70013: true, 70014: true,
	70016: true, 70020: true, 70050: true, 70051: true, 70107: true,
	// Private errors of the live room commands.
	CodeSystemError: true, CodeInvalidParameters: true, CodeRoomNotFound: true, CodeNotLiveRoom: true,
}

// IsDocumentedCode reports whether code is an upstream ErrorCode the
// documentation lists: the common codes 60002-60021; 70001-70007, 70009,
// 70013, 70014, 70016, 70020, 70050, 70051 and 70107; and the live room
// codes 100001, 100002, 100004 and 100006. The set is closed so that a
// metric label can fold any other code into one value and stay bounded.
func IsDocumentedCode(code int) bool {
	return documentedCodes[code]
}
