package main

import (
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
