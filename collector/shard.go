package collector

import "strconv"

// AppShard is the shard, of count, that owns the app with sdkAppID: the
// index with the highest random weight for the app (rendezvous hashing),
// so that changing count moves only about 1/count of the apps: those whose
// highest weight is the new index.
func AppShard(sdkAppID uint64, count int) int {
	best, bestWeight := 0, uint64(0)
	for i := range max(count, 1) {
		if w := shardWeight(sdkAppID, i); i == 0 || w > bestWeight {
			best, bestWeight = i, w
		}
	}
	return best
}

// shardWeight is a pseudo-random weight of (app, shard): FNV-1a of both,
// then a SplitMix64 finalizer so that nearby ids spread well.
func shardWeight(sdkAppID uint64, index int) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, b := range strconv.AppendUint(nil, sdkAppID, 10) {
		h = (h ^ uint64(b)) * prime
	}
	h = (h ^ '/') * prime
	for _, b := range strconv.AppendInt(nil, int64(index), 10) {
		h = (h ^ uint64(b)) * prime
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
