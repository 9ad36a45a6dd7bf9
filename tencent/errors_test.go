package tencent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestClassifyAndCode(t *testing.T) {
	api := func(code int) error { return &APIError{Command: CommandGetMemberList, Code: code, RequestID: "r"} }
	tests := []struct {
		name        string
		err         error
		wantClass   Class
		wantCode    string
		rateLimited bool
	}{
		{"nil", nil, ClassNone, "", false},
		{"command frequency limit", api(60007), ClassTransient, "60007", true},
		{"app frequency limit", api(60011), ClassTransient, "60011", true},
		{"too frequent 60018", api(60018), ClassTransient, "60018", false},
		{"too frequent 60019", api(60019), ClassTransient, "60019", false},
		{"upstream timeout", api(60008), ClassTransient, "60008", false},
		{"internal 60013", api(60013), ClassTransient, "60013", false},
		{"system error", api(100001), ClassTransient, "100001", false},
		{"room gone", api(100004), ClassRoom, "100004", false},
		{"not a live room", api(100006), ClassRoom, "100006", false},
		{"invalid parameters", api(100002), ClassRoom, "100002", false},
		{"usersig expired", api(70001), ClassConfig, "70001", false},
		{"wrong key", api(70009), ClassConfig, "70009", false},
		{"wrong region", api(70016), ClassConfig, "70016", false},
		{"verification rate limited", api(70050), ClassConfig, "70050", false},
		{"invalid sdkappid", api(60006), ClassConfig, "60006", false},
		{"sdkappid disabled", api(60016), ClassConfig, "60016", false},
		{"arrears", api(60020), ClassConfig, "60020", false},
		{"ip not allowed", api(60021), ClassConfig, "60021", false},
		{"unknown upstream code", api(123456), ClassTransient, "123456", false},
		{"wrapped api error", fmt.Errorf("room x: %w", api(100004)), ClassRoom, "100004", false},
		{"http 502", &TransportError{Command: CommandGetMemberList, Code: "http_502"}, ClassTransient, "http_502", false},
		{"timeout", &TransportError{Command: CommandGetMemberList, Code: "timeout"}, ClassTransient, "timeout", false},
		{"decode", &TransportError{Command: CommandGetMemberList, Code: "decode"}, ClassTransient, "decode", false},
		{"bare deadline", context.DeadlineExceeded, ClassTransient, "timeout", false},
		{"bare cancel", context.Canceled, ClassTransient, "canceled", false},
		{"other", errors.New("boom"), ClassTransient, "unknown", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.wantClass {
				t.Errorf("Classify(%v) = %s; want %s", tt.err, got, tt.wantClass)
			}
			if got := ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode(%v) = %q; want %q", tt.err, got, tt.wantCode)
			}
			if got := IsRateLimited(tt.err); got != tt.rateLimited {
				t.Errorf("IsRateLimited(%v) = %v; want %v", tt.err, got, tt.rateLimited)
			}
		})
	}
}

func TestAPIErrorIs(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &APIError{Code: CodeRoomNotFound, Info: "gone"})
	if !errors.Is(err, &APIError{Code: CodeRoomNotFound}) {
		t.Errorf("errors.Is(%v, 100004) = false; want true", err)
	}
	if errors.Is(err, &APIError{Code: CodeNotLiveRoom}) {
		t.Errorf("errors.Is(%v, 100006) = true; want false", err)
	}
}

