package receiver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
)

const (
	testApp   = 1400000001
	testToken = "t0ken-DO-NOT-LEAK"
)

// registry is a fake room registry: one signed app, one unsigned one.
type registry struct {
	mu     sync.Mutex
	events []*tencent.Event
}

func (r *registry) WebhookApp(id uint64) (collector.WebhookApp, bool) {
	switch id {
	case testApp:
		return collector.WebhookApp{Name: "live", Token: testToken, Owned: true}, true
	case testApp + 1:
		return collector.WebhookApp{Name: "open", AllowUnsigned: true, Owned: true}, true
	case testApp + 3:
		return collector.WebhookApp{Name: "elsewhere", Token: testToken, Shard: 1}, true
	}
	return collector.WebhookApp{}, false
}

func (r *registry) ApplyEvent(_ uint64, ev *tencent.Event, _ time.Time) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return collector.EventOK
}

func (r *registry) applied() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

var now = time.Unix(1_700_000_000, 0)

func newTestReceiver() (*Receiver, *registry) {
	reg := &registry{}
	rc := New(reg, nil, nil)
	rc.now = func() time.Time { return now }
	return rc, reg
}

// callbackURL is a callback's URL as Tencent builds it, signed with token
// at t (no signature when token is "").
func callbackURL(app uint64, command, token string, t time.Time) string {
	q := "/callback?SdkAppid=" + strconv.FormatUint(app, 10) + "&CallbackCommand=" + command + "&contenttype=json&ClientIP=1.2.3.4&OptPlatform=RESTAPI"
	if token != "" {
		rt := strconv.FormatInt(t.Unix(), 10)
		q += "&Sign=" + tencent.CallbackSign(token, rt) + "&RequestTime=" + rt
	}
	return q
}

const createdBody = `{"Operator_Account":"alice","RoomInfo":{"RoomId":"live-1","RoomName":"x","Owner_Account":"alice","EventTime":1700000000000}}`

func post(rc *Receiver, url, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	rc.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, url, strings.NewReader(body)))
	return rec
}

// Every refusal has its status and its counter; accepted requests get
// Tencent's OK body.
func TestReceiverResults(t *testing.T) {
	created := tencent.CallbackRoomCreated
	big := `{"RoomInfo":{"RoomId":"r","RoomName":"` + strings.Repeat("x", MaxBodyBytes) + `"}}`
	atLimit := `{"RoomInfo":{"RoomId":"r","RoomName":"`
	atLimit += strings.Repeat("y", MaxBodyBytes-len(atLimit)-3) + `"}}`
	if len(atLimit) != MaxBodyBytes {
		t.Fatalf("body at the limit is %d bytes", len(atLimit))
	}
	tests := []struct {
		name, method, url, body string
		status                  int
		app, command, result    string
	}{
		{"ok", http.MethodPost, callbackURL(testApp, created, testToken, now), createdBody, 200, "live", created, ResultOK},
		{"other spellings", http.MethodPost, strings.NewReplacer("SdkAppid", "SdkAppId", "CallbackCommand", "WebhookCommand").Replace(callbackURL(testApp, created, testToken, now)),
			strings.Replace(createdBody, "live-1", "live-2", 1), 200, "live", created, ResultOK},
		{"duplicate", http.MethodPost, callbackURL(testApp, created, testToken, now.Add(time.Second)), createdBody, 200, "live", created, ResultDuplicate},
		{"unknown command", http.MethodPost, callbackURL(testApp, "Live.CallbackSomethingNew", testToken, now), `{}`, 200, "live", "other", ResultIgnored},
		{"unsigned app", http.MethodPost, callbackURL(testApp+1, created, "", now), createdBody, 200, "open", created, ResultOK},
		{"unknown app", http.MethodPost, callbackURL(testApp+2, created, testToken, now), createdBody, 403, "", created, ResultUnknownApp},
		{"no app", http.MethodPost, "/callback?CallbackCommand=" + created, createdBody, 403, "", created, ResultUnknownApp},
		{"forged", http.MethodPost, callbackURL(testApp, created, "guess", now), createdBody, 401, "live", created, ResultBadSignature},
		{"unsigned", http.MethodPost, callbackURL(testApp, created, "", now), createdBody, 401, "live", created, ResultBadSignature},
		{"replayed 2 min later", http.MethodPost, callbackURL(testApp, created, testToken, now.Add(-2*time.Minute)), createdBody, 401, "live", created, ResultStale},
		{"from the future", http.MethodPost, callbackURL(testApp, created, testToken, now.Add(2*time.Minute)), createdBody, 401, "live", created, ResultStale},
		{"one byte over", http.MethodPost, callbackURL(testApp, created, testToken, now), big[:MaxBodyBytes+1], 413, "live", created, ResultTooLarge},
		{"at the limit", http.MethodPost, callbackURL(testApp, created, testToken, now), atLimit, 200, "live", created, ResultOK},
		{"malformed", http.MethodPost, callbackURL(testApp, created, testToken, now), `{"RoomInfo":`, 400, "live", created, ResultMalformed},
		{"no room", http.MethodPost, callbackURL(testApp, created, testToken, now), `{"RoomInfo":{}}`, 400, "live", created, ResultMalformed},
		{"another shard's app, no shard URL", http.MethodPost, callbackURL(testApp+3, created, testToken, now), createdBody, 200, "elsewhere", created, ResultNotOwned},
		{"another shard's app, forged", http.MethodPost, callbackURL(testApp+3, created, "guess", now), createdBody, 401, "elsewhere", created, ResultBadSignature},
		{"GET", http.MethodGet, callbackURL(testApp, created, testToken, now), "", 405, "", created, ResultMalformed},
	}
	rc, reg := newTestReceiver()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := testutil.ToFloat64(rc.requests.WithLabelValues(tt.app, tt.command, tt.result))
			applied := reg.applied()
			rec := httptest.NewRecorder()
			rc.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.url, strings.NewReader(tt.body)))
			if rec.Code != tt.status {
				t.Errorf("status %d; want %d (%s)", rec.Code, tt.status, rec.Body)
			}
			if got := testutil.ToFloat64(rc.requests.WithLabelValues(tt.app, tt.command, tt.result)); got != before+1 {
				t.Errorf("requests_total{app=%q,command=%q,result=%q} went from %v to %v", tt.app, tt.command, tt.result, before, got)
			}
			if tt.status == 200 && rec.Body.String() != tencent.CallbackReply {
				t.Errorf("body %q; want Tencent's OK reply", rec.Body)
			}
			wantApplied := applied
			if tt.result == ResultOK {
				wantApplied++
			}
			if reg.applied() != wantApplied {
				t.Errorf("%d events applied; want %d", reg.applied(), wantApplied)
			}
		})
	}
}

