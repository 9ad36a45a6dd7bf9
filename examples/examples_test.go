// Package examples_test checks the files users copy from examples/: the
// Grafana dashboard's structure, the rule files' expressions and metric
// names, and (with promtool and amtool) the Prometheus configuration, the
// rules, their unit tests and the Alertmanager configuration.
package examples_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// exporterMetrics are the series tencent_live_exporter exposes under its
// namespace. A dashboard or rule that names anything else under
// tencent_live_ has a typo or refers to a metric that does not exist.
var exporterMetrics = map[string]bool{
	"tencent_live_room_members":                                          true,
	"tencent_live_room_up":                                               true,
	"tencent_live_room_exists":                                           true,
	"tencent_live_room_last_success_timestamp_seconds":                   true,
	"tencent_live_app_up":                                                true,
	"tencent_live_command_up":                                            true,
	"tencent_live_app_max_qps":                                           true,
	"tencent_live_app_limiter_qps":                                       true,
	"tencent_live_app_rooms":                                             true,
	"tencent_live_app_owned":                                             true,
	"tencent_live_scrape_errors_total":                                   true,
	"tencent_live_api_request_duration_seconds_bucket":                   true,
	"tencent_live_api_request_duration_seconds_count":                    true,
	"tencent_live_api_request_duration_seconds_sum":                      true,
	"tencent_live_rooms_deferred_total":                                  true,
	"tencent_live_scrape_duration_seconds":                               true,
	"tencent_live_exporter_config_last_reload_successful":                true,
	"tencent_live_exporter_config_last_reload_success_timestamp_seconds": true,
	"tencent_live_exporter_build_info":                                   true,
	// Discovery (get_room_list) and room metadata (get_room_info).
	"tencent_live_discovery_rooms":                          true,
	"tencent_live_discovery_rooms_skipped":                  true,
	"tencent_live_discovery_last_success_timestamp_seconds": true,
	"tencent_live_discovery_sweeps_total":                   true,
	"tencent_live_room_info":                                true,
	"tencent_live_room_max_members":                         true,
	"tencent_live_room_max_seats":                           true,
	"tencent_live_room_created_timestamp_seconds":           true,
	"tencent_live_room_views":                               true,
	// Engagement (get_room_stats).
	"tencent_live_room_viewers_total":      true,
	"tencent_live_room_likes_total":        true,
	"tencent_live_room_messages_total":     true,
	"tencent_live_room_gifts_total":        true,
	"tencent_live_room_gift_coins_total":   true,
	"tencent_live_room_gift_senders_total": true,
	"tencent_live_room_stats_dips_total":   true,
	// Seats (get_seat_list).
	"tencent_live_room_seats":         true,
	"tencent_live_room_seats_taken":   true,
	"tencent_live_room_seats_locked":  true,
	"tencent_live_room_owner_on_seat": true,
	// Webhooks (the callback receiver and what its events tell).
	"tencent_live_webhook_requests_total":                  true,
	"tencent_live_webhook_request_duration_seconds_bucket": true,
	"tencent_live_webhook_request_duration_seconds_count":  true,
	"tencent_live_webhook_request_duration_seconds_sum":    true,
	"tencent_live_webhook_last_accepted_timestamp_seconds": true,
	"tencent_live_app_ended_rooms_total":                   true,
	"tencent_live_app_ended_room_viewers_total":            true,
	"tencent_live_app_ended_room_likes_total":              true,
	"tencent_live_app_ended_room_gifts_total":              true,
	"tencent_live_app_ended_room_gift_coins_total":         true,
	"tencent_live_app_ended_room_gift_senders_total":       true,
	"tencent_live_member_events_total":                     true,
	"tencent_live_room_heartbeat_interrupts_total":         true,
}

// prometheusSynthetic are the series Prometheus itself writes for every
// target.
var prometheusSynthetic = map[string]bool{
	"up":                      true,
	"scrape_duration_seconds": true,
}

// multiValueVars are the dashboard's template variables that may hold
// several values, and so must only be used in regex matchers.
var multiValueVars = []string{"app", "room"}

