package policy

import (
	"math/rand/v2"
	"testing"
)

// TestSetAlgebra checks union, intersect, subtract and overlaps against
// bitmaps over a small universe, and the box difference against points.
func TestSetAlgebra(t *testing.T) {
	const n = 40
	rng := rand.New(rand.NewPCG(3, 4))
	randSet := func() (set, [n]bool) {
		var bm [n]bool
		var s set
		for range rng.IntN(4) {
			lo := rng.IntN(n)
			hi := lo + rng.IntN(n-lo)
			s = union(s, single(u(uint64(lo)), u(uint64(hi))))
			for i := lo; i <= hi; i++ {
				bm[i] = true
			}
		}
		return s, bm
	}
	check := func(name string, s set, want func(i int) bool) {
		t.Helper()
		for i := range n {
			if s.contains(u(uint64(i))) != want(i) {
				t.Fatalf("%s: %d wrong in %v", name, i, s)
			}
		}
		for k := 1; k < len(s); k++ {
			if s[k-1].hi.inc().cmp(s[k].lo) >= 0 {
				t.Fatalf("%s: not normalised: %v", name, s)
			}
		}
	}
	for range 2000 {
		a, am := randSet()
		b, bm := randSet()
		check("union", union(a, b), func(i int) bool { return am[i] || bm[i] })
		check("intersect", intersect(a, b), func(i int) bool { return am[i] && bm[i] })
		check("subtract", subtract(a, b), func(i int) bool { return am[i] && !bm[i] })
		if overlaps(a, b) != !intersect(a, b).empty() {
			t.Fatalf("overlaps(%v, %v) disagrees", a, b)
		}
	}
	top := single(maxU128.dec(), maxU128)
	if got := union(top, single(u128{}, maxU128)); len(got) != 1 || got[0] != (span{u128{}, maxU128}) {
		t.Fatalf("union at the top: %v", got)
	}
	if got := subtract(single(u128{}, maxU128), top); len(got) != 1 || got[0].hi != maxU128.dec().dec() {
		t.Fatalf("subtract at the top: %v", got)
	}
	if u(^uint64(0)).inc() != (u128{1, 0}) || (u128{1, 0}).dec() != u(^uint64(0)) {
		t.Fatal("carry")
	}
}
