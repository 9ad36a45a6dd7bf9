package tencent_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

const (
	sdkAppID   = 1400000000
	identifier = "administrator"
	secretKey  = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
)

// recorded is what the fake's front door saw of one request.
type recorded struct {
	query     string
	body      string
	userAgent string
}

// setup starts the fake behind a recorder and returns a client for it. They
// talk over in-memory pipes, so a test may call setup inside a
// testing/synctest bubble and run the client's timeouts and the fake's
// latencies on the bubble's fake clock.
func setup(t *testing.T, opts ...tencent.Option) (*tencent.Client, *tencenttest.Fake, func() []recorded) {
	t.Helper()
	fake := tencenttest.New(tencenttest.Options{SDKAppID: sdkAppID, Identifier: identifier, SecretKey: secretKey})
	var (
		mu   sync.Mutex
		seen []recorded
	)
	l := tencenttest.NewPipeListener()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, recorded{query: r.URL.RawQuery, body: string(body), userAgent: r.UserAgent()})
		mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		fake.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	transport := l.Transport()
	t.Cleanup(func() {
		_ = srv.Close() // ends every connection, and the handlers waiting out a latency with them
		transport.CloseIdleConnections()
	})
	client, err := tencent.NewClient(sdkAppID, identifier, tencent.NewSigner(sdkAppID, identifier, secretKey),
		append([]tencent.Option{tencent.WithBaseURL("http://" + tencenttest.PipeHost), tencent.WithHTTPClient(&http.Client{Transport: transport})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return client, fake, func() []recorded {
		mu.Lock()
		defer mu.Unlock()
		return append([]recorded(nil), seen...)
	}
}

func TestGetMemberListCount(t *testing.T) {
	client, fake, requests := setup(t, tencent.WithUserAgent("tencent_live_exporter/1.2.3"))
	fake.SetRoom("room", tencenttest.Room{MemberCount: 2500})
	list, err := client.GetMemberList(t.Context(), "room")
	if err != nil {
		t.Fatal(err)
	}
	if list.MemberCount != 2500 || list.Pages != 1 || list.Members != nil || list.RequestID == "" {
		t.Errorf("GetMemberList = %+v; want count 2500 from 1 page, no members, a request id", list)
	}
	list2, err := client.GetMemberList(t.Context(), "room")
	if err != nil {
		t.Fatal(err)
	}
	reqs := requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests; want 2", len(reqs))
	}
	if list2.RequestID == list.RequestID {
		t.Errorf("two answers share request id %q", list.RequestID)
	}
	if reqs[0].userAgent != "tencent_live_exporter/1.2.3" {
		t.Errorf("User-Agent = %q", reqs[0].userAgent)
	}
	if reqs[0].body != `{"RoomId":"room","Next":""}` {
		t.Errorf("body = %s", reqs[0].body)
	}
	r0, r1 := randomParam(t, reqs[0].query), randomParam(t, reqs[1].query)
	if r0 == r1 {
		t.Errorf("two requests share random=%s; want a fresh one each", r0)
	}
	for _, r := range reqs {
		if strings.Contains(r.query+r.body, secretKey) {
			t.Errorf("request carries the secret key: %s %s", r.query, r.body)
		}
		for _, p := range []string{"sdkappid=1400000000", "identifier=administrator", "contenttype=json", "usersig="} {
			if !strings.Contains(r.query, p) {
				t.Errorf("query %q lacks %s", r.query, p)
			}
		}
	}
}

func randomParam(t *testing.T, query string) string {
	t.Helper()
	for kv := range strings.SplitSeq(query, "&") {
		if v, ok := strings.CutPrefix(kv, "random="); ok {
			return v
		}
	}
	t.Fatalf("no random in %q", query)
	return ""
}

func TestGetMemberListPaging(t *testing.T) {
	client, fake, requests := setup(t)
	fake.SetRoom("big", tencenttest.Room{MemberCount: 2500})
	list, err := client.GetMemberList(t.Context(), "big", tencent.WithMembers())
	if err != nil {
		t.Fatal(err)
	}
	if list.MemberCount != 2500 || len(list.Members) != 1000 || list.Pages != 10 {
		t.Errorf("paged list: count %d, %d members, %d pages; want 2500, 1000 (the cap), 10", list.MemberCount, len(list.Members), list.Pages)
	}
	if len(requests()) != 10 {
		t.Errorf("%d requests; want 10", len(requests()))
	}

	fake.SetRoom("dups", tencenttest.Room{MemberCount: 4, Members: []string{"a", "b", "a", "c", "b"}})
	list, err = client.GetMemberList(t.Context(), "dups", tencent.WithMembers())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(list.Members, ","); got != "a,b,c" {
		t.Errorf("members = %s; want a,b,c (de-duplicated)", got)
	}
}

func TestGetMemberListEndlessNext(t *testing.T) {
	client, fake, requests := setup(t, tencent.WithMaxPages(5))
	fake.SetRoom("loop", tencenttest.Room{MemberCount: 10, EndlessNext: true})
	_, err := client.GetMemberList(t.Context(), "loop", tencent.WithMembers())
	if got := tencent.ErrorCode(err); got != "paging" {
		t.Fatalf("endless Next: code %q (%v); want paging", got, err)
	}
	if n := len(requests()); n != 5 {
		t.Errorf("endless Next made %d requests; want the cap, 5", n)
	}
}

func TestGetMemberListErrors(t *testing.T) {
	tests := []struct {
		name      string
		room      tencenttest.Room
		opts      []tencent.Option
		wantCode  string
		wantClass tencent.Class
	}{
		{"room gone", tencenttest.Room{ErrorCode: 100004}, nil, "100004", tencent.ClassRoom},
		{"not a live room", tencenttest.Room{ErrorCode: 100006}, nil, "100006", tencent.ClassRoom},
		{"system error", tencenttest.Room{ErrorCode: 100001}, nil, "100001", tencent.ClassTransient},
		{"frequency limit", tencenttest.Room{ErrorCode: 60007}, nil, "60007", tencent.ClassTransient},
		{"bad gateway", tencenttest.Room{HTTPStatus: 502}, nil, "http_502", tencent.ClassTransient},
		{"garbage body", tencenttest.Room{RawBody: "<html>oops</html>"}, nil, "decode", tencent.ClassTransient},
		{"truncated body", tencenttest.Room{RawBody: `{"ActionStatus":"OK","ErrorCode":0,"Resp`}, nil, "decode", tencent.ClassTransient},
		{"oversize body", tencenttest.Room{MemberCount: 1000}, []tencent.Option{tencent.WithMaxBodyBytes(100)}, "body_too_large", tencent.ClassTransient},
		{"timeout", tencenttest.Room{MemberCount: 1, Latency: 5 * time.Second}, []tencent.Option{tencent.WithTimeout(100 * time.Millisecond)}, "timeout", tencent.ClassTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// In virtual time: the timeout case takes its 100 ms exactly,
			// and none of real time.
			synctest.Test(t, func(t *testing.T) {
				client, fake, _ := setup(t, tt.opts...)
				fake.SetRoom("r", tt.room)
				_, err := client.GetMemberList(t.Context(), "r", tencent.WithMembers())
				if got := tencent.ErrorCode(err); got != tt.wantCode {
					t.Fatalf("code = %q (%v); want %q", got, err, tt.wantCode)
				}
				if got := tencent.Classify(err); got != tt.wantClass {
					t.Errorf("class = %s; want %s", got, tt.wantClass)
				}
				assertClosedCode(t, err)
				assertClean(t, err)
			})
		})
	}
}

