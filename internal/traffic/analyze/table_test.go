package analyze

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/traffic"
)

// TestTableKeepsRepeatedKeys: a small table under a stream of one-off
// keys keeps the keys that came back while their first record was held,
// with every count, even when they then come back only rarely.
func TestTableKeepsRepeatedKeys(t *testing.T) {
	type agg struct{ n int64 }
	tb := newTable[uint64](1000, func(a *agg) int64 { return a.n })
	const heavy, stream = 50, 1_000_000
	want := map[uint64]int64{}
	for i := range uint64(stream) {
		k := 1<<40 + i // a one-off key
		// Heavy key h comes back every 400 inserts for the first 2,000,
		// then every 50,000: far more one-off keys than the table holds
		// arrive in between.
		period := uint64(50_000)
		if i < 2000 {
			period = 400
		}
		if h := i % period; h < heavy {
			k = h
			want[k]++
		}
		v, _ := tb.getOrAdd(k)
		v.n++
	}
	if tb.len() != 1000 || tb.evicted == 0 {
		t.Fatalf("len %d, evicted %d", tb.len(), tb.evicted)
	}
	for k, n := range want {
		v := tb.get(k)
		if v == nil {
			t.Errorf("key %d (%d hits) evicted", k, n)
			continue
		}
		if v.n != n {
			t.Errorf("key %d: count %d, want %d", k, v.n, n)
		}
	}
	seen := 0
	tb.each(func(k uint64, v *agg) {
		if tb.get(k) != v {
			t.Fatalf("index of %d does not point at its slot", k)
		}
		seen++
	})
	if seen != tb.len() {
		t.Errorf("each visited %d of %d", seen, tb.len())
	}
}

// churn feeds an Analyzer a record's worth of one-off connections (new
// internal hosts to new external addresses, at the record's time) after
// every connection it reads.
type churn struct {
	*Analyzer
	perRecord int
	i         uint32
}

func (c *churn) Conn(r *traffic.Conn) {
	c.Analyzer.Conn(r)
	x := *r
	for range c.perRecord {
		c.i++
		x.Src = netip.AddrFrom4([4]byte{10, 200, byte(c.i >> 8), byte(c.i)})
		x.Dst = netip.AddrFrom4([4]byte{203, byte(c.i >> 16), byte(c.i >> 8), byte(c.i)})
		x.UID = ""
		c.Analyzer.Conn(&x)
	}
}

// TestBeaconRITAUnderEviction: RITA's sample mixed with twenty one-off
// connections per record, through tables of 64 pairs (every one-off
// connection evicts): the labelled beacon keeps its exact score and
// explanation.
func TestBeaconRITAUnderEviction(t *testing.T) {
	dir := filepath.Join(corpus, "rita-proxy")
	full, _ := analyzeDir(t, dir, Options{})
	a, err := New(Options{MaxPairs: 64})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := traffic.ReadZeekDir(context.Background(), dir, &churn{Analyzer: a, perRecord: 20}); err != nil {
		t.Fatal(err)
	}
	small := a.Findings()
	if a.beacons.pairs.evicted < 1000 {
		t.Fatalf("%d evictions; want heavy churn", a.beacons.pairs.evicted)
	}
	want, got := top(full, ClassBeacon)[0], top(small, ClassBeacon)[0]
	if got.Src != netip.MustParseAddr("10.136.0.18") || got.Domain != "www.honestimnotevil.com" {
		t.Fatalf("top beacon under eviction is %s -> %s", got.Src, got.Domain)
	}
	if got.Score != want.Score || got.Explanation != want.Explanation {
		t.Errorf("under eviction: %.3f %q\nunbounded: %.3f %q", got.Score, got.Explanation, want.Score, want.Explanation)
	}
	t.Logf("%d beacon-table evictions; top beacon %.3f either way", a.beacons.pairs.evicted, got.Score)
}

// BenchmarkTableChurn: inserts into a full table (every insert evicts).
func BenchmarkTableChurn(b *testing.B) {
	type agg struct{ n int64 }
	tb := newTable[hostPair](200_000, func(a *agg) int64 { return a.n })
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		x := splitmix(uint64(i))
		k := hostPair{netip.AddrFrom4([4]byte{10, byte(x), byte(x >> 8), byte(x >> 16)}),
			netip.AddrFrom4([4]byte{198, byte(x >> 24), byte(x >> 32), byte(x >> 40)})}
		v, _ := tb.getOrAdd(k)
		v.n++
	}
}