func TestDashboardStructure(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("%s is not valid JSON", dashboardFile)
	}
	d := loadDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Errorf("dashboard title = %q, uid = %q; want both set", d.Title, d.UID)
	}

	vars := map[string]templateVar{}
	for _, v := range d.Templating.List {
		if _, dup := vars[v.Name]; dup {
			t.Errorf("template variable %q defined twice", v.Name)
		}
		vars[v.Name] = v
	}
	t.Run("templating", func(t *testing.T) {
		ds, ok := vars["datasource"]
		switch {
		case !ok:
			t.Fatal(`no template variable "datasource"`)
		case ds.Type != "datasource" || ds.queryString() != "prometheus":
			t.Errorf(`variable datasource: type %q, query %q; want "datasource", "prometheus"`, ds.Type, ds.queryString())
		}
		want := map[string]string{
			"app":  "label_values(tencent_live_app_up, app)",
			"room": `label_values(tencent_live_room_up{app=~"$app"}, room)`,
		}
		for name, query := range want {
			v, ok := vars[name]
			if !ok {
				t.Errorf("no template variable %q", name)
				continue
			}
			if v.Type != "query" || v.queryString() != query {
				t.Errorf("variable %s: type %q, query %q; want \"query\", %q", name, v.Type, v.queryString(), query)
			}
			if !v.Multi || !v.IncludeAll || v.AllValue != ".*" {
				t.Errorf("variable %s: multi %v, includeAll %v, allValue %q; want true, true, \".*\"", name, v.Multi, v.IncludeAll, v.AllValue)
			}
			checkDatasource(t, "variable "+name, v.Datasource)
			for _, used := range grafanaVarNames(v.queryString()) {
				if _, ok := vars[used]; !ok || used == name {
					t.Errorf("variable %s: query uses $%s, which is not another template variable", name, used)
				}
			}
		}
	})

	panels := allPanels(d.Panels)
	t.Run("panels", func(t *testing.T) {
		if len(panels) == 0 {
			t.Fatal("dashboard has no panels")
		}
		ids := map[int]string{}
		for _, p := range panels {
			where := "panel " + strconv.Quote(p.Title)
			if p.ID == nil || *p.ID <= 0 {
				t.Errorf("%s: missing or non-positive id", where)
			} else if other, dup := ids[*p.ID]; dup {
				t.Errorf("%s: id %d already used by panel %q", where, *p.ID, other)
			} else {
				ids[*p.ID] = p.Title
			}
			if p.Title == "" {
				t.Errorf("panel %v has no title", p.ID)
			}
			if g := p.GridPos; g == nil || g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
				t.Errorf("%s: gridPos %+v; want w, h > 0 within 24 columns", where, g)
			}
			checkDatasource(t, where, p.Datasource)
			if p.Type == "row" {
				if len(p.Targets) > 0 {
					t.Errorf("%s: a row has targets", where)
				}
				continue
			}
			if len(p.Panels) > 0 {
				t.Errorf("%s: only rows may hold panels", where)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no targets", where)
			}
			refIDs := map[string]bool{}
			for _, tg := range p.Targets {
				tw := where + " target " + tg.RefID
				if tg.RefID == "" || refIDs[tg.RefID] {
					t.Errorf("%s: empty or duplicate refId", tw)
				}
				refIDs[tg.RefID] = true
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: empty expr", tw)
				}
				checkDatasource(t, tw, tg.Datasource)
			}
		}
	})

	t.Run("variables used exist", func(t *testing.T) {
		for _, dt := range dashboardTargets(t) {
			for _, name := range grafanaVarNames(dt.Expr) {
				_, defined := vars[name]
				_, builtin := grafanaBuiltins[name]
				if !defined && !builtin {
					t.Errorf("%s: expression uses $%s, which is neither a template variable nor a Grafana built-in we substitute", dt, name)
				}
			}
			if got := substituteGrafanaVars(dt.Expr); strings.ContainsAny(got, "$[[") && grafanaVarRe.MatchString(got) {
				t.Errorf("%s: variables left after substitution: %s", dt, got)
			}
		}
	})

	t.Run("multi-value variables in regex matchers", func(t *testing.T) {
		var exprs []string
		for _, dt := range dashboardTargets(t) {
			exprs = append(exprs, dt.Expr)
		}
		exprs = append(exprs, dashboardVariableSelectors(t)...)
		for _, name := range multiValueVars {
			bad := regexp.MustCompile(`[^=!~]=\s*"\$\{?` + name + `\b|!=\s*"\$\{?` + name + `\b`)
			for _, e := range exprs {
				if bad.MatchString(e) {
					t.Errorf("$%s must be used with =~ or !~ (it can hold several values): %s", name, e)
				}
			}
		}
	})

	t.Run("required panels", func(t *testing.T) {
		// The panels the README describes, by the metric each must query.
		want := map[string]string{
			"Members per room (top 10)":         "topk(10,",
			"Members per room (all)":            "tencent_live_room_members",
			"Top rooms now":                     "topk(",
			"Total members per app":             "sum by (app) (tencent_live_room_members",
			"Scrape errors by command and code": "sum by (app, command, code) (rate(tencent_live_scrape_errors_total",
			"API latency p50 / p95 / p99":       "histogram_quantile(0.99",
			"API calls/s against max_qps":       "sum by (app, command) (tencent_live_app_max_qps",
			"Quota used":                        "sum by (app, command) (tencent_live_app_max_qps",
			"Deferred room refreshes":           "tencent_live_rooms_deferred_total",
			"Data age per room":                 "tencent_live_room_last_success_timestamp_seconds",
			"Apps up":                           "tencent_live_app_up",
			"Rooms up":                          "tencent_live_room_up",
			// Discovery.
			"Rooms discovered and skipped": "tencent_live_discovery_rooms_skipped",
			"Room count over time":         "tencent_live_discovery_rooms",
			"Sweeps by result":             "sum by (app, result) (rate(tencent_live_discovery_sweeps_total",
			"Since last successful sweep":  "tencent_live_discovery_last_success_timestamp_seconds",
			// Audience by owner and category: joins with room_info.
			"Top rooms with names and owners": "group_left (name, owner, category)",
			"Audience per owner":              "group_left (owner) tencent_live_room_info",
			"Audience per category":           "group_left (category) tencent_live_room_info",
			// Engagement.
			"Likes, messages and gift coins per second per app": "sum by (app) (rate(tencent_live_room_gift_coins_total",
			"Likes/s per room":           "rate(tencent_live_room_likes_total",
			"Messages/s per room":        "rate(tencent_live_room_messages_total",
			"Gift coins/s per room":      "rate(tencent_live_room_gift_coins_total",
			"Top rooms by messages/s":    "topk(10, max by (app, room) (rate(tencent_live_room_messages_total",
			"Messages per viewer-minute": "60 * sum by (app) (rate(tencent_live_room_messages_total",
			// Stage (room_seats).
			"Rooms with nobody on stage":     "app:tencent_live_rooms_without_stage:count",
			"Rooms whose owner is off stage": "app:tencent_live_rooms_owner_off_stage:count",
			"Owner on stage (top 10 rooms)":  "max by (app, room) (tencent_live_room_owner_on_seat",
			// Webhooks.
			"Callbacks/s by result":                  "sum by (app, result) (rate(tencent_live_webhook_requests_total",
			"Since last accepted callback":           "last_over_time(tencent_live_webhook_last_accepted_timestamp_seconds",
			"Member events/s by cause":               "sum by (app, cause) (rate(tencent_live_member_events_total",
			"Ended rooms per hour by cause":          "sum by (app, cause) (increase(tencent_live_app_ended_rooms_total",
			"Heartbeat interrupts per room (top 10)": "topk(10, sum by (app, room) (increase(tencent_live_room_heartbeat_interrupts_total",
			// Exporter: shards.
			"Apps owned by this shard": "max by (instance, app) (tencent_live_app_owned",
			"Owners per app":           "sum by (app) (tencent_live_app_owned",
		}
		for title, needle := range want {
			found := false
			for _, p := range panels {
				if p.Title != title {
					continue
				}
				found = true
				if !slices.ContainsFunc(p.Targets, func(tg panelTarget) bool { return strings.Contains(tg.Expr, needle) }) {
					t.Errorf("panel %q: no target contains %q", title, needle)
				}
			}
			if !found {
				t.Errorf("no panel titled %q", title)
			}
		}
	})
}