// assertClosedCode fails if err's code is outside the closed sets a metric
// label relies on.
func assertClosedCode(t *testing.T, err error) {
	t.Helper()
	code := tencent.ErrorCode(err)
	if tencent.IsTransportCode(code) || tencent.IsCommonHTTPCode(code) {
		return
	}
	if n, convErr := strconv.Atoi(code); convErr != nil || !tencent.IsDocumentedCode(n) {
		t.Errorf("code %q of %v is in no closed set", code, err)
	}
}

// assertClean fails if an error's text carries a secret or a usersig.
func assertClean(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); strings.Contains(msg, secretKey) || strings.Contains(msg, "usersig=eJ") {
		t.Errorf("error text leaks a secret: %s", msg)
	}
}

func TestGetMemberListAPIErrorFields(t *testing.T) {
	client, _, _ := setup(t)
	_, err := client.GetMemberList(t.Context(), "never-created")
	var apiErr *tencent.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v; want *APIError", err)
	}
	if apiErr.Code != 100004 || apiErr.Command != "get_member_list" || apiErr.RequestID == "" || apiErr.Info == "" {
		t.Errorf("APIError = %+v; want code 100004, command, request id and info", apiErr)
	}
}

func TestCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, fake, _ := setup(t)
		fake.SetRoom("slow", tencenttest.Room{MemberCount: 1, Latency: time.Hour})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := client.GetMemberList(ctx, "slow")
		if got := tencent.ErrorCode(err); got != "canceled" {
			t.Errorf("cancelled call: code %q (%v); want canceled", got, err)
		}
		if took := time.Since(start); took != 50*time.Millisecond {
			t.Errorf("cancelled call returned after %s; want when cancelled, 50ms", took)
		}
		assertClean(t, err)
	})
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	client, err := tencent.NewClient(sdkAppID, identifier, tencent.NewSigner(sdkAppID, identifier, secretKey), tencent.WithBaseURL(url))
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.GetMemberList(t.Context(), "r")
	if got := tencent.ErrorCode(err); got != "network" {
		t.Errorf("refused: code %q (%v); want network", got, err)
	}
	assertClean(t, err)
}

