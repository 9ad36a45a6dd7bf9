package examples_test

// The end-to-end test of the examples against a real Prometheus: the
// Tencent API fake runs in-process with rooms in crafted states, the built
// exporter runs with a configuration derived from config.yml, and
// Prometheus runs with prometheus.yml and the rule files, sped up (1 s
// scrapes and evaluations, short for: and windows). Everything listens on
// 127.0.0.1 with random ports and is stopped when the test ends.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
	"github.com/tencent-live-exporter/tencent_live_exporter/internal/childproc"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

const exporterConfigFile = "config.yml"

// Generous bounds for a loaded CI machine; the test polls, never sleeps
// for an outcome.
const (
	startTimeout = 30 * time.Second
	dataTimeout  = 45 * time.Second
	alertTimeout = 90 * time.Second
)

// commentedApp starts the app config.yml shows commented out: the
// README's guide copies the file and sets one app, so the second, with
// discovery, must not need a key file of its own unless it is wanted.
const commentedApp = "  # - name: prod-shows"

// exampleConfig returns config.yml with its commented app uncommented, as
// its comment tells the user to do ("# " removed from each of its lines).
func exampleConfig(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(exporterConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	start := slices.Index(lines, commentedApp)
	if start < 0 {
		t.Fatalf("%s: no line %q", exporterConfigFile, commentedApp)
	}
	for i := start; i < len(lines) && strings.HasPrefix(lines[i], "  # "); i++ {
		lines[i] = "  " + strings.TrimPrefix(lines[i], "  # ")
	}
	return []byte(strings.Join(lines, "\n"))
}

// TestExampleConfig checks that config.yml is a valid configuration (its
// secret file is not read) of one app, and with its commented app
// uncommented one that the end-to-end test can derive from: its first app
// for apps with listed rooms, its first app with discovery for apps whose
// rooms are found with get_room_list.
func TestExampleConfig(t *testing.T) {
	f, err := os.Open(exporterConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := collector.Decode(f)
	if err != nil || len(cfg.Apps) != 1 {
		t.Fatalf("collector.Decode(%q) = %v; want a valid configuration of one app", exporterConfigFile, err)
	}
	cfg, err = collector.Decode(bytes.NewReader(exampleConfig(t)))
	if err != nil {
		t.Fatalf("collector.Decode(%q with its second app uncommented) = %v; want a valid configuration", exporterConfigFile, err)
	}
	a := cfg.Apps[0]
	if a.Region == "" || a.SecretKeyFile == "" || len(a.Rooms) == 0 {
		t.Errorf("%s: first app has region %q, secret_key_file %q, %d rooms; want all set (the e2e test replaces them)",
			exporterConfigFile, a.Region, a.SecretKeyFile, len(a.Rooms))
	}
	i := slices.IndexFunc(cfg.Apps, func(a *collector.AppConfig) bool { return a.Discovery != nil })
	if i < 0 {
		t.Fatalf("%s: no app with discovery; want one that shows discovery, room_info and room_stats", exporterConfigFile)
	}
	if d := cfg.Apps[i]; len(d.Rooms) != 0 || d.RoomInfo == nil || d.RoomStats == nil || len(d.Discovery.Include) == 0 || len(d.Discovery.Exclude) == 0 {
		t.Errorf("%s: app %q with discovery has %d rooms, room_info %v, room_stats %v, include %q, exclude %q; want no listed rooms, both blocks and both filters (the e2e test relies on them)",
			exporterConfigFile, d.Name, len(d.Rooms), d.RoomInfo != nil, d.RoomStats != nil, d.Discovery.Include, d.Discovery.Exclude)
	}
}

func TestE2EPrometheus(t *testing.T) {
	prometheus := lookPathOrSkip(t, "prometheus", "prometheus")
	promtool := lookPathOrSkip(t, "promtool", "prometheus")
	exporterBin := buildExporter(t)
	dir := t.TempDir()

	room := func(n int) *tencenttest.Room { return &tencenttest.Room{MemberCount: n} }
	live := &e2eApp{
		name: "e2e-live", sdkAppID: 1400000601,
		settings: map[string]any{"max_qps": 20, "refresh_interval": "2s", "offline_backoff_max": "8s"},
		rooms: []e2eRoom{
			{"live-alice", map[string]string{"streamer": "alice", "tier": "gold"}, room(1200)},
			{"live-bob", map[string]string{"streamer": "bob"}, room(300)},
			{"live-carol", nil, room(45)},
			{"live-flaky", nil, room(77)},                            // fails once with 100001 first
			{"live-collapse", nil, room(1000)},                       // drops to 10: TencentLiveAudienceCollapse
			{"live-ending", nil, room(500)},                          // deleted: TencentLiveRoomGone
			{"live-stale", nil, room(80)},                            // then answers 502: TencentLiveRoomDataStale
			{"live-never", nil, nil},                                 // 100004 from the start: no alert
			{"live-chat", nil, &tencenttest.Room{ErrorCode: 100006}}, // not a live room
			{"live-proxy", nil, &tencenttest.Room{HTTPStatus: 502}},  // TencentLiveUpstreamErrorRateHigh
		},
	}
	// The key in its file is not the app's: every call fails with 70009.
	badKey := &e2eApp{
		name: "e2e-badkey", sdkAppID: 1400000602,
		settings: map[string]any{"refresh_interval": "2s"},
		rooms:    []e2eRoom{{"bad-1", nil, room(5)}},
	}
	// Six rooms due every second at max_qps 2: the limiter runs flat out.
	quota := &e2eApp{
		name: "e2e-quota", sdkAppID: 1400000603,
		settings: map[string]any{"max_qps": 2, "refresh_interval": "1s"},
	}
	for i := range 6 {
		quota.rooms = append(quota.rooms, e2eRoom{fmt.Sprintf("quota-%d", i), nil, room(100 + i)})
	}

	// Apps whose rooms are found with get_room_list, derived from the app
	// of config.yml that has discovery, room_info and room_stats (and its
	// include and exclude filters), every interval shortened.
	fastDiscovery := func(discovery map[string]any) map[string]any {
		return map[string]any{
			"max_qps": 20, "refresh_interval": "1s", "offline_backoff_max": "2s",
			"discovery":  discovery,
			"room_info":  map[string]any{"interval": "2s"},
			"room_stats": map[string]any{"interval": "1s"},
		}
	}
	show := func(name, owner string, category []int, members int, views int64) *tencenttest.Room {
		return &tencenttest.Room{Name: name, Owner: owner, Category: category, MemberCount: members, ViewCount: views, MaxMemberCount: 5000}
	}
	quietRoom := show("Quiet corner", "10086", []int{2}, 60, 300) // its counters freeze: TencentLiveRoomChatSilent
	quietRoom.OwnerAsNumber = true
	disc := &e2eApp{
		name: "e2e-discovery", sdkAppID: 1400000604, discovery: true,
		settings: fastDiscovery(map[string]any{"interval": "1s"}),
		listed: []e2eRoom{
			{"live-d-alice-1", nil, show("Alice in the morning", "alice", []int{1}, 120, 900)},
			{"live-d-alice-2", nil, show("Alice answers", "alice", []int{1, 3}, 80, 500)},
			{"live-d-quiet", nil, quietRoom},
			{"live-d-ending", nil, show("Last call", "dave", []int{2}, 40, 100)}, // dissolved while watched
		},
		unwatched: []e2eRoom{
			{"live-test-1", nil, show("Rehearsal", "alice", []int{1}, 10, 50)}, // excluded by config.yml
			{"game-1", nil, show("Not live", "alice", []int{1}, 10, 50)},       // not included by config.yml
			{"live-d-private", nil, &tencenttest.Room{MemberCount: 10, Private: true}},
		},
	}
	// Every sweep fails: TencentLiveDiscoveryFailing, and get_room_list's
	// TencentLiveUpstreamErrorRateHigh.
	noDisc := &e2eApp{
		name: "e2e-nodisc", sdkAppID: 1400000605, discovery: true,
		settings:  fastDiscovery(map[string]any{"interval": "1s"}),
		unwatched: []e2eRoom{{"live-n-1", nil, show("Never found", "alice", []int{1}, 70, 100)}},
	}
	// max_rooms 1 watches the room with the highest ViewCount only:
	// TencentLiveRoomsSkipped.
	skip := &e2eApp{
		name: "e2e-skip", sdkAppID: 1400000606, discovery: true,
		settings:  fastDiscovery(map[string]any{"interval": "1s", "max_rooms": 1}),
		listed:    []e2eRoom{{"live-s-big", nil, show("Big show", "erin", []int{4}, 90, 1000)}},
		unwatched: []e2eRoom{{"live-s-small", nil, show("Small show", "erin", []int{4}, 5, 10)}},
	}

	// Rooms with seats (room_seats), their owners known from get_room_info:
	// hosts leave the stage and come back (TencentLiveRoomDeadAir).
	// stage-duo's host sits on seat 1 next to a guest, who stays when the
	// host leaves (owner_off_stage); stage-solo's host is alone
	// (empty_stage); stage-few has too small an audience to fire and
	// stage-bare no seats at all.
	onStage := map[string]tencenttest.Room{
		"stage-duo":  {Owner: "grace", MemberCount: 40, Seats: []tencenttest.Seat{{Account: "guest-1"}, {Account: "grace"}, {Locked: true}}},
		"stage-solo": {Owner: "heidi", MemberCount: 25, Seats: []tencenttest.Seat{{Account: "heidi"}, {}}},
		"stage-few":  {Owner: "ivan", MemberCount: 5, Seats: []tencenttest.Seat{{Account: "ivan"}, {}}},
		"stage-bare": {Owner: "judy", MemberCount: 30},
	}
	stage := &e2eApp{
		name: "e2e-stage", sdkAppID: 1400000607,
		settings: map[string]any{
			"max_qps": 20, "refresh_interval": "1s",
			"room_info":  map[string]any{"interval": "1s"},
			"room_seats": map[string]any{"interval": "1s"},
		},
	}
	for _, id := range slices.Sorted(maps.Keys(onStage)) {
		r := onStage[id]
		stage.rooms = append(stage.rooms, e2eRoom{id, nil, &r})
	}

	// Webhook callbacks (a webhook block, --callback.listen-address): the
	// fake posts signed member events of hook-1 and the end of a room the
	// exporter does not watch (so that no room of it is gone), for the
	// dashboard's Webhooks row.
	hookToken := childproc.SecretKey(t, "tle-e2e-hook-")
	hookTokenFile := filepath.Join(dir, "e2e-hooks.webhook-token")
	if err := os.WriteFile(hookTokenFile, []byte(hookToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hooks := &e2eApp{
		name: "e2e-hooks", sdkAppID: 1400000608,
		settings: map[string]any{"refresh_interval": "2s", "webhook": map[string]any{"token_file": hookTokenFile}},
		rooms:    []e2eRoom{{"hook-1", nil, room(20)}},
	}

	apps := []*e2eApp{live, badKey, quota, disc, noDisc, skip, stage, hooks}
	for _, a := range apps {
		a.key = childproc.SecretKey(t, "tle-e2e-secret-")
		a.fileKey = a.key
		a.fake = tencenttest.NewServer(tencenttest.Options{
			SDKAppID: a.sdkAppID, Identifier: "administrator", SecretKey: a.key,
			RateLimit: 200, RoomListRateLimit: 10, RoomInfoRateLimit: 200, RoomStatsRateLimit: 100, SeatListRateLimit: 200,
		})
		t.Cleanup(a.fake.Close)
		for _, r := range slices.Concat(a.rooms, a.listed, a.unwatched) {
			if r.room != nil {
				a.fake.SetRoom(r.id, *r.room)
			}
		}
	}
	badKey.fileKey = childproc.SecretKey(t, "tle-e2e-secret-")
	live.fake.FailNext("live-flaky", 100001, 1)
	noDisc.fake.FailListPage(1, 100001, 1<<30)

	exporterConfigPath := exporterConfig(t, dir, apps)
	exporterAddr, callbackAddr := childproc.FreeAddr(t), childproc.FreeAddr(t)
	exporter := childproc.Start(t, dir, exporterBin,
		"--config.file="+exporterConfigPath, "--web.listen-address="+exporterAddr,
		"--callback.listen-address="+callbackAddr, "--log.level=debug")
	waitReady(t, exporter, "http://"+exporterAddr+"/-/ready")

	rules := fastRules(t, dir)
	promConfig := prometheusConfig(t, dir, exporterAddr, rules)
	if out := runTool(t, promtool, "check", "config", promConfig); !strings.Contains(out, "SUCCESS: 2 rule files found") {
		t.Fatalf("promtool check config on the derived configuration: want both rule files:\n%s", out)
	}
	promAddr := childproc.FreeAddr(t)
	prom := childproc.Start(t, dir, prometheus,
		"--config.file="+promConfig,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr,
	)
	api := promAPI{url: "http://" + promAddr}
	procs := []*childproc.Process{exporter, prom}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if _, body, err := api.alerts(); err == nil {
			t.Logf("/api/v1/alerts:\n%s", body)
		}
		if _, body, err := httpGet(api.url+"/api/v1/targets", nil); err == nil {
			t.Logf("/api/v1/targets:\n%s", body)
		}
		if b, err := os.ReadFile(exporterConfigPath); err == nil {
			t.Logf("exporter configuration:\n%s", b)
		}
	})
	waitReady(t, prom, api.url+"/-/ready")
	t.Logf("Prometheus ready at %s", promAddr)

	t.Run("target up", func(t *testing.T) {
		waitFor(t, startTimeout, `up{job="tencent_live"} == 1`, procs, func() string {
			res, err := api.query(`up{job="tencent_live"}`)
			if err != nil {
				return err.Error()
			}
			if len(res) != 1 || res[0].Value != 1 || res[0].Metric["instance"] != exporterAddr {
				return fmt.Sprintf("%+v", res)
			}
			return ""
		})
	})

	t.Run("room members match the fake", func(t *testing.T) {
		want := map[string]float64{}
		for _, a := range apps {
			for _, r := range slices.Concat(a.rooms, a.listed) {
				if r.room != nil && r.room.ErrorCode == 0 && r.room.HTTPStatus == 0 && a != badKey {
					want[a.name+"/"+r.id] = float64(r.room.MemberCount)
				}
			}
		}
		waitFor(t, dataTimeout, "tencent_live_room_members to match the fake", procs, func() string {
			res, err := api.query(`tencent_live_room_members{job="tencent_live"}`)
			if err != nil {
				return err.Error()
			}
			got := map[string]float64{}
			for _, s := range res {
				got[s.Metric["app"]+"/"+s.Metric["room"]] = s.Value
			}
			if !maps.Equal(got, want) {
				return fmt.Sprintf("got %v, want %v", got, want)
			}
			return ""
		})
		// The room labels of config.yml's form reach Prometheus.
		res, err := api.query(`tencent_live_room_members{room="live-alice", streamer="alice", tier="gold"}`)
		if err != nil || len(res) != 1 {
			t.Errorf("live-alice with its labels: %v, %v", res, err)
		}
	})

	// Discovery, room_info and room_stats against the fake of e2e-discovery:
	// rooms found, created and dissolved while the exporter runs, and the
	// joins of the recording rules and the dashboard.
	discSel := func(metric, room string) string {
		return fmt.Sprintf(`%s{app=%q, room=%q}`, metric, disc.name, room)
	}
	// infoOf returns the room_info labels of a room as "name/owner/category/type".
	infoOf := func(room string) (string, error) {
		res, err := api.query(discSel("tencent_live_room_info", room))
		if err != nil {
			return "", err
		}
		if len(res) != 1 || res[0].Value != 1 {
			return "", fmt.Errorf("room_info of %s: %+v", room, res)
		}
		m := res[0].Metric
		return strings.Join([]string{m["name"], m["owner"], m["category"], m["type"]}, "/"), nil
	}

	t.Run("discovered rooms: room_info, and only app and room on their series", func(t *testing.T) {
		want := map[string]string{
			"live-d-alice-1": "Alice in the morning/alice/1/Live",
			"live-d-alice-2": "Alice answers/alice/1,3/Live",
			"live-d-quiet":   "Quiet corner/10086/2/Live", // Owner_Account sent as a number
			"live-d-ending":  "Last call/dave/2/Live",
		}
		for room, info := range want {
			waitFor(t, dataTimeout, "room_info of "+room+" after get_room_info", procs, func() string {
				got, err := infoOf(room)
				if err != nil {
					return err.Error()
				}
				if got != info {
					return fmt.Sprintf("got %q, want %q", got, info)
				}
				return ""
			})
		}
		// The labels of the static rooms of e2e-live (streamer, tier) are
		// empty, hence absent, on discovered rooms: a room's metadata is in
		// room_info only.
		res, err := api.query(fmt.Sprintf(`{app=%q, room=~"live-d-.*", __name__=~"tencent_live_room_(members|up|exists|last_success_timestamp_seconds|messages_total|max_members|views)"}`, disc.name))
		if err != nil {
			t.Fatal(err)
		}
		if len(res) == 0 {
			t.Fatal("no series of the discovered rooms")
		}
		for _, s := range res {
			for k := range s.Metric {
				if !slices.Contains([]string{"__name__", "app", "room", "instance", "job"}, k) {
					t.Errorf("series of a discovered room with label %s: %v", k, s.Metric)
				}
			}
		}
	})

	t.Run("a room created while running appears with its room_info", func(t *testing.T) {
		disc.fake.SetRoom("live-d-new", *show("New show", "bob", []int{3}, 150, 700))
		waitFor(t, dataTimeout, "live-d-new with its members, room_info and capacity", procs, func() string {
			info, err := infoOf("live-d-new")
			if err != nil {
				return err.Error()
			}
			if want := "New show/bob/3/Live"; info != want {
				return fmt.Sprintf("room_info %q, want %q", info, want)
			}
			for metric, want := range map[string]float64{
				"tencent_live_room_members":     150,
				"tencent_live_room_max_members": 5000,
				"tencent_live_room_views":       700,
			} {
				res, err := api.query(discSel(metric, "live-d-new"))
				if err != nil {
					return err.Error()
				}
				if len(res) != 1 || res[0].Value != want {
					return fmt.Sprintf("%s: %+v, want %v", metric, res, want)
				}
			}
			return ""
		})
	})

	t.Run("a dissolved room's series go stale", func(t *testing.T) {
		// Every family of the room first, engagement counters included.
		families := []string{"tencent_live_room_members", "tencent_live_room_info", "tencent_live_room_messages_total", "tencent_live_room_created_timestamp_seconds"}
		waitFor(t, dataTimeout, "the series of live-d-ending", procs, func() string {
			for _, f := range families {
				res, err := api.query(discSel(f, "live-d-ending"))
				if err != nil {
					return err.Error()
				}
				if len(res) != 1 {
					return fmt.Sprintf("%s: %+v", f, res)
				}
			}
			return ""
		})
		disc.fake.DeleteRoom("live-d-ending")
		// The next sweeps no longer list it; it leaves at its next 100004
		// or after two sweeps, and Prometheus marks its series stale.
		waitFor(t, dataTimeout, "every series of live-d-ending to go stale", procs, func() string {
			res, err := api.query(fmt.Sprintf(`{app=%q, room="live-d-ending"}`, disc.name))
			if err != nil {
				return err.Error()
			}
			var names []string
			for _, s := range res {
				names = append(names, s.Metric["__name__"])
			}
			return strings.Join(names, ", ")
		})
	})

	t.Run("members joined with room_info by owner and category", func(t *testing.T) {
		checks := []struct {
			promql, label string
			want          map[string]float64
		}{
			{
				fmt.Sprintf(`sum by (owner) (tencent_live_room_members{app=%[1]q} * on (app, room) group_left (owner) tencent_live_room_info{app=%[1]q})`, disc.name),
				"owner", map[string]float64{"alice": 200, "10086": 60, "bob": 150},
			},
			{fmt.Sprintf(`app_owner:tencent_live_room_members:sum{app=%q}`, disc.name), "owner", map[string]float64{"alice": 200, "10086": 60, "bob": 150}},
			{fmt.Sprintf(`app_category:tencent_live_room_members:sum{app=%q}`, disc.name), "category", map[string]float64{"1": 120, "1,3": 80, "2": 60, "3": 150}},
			{fmt.Sprintf(`app_owner:tencent_live_room_info:count{app=%q}`, disc.name), "owner", map[string]float64{"alice": 2, "10086": 1, "bob": 1}},
		}
		for _, c := range checks {
			waitFor(t, dataTimeout, c.promql, procs, func() string {
				res, err := api.query(c.promql)
				if err != nil {
					t.Fatalf("%s: %v", c.promql, err)
				}
				got := map[string]float64{}
				for _, s := range res {
					got[s.Metric[c.label]] = s.Value
				}
				if !maps.Equal(got, c.want) {
					return fmt.Sprintf("got %v, want %v", got, c.want)
				}
				return ""
			})
		}
	})

	t.Run("series carry the command", func(t *testing.T) {
		// The ceilings and the error counter are per upstream command, as
		// the rules and the dashboard assume: a series without command
		// would silently drop out of their on (app, command) joins.
		res, err := api.query(`tencent_live_app_max_qps{command=""} or tencent_live_app_limiter_qps{command=""} or tencent_live_scrape_errors_total{command=""}`)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range res {
			t.Errorf("series without a command label: %v", s.Metric)
		}
		// Commands other than get_member_list have series only where
		// configured.
		res, err = api.query(`{__name__=~"tencent_live_(app_max_qps|app_limiter_qps|api_request_duration_seconds_count|scrape_errors_total)", command!="get_member_list", app=~"e2e-live|e2e-badkey|e2e-quota"}`)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range res {
			t.Errorf("series of a command the app does not use: %v", s.Metric)
		}
		var allApps, memberApps, discoveryApps []string
		for _, a := range apps {
			allApps = append(allApps, a.name)
			if len(a.rooms)+len(a.listed) > 0 {
				memberApps = append(memberApps, a.name)
			}
			if a.discovery {
				discoveryApps = append(discoveryApps, a.name)
			}
		}
		checks := []struct {
			promql string
			want   []string // apps that must have a sample
		}{
			{`count by (app) (tencent_live_app_max_qps{command="get_member_list"})`, allApps},
			{`count by (app) (tencent_live_app_limiter_qps{command="get_member_list"})`, allApps},
			{`count by (app) (tencent_live_api_request_duration_seconds_count{command="get_member_list"})`, memberApps},
			{`count by (app) (tencent_live_scrape_errors_total{command="get_member_list", code="http_502"})`, []string{live.name}},
			{`count by (app) (tencent_live_scrape_errors_total{command="get_member_list", code="70009"})`, []string{badKey.name}},
			{`count by (app) (tencent_live_app_max_qps{command="get_room_list"})`, discoveryApps},
			{`count by (app) (tencent_live_app_limiter_qps{command="get_room_info"})`, discoveryApps},
			{`count by (app) (tencent_live_app_max_qps{command="get_room_stats"})`, discoveryApps},
			{`count by (app) (tencent_live_api_request_duration_seconds_count{command="get_room_list"})`, discoveryApps},
			{`count by (app) (tencent_live_api_request_duration_seconds_count{command=~"get_room_info|get_room_stats"})`, []string{disc.name, skip.name}},
			{`count by (app) (tencent_live_scrape_errors_total{command="get_room_list", code="100001"})`, []string{noDisc.name}},
			{`count by (app) (tencent_live_discovery_sweeps_total{result="error"})`, []string{noDisc.name}},
			{`count by (app) (tencent_live_discovery_sweeps_total{result="ok"})`, []string{disc.name, skip.name}},
		}
		for _, c := range checks {
			waitFor(t, dataTimeout, c.promql, procs, func() string {
				res, err := api.query(c.promql)
				if err != nil {
					return err.Error()
				}
				got := map[string]bool{}
				for _, s := range res {
					got[s.Metric["app"]] = true
				}
				var missing []string
				for _, app := range c.want {
					if !got[app] {
						missing = append(missing, app)
					}
				}
				if len(missing) > 0 {
					return fmt.Sprintf("no sample for %v in %+v", missing, res)
				}
				return ""
			})
		}
	})

	t.Run("webhook callbacks reach the counters", func(t *testing.T) {
		hooks.fake.SetCallbackTarget("http://"+callbackAddr+"/callback", hookToken)
		hooks.fake.SetRoom("hook-gone", tencenttest.Room{MemberCount: 3}) // not watched: its creation is ignored
		hooks.fake.DeleteRoom("hook-gone")                                // its end counts all the same
		hooks.fake.PostMemberEvent("hook-1", "Online", "Enter", "viewer-1", "viewer-2")
		hooks.fake.PostMemberEvent("hook-1", "Offline", "HeartbeatInterrupt", "viewer-1")
		want := map[string]float64{
			`tencent_live_webhook_requests_total{app="e2e-hooks", command="Live.CallbackAfterMemberStateChanged", result="ok"}`: 2,
			`tencent_live_webhook_requests_total{app="e2e-hooks", command="Live.CallbackAfterCreateRoom", result="ignored"}`:    1,
			`tencent_live_app_ended_rooms_total{app="e2e-hooks", cause="destroy_by_user"}`:                                      1,
			`tencent_live_member_events_total{app="e2e-hooks", event="online", cause="enter"}`:                                  2,
			`tencent_live_room_heartbeat_interrupts_total{app="e2e-hooks", room="hook-1"}`:                                      1,
			`count(tencent_live_webhook_last_accepted_timestamp_seconds{app="e2e-hooks"})`:                                      1,
		}
		for _, sel := range slices.Sorted(maps.Keys(want)) {
			waitFor(t, dataTimeout, sel, procs, func() string {
				res, err := api.query(sel)
				if err != nil {
					return err.Error()
				}
				if len(res) != 1 || res[0].Value != want[sel] {
					return fmt.Sprintf("%+v, want %v", res, want[sel])
				}
				return ""
			})
		}
	})

	t.Run("promtool check metrics", func(t *testing.T) {
		status, body, err := httpGet("http://"+exporterAddr+"/metrics", http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"5"}})
		if err != nil || status != http.StatusOK {
			t.Fatalf("GET /metrics: status %d, %v", status, err)
		}
		cmd := exec.CommandContext(t.Context(), promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})

	t.Run("dashboard expressions return data", func(t *testing.T) {
		type expr struct{ where, promql string }
		var exprs []expr
		for _, dt := range dashboardTargets(t) {
			exprs = append(exprs, expr{dt.String(), substituteGrafanaVars(dt.Expr)})
		}
		for i, sel := range dashboardVariableSelectors(t) {
			exprs = append(exprs, expr{fmt.Sprintf("template variable %d", i), substituteGrafanaVars(sel)})
		}
		// Rates need two samples in their window: poll until every panel
		// has data, but a PromQL error is final.
		waitFor(t, dataTimeout, "every dashboard expression to return data", procs, func() string {
			var empty []string
			for _, e := range exprs {
				res, err := api.query(e.promql)
				if err != nil {
					t.Fatalf("%s: %v", e.where, err)
				}
				if len(res) == 0 {
					empty = append(empty, e.where+": "+e.promql)
				}
			}
			return strings.Join(empty, "\n")
		})
	})

	t.Run("rule expressions evaluate", func(t *testing.T) {
		// The expressions as users load them (5m windows: they may have no
		// data yet, but must parse and evaluate).
		for _, r := range loadRules(t) {
			if _, err := api.query(r.Expr); err != nil {
				t.Errorf("%s: %v", r, err)
			}
		}
		// The sped-up copies Prometheus runs: every rule healthy, and every
		// recorded series present.
		waitFor(t, dataTimeout, "every rule to be evaluated without error", procs, func() string {
			status, body, err := httpGet(api.url+"/api/v1/rules", nil)
			if err != nil || status != http.StatusOK {
				return fmt.Sprintf("/api/v1/rules: status %d, %v", status, err)
			}
			var r struct {
				Data struct {
					Groups []struct {
						Rules []struct {
							Name      string `json:"name"`
							Health    string `json:"health"`
							LastError string `json:"lastError"`
						} `json:"rules"`
					} `json:"groups"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				return err.Error()
			}
			var bad []string
			n := 0
			for _, g := range r.Data.Groups {
				for _, rule := range g.Rules {
					n++
					if rule.Health != "ok" {
						bad = append(bad, fmt.Sprintf("%s: health %q %s", rule.Name, rule.Health, rule.LastError))
					}
				}
			}
			if want := len(loadRules(t)); n != want {
				bad = append(bad, fmt.Sprintf("Prometheus loaded %d rules; want %d", n, want))
			}
			return strings.Join(bad, "\n")
		})
		names := slices.Sorted(maps.Keys(recordedNames(t)))
		waitFor(t, dataTimeout, "every recorded series", procs, func() string {
			var missing []string
			for _, name := range names {
				res, err := api.query(name)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if len(res) == 0 {
					missing = append(missing, name)
				}
			}
			return strings.Join(missing, ", ")
		})
	})

	t.Run("alerts", func(t *testing.T) {
		// live-collapse must have had its audience for the whole offset
		// before it collapses.
		waitFor(t, dataTimeout, "10 s of history for live-collapse", procs, func() string {
			res, err := api.query(`tencent_live_room_members{room="live-collapse"} ` + e2eCollapseOffset)
			if err != nil {
				return err.Error()
			}
			if len(res) != 1 || res[0].Value != 1000 {
				return fmt.Sprintf("%+v", res)
			}
			return ""
		})
		// live-d-quiet must have had messages in the window before the
		// one its chat stays flat in.
		before := fmt.Sprintf(`increase(tencent_live_room_messages_total{app=%q, room="live-d-quiet"}%s)`, disc.name, e2eChatBefore)
		waitFor(t, dataTimeout, "messages in live-d-quiet before it goes silent", procs, func() string {
			res, err := api.query(before)
			if err != nil {
				return err.Error()
			}
			if len(res) != 1 || res[0].Value <= 0 {
				return fmt.Sprintf("%s: %+v", before, res)
			}
			return ""
		})
		// The hosts must be seen on stage, their owners known, before they
		// leave.
		onSeatSel := fmt.Sprintf(`tencent_live_room_owner_on_seat{app=%q} == 1`, stage.name)
		waitFor(t, dataTimeout, "the hosts of "+stage.name+" on stage", procs, func() string {
			res, err := api.query(onSeatSel)
			if err != nil {
				return err.Error()
			}
			if len(res) != 3 {
				return fmt.Sprintf("%s: %+v", onSeatSel, res)
			}
			return ""
		})
		for _, id := range []string{"stage-duo", "stage-solo", "stage-few"} {
			away := onStage[id]
			away.Seats = slices.Clone(away.Seats)
			for i := range away.Seats {
				if away.Seats[i].Account == away.Owner {
					away.Seats[i].Account = ""
				}
			}
			stage.fake.SetRoom(id, away)
		}
		live.fake.SetRoom("live-collapse", tencenttest.Room{MemberCount: 10})
		live.fake.DeleteRoom("live-ending")
		live.fake.SetRoom("live-stale", tencenttest.Room{HTTPStatus: 502})
		frozen := *quietRoom
		frozen.FreezeStats = true
		disc.fake.SetRoom("live-d-quiet", frozen)

		// Each expected alert (as alertKey names it) and what its summary
		// must name.
		expected := map[string][]string{
			"TencentLiveAudienceCollapse app=e2e-live room=live-collapse":                         {"live-collapse"},
			"TencentLiveRoomGone app=e2e-live room=live-ending":                                   {"live-ending"},
			"TencentLiveRoomDataStale app=e2e-live room=live-stale":                               {"live-stale"},
			"TencentLiveAppAuthFailing app=e2e-badkey":                                            {"e2e-badkey"},
			"TencentLiveQuotaNearLimit app=e2e-quota command=get_member_list":                     {"e2e-quota", "get_member_list"},
			"TencentLiveUpstreamErrorRateHigh app=e2e-live command=get_member_list code=http_502": {"e2e-live", "get_member_list", "http_502"},
			"TencentLiveRoomChatSilent app=e2e-discovery room=live-d-quiet":                       {"live-d-quiet", "e2e-discovery", "60 members"},
			"TencentLiveDiscoveryFailing app=e2e-nodisc":                                          {"e2e-nodisc"},
			"TencentLiveUpstreamErrorRateHigh app=e2e-nodisc command=get_room_list code=100001":   {"e2e-nodisc", "get_room_list", "100001"},
			"TencentLiveRoomsSkipped app=e2e-skip":                                                {"e2e-skip", ": 1 discovered rooms"},
			"TencentLiveRoomDeadAir app=e2e-stage room=stage-duo":                                 {"stage-duo", "e2e-stage", "the owner is off stage", "40 members"},
			"TencentLiveRoomDeadAir app=e2e-stage room=stage-solo":                                {"stage-solo", "e2e-stage", "nobody on stage", "25 members"},
		}
		// Every call of e2e-badkey fails, which is also an error rate.
		// live-d-ending may answer 100004 before a sweep no longer lists
		// it, so it may have shown as gone for a moment (for: 0s here) in
		// the subtest that dissolved it. Any other alert firing
		// (TencentLiveExporterDown, TencentLiveConfigReloadFailed, one for
		// a healthy room, for live-never, which never existed, or a silent
		// chat of a room whose counters move) fails the test.
		allowed := func(labels map[string]string) bool {
			switch {
			case labels["alertname"] == "TencentLiveUpstreamErrorRateHigh" && labels["app"] == "e2e-badkey":
			case labels["alertname"] == "TencentLiveRoomGone" && labels["app"] == disc.name && labels["room"] == "live-d-ending":
			default:
				return false
			}
			return true
		}
		seen := map[string]bool{}
		waitFor(t, alertTimeout, "the expected alerts to fire", procs, func() string {
			alerts, body, err := api.alerts()
			if err != nil {
				return err.Error()
			}
			for _, a := range alerts {
				if a.State != "firing" {
					continue
				}
				k := alertKey(a.Labels)
				needles, ok := expected[k]
				switch {
				case ok && !seen[k]:
					seen[k] = true
					s := a.Annotations["summary"]
					for _, needle := range needles {
						if !strings.Contains(s, needle) {
							t.Errorf("%s: summary %q does not name %q", k, s, needle)
						}
					}
					if strings.Contains(s, "<no value>") {
						t.Errorf("%s: summary %q has an empty template value", k, s)
					}
				case !ok && !allowed(a.Labels):
					t.Fatalf("unexpected alert firing: %s\n%s", k, body)
				}
			}
			var missing []string
			for k := range expected {
				if !seen[k] {
					missing = append(missing, k)
				}
			}
			slices.Sort(missing)
			return strings.Join(missing, "; ")
		})
		if alerts, _, err := api.alerts(); err == nil {
			var states []string
			for _, a := range alerts {
				states = append(states, alertKey(a.Labels)+": "+a.State)
			}
			slices.Sort(states)
			t.Logf("alerts once all expected ones fired:\n%s", strings.Join(states, "\n"))
		}

		// While the hosts are away, the recording rules count stage-solo
		// and stage-few (5 members) as without stage, and the owners of
		// all three as off stage; stage-bare, without seats, in neither.
		for rule, want := range map[string]float64{
			"app:tencent_live_rooms_without_stage:count":   2,
			"app:tencent_live_rooms_owner_off_stage:count": 3,
		} {
			sel := fmt.Sprintf(`%s{app=%q}`, rule, stage.name)
			waitFor(t, dataTimeout, sel, procs, func() string {
				res, err := api.query(sel)
				if err != nil {
					return err.Error()
				}
				if len(res) != 1 || res[0].Value != want {
					return fmt.Sprintf("%+v, want %v", res, want)
				}
				return ""
			})
		}
		// The hosts are back: TencentLiveRoomDeadAir resolves.
		start := time.Now()
		for id, r := range onStage {
			stage.fake.SetRoom(id, r)
		}
		waitFor(t, alertTimeout, "TencentLiveRoomDeadAir to resolve", procs, func() string {
			alerts, _, err := api.alerts()
			if err != nil {
				return err.Error()
			}
			var active []string
			for _, a := range alerts {
				if a.Labels["alertname"] == "TencentLiveRoomDeadAir" {
					active = append(active, alertKey(a.Labels)+": "+a.State)
				}
			}
			return strings.Join(active, "; ")
		})
		t.Logf("TencentLiveRoomDeadAir resolved %s after the hosts came back", time.Since(start).Round(100*time.Millisecond))
	})

	t.Run("no secret in the exporter's log", func(t *testing.T) {
		log := exporter.Out.String()
		for _, a := range apps {
			if strings.Contains(log, a.key) || strings.Contains(log, a.fileKey) {
				t.Errorf("the exporter's log contains the key of %s", a.name)
			}
		}
		if strings.Contains(log, hookToken) {
			t.Errorf("the exporter's log contains the webhook token of %s", hooks.name)
		}
	})
}
