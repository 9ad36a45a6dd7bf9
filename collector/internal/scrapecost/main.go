// Command scrapecost compares what a scrape of tencent_live_exporter with
// 10 000 cached rooms costs against two baselines that serve the same
// series, both built from the exporter's own exposition by the floor
// program: const metrics built once, through a client_golang registry
// ("floor"), and the parsed families served as they are ("static": encoding
// alone). It reports the median
// /metrics latency over HTTP, with and without gzip, measured in turn in
// one run, and each process' resident memory.
//
//	make scrapecost
//
// It starts five fakes of the Tencent API in-process (one per app), the
// exporter binary against them and the floor binary, all on 127.0.0.1.
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
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector/internal/floor"
	"github.com/tencent-live-exporter/tencent_live_exporter/internal/procstat"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

const (
	apps        = 5
	roomsPerApp = 2000
	key         = "scrapecost-key-not-secret"
)

func main() {
	exporterBin := flag.String("exporter", ".build/tencent_live_exporter", "Path to the exporter binary.")
	floorBin := flag.String("floor", ".build/floor", "Path to the floor binary.")
	rounds := flag.Int("rounds", 61, "Scrapes of each target in each mode.")
	all := flag.Bool("all-families", true, "Also fetch room_info, room_stats and room_seats for every room (19 series a room instead of 4).")
	flag.Parse()
	if err := run(*exporterBin, *floorBin, *rounds, *all); err != nil {
		fmt.Fprintln(os.Stderr, "scrapecost:", err)
		os.Exit(1)
	}
}

