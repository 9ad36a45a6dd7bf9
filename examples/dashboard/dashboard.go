package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/gauge"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// UID is the dashboard's uid: links to it (/d/UID) survive re-imports.
const UID = "tencent-live-exporter"

// schemaVersion is Grafana 10.4's dashboard schema. The panels use
// nothing newer, so Grafana 10.4 and later import the dashboard (and
// migrate it to their own schema), as they did the hand-written one.
const schemaVersion = 39

// datasource is every panel's and query's data source: the dashboard's
// datasource variable, which Grafana's import dialog sets from the
// DS_PROMETHEUS input.
var datasource = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

// section is a row of the dashboard and the panels under it, laid out left
// to right, wrapping at Grafana's 24 columns.
type section struct {
	id        uint32
	title     string
	collapsed bool // the row starts folded, its panels inside it
	cells     []cell
}

// cell is a panel and its size in grid units.
type cell struct {
	w, h  uint32
	panel cog.Builder[dashboard.Panel]
}

// sections is the dashboard, top to bottom. Panel ids are stable: the
// tests in examples/ and users' links (viewPanel=) refer to them.
func sections() []section {
	return []section{
		{id: 1, title: "Overview", cells: []cell{
			{4, 4, upStat(2, "Exporter up",
				`Whether Prometheus could scrape each tencent_live_exporter target (up{job="tencent_live"}).`,
				"DOWN", "UP",
				rangeQuery("A", `up{job="tencent_live"}`, "{{instance}}"))},
			{5, 4, upStat(3, "Apps up",
				"tencent_live_app_up per app: DOWN while get_member_list draws auth or configuration errors or gets no answer at all (network, timeouts, HTTP errors). Then tencent_live_command_up of the app's other enabled commands: DOWN while the API denies that command (e.g. 60010, a feature the plan lacks); the app and its member counts stay up.",
				"DOWN", "UP",
				rangeQuery("A", `tencent_live_app_up{app=~"$app"}`, "{{app}}"),
				rangeQuery("B", `tencent_live_command_up{app=~"$app", command!="get_member_list"}`, "{{app}} {{command}}"))},
			{5, 4, valueStat(4, "Rooms up",
				"Selected rooms whose last query succeeded, out of the selected rooms.",
				rangeQuery("A", `sum(tencent_live_room_up{app=~"$app", room=~"$room"})`, "up"),
				rangeQuery("B", `count(tencent_live_room_up{app=~"$app", room=~"$room"})`, "watched"))},
			{5, 4, valueStat(5, "Rooms live",
				"Selected rooms that exist now (the others answer 100004: offline or dismissed), and the number of rooms watched for the selected apps, listed in the configuration or discovered.",
				rangeQuery("A", `sum(tencent_live_room_exists{app=~"$app", room=~"$room"})`, "live"),
				rangeQuery("B", `sum(tencent_live_app_rooms{app=~"$app"})`, "watched"))},
			{5, 4, valueStat(6, "Members now",
				"Total members in the selected rooms, from each room's last successful answer.",
				rangeQuery("A", `sum(tencent_live_room_members{app=~"$app", room=~"$room"})`, "members"))},
		}},
		{id: 7, title: "Audience", cells: []cell{
			// One line per room would be thousands with discovery: the 10
			// biggest over the whole range (max_over_time ... @ end()), so
			// the same 10 all along; every room is one click away below.
			{16, 9, series(8, "Members per room (top 10)",
				`tencent_live_room_members of the 10 rooms with the most members at any time in the dashboard's time range (topk over max_over_time(…[$__range] @ end()), so the same 10 rooms all along). Every room is in the collapsed row "All rooms" below. Upstream updates the count about every 40 s. A line stops while a room does not exist (100004).`,
				units.Short,
				rangeQuery("A", `max by (app, room) (tencent_live_room_members{app=~"$app", room=~"$room"}) and on (app, room) topk(10, max by (app, room) (max_over_time(tencent_live_room_members{app=~"$app", room=~"$room"}[$__range] @ end())))`, "{{app}} / {{room}}")).
				Legend(tableLegend("lastNotNull", "max"))},
			{8, 9, topBars(9, "Top rooms now",
				"The 10 selected rooms with the most members right now.",
				instantQuery("A", `topk(10, max by (app, room) (tencent_live_room_members{app=~"$app", room=~"$room"}))`, "{{app}} / {{room}}", prometheus.PromQueryFormatTimeSeries))},
			{12, 8, series(10, "Total members per app",
				"Sum of tencent_live_room_members over all rooms of each selected app (the room selector does not apply).",
				units.Short,
				rangeQuery("A", `sum by (app) (tencent_live_room_members{app=~"$app"})`, "{{app}}")).
				Legend(tableLegend("lastNotNull", "max"))},
			{12, 8, roomStates(11)},
		}},
		{id: 42, title: "All rooms", collapsed: true, cells: []cell{
			{24, 12, series(41, "Members per room (all)",
				"tencent_live_room_members of every room the variables select: with thousands of rooms, narrow $app and $room first. Upstream updates the count about every 40 s. A line stops while a room does not exist (100004).",
				units.Short,
				rangeQuery("A", `max by (app, room) (tencent_live_room_members{app=~"$app", room=~"$room"})`, "{{app}} / {{room}}")).
				Legend(tableLegend("lastNotNull", "max"))},
		}},
		{id: 24, title: "Audience by owner and category", cells: []cell{
			{12, 9, topRoomsTable(25)},
			{12, 9, series(26, "Audience per owner",
				"Members of the selected rooms summed by the owner in tencent_live_room_info (members joined with room_info on app and room; rooms without room_info are left out). Recorded as app_owner:tencent_live_room_members:sum.",
				units.Short,
				rangeQuery("A", `sum by (app, owner) (tencent_live_room_members{app=~"$app", room=~"$room"} * on (app, room) group_left (owner) tencent_live_room_info{app=~"$app", room=~"$room"})`, "{{app}} / {{owner}}")).
				Legend(tableLegend("lastNotNull", "max"))},
			{12, 8, series(27, "Audience per category",
				`Members of the selected rooms summed by the category label of tencent_live_room_info: a room's categories joined with ",", so a room in categories 1 and 3 counts under "1,3". Recorded as app_category:tencent_live_room_members:sum.`,
				units.Short,
				rangeQuery("A", `sum by (app, category) (tencent_live_room_members{app=~"$app", room=~"$room"} * on (app, room) group_left (category) tencent_live_room_info{app=~"$app", room=~"$room"})`, "{{app}} / {{category}}")).
				Legend(tableLegend("lastNotNull", "max"))},
			{12, 8, topBars(28, "Rooms per owner",
				"Selected rooms with metadata (tencent_live_room_info) by owner, now.",
				instantQuery("A", `count by (app, owner) (tencent_live_room_info{app=~"$app", room=~"$room"})`, "{{app}} / {{owner}}", prometheus.PromQueryFormatTimeSeries))},
		}},
		{id: 29, title: "Engagement", cells: []cell{
			{12, 8, series(30, "Likes, messages and gift coins per second per app",
				"Sums over the selected rooms of the get_room_stats counters' rates (apps with room_stats only). The counters are up to room_stats.interval old, so short windows show steps. Recorded per app as app:tencent_live_room_likes:rate5m, ...messages..., ...gift_coins....",
				units.Short,
				rangeQuery("A", `sum by (app) (rate(tencent_live_room_likes_total{app=~"$app", room=~"$room"}[$__rate_interval]))`, "{{app}} likes/s"),
				rangeQuery("B", `sum by (app) (rate(tencent_live_room_messages_total{app=~"$app", room=~"$room"}[$__rate_interval]))`, "{{app}} messages/s"),
				rangeQuery("C", `sum by (app) (rate(tencent_live_room_gift_coins_total{app=~"$app", room=~"$room"}[$__rate_interval]))`, "{{app}} gift coins/s")).
				AxisLabel("per second")},
			{12, 8, topBars(31, "Top rooms by messages/s",
				"The 10 selected rooms with the most chat messages per second now (tencent_live_room_messages_total).",
				instantQuery("A", `topk(10, max by (app, room) (rate(tencent_live_room_messages_total{app=~"$app", room=~"$room"}[$__rate_interval])))`, "{{app}} / {{room}}", prometheus.PromQueryFormatTimeSeries))},
			{8, 8, series(32, "Likes/s per room",
				"rate(tencent_live_room_likes_total) per selected room.",
				units.Short,
				rangeQuery("A", `max by (app, room) (rate(tencent_live_room_likes_total{app=~"$app", room=~"$room"}[$__rate_interval]))`, "{{app}} / {{room}}")).
				AxisLabel("per second")},
			{8, 8, series(33, "Messages/s per room",
				"rate(tencent_live_room_messages_total) per selected room.",
				units.Short,
				rangeQuery("A", `max by (app, room) (rate(tencent_live_room_messages_total{app=~"$app", room=~"$room"}[$__rate_interval]))`, "{{app}} / {{room}}")).
				AxisLabel("per second")},
			{8, 8, series(34, "Gift coins/s per room",
				"rate(tencent_live_room_gift_coins_total) per selected room.",
				units.Short,
				rangeQuery("A", `max by (app, room) (rate(tencent_live_room_gift_coins_total{app=~"$app", room=~"$room"}[$__rate_interval]))`, "{{app}} / {{room}}")).
				AxisLabel("per second")},
			{24, 8, series(35, "Messages per viewer-minute",
				"Chat messages per minute divided by the members present: how much the audience talks, comparable between small and large rooms. Only rooms with both a member count and get_room_stats counters count in the per-app ratio. A busy room that drops towards 0 while its members stay is what TencentLiveRoomChatSilent alerts on.",
				units.Short,
				rangeQuery("A", `60 * sum by (app) (rate(tencent_live_room_messages_total{app=~"$app", room=~"$room"}[$__rate_interval])) / (sum by (app) (tencent_live_room_members{app=~"$app", room=~"$room"} and on (app, room) tencent_live_room_messages_total{app=~"$app", room=~"$room"}) > 0)`, "{{app}}"),
				rangeQuery("B", `60 * max by (app, room) (rate(tencent_live_room_messages_total{app=~"$app", room=~"$room"}[$__rate_interval])) / max by (app, room) (tencent_live_room_members{app=~"$app", room=~"$room"} > 0)`, "{{app}} / {{room}}")).
				AxisLabel("messages per member per minute")},
		}},
		{id: 43, title: "Stage", cells: []cell{
			{12, 8, series(44, "Rooms with nobody on stage",
				"Rooms with members in which none of the seats has anyone on it, per app (app:tencent_live_rooms_without_stage:count of recording_rules.yml: apps with room_seats only; the room selector does not apply). Rooms without seats have no stage and are left out. A room with at least 10 members in this state for 3 minutes fires TencentLiveRoomDeadAir (reason empty_stage).",
				units.Short,
				rangeQuery("A", `app:tencent_live_rooms_without_stage:count{app=~"$app"}`, "{{app}}")).
				AxisLabel("rooms")},
			{12, 8, series(45, "Rooms whose owner is off stage",
				"Rooms with members whose owner (Owner_Account) sits on none of the seats, whether others are on stage or not, per app (app:tencent_live_rooms_owner_off_stage:count of recording_rules.yml; the room selector does not apply). The owner comes from discovery or room_info: rooms whose owner is unknown do not count. With others on stage, at least 10 members for 3 minutes fires TencentLiveRoomDeadAir (reason owner_off_stage).",
				units.Short,
				rangeQuery("A", `app:tencent_live_rooms_owner_off_stage:count{app=~"$app"}`, "{{app}}")).
				AxisLabel("rooms")},
			{24, 9, timeline(46, "Owner on stage (top 10 rooms)",
				"tencent_live_room_owner_on_seat of the 10 selected rooms with seats and a known owner that had the most members in the time range (the same rooms all along): on stage while the owner sits on any seat, off stage while not. Gaps: the room ended, or its seat list is older than its maximum age.",
				"off stage", "on stage",
				rangeQuery("A", `max by (app, room) (tencent_live_room_owner_on_seat{app=~"$app", room=~"$room"}) and on (app, room) topk(10, max by (app, room) (max_over_time(tencent_live_room_members{app=~"$app", room=~"$room"}[$__range] @ end())) and on (app, room) max by (app, room) (max_over_time(tencent_live_room_owner_on_seat{app=~"$app", room=~"$room"}[$__range] @ end())))`, "{{app}} / {{room}}"))},
		}},
		{id: 36, title: "Discovery", cells: []cell{
			{6, 8, valueStat(37, "Rooms discovered and skipped",
				"Rooms the last successful get_room_list sweep listed that pass the discovery filters (tencent_live_discovery_rooms), those of them beyond max_rooms that are not watched (tencent_live_discovery_rooms_skipped; above 0 for 30 minutes fires TencentLiveRoomsSkipped), and the rooms watched, listed and discovered (tencent_live_app_rooms, over all shards).",
				roomCounts()...).
				GraphMode(common.BigValueGraphModeArea)},
			{12, 8, series(38, "Room count over time",
				"Rooms discovered (after the filters), skipped because of max_rooms, and watched, per app. Watched rooms include listed ones; a discovered room no longer listed leaves at its first 100004 or after two successful sweeps without it.",
				units.Short,
				roomCounts()...).
				AxisLabel("rooms")},
			{6, 8, valueStat(39, "Since last successful sweep",
				"Time since the last successful get_room_list sweep of each app (tencent_live_discovery_last_success_timestamp_seconds); 10 minutes without one fires TencentLiveDiscoveryFailing.",
				rangeQuery("A", `time() - max by (app) (tencent_live_discovery_last_success_timestamp_seconds{app=~"$app"})`, "{{app}}")).
				Unit(units.Seconds).
				Thresholds(thresholds("green", at(300, "orange"), at(600, "red"))).
				GraphMode(common.BigValueGraphModeArea)},
			{24, 7, series(40, "Sweeps by result",
				"get_room_list sweeps per minute by result (tencent_live_discovery_sweeps_total): ok; error (a page failed: the room set is kept, see the get_room_list errors in Scrape errors by command and code); truncated (max_pages reached: rooms read are added, none removed).",
				units.Short,
				rangeQuery("A", `60 * sum by (app, result) (rate(tencent_live_discovery_sweeps_total{app=~"$app"}[$__rate_interval]))`, "{{app}} {{result}}")).
				AxisLabel("sweeps per minute")},
		}},
		{id: 47, title: "Webhooks", cells: []cell{
			{16, 8, series(48, "Callbacks/s by result",
				"Webhook callbacks received per second by app and result (tencent_live_webhook_requests_total; with --callback.listen-address and a webhook block). Accepted: ok (applied), ignored (about nothing watched), forwarded to the shard that owns the app (forward_failed when it could not take it; not_owned without --shard.callback-url). Refused: bad_signature, stale, unknown_app (app empty), too_large, malformed; refusals for 5 minutes fire TencentLiveWebhookRejected. duplicate: a retry already applied.",
				units.Short,
				rangeQuery("A", `sum by (app, result) (rate(tencent_live_webhook_requests_total{app=~"$app"}[$__rate_interval]))`, "{{app}} {{result}}")).
				AxisLabel("callbacks/s")},
			{8, 8, valueStat(49, "Since last accepted callback",
				"Time since an exporter last accepted a webhook callback of each app, over every shard, replica and restart of the last day (last_over_time of tencent_live_webhook_last_accepted_timestamp_seconds, as TencentLiveWebhookSilent reads it). Orange past 10 minutes, red past 15, when TencentLiveWebhookSilent fires if the audience of the app's rooms kept moving meanwhile.",
				instantQuery("A", `time() - max by (app) (last_over_time(tencent_live_webhook_last_accepted_timestamp_seconds{app=~"$app"}[1d]))`, "{{app}}", prometheus.PromQueryFormatTimeSeries)).
				Unit(units.Seconds).
				Thresholds(thresholds("green", at(600, "orange"), at(900, "red")))},
			{12, 8, series(50, "Member events/s by cause",
				"Accounts in the member events of each app per second, by cause (tencent_live_member_events_total): enter and leave, heartbeat_interrupt (a viewer's network dropped) and heartbeat_recover, kicked. Every room of the app counts, watched or not.",
				units.Short,
				rangeQuery("A", `sum by (app, cause) (rate(tencent_live_member_events_total{app=~"$app"}[$__rate_interval]))`, "{{app}} {{cause}}")).
				AxisLabel("accounts/s")},
			{12, 8, series(51, "Ended rooms per hour by cause",
				"Rooms of each app that ended in the hour before each point, by cause, from destroy events (tencent_live_app_ended_rooms_total): destroy_by_user, destroy_by_system (the room emptied), other. Their final totals add up in tencent_live_app_ended_room_*_total.",
				units.Short,
				rangeQuery("A", `sum by (app, cause) (increase(tencent_live_app_ended_rooms_total{app=~"$app"}[1h]))`, "{{app}} {{cause}}")).
				AxisLabel("rooms per hour")},
			{24, 8, series(52, "Heartbeat interrupts per room (top 10)",
				"Viewers per minute who went offline because their heartbeat stopped (tencent_live_room_heartbeat_interrupts_total: their network dropped), for the 10 selected rooms with the most over the time range, the same rooms all along. A room whose viewers drop together has a stream or network problem, not a dull show.",
				units.Short,
				rangeQuery("A", `60 * sum by (app, room) (rate(tencent_live_room_heartbeat_interrupts_total{app=~"$app", room=~"$room"}[$__rate_interval])) and on (app, room) topk(10, sum by (app, room) (increase(tencent_live_room_heartbeat_interrupts_total{app=~"$app", room=~"$room"}[$__range] @ end())))`, "{{app}} / {{room}}")).
				AxisLabel("viewers dropped per minute").
				Legend(tableLegend("lastNotNull", "max"))},
		}},
		{id: 12, title: "Upstream API", cells: []cell{
			{10, 8, callsAgainstMaxQPS(13)},
			{6, 8, quotaGauge(14)},
			{8, 8, series(15, "Scrape errors by command and code",
				"Failed upstream queries per second by command and error code (tencent_live_scrape_errors_total). 100004 (room does not exist) and 100006 (not a live room) are answers about a room; 60007 is a command's frequency limit, 60011 the app's; 70xxx are auth errors; timeout, network and http_<status> are transport problems; decode, body_too_large and paging are answers the exporter could not use; other is a code it does not know.",
				units.Short,
				rangeQuery("A", `sum by (app, command, code) (rate(tencent_live_scrape_errors_total{app=~"$app"}[$__rate_interval]))`, "{{app}} {{command}} {{code}}")).
				AxisLabel("errors/s")},
			{24, 8, series(16, "API latency p50 / p95 / p99",
				"Upstream get_member_list latency quantiles, estimated from the tencent_live_api_request_duration_seconds histogram buckets.",
				units.Seconds,
				latency("A", "0.50"), latency("B", "0.95"), latency("C", "0.99")).
				Legend(tableLegend("mean", "max"))},
		}},
		{id: 17, title: "Freshness and scrape budget", cells: []cell{
			{12, 8, series(18, "Data age per room",
				"How old each live room's member count is (time() minus tencent_live_room_last_success_timestamp_seconds). It normally saw-tooths between 0 and refresh_interval plus a scrape interval (about 55 s). Above 180 s for 5 minutes fires TencentLiveRoomDataStale. Offline rooms are left out.",
				units.Seconds,
				rangeQuery("A", `(time() - max by (app, room) (tencent_live_room_last_success_timestamp_seconds{app=~"$app", room=~"$room"})) and on (app, room) (max by (app, room) (tencent_live_room_exists{app=~"$app", room=~"$room"}) == 1)`, "{{app}} / {{room}}")).
				Thresholds(thresholds("green", at(180, "red"))).
				ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLineAndArea)).
				Legend(tableLegend("lastNotNull", "max"))},
			{12, 8, series(19, "Deferred room refreshes",
				"Room refreshes postponed per second because a scrape's time budget (scrape_timeout minus 0.5 s) ran out (tencent_live_rooms_deferred_total). Occasional deferrals are harmless; a steady rate means scrape_timeout or max_qps is too small for the number of rooms.",
				units.Short,
				rangeQuery("A", `sum by (app) (rate(tencent_live_rooms_deferred_total{app=~"$app"}[$__rate_interval]))`, "{{app}}")).
				AxisLabel("refreshes/s")},
		}},
		{id: 20, title: "Exporter", collapsed: true, cells: []cell{
			{12, 8, series(21, "Scrape duration",
				"Time the exporter spent collecting (tencent_live_scrape_duration_seconds) and the whole scrape as Prometheus saw it (scrape_duration_seconds). Both must stay below scrape_timeout (10 s in the example).",
				units.Seconds,
				rangeQuery("A", `tencent_live_scrape_duration_seconds`, "collect {{instance}}"),
				rangeQuery("B", `scrape_duration_seconds{job="tencent_live"}`, "scrape {{instance}}"))},
			{6, 8, upStat(22, "Config reload",
				"Whether the last configuration reload (SIGHUP or POST /-/reload) succeeded. After a failed reload the exporter keeps the previous configuration.",
				"FAILED", "OK",
				rangeQuery("A", `tencent_live_exporter_config_last_reload_successful`, "{{instance}}"))},
			{6, 8, valueStat(23, "Exporter version",
				"tencent_live_exporter_build_info of each target.",
				rangeQuery("A", `tencent_live_exporter_build_info`, "{{instance}}: {{version}} ({{revision}}, {{goversion}})")).
				TextMode(common.BigValueTextModeName)},
			{16, 8, timeline(53, "Apps owned by this shard",
				"The apps each exporter (instance) owns, over time (tencent_live_app_owned 1): a single exporter owns every app; shards own whole apps, each app one shard (rendezvous hashing of its SDKAppID, or its shard: pin). An app moving to another row moved shard (a change of --shard.count); two rows of one app at once are two owners.",
				"elsewhere", "owned",
				rangeQuery("A", `max by (instance, app) (tencent_live_app_owned{app=~"$app"}) == 1`, "{{instance}} / {{app}}"))},
			{8, 8, valueStat(54, "Owners per app",
				"Exporters that own each app (sum of tencent_live_app_owned): 1 is right. 0: nobody polls the app; 2 or more: it is polled twice over its quota and summed twice. Either for 5 minutes fires TencentLiveAppOwnership.",
				rangeQuery("A", `sum by (app) (tencent_live_app_owned{app=~"$app"})`, "{{app}}")).
				Thresholds(thresholds("red", at(1, "green"), at(2, "red"))).
				ColorMode(common.BigValueColorModeBackground)},
		}},
	}
}

