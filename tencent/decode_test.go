package tencent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecodeAnswer(t *testing.T) {
	tests := []struct {
		file      string
		wantCount int
		wantNext  string
		wantList  int
		wantCode  string
		wantReqID string
	}{
		{"ok_page.json", 2500, "100", 2, "", "req-ok"},
		{"ok_last_page.json", 3, "", 3, "", "req-last"},
		{"fail_room_gone.json", 0, "", 0, "100004", "req-gone"},
		{"fail_no_response.json", 0, "", 0, "70009", "req-sig"},
		{"ok_without_response.json", 0, "", 0, "decode", "req-empty"},
		{"fail_status_without_code.json", 0, "", 0, "decode", "req-odd"},
		{"truncated.json", 0, "", 0, "decode", ""},
		{"garbage.txt", 0, "", 0, "decode", ""},
		{"wrong_types.json", 0, "", 0, "decode", "req-types"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var page memberListResponse
			reqID, err := decodeAnswer(CommandGetMemberList, data, &page)
			if got := ErrorCode(err); got != tt.wantCode {
				t.Fatalf("decodeAnswer(%s) code = %q (err %v); want %q", tt.file, got, err, tt.wantCode)
			}
			if reqID != tt.wantReqID {
				t.Errorf("decodeAnswer(%s) request id = %q; want %q", tt.file, reqID, tt.wantReqID)
			}
			if err != nil {
				return
			}
			if page.MemberCount != tt.wantCount || page.Next != tt.wantNext || len(page.MemberList) != tt.wantList {
				t.Errorf("decodeAnswer(%s) = count %d next %q list %d; want %d %q %d", tt.file,
					page.MemberCount, page.Next, len(page.MemberList), tt.wantCount, tt.wantNext, tt.wantList)
			}
		})
	}
}

func TestAPIErrorCarriesRequestID(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "fail_room_gone.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = decodeAnswer(CommandGetMemberList, data, &memberListResponse{})
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("decodeAnswer = %v; want *APIError", err)
	}
	want := APIError{Command: CommandGetMemberList, Code: 100004, Info: "room does not exist", RequestID: "req-gone"}
	if *apiErr != want {
		t.Errorf("APIError = %+v; want %+v", *apiErr, want)
	}
	if !strings.Contains(err.Error(), "req-gone") {
		t.Errorf("error text %q lacks the request id", err)
	}
}

// FuzzDecodeAnswer feeds arbitrary bodies to the answer decoder: it must
// never panic, and a success must come with a decoded page.
func FuzzDecodeAnswer(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(""))
	f.Add([]byte("null"))
	f.Add([]byte(`{"ActionStatus":"OK","ErrorCode":0,"Response":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var page memberListResponse
		_, err := decodeAnswer(CommandGetMemberList, data, &page)
		if err == nil {
			var env envelope
			if json.Unmarshal(data, &env) != nil || env.ActionStatus != "OK" || env.ErrorCode != 0 {
				t.Fatalf("decodeAnswer accepted %q", data)
			}
			return
		}
		if code := ErrorCode(err); code == "" || code == "unknown" {
			t.Fatalf("decodeAnswer(%q) error %v has code %q", data, err, code)
		}
	})
}

func benchmarkPage(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RequestId":"bench","Response":{"MemberCount":`)
	fmt.Fprintf(&b, "%d", n)
	b.WriteString(`,"MemberList":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"Member_Account":"user-%06d"}`, i)
	}
	b.WriteString(`],"Next":""}}`)
	return []byte(b.String())
}

func BenchmarkDecode1000MemberPage(b *testing.B) {
	data := benchmarkPage(1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var page memberListResponse
		if _, err := decodeAnswer(CommandGetMemberList, data, &page); err != nil || len(page.MemberList) != 1000 {
			b.Fatalf("decode: %v, %d members", err, len(page.MemberList))
		}
	}
}
