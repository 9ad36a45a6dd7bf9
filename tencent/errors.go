package tencent

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Error codes from the upstream documentation that the exporter treats
// specially. The full list is in the upstream's "Error Codes" page.
const (
	CodeUserSigExpired     = 70001  // UserSig expired: sign again and retry once
	CodeCommandRateLimited = 60007  // get_member_list called more than 200 times in a second
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
// undecodable body. Code is a short stable string such as "timeout",
// "network", "canceled", "http_502", "decode", "body_too_large" or "paging".
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