// roomCounts are the discovery panels' queries: discovered, skipped and
// watched rooms per app.
func roomCounts() []*prometheus.DataqueryBuilder {
	return []*prometheus.DataqueryBuilder{
		rangeQuery("A", `max by (app) (tencent_live_discovery_rooms{app=~"$app"})`, "{{app}} discovered"),
		rangeQuery("B", `max by (app) (tencent_live_discovery_rooms_skipped{app=~"$app"})`, "{{app}} skipped"),
		rangeQuery("C", `sum by (app) (tencent_live_app_rooms{app=~"$app"})`, "{{app}} watched"),
	}
}

// latency is a quantile of the upstream latency histogram.
func latency(ref, q string) *prometheus.DataqueryBuilder {
	return rangeQuery(ref, `histogram_quantile(`+q+`, sum by (app, command, le) (rate(tencent_live_api_request_duration_seconds_bucket{app=~"$app"}[$__rate_interval])))`,
		"p"+q[2:]+" {{app}} {{command}}")
}

func roomStates(id uint32) *statetimeline.PanelBuilder {
	return timeline(id, "Rooms live / offline",
		"tencent_live_room_exists per room: live, or offline when Tencent answers 100004 (the room does not exist or the stream ended).",
		"offline", "live",
		rangeQuery("A", `max by (app, room) (tencent_live_room_exists{app=~"$app", room=~"$room"})`, "{{app}} / {{room}}"))
}