func TestSignatureCheckedByFake(t *testing.T) {
	tests := []struct {
		name     string
		sdkAppID uint64
		ident    string
		key      string
		clock    func() time.Time
		wantCode string
		// wantVerify is what the fake's verifier says of the signature
		// checked against the real app, administrator and key.
		wantVerify int
	}{
		{"valid", sdkAppID, identifier, secretKey, time.Now, "", 0},
		{"wrong key", sdkAppID, identifier, "not-the-key", time.Now, "70009", 70009},
		{"wrong sdkappid", 1400000001, identifier, secretKey, time.Now, "70016", 70014},
		{"not the admin", sdkAppID, "someone", secretKey, time.Now, "60010", 70013},
		{"expired", sdkAppID, identifier, secretKey, func() time.Time { return time.Now().Add(-48 * time.Hour) }, "70001", 70001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tencenttest.NewServer(tencenttest.Options{SDKAppID: sdkAppID, Identifier: identifier, SecretKey: secretKey})
			t.Cleanup(srv.Close)
			srv.SetRoom("r", tencenttest.Room{MemberCount: 3})
			signer := tencent.NewSigner(tt.sdkAppID, tt.ident, tt.key, tencent.WithClock(tt.clock))
			client, err := tencent.NewClient(tt.sdkAppID, tt.ident, signer, tencent.WithBaseURL(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			_, err = client.GetMemberList(t.Context(), "r")
			if got := tencent.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("code = %q (%v); want %q", got, err, tt.wantCode)
			}
			if tt.wantCode != "" {
				if tencent.Classify(err) != tencent.ClassConfig {
					t.Errorf("class = %s; want config", tencent.Classify(err))
				}
				assertClean(t, err)
			}
			wantCalls := 1
			if tt.wantCode == "70001" {
				wantCalls = 2 // one retry with a fresh signature, no more
			}
			if got := srv.Stats().Calls; got != wantCalls {
				t.Errorf("calls = %d; want %d", got, wantCalls)
			}
			// The fake's independent verifier agrees with the outcome.
			if code, err := tencenttest.VerifyUserSig(signer.UserSig(), sdkAppID, identifier, secretKey, time.Now()); code != tt.wantVerify {
				t.Errorf("VerifyUserSig = %d (%v); want %d", code, err, tt.wantVerify)
			}
		})
	}
}

func TestExpiredAnswerRenewsSignature(t *testing.T) {
	srv := tencenttest.NewServer(tencenttest.Options{SDKAppID: sdkAppID, Identifier: identifier, SecretKey: secretKey})
	t.Cleanup(srv.Close)
	srv.SetRoom("r", tencenttest.Room{MemberCount: 3})
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	signer := tencent.NewSigner(sdkAppID, identifier, secretKey, tencent.WithClock(clock))
	client, err := tencent.NewClient(sdkAppID, identifier, signer, tencent.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	before := signer.UserSig()
	offset.Store(int64(2 * time.Second)) // a fresh signature now differs
	srv.FailNext("r", 70001, 1)
	list, err := client.GetMemberList(t.Context(), "r")
	if err != nil {
		t.Fatalf("after one 70001 the retry should succeed: %v", err)
	}
	if list.MemberCount != 3 {
		t.Errorf("count = %d; want 3", list.MemberCount)
	}
	if signer.UserSig() == before {
		t.Errorf("signature not renewed after 70001")
	}
	if got := srv.Stats().Calls; got != 2 {
		t.Errorf("calls = %d; want 2", got)
	}
}

func TestGateAndObserverSeeEveryRequest(t *testing.T) {
	var gated, done, observed atomic.Int32
	client, fake, requests := setup(t,
		tencent.WithRequestGate(func(_ context.Context, command string) (func(), error) {
			// The gate learns the command, to keep one limit per command.
			if command != tencent.CommandGetMemberList {
				t.Errorf("gate got command %q; want %q", command, tencent.CommandGetMemberList)
			}
			gated.Add(1)
			return func() { done.Add(1) }, nil
		}),
		tencent.WithRequestObserver(func(ri tencent.RequestInfo) {
			if ri.Command != "get_member_list" || ri.Duration <= 0 {
				t.Errorf("observer got %+v", ri)
			}
			observed.Add(1)
		}))
	fake.SetRoom("r", tencenttest.Room{MemberCount: 350})
	fake.FailNext("r", 70001, 1)
	if _, err := client.GetMemberList(t.Context(), "r", tencent.WithMembers()); err != nil {
		t.Fatal(err)
	}
	n := int32(len(requests())) // 1 rejected + 4 pages
	if n != 5 || gated.Load() != n || done.Load() != n || observed.Load() != n {
		t.Errorf("requests %d, gated %d, done %d, observed %d; want 5 each", n, gated.Load(), done.Load(), observed.Load())
	}

	stop := errors.New("quota exhausted")
	blocked, _, _ := setup(t, tencent.WithRequestGate(func(context.Context, string) (func(), error) { return nil, stop }))
	if _, err := blocked.GetMemberList(t.Context(), "r"); !errors.Is(err, stop) {
		t.Errorf("gate error not returned: %v", err)
	}
}

func TestNewClientErrors(t *testing.T) {
	signer := tencent.NewSigner(sdkAppID, identifier, secretKey)
	tests := []struct {
		name string
		opts []tencent.Option
		want string
	}{
		{"nothing", nil, "no region or base URL"},
		{"unknown region", []tencent.Option{tencent.WithRegion("mars")}, `unknown region "mars" (known: china, germany, india, indonesia, japan, korea, singapore, usa)`},
		{"ftp", []tencent.Option{tencent.WithBaseURL("ftp://x")}, `invalid base URL "ftp://x": scheme must be http or https`},
		{"no host", []tencent.Option{tencent.WithBaseURL("http://")}, `invalid base URL "http://": no host`},
		{"query", []tencent.Option{tencent.WithBaseURL("http://h/?a=b")}, `invalid base URL "http://h/?a=b": must not carry a query, fragment or user info`},
		{"zero timeout", []tencent.Option{tencent.WithRegion("usa"), tencent.WithTimeout(0)}, "timeout must be positive, got 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tencent.NewClient(sdkAppID, identifier, signer, tt.opts...)
			if err == nil || err.Error() != tt.want {
				t.Errorf("NewClient(%s) = %v; want %q", tt.name, err, tt.want)
			}
		})
	}
	for _, region := range tencent.Regions() {
		if _, err := tencent.NewClient(sdkAppID, identifier, signer, tencent.WithRegion(region)); err != nil {
			t.Errorf("region %s: %v", region, err)
		}
	}
}

