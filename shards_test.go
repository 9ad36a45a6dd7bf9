package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

const (
	fleetApps   = 4
	fleetRooms  = 10
	fleetMaxQPS = 20
	fleetToken  = "fleet-t0ken-DO-NOT-LEAK"
)

// fleet is four apps, each with its own fake enforcing the app's limits,
// and the configuration every shard reads.
type fleet struct {
	fakes  []*fakeApp
	config string
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	fl := &fleet{}
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("apps:\n")
	for a := range fleetApps {
		f := newFakeApp(t, uint64(1400000960+a))
		f.SetRateLimit(fleetMaxQPS)
		f.SetCommandRateLimit(tencenttest.CommandGetRoomList, 10)
		fl.fakes = append(fl.fakes, f)
		writeFile(t, filepath.Join(dir, "secrets", fmt.Sprintf("app%d.key", a)), f.key+"\n")
		for r := range fleetRooms {
			f.SetRoom(fmt.Sprintf("live-%d-%d", a, r), tencenttest.Room{MemberCount: 10*a + r, ViewCount: int64(r)})
		}
		app := appYAML(fmt.Sprintf("app%d", a), f, fmt.Sprintf("secret_key_file: secrets/app%d.key", a),
			fmt.Sprintf("max_qps: %d\nrefresh_interval: 1s\ndiscovery: {interval: 2s}\nwebhook: {token: %s}", fleetMaxQPS, fleetToken))
		cfg.WriteString(strings.TrimSuffix(app, "    rooms:\n"))
	}
	fl.config = filepath.Join(dir, "config.yml")
	writeFile(t, fl.config, cfg.String())
	return fl
}

// shard is one exporter of a fleet and its callback address.
type shard struct {
	*exporter
	callback string
}

// shardAddrs finds n free loopback addresses whose ports differ only in
// their last digit, the shard index, so that one --shard.callback-url
// template names them all, as the StatefulSet's stable names do.
func shardAddrs(t *testing.T, n int) (addrs []string, template string) {
	t.Helper()
	for range 100 {
		prefix := 2000 + rand.IntN(4000)
		addrs = addrs[:0]
		for i := range n {
			addr := fmt.Sprintf("127.0.0.1:%d%d", prefix, i)
			l, err := net.Listen("tcp", addr)
			if err != nil {
				break
			}
			l.Close()
			addrs = append(addrs, addr)
		}
		if len(addrs) == n {
			return addrs, fmt.Sprintf("http://127.0.0.1:%d{shard}/callback", prefix)
		}
	}
	t.Fatal("no free ports for the shards")
	return nil, ""
}

// startShards runs n shards of the fleet, each forwarding the events of
// apps it does not own to their owner.
func (fl *fleet) startShards(t *testing.T, n int) []shard {
	t.Helper()
	addrs, template := shardAddrs(t, n)
	shards := make([]shard, n)
	for i := range n {
		shards[i] = shard{
			exporter: startExporter(t, "--config.file="+fl.config, fmt.Sprintf("--shard.count=%d", n), fmt.Sprintf("--shard.index=%d", i),
				"--callback.listen-address="+addrs[i], "--shard.callback-url="+template),
			callback: "http://" + addrs[i] + "/callback",
		}
	}
	return shards
}

// memberSeries are the room member series of scrapes, as "app/room value".
func memberSeries(t *testing.T, results ...scrapeResult) []string {
	var out []string
	for _, m := range results {
		for _, s := range m.series("tencent_live_room_members") {
			out = append(out, fmt.Sprintf("%s/%s %g", s.labels["app"], s.labels["room"], s.value))
		}
	}
	slices.Sort(out)
	return out
}

// scrapeUntilFull scrapes every shard until together they serve every
// room of the fleet.
func scrapeUntilFull(t *testing.T, shards []shard) []scrapeResult {
	t.Helper()
	var results []scrapeResult
	waitFor(t, shards[0].Process, waitTimeout, "every room served by some shard", func() bool {
		results = results[:0]
		for _, s := range shards {
			_, m := s.scrape(t)
			results = append(results, m)
		}
		return len(memberSeries(t, results...)) == fleetApps*fleetRooms
	})
	return results
}

// Shards own whole apps: every app is owned by exactly one shard, which
// polls it at its full max_qps and sweeps its listing once per interval;
// together the shards serve exactly what one exporter serves.
func TestBinaryShardsOwnWholeApps(t *testing.T) {
	fl := newFleet(t)
	single := fl.startShards(t, 1)
	want := memberSeries(t, scrapeUntilFull(t, single)...)
	single[0].Signal(t, syscall.SIGTERM)
	<-single[0].Done()

	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d shards", n), func(t *testing.T) {
			for _, f := range fl.fakes {
				f.ResetStats()
			}
			start := time.Now()
			shards := fl.startShards(t, n)
			results := scrapeUntilFull(t, shards)
			if got := memberSeries(t, results...); !slices.Equal(got, want) {
				t.Errorf("%d shards serve\n%v\nwant what one exporter serves\n%v", n, got, want)
			}
			for a := range fleetApps {
				app := fmt.Sprintf("app%d", a)
				owners := 0
				for i, m := range results {
					v, ok := m.get(t, "tencent_live_app_owned", "app", app)
					if !ok {
						t.Errorf("shard %d says nothing of %s's owner", i, app)
					}
					if v == 1 {
						owners++
						if q, _ := m.get(t, "tencent_live_app_max_qps", "app", app, "command", "get_member_list"); q != fleetMaxQPS {
							t.Errorf("shard %d owns %s at max_qps %g; want its full %d", i, app, q, fleetMaxQPS)
						}
					}
				}
				if owners != 1 {
					t.Errorf("%s owned by %d shards; want exactly 1", app, owners)
				}
			}
			time.Sleep(3 * time.Second) // a sweep interval and some
			elapsed := time.Since(start)
			for a, f := range fl.fakes {
				st := f.Stats()
				sweeps := st.CallsByCommand[tencenttest.CommandGetRoomList]
				if max := int(elapsed/(2*time.Second)) + 2; sweeps > max || sweeps == 0 {
					t.Errorf("app%d: %d get_room_list calls in %s with discovery.interval 2s; want one sweep per interval (at most %d)", a, sweeps, elapsed.Round(time.Second), max)
				}
				if st.RateLimitedByCommand[tencenttest.CommandGetMemberList] != 0 || st.MaxPerSecondByCommand[tencenttest.CommandGetMemberList] > fleetMaxQPS {
					t.Errorf("app%d: %d answers 60007, %d calls in a second; max_qps is %d", a, st.RateLimitedByCommand[tencenttest.CommandGetMemberList], st.MaxPerSecondByCommand[tencenttest.CommandGetMemberList], fleetMaxQPS)
				}
			}
			for _, s := range shards {
				s.Signal(t, syscall.SIGTERM)
				<-s.Done()
			}
		})
	}
}