// timeline is a state timeline of 0/1 series, a row each, shown as the
// words zero (red) and one (green).
func timeline(id uint32, title, description, zero, one string, query *prometheus.DataqueryBuilder) *statetimeline.PanelBuilder {
	return statetimeline.NewPanelBuilder().
		Id(id).
		Title(title).
		Description(description).
		Datasource(datasource).
		WithTarget(query).
		Mappings(states(zero, one)).
		Thresholds(thresholds("red", at(1, "green"))).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		FillOpacity(70).
		LineWidth(0).
		ShowValue(common.VisibilityModeNever).
		MergeValues(true).
		AlignValue(common.TimelineValueAlignmentLeft).
		RowHeight(0.9).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(false).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeSingle).Sort(common.SortOrderNone))
}

func topRoomsTable(id uint32) *table.PanelBuilder {
	return table.NewPanelBuilder().
		Id(id).
		Title("Top rooms with names and owners").
		Description("The 10 selected rooms with the most members, with their name, owner and categories from tencent_live_room_info (joined on app and room). A listed room of an app without room_info has no tencent_live_room_info and is not shown here; see Top rooms now.").
		Datasource(datasource).
		WithTarget(instantQuery("A", `topk(10, max by (app, room) (tencent_live_room_members{app=~"$app", room=~"$room"}) * on (app, room) group_left (name, owner, category) max by (app, room, name, owner, category) (tencent_live_room_info{app=~"$app", room=~"$room"}))`, "", prometheus.PromQueryFormatTable)).
		Unit(units.Short).
		Thresholds(thresholds("green")).
		Align(common.FieldTextAlignmentAuto).
		CellOptions(common.TableCellOptions{TableAutoCellOptions: &common.TableAutoCellOptions{Type: common.TableCellDisplayModeAuto}}).
		ShowHeader(true).
		CellHeight(common.TableCellHeightSm).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})).
		SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName("members").Desc(true)}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]bool{"Time": true},
			"indexByName":   map[string]int{"app": 0, "room": 1, "name": 2, "owner": 3, "category": 4, "Value": 5},
			"renameByName":  map[string]string{"Value": "members"},
		}})
}