// TestGetMemberListWrongAnswers serves, through the fake's RawBody, answers
// whose shape is wrong or merely unusual: a wrong answer must fail with
// "decode" (never count as a success), an unusual but unambiguous one must
// decode to the right values.
func TestGetMemberListWrongAnswers(t *testing.T) {
	const okHead = `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RequestId":"req-shape","Response":`
	ok := func(response string) string { return okHead + response + "}" }
	fail := func(code string) string {
		return `{"ActionStatus":"FAIL","ErrorCode":` + code + `,"ErrorInfo":"slow down","RequestId":"req-shape"}`
	}
	tests := []struct {
		name        string
		body        string
		members     bool // call WithMembers
		wantCode    string
		wantCount   int
		wantMembers string // joined with ","
	}{
		{"empty Response", ok(`{}`), false, "decode", 0, ""},
		{"empty Response listing", ok(`{}`), true, "decode", 0, ""},
		{"no MemberCount", ok(`{"MemberList":[{"Member_Account":"a"}],"Next":""}`), false, "decode", 0, ""},
		{"no MemberCount listing", ok(`{"MemberList":[{"Member_Account":"a"}],"Next":""}`), true, "decode", 0, ""},
		{"negative MemberCount", ok(`{"MemberCount":-1,"MemberList":[],"Next":""}`), false, "decode", 0, ""},
		{"integral float MemberCount", ok(`{"MemberCount":12.0,"MemberList":[],"Next":""}`), false, "", 12, ""},
		{"exponent MemberCount", ok(`{"MemberCount":1.2e1,"MemberList":[],"Next":""}`), false, "", 12, ""},
		{"fractional MemberCount", ok(`{"MemberCount":12.5,"MemberList":[],"Next":""}`), false, "decode", 0, ""},
		{"string MemberCount", ok(`{"MemberCount":"12","MemberList":[],"Next":""}`), false, "decode", 0, ""},
		{"null MemberCount", ok(`{"MemberCount":null,"MemberList":[],"Next":""}`), false, "decode", 0, ""},
		{"MemberCount beyond int", ok(`{"MemberCount":9223372036854775808,"MemberList":[],"Next":""}`), false, "decode", 0, ""},
		{"MemberCount 1e19", ok(`{"MemberCount":1e19,"MemberList":[],"Next":""}`), false, "decode", 0, ""},
		{"Response not an object", ok(`[]`), false, "decode", 0, ""},
		{"float ErrorCode", fail("60007.0"), false, "60007", 0, ""},
		{"fractional ErrorCode", fail("60007.5"), false, "decode", 0, ""},
		{"ErrorCode beyond int", fail("1e30"), false, "decode", 0, ""},
		{"string ErrorCode", fail(`"60007"`), false, "decode", 0, ""},
		{"numeric Member_Account", ok(`{"MemberCount":3,"MemberList":[{"Member_Account":12345},{"Member_Account":"b"},{"Member_Account":-7}],"Next":""}`), true, "", 3, "12345,b,-7"},
		{"numeric Member_Account count only", ok(`{"MemberCount":3,"MemberList":[{"Member_Account":12345}],"Next":""}`), false, "", 3, ""},
		{"object Member_Account count only", ok(`{"MemberCount":3,"MemberList":[{"Member_Account":{}}],"Next":""}`), false, "", 3, ""},
		{"malformed MemberList count only", ok(`{"MemberCount":3,"MemberList":"nobody","Next":7}`), false, "", 3, ""},
		{"object Member_Account", ok(`{"MemberCount":1,"MemberList":[{"Member_Account":{}}],"Next":""}`), true, "decode", 0, ""},
		{"bool Member_Account", ok(`{"MemberCount":1,"MemberList":[{"Member_Account":true}],"Next":""}`), true, "decode", 0, ""},
		{"null Member_Account", ok(`{"MemberCount":1,"MemberList":[{"Member_Account":null}],"Next":""}`), true, "decode", 0, ""},
		{"missing Member_Account", ok(`{"MemberCount":1,"MemberList":[{}],"Next":""}`), true, "decode", 0, ""},
		{"MemberList not an array", ok(`{"MemberCount":1,"MemberList":"nobody","Next":""}`), true, "decode", 0, ""},
		{"Next not a string", ok(`{"MemberCount":1,"MemberList":[{"Member_Account":"a"}],"Next":7}`), true, "decode", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var observed []error
			client, fake, _ := setup(t, tencent.WithRequestObserver(func(ri tencent.RequestInfo) {
				observed = append(observed, ri.Err)
			}))
			fake.SetRoom("r", tencenttest.Room{RawBody: tt.body})
			var opts []tencent.MemberListOption
			if tt.members {
				opts = append(opts, tencent.WithMembers())
			}
			list, err := client.GetMemberList(t.Context(), "r", opts...)
			if got := tencent.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("GetMemberList(%s) code = %q (%v, %+v); want %q", tt.body, got, err, list, tt.wantCode)
			}
			if len(observed) != 1 || (observed[0] == nil) != (err == nil) {
				t.Errorf("observer saw %v; want one request with the call's outcome %v", observed, err)
			}
			if err != nil {
				if list != nil {
					t.Errorf("GetMemberList = %+v with error %v; want nil", list, err)
				}
				if !strings.Contains(err.Error(), "req-shape") {
					t.Errorf("error %q lacks the request id", err)
				}
				assertClosedCode(t, err)
				assertClean(t, err)
				return
			}
			if list.MemberCount != tt.wantCount || strings.Join(list.Members, ",") != tt.wantMembers || list.RequestID != "req-shape" {
				t.Errorf("GetMemberList = %+v; want count %d, members %q, request id req-shape", list, tt.wantCount, tt.wantMembers)
			}
		})
	}
}

