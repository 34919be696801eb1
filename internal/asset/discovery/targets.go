// Package discovery owns Vigil's active asset discovery engine: parsing
// targets and port specs, keeping every scan inside a declared scope, TCP
// connect and SYN scanning and host discovery (ICMP echo, TCP ping) under a
// rate limit, and light service fingerprinting of the open ports it finds.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
)

// DefaultMaxAddrs is the default cap on the number of addresses one target
// list may expand to.
const DefaultMaxAddrs = 1 << 20

// Limits on the shape of target input.
const (
	maxSpecs    = 4096
	maxSpecLen  = 255
	maxResolved = 64
)

// ErrOutOfScope is returned when a target falls outside the allowed scope.
var ErrOutOfScope = errors.New("target outside the allowed scope")

// Resolver looks up the addresses of a host name. *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Range is an inclusive range of addresses of one family.
type Range struct {
	First, Last netip.Addr
}

func (r Range) String() string {
	if r.First == r.Last {
		return r.First.String()
	}
	return r.First.String() + "-" + r.Last.String()
}

// size returns the number of addresses in r, and false when it does not
// fit in a uint64.
func (r Range) size() (uint64, bool) {
	a, b := r.First.As16(), r.Last.As16()
	ahi, alo := be64(a[:8]), be64(a[8:])
	bhi, blo := be64(b[:8]), be64(b[8:])
	lo, borrow := bits.Sub64(blo, alo, 0)
	hi, _ := bits.Sub64(bhi, ahi, borrow)
	if hi != 0 || lo == ^uint64(0) {
		return 0, false
	}
	return lo + 1, true
}

func be64(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// Scope is the set of prefixes a scan may touch. The zero Scope allows
// nothing.
type Scope struct {
	prefixes []netip.Prefix
}

// NewScope builds a scope from prefixes.
func NewScope(prefixes ...netip.Prefix) Scope {
	s := Scope{}
	for _, p := range prefixes {
		if p.IsValid() {
			s.prefixes = append(s.prefixes, p.Masked())
		}
	}
	return s
}

// LoopbackPrefixes are the IPv4 and IPv6 loopback networks.
func LoopbackPrefixes() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// ParseScope parses CIDR prefixes or single addresses.
func ParseScope(specs []string) (Scope, error) {
	var ps []netip.Prefix
	for _, s := range specs {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return Scope{}, fmt.Errorf("scope %q: %w", s, err)
			}
			ps = append(ps, p)
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return Scope{}, fmt.Errorf("scope %q: not a CIDR prefix or address", s)
		}
		a = a.Unmap()
		ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
	}
	return NewScope(ps...), nil
}

// Add returns a scope that also allows prefixes.
func (s Scope) Add(prefixes ...netip.Prefix) Scope {
	return NewScope(append(slices.Clone(s.prefixes), prefixes...)...)
}

// Prefixes returns a copy of the scope's prefixes.
func (s Scope) Prefixes() []netip.Prefix { return slices.Clone(s.prefixes) }