func callsAgainstMaxQPS(id uint32) *timeseries.PanelBuilder {
	return series(id, "API calls/s against max_qps",
		"Upstream calls per second by command (from the latency histogram's count) against the max_qps of each command (dashed) and the limiter's current ceiling for it (dotted), which drops for a while after a 60007 answer for that command or a 60011 answer for the app. Calls stuck at max_qps mean the command has more work than allowed. An app's max_qps_total, when set, caps all its commands together.",
		units.RequestsPerSecond,
		rangeQuery("A", `sum by (app, command) (rate(tencent_live_api_request_duration_seconds_count{app=~"$app"}[$__rate_interval]))`, "{{app}} {{command}} calls/s"),
		rangeQuery("B", `sum by (app, command) (tencent_live_app_max_qps{app=~"$app"})`, "{{app}} {{command}} max_qps"),
		rangeQuery("C", `sum by (app, command) (tencent_live_app_limiter_qps{app=~"$app"})`, "{{app}} {{command}} limiter")).
		OverrideByRegexp(".* max_qps$", ceilingStyle(common.LineStyleFillDash, []float64{10, 10}, "red")).
		OverrideByRegexp(".* limiter$", ceilingStyle(common.LineStyleFillDot, []float64{0, 10}, "orange"))
}

// ceilingStyle draws a ceiling series as an unfilled line of one colour.
func ceilingStyle(fill common.LineStyleFill, dash []float64, color string) []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{
		{Id: "custom.lineStyle", Value: common.LineStyle{Fill: &fill, Dash: dash}},
		{Id: "custom.fillOpacity", Value: 0},
		{Id: "color", Value: dashboard.FieldColor{Mode: dashboard.FieldColorModeIdFixed, FixedColor: &color}},
	}
}

