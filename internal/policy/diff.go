package policy

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// compiled is the exact decision function of every built-in chain: the
// inlined entry sequence with each entry's eff region (the packets that
// reach it and match it).
type compiled struct {
	rs     *RuleSet
	chains map[string]*compiledChain
	order  []string // built-in chain names in declaration order
}

type compiledChain struct {
	chain *Chain
	seq   []entry // the last entry is the policy
	dm    *decisionMap
	// spaceIdx indexes the entries' match spaces by sequence position.
	spaceIdx *boxIndex
}

// compile inlines every built-in chain and computes each entry's eff region,
// the same computation Analyze makes, kept for the set algebra of the
// diff, require, conflict and proposal engines.
func compile(ctx context.Context, rs *RuleSet, maxEntries int) (*compiled, error) {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	out := &compiled{rs: rs, chains: map[string]*compiledChain{}}
	for _, c := range rs.Chains {
		if !c.Builtin() {
			continue
		}
		f := &flattener{rs: rs, max: maxEntries, stack: []*Chain{c}}
		if err := f.flatten(c, full(rs.Family)); err != nil {
			return nil, err
		}
		f.seq = append(f.seq, entry{chain: c, space: full(rs.Family), action: c.Policy})
		seq := f.seq
		spaces := make([]*box, len(seq))
		for i := range seq {
			spaces[i] = &seq[i].space
		}
		ix := newBoxIndex(spaces)
		if err := computeEff(ctx, seq, len(seq)-1, ix); err != nil {
			return nil, err
		}
		cc := &compiledChain{chain: c, seq: seq, spaceIdx: ix}
		cc.dm = newDecisionMap(rs.Family, seq)
		out.chains[c.Name] = cc
		out.order = append(out.order, c.Name)
	}
	return out, nil
}

// computeEff sets eff for seq[:n] (the policy entry is left alone: its
// region is the complement of the others and never materialised). ix
// indexes the entries' spaces; only earlier entries whose space overlaps
// an entry's can take packets from it, and they are taken in order.
func computeEff(ctx context.Context, seq []entry, n int, ix *boxIndex) error {
	for k := range seq[:n] {
		if k%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e := &seq[k]
		eff := region{e.space}
		for _, j := range ix.overlapping(&e.space) {
			if j >= k || len(eff) == 0 {
				break
			}
			d := &seq[j]
			removes := d.action.terminal() || (d.action == Return && k < d.scopeEnd)
			if !removes || len(d.eff) == 0 || !eff.overlaps(&d.space) {
				continue
			}
			for bi := range d.eff {
				if eff.overlaps(&d.eff[bi]) {
					eff = eff.minus(&d.eff[bi])
				}
			}
		}
		if len(eff) > maxFragments {
			return fmt.Errorf("%w: match space of line %d splits into more than %d parts", ErrTooLarge, e.line(), maxFragments)
		}
		e.eff = eff
	}
	return nil
}

// part is one box of a chain's decision function: every packet in it is
// decided by entry with action.
type part struct {
	b      box
	action Action
	entry  *entry
	pos    int // the entry's index in its sequence
}

// decisionMap is a chain's decision function as disjoint boxes, one set per
// terminal entry; packets outside every box get the policy.
type decisionMap struct {
	fam    Family
	parts  []part
	policy Action
	pol    *entry
	idx    *boxIndex
}

func newDecisionMap(fam Family, seq []entry) *decisionMap {
	dm := &decisionMap{fam: fam, pol: &seq[len(seq)-1]}
	dm.policy = dm.pol.action
	for k := range seq[:len(seq)-1] {
		e := &seq[k]
		if !e.action.terminal() {
			continue
		}
		for _, b := range e.eff {
			dm.parts = append(dm.parts, part{b: b, action: e.action, entry: e, pos: k})
		}
	}
	boxes := make([]*box, len(dm.parts))
	for i := range dm.parts {
		boxes[i] = &dm.parts[i].b
	}
	dm.idx = newBoxIndex(boxes)
	return dm
}