// checkDatasource fails unless raw is the datasource template variable.
func checkDatasource(t *testing.T, where string, raw json.RawMessage) {
	t.Helper()
	var ds struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &ds) != nil {
		t.Errorf("%s: datasource %s; want {\"type\": \"prometheus\", \"uid\": \"${datasource}\"}", where, raw)
		return
	}
	if ds.Type != "prometheus" || (ds.UID != "${datasource}" && ds.UID != "$datasource") {
		t.Errorf("%s: datasource type %q uid %q; want \"prometheus\", \"${datasource}\"", where, ds.Type, ds.UID)
	}
}

func TestMetricNames(t *testing.T) {
	recorded := recordedNames(t)
	check := func(t *testing.T, where, expr string) {
		t.Helper()
		names := metricNames(expr)
		if len(names) == 0 && !strings.Contains(expr, "vector(") {
			t.Errorf("%s: no metric name found in %q", where, expr)
		}
		for _, n := range names {
			switch {
			case exporterMetrics[n], prometheusSynthetic[n], recorded[n]:
			case strings.HasPrefix(n, "tencent_live_"):
				t.Errorf("%s: %s is not a metric of tencent_live_exporter (typo?)", where, n)
			default:
				t.Errorf("%s: %s is neither an exporter metric, a Prometheus synthetic series, nor a recording rule", where, n)
			}
		}
	}
	for _, dt := range dashboardTargets(t) {
		check(t, dt.String(), dt.Expr)
	}
	for _, sel := range dashboardVariableSelectors(t) {
		check(t, "variable query", sel)
	}
	for _, r := range loadRules(t) {
		check(t, r.String(), r.Expr)
	}
}