func quotaGauge(id uint32) *gauge.PanelBuilder {
	return gauge.NewPanelBuilder().
		Id(id).
		Title("Quota used").
		Description("API calls/s of each command as a share of that command's max_qps. Above 90 % for 15 minutes fires TencentLiveQuotaNearLimit for the command.").
		Datasource(datasource).
		WithTarget(instantQuery("A", `sum by (app, command) (rate(tencent_live_api_request_duration_seconds_count{app=~"$app"}[$__rate_interval])) / on (app, command) sum by (app, command) (tencent_live_app_max_qps{app=~"$app"})`, "{{app}} {{command}}", prometheus.PromQueryFormatTimeSeries)).
		Unit(units.PercentUnit).
		Min(0).
		Max(1).
		Thresholds(thresholds("green", at(0.75, "orange"), at(0.9, "red"))).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		ReduceOptions(lastValue()).
		ShowThresholdLabels(false).
		ShowThresholdMarkers(true).
		Orientation(common.VizOrientationAuto).
		Sizing(common.BarGaugeSizingAuto).
		MinVizWidth(75).
		MinVizHeight(75)
}

// rangeQuery is a query over the dashboard's time range.
func rangeQuery(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(datasource).RefId(ref).Expr(expr).LegendFormat(legend).Range()
}