func (s Scope) String() string {
	if len(s.prefixes) == 0 {
		return "[] (nothing allowed)"
	}
	parts := make([]string, len(s.prefixes))
	for i, p := range s.prefixes {
		parts[i] = p.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// ContainsAddr reports whether a lies in the scope.
func (s Scope) ContainsAddr(a netip.Addr) bool {
	return s.Contains(Range{a, a})
}

// Contains reports whether every address of r lies in the scope.
func (s Scope) Contains(r Range) bool {
	if !r.First.IsValid() || !r.Last.IsValid() || r.Last.Less(r.First) {
		return false
	}
	cur := r.First
	for {
		var best netip.Addr
		for _, p := range s.prefixes {
			if p.Contains(cur) {
				if l := lastOf(p); !best.IsValid() || best.Less(l) {
					best = l
				}
			}
		}
		if !best.IsValid() {
			return false
		}
		if !best.Less(r.Last) {
			return true
		}
		cur = best.Next()
	}
}

// lastOf returns the last address of a masked prefix.
func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	off := 0
	if p.Addr().Is4() {
		off = 96
	}
	for i := off + p.Bits(); i < 128; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}

// TargetOptions controls ParseTargets.
type TargetOptions struct {
	// Scope every expanded address must lie in. Required: the zero Scope
	// refuses every target.
	Scope Scope
	// Exclude lists addresses, prefixes, ranges or host names removed from
	// the targets.
	Exclude []string
	// MaxAddrs caps the number of addresses after exclusion
	// (DefaultMaxAddrs when 0).
	MaxAddrs uint64
	// Resolver resolves host names; nil refuses host names.
	Resolver Resolver
}

// Targets is a parsed, scope-checked, deduplicated list of addresses.
type Targets struct {
	ranges []Range
	n      uint64
}

// Len returns the number of addresses.
func (t *Targets) Len() uint64 { return t.n }

// Ranges returns the sorted, disjoint ranges of the targets.
func (t *Targets) Ranges() []Range { return slices.Clone(t.ranges) }

// All yields every address in order.
func (t *Targets) All() iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		for _, r := range t.ranges {
			for a := r.First; a.IsValid(); a = a.Next() {
				if !yield(a) {
					return
				}
				if a == r.Last {
					break
				}
			}
		}
	}
}

// ParseTargets parses target specs: an address ("192.0.2.1", "2001:db8::1"),
// a CIDR prefix ("192.0.2.0/24"), a range ("192.0.2.1-20" or
// "192.0.2.1-192.0.2.20", "2001:db8::1-2001:db8::ff") or a host name resolved
// with opts.Resolver. Specs may also be comma-separated. Every address left
// after exclusion must lie in opts.Scope, or ParseTargets fails with an error
// wrapping ErrOutOfScope.
func ParseTargets(ctx context.Context, specs []string, opts TargetOptions) (*Targets, error) {
	limit := opts.MaxAddrs
	if limit == 0 {
		limit = DefaultMaxAddrs
	}
	specs = splitSpecs(specs)
	if len(specs) == 0 {
		return nil, errors.New("no targets")
	}
	excl := splitSpecs(opts.Exclude)
	if len(specs) > maxSpecs || len(excl) > maxSpecs {
		return nil, fmt.Errorf("too many target specs (at most %d)", maxSpecs)
	}
	var ex []Range
	for _, s := range excl {
		rs, err := parseSpec(ctx, s, opts.Resolver)
		if err != nil {
			return nil, fmt.Errorf("exclude: %w", err)
		}
		ex = append(ex, rs...)
	}
	ex = merge(ex)

	var all []Range
	for _, s := range specs {
		rs, err := parseSpec(ctx, s, opts.Resolver)
		if err != nil {
			return nil, err
		}
		rs = subtract(merge(rs), ex)
		for _, r := range rs {
			if !opts.Scope.Contains(r) {
				return nil, fmt.Errorf("target %q (%s) is not inside scope %s: %w", s, r, opts.Scope, ErrOutOfScope)
			}
			if n, ok := r.size(); !ok || n > limit {
				return nil, fmt.Errorf("target %q expands to more than %d addresses", s, limit)
			}
		}
		all = append(all, rs...)
	}
	t := &Targets{ranges: merge(all)}
	for _, r := range t.ranges {
		n, _ := r.size()
		t.n += n
		if t.n > limit {
			return nil, fmt.Errorf("targets expand to more than %d addresses", limit)
		}
	}
	if t.n == 0 {
		return nil, errors.New("no targets left after exclusion")
	}
	return t, nil
}

func splitSpecs(in []string) []string {
	var out []string
	for _, s := range in {
		out = append(out, strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })...)
	}
	return out
}

