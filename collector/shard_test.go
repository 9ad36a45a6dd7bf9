package collector

import "testing"

// Every app has exactly one owner, apps spread evenly, and going from 3
// to 4 shards moves about a quarter of them, all to the new shard.
func TestAppShardRendezvous(t *testing.T) {
	const apps = 100
	moved, perShard := 0, map[int]int{}
	for a := range apps {
		id := uint64(1400000000 + a)
		before, after := AppShard(id, 3), AppShard(id, 4)
		if before < 0 || before >= 3 || after < 0 || after >= 4 {
			t.Fatalf("app %d: shards %d, %d out of range", id, before, after)
		}
		if before != after {
			moved++
			if after != 3 {
				t.Errorf("app %d moved from shard %d to %d; only the new shard 3 may gain apps", id, before, after)
			}
		}
		perShard[after]++
		if AppShard(id, 1) != 0 || AppShard(id, 0) != 0 {
			t.Errorf("app %d: one shard (or none) must own everything", id)
		}
	}
	t.Logf("3 -> 4 shards: %d of %d apps move; per shard at 4: %v", moved, apps, perShard)
	if moved < 15 || moved > 35 {
		t.Errorf("%d of %d apps moved from 3 to 4 shards; want about 25", moved, apps)
	}
	for s := range 4 {
		if perShard[s] < 15 || perShard[s] > 35 {
			t.Errorf("shard %d owns %d of %d apps; want about 25", s, perShard[s], apps)
		}
	}
}