// perCommandCeilings are the gauges that hold one ceiling per upstream
// command. Adding them up across commands gives no meaningful number (the
// app-wide cap is max_qps_total), so every aggregation of them keeps
// command.
var perCommandCeilings = []string{"tencent_live_app_max_qps", "tencent_live_app_limiter_qps"}

// aggregationRe matches an aggregation written as "op by (labels) (" or
// "op (", capturing the by-list (empty without one) and what follows.
var aggregationRe = regexp.MustCompile(`\b(?:sum|avg|min|max)\s*(?:by\s*\(([^)]*)\)\s*)?\(\s*([a-z_:]+)`)

func TestPerCommandCeilingsKeepCommand(t *testing.T) {
	check := func(t *testing.T, where, expr string) {
		t.Helper()
		for _, m := range aggregationRe.FindAllStringSubmatch(expr, -1) {
			if !slices.Contains(perCommandCeilings, m[2]) {
				continue
			}
			labels := strings.Split(m[1], ",")
			for i := range labels {
				labels[i] = strings.TrimSpace(labels[i])
			}
			if !slices.Contains(labels, "command") {
				t.Errorf("%s: %q aggregates %s across commands; keep command in by (...)", where, m[0], m[2])
			}
		}
	}
	var seen int
	for _, dt := range dashboardTargets(t) {
		check(t, dt.String(), dt.Expr)
		for _, n := range perCommandCeilings {
			if strings.Contains(dt.Expr, n) {
				seen++
			}
		}
	}
	for _, r := range loadRules(t) {
		check(t, r.String(), r.Expr)
	}
	if seen == 0 {
		t.Errorf("no dashboard expression uses %v; the check is not looking at anything", perCommandCeilings)
	}
}

func TestMetricNamesTokenizer(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`up{job="tencent_live"} == 0`, []string{"up"}},
		{`sum by (app, code) (rate(tencent_live_scrape_errors_total{code!~"100004|up"}[$__rate_interval]))`, []string{"tencent_live_scrape_errors_total"}},
		{`a:b:c / on (app) group_left () x > 0.1 and y offset 5m`, []string{"a:b:c", "x", "y"}},
		{`time() - ts > 180 and e == 1 # comment metric`, []string{"ts", "e"}},
		{`histogram_quantile(0.95, sum without (instance) (rate(h_bucket[5m])))`, []string{"h_bucket"}},
		{`topk(10, max by (app, room) (m{app=~"${app}"}))`, []string{"m"}},
		{`1e3 * 0x1F + Inf`, nil},
	}
	for _, tc := range tests {
		if got := metricNames(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("metricNames(%q) = %q; want %q", tc.expr, got, tc.want)
		}
	}
}

