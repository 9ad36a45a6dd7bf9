package collector

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// encode writes families as /metrics would, in the given format, and
// fails the test on any error.
func encode(t testing.TB, mfs []*dto.MetricFamily, format expfmt.Format) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatalf("encode %s: %v", mf.GetName(), err)
		}
	}
	return b.Bytes()
}

// serveView gathers a view as /metrics does, encodes it in the text and
// protobuf formats (the latter writes into shared messages' size caches,
// which the race detector watches) and returns the text.
func serveView(t testing.TB, v *View) string {
	t.Helper()
	mfs, done, err := v.Gather()
	defer done()
	if err != nil {
		t.Errorf("Gather: %v", err)
	}
	encode(t, mfs, expfmt.NewFormat(expfmt.TypeProtoDelim))
	return string(encode(t, mfs, expfmt.NewFormat(expfmt.TypeTextPlain)))
}

// TestGatherServesWhatARegistryWould: View.Gather, the path of /metrics,
// serves exactly what a registry makes of the same view through Collect,
// series for series and in the same order, whatever the order of apps,
// rooms and labels; and where the order of the rooms says the families are
// sorted, it knows so without comparing their series.
func TestGatherServesWhatARegistryWould(t *testing.T) {
	// Room ids out of order, names and categories ordering room_info
	// otherwise, a room that has ended, apps configured out of name order.
	rooms := []struct {
		id       string
		name     string
		category int
		exists   bool
	}{
		{"r3", "bravo", 1, true}, {"r1", "charlie", 2, true}, {"ended", "", 0, false}, {"r2", "alpha", 1, true},
	}
	fakes := map[string]*tencenttest.Server{}
	for i, app := range []string{"zeta", "alpha"} {
		srv := tencenttest.NewServer(tencenttest.Options{SDKAppID: uint64(1400000100 + i), Identifier: testIdentifier, SecretKey: testKey})
		t.Cleanup(srv.Close)
		for _, r := range rooms {
			if r.exists {
				srv.SetRoom(r.id, tencenttest.Room{MemberCount: len(r.name) + i, Name: app + " " + r.name, Owner: "owner", Category: []int{r.category}, MaxMemberCount: 100, MaxSeatCount: 4})
			}
		}
		fakes[app] = srv
	}
	cases := []struct {
		name        string
		labels      func(app string, i int) string // a room's labels
		wantOrdered [numLabelSets]bool
	}{
		{"no extra labels", func(string, int) string { return "{}" }, [numLabelSets]bool{true, true, true}},
		{"an extra label after room", func(app string, i int) string { return fmt.Sprintf("{tier: t%d}", i%2) }, [numLabelSets]bool{true, true, true}},
		// "aaa" sorts before "app": families are ordered by it first, so
		// neither app by app nor room by room; Gather must sort them.
		{"an extra label before app", func(app string, i int) string { return fmt.Sprintf("{aaa: v%d}", 9-i) }, [numLabelSets]bool{false, false, true}},
		{"some rooms without it", func(app string, i int) string {
			if i%2 == 0 {
				return "{}"
			}
			return "{aaa: x}"
		}, [numLabelSets]bool{false, false, true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var apps []string
			for i, app := range []string{"zeta", "alpha"} {
				var entries []string
				for j, r := range rooms {
					entries = append(entries, fmt.Sprintf("{id: %s, labels: %s}", r.id, tc.labels(app, j)))
				}
				apps = append(apps, appYAMLWithID(uint64(1400000100+i), app, fakes[app].URL, testKey,
					"refresh_interval: 1h\nroom_info: {interval: 1h}\nroom_stats: {interval: 1h}", entries...))
			}
			e := newExporter(t, Options{}, apps...)
			eventually(t, 10*time.Second, "room_info and room_stats answers for every room", func() bool {
				v := scrape1(t, e)
				return strings.Count(v, "\ntencent_live_room_max_seats{") == 6 && strings.Count(v, "\ntencent_live_room_likes_total{") == 6 &&
					quiet(e) // the two gathers below must see the same counters
			})

			v := e.view()
			if v.ordered != tc.wantOrdered {
				t.Errorf("view knows its label sets ordered %v, want %v", v.ordered, tc.wantOrdered)
			}
			fast, done, err := v.Gather()
			defer done()
			if err != nil {
				t.Fatalf("Gather: %v", err)
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(v)
			slow, err := reg.Gather()
			if err != nil {
				t.Fatalf("registry Gather: %v", err)
			}
			text := expfmt.NewFormat(expfmt.TypeTextPlain)
			got, want := string(encode(t, fast, text)), string(encode(t, slow, text))
			if got != want {
				t.Errorf("Gather and a registry serve different expositions:\n%s", lineDiff(got, want))
			}
			if tc.name == "no extra labels" {
				// A room renamed: room_info's order changes, the room set does not.
				rt := e.order[0]
				rt.mu.Lock()
				r := rt.rooms["r1"]
				rt.applyInfoLocked(r, &tencent.RoomInfo{RoomSummary: tencent.RoomSummary{RoomID: "r1", RoomName: "aardvark", Owner: "owner", Category: []int{0}},
					MaxMemberCount: 100, MaxSeatCount: 4}, time.Now())
				rt.buildRoomMetricsLocked(r)
				rt.mu.Unlock()
				v := e.view()
				for _, a := range v.apps {
					for _, ref := range a.rooms {
						if ref.room == r && !sameLabels(ref.labelSets[infoLabelSet], r.meta.info) {
							t.Error("after a rename, the view holds the room's former room_info labels")
						}
					}
				}
				fast, done, err := v.Gather()
				defer done()
				if err != nil {
					t.Fatalf("Gather: %v", err)
				}
				slow, err := reg.Gather()
				if err != nil {
					t.Fatalf("registry Gather: %v", err)
				}
				if got, want := string(encode(t, fast, text)), string(encode(t, slow, text)); got != want || !strings.Contains(got, `name="aardvark"`) {
					t.Errorf("after a rename, Gather and a registry serve different expositions:\n%s", lineDiff(got, want))
				}
			}
			// Not two empty answers: every family is there, every room in it.
			for family, n := range map[string]int{
				"tencent_live_room_members": 6, "tencent_live_room_exists": 8, "tencent_live_room_info": 6,
				"tencent_live_room_max_seats": 6, "tencent_live_room_likes_total": 6,
			} {
				if c := strings.Count(got, "\n"+family+"{"); c != n {
					t.Errorf("%d series of %s, want %d", c, family, n)
				}
			}
		})
	}
}

// lineDiff shows where two expositions part: the first differing line of
// each and the lines around it.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	i := 0
	for i < len(g) && i < len(w) && g[i] == w[i] {
		i++
	}
	from := max(0, i-2)
	return fmt.Sprintf("Gather, from line %d:\n%s\nregistry:\n%s", from+1,
		strings.Join(g[from:min(len(g), i+3)], "\n"), strings.Join(w[from:min(len(w), i+3)], "\n"))
}

