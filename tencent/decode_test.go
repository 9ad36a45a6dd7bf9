package tencent

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
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
			page := memberListPage{listMembers: true}
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
			if page.MemberCount != tt.wantCount || page.Next != tt.wantNext || len(page.Members) != tt.wantList {
				t.Errorf("decodeAnswer(%s) = count %d next %q list %d; want %d %q %d", tt.file,
					page.MemberCount, page.Next, len(page.Members), tt.wantCount, tt.wantNext, tt.wantList)
			}
		})
	}
}

// okAnswer wraps a Response object in a successful envelope.
func okAnswer(response string) string {
	return `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RequestId":"req-shape","Response":` + response + `}`
}

// failAnswer is a failed envelope with the given ErrorCode literal.
func failAnswer(code string) string {
	return `{"ActionStatus":"FAIL","ErrorCode":` + code + `,"ErrorInfo":"slow down","RequestId":"req-shape"}`
}

// shapeTests are answers of a wrong or unusual shape, decoded without
// (count) and with (list) WithMembers. They also seed FuzzDecodeAnswer.
var shapeTests = []struct {
	name        string
	body        string
	list        bool
	wantCode    string
	wantErr     string // a substring of the error text
	wantCount   int
	wantMembers string // joined with ","
	wantNext    string
}{
	{"empty Response", okAnswer(`{}`), false, "decode", "MemberCount is missing, want a non-negative integer", 0, "", ""},
	{"empty Response list", okAnswer(`{}`), true, "decode", "MemberCount is missing", 0, "", ""},
	{"no MemberCount", okAnswer(`{"MemberList":[{"Member_Account":"a"}],"Next":""}`), false, "decode", "MemberCount is missing", 0, "", ""},
	{"lower-case membercount", okAnswer(`{"membercount":3}`), false, "decode", "MemberCount is missing", 0, "", ""},
	{"negative MemberCount", okAnswer(`{"MemberCount":-1}`), false, "decode", "MemberCount is the number -1, want a non-negative integer", 0, "", ""},
	{"negative float MemberCount", okAnswer(`{"MemberCount":-1.0}`), false, "decode", "MemberCount is the number -1.0", 0, "", ""},
	{"integral float MemberCount", okAnswer(`{"MemberCount":12.0}`), false, "", "", 12, "", ""},
	{"exponent MemberCount", okAnswer(`{"MemberCount":1.2e1}`), false, "", "", 12, "", ""},
	{"negative exponent MemberCount", okAnswer(`{"MemberCount":120E-1}`), false, "", "", 12, "", ""},
	{"zero MemberCount", okAnswer(`{"MemberCount":0,"MemberList":[],"Next":""}`), true, "", "", 0, "", ""},
	{"fractional MemberCount", okAnswer(`{"MemberCount":12.5}`), false, "decode", "MemberCount is the number 12.5", 0, "", ""},
	{"almost integral MemberCount", okAnswer(`{"MemberCount":12.000000000000000001}`), false, "decode", "MemberCount is the number", 0, "", ""},
	{"string MemberCount", okAnswer(`{"MemberCount":"12"}`), false, "decode", "MemberCount is a string, want a non-negative integer", 0, "", ""},
	{"null MemberCount", okAnswer(`{"MemberCount":null}`), false, "decode", "MemberCount is null", 0, "", ""},
	{"bool MemberCount", okAnswer(`{"MemberCount":true}`), false, "decode", "MemberCount is a boolean", 0, "", ""},
	{"MemberCount beyond int", okAnswer(`{"MemberCount":9223372036854775808}`), false, "decode", "MemberCount is the number 9223372036854775808", 0, "", ""},
	{"MemberCount 1e19", okAnswer(`{"MemberCount":1e19}`), false, "decode", "MemberCount is the number 1e19", 0, "", ""},
	{"huge MemberCount", okAnswer(`{"MemberCount":1` + strings.Repeat("0", 100) + `}`), false, "decode", "MemberCount is the number 10000000000000000000000000000000...", 0, "", ""},
	{"largest MemberCount", okAnswer(`{"MemberCount":9223372036854775807}`), false, "", "", math.MaxInt, "", ""},
	{"Response an array", okAnswer(`[]`), false, "decode", "Response is an array, want an object", 0, "", ""},
	{"Response a number", okAnswer(`12`), false, "decode", "Response is the number 12, want an object", 0, "", ""},
	{"Response null", okAnswer(`null`), false, "decode", "no Response in a successful answer", 0, "", ""},
	{"float ErrorCode", failAnswer("60007.0"), false, "60007", "error 60007: slow down", 0, "", ""},
	{"exponent ErrorCode", failAnswer("6.0007e4"), false, "60007", "error 60007", 0, "", ""},
	{"float zero ErrorCode on OK", `{"ActionStatus":"OK","ErrorCode":0.0,"RequestId":"req-shape","Response":{"MemberCount":1}}`, false, "", "", 1, "", ""},
	{"null ErrorCode on OK", `{"ActionStatus":"OK","ErrorCode":null,"RequestId":"req-shape","Response":{"MemberCount":1}}`, false, "", "", 1, "", ""},
	{"fractional ErrorCode", failAnswer("60007.5"), false, "decode", "ErrorCode is the number 60007.5, want an integer", 0, "", ""},
	{"ErrorCode beyond int", failAnswer("1e30"), false, "decode", "ErrorCode is the number 1e30", 0, "", ""},
	{"string ErrorCode", failAnswer(`"60007"`), false, "decode", "ErrorCode is a string, want an integer", 0, "", ""},
	{"fractional ErrorCode on OK", `{"ActionStatus":"OK","ErrorCode":0.5,"RequestId":"req-shape","Response":{"MemberCount":1}}`, false, "decode", "ErrorCode is the number 0.5", 0, "", ""},
	{"ErrorInfo a number", `{"ActionStatus":"FAIL","ErrorCode":60007,"ErrorInfo":7,"RequestId":"req-shape"}`, false, "decode", "ErrorInfo", 0, "", ""},
	{"numeric Member_Account", okAnswer(`{"MemberCount":3,"MemberList":[{"Member_Account":12345},{"Member_Account":"b"},{"Member_Account":-1.5e3}],"Next":"n"}`), true, "", "", 3, "12345,b,-1.5e3", "n"},
	{"escaped Member_Account", okAnswer(`{"MemberCount":1,"MemberList":[{"Member_Account":"\u00e9\"x"}]}`), true, "", "", 1, "\u00e9\"x", ""},
	{"numeric Member_Account count", okAnswer(`{"MemberCount":3,"MemberList":[{"Member_Account":12345}]}`), false, "", "", 3, "", ""},
	{"object Member_Account count", okAnswer(`{"MemberCount":3,"MemberList":[{"Member_Account":{}}]}`), false, "", "", 3, "", ""},
	{"malformed MemberList count", okAnswer(`{"MemberCount":3,"MemberList":"nobody","Next":7}`), false, "", "", 3, "", ""},
	{"object Member_Account", okAnswer(`{"MemberCount":1,"MemberList":[{"Member_Account":{}}]}`), true, "decode", "MemberList[0]: Member_Account is an object, want a string or a number", 0, "", ""},
	{"array Member_Account", okAnswer(`{"MemberCount":2,"MemberList":[{"Member_Account":"a"},{"Member_Account":[]}]}`), true, "decode", "MemberList[1]: Member_Account is an array", 0, "", ""},
	{"bool Member_Account", okAnswer(`{"MemberCount":1,"MemberList":[{"Member_Account":false}]}`), true, "decode", "MemberList[0]: Member_Account is a boolean", 0, "", ""},
	{"null Member_Account", okAnswer(`{"MemberCount":1,"MemberList":[{"Member_Account":null}]}`), true, "decode", "MemberList[0]: Member_Account is null", 0, "", ""},
	{"missing Member_Account", okAnswer(`{"MemberCount":1,"MemberList":[{"Account":"a"}]}`), true, "decode", "MemberList[0]: Member_Account is missing", 0, "", ""},
	{"entry not an object", okAnswer(`{"MemberCount":1,"MemberList":["a"]}`), true, "decode", "MemberList[0]: entry is a string, want an object", 0, "", ""},
	{"null entry", okAnswer(`{"MemberCount":1,"MemberList":[null]}`), true, "decode", "MemberList[0]: Member_Account is missing", 0, "", ""},
	{"MemberList not an array", okAnswer(`{"MemberCount":1,"MemberList":{}}`), true, "decode", "MemberList is an object, want an array", 0, "", ""},
	{"MemberList null", okAnswer(`{"MemberCount":0,"MemberList":null,"Next":""}`), true, "", "", 0, "", ""},
	{"Next not a string", okAnswer(`{"MemberCount":1,"MemberList":[],"Next":7}`), true, "decode", "Next is the number 7, want a string", 0, "", ""},
	{"Next null", okAnswer(`{"MemberCount":1,"MemberList":[{"Member_Account":"a"}],"Next":null}`), true, "", "", 1, "a", ""},
	{"white space", "{ \"ActionStatus\" : \"OK\" , \"ErrorCode\" : 0.0 , \"RequestId\":\"req-shape\", \"Response\" : { \"MemberCount\" : 2.0 , \"MemberList\" : [ { \"Member_Account\" : 7 } ] , \"Next\" : \"\" } }", true, "", "", 2, "7", ""},
}