func TestFloatErrorCodeIsRateLimit(t *testing.T) {
	client, fake, _ := setup(t)
	fake.SetRoom("r", tencenttest.Room{RawBody: `{"ActionStatus":"FAIL","ErrorCode":60007.0,"ErrorInfo":"too many","RequestId":"req-rl"}`})
	_, err := client.GetMemberList(t.Context(), "r")
	var apiErr *tencent.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != tencent.CodeCommandRateLimited || apiErr.RequestID != "req-rl" {
		t.Fatalf("err = %v; want *APIError 60007 with request id req-rl", err)
	}
	if !tencent.IsRateLimited(err) || tencent.Classify(err) != tencent.ClassTransient {
		t.Errorf("IsRateLimited = %v, Classify = %s; want true, transient", tencent.IsRateLimited(err), tencent.Classify(err))
	}
}

func TestGetRoomList(t *testing.T) {
	client, fake, requests := setup(t)
	for i := range 25 {
		fake.SetRoom(fmt.Sprintf("room-%02d", i), tencenttest.Room{
			ViewCount: int64(100 - i), Name: fmt.Sprintf("Room %d", i), Owner: strconv.Itoa(1000 + i),
			OwnerAsNumber: i%2 == 0, Category: []int{i % 3}, CreateTime: int64(1700000000 + i), ActivityStatus: 1,
		})
	}
	fake.SetRoom("hidden", tencenttest.Room{ViewCount: 1000, Private: true})

	page1, err := client.GetRoomList(t.Context(), "", tencent.RoomListMaxCount)
	if err != nil {
		t.Fatal(err)
	}
	if len(page1.Rooms) != 20 || page1.Next == "" || page1.RequestID == "" {
		t.Fatalf("page 1: %d rooms, Next %q, request id %q; want 20, a Next and a request id", len(page1.Rooms), page1.Next, page1.RequestID)
	}
	wantFirst := tencent.RoomSummary{RoomID: "room-00", RoomName: "Room 0", Owner: "1000", Category: []int{0}, CreateTime: 1700000000, ActivityStatus: 1, ViewCount: 100}
	if !reflect.DeepEqual(page1.Rooms[0], wantFirst) {
		t.Errorf("first room = %+v; want %+v (Owner_Account sent as a number)", page1.Rooms[0], wantFirst)
	}
	if got := page1.Rooms[1].Owner; got != "1001" {
		t.Errorf("second room's Owner = %q; want 1001 (sent as a string)", got)
	}
	page2, err := client.GetRoomList(t.Context(), page1.Next, tencent.RoomListMaxCount)
	if err != nil {
		t.Fatal(err)
	}
	if len(page2.Rooms) != 5 || page2.Next != "" || page2.Rooms[4].RoomID != "room-24" {
		t.Errorf("page 2: %+v; want room-20..room-24 and the end", page2)
	}

	// Count is clamped to what the upstream accepts.
	for _, count := range []int{0, -3, 500} {
		if _, err := client.GetRoomList(t.Context(), "", count); err != nil {
			t.Errorf("GetRoomList(count %d): %v", count, err)
		}
	}
	var bodies []string
	for _, r := range requests() {
		bodies = append(bodies, r.body)
	}
	want := []string{`{"Next":"","Count":20}`, `{"Next":"` + page1.Next + `","Count":20}`,
		`{"Next":"","Count":1}`, `{"Next":"","Count":1}`, `{"Next":"","Count":20}`}
	if !reflect.DeepEqual(bodies, want) {
		t.Errorf("request bodies %q; want %q", bodies, want)
	}

	// A listing that never ends keeps answering a Next: a caller's page
	// cap has to stop it.
	fake.SetEndlessRoomList(true)
	next := ""
	for page := range 5 {
		p, err := client.GetRoomList(t.Context(), next, tencent.RoomListMaxCount)
		if err != nil || p.Next == "" {
			t.Fatalf("endless page %d: %+v, %v; want a Next", page+1, p, err)
		}
		next = p.Next
	}
}