// where returns the packets of b whose decision satisfies want, as disjoint
// boxes.
func (dm *decisionMap) where(b *box, want func(Action) bool) (region, error) {
	cands := dm.idx.overlapping(b)
	if want(dm.policy) {
		r := region{*b}
		for _, i := range cands {
			p := &dm.parts[i]
			if want(p.action) || !r.overlaps(&p.b) {
				continue
			}
			r = r.minus(&p.b)
			if len(r) > maxFragments {
				return nil, fmt.Errorf("%w: region splits into more than %d parts", ErrTooLarge, maxFragments)
			}
		}
		return r, nil
	}
	var r region
	for _, i := range cands {
		p := &dm.parts[i]
		if !want(p.action) {
			continue
		}
		if x, ok := b.intersect(&p.b); ok {
			r = append(r, x)
		}
	}
	return r, nil
}

// policyPart returns the packets of b decided by the policy.
func (dm *decisionMap) policyPart(b *box) (region, error) {
	r := region{*b}
	for _, i := range dm.idx.overlapping(b) {
		if !r.overlaps(&dm.parts[i].b) {
			continue
		}
		r = r.minus(&dm.parts[i].b)
		if len(r) > maxFragments {
			return nil, fmt.Errorf("%w: region splits into more than %d parts", ErrTooLarge, maxFragments)
		}
	}
	return r, nil
}

// boxIndex finds the boxes that may overlap a query box: boxes are sorted
// by the low end of one dimension, in blocks that record their highest end,
// so a query skips blocks that end before it and stops at boxes that start
// after it.
type boxIndex struct {
	dim    int
	boxes  []*box
	ids    []int
	lo, hi []u128
	blkMax []u128
}

const indexBlock = 32

func newBoxIndex(boxes []*box) *boxIndex {
	ix := &boxIndex{dim: pickDim(boxes)}
	n := len(boxes)
	ix.ids = make([]int, n)
	for i := range ix.ids {
		ix.ids[i] = i
	}
	d := ix.dim
	slices.SortFunc(ix.ids, func(a, b int) int { return boxes[a][d][0].lo.cmp(boxes[b][d][0].lo) })
	ix.boxes = boxes
	ix.lo = make([]u128, n)
	ix.hi = make([]u128, n)
	for k, i := range ix.ids {
		s := boxes[i][d]
		ix.lo[k], ix.hi[k] = s[0].lo, s[len(s)-1].hi
		if k%indexBlock == 0 {
			ix.blkMax = append(ix.blkMax, ix.hi[k])
		} else if last := &ix.blkMax[len(ix.blkMax)-1]; ix.hi[k].cmp(*last) > 0 {
			*last = ix.hi[k]
		}
	}
	return ix
}

// pickDim chooses the address or port dimension whose boxes are narrowest
// on average, the one that separates them best.
func pickDim(boxes []*box) int {
	best, bestW := dimSrc, math.Inf(1)
	for _, d := range []int{dimSrc, dimDst, dimDport} {
		var w float64
		for _, b := range boxes {
			s := b[d]
			w += approxWidth(s[0].lo, s[len(s)-1].hi, d)
		}
		if w < bestW {
			best, bestW = d, w
		}
	}
	return best
}

func approxWidth(lo, hi u128, d int) float64 {
	f := func(x u128) float64 { return float64(x.hi)*0x1p64 + float64(x.lo) }
	w := f(hi) - f(lo) + 1
	if d == dimDport {
		return w / 65536
	}
	if hi.hi == 0 && lo.hi == 0 {
		return w / 0x1p32
	}
	return w / 0x1p128
}

func (ix *boxIndex) overlapping(q *box) []int {
	s := q[ix.dim]
	if len(s) == 0 {
		return nil
	}
	qlo, qhi := s[0].lo, s[len(s)-1].hi
	end, _ := slices.BinarySearchFunc(ix.lo, qhi, func(a, t u128) int {
		if a.cmp(t) <= 0 {
			return -1
		}
		return 1
	})
	var out []int
	for k := 0; k < end; k++ {
		if k%indexBlock == 0 && ix.blkMax[k/indexBlock].cmp(qlo) < 0 {
			k += indexBlock - 1
			continue
		}
		if ix.hi[k].cmp(qlo) < 0 {
			continue
		}
		i := ix.ids[k]
		if ix.boxes[i].overlaps(q) {
			out = append(out, i)
		}
	}
	slices.Sort(out) // sequence order, so results are deterministic
	return out
}

