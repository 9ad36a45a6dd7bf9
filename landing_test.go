package main

import (
	"bytes"
	"errors"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
	"github.com/tencent-live-exporter/tencent_live_exporter/internal/childproc"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// TestLandingPage renders the page from a given status: every value
// appears, escaped; the demo banner only in demo mode; other paths 404.
func TestLandingPage(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	status := []collector.AppStatus{
		{Name: "live", Owned: true, Up: true, Rooms: 120, Deferred: 3, Commands: []collector.CommandStatus{
			{Command: "get_member_list", Up: true, CallsPerSec: 19.5, MaxQPS: 20, LimiterQPS: 20},
			{Command: "get_room_stats", Up: false, CallsPerSec: 0, MaxQPS: 50, LimiterQPS: 50},
		}},
		{Name: `<script>alert("x")</script>`, Owned: true, Up: false, Rooms: 7,
			LastError: &collector.ErrorStatus{Command: "get_member_list", Code: "70009", RequestID: `req-"1"`, Time: now.Add(-90 * time.Second)},
			Commands:  []collector.CommandStatus{{Command: "get_member_list", CallsPerSec: 0.3, MaxQPS: 100, LimiterQPS: 50}},
		},
		{Name: "elsewhere", Shard: 2},
	}
	for _, demo := range []bool{false, true} {
		p := &landingPage{
			version: "(version=1.2.3)", demo: demo,
			links:  []landingLink{{Address: "/metrics", Text: "Metrics"}},
			status: func() []collector.AppStatus { return status },
			now:    func() time.Time { return now },
			logger: slog.New(slog.DiscardHandler),
		}
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		body := rec.Body.String()
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("GET /: %d %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		for _, want := range []string{
			`<span id="version">(version=1.2.3)</span>`,
			`<a href="/metrics">Metrics</a>`,
			`<tr data-app="live">`, `data-state="up"`, `<td class="num rooms">120</td>`, `<td class="num deferred">3</td>`,
			`<li data-command="get_member_list" class="hot"><code>get_member_list</code>: 19.5 of 20 calls/s (97 %)</li>`,
			`<li data-command="get_room_stats"><code>get_room_stats</code>: 0.0 of 50 calls/s (0 %), <strong class="denied" data-state="denied">not accepted: backing off</strong></li>`,
			`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`, `data-state="down"`,
			`data-code="70009"`, `<strong>70009</strong> <span class="meaning">(signature rejected: wrong secret key or sdkappid)</span>, request id <code class="request-id">req-&#34;1&#34;</code>, at 2026-05-01T11:58:30Z (1m30s ago)`,
			`0.3 of 100 calls/s (0 %), held back to 50.0 after rate-limit answers`,
			"State at 2026-05-01T12:00:00Z",
			`<tr data-app="elsewhere"><td class="app">elsewhere</td><td class="num shard">2</td></tr>`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("demo=%v: page lacks %s:\n%s", demo, want, body)
			}
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, "pprof") {
			t.Errorf("demo=%v: page holds a script or a pprof link:\n%s", demo, body)
		}
		if got := strings.Contains(body, `id="demo-banner"`); got != demo {
			t.Errorf("demo=%v: demo banner shown: %v", demo, got)
		}
		rec = httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/heap", nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET /debug/pprof/heap: %d; want 404", rec.Code)
		}
	}
}

