package main

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/internal/childproc"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// webhookExporter starts the built binary with the callback receiver, for
// one app whose discovery sweeps every 10 minutes: only callbacks can make
// its rooms appear or go quickly. The fake posts signed callbacks to it.
func webhookExporter(t *testing.T, token string) (*exporter, *fakeApp, string) {
	t.Helper()
	f := newFakeApp(t, 1400000951)
	dir, cfg := configDir(t, f)
	writeFile(t, filepath.Join(dir, "secrets", "webhook.token"), token+"\n")
	writeFile(t, cfg, "apps:\n"+strings.TrimSuffix(appYAML("hooked", f, keyFileRel,
		"refresh_interval: 1s\ndiscovery: {interval: 10m}\nwebhook: {token_file: secrets/webhook.token}"), "    rooms:\n"))
	cbAddr := childproc.FreeAddr(t)
	e := startExporter(t, "--config.file="+cfg, "--callback.listen-address="+cbAddr)
	target := "http://" + cbAddr + "/callback"
	f.SetCallbackTarget(target, token)
	return e, f, target
}

// Rooms the instant they start: a created room has series within 2 s while
// discovery.interval is 10 min; an info update changes room_info within
// 2 s with no get_room_info call; a destroyed room loses its series within
// 2 s and its totals land in the ended-room counters.
func TestBinaryWebhookRoomLifecycle(t *testing.T) {
	const token = "hook-t0ken-DO-NOT-LEAK"
	e, f, target := webhookExporter(t, token)
	e.scrape(t) // demand: the runtime calls upstream while scrapes come

	f.SetRoom("live-new", tencenttest.Room{MemberCount: 33, Name: "fresh", Owner: "ann", Seats: []tencenttest.Seat{{Account: "ann"}}})
	created := time.Now()
	waitFor(t, e.Process, 2*time.Second, "the created room's member count", func() bool {
		_, m := e.scrape(t)
		v, ok := m.get(t, "tencent_live_room_members", "room", "live-new")
		return ok && v == 33
	})
	t.Logf("created room served after %s", time.Since(created).Round(time.Millisecond))
	_, m := e.scrape(t)
	if _, ok := m.get(t, "tencent_live_room_info", "room", "live-new", "name", "fresh", "owner", "ann"); !ok {
		t.Error("room_info of the created room lacks the event's name and owner")
	}

	f.SetRoom("live-new", tencenttest.Room{MemberCount: 33, Name: "renamed", Owner: "ann", Seats: []tencenttest.Seat{{Account: "ann"}}})
	waitFor(t, e.Process, 2*time.Second, "room_info renamed", func() bool {
		_, m := e.scrape(t)
		_, ok := m.get(t, "tencent_live_room_info", "room", "live-new", "name", "renamed")
		return ok
	})
	if n := f.Stats().CallsByCommand[tencenttest.CommandGetRoomInfo]; n != 0 {
		t.Errorf("%d get_room_info calls; the update came without one", n)
	}

	f.DeleteRoom("live-new")
	waitFor(t, e.Process, 2*time.Second, "the destroyed room's series gone", func() bool {
		_, m := e.scrape(t)
		_, ok := m.get(t, "tencent_live_room_members", "room", "live-new")
		return !ok
	})
	_, m = e.scrape(t)
	if v, ok := m.get(t, "tencent_live_app_ended_rooms_total", "app", "hooked", "cause", "destroy_by_user"); !ok || v != 1 {
		t.Errorf("ended_rooms_total = %v (present %v); want 1", v, ok)
	}
	if _, ok := m.get(t, "tencent_live_app_ended_room_viewers_total", "app", "hooked"); !ok {
		t.Error("the destroyed room's viewers did not land in the ended-room totals")
	}
	if v, _ := m.get(t, "tencent_live_webhook_requests_total", "app", "hooked", "command", "Live.CallbackAfterCreateRoom", "result", "ok"); v != 1 {
		t.Errorf("webhook_requests_total{created,ok} = %v; want 1", v)
	}
	if _, ok := m.get(t, "tencent_live_webhook_last_accepted_timestamp_seconds", "app", "hooked"); !ok {
		t.Error("no webhook_last_accepted_timestamp_seconds")
	}

	// Forged and replayed callbacks are refused and counted; the token
	// and signatures appear nowhere.
	forged := tencenttest.CallbackURL(target, 1400000951, "guess", tencenttest.CallbackRoomCreated, time.Now())
	replayed := tencenttest.CallbackURL(target, 1400000951, token, tencenttest.CallbackRoomCreated, time.Now().Add(-3*time.Minute))
	for url, want := range map[string]int{forged: http.StatusUnauthorized, replayed: http.StatusUnauthorized} {
		resp, _, err := fetch(httpClient, http.MethodPost, url, nil, strings.NewReader(`{"RoomInfo":{"RoomId":"live-x"}}`))
		if err != nil || resp.StatusCode != want {
			t.Errorf("POST %s: %v, %v; want %d", url, resp, err, want)
		}
	}
	body, m := e.scrape(t)
	if v, _ := m.get(t, "tencent_live_webhook_requests_total", "app", "hooked", "result", "bad_signature"); v != 1 {
		t.Errorf("bad_signature = %v; want 1", v)
	}
	if v, _ := m.get(t, "tencent_live_webhook_requests_total", "app", "hooked", "result", "stale"); v != 1 {
		t.Errorf("stale = %v; want 1", v)
	}
	_, cfg := httpDo(t, http.MethodGet, e.url+"/config", nil)
	assertNoSecret(t, []string{token}, map[string]string{"metrics": body, "config": cfg, "log": e.Out.String()})
}

