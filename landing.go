package main

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
)

// landingLink is one link of the landing page.
type landingLink struct {
	Address, Text, Description string
}

// landingPage serves "/": what the exporter is, links to its endpoints,
// a banner in demo mode and the state of each app, rendered on the
// server at each request from the exporter's own state (it asks the
// upstream nothing). Everything shown goes through html/template's
// escaping; AppStatus carries no secret, so none can be shown.
type landingPage struct {
	version string
	demo    bool
	links   []landingLink
	status  func() []collector.AppStatus
	reload  func() reloadState // nil: no reloads to show
	now     func() time.Time
	logger  *slog.Logger
}

// landingData is what landingTemplate renders.
type landingData struct {
	Version      string
	Demo         bool
	Links        []landingLink
	Now          string
	ReloadFailed *landingReload // nil unless the last reload failed
	Apps         []landingApp
	Others       []landingOther // apps other shards own
}

// landingOther is an app another shard owns.
type landingOther struct {
	Name  string
	Shard int
}

// landingReload is a failed reload: when, why, and since when the
// configuration that still runs was loaded.
type landingReload struct {
	Time, Ago, Error string
	RunningSince     string
}

type landingApp struct {
	Name      string
	Up        bool
	Rooms     int
	Deferred  int
	LastError *landingError
	Commands  []landingCommand
}

type landingError struct {
	Command, Code, RequestID string
	Time, Ago                string
	Meaning                  string // empty for codes without a short hint
}

// errorMeanings says in a few words what the common codes mean; the
// README's troubleshooting section says what to do.
var errorMeanings = map[string]string{
	"60007":   "the command's frequency limit: another client shares its quota",
	"60010":   "not allowed: the identifier is not an App administrator, or the plan lacks the feature",
	"60011":   "the app's frequency limit over all commands",
	"70001":   "UserSig expired; the exporter signs a new one",
	"70009":   "signature rejected: wrong secret key or sdkappid",
	"70016":   "wrong region or sdkappid for this app",
	"100001":  "transient error of the Tencent backend",
	"100004":  "room does not exist (never created, or dissolved)",
	"100006":  "not a live room: check the room id",
	"timeout": "no answer within request_timeout",
	"network": "could not connect, or TLS failed: see the log",
	"decode":  "unexpected answer: report it with the request id",
}

type landingCommand struct {
	Command     string
	CallsPerSec string
	MaxQPS      string
	LimiterQPS  string // empty when the limiter runs at max_qps
	Percent     int    // calls/s as a share of max_qps
	Hot         bool   // above 90 % of max_qps, as TencentLiveQuotaNearLimit
	Denied      bool   // not accepted: backing off, as tencent_live_command_up 0
}

