package policy

import (
	"math/bits"
	"slices"
)

// u128 is an unsigned 128-bit value. Every match dimension (addresses, ports,
// protocol, interface names, conntrack state) is mapped into this one domain
// so a single interval-set type serves them all.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

func (a u128) inc() u128 {
	lo, c := bits.Add64(a.lo, 1, 0)
	return u128{a.hi + c, lo}
}

func (a u128) dec() u128 {
	lo, b := bits.Sub64(a.lo, 1, 0)
	return u128{a.hi - b, lo}
}

func u(v uint64) u128 { return u128{0, v} }

var maxU128 = u128{^uint64(0), ^uint64(0)}

// span is the closed interval [lo, hi].
type span struct{ lo, hi u128 }

// set is a sorted list of disjoint, non-adjacent closed intervals.
type set []span

func single(lo, hi u128) set { return set{{lo, hi}} }

func (s set) empty() bool { return len(s) == 0 }

func (s set) contains(x u128) bool {
	lo, hi := 0, len(s)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case s[m].hi.cmp(x) < 0:
			lo = m + 1
		case s[m].lo.cmp(x) > 0:
			hi = m
		default:
			return true
		}
	}
	return false
}

// union returns s ∪ t.
func union(s, t set) set {
	all := make(set, 0, len(s)+len(t))
	all = append(append(all, s...), t...)
	slices.SortFunc(all, func(a, b span) int { return a.lo.cmp(b.lo) })
	out := all[:0]
	for _, iv := range all {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.hi == maxU128 || iv.lo.cmp(last.hi.inc()) <= 0 {
				if iv.hi.cmp(last.hi) > 0 {
					last.hi = iv.hi
				}
				continue
			}
		}
		out = append(out, iv)
	}
	return out
}

// intersect returns s ∩ t.
func intersect(s, t set) set {
	var out set
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		lo, hi := s[i].lo, s[i].hi
		if t[j].lo.cmp(lo) > 0 {
			lo = t[j].lo
		}
		if t[j].hi.cmp(hi) < 0 {
			hi = t[j].hi
		}
		if lo.cmp(hi) <= 0 {
			out = append(out, span{lo, hi})
		}
		if s[i].hi.cmp(t[j].hi) < 0 {
			i++
		} else {
			j++
		}
	}
	return out
}

// overlaps reports whether s ∩ t is non-empty without allocating.
func overlaps(s, t set) bool {
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		if s[i].hi.cmp(t[j].lo) < 0 {
			i++
		} else if t[j].hi.cmp(s[i].lo) < 0 {
			j++
		} else {
			return true
		}
	}
	return false
}

// subtract returns s \ t.
func subtract(s, t set) set {
	var out set
	j := 0
	for _, iv := range s {
		lo := iv.lo
		done := false
		for j < len(t) && t[j].hi.cmp(lo) < 0 {
			j++
		}
		for k := j; k < len(t) && t[k].lo.cmp(iv.hi) <= 0; k++ {
			if t[k].lo.cmp(lo) > 0 {
				out = append(out, span{lo, t[k].lo.dec()})
			}
			if t[k].hi.cmp(iv.hi) >= 0 {
				done = true
				break
			}
			lo = t[k].hi.inc()
		}
		if !done {
			out = append(out, span{lo, iv.hi})
		}
	}
	return out
}

// subsetOf reports whether s ⊆ t.
func (s set) subsetOf(t set) bool { return subtract(s, t).empty() }

// Dimensions of the match space. Ports come first: they are the most
// selective in real rule sets, so box tests fail early.
const (
	dimDport = iota
	dimSrc
	dimDst
	dimProto
	dimSport
	dimIn
	dimOut
	dimState
	nDims
)

// box is a product of per-dimension interval sets: the packets whose every
// coordinate lies in the corresponding set. The intersection of two boxes is a
// box; the difference of two boxes is a union of disjoint boxes.
type box [nDims]set

func (b *box) overlaps(o *box) bool {
	for i := range b {
		if !overlaps(b[i], o[i]) {
			return false
		}
	}
	return true
}

func (b *box) intersect(o *box) (box, bool) {
	var r box
	for i := range b {
		r[i] = intersect(b[i], o[i])
		if r[i].empty() {
			return r, false
		}
	}
	return r, true
}

func (b *box) containsBox(o *box) bool {
	for i := range b {
		if !o[i].subsetOf(b[i]) {
			return false
		}
	}
	return true
}

func (b *box) containsPoint(p *[nDims]u128) bool {
	for i := range b {
		if !b[i].contains(p[i]) {
			return false
		}
	}
	return true
}

// subtract returns b \ o as disjoint boxes: piece i keeps dimensions before i
// inside o, takes dimension i outside o, and leaves the rest unconstrained.
func (b *box) subtract(o *box) []box {
	if !b.overlaps(o) {
		return []box{*b}
	}
	if o.containsBox(b) {
		return nil
	}
	var out []box
	cur := *b
	for i := range cur {
		if d := subtract(cur[i], o[i]); !d.empty() {
			piece := cur
			piece[i] = d
			out = append(out, piece)
		}
		cur[i] = intersect(cur[i], o[i])
	}
	return out
}

// region is a union of pairwise disjoint boxes.
type region []box

func (r region) minus(o *box) region {
	var out region
	for i := range r {
		out = append(out, r[i].subtract(o)...)
	}
	return out
}

func (r region) overlaps(o *box) bool {
	for i := range r {
		if r[i].overlaps(o) {
			return true
		}
	}
	return false
}