func TestSubstituteGrafanaVars(t *testing.T) {
	tests := []struct{ in, want string }{
		{`m{app=~"$app", room=~"${room}"}`, `m{app=~".*", room=~".*"}`},
		{`rate(m[$__rate_interval])`, `rate(m[1m])`},
		{`increase(m[$__range]) / $__interval_ms`, `increase(m[1h]) / 60000`},
		{`m{app=~"[[app]]"}`, `m{app=~".*"}`},
		{`m{x="$unknown"}`, `m{x="$unknown"}`},
	}
	for _, tc := range tests {
		if got := substituteGrafanaVars(tc.in); got != tc.want {
			t.Errorf("substituteGrafanaVars(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestRules(t *testing.T) {
	rules := loadRules(t)
	alerts := map[string]rule{}
	for _, r := range rules {
		if r.Alert != "" {
			alerts[r.Alert] = r
		}
	}
	// The alerts the README's runbook documents.
	for _, name := range []string{
		"TencentLiveExporterDown",
		"TencentLiveAppAuthFailing",
		"TencentLiveCommandDenied",
		"TencentLiveUpstreamErrorRateHigh",
		"TencentLiveRoomDataStale",
		"TencentLiveQuotaNearLimit",
		"TencentLiveRoomGone",
		"TencentLiveAudienceCollapse",
		"TencentLiveConfigReloadFailed",
		"TencentLiveDiscoveryFailing",
		"TencentLiveRoomsSkipped",
		"TencentLiveRoomChatSilent",
		"TencentLiveRoomDeadAir",
		"TencentLiveWebhookSilent",
		"TencentLiveWebhookRejected",
		"TencentLiveAppOwnership",
	} {
		if _, ok := alerts[name]; !ok {
			t.Errorf("%s: no alert %s", alertingRulesFile, name)
		}
	}
	recordRe := regexp.MustCompile(`^[a-z_]+:[a-z_0-9]+:[a-z_0-9]+$`)
	for _, r := range rules {
		if r.Record != "" {
			if !recordRe.MatchString(r.Record) {
				t.Errorf("%s: recording rule name is not level:metric:operations", r)
			}
			continue
		}
		switch r.Labels["severity"] {
		case "critical", "warning", "info":
		default:
			t.Errorf("%s: severity label %q; want critical, warning or info", r, r.Labels["severity"])
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s: no %s annotation", r, a)
			}
		}
		if want := "README.md#" + strings.ToLower(r.Alert); !strings.HasSuffix(r.Annotations["runbook_url"], want) {
			t.Errorf("%s: runbook_url %q; want it to end in %q", r, r.Annotations["runbook_url"], want)
		}
		if perRoom(r.Expr) &&
			(!strings.Contains(r.Annotations["summary"], "$labels.room") || !strings.Contains(r.Annotations["description"], "$labels.room")) {
			t.Errorf("%s: a room alert must name $labels.room in summary and description", r)
		}
		if strings.Contains(r.Expr, "app") && !strings.Contains(r.Annotations["description"], "$labels.app") {
			t.Errorf("%s: description does not name $labels.app", r)
		}
	}
}

// byRe matches an aggregation's by clause, capturing its labels, up to
// the parenthesis that opens what it aggregates.
var byRe = regexp.MustCompile(`\bby\s*\(([^)]*)\)\s*\(`)

// perRoom reports whether an alert's expression yields a series per room:
// it uses a room metric (tencent_live_room_...) outside every aggregation
// by labels without room. An alert about an app that asks whether its
// rooms have some property (count by (app) (...)) is not about a room.
func perRoom(expr string) bool {
	inside := make([]bool, len(expr)) // within an aggregation that drops room
	for _, m := range byRe.FindAllStringSubmatchIndex(expr, -1) {
		labels := strings.Split(expr[m[2]:m[3]], ",")
		if slices.ContainsFunc(labels, func(l string) bool { return strings.TrimSpace(l) == "room" }) {
			continue
		}
		depth := 0
		for i := m[1] - 1; i < len(expr); i++ {
			switch expr[i] {
			case '(':
				depth++
			case ')':
				depth--
			}
			inside[i] = true
			if depth == 0 {
				break
			}
		}
	}
	for i := 0; ; {
		j := strings.Index(expr[i:], "tencent_live_room_")
		if j < 0 {
			return false
		}
		if !inside[i+j] {
			return true
		}
		i += j + 1
	}
}

func TestPerRoom(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{`tencent_live_room_members < 10`, true},
		{`tencent_live_app_up == 0`, false},
		{`sum by (app) (tencent_live_room_members) > 0`, false},
		{`max by (app, room) (tencent_live_room_members) > 0`, true},
		{`x > 0 and on (app) count by (app) (tencent_live_room_members > 0 and changes(tencent_live_room_members[10m]) > 0)`, false},
		{`tencent_live_room_members and on (app) count by (app) (tencent_live_room_seats)`, true},
		{`count by (app) (tencent_live_room_seats) or tencent_live_room_members`, true},
	}
	for _, tc := range tests {
		if got := perRoom(tc.expr); got != tc.want {
			t.Errorf("perRoom(%q) = %v; want %v", tc.expr, got, tc.want)
		}
	}
}

// TestAlertsUnitTested checks that alerts_test.yml shows every alert both
// firing and silent: promtool test rules passes on an alert it never looks at.
func TestAlertsUnitTested(t *testing.T) {
	b, err := os.ReadFile(alertsTestFile)
	if err != nil {
		t.Fatal(err)
	}
	firing, silent := map[string]int{}, map[string]int{}
	lines := strings.Split(string(b), "\n")
	alertRe := regexp.MustCompile(`^\s*alertname:\s*(\S+)\s*$`)
	expRe := regexp.MustCompile(`^\s*exp_alerts:\s*(\[\])?\s*$`)
	for i, l := range lines {
		m := alertRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		for _, next := range lines[i+1:] {
			if e := expRe.FindStringSubmatch(next); e != nil {
				if e[1] != "" {
					silent[m[1]]++
				} else {
					firing[m[1]]++
				}
				break
			}
		}
	}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		if firing[r.Alert] == 0 {
			t.Errorf("%s: no test in %s where %s fires", r, alertsTestFile, r.Alert)
		}
		if silent[r.Alert] == 0 {
			t.Errorf("%s: no test in %s where %s stays silent", r, alertsTestFile, r.Alert)
		}
	}
}