func TestGetRoomInfo(t *testing.T) {
	client, fake, requests := setup(t)
	fake.SetRoom("full", tencenttest.Room{
		Name: "Full", Owner: "144115212345", OwnerAsNumber: true, CoverURL: "https://c/x.png", Category: []int{2, 5},
		CreateTime: 1700000123, ActivityStatus: 3, ViewCount: 42, MaxMemberCount: 100000, MaxSeatCount: 9,
		IsSeatEnabled: true, TakeSeatMode: "FreeToTake", TakeSeatModeAsInt: true, IsMessageDisabled: true, Private: true,
	})
	fake.SetRoom("plain", tencenttest.Room{CreateTime: 1700000000})
	for _, tt := range []struct {
		id   string
		want tencent.RoomInfo
	}{
		{"full", tencent.RoomInfo{RoomSummary: tencent.RoomSummary{RoomID: "full", RoomName: "Full", Owner: "144115212345", CoverURL: "https://c/x.png", CreateTime: 1700000123, Category: []int{2, 5}, ActivityStatus: 3, ViewCount: 42},
			RoomType: "Live", MaxMemberCount: 100000, MaxSeatCount: 9, IsSeatEnabled: true, TakeSeatMode: "1", IsMessageDisabled: true, IsPublicVisible: false}},
		{"plain", tencent.RoomInfo{RoomSummary: tencent.RoomSummary{RoomID: "plain", CreateTime: 1700000000},
			RoomType: "Live", TakeSeatMode: "ApplyToTake", IsPublicVisible: true}},
	} {
		info, err := client.GetRoomInfo(t.Context(), tt.id)
		if err != nil {
			t.Fatalf("GetRoomInfo(%s): %v", tt.id, err)
		}
		if info.RequestID == "" {
			t.Errorf("GetRoomInfo(%s): no request id", tt.id)
		}
		info.RequestID = ""
		if !reflect.DeepEqual(*info, tt.want) {
			t.Errorf("GetRoomInfo(%s) = %+v; want %+v", tt.id, *info, tt.want)
		}
	}
	if body := requests()[0].body; body != `{"RoomId":"full"}` {
		t.Errorf("request body %s", body)
	}
}

func TestGetRoomStats(t *testing.T) {
	client, fake, requests := setup(t)
	set := tencenttest.RoomCounters{TotalViewers: 1024, TotalGiftsSent: 56, TotalGiftCoins: 8800, TotalUniqueGiftSenders: 12, TotalLikesReceived: 3200, TotalMsgCount: 450}
	fake.SetRoom("set", tencenttest.Room{Stats: set})
	stats, err := client.GetRoomStats(t.Context(), "set")
	if err != nil {
		t.Fatal(err)
	}
	want := tencent.RoomStats{TotalViewers: 1024, TotalGiftsSent: 56, TotalGiftCoins: 8800, TotalUniqueGiftSenders: 12,
		TotalLikesReceived: 3200, TotalMsgCount: 450, RequestID: stats.RequestID}
	if *stats != want || stats.RequestID == "" {
		t.Errorf("GetRoomStats = %+v; want %+v and a request id", *stats, want)
	}
	if body := requests()[0].body; body != `{"RoomId":"set"}` {
		t.Errorf("request body %s", body)
	}

	// The fake's own counters: everybody present at creation has viewed.
	fake.SetRoom("grown", tencenttest.Room{MemberCount: 1000})
	first, err := client.GetRoomStats(t.Context(), "grown")
	if err != nil {
		t.Fatal(err)
	}
	if first.TotalViewers < 1000 {
		t.Errorf("TotalViewers = %d; want at least the 1000 present", first.TotalViewers)
	}
	// A room deleted and created again starts from zero.
	fake.DeleteRoom("grown")
	fake.SetRoom("grown", tencenttest.Room{MemberCount: 1, FreezeStats: true})
	if again, err := client.GetRoomStats(t.Context(), "grown"); err != nil || again.TotalViewers != 0 {
		t.Errorf("recreated room: %+v, %v; want zero counters", again, err)
	}
}