// DiffOptions configures Diff.
type DiffOptions struct {
	// Limit bounds the boxes reported per chain; 0 means DefaultDiffLimit.
	// The comparison itself is always complete.
	Limit      int
	MaxEntries int
}

// DefaultDiffLimit is the number of difference boxes reported per chain.
const DefaultDiffLimit = 50

// Change is one box of packets whose decision differs between two rule
// sets, with the rules that decide them before and after.
type Change struct {
	Chain  string  `json:"chain"`
	Effect string  `json:"effect"` // allowed (blocked before), blocked (allowed before), changed (drop/reject)
	Before string  `json:"before"` // the action before
	After  string  `json:"after"`
	Flows  Region  `json:"flows"`
	Lines  [2]int  `json:"lines"`   // deciding line before and after (the policy line when a policy decides)
	Count  float64 `json:"packets"` // number of distinct packet headers in the box (approximate above 2^53)

	b box
}

// ChainDiff is the difference between the two versions of one chain.
type ChainDiff struct {
	Chain   string   `json:"chain"`
	Changes []Change `json:"changes,omitempty"`
	More    bool     `json:"more,omitempty"` // more boxes differ than Limit
	// Missing is "before" or "after" when the chain exists on one side
	// only; it is then not compared.
	Missing string `json:"missing,omitempty"`
}

// DiffResult answers "which flows does this change allow or block?".
type DiffResult struct {
	Chains []ChainDiff `json:"chains,omitempty"`
	// Equivalent is true when every built-in chain exists on both sides
	// and no packet of the match space is decided differently.
	Equivalent bool `json:"equivalent"`
}

// Diff compares the decision functions of the built-in chains of a and b
// (same family, chains matched by name) exactly: a packet is reported when
// the action that decides it differs. An empty result proves the two rule
// sets equivalent for every packet of the match space.
func Diff(ctx context.Context, a, b *RuleSet, opts DiffOptions) (*DiffResult, error) {
	if a.Family != b.Family {
		return nil, fmt.Errorf("policy: diff of IPv%d and IPv%d rule sets", a.Family, b.Family)
	}
	ca, err := compile(ctx, a, opts.MaxEntries)
	if err != nil {
		return nil, err
	}
	cb, err := compile(ctx, b, opts.MaxEntries)
	if err != nil {
		return nil, err
	}
	return diffCompiled(ctx, ca, cb, opts)
}