// lookPathOrSkip finds a tool of the Debian package pkg. Without it the test
// is skipped on a developer's machine, but fails in CI (CI set), where
// .ci/run must have installed it.
func lookPathOrSkip(t *testing.T, tool, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "" {
		t.Skipf("%s not found in PATH (install the Debian package %s); skipping because CI is unset", tool, pkg)
	}
	t.Fatalf("%s not found in PATH and CI is set: .ci/run must install the Debian package %s", tool, pkg)
	return ""
}

// runTool runs a tool in this directory and returns its combined output,
// failing the test if it exits non-zero.
func runTool(t *testing.T, path string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), path, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", path, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func TestPromtool(t *testing.T) {
	promtool := lookPathOrSkip(t, "promtool", "prometheus")

	t.Run("check rules", func(t *testing.T) {
		out := runTool(t, promtool, append([]string{"check", "rules"}, ruleFiles...)...)
		// Cross-check our YAML reader: promtool counts the rules of each file.
		counts := regexp.MustCompile(`SUCCESS: (\d+) rules found`).FindAllStringSubmatch(out, -1)
		if len(counts) != len(ruleFiles) {
			t.Fatalf("promtool check rules: %d rule counts in output; want %d\n%s", len(counts), len(ruleFiles), out)
		}
		for i, f := range ruleFiles {
			rs, err := readRuleFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(counts[i][1]); got != strconv.Itoa(len(rs)) {
				t.Errorf("%s: promtool found %s rules, readRuleFile %d", f, got, len(rs))
			}
		}
	})
	t.Run("test rules", func(t *testing.T) {
		out := runTool(t, promtool, "test", "rules", alertsTestFile)
		if !strings.Contains(out, "SUCCESS") {
			t.Errorf("promtool test rules %s:\n%s", alertsTestFile, out)
		}
	})
	t.Run("check config", func(t *testing.T) {
		// rule_files resolve against the config file's directory, this one.
		out := runTool(t, promtool, "check", "config", prometheusConfigFile)
		if !strings.Contains(out, "SUCCESS: 2 rule files found") {
			t.Errorf("promtool check config %s: want both rule files loaded:\n%s", prometheusConfigFile, out)
		}
	})
}