// parseSpec expands one spec into ranges.
func parseSpec(ctx context.Context, s string, res Resolver) ([]Range, error) {
	if len(s) > maxSpecLen {
		return nil, fmt.Errorf("target %.40q...: too long", s)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("target %q: invalid CIDR: %w", s, err)
		}
		if p.Addr().Is4In6() {
			return nil, fmt.Errorf("target %q: IPv4-mapped prefixes are not supported", s)
		}
		p = p.Masked()
		return []Range{{p.Addr(), lastOf(p)}}, nil
	}
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		return parseRange(s, lo, hi)
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return nil, fmt.Errorf("target %q: zoned addresses are not supported", s)
		}
		a = a.Unmap()
		return []Range{{a, a}}, nil
	}
	if !validHostname(s) {
		return nil, fmt.Errorf("target %q: not an address, CIDR, range or host name", s)
	}
	if res == nil {
		return nil, fmt.Errorf("target %q: host names need a resolver", s)
	}
	addrs, err := res.LookupNetIP(ctx, "ip", s)
	if err != nil {
		return nil, fmt.Errorf("target %q: resolve: %w", s, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("target %q: no addresses", s)
	}
	if len(addrs) > maxResolved {
		addrs = addrs[:maxResolved]
	}
	out := make([]Range, 0, len(addrs))
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		if !a.IsValid() {
			continue
		}
		out = append(out, Range{a, a})
	}
	return out, nil
}

// parseRange parses "a.b.c.d-e" and "first-last".
func parseRange(s, lo, hi string) ([]Range, error) {
	first, err := netip.ParseAddr(lo)
	if err != nil || first.Zone() != "" {
		return nil, fmt.Errorf("target %q: invalid range start", s)
	}
	first = first.Unmap()
	var last netip.Addr
	if first.Is4() && !strings.ContainsAny(hi, ".:") {
		var n int
		if len(hi) == 0 || len(hi) > 3 {
			return nil, fmt.Errorf("target %q: invalid range end", s)
		}
		for _, c := range hi {
			if c < '0' || c > '9' {
				return nil, fmt.Errorf("target %q: invalid range end", s)
			}
			n = n*10 + int(c-'0')
		}
		if n > 255 {
			return nil, fmt.Errorf("target %q: range end %d > 255", s, n)
		}
		b := first.As4()
		b[3] = byte(n)
		last = netip.AddrFrom4(b)
	} else {
		last, err = netip.ParseAddr(hi)
		if err != nil || last.Zone() != "" {
			return nil, fmt.Errorf("target %q: invalid range end", s)
		}
		last = last.Unmap()
	}
	if first.Is4() != last.Is4() {
		return nil, fmt.Errorf("target %q: range mixes IPv4 and IPv6", s)
	}
	if last.Less(first) {
		return nil, fmt.Errorf("target %q: range end before start", s)
	}
	return []Range{{first, last}}, nil
}

func validHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			ok := c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			if !ok {
				return false
			}
		}
	}
	return true
}

// merge sorts ranges and joins overlapping or adjacent ones.
func merge(rs []Range) []Range {
	if len(rs) == 0 {
		return nil
	}
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b Range) int { return a.First.Compare(b.First) })
	out := []Range{rs[0]}
	for _, r := range rs[1:] {
		cur := &out[len(out)-1]
		if cur.First.Is4() == r.First.Is4() && (!cur.Last.Less(r.First) || cur.Last.Next() == r.First) {
			if cur.Last.Less(r.Last) {
				cur.Last = r.Last
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// subtract removes the sorted, merged ranges ex from rs.
func subtract(rs, ex []Range) []Range {
	var out []Range
	for _, r := range rs {
		cur, keep := r, true
		for _, e := range ex {
			if e.First.Is4() != cur.First.Is4() || e.Last.Less(cur.First) || cur.Last.Less(e.First) {
				continue
			}
			if cur.First.Less(e.First) {
				out = append(out, Range{cur.First, e.First.Prev()})
			}
			if e.Last.Less(cur.Last) {
				cur.First = e.Last.Next()
				continue
			}
			keep = false
			break
		}
		if keep {
			out = append(out, cur)
		}
	}
	return out
}