// roomCall calls one of the three room commands by name.
func roomCall(ctx context.Context, client *tencent.Client, command, roomID string) error {
	var err error
	switch command {
	case tencent.CommandGetRoomList:
		_, err = client.GetRoomList(ctx, "", tencent.RoomListMaxCount)
	case tencent.CommandGetRoomInfo:
		_, err = client.GetRoomInfo(ctx, roomID)
	case tencent.CommandGetRoomStats:
		_, err = client.GetRoomStats(ctx, roomID)
	}
	return err
}

func TestRoomCommandErrors(t *testing.T) {
	const okHead = `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RequestId":"req-shape","Response":`
	tests := []struct {
		name      string
		command   string
		room      tencenttest.Room
		prepare   func(*tencenttest.Fake)
		useUp     bool // make one successful call first, using up a limit
		wantCode  string
		wantClass tencent.Class
	}{
		{"info of a room never created", tencent.CommandGetRoomInfo, tencenttest.Room{}, func(f *tencenttest.Fake) { f.DeleteRoom("r") }, false, "100004", tencent.ClassRoom},
		{"stats of a room never created", tencent.CommandGetRoomStats, tencenttest.Room{}, func(f *tencenttest.Fake) { f.DeleteRoom("r") }, false, "100004", tencent.ClassRoom},
		{"info of a room gone", tencent.CommandGetRoomInfo, tencenttest.Room{ErrorCode: 100004}, nil, false, "100004", tencent.ClassRoom},
		{"stats of a room not live", tencent.CommandGetRoomStats, tencenttest.Room{ErrorCode: 100006}, nil, false, "100006", tencent.ClassRoom},
		{"info through a failing proxy", tencent.CommandGetRoomInfo, tencenttest.Room{HTTPStatus: 502}, nil, false, "http_502", tencent.ClassTransient},
		{"stats system error", tencent.CommandGetRoomStats, tencenttest.Room{}, func(f *tencenttest.Fake) { f.FailNextCommand(tencent.CommandGetRoomStats, "r", 100001, 1) }, false, "100001", tencent.ClassTransient},
		{"list page failing", tencent.CommandGetRoomList, tencenttest.Room{}, func(f *tencenttest.Fake) { f.FailListPage(1, 100001, 1) }, false, "100001", tencent.ClassTransient},
		{"list rate limited", tencent.CommandGetRoomList, tencenttest.Room{}, func(f *tencenttest.Fake) { f.SetCommandRateLimit(tencent.CommandGetRoomList, 1) }, true, "60007", tencent.ClassTransient},
		{"info app rate limited", tencent.CommandGetRoomInfo, tencenttest.Room{}, func(f *tencenttest.Fake) { f.SetAppRateLimit(1) }, true, "60011", tencent.ClassTransient},
		{"info without RoomInfo", tencent.CommandGetRoomInfo, tencenttest.Room{InfoRawBody: okHead + `{}}`}, nil, false, "decode", tencent.ClassTransient},
		{"info with a negative MaxMemberCount", tencent.CommandGetRoomInfo, tencenttest.Room{InfoRawBody: okHead + `{"RoomInfo":{"RoomId":"r","MaxMemberCount":-1}}}`}, nil, false, "decode", tencent.ClassTransient},
		{"stats missing a counter", tencent.CommandGetRoomStats, tencenttest.Room{StatsRawBody: okHead + `{"TotalViewers":1}}`}, nil, false, "decode", tencent.ClassTransient},
		{"stats with a negative counter", tencent.CommandGetRoomStats, tencenttest.Room{StatsRawBody: okHead + `{"TotalViewers":1,"TotalGiftsSent":1,"TotalGiftCoins":1,"TotalUniqueGiftSenders":1,"TotalLikesReceived":-1,"TotalMsgCount":1}}`}, nil, false, "decode", tencent.ClassTransient},
		{"list without RoomList", tencent.CommandGetRoomList, tencenttest.Room{}, func(f *tencenttest.Fake) { f.SetRoomListRawBody(okHead + `{"Next":""}}`) }, false, "decode", tencent.ClassTransient},
		{"list entry without RoomId", tencent.CommandGetRoomList, tencenttest.Room{}, func(f *tencenttest.Fake) { f.SetRoomListRawBody(okHead + `{"RoomList":[{"RoomName":"x"}],"Next":""}}`) }, false, "decode", tencent.ClassTransient},
		{"stats FAIL with a float code", tencent.CommandGetRoomStats, tencenttest.Room{StatsRawBody: `{"ActionStatus":"FAIL","ErrorCode":60007.0,"ErrorInfo":"x","RequestId":"req-shape"}`}, nil, false, "60007", tencent.ClassTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var observed []tencent.RequestInfo
			client, fake, _ := setup(t, tencent.WithRequestObserver(func(ri tencent.RequestInfo) { observed = append(observed, ri) }))
			fake.SetRoom("r", tt.room)
			if tt.prepare != nil {
				tt.prepare(fake)
			}
			if tt.useUp {
				if err := roomCall(t.Context(), client, tt.command, "r"); err != nil {
					t.Fatalf("first call: %v", err)
				}
				observed = nil
			}
			err := roomCall(t.Context(), client, tt.command, "r")
			if got := tencent.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("code = %q (%v); want %q", got, err, tt.wantCode)
			}
			if got := tencent.Classify(err); got != tt.wantClass {
				t.Errorf("class = %s; want %s", got, tt.wantClass)
			}
			if rl := tt.wantCode == "60007" || tt.wantCode == "60011"; tencent.IsRateLimited(err) != rl {
				t.Errorf("IsRateLimited = %v; want %v", !rl, rl)
			}
			var apiErr *tencent.APIError
			var tErr *tencent.TransportError
			switch {
			case errors.As(err, &apiErr):
				if apiErr.Command != tt.command || apiErr.RequestID == "" {
					t.Errorf("APIError = %+v; want command %s and a request id", apiErr, tt.command)
				}
			case errors.As(err, &tErr):
				if tErr.Command != tt.command {
					t.Errorf("TransportError command %q; want %q", tErr.Command, tt.command)
				}
			}
			if tt.wantCode == "decode" && !strings.Contains(err.Error(), "req-shape") {
				t.Errorf("decode error %q lacks the request id", err)
			}
			if len(observed) != 1 || observed[0].Command != tt.command || observed[0].Err == nil {
				t.Errorf("observer saw %+v; want one failed %s request", observed, tt.command)
			}
			assertClosedCode(t, err)
			assertClean(t, err)
		})
	}
}