// instantQuery is a query at the end of the time range, for panels that
// show the present.
func instantQuery(ref, expr, legend string, format prometheus.PromQueryFormat) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(datasource).RefId(ref).Expr(expr).LegendFormat(legend).Instant().Format(format)
}

// series is a time series panel in the dashboard's style: thin lines over
// a light fill from zero, a list legend and a tooltip of every series,
// highest first.
func series(id uint32, title, description, unit string, queries ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().
		Id(id).
		Title(title).
		Description(description).
		Datasource(datasource).
		Unit(unit).
		DrawStyle(common.GraphDrawStyleLine).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		SpanNulls(common.BoolOrFloat64{Bool: cog.ToPtr(false)}).
		AxisSoftMin(0).
		Thresholds(thresholds("green")).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).ShowLegend(true).Calcs([]string{})).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
	for _, q := range queries {
		p.WithTarget(q)
	}
	return p
}

// tableLegend is a legend table with a column per calculation.
func tableLegend(calcs ...string) *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeTable).Placement(common.LegendPlacementBottom).ShowLegend(true).Calcs(calcs)
}

// valueStat is a stat panel of each series' last value.
func valueStat(id uint32, title, description string, queries ...*prometheus.DataqueryBuilder) *stat.PanelBuilder {
	p := stat.NewPanelBuilder().
		Id(id).
		Title(title).
		Description(description).
		Datasource(datasource).
		Unit(units.Short).
		Mappings([]dashboard.ValueMapping{}).
		Thresholds(thresholds("green")).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		ReduceOptions(lastValue()).
		ColorMode(common.BigValueColorModeValue).
		GraphMode(common.BigValueGraphModeNone).
		JustifyMode(common.BigValueJustifyModeAuto).
		Orientation(common.VizOrientationAuto).
		TextMode(common.BigValueTextModeAuto).
		WideLayout(true)
	for _, q := range queries {
		p.WithTarget(q)
	}
	return p
}

