package analyze

import (
	"fmt"
	"net/netip"
	"time"
)

// minHostsForRarity: rarity means nothing in a tiny network; below this
// many internal hosts no rare destination is reported.
const minHostsForRarity = 10

type rareDst struct {
	src         netip.Addr // the first internal source
	many        bool       // more than one internal source
	n           int64
	first, last time.Time
}

// rare tracks external destinations and how many internal hosts contact
// them, and the set of internal hosts seen (both capped).
type rare struct {
	max   int
	dsts  *table[netip.Addr, rareDst]
	hosts map[netip.Addr]struct{}
}

func newRare(maxEntries int) *rare {
	// Widely shared destinations are the least significant here.
	w := func(d *rareDst) int64 {
		if d.many {
			return 0
		}
		return 1
	}
	return &rare{max: maxEntries, dsts: newTable[netip.Addr](maxEntries, w), hosts: map[netip.Addr]struct{}{}}
}

func (r *rare) add(src, dst netip.Addr, dstInternal bool, ts time.Time) {
	if len(r.hosts) < r.max {
		r.hosts[src] = struct{}{}
	}
	if dstInternal {
		return
	}
	d, added := r.dsts.getOrAdd(dst)
	if added {
		*d = rareDst{src: src, first: ts, last: ts}
	}
	d.n++
	if src != d.src {
		d.many = true
	}
	if ts.Before(d.first) {
		d.first = ts
	}
	if ts.After(d.last) {
		d.last = ts
	}
}

func (r *rare) internalHosts() int { return len(r.hosts) }

func (r *rare) findings(ctx *scoreCtx) []Finding {
	if len(r.hosts) < minHostsForRarity {
		return nil
	}
	var out []Finding
	r.dsts.each(func(dst netip.Addr, d *rareDst) {
		if d.many {
			return
		}
		name := ctx.names.nameOf(dst)
		if ctx.safe.Dst(dst, name) {
			return
		}
		rarity := 1 - 1/float64(len(r.hosts))
		score := 0.3 * rarity
		sub := []SubScore{{Name: "rarity", Value: rarity, Detail: fmt.Sprintf("1 of %d internal hosts contacts it", len(r.hosts))}}
		out = append(out, Finding{Class: ClassRareDestination, Src: d.src, Dst: dst, Domain: name, Score: score,
			First: d.first.UTC(), Last: d.last.UTC(), Count: d.n, SubScores: sub,
			Explanation: fmt.Sprintf("only %s contacts %s (%d connections). %s", d.src, dst, d.n, explain(sub))})
	})
	return out
}
