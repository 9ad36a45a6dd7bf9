// Command webhookload floods the exporter's callback receiver with signed
// member events, as Tencent would post them, and reports what it took:
// events accepted per second, the client's latency quantiles, the
// receiver's own handling-time quantile, the exporter's resident memory as
// the events go by, and the scrape latency of /metrics before and during
// the flood.
//
//	make webhookload
//
// Everything runs on 127.0.0.1: a fake of the Tencent API in-process (one
// app, 2 000 configured rooms), the exporter binary, and the clients.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tencent-live-exporter/tencent_live_exporter/internal/procstat"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

const (
	sdkAppID = 1400000777
	rooms    = 2000
	key      = "webhookload-key-not-secret"
	token    = "webhookload-token-not-secret"
)

func main() {
	exporterBin := flag.String("exporter", ".build/tencent_live_exporter", "Path to the exporter binary.")
	events := flag.Int("events", 1_000_000, "Events to post.")
	conns := flag.Int("connections", 32, "Keep-alive connections posting at once.")
	flag.Parse()
	if err := run(*exporterBin, *events, *conns); err != nil {
		fmt.Fprintln(os.Stderr, "webhookload:", err)
		os.Exit(1)
	}
}

func run(exporterBin string, events, conns int) error {
	dir, err := os.MkdirTemp("", "webhookload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv := tencenttest.NewServer(tencenttest.Options{SDKAppID: sdkAppID, Identifier: "admin", SecretKey: key, RateLimit: 200})
	defer srv.Close()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "apps:\n  - name: load\n    sdkappid: %d\n    endpoint: %s\n    identifier: admin\n    secret_key: %s\n    max_qps: 200\n    refresh_interval: 1h\n    webhook: {token: %s}\n    rooms:\n",
		sdkAppID, srv.URL, key, token)
	for r := range rooms {
		id := "room-" + strconv.Itoa(r)
		srv.SetRoom(id, tencenttest.Room{MemberCount: r})
		fmt.Fprintf(&cfg, "      - id: %s\n", id)
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		return err
	}
	webAddr, err := procstat.FreeAddr()
	if err != nil {
		return err
	}
	cbAddr, err := procstat.FreeAddr()
	if err != nil {
		return err
	}
	cmd := exec.Command(exporterBin, "--config.file="+cfgPath, "--web.listen-address="+webAddr, "--callback.listen-address="+cbAddr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	metricsURL := "http://" + webAddr + "/metrics"
	target := "http://" + cbAddr + "/callback"
	for start := time.Now(); ; {
		if body, err := get(metricsURL); err == nil && bytes.Count(body, []byte("\ntencent_live_room_members{")) == rooms {
			break
		}
		if time.Since(start) > time.Minute {
			return fmt.Errorf("exporter not ready after a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}
	idle := scrapeLatencies(metricsURL, 20, nil)
	rss0 := rssOf(cmd.Process.Pid)
	fmt.Printf("exporter ready: %d rooms, RSS %.1f MiB, idle scrape p50 %s\n", rooms, rss0, quantile(idle, 0.5))

	var (
		sent, accepted atomic.Int64
		latMu          sync.Mutex
		lats           = make([]time.Duration, 0, events)
		wg             sync.WaitGroup
		stopScrapes    = make(chan struct{})
		during         []time.Duration
		rssAt          []string
	)
	scrapeDone := make(chan struct{})
	go func() {
		during = scrapeLatencies(metricsURL, 1<<30, stopScrapes)
		close(scrapeDone)
	}()
	start := time.Now()
	next := int64(100_000)
	for c := range conns {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}, Timeout: 10 * time.Second}
			var mine []time.Duration
			for {
				n := sent.Add(1)
				if n > int64(events) {
					break
				}
				body := fmt.Appendf(nil, `{"RoomId":"room-%d","EventType":"Online","EventCause":"Enter","MemberList":[{"Member_Account":"u%d-%d"}],"EventTime":%d}`,
					n%rooms, c, n, time.Now().UnixMilli())
				url := tencenttest.CallbackURL(target, sdkAppID, token, tencenttest.CallbackMemberStateChanged, time.Now())
				t0 := time.Now()
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						accepted.Add(1)
					}
				}
				mine = append(mine, time.Since(t0))
			}
			latMu.Lock()
			lats = append(lats, mine...)
			latMu.Unlock()
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(200 * time.Millisecond)
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
			if a := accepted.Load(); a >= next {
				rssAt = append(rssAt, fmt.Sprintf("%dk: %.1f MiB", a/1000, rssOf(cmd.Process.Pid)))
				next += 100_000
			}
		}
	}
	tick.Stop()
	elapsed := time.Since(start)
	close(stopScrapes)
	<-scrapeDone
	rssEnd := rssOf(cmd.Process.Pid)

	body, err := get(metricsURL)
	if err != nil {
		return err
	}
	serverP99 := histogramQuantile(body, "tencent_live_webhook_request_duration_seconds", 0.99)
	fmt.Printf("events: %d posted, %d accepted in %s: %.0f events/s over %d keep-alive connections\n",
		events, accepted.Load(), elapsed.Round(time.Millisecond), float64(accepted.Load())/elapsed.Seconds(), conns)
	fmt.Printf("client latency: p50 %s, p99 %s, max %s\n", quantile(lats, 0.5), quantile(lats, 0.99), quantile(lats, 1))
	fmt.Printf("receiver handling time (its histogram): p99 <= %s\n", serverP99)
	fmt.Printf("exporter RSS: %.1f MiB before, %s, %.1f MiB after\n", rss0, strings.Join(rssAt, ", "), rssEnd)
	fmt.Printf("scrape latency (2 000 rooms): idle p50 %s p99 %s; during the flood p50 %s p99 %s (%d scrapes)\n",
		quantile(idle, 0.5), quantile(idle, 0.99), quantile(during, 0.5), quantile(during, 0.99), len(during))
	return nil
}

func get(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// scrapeLatencies scrapes url n times, or until stop closes, a scrape
// every 100 ms.
func scrapeLatencies(url string, n int, stop chan struct{}) []time.Duration {
	var out []time.Duration
	for range n {
		t0 := time.Now()
		if _, err := get(url); err == nil {
			out = append(out, time.Since(t0))
		}
		select {
		case <-stop:
			return out
		case <-time.After(100 * time.Millisecond):
		}
	}
	return out
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q * float64(len(s)-1))
	return s[i].Round(10 * time.Microsecond)
}

// histogramQuantile is the upper bound of the bucket holding quantile q
// of a classic histogram in an exposition.
func histogramQuantile(body []byte, name string, q float64) string {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil || families[name] == nil || len(families[name].Metric) == 0 {
		return "unknown"
	}
	h := families[name].Metric[0].GetHistogram()
	total := float64(h.GetSampleCount())
	for _, b := range h.GetBucket() {
		if float64(b.GetCumulativeCount()) >= q*total {
			return time.Duration(b.GetUpperBound() * float64(time.Second)).String()
		}
	}
	return "+Inf"
}

// rssOf is a process' resident memory in MiB.
func rssOf(pid int) float64 {
	rss, _ := procstat.Memory(pid)
	return rss
}
