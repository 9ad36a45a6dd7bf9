package collector

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// renderRoom alone: which series a room's state shows.
func TestRenderRoom(t *testing.T) {
	cfg := mustDecode(t, appYAML("app", "http://127.0.0.1:1", testKey, "", "r"))
	d := newRoomDescs(cfg)
	at := time.Unix(1_700_000_000, 0)
	statsOn := [numSources]bool{sourceMembers: true, sourceStats: true}
	tests := []struct {
		name     string
		room     func(r *room)
		sourceOn [numSources]bool
		want     map[string]float64 // family name -> value; absent: no series
	}{
		{"never asked", func(r *room) {}, statsOn, map[string]float64{}},
		{"answered", func(r *room) {
			r.attempted, r.up, r.hasCount, r.members, r.exists, r.lastSuccess = true, true, true, 42, existsYes, at
		}, statsOn, map[string]float64{"members": 42, "up": 1, "exists": 1, "last_success_timestamp_seconds": 1.7e9}},
		{"configured room gone: queried, it does not exist", func(r *room) {
			r.static, r.attempted, r.up, r.exists, r.lastSuccess = true, true, true, existsNo, at
		}, statsOn, map[string]float64{"up": 1, "exists": 0, "last_success_timestamp_seconds": 1.7e9}},
		{"discovered room gone: nothing", func(r *room) {
			r.attempted, r.up, r.exists, r.lastSuccess = true, true, existsNo, at
		}, statsOn, map[string]float64{}},
		{"expired: down, no value, the timestamp stays", func(r *room) {
			r.attempted, r.up, r.exists, r.lastSuccess = true, false, existsYes, at
		}, statsOn, map[string]float64{"up": 0, "exists": 1, "last_success_timestamp_seconds": 1.7e9}},
		{"stats", func(r *room) {
			r.attempted, r.up, r.exists = true, true, existsYes
			r.stats, r.hasStats = &roomStats{values: [numStats]int64{1, 2, 3, 4, 5, 6}}, true
		}, statsOn, map[string]float64{"up": 1, "exists": 1, "viewers_total": 1, "likes_total": 2, "messages_total": 3, "gifts_total": 4, "gift_coins_total": 5, "gift_senders_total": 6}},
		{"stats turned off", func(r *room) {
			r.attempted, r.up, r.exists = true, true, existsYes
			r.stats, r.hasStats = &roomStats{values: [numStats]int64{1, 2, 3, 4, 5, 6}}, true
		}, [numSources]bool{sourceMembers: true}, map[string]float64{"up": 1, "exists": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoom("r", 0)
			r.labels, r.idLabels = d.roomLabels("app", "r", nil), idLabelPairs("app", "r")
			tc.room(r)
			renderRoom(r, d, tc.sourceOn)
			got := map[string]float64{}
			for _, s := range []*roomSnapshot{r.snapshot.Load(), r.metaSnapshot.Load(), r.statsSnapshot.Load()} {
				if s == nil {
					continue
				}
				for _, series := range s.series {
					if series.family != nil {
						got[strings.TrimPrefix(series.family.name, "tencent_live_room_")] = series.value
					}
				}
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("series %v; want %v", sortedKV(got), sortedKV(tc.want))
			}
		})
	}
}

func sortedKV(m map[string]float64) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%g", k, v))
	}
	slices.Sort(out)
	return out
}