func TestAlertmanagerConfig(t *testing.T) {
	amtool := lookPathOrSkip(t, "amtool", "prometheus-alertmanager")
	runTool(t, amtool, "check-config", alertmanagerConfigFile)
	type routeTest struct {
		receiver string
		labels   []string
	}
	routes := []routeTest{
		{"tencent-live-pager", []string{"alertname=TencentLiveExporterDown", "severity=critical"}},
		{"tencent-live-pager", []string{"alertname=TencentLiveAppAuthFailing", "severity=critical", "app=prod-live"}},
		{"tencent-live-tickets", []string{"alertname=TencentLiveCommandDenied", "severity=warning", "app=prod-live", "command=get_room_stats"}},
		{"tencent-live-tickets", []string{"alertname=TencentLiveUpstreamErrorRateHigh", "severity=warning", "app=prod-live", "command=get_member_list", "code=60007"}},
		{"tencent-live-tickets", []string{"alertname=TencentLiveRoomDataStale", "severity=warning", "app=prod-live", "room=live-1001"}},
		{"tencent-live-tickets", []string{"alertname=TencentLiveQuotaNearLimit", "severity=warning", "app=prod-live", "command=get_member_list"}},
		{"live-operations", []string{"alertname=TencentLiveRoomGone", "severity=warning", "app=prod-live", "room=live-1001"}},
		{"live-operations", []string{"alertname=TencentLiveAudienceCollapse", "severity=warning", "app=prod-live", "room=live-1001"}},
		{"tencent-live-tickets", []string{"alertname=TencentLiveConfigReloadFailed", "severity=warning"}},
		{"tencent-live-tickets", []string{"alertname=TencentLiveDiscoveryFailing", "severity=warning", "app=prod-shows"}},
		{"tencent-live-tickets", []string{"alertname=TencentLiveRoomsSkipped", "severity=warning", "app=prod-shows"}},
		{"live-operations", []string{"alertname=TencentLiveRoomChatSilent", "severity=warning", "app=prod-shows", "room=live-1"}},
		{"live-operations", []string{"alertname=TencentLiveRoomDeadAir", "severity=warning", "app=prod-shows", "room=live-1", "reason=owner_off_stage"}},
		{"tencent-live-tickets", []string{"alertname=TencentLiveWebhookSilent", "severity=warning", "app=prod-shows"}},
		{"tencent-live-tickets", []string{"alertname=TencentLiveWebhookRejected", "severity=warning", "app=prod-shows", "result=bad_signature"}},
		{"tencent-live-tickets", []string{"alertname=TencentLiveWebhookRejected", "severity=warning", "result=unknown_app"}},
		{"tencent-live-pager", []string{"alertname=TencentLiveAppOwnership", "severity=critical", "job=tencent_live", "app=prod-live", "reason=no_owner"}},
		{"tencent-live-pager", []string{"alertname=TencentLiveAppOwnership", "severity=critical", "job=tencent_live", "app=prod-shows", "reason=several_owners"}},
	}
	for _, r := range routes {
		args := append([]string{"config", "routes", "test", "--config.file=" + alertmanagerConfigFile, "--verify.receivers=" + r.receiver}, r.labels...)
		runTool(t, amtool, args...)
	}
	// Every alert has a route test above, so that a new alert is routed on
	// purpose.
	for _, rl := range loadRules(t) {
		if rl.Alert == "" {
			continue
		}
		if !slices.ContainsFunc(routes, func(r routeTest) bool { return slices.Contains(r.labels, "alertname="+rl.Alert) }) {
			t.Errorf("%s: no Alertmanager route test", rl)
		}
	}
}