func run(exporterBin, floorBin string, rounds int, all bool) error {
	dir, err := os.MkdirTemp("", "scrapecost")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var cfg strings.Builder
	cfg.WriteString("apps:\n")
	for a := range apps {
		id := uint64(1400000000 + a)
		srv := tencenttest.NewServer(tencenttest.Options{SDKAppID: id, Identifier: "admin", SecretKey: key, RateLimit: 200})
		defer srv.Close()
		fmt.Fprintf(&cfg, "  - name: %s\n    sdkappid: %d\n    endpoint: %s\n    identifier: admin\n    secret_key: %s\n    max_qps: 200\n    refresh_interval: 1h\n",
			floor.AppName(a), id, srv.URL, key)
		if all {
			cfg.WriteString("    room_info: {interval: 1h, max_qps: 200}\n    room_stats: {interval: 1h, max_qps: 100}\n    room_seats: {interval: 1h, max_qps: 200}\n")
		}
		cfg.WriteString("    rooms:\n")
		for r := range roomsPerApp {
			srv.SetRoom(floor.RoomID(r), tencenttest.Room{MemberCount: r, Name: "room " + floor.RoomID(r), Owner: "owner", Category: []int{r % 5}, MaxMemberCount: 1000, MaxSeatCount: 8,
				Seats: []tencenttest.Seat{{Account: "owner"}, {Account: "guest"}, {}, {Locked: true}}})
			fmt.Fprintf(&cfg, "      - id: %s\n", floor.RoomID(r))
		}
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		return err
	}

	exporterAddr, floorAddr, staticAddr := freeAddr(), freeAddr(), freeAddr()
	exporter, err := start(exporterBin, "--config.file="+cfgPath, "--web.listen-address="+exporterAddr, "--log.level=warn")
	if err != nil {
		return err
	}
	defer stop(exporter)
	exporterURL := "http://" + exporterAddr + "/metrics"
	fmt.Println("filling the exporter's cache: 10 000 rooms at 5 x 195 calls/s per command ...")
	fillStart := time.Now()
	for {
		body, err := get(exporterURL, false)
		if err == nil && bytes.Count(body, []byte("\ntencent_live_room_members{")) == apps*roomsPerApp &&
			(!all || bytes.Count(body, []byte("\ntencent_live_room_likes_total{")) == apps*roomsPerApp &&
				bytes.Count(body, []byte("\ntencent_live_room_owner_on_seat{")) == apps*roomsPerApp &&
				bytes.Count(body, []byte("\ntencent_live_room_max_members{")) == apps*roomsPerApp) {
			break
		}
		if time.Since(fillStart) > 2*time.Minute {
			return fmt.Errorf("cache not filled after 2 minutes (last error: %w)", err)
		}
	}
	fmt.Printf("filled in %s\n", time.Since(fillStart).Round(time.Millisecond))

	// The floor serves exactly what the exporter serves now.
	exposition, err := get(exporterURL, false)
	if err != nil {
		return err
	}
	expositionPath := filepath.Join(dir, "exporter.prom")
	if err := os.WriteFile(expositionPath, exposition, 0o600); err != nil {
		return err
	}
	floorProc, err := startFloor(floorBin, floorAddr, expositionPath)
	if err != nil {
		return err
	}
	defer stop(floorProc)
	staticProc, err := startFloor(floorBin, staticAddr, expositionPath, "-static")
	if err != nil {
		return err
	}
	defer stop(staticProc)

	targets := []struct {
		name string
		url  string
		proc *exec.Cmd
	}{
		{"exporter", exporterURL, exporter},
		{"floor", "http://" + floorAddr + "/metrics", floorProc},
		{"static", "http://" + staticAddr + "/metrics", staticProc},
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "mode\texporter median\tfloor median\tstatic median\texporter/floor\texporter/static\tbytes (exporter, floor, static)")
	for _, gzip := range []bool{false, true} {
		durations := make([][]time.Duration, len(targets))
		sizes := make([]int, len(targets))
		for range rounds { // in turn, so all see the same machine
			for i, t := range targets {
				d, n, err := timed(t.url, gzip)
				if err != nil {
					return err
				}
				durations[i], sizes[i] = append(durations[i], d), n
			}
		}
		me, mf, ms := median(durations[0]), median(durations[1]), median(durations[2])
		mode := "plain"
		if gzip {
			mode = "gzip"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.2fx\t%.2fx\t%d, %d, %d\n", mode, me.Round(10*time.Microsecond), mf.Round(10*time.Microsecond), ms.Round(10*time.Microsecond),
			float64(me)/float64(mf), float64(me)/float64(ms), sizes[0], sizes[1], sizes[2])
	}
	w.Flush()
	fmt.Println("resident memory after the run, MiB (peak):")
	re, he := procstat.Memory(exporter.Process.Pid)
	for _, t := range targets {
		r, h := procstat.Memory(t.proc.Process.Pid)
		fmt.Printf("  %-8s %6.1f (%.1f)  exporter/%s %.2fx (peak %.2fx)\n", t.name, r, h, t.name, re/r, he/h)
	}
	return nil
}

// startFloor starts the floor program and waits until it serves.
func startFloor(bin, addr, exposition string, args ...string) (*exec.Cmd, error) {
	cmd, err := start(bin, append([]string{"-listen=" + addr, "-from=" + exposition}, args...)...)
	if err != nil {
		return nil, err
	}
	for begin := time.Now(); ; {
		if _, err = get("http://"+addr+"/metrics", false); err == nil {
			return cmd, nil
		}
		if time.Since(begin) > 30*time.Second {
			stop(cmd)
			return nil, fmt.Errorf("floor %v not serving: %w", args, err)
		}
	}
}

func freeAddr() string {
	addr, err := procstat.FreeAddr()
	if err != nil {
		panic(err)
	}
	return addr
}

func start(bin string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	return cmd, nil
}

func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

var client = &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: time.Minute}

// get fetches url, raw (still compressed when gzip is set).
func get(url string, gzip bool) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	if gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := client.Do(req)
	if err != nil {
		time.Sleep(100 * time.Millisecond) // not listening yet
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return body, err
}

func timed(url string, gzip bool) (time.Duration, int, error) {
	start := time.Now()
	body, err := get(url, gzip)
	return time.Since(start), len(body), err
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