func (p *landingPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	now := p.now()
	data := landingData{Version: p.version, Demo: p.demo, Links: p.links, Now: now.UTC().Format(time.RFC3339)}
	if p.reload != nil {
		if r := p.reload(); !r.Successful && r.Err != nil {
			data.ReloadFailed = &landingReload{
				Time:         r.LastFailure.UTC().Format(time.RFC3339),
				Ago:          now.Sub(r.LastFailure).Round(time.Second).String(),
				Error:        r.Err.Error(),
				RunningSince: r.LastSuccess.UTC().Format(time.RFC3339),
			}
		}
	}
	for _, a := range p.status() {
		if !a.Owned {
			data.Others = append(data.Others, landingOther{Name: a.Name, Shard: a.Shard})
			continue
		}
		app := landingApp{Name: a.Name, Up: a.Up, Rooms: a.Rooms, Deferred: a.Deferred}
		if e := a.LastError; e != nil {
			app.LastError = &landingError{
				Command: e.Command, Code: e.Code, RequestID: e.RequestID,
				Time:    e.Time.UTC().Format(time.RFC3339),
				Ago:     now.Sub(e.Time).Round(time.Second).String(),
				Meaning: errorMeanings[e.Code],
			}
		}
		for _, c := range a.Commands {
			lc := landingCommand{
				Command:     c.Command,
				CallsPerSec: strconv.FormatFloat(c.CallsPerSec, 'f', 1, 64),
				MaxQPS:      strconv.FormatFloat(c.MaxQPS, 'f', -1, 64),
				Denied:      !c.Up,
			}
			if c.LimiterQPS > 0 && c.LimiterQPS < c.MaxQPS {
				lc.LimiterQPS = strconv.FormatFloat(c.LimiterQPS, 'f', 1, 64)
			}
			if c.MaxQPS > 0 {
				lc.Percent = int(100 * c.CallsPerSec / c.MaxQPS)
				lc.Hot = c.CallsPerSec > 0.9*c.MaxQPS
			}
			app.Commands = append(app.Commands, lc)
		}
		data.Apps = append(data.Apps, app)
	}
	var buf bytes.Buffer
	if err := landingTemplate.Execute(&buf, data); err != nil {
		p.logger.Error("Error rendering landing page", "err", err)
		http.Error(w, "cannot render the landing page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// The page loads nothing and runs no script: say so, so that even a
	// rendering bug cannot make it do either.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Write(buf.Bytes())
}

var landingTemplate = template.Must(template.New("landing").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tencent Live Exporter</title>
<style>
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; margin: 0; color: #1f2328; }
header { background: #e6522c; color: #fff; padding: 0.6em 1.2em; }
header h1 { margin: 0; font-size: 1.5em; }
main { padding: 0 1.2em 1.2em; }
.banner { background: #fff3b0; border: 2px solid #d4a000; padding: 0.6em 1em; margin: 1em 0; font-weight: 600; }
.alert { background: #ffebe9; border: 2px solid #cf222e; padding: 0.6em 1em; margin: 1em 0; }
.alert pre { white-space: pre-wrap; margin: 0.4em 0; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { border: 1px solid #d0d7de; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; }
.up { background: #2da44e; color: #fff; font-weight: 600; }
.denied { color: #cf222e; }
.down { background: #cf222e; color: #fff; font-weight: 600; }
.hot { color: #cf222e; font-weight: 600; }
ul.commands { margin: 0; padding-left: 0; list-style: none; }
.muted { color: #656d76; }
code { font-size: 0.95em; }
</style>
</head>
<body>
<header><h1>Tencent Live Exporter</h1></header>
<main>
{{- if .Demo}}
<div class="banner" id="demo-banner" role="status">Demo mode: these numbers come from a built-in fake of the Tencent API on loopback, not from Tencent Cloud. Run without <code>--demo</code> and with <code>--config.file</code> to watch your own rooms.</div>
{{- end}}
{{- with .ReloadFailed}}
<div class="alert" id="reload-failed" role="alert"><strong>The last configuration reload failed</strong> at <span class="time">{{.Time}}</span> ({{.Ago}} ago); the configuration loaded at {{.RunningSince}} is still running. Fix the file and reload (SIGHUP or <code>POST /-/reload</code>):<pre class="reload-error">{{.Error}}</pre></div>
{{- end}}
<p>Prometheus exporter for the member counts of Tencent Cloud live rooms. Version: <span id="version">{{.Version}}</span></p>
<ul id="links">
{{- range .Links}}
<li><a href="{{.Address}}">{{.Text}}</a>{{if .Description}}: {{.Description}}{{end}}</li>
{{- end}}
</ul>
<h2>Apps</h2>
<p class="muted">State at {{.Now}}, from the exporter's cache. Calls per second are over the last 10 seconds; rooms are refreshed only while Prometheus scrapes.</p>
<table id="status">
<thead><tr><th>App</th><th>State</th><th>Rooms watched</th><th>Deferred refreshes</th><th>Calls/s against max_qps</th><th>Last error</th></tr></thead>
<tbody>
{{- range .Apps}}
<tr data-app="{{.Name}}">
<td class="app">{{.Name}}</td>
{{if .Up}}<td class="state up" data-state="up">up</td>{{else}}<td class="state down" data-state="down">down</td>{{end}}
<td class="num rooms">{{.Rooms}}</td>
<td class="num deferred">{{.Deferred}}</td>
<td><ul class="commands">
{{- range .Commands}}
<li data-command="{{.Command}}"{{if .Hot}} class="hot"{{end}}><code>{{.Command}}</code>: {{.CallsPerSec}} of {{.MaxQPS}} calls/s ({{.Percent}} %){{if .LimiterQPS}}, held back to {{.LimiterQPS}} after rate-limit answers{{end}}{{if .Denied}}, <strong class="denied" data-state="denied">not accepted: backing off</strong>{{end}}</li>
{{- end}}
</ul></td>
{{with .LastError}}<td class="error" data-code="{{.Code}}"><code>{{.Command}}</code> code <strong>{{.Code}}</strong>{{if .Meaning}} <span class="meaning">({{.Meaning}})</span>{{end}}{{if .RequestID}}, request id <code class="request-id">{{.RequestID}}</code>{{end}}, at {{.Time}} ({{.Ago}} ago)</td>{{else}}<td class="error muted">none</td>{{end}}
</tr>
{{- else}}
<tr><td colspan="6" class="muted">No apps configured.</td></tr>
{{- end}}
</tbody>
</table>
{{- if .Others}}
<h2>Apps other shards own</h2>
<p class="muted">This exporter makes no call for these apps and serves none of their series (<code>tencent_live_app_owned</code> 0 here).</p>
<table id="others">
<thead><tr><th>App</th><th>Owned by shard</th></tr></thead>
<tbody>
{{- range .Others}}
<tr data-app="{{.Name}}"><td class="app">{{.Name}}</td><td class="num shard">{{.Shard}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
<p class="muted">The error codes and what to do about them are in the README's troubleshooting section; <code>--log.level=debug</code> logs every failed call with its request id.</p>
</main>
</body>
</html>
`))