func diffCompiled(ctx context.Context, ca, cb *compiled, opts DiffOptions) (*DiffResult, error) {
	limit := opts.Limit
	if limit <= 0 {
		limit = DefaultDiffLimit
	}
	res := &DiffResult{Equivalent: true}
	names := slices.Clone(ca.order)
	for _, n := range cb.order {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, name := range names {
		x, y := ca.chains[name], cb.chains[name]
		switch {
		case y == nil:
			res.Chains = append(res.Chains, ChainDiff{Chain: name, Missing: "after"})
			res.Equivalent = false
			continue
		case x == nil:
			res.Chains = append(res.Chains, ChainDiff{Chain: name, Missing: "before"})
			res.Equivalent = false
			continue
		}
		cd, err := diffChain(ctx, ca.rs.Family, x.dm, y.dm, limit)
		if err != nil {
			return nil, fmt.Errorf("chain %s: %w", name, err)
		}
		cd.Chain = name
		for i := range cd.Changes {
			cd.Changes[i].Chain = name
		}
		if len(cd.Changes) > 0 {
			res.Equivalent = false
			res.Chains = append(res.Chains, cd)
		}
	}
	return res, nil
}

// diffChain computes {packets: f1 ≠ f2} as three disjoint parts: boxes a
// rule of the first set decides, boxes a rule of the second set decides
// where the first set's policy applies, and where both policies apply.
func diffChain(ctx context.Context, fam Family, m1, m2 *decisionMap, limit int) (ChainDiff, error) {
	var cd ChainDiff
	add := func(r region, before, after *entry) bool {
		for _, b := range r {
			if len(cd.Changes) >= limit {
				cd.More = true
				return false
			}
			cd.Changes = append(cd.Changes, newChange(fam, b, before, after))
		}
		return true
	}
	// split refines r by the decision of m, reporting each piece whose
	// action differs from a.
	split := func(r region, m *decisionMap, a Action) []struct {
		b box
		e *entry
	} {
		var out []struct {
			b box
			e *entry
		}
		for _, b := range r {
			for _, i := range m.idx.overlapping(&b) {
				p := &m.parts[i]
				if p.action == a {
					continue
				}
				if x, ok := b.intersect(&p.b); ok {
					out = append(out, struct {
						b box
						e *entry
					}{x, p.entry})
				}
			}
		}
		return out
	}
	for i := range m1.parts {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return cd, err
			}
		}
		p := &m1.parts[i]
		for _, x := range split(region{p.b}, m2, p.action) {
			if !add(region{x.b}, p.entry, x.e) {
				return cd, nil
			}
		}
		if m2.policy != p.action {
			r, err := m2.policyPart(&p.b)
			if err != nil {
				return cd, err
			}
			if !add(r, p.entry, m2.pol) {
				return cd, nil
			}
		}
	}
	for i := range m2.parts {
		p := &m2.parts[i]
		if p.action == m1.policy {
			continue
		}
		r, err := m1.policyPart(&p.b)
		if err != nil {
			return cd, err
		}
		if !add(r, m1.pol, p.entry) {
			return cd, nil
		}
	}
	if m1.policy != m2.policy {
		r := region{full(fam)}
		for _, m := range []*decisionMap{m1, m2} {
			for i := range m.parts {
				if !r.overlaps(&m.parts[i].b) {
					continue
				}
				r = r.minus(&m.parts[i].b)
				if len(r) > maxFragments {
					return cd, fmt.Errorf("%w: policy difference splits into more than %d parts", ErrTooLarge, maxFragments)
				}
			}
		}
		add(r, m1.pol, m2.pol)
	}
	return cd, nil
}

func newChange(fam Family, b box, before, after *entry) Change {
	c := Change{Before: string(before.action), After: string(after.action), Flows: renderBox(fam, &b),
		Lines: [2]int{before.line(), after.line()}, Count: boxSize(&b), b: b}
	switch {
	case after.action == Accept:
		c.Effect = "allowed"
	case before.action == Accept:
		c.Effect = "blocked"
	default:
		c.Effect = "changed"
	}
	return c
}

// boxSize counts the packet headers in b (a float: exact up to 2^53).
func boxSize(b *box) float64 {
	n := 1.0
	for d := range b {
		if d == dimIn || d == dimOut {
			continue // interface names are not counted: every name counts once
		}
		var s float64
		for _, sp := range b[d] {
			w := new(big.Int).Sub(toBig(sp.hi), toBig(sp.lo))
			w.Add(w, big.NewInt(1))
			f, _ := new(big.Float).SetInt(w).Float64()
			s += f
		}
		n *= s
	}
	return n
}

func toBig(x u128) *big.Int {
	v := new(big.Int).SetUint64(x.hi)
	v.Lsh(v, 64)
	return v.Or(v, new(big.Int).SetUint64(x.lo))
}

// Region is a box rendered for people: each field lists what the dimension
// holds, and is omitted when the dimension is unconstrained ("any").
type Region struct {
	Proto   []string `json:"proto,omitempty"`
	Src     []string `json:"src,omitempty"`
	Dst     []string `json:"dst,omitempty"`
	SrcPort []string `json:"sport,omitempty"`
	DstPort []string `json:"dport,omitempty"`
	In      []string `json:"in,omitempty"`
	Out     []string `json:"out,omitempty"`
	State   []string `json:"state,omitempty"`
}

// String renders the region on one line.
func (r Region) String() string {
	var parts []string
	f := func(name string, v []string) {
		if len(v) > 0 {
			parts = append(parts, name+" "+strings.Join(v, ","))
		}
	}
	f("proto", r.Proto)
	f("from", r.Src)
	f("to", r.Dst)
	f("sport", r.SrcPort)
	f("dport", r.DstPort)
	f("in", r.In)
	f("out", r.Out)
	f("state", r.State)
	if len(parts) == 0 {
		return "any packet"
	}
	return strings.Join(parts, " ")
}