// upStat is a stat panel of 0/1 series, shown as down (red) or up (green)
// with the given words.
func upStat(id uint32, title, description, down, up string, queries ...*prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return valueStat(id, title, description, queries...).
		Mappings(states(down, up)).
		Thresholds(thresholds("red", at(1, "green"))).
		ColorMode(common.BigValueColorModeBackground)
}

// topBars is a horizontal bar gauge of the series of an instant query,
// green to red with the value.
func topBars(id uint32, title, description string, query *prometheus.DataqueryBuilder) *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().
		Id(id).
		Title(title).
		Description(description).
		Datasource(datasource).
		WithTarget(query).
		Unit(units.Short).
		Min(0).
		Thresholds(thresholds("green")).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode("continuous-GrYlRd")).
		Orientation(common.VizOrientationHorizontal).
		DisplayMode(common.BarGaugeDisplayModeGradient).
		ShowUnfilled(true).
		ValueMode(common.BarGaugeValueModeColor).
		NamePlacement(common.BarGaugeNamePlacementAuto).
		Sizing(common.BarGaugeSizingAuto).
		MinVizHeight(16).
		MaxVizHeight(300).
		ReduceOptions(lastValue())
}

// lastValue reduces each series to its last non-null value.
func lastValue() *common.ReduceDataOptionsBuilder {
	return common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Fields("").Values(false)
}

// thresholds starts at base and changes colour at each step.
func thresholds(base string, steps ...dashboard.Threshold) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().
		Mode(dashboard.ThresholdsModeAbsolute).
		Steps(append([]dashboard.Threshold{{Color: base}}, steps...))
}

// at is a threshold step.
func at(value float64, color string) dashboard.Threshold {
	return dashboard.Threshold{Value: &value, Color: color}
}

// states maps 0 and 1 to words, red and green.
func states(zero, one string) []dashboard.ValueMapping {
	result := func(text, color string, index int32) dashboard.ValueMappingResult {
		return dashboard.ValueMappingResult{Text: &text, Color: &color, Index: &index}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
		Type:    dashboard.MappingTypeValueToText,
		Options: map[string]dashboard.ValueMappingResult{"0": result(zero, "red", 0), "1": result(one, "green", 1)},
	}}}
}

// variables are the dashboard's: the data source, then the apps and their
// rooms, each any number of values ("All" by default).
func variables() []cog.Builder[dashboard.VariableModel] {
	all := dashboard.VariableOption{
		Selected: cog.ToPtr(true),
		Text:     dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
		Value:    dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
	}
	labelValues := func(name, label, query string) *dashboard.QueryVariableBuilder {
		return dashboard.NewQueryVariableBuilder(name).
			Label(label).
			Datasource(datasource).
			Definition(query).
			Query(dashboard.StringOrMap{Map: map[string]any{"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"}}).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Regex("").
			Sort(dashboard.VariableSortAlphabeticalAsc).
			Multi(true).
			IncludeAll(true).
			AllValue(".*").
			Current(all).
			Options([]dashboard.VariableOption{}).
			Hide(dashboard.VariableHideDontHide)
	}
	return []cog.Builder[dashboard.VariableModel]{
		dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data source").
			Type("prometheus").
			// The DS_PROMETHEUS input: Grafana's import dialog puts the
			// data source it asks for here.
			Current(dashboard.VariableOption{
				Text:  dashboard.StringOrArrayOfString{String: cog.ToPtr("${DS_PROMETHEUS}")},
				Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("${DS_PROMETHEUS}")},
			}).
			Regex("").
			Multi(false).
			IncludeAll(false).
			Hide(dashboard.VariableHideDontHide),
		labelValues("app", "App", "label_values(tencent_live_app_up, app)"),
		labelValues("room", "Room", `label_values(tencent_live_room_up{app=~"$app"}, room)`),
	}
}