// The receiver's own web config: TLS on the callback listener alone,
// while /metrics stays plain; the receiver serves its path and nothing
// else.
func TestBinaryWebhookTLS(t *testing.T) {
	const token = "tls-hook-t0ken"
	f := newFakeApp(t, 1400000952)
	f.SetRoom("room-1", tencenttest.Room{MemberCount: 5})
	dir, cfg := configDir(t, f)
	writeFile(t, cfg, "apps:\n"+appYAML("tls", f, keyFileRel, "webhook: {token: "+token+"}", "room-1"))
	certFile, keyFile, pool := selfSignedCert(t, dir)
	webConfig := filepath.Join(dir, "callback-web.yml")
	writeFile(t, webConfig, fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\n", certFile, keyFile))
	cbAddr := childproc.FreeAddr(t)
	e := startExporter(t, "--config.file="+cfg, "--callback.listen-address="+cbAddr, "--callback.web.config.file="+webConfig)
	e.scrape(t) // /metrics: plain HTTP

	tlsClient := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	target := "https://" + cbAddr + "/callback"
	url := tencenttest.CallbackURL(target, 1400000952, token, tencenttest.CallbackRoomInfoUpdated, time.Now())
	resp, body, err := fetch(tlsClient, http.MethodPost, url, nil, strings.NewReader(`{"RoomInfo":{"RoomId":"room-1","RoomName":"over tls"}}`))
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(body, `"ActionStatus":"OK"`) {
		t.Fatalf("signed callback over TLS: %v, %v, %s", resp, err, body)
	}
	if _, m := e.scrape(t); !func() bool {
		_, ok := m.get(t, "tencent_live_room_info", "room", "room-1", "name", "over tls")
		return ok
	}() {
		t.Error("the info update over TLS did not change room_info")
	}
	// Plain HTTP on the TLS listener: an error, or Go's 400 answer.
	if resp, _, err := fetch(httpClient, http.MethodPost, strings.Replace(url, "https://", "http://", 1), nil, strings.NewReader(`{}`)); err == nil && resp.StatusCode == http.StatusOK {
		t.Error("the TLS callback listener accepted a plain HTTP callback")
	}
	for _, path := range []string{"/metrics", "/config", "/"} {
		if resp, _, err := fetch(tlsClient, http.MethodGet, "https://"+cbAddr+path, nil, nil); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s on the callback listener: %v, %v; want 404 (it serves the callback path only)", path, resp, err)
		}
	}
}
