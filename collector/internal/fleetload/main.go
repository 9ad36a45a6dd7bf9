// Command fleetload measures one exporter process serving a fleet of many
// small apps against the same number of rooms as one big app, side by
// side: resident memory, CPU seconds per second of polling, calls per
// second and scrape latency.
//
//	make fleetload
//
// It starts one fake of the Tencent API per app in-process and the
// exporter binary, all on 127.0.0.1. Both runs poll 8 000 rooms every
// refresh_interval (40 s: 200 calls/s in all, one app's whole quota).
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
	"text/tabwriter"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/internal/procstat"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

const key = "fleetload-key-not-secret"

func main() {
	exporterBin := flag.String("exporter", ".build/tencent_live_exporter", "Path to the exporter binary.")
	window := flag.Duration("window", 40*time.Second, "How long to measure polling once the cache is full (one refresh_interval).")
	flag.Parse()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "fleet\trooms\tRSS MiB\tCPU s/s\tcalls/s\tscrape p50\tscrape p99")
	for _, shape := range []struct{ apps, rooms int }{{200, 40}, {1, 8000}} {
		r, err := run(*exporterBin, shape.apps, shape.rooms, *window)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fleetload:", err)
			os.Exit(1)
		}
		fmt.Fprintf(w, "%d apps x %d rooms\t%d\t%.1f\t%.3f\t%.0f\t%s\t%s\n", shape.apps, shape.rooms, shape.apps*shape.rooms,
			r.rss, r.cpu, r.calls, r.p50, r.p99)
	}
	w.Flush()
}

type result struct {
	rss, cpu, calls float64
	p50, p99        time.Duration
}

func run(exporterBin string, apps, rooms int, window time.Duration) (result, error) {
	dir, err := os.MkdirTemp("", "fleetload")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	var cfg strings.Builder
	cfg.WriteString("apps:\n")
	fakes := make([]*tencenttest.Server, apps)
	perApp := 200.0 / float64(apps) // 200 calls/s in all
	for a := range apps {
		id := uint64(1400100000 + a)
		fakes[a] = tencenttest.NewServer(tencenttest.Options{SDKAppID: id, Identifier: "admin", SecretKey: key, RateLimit: 200})
		defer fakes[a].Close()
		fmt.Fprintf(&cfg, "  - name: app%d\n    sdkappid: %d\n    endpoint: %s\n    identifier: admin\n    secret_key: %s\n    max_qps: %g\n    refresh_interval: 40s\n    rooms:\n",
			a, id, fakes[a].URL, key, min(200, max(perApp*1.5, 1)))
		for r := range rooms {
			fakes[a].SetRoom("r"+strconv.Itoa(r), tencenttest.Room{MemberCount: r})
			fmt.Fprintf(&cfg, "      - id: r%d\n", r)
		}
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		return result{}, err
	}
	addr, err := procstat.FreeAddr()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(exporterBin, "--config.file="+cfgPath, "--web.listen-address="+addr, "--log.level=warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	url := "http://" + addr + "/metrics"
	total := apps * rooms
	for start := time.Now(); ; {
		body, err := scrape(url)
		if err == nil && bytes.Count(body, []byte("\ntencent_live_room_members{")) == total {
			break
		}
		if time.Since(start) > 3*time.Minute {
			return result{}, fmt.Errorf("%d apps x %d rooms: cache not filled after 3 minutes", apps, rooms)
		}
		time.Sleep(time.Second)
	}
	calls0 := callsOf(fakes)
	cpu0 := procstat.CPUSeconds(cmd.Process.Pid)
	start := time.Now()
	var lat []time.Duration
	for time.Since(start) < window {
		t0 := time.Now()
		if _, err := scrape(url); err == nil {
			lat = append(lat, time.Since(t0))
		}
		time.Sleep(2 * time.Second) // scrapes keep the exporter polling
	}
	elapsed := time.Since(start).Seconds()
	slices.Sort(lat)
	return result{
		rss:   rssOf(cmd.Process.Pid),
		cpu:   (procstat.CPUSeconds(cmd.Process.Pid) - cpu0) / elapsed,
		calls: float64(callsOf(fakes)-calls0) / elapsed,
		p50:   lat[len(lat)/2].Round(time.Millisecond),
		p99:   lat[len(lat)*99/100].Round(time.Millisecond),
	}, nil
}

func scrape(url string) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func callsOf(fakes []*tencenttest.Server) int {
	n := 0
	for _, f := range fakes {
		n += f.Stats().Calls
	}
	return n
}

// rssOf is a process' resident memory in MiB.
func rssOf(pid int) float64 {
	rss, _ := procstat.Memory(pid)
	return rss
}