// maxRendered bounds the items rendered per dimension.
const maxRendered = 16

// spanCount is how many items rendering s takes.
func spanCount(fam Family, d int, s set) int {
	if d != dimSrc && d != dimDst {
		return len(s)
	}
	n := 0
	for _, sp := range s {
		n += len(spanCIDRs(fam, sp))
	}
	return n
}

// countText prints a packet count: exact when small, else in e-notation.
func countText(n float64) string {
	if n < 1e9 {
		return strconv.FormatFloat(n, 'f', 0, 64)
	}
	return strconv.FormatFloat(n, 'g', 3, 64)
}

func renderBox(fam Family, b *box) Region {
	all := full(fam)
	var r Region
	each := func(d int, f func(span) []string) []string {
		if all[d].subsetOf(b[d]) {
			return nil
		}
		s, neg := b[d], ""
		// "everything but x" reads better than the pieces around x.
		if c := subtract(all[d], s); len(c) < len(s) || (len(c) == len(s) && d != dimState && spanCount(fam, d, c) < spanCount(fam, d, s)) {
			s, neg = c, "!"
		}
		var out []string
		for _, sp := range s {
			for _, t := range f(sp) {
				out = append(out, neg+t)
			}
			if len(out) > maxRendered {
				return append(out[:maxRendered], "…")
			}
		}
		return out
	}
	r.Proto = each(dimProto, func(s span) []string {
		if s.lo == s.hi {
			return []string{protoName(uint8(s.lo.lo))} // #nosec G115 -- the protocol dimension is 0..255
		}
		return []string{fmt.Sprintf("%d-%d", s.lo.lo, s.hi.lo)}
	})
	addr := func(s span) []string { return spanCIDRs(fam, s) }
	r.Src = each(dimSrc, addr)
	r.Dst = each(dimDst, addr)
	port := func(s span) []string {
		if s.lo == s.hi {
			return []string{strconv.FormatUint(s.lo.lo, 10)}
		}
		return []string{fmt.Sprintf("%d-%d", s.lo.lo, s.hi.lo)}
	}
	r.SrcPort = each(dimSport, port)
	r.DstPort = each(dimDport, port)
	iface := func(s span) []string { return []string{ifaceSpanText(s)} }
	r.In = each(dimIn, iface)
	r.Out = each(dimOut, iface)
	r.State = each(dimState, func(s span) []string {
		var out []string
		for v := s.lo.lo; v <= s.hi.lo; v++ {
			out = append(out, ConnState(v).String()) // #nosec G115 -- the state dimension is 0..nStates-1
		}
		return out
	})
	return r
}

var protoNames = map[uint8]string{1: "icmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 51: "ah", 58: "icmpv6", 132: "sctp"}

func protoName(n uint8) string {
	if s, ok := protoNames[n]; ok {
		return s
	}
	return strconv.Itoa(int(n))
}

func u128Addr(fam Family, x u128) netip.Addr {
	if fam == IPv4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(x.lo)) // #nosec G115 -- IPv4 coordinates are below 2^32
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], x.hi)
	binary.BigEndian.PutUint64(b[8:], x.lo)
	return netip.AddrFrom16(b)
}

// spanCIDRs renders an address interval as its minimal CIDR cover, or as a
// range when that takes more than four prefixes.
func spanCIDRs(fam Family, s span) []string {
	width := 32
	if fam == IPv6 {
		width = 128
	}
	var out []string
	lo := s.lo
	for len(out) <= 4 {
		// The largest aligned block at lo that fits in [lo, hi].
		bits := 0
		for bits < width {
			p := netip.PrefixFrom(u128Addr(fam, lo), width-bits-1)
			sp := prefixSpan(p)
			if sp.lo != lo || sp.hi.cmp(s.hi) > 0 {
				break
			}
			bits++
		}
		p := netip.PrefixFrom(u128Addr(fam, lo), width-bits)
		if bits == 0 {
			out = append(out, p.Addr().String())
		} else {
			out = append(out, p.String())
		}
		end := prefixSpan(p).hi
		if end == s.hi {
			return out
		}
		lo = end.inc()
	}
	return []string{u128Addr(fam, s.lo).String() + "-" + u128Addr(fam, s.hi).String()}
}