// TestRoomCommandsGateAndRetry: every request of the new commands passes the
// gate under its own command name, and a 70001 is retried once with a fresh
// signature, as for get_member_list.
func TestRoomCommandsGateAndRetry(t *testing.T) {
	var (
		mu    sync.Mutex
		gated []string
		done  int
	)
	client, fake, requests := setup(t,
		tencent.WithRequestGate(func(_ context.Context, command string) (func(), error) {
			mu.Lock()
			gated = append(gated, command)
			mu.Unlock()
			return func() { mu.Lock(); done++; mu.Unlock() }, nil
		}))
	fake.SetRoom("r", tencenttest.Room{MemberCount: 3})
	fake.FailListPage(1, 70001, 1)
	fake.FailNextCommand(tencent.CommandGetRoomInfo, "r", 70001, 1)
	fake.FailNextCommand(tencent.CommandGetRoomStats, "r", 70001, 2) // the retry fails too
	for _, command := range []string{tencent.CommandGetRoomList, tencent.CommandGetRoomInfo} {
		if err := roomCall(t.Context(), client, command, "r"); err != nil {
			t.Errorf("%s after one 70001: %v; want the retry to succeed", command, err)
		}
	}
	err := roomCall(t.Context(), client, tencent.CommandGetRoomStats, "r")
	if got := tencent.ErrorCode(err); got != "70001" {
		t.Errorf("get_room_stats after two 70001: code %q (%v); want 70001, retried once only", got, err)
	}
	want := []string{"get_room_list", "get_room_list", "get_room_info", "get_room_info", "get_room_stats", "get_room_stats"}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(gated, want) || done != len(want) || len(requests()) != len(want) {
		t.Errorf("gated %v (%d done, %d requests); want %v, each done", gated, done, len(requests()), want)
	}
	st := fake.Stats()
	if st.CallsByCommand[tencent.CommandGetRoomStats] != 2 || st.Calls != 0 || st.Injected != 4 {
		t.Errorf("fake Stats = %+v; want 2 get_room_stats calls, no get_member_list, 4 injected", st)
	}

	stop := errors.New("quota exhausted")
	blocked, _, _ := setup(t, tencent.WithRequestGate(func(context.Context, string) (func(), error) { return nil, stop }))
	for _, command := range []string{tencent.CommandGetRoomList, tencent.CommandGetRoomInfo, tencent.CommandGetRoomStats} {
		if err := roomCall(t.Context(), blocked, command, "r"); !errors.Is(err, stop) {
			t.Errorf("%s: gate error not returned: %v", command, err)
		}
	}
}