// Build returns the dashboard.
func Build() (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder("Tencent Live rooms").
		Uid(UID).
		Description("Member counts, metadata and engagement of Tencent Cloud live (AVChatRoom) rooms, room discovery, and the health of tencent_live_exporter.").
		Tags([]string{"tencent", "live", "tencent_live_exporter"}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Timezone(common.TimeZoneBrowser).
		Refresh("30s").
		Time("now-6h", "now").
		Version(1).
		Variables(variables())
	var errs []error
	y := uint32(0)
	for _, s := range sections() {
		row := dashboard.NewRowBuilder(s.title).
			Id(s.id).
			Datasource(datasource).
			GridPos(dashboard.GridPos{X: 0, Y: y, W: 24, H: 1}).
			Collapsed(s.collapsed)
		y++
		var panels []dashboard.Panel
		x, top, height := uint32(0), y, uint32(0)
		for _, c := range s.cells {
			p, err := c.panel.Build()
			if err != nil {
				errs = append(errs, fmt.Errorf("row %q: %w", s.title, err))
				continue
			}
			if x+c.w > 24 {
				x, top, height = 0, top+height, 0
			}
			p.GridPos = &dashboard.GridPos{X: x, Y: top, W: c.w, H: c.h}
			x, height = x+c.w, max(height, c.h)
			panels = append(panels, p)
		}
		if s.collapsed {
			// A folded row holds its panels, placed as they will be
			// when it unfolds; the next row follows right under it.
			for _, p := range panels {
				row.WithPanel(built(p))
			}
			b.WithRow(row)
			continue
		}
		b.WithRow(row)
		for _, p := range panels {
			b.WithPanel(built(p))
		}
		y = top + height
	}
	if len(errs) > 0 {
		return dashboard.Dashboard{}, errors.Join(errs...)
	}
	d, err := b.Build()
	if err != nil {
		return d, err
	}
	d.SchemaVersion = schemaVersion
	return d, nil
}

// built is a panel already built and placed, for the builders that take
// panel builders.
type built dashboard.Panel

// Build implements cog.Builder.
func (p built) Build() (dashboard.Panel, error) { return dashboard.Panel(p), nil }

// input and require are the dashboard's __inputs and __requires, as
// Grafana's "Export for sharing externally" writes them: the import
// dialog asks for a Prometheus data source for DS_PROMETHEUS.
type (
	input struct {
		Name        string `json:"name"`
		Label       string `json:"label"`
		Description string `json:"description"`
		Type        string `json:"type"`
		PluginID    string `json:"pluginId"`
		PluginName  string `json:"pluginName"`
	}
	require struct {
		Type    string `json:"type"`
		ID      string `json:"id"`
		Name    string `json:"name"`
		Version string `json:"version"`
	}
)

// Render returns the dashboard as the JSON file Grafana imports.
func Render() ([]byte, error) {
	d, err := Build()
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	header, err := json.Marshal(struct {
		Inputs   []input   `json:"__inputs"`
		Requires []require `json:"__requires"`
	}{
		Inputs: []input{{
			Name: "DS_PROMETHEUS", Label: "Prometheus",
			Description: "The Prometheus that scrapes tencent_live_exporter (job tencent_live).",
			Type:        "datasource", PluginID: "prometheus", PluginName: "Prometheus",
		}},
		Requires: append([]require{
			{Type: "grafana", ID: "grafana", Name: "Grafana", Version: "10.4.0"},
			{Type: "datasource", ID: "prometheus", Name: "Prometheus", Version: "1.0.0"},
		}, panelPlugins(d)...),
	})
	if err != nil {
		return nil, err
	}
	// The header's fields first, then the dashboard's.
	joined := append(bytes.TrimSuffix(header, []byte("}")), ',')
	joined = append(joined, bytes.TrimPrefix(body, []byte("{"))...)
	var out bytes.Buffer
	if err := json.Indent(&out, unescapeHTML(joined), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// panelPlugins are the panel types the dashboard uses, in order of first
// use.
func panelPlugins(d dashboard.Dashboard) []require {
	names := map[string]string{
		"bargauge": "Bar gauge", "gauge": "Gauge", "stat": "Stat",
		"state-timeline": "State timeline", "table": "Table", "timeseries": "Time series",
	}
	var out []require
	seen := map[string]bool{}
	add := func(p dashboard.Panel) {
		if !seen[p.Type] {
			seen[p.Type] = true
			out = append(out, require{Type: "panel", ID: p.Type, Name: names[p.Type], Version: ""})
		}
	}
	for _, p := range d.Panels {
		if p.Panel != nil {
			add(*p.Panel)
		}
		if p.RowPanel != nil {
			for _, c := range p.RowPanel.Panels {
				add(c)
			}
		}
	}
	return out
}

// unescapeHTML undoes encoding/json's escaping of <, > and & inside
// strings (the SDK's types marshal themselves with json.Marshal), so that
// the PromQL in the file reads as written: "> 0", not "\u003e 0".
func unescapeHTML(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+5 < len(b) && b[i+1] == 'u' {
			switch string(b[i+2 : i+6]) {
			case "003c", "003e", "0026":
				out = append(out, map[string]byte{"003c": '<', "003e": '>', "0026": '&'}[string(b[i+2:i+6])])
				i += 5
				continue
			}
		}
		out = append(out, b[i])
		if b[i] == '\\' && i+1 < len(b) { // an escape: copy the escaped byte as is
			i++
			out = append(out, b[i])
		}
	}
	return out
}