// The token and the signature never appear in metrics.
func TestReceiverHidesSecrets(t *testing.T) {
	rc, _ := newTestReceiver()
	url := callbackURL(testApp, tencent.CallbackRoomCreated, testToken, now)
	post(rc, url, createdBody)
	post(rc, callbackURL(testApp, tencent.CallbackRoomCreated, "guess", now), createdBody)
	out, err := testutil.CollectAndFormat(rc, expfmt.TypeTextPlain)
	if err != nil {
		t.Fatal(err)
	}
	sign := tencent.CallbackSign(testToken, strconv.FormatInt(now.Unix(), 10))
	for _, secret := range []string{testToken, sign} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("metrics hold a secret %q:\n%s", secret, out)
		}
	}
}

// Duplicates are remembered for a minute, and only so many of them.
func TestDedupe(t *testing.T) {
	var d dedupe
	if d.again(1, "c", []byte("a"), now) {
		t.Fatal("first seen as a duplicate")
	}
	if !d.again(1, "c", []byte("a"), now.Add(59*time.Second)) {
		t.Error("the same body 59 s later not a duplicate")
	}
	if d.again(2, "c", []byte("a"), now) || d.again(1, "d", []byte("a"), now) {
		t.Error("another app or command counted as a duplicate")
	}
	if d.again(1, "c", []byte("a"), now.Add(61*time.Second)) {
		t.Error("the same body 61 s later still a duplicate")
	}
	for i := range maxRemembered + 10 {
		d.again(3, "c", []byte(strconv.Itoa(i)), now.Add(2*time.Minute))
	}
	if n := len(d.when); n > maxRemembered {
		t.Errorf("%d bodies remembered; want at most %d", n, maxRemembered)
	}
}

// The events of an app another shard owns go to that shard, verified
// first, as Tencent sent them, and once only.
func TestReceiverForwards(t *testing.T) {
	owner, ownerReg := newTestReceiver()
	ownerSrv := httptest.NewServer(owner)
	defer ownerSrv.Close()
	reg := &registry{}
	rc := New(forwarding{reg}, nil, func(shard int) string {
		if shard == 1 {
			return ownerSrv.URL + "/callback"
		}
		return ""
	})
	rc.now = func() time.Time { return now }
	url := callbackURL(testApp, tencent.CallbackRoomCreated, testToken, now)
	if rec := post(rc, url, createdBody); rec.Code != 200 || rec.Body.String() != tencent.CallbackReply {
		t.Fatalf("forwarded callback: %d %s", rec.Code, rec.Body)
	}
	if got := testutil.ToFloat64(rc.requests.WithLabelValues("live", tencent.CallbackRoomCreated, ResultForwarded)); got != 1 {
		t.Errorf("forwarded = %v; want 1", got)
	}
	if ownerReg.applied() != 1 || reg.applied() != 0 {
		t.Errorf("applied %d by the owner, %d here; want 1 and 0", ownerReg.applied(), reg.applied())
	}
	// A forged callback is refused here, before any hop.
	if rec := post(rc, callbackURL(testApp, tencent.CallbackRoomCreated, "guess", now), createdBody); rec.Code != 401 || ownerReg.applied() != 1 {
		t.Errorf("forged: %d, owner applied %d; want 401 and no hop", rec.Code, ownerReg.applied())
	}
	// The owner gone: 502, counted.
	ownerSrv.Close()
	if rec := post(rc, callbackURL(testApp, tencent.CallbackRoomDestroyed, testToken, now), `{"RoomId":"r"}`); rec.Code != http.StatusBadGateway {
		t.Errorf("owner unreachable: %d; want 502", rec.Code)
	}
	if got := testutil.ToFloat64(rc.requests.WithLabelValues("live", tencent.CallbackRoomDestroyed, ResultForwardFailed)); got != 1 {
		t.Errorf("forward_failed = %v; want 1", got)
	}
}

// forwarding is a registry whose app testApp belongs to shard 1.
type forwarding struct{ *registry }

func (f forwarding) WebhookApp(id uint64) (collector.WebhookApp, bool) {
	wa, ok := f.registry.WebhookApp(id)
	wa.Owned, wa.Shard = false, 1
	return wa, ok
}