func TestDecodeAnswerShapes(t *testing.T) {
	for _, tt := range shapeTests {
		t.Run(tt.name, func(t *testing.T) {
			page := memberListPage{listMembers: tt.list}
			reqID, err := decodeAnswer(CommandGetMemberList, []byte(tt.body), &page)
			if got := ErrorCode(err); got != tt.wantCode {
				t.Fatalf("decodeAnswer(%s) code = %q (err %v, page %+v); want %q", tt.body, got, err, page, tt.wantCode)
			}
			if reqID != "req-shape" {
				t.Errorf("decodeAnswer(%s) request id = %q; want req-shape", tt.body, reqID)
			}
			if err != nil {
				for _, want := range []string{tt.wantErr, `request id "req-shape"`} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("decodeAnswer(%s) error %q; want it to contain %q", tt.body, err, want)
					}
				}
				return
			}
			if page.MemberCount != tt.wantCount || strings.Join(page.Members, ",") != tt.wantMembers || page.Next != tt.wantNext {
				t.Errorf("decodeAnswer(%s) = %+v; want count %d, members %q, next %q", tt.body, page, tt.wantCount, tt.wantMembers, tt.wantNext)
			}
			if !tt.list && (page.Members != nil || page.Next != "") {
				t.Errorf("decodeAnswer(%s) for a count decoded the list: %+v", tt.body, page)
			}
		})
	}
}

