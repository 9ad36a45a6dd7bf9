package tencent

import (
	"context"
	"errors"
	"fmt"
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