// TestLandingPageReloadFailed: a failed reload shows, with when and why
// and since when the running configuration was loaded, until a reload
// succeeds.
func TestLandingPageReloadFailed(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	status := newReloadStatus()
	status.succeeded(now.Add(-time.Hour))
	p := &landingPage{
		version: "1.2.3",
		status:  func() []collector.AppStatus { return nil },
		reload:  status.state,
		now:     func() time.Time { return now },
		logger:  slog.New(slog.DiscardHandler),
	}
	get := func() string {
		t.Helper()
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return rec.Body.String()
	}
	if body := get(); strings.Contains(body, "reload-failed") {
		t.Errorf("page shows a failed reload before any:\n%s", body)
	}
	status.failed(now.Add(-2*time.Minute), errors.New(`config /etc/x/config.yml: line 12: app "<live>": max_qps must be in (0, 200], got 300`))
	body := get()
	for _, want := range []string{
		`<div class="alert" id="reload-failed" role="alert"><strong>The last configuration reload failed</strong> at <span class="time">2026-05-01T11:58:00Z</span> (2m0s ago); the configuration loaded at 2026-05-01T11:00:00Z is still running.`,
		`<pre class="reload-error">config /etc/x/config.yml: line 12: app &#34;&lt;live&gt;&#34;: max_qps must be in (0, 200], got 300</pre>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page after a failed reload lacks %s:\n%s", want, body)
		}
	}
	status.succeeded(now)
	if body := get(); strings.Contains(body, "reload-failed") {
		t.Errorf("page still shows the failed reload after a good one:\n%s", body)
	}
}

// chromium runs Debian's Chromium headless, as .ci/run installs it, with
// nothing that reaches beyond loopback.
func chromium(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := toolOrSkip(t, "chromium", "chromium")
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(t.Context(), bin, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, childproc.Tail(stderr.String(), 3000))
	}
	return out
}

// browserPage is the DOM Chromium built from a page, and a screenshot.
type browserPage struct {
	dom  *html.Node
	text string // the serialized DOM
	png  []byte
}

func loadInChromium(t *testing.T, pageURL string) browserPage {
	t.Helper()
	dump := chromium(t, "--dump-dom", pageURL)
	dom, err := html.Parse(bytes.NewReader(dump))
	if err != nil {
		t.Fatalf("parse Chromium's DOM: %v", err)
	}
	shot := filepath.Join(t.TempDir(), "page.png")
	chromium(t, "--window-size=1280,900", "--screenshot="+shot, pageURL)
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("Chromium wrote no screenshot: %v", err)
	}
	if dir := os.Getenv("TLE_SCREENSHOT_DIR"); dir != "" { // to look at it
		_ = os.WriteFile(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".png"), png, 0o644)
	}
	return browserPage{dom: dom, text: string(dump), png: png}
}

// find returns the elements under n for which match holds.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && match(d) {
			out = append(out, d)
		}
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(key, val string) func(*html.Node) bool {
	return func(n *html.Node) bool { return attr(n, key) == val }
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// one returns the single element under n that match selects.
func one(t *testing.T, n *html.Node, what string, match func(*html.Node) bool) *html.Node {
	t.Helper()
	found := find(n, match)
	if len(found) != 1 {
		t.Fatalf("%d elements for %s in the page; want 1", len(found), what)
	}
	return found[0]
}

// pixels counts the screenshot's pixels of colour (r, g, b).
func pixels(t *testing.T, data []byte, r, g, b uint8) int {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if uint8(pr>>8) == r && uint8(pg>>8) == g && uint8(pb>>8) == b {
				n++
			}
		}
	}
	return n
}

// Colours of landingTemplate's CSS, as the screenshot shows them.
var (
	headerColour = [3]uint8{0xe6, 0x52, 0x2c}
	bannerColour = [3]uint8{0xff, 0xf3, 0xb0}
	upColour     = [3]uint8{0x2d, 0xa4, 0x4e}
	downColour   = [3]uint8{0xcf, 0x22, 0x2e}
)

// TestBinaryLandingChromium loads the landing page of a running exporter
// in headless Chromium: the status table shows an app that works and one
// whose key is wrong, with the error's code and request id; every link
// on the page answers; the screenshot shows the green and red states and
// no demo banner. Then the same for --demo, where the banner shows.
func TestBinaryLandingChromium(t *testing.T) {
	toolOrSkip(t, "chromium", "chromium")
	good := newFakeApp(t, 1400000701)
	good.SetRoom("room-1", tencenttest.Room{MemberCount: 12})
	bad := newFakeApp(t, 1400000702)
	dir, configPath := configDir(t, good)
	writeFile(t, filepath.Join(dir, "secrets", "wrong.key"), childproc.SecretKey(t, "tle-wrong-")+"\n")
	writeFile(t, configPath, "apps:\n"+appYAML("live", good, keyFileRel, "max_qps: 20", "room-1", "room-2")+
		appYAML("broken", bad, "secret_key_file: secrets/wrong.key", "", "room-9"))
	e := startExporter(t, "--config.file="+configPath)
	waitFor(t, e.Process, waitTimeout, "the landing page to show broken's error", func() bool {
		e.scrape(t)
		_, body := httpDo(t, http.MethodGet, e.url+"/", nil)
		return strings.Contains(body, `data-code="70009"`)
	})

	page := loadInChromium(t, e.url+"/")
	live := one(t, page.dom, `tr[data-app="live"]`, hasAttr("data-app", "live"))
	if s := one(t, live, "live's state", hasAttr("class", "state up")); textOf(s) != "up" {
		t.Errorf("live's state shows %q; want up", textOf(s))
	}
	if r := one(t, live, "live's rooms", hasAttr("class", "num rooms")); textOf(r) != "2" {
		t.Errorf("live's rooms watched shows %q; want 2", textOf(r))
	}
	cmd := one(t, live, "live's get_member_list", hasAttr("data-command", "get_member_list"))
	if txt := textOf(cmd); !strings.HasPrefix(txt, "get_member_list: ") || !strings.Contains(txt, " of 20 calls/s") {
		t.Errorf("live's get_member_list shows %q; want calls/s of 20", txt)
	}
	broken := one(t, page.dom, `tr[data-app="broken"]`, hasAttr("data-app", "broken"))
	if s := one(t, broken, "broken's state", hasAttr("class", "state down")); textOf(s) != "down" {
		t.Errorf("broken's state shows %q; want down", textOf(s))
	}
	errCell := one(t, broken, "broken's last error", hasAttr("data-code", "70009"))
	reqID := one(t, errCell, "broken's request id", hasAttr("class", "request-id"))
	if textOf(reqID) == "" || !strings.Contains(e.Out.String(), textOf(reqID)) {
		t.Errorf("broken's request id %q is not the one in the log", textOf(reqID))
	}
	if len(find(page.dom, hasAttr("id", "demo-banner"))) != 0 {
		t.Error("demo banner shown without --demo")
	}
	if strings.Contains(page.text, "pprof") {
		t.Error("the page still mentions pprof")
	}
	// Every link to the exporter itself answers.
	links := find(page.dom, func(n *html.Node) bool { return n.Data == "a" })
	if len(links) < 4 {
		t.Errorf("%d links on the page; want metrics, configuration, health, readiness and more", len(links))
	}
	base, _ := url.Parse(e.url + "/")
	for _, a := range links {
		u, err := base.Parse(attr(a, "href"))
		if err != nil {
			t.Errorf("link %q: %v", attr(a, "href"), err)
			continue
		}
		if u.Host != base.Host {
			continue // documentation: not fetched from here
		}
		resp, err := httpClient.Get(u.String())
		if err != nil {
			t.Errorf("link %s: %v", u, err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("link %q (%s) answers %d; want 200", attr(a, "href"), textOf(a), resp.StatusCode)
		}
	}
	assertNoSecret(t, []string{good.key}, map[string]string{"landing page": page.text})
	for _, c := range []struct {
		name string
		rgb  [3]uint8
		want bool
	}{{"header", headerColour, true}, {"green up cell", upColour, true}, {"red down cell", downColour, true}, {"demo banner", bannerColour, false}} {
		if n := pixels(t, page.png, c.rgb[0], c.rgb[1], c.rgb[2]); (n > 200) != c.want {
			t.Errorf("screenshot: %d pixels of the %s colour; want it shown: %v", n, c.name, c.want)
		}
	}

	t.Run("demo", func(t *testing.T) {
		d := startExporter(t, "--demo")
		d.scrape(t)
		page := loadInChromium(t, d.url+"/")
		banner := one(t, page.dom, "#demo-banner", hasAttr("id", "demo-banner"))
		if txt := textOf(banner); !strings.HasPrefix(txt, "Demo mode:") || !strings.Contains(txt, "fake of the Tencent API") {
			t.Errorf("demo banner says %q", txt)
		}
		one(t, page.dom, `tr[data-app="demo"]`, hasAttr("data-app", "demo"))
		if n := pixels(t, page.png, bannerColour[0], bannerColour[1], bannerColour[2]); n < 2000 {
			t.Errorf("screenshot: %d pixels of the banner colour; want the banner visible", n)
		}
	})
}