func TestRedactUserSig(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no sig here", "no sig here"},
		{`Post "http://h/x?identifier=a&usersig=eJyrVs*abc_&random=1": EOF`, `Post "http://h/x?identifier=a&usersig=REDACTED&random=1": EOF`},
		{"usersig=abc", "usersig=REDACTED"},
		{"usersig=a usersig=b\"", "usersig=REDACTED usersig=REDACTED\""},
	}
	for _, tt := range tests {
		if got := RedactUserSig(tt.in); got != tt.want {
			t.Errorf("RedactUserSig(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsDocumentedCode(t *testing.T) {
	tests := []struct {
		code int
		want bool
	}{
		{60002, true}, {60003, true}, {60004, true}, {60005, true}, {60006, true},
		{60007, true}, {60008, true}, {60009, true}, {60010, true}, {60011, true},
		{60012, true}, {60013, true}, {60014, true}, {60015, true}, {60016, true},
		{60017, true}, {60018, true}, {60019, true}, {60020, true}, {60021, true},
		{70001, true}, {70002, true}, {70003, true}, {70004, true}, {70005, true},
		{70006, true}, {70007, true}, {70009, true}, {70013, true}, {70014, true},
		{70016, true}, {70020, true}, {70050, true}, {70051, true}, {70107, true},
		{100001, true}, {100002, true}, {100004, true}, {100006, true},
		// Neighbours the documentation does not list.
		{0, false}, {-1, false}, {1, false}, {60000, false}, {60001, false}, {60022, false},
		{70000, false}, {70008, false}, {70010, false}, {70011, false}, {70012, false},
		{70015, false}, {70017, false}, {70018, false}, {70019, false}, {70021, false},
		{70049, false}, {70052, false}, {70106, false}, {70108, false},
		{100000, false}, {100003, false}, {100005, false}, {100007, false}, {123456, false},
	}
	for _, tt := range tests {
		if got := IsDocumentedCode(tt.code); got != tt.want {
			t.Errorf("IsDocumentedCode(%d) = %v; want %v", tt.code, got, tt.want)
		}
	}
	for _, code := range []int{CodeUserSigExpired, CodeCommandRateLimited, CodeAppRateLimited, CodeSystemError,
		CodeInvalidParameters, CodeRoomNotFound, CodeNotLiveRoom} {
		if !IsDocumentedCode(code) {
			t.Errorf("IsDocumentedCode(%d) = false for a named constant", code)
		}
	}
}

func TestTransportCodes(t *testing.T) {
	want := []string{"timeout", "network", "canceled", "decode", "body_too_large", "paging", "unknown"}
	codes := TransportCodes()
	if !slices.Equal(codes, want) {
		t.Errorf("TransportCodes() = %q; want %q", codes, want)
	}
	codes[0] = "changed"
	if TransportCodes()[0] != "timeout" {
		t.Errorf("TransportCodes() shares its slice with callers")
	}
	tests := []struct {
		code      string
		transport bool
		http      bool
	}{
		{"timeout", true, false},
		{"network", true, false},
		{"canceled", true, false},
		{"decode", true, false},
		{"body_too_large", true, false},
		{"paging", true, false},
		{"unknown", true, false},
		{"http_400", false, true},
		{"http_401", false, true},
		{"http_403", false, true},
		{"http_404", false, true},
		{"http_408", false, true},
		{"http_429", false, true},
		{"http_500", false, true},
		{"http_502", false, true},
		{"http_503", false, true},
		{"http_504", false, true},
		{"http_200", false, false},
		{"http_301", false, false},
		{"http_418", false, false},
		{"http_501", false, false},
		{"http_505", false, false},
		{"http_5020", false, false},
		{"http_", false, false},
		{"HTTP_502", false, false},
		{"502", false, false},
		{"", false, false},
		{"Decode", false, false},
		{"cancelled", false, false},
		{"60007", false, false},
	}
	for _, tt := range tests {
		if got := IsTransportCode(tt.code); got != tt.transport {
			t.Errorf("IsTransportCode(%q) = %v; want %v", tt.code, got, tt.transport)
		}
		if got := IsCommonHTTPCode(tt.code); got != tt.http {
			t.Errorf("IsCommonHTTPCode(%q) = %v; want %v", tt.code, got, tt.http)
		}
	}
}

// TestErrorCodeIsClosed checks that ErrorCode's answers for the errors the
// client builds fall in the closed sets a metric label relies on.
func TestErrorCodeIsClosed(t *testing.T) {
	for _, err := range []error{
		&TransportError{Command: CommandGetMemberList, Code: "decode"},
		context.DeadlineExceeded,
		context.Canceled,
		errors.New("boom"),
		fmt.Errorf("wrapped: %w", &TransportError{Command: CommandGetMemberList, Code: "paging"}),
	} {
		if code := ErrorCode(err); !IsTransportCode(code) {
			t.Errorf("ErrorCode(%v) = %q; not a transport code", err, code)
		}
	}
}