// scrape1 runs one scrape and serves its view.
func scrape1(t testing.TB, e *Exporter) string {
	ctx, cancel := contextWithTimeout(time.Second)
	defer cancel()
	return serveView(t, e.Refresh(ctx))
}

// TestGatherReportsDuplicates: a series served twice, which a registry
// refuses, is served once and reported.
func TestGatherReportsDuplicates(t *testing.T) {
	srv := newFake(t, 0)
	srv.SetRoom("r1", tencenttest.Room{MemberCount: 4})
	e := newExporter(t, Options{}, appYAML("app", srv.URL, testKey, "refresh_interval: 1h", "r1"))
	scrape(t, e, 5*time.Second)
	v := e.view()
	v.apps = append(v.apps, v.apps[0]) // the same app twice: every room series twice
	v.checkOrder()
	if v.ordered[roomLabelSet] {
		t.Fatal("the view's rooms repeat, yet it holds them strictly increasing")
	}
	mfs, done, err := v.Gather()
	defer done()
	if err == nil || !strings.Contains(err.Error(), `series tencent_live_room_members{app="app",room="r1"} collected twice`) {
		t.Errorf("Gather error %v, want the duplicate members series named", err)
	}
	text := string(encode(t, mfs, expfmt.NewFormat(expfmt.TypeTextPlain)))
	if c := strings.Count(text, "\ntencent_live_room_members{"); c != 1 {
		t.Errorf("members series served %d times, want once:\n%s", c, text)
	}
}

// TestGatherReusesItsArena: a scrape reuses the arena of the one before,
// and serves what a registry would however the room set changed in
// between (fewer rooms, more, an order that needs sorting); scrapes that
// overlap never share one.
func TestGatherReusesItsArena(t *testing.T) {
	srv := newFake(t, 0)
	ids := roomIDs("room", 12)
	for i, id := range ids {
		srv.SetRoom(id, tencenttest.Room{MemberCount: i})
	}
	configs := []string{
		appYAML("app", srv.URL, testKey, "refresh_interval: 1h", ids[:8]...),
		appYAML("app", srv.URL, testKey, "refresh_interval: 1h", ids[:3]...),
		appYAML("app", srv.URL, testKey, "refresh_interval: 1h", ids...),
		appYAML("app", srv.URL, testKey, "refresh_interval: 1h", "{id: room-1, labels: {aaa: z}}", "{id: room-2, labels: {aaa: a}}", "room-3"),
	}
	e := newExporter(t, Options{}, configs[0])
	var last *seriesArena
	for i, cfg := range configs {
		if err := e.ApplyConfig(mustDecode(t, cfg)); err != nil {
			t.Fatal(err)
		}
		scrape(t, e, 5*time.Second)
		v := e.view()
		reg := prometheus.NewRegistry()
		reg.MustRegister(v)
		want, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		fast, done, err := v.Gather()
		if err != nil {
			t.Fatal(err)
		}
		text := expfmt.NewFormat(expfmt.TypeTextPlain)
		if got, want := string(encode(t, fast, text)), string(encode(t, want, text)); got != want {
			t.Errorf("configuration %d: Gather and a registry serve different expositions:\n%s", i, lineDiff(got, want))
		}
		done()
		if e.arenas.idle == nil || i > 0 && e.arenas.idle != last {
			t.Errorf("configuration %d: the scrape did not reuse the arena of the one before", i)
		}
		last = e.arenas.idle
	}

	v := e.view()
	first, done1, err1 := v.Gather()
	second, done2, err2 := v.Gather()
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for i := range first {
		if first[i].GetName() == "tencent_live_room_members" && &first[i].Metric[0].Label == &second[i].Metric[0].Label {
			t.Error("two scrapes in flight at once share their arena")
		}
	}
	done1()
	done2()
}

// quiet reports whether no runtime of e has a request in flight or a task
// due within a minute: its series stay as they are for now.
func quiet(e *Exporter) bool {
	soon := time.Now().Add(time.Minute)
	for _, rt := range e.order {
		rt.mu.Lock()
		busy := rt.sched.inFlightN > 0
		for _, q := range rt.sched.queues {
			busy = busy || len(q) > 0 && q[0].due.Before(soon)
		}
		rt.mu.Unlock()
		if busy {
			return false
		}
	}
	return true
}
