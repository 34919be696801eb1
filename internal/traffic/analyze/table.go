package analyze

// evictSamples is how many entries a full table samples to choose the one
// it evicts.
const evictSamples = 8

// table is a bounded map from a key to an aggregate, the store of every
// pair-keyed analysis. Values live inline in one slice and a map indexes
// them, so a full table reuses the evicted entry's slot and never
// rebuilds.
//
// Eviction is sampled least-weight: when a new key arrives and the table
// is full, evictSamples entries are picked by a fixed pseudo-random
// sequence and the lightest (by the table's weight function: connection
// count, distinct destinations, cumulative duration...) is dropped, the
// longest-held one among equal weights. That is O(1) per insert, whatever
// the table's size, and deterministic for a given input order. It
// approximates "drop the globally lightest entry": an entry is evicted
// only when it is the lightest of its sample, so with a share q of
// entries lighter than it, its chance of being dropped at one eviction is
// about (evictSamples/N)·(1-q)^(evictSamples-1), which is negligible once
// it is heavier than the one-off pairs that fill most tables. A pair that
// comes back while its first record is still held (roughly, within the
// next N new pairs) therefore survives any number of one-off pairs after
// that, however long its period: a beacon keeps its whole series through
// a day of churn, which a scheme keyed on recency (LRU, generations) does
// not give. What it loses: a pair whose second record comes only after
// about N other new pairs is dropped before it and starts again from one;
// an entry lighter than most of a table already full of heavy entries is
// dropped soon after it arrives; and the dropped entry is not always the
// very lightest. Weights are read at eviction time, so they must be cheap.
type table[K comparable, V any] struct {
	max     int
	idx     map[K]int32
	slots   []slot[K, V]
	weight  func(*V) int64
	rnd     uint64
	seq     uint64
	evicted int64
}

type slot[K comparable, V any] struct {
	key   K
	stamp uint64 // insertion sequence number: lower is older
	val   V
}

// newTable makes a table holding at most maxEntries entries (at least 1).
func newTable[K comparable, V any](maxEntries int, weight func(*V) int64) *table[K, V] {
	maxEntries = max(1, min(maxEntries, 1<<30))
	return &table[K, V]{max: maxEntries, idx: map[K]int32{}, weight: weight}
}

// get returns the value of k, nil if absent.
func (t *table[K, V]) get(k K) *V {
	if i, ok := t.idx[k]; ok {
		return &t.slots[i].val
	}
	return nil
}

// getOrAdd returns the value of k; added is true when k was absent and
// the returned value is zero, to be initialised by the caller. The pointer
// is valid until the next getOrAdd on the table.
func (t *table[K, V]) getOrAdd(k K) (v *V, added bool) {
	if i, ok := t.idx[k]; ok {
		return &t.slots[i].val, false
	}
	t.seq++
	if len(t.slots) < t.max {
		t.slots = append(t.slots, slot[K, V]{key: k, stamp: t.seq})
		t.idx[k] = int32(len(t.slots) - 1) // #nosec G115 -- max is at most 1<<30
		return &t.slots[len(t.slots)-1].val, true
	}
	i := t.victim()
	delete(t.idx, t.slots[i].key)
	t.slots[i] = slot[K, V]{key: k, stamp: t.seq}
	t.idx[k] = int32(i) // #nosec G115 -- i < max ≤ 1<<30
	t.evicted++
	return &t.slots[i].val, true
}

// victim picks the lightest of evictSamples pseudo-random slots, the
// oldest among equals.
func (t *table[K, V]) victim() int {
	n := uint64(len(t.slots))
	best, bestW := -1, int64(0)
	for range evictSamples {
		t.rnd++
		i := int(splitmix(t.rnd) % n) // #nosec G115 -- < len(slots)
		w := t.weight(&t.slots[i].val)
		if best < 0 || w < bestW || (w == bestW && t.slots[i].stamp < t.slots[best].stamp) {
			best, bestW = i, w
		}
	}
	return best
}

// len is the number of entries.
func (t *table[K, V]) len() int { return len(t.slots) }

// each calls fn for every entry, in slot order.
func (t *table[K, V]) each(fn func(k K, v *V)) {
	for i := range t.slots {
		fn(t.slots[i].key, &t.slots[i].val)
	}
}