func ifaceBytes(x u128) [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], x.hi)
	binary.BigEndian.PutUint64(b[8:], x.lo)
	return b
}

// ifaceName decodes a point of the interface dimension; ok is false when
// the point is not the key of a real name.
func ifaceName(x u128) (string, bool) {
	b := ifaceBytes(x)
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	for _, c := range b[n:] {
		if c != 0 {
			return "", false
		}
	}
	if n > maxIfaceLen {
		return "", false
	}
	return string(b[:n]), true
}

func ifaceSpanText(s span) string {
	if s.lo == s.hi {
		if n, ok := ifaceName(s.lo); ok {
			if n == "" {
				return `""`
			}
			return n
		}
	}
	lb, hb := ifaceBytes(s.lo), ifaceBytes(s.hi)
	// A prefix wildcard: lo is the prefix padded with 0, hi with 0xff.
	n := 0
	for n < 16 && lb[n] == hb[n] && lb[n] != 0 {
		n++
	}
	wild := true
	for i := n; i < 16; i++ {
		if lb[i] != 0 || hb[i] != 0xff {
			wild = false
		}
	}
	if wild {
		return string(lb[:n]) + "+"
	}
	return strconv.Quote(strings.TrimRight(string(lb[:]), "\x00")) + ".." + strconv.Quote(strings.TrimRight(string(hb[:]), "\x00"))
}

// Example is one concrete packet, rendered for people, and what a chain
// does with it.
type Example struct {
	Proto    string    `json:"proto"`
	Src      string    `json:"src"`
	Dst      string    `json:"dst"`
	SrcPort  uint16    `json:"sport"`
	DstPort  uint16    `json:"dport"`
	In       string    `json:"in,omitempty"`
	Out      string    `json:"out,omitempty"`
	State    string    `json:"state"`
	Decision *Decision `json:"decision,omitempty"`

	flow Flow
}

// exampleFlow picks one packet of b whose interface coordinates are real
// names when b holds any, so the flow can be replayed with Decide.
func exampleFlow(fam Family, b *box) Flow {
	// Coordinates never exceed their dimension's range in full(fam).
	return Flow{
		Proto:   uint8(b[dimProto][0].lo.lo), // #nosec G115 -- 0..255
		Src:     u128Addr(fam, b[dimSrc][0].lo),
		Dst:     u128Addr(fam, b[dimDst][0].lo),
		SrcPort: uint16(b[dimSport][0].lo.lo), // #nosec G115 -- 0..65535
		DstPort: uint16(b[dimDport][0].lo.lo), // #nosec G115 -- 0..65535
		In:      pickIface(b[dimIn]),
		Out:     pickIface(b[dimOut]),
		State:   ConnState(b[dimState][0].lo.lo), // #nosec G115 -- 0..nStates-1
	}
}

// pickIface returns a name whose key lies in s: the low end of a span when
// it decodes to a name, else the smallest name above it.
func pickIface(s set) string {
	for _, sp := range s {
		if n, ok := ifaceName(sp.lo); ok {
			return n
		}
		b := ifaceBytes(sp.lo)
		n := 0
		for n < 16 && b[n] != 0 {
			n++
		}
		if n < maxIfaceLen {
			// prefix, then byte 1: the smallest key above lo with that prefix.
			name := string(b[:n]) + "\x01"
			if s.contains(ifaceKey(name, 0)) {
				return name
			}
		}
	}
	for _, name := range []string{"eth0", "eth1", "lo", "x"} {
		if s.contains(ifaceKey(name, 0)) {
			return name
		}
	}
	n, _ := ifaceName(s[0].lo)
	return n
}

func newExample(rs *RuleSet, chain string, f Flow) *Example {
	ex := &Example{Proto: protoName(f.Proto), Src: f.Src.String(), Dst: f.Dst.String(), SrcPort: f.SrcPort,
		DstPort: f.DstPort, In: rs.IfaceName(f.In), Out: rs.IfaceName(f.Out), State: f.State.String(), flow: f}
	if d, err := rs.Decide(chain, f); err == nil {
		ex.Decision = &d
	}
	return ex
}