// A webhook event posted to a shard that does not own its app takes
// effect on the owner within 2 s.
func TestBinaryShardsForwardEvents(t *testing.T) {
	fl := newFleet(t)
	shards := fl.startShards(t, 2)
	scrapeUntilFull(t, shards)
	for a, f := range fl.fakes {
		owner := collector.AppShard(f.sdkAppID, 2)
		other := shards[1-owner]
		id := fmt.Sprintf("live-%d-new", a)
		f.SetRoom(id, tencenttest.Room{MemberCount: 77, ViewCount: 1000})
		body := fmt.Sprintf(`{"Operator_Account":"x","RoomInfo":{"RoomId":"%s","RoomName":"new"}}`, id)
		url := tencenttest.CallbackURL(other.callback, f.sdkAppID, fleetToken, tencenttest.CallbackRoomCreated, time.Now())
		posted := time.Now()
		resp, _, err := fetch(httpClient, "POST", url, nil, strings.NewReader(body))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("app%d: POST to the shard that does not own it: %v %v", a, resp, err)
		}
		waitFor(t, shards[owner].Process, 2*time.Second, fmt.Sprintf("app%d's new room on its owner, shard %d", a, owner), func() bool {
			_, m := shards[owner].scrape(t)
			v, ok := m.get(t, "tencent_live_room_members", "room", id)
			return ok && v == 77
		})
		t.Logf("app%d: event posted to shard %d served by its owner, shard %d, after %s", a, 1-owner, owner, time.Since(posted).Round(time.Millisecond))
		_, m := other.scrape(t)
		if v, _ := m.get(t, "tencent_live_webhook_requests_total", "app", fmt.Sprintf("app%d", a), "result", "forwarded"); v != 1 {
			t.Errorf("app%d: forwarded = %g on shard %d; want 1", a, v, 1-owner)
		}
		if _, ok := m.get(t, "tencent_live_room_members", "room", id); ok {
			t.Errorf("app%d: the shard that does not own it serves its room", a)
		}
	}
}

// Changing the number of shards as the README says (every pod replaced at
// once: the shards overlay's OnDelete strategy, then deleting the pods)
// never has two shards poll one app: from 3 shards to 4, no app's calls go
// over its max_qps and no room is asked twice as often as it should be.
func TestBinaryShardChange(t *testing.T) {
	fl := newFleet(t)
	old := fl.startShards(t, 3)
	scrapeUntilFull(t, old)
	for _, f := range fl.fakes {
		f.ResetStats()
	}
	changed := time.Now()
	for _, s := range old {
		s.Signal(t, syscall.SIGTERM)
	}
	for _, s := range old {
		<-s.Done()
	}
	shards := fl.startShards(t, 4)
	scrapeUntilFull(t, shards)
	gap := time.Since(changed)
	for range 6 {
		for _, s := range shards {
			s.scrape(t)
		}
		time.Sleep(500 * time.Millisecond)
	}
	elapsed := time.Since(changed)
	t.Logf("3 -> 4 shards: every room served again %s after the old shards were stopped", gap.Round(time.Millisecond))
	for a, f := range fl.fakes {
		st := f.Stats()
		if st.RateLimitedByCommand[tencenttest.CommandGetMemberList] != 0 || st.MaxPerSecondByCommand[tencenttest.CommandGetMemberList] > fleetMaxQPS {
			t.Errorf("app%d: %d answers 60007, %d calls in a second during the change; max_qps is %d", a,
				st.RateLimitedByCommand[tencenttest.CommandGetMemberList], st.MaxPerSecondByCommand[tencenttest.CommandGetMemberList], fleetMaxQPS)
		}
		most := 0
		for _, n := range st.CallsByCommandRoom[tencenttest.CommandGetMemberList] {
			most = max(most, n)
		}
		// refresh_interval 1s: one call a second at most, plus the first.
		if limit := int(elapsed.Seconds()) + 2; most > limit {
			t.Errorf("app%d: a room asked %d times in %s; want at most %d (one shard polling it)", a, most, elapsed.Round(time.Second), limit)
		}
		t.Logf("app%d: at most %d calls a second, a room asked at most %d times in %s", a, st.MaxPerSecondByCommand[tencenttest.CommandGetMemberList], most, elapsed.Round(time.Second))
	}
}