func TestJSONInt(t *testing.T) {
	tests := []struct {
		lit    string
		want   int
		wantOK bool
	}{
		{"12", 12, true},
		{"-12", -12, true},
		{"0", 0, true},
		{"12.0", 12, true},
		{"12.000", 12, true},
		{"-12.0", -12, true},
		{"1.2e1", 12, true},
		{"1.2E+1", 12, true},
		{"120e-1", 12, true},
		{"120.0E-1", 12, true},
		{"0.0", 0, true},
		{"-0", 0, true},
		{"-0.0e5", 0, true},
		{"0e99999999999", 0, true},
		{"0.000e-99999999999", 0, true},
		{"60007.0", 60007, true},
		{"1e18", 1e18, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"9223372036854775807.0", math.MaxInt64, true},
		{"9.223372036854775807e18", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"-9.223372036854775808e18", math.MinInt64, true},
		{"9007199254740993.0", 9007199254740993, true}, // not rounded through float64
		{"9223372036854775808", 0, false},
		{"9.223372036854775808e18", 0, false},
		{"-9223372036854775809", 0, false},
		{"1e19", 0, false},
		{"1e99999999999", 0, false},
		{"1e-99999999999", 0, false},
		{"12.5", 0, false},
		{"12.000000000000000001", 0, false},
		{"1e-1", 0, false},
		{"125e-1", 0, false},
		{"", 0, false},
		{`"12"`, 0, false},
		{"null", 0, false},
		{"true", 0, false},
		{"{}", 0, false},
		{"-", 0, false},
		{"--1", 0, false},
		{"1.", 0, false},
		{".5", 0, false},
		{"1e", 0, false},
		{"1e+", 0, false},
		{"1e+-5", 0, false},
		{"0e+-5", 0, false},
		{"1.0.0", 0, false},
		{"1e5e5", 0, false},
		{"0x10", 0, false},
		{"NaN", 0, false},
		{"Infinity", 0, false},
		{"+12", 0, false},
		{"012", 0, false},
		{"0000000e0", 0, false},
		{"-012.0", 0, false},
		{" 12", 0, false},
	}
	for _, tt := range tests {
		got, ok := jsonInt([]byte(tt.lit))
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("jsonInt(%q) = %d, %v; want %d, %v", tt.lit, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestAPIErrorCarriesRequestID(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "fail_room_gone.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = decodeAnswer(CommandGetMemberList, data, &memberListPage{})
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

// FuzzDecodeAnswer feeds arbitrary bodies to the answer decoder, for a
// count and for a listing: it must never panic, a success must be an OK
// envelope with a non-negative count, an error must have a stable code,
// and a body good enough for a listing is good enough for a count.
func FuzzDecodeAnswer(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, tt := range shapeTests {
		f.Add([]byte(tt.body))
	}
	f.Add([]byte(""))
	f.Add([]byte("null"))
	f.Add([]byte(`{"ActionStatus":"OK","ErrorCode":0,"Response":null}`))
	f.Add([]byte(`{"ActionStatus":"OK","ErrorCode":0,"Response":{"MemberCount":1,"MemberList":[{"Member_Account":1e400}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		count := memberListPage{}
		_, countErr := decodeAnswer(CommandGetMemberList, data, &count)
		list := memberListPage{listMembers: true}
		_, listErr := decodeAnswer(CommandGetMemberList, data, &list)

		for _, err := range []error{countErr, listErr} {
			if err == nil {
				var env envelope
				if json.Unmarshal(data, &env) != nil || env.ActionStatus != "OK" {
					t.Fatalf("decodeAnswer accepted %q", data)
				}
				if code, ok := jsonInt(env.ErrorCode); len(env.ErrorCode) > 0 && string(env.ErrorCode) != "null" && (!ok || code != 0) {
					t.Fatalf("decodeAnswer accepted %q", data)
				}
				continue
			}
			var apiErr *APIError
			if code := ErrorCode(err); code != "decode" && (!errors.As(err, &apiErr) || apiErr.Code == 0) {
				t.Fatalf("decodeAnswer(%q) error %v has code %q", data, err, code)
			}
		}
		if countErr == nil && (count.MemberCount < 0 || count.Members != nil || count.Next != "") {
			t.Fatalf("decodeAnswer(%q) for a count = %+v", data, count)
		}
		if listErr == nil && (countErr != nil || list.MemberCount != count.MemberCount) {
			t.Fatalf("decodeAnswer(%q): listing %+v, %v but counting %+v, %v", data, list, listErr, count, countErr)
		}
		if (countErr == nil) != (listErr == nil) && ErrorCode(listErr) != "decode" {
			t.Fatalf("decodeAnswer(%q): count error %v, list error %v", data, countErr, listErr)
		}
	})
}

// FuzzJSONInt checks jsonInt against exact rational arithmetic on JSON
// number literals with modest exponents.
func FuzzJSONInt(f *testing.F) {
	for _, seed := range []string{"12", "12.0", "1.2e1", "-0.0", "12.5", "9223372036854775807.0", "9.223372036854775808e18", "1e-1", "0e99999999999", "1e400"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		got, ok := jsonInt([]byte(lit))
		var n json.Number
		if json.Unmarshal([]byte(lit), &n) != nil || string(n) != lit {
			if ok {
				t.Fatalf("jsonInt(%q) = %d, true for a non-number", lit, got)
			}
			return
		}
		if _, exp, found := strings.Cut(strings.ToLower(lit), "e"); found && len(strings.TrimLeft(exp, "+-0")) > 4 {
			return // big.Rat would build a huge number
		}
		r, okRat := new(big.Rat).SetString(lit)
		if !okRat {
			t.Fatalf("big.Rat cannot parse JSON number %q", lit)
		}
		wantOK := r.IsInt() && r.Num().IsInt64() && r.Num().Int64() >= math.MinInt && r.Num().Int64() <= math.MaxInt
		if ok != wantOK || (ok && int64(got) != r.Num().Int64()) {
			t.Fatalf("jsonInt(%q) = %d, %v; want %s, %v", lit, got, ok, r.RatString(), wantOK)
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
		page := memberListPage{listMembers: true}
		if _, err := decodeAnswer(CommandGetMemberList, data, &page); err != nil || len(page.Members) != 1000 {
			b.Fatalf("decode: %v, %d members", err, len(page.Members))
		}
	}
}
