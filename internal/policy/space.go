package policy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// maxIfaceLen is the longest interface name (IFNAMSIZ-1).
const maxIfaceLen = 15

// full returns the whole match space of the family.
func full(fam Family) box {
	var b box
	b[dimDport] = single(u(0), u(0xffff))
	b[dimSport] = single(u(0), u(0xffff))
	b[dimProto] = single(u(0), u(0xff))
	if fam == IPv6 {
		b[dimSrc] = single(u128{}, maxU128)
	} else {
		b[dimSrc] = single(u(0), u(0xffffffff))
	}
	b[dimDst] = b[dimSrc]
	// Interface names are encoded as 16 big-endian bytes, zero padded, so
	// the whole dimension includes strings no kernel accepts. Coverage
	// proven on this superset holds on the real names too.
	b[dimIn] = single(u128{}, maxU128)
	b[dimOut] = b[dimIn]
	b[dimState] = single(u(0), u(uint64(nStates-1)))
	return b
}

func addrU128(a netip.Addr) u128 {
	if a.Is4() {
		v := a.As4()
		return u(uint64(binary.BigEndian.Uint32(v[:])))
	}
	v := a.As16()
	return u128{binary.BigEndian.Uint64(v[:8]), binary.BigEndian.Uint64(v[8:])}
}

func prefixSpan(p netip.Prefix) span {
	p = p.Masked()
	lo := addrU128(p.Addr())
	width := 128
	if p.Addr().Is4() {
		width = 32
	}
	host := width - p.Bits()
	var mask u128
	switch {
	case host >= 128:
		mask = maxU128
	case host >= 64:
		mask = u128{(1 << (host - 64)) - 1, ^uint64(0)}
	default:
		mask = u128{0, (1 << host) - 1}
	}
	return span{lo, u128{lo.hi | mask.hi, lo.lo | mask.lo}}
}

func ifaceKey(name string, fill byte) u128 {
	var b [16]byte
	for i := range b {
		b[i] = fill
	}
	copy(b[:], name)
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func ifaceSet(m *IfaceMatch, all set) (set, error) {
	if m == nil {
		return all, nil
	}
	var s set
	for _, name := range append([]string{m.Name}, m.Alt...) {
		one, err := ifaceOne(name)
		if err != nil {
			return nil, err
		}
		s = union(s, one)
	}
	if m.Negate {
		return subtract(all, s), nil
	}
	return s, nil
}

func ifaceOne(name string) (set, error) {
	if prefix, ok := strings.CutSuffix(name, "+"); ok {
		if len(prefix) > maxIfaceLen {
			return nil, fmt.Errorf("interface %q longer than %d bytes", name, maxIfaceLen)
		}
		return single(ifaceKey(prefix, 0), ifaceKey(prefix, 0xff)), nil
	}
	if name == "" || len(name) > maxIfaceLen {
		return nil, fmt.Errorf("bad interface name %q", name)
	}
	k := ifaceKey(name, 0)
	return single(k, k), nil
}

func addrSet(m AddrMatch, fam Family, all set) (set, error) {
	var s set
	for _, p := range m.Prefixes {
		if p.Addr().Is4() != (fam == IPv4) {
			return nil, fmt.Errorf("address %s is not IPv%d", p, fam)
		}
		s = union(s, set{prefixSpan(p)})
	}
	for _, r := range m.Ranges {
		if r.From.Is4() != (fam == IPv4) || r.To.Is4() != (fam == IPv4) {
			return nil, fmt.Errorf("range %s-%s is not IPv%d", r.From, r.To, fam)
		}
		if r.To.Less(r.From) {
			return nil, fmt.Errorf("range %s-%s is reversed", r.From, r.To)
		}
		s = union(s, single(addrU128(r.From), addrU128(r.To)))
	}
	if m.Negate {
		return subtract(all, s), nil
	}
	return s, nil
}

func portSet(m PortMatch, all set) (set, error) {
	var s set
	for _, r := range m.Ranges {
		if r.To < r.From {
			return nil, fmt.Errorf("port range %d:%d is reversed", r.From, r.To)
		}
		s = union(s, single(u(uint64(r.From)), u(uint64(r.To))))
	}
	if m.Negate {
		return subtract(all, s), nil
	}
	return s, nil
}

// space computes the rule's match space. An empty dimension is valid: the
// rule then matches nothing.
func (r *Rule) space(fam Family) (box, error) {
	b := full(fam)
	if !r.Proto.Any {
		p := single(u(uint64(r.Proto.Num)), u(uint64(r.Proto.Num)))
		if r.Proto.Negate {
			p = subtract(b[dimProto], p)
		}
		b[dimProto] = p
	}
	for _, m := range r.Src {
		s, err := addrSet(m, fam, b[dimSrc])
		if err != nil {
			return b, err
		}
		b[dimSrc] = intersect(b[dimSrc], s)
	}
	for _, m := range r.Dst {
		s, err := addrSet(m, fam, b[dimDst])
		if err != nil {
			return b, err
		}
		b[dimDst] = intersect(b[dimDst], s)
	}
	all := full(fam)
	for _, m := range r.SrcPort {
		s, err := portSet(m, all[dimSport])
		if err != nil {
			return b, err
		}
		b[dimSport] = intersect(b[dimSport], s)
	}
	for _, m := range r.DstPort {
		s, err := portSet(m, all[dimDport])
		if err != nil {
			return b, err
		}
		b[dimDport] = intersect(b[dimDport], s)
	}
	var err error
	if b[dimIn], err = ifaceSet(r.In, all[dimIn]); err != nil {
		return b, err
	}
	if b[dimOut], err = ifaceSet(r.Out, all[dimOut]); err != nil {
		return b, err
	}
	for _, m := range r.State {
		var s set
		for _, st := range m.States {
			s = union(s, single(u(uint64(st)), u(uint64(st))))
		}
		if m.Negate {
			s = subtract(all[dimState], s)
		}
		b[dimState] = intersect(b[dimState], s)
	}
	return b, nil
}

// Flow is one concrete packet.
type Flow struct {
	Proto   uint8
	Src     netip.Addr
	Dst     netip.Addr
	SrcPort uint16
	DstPort uint16
	In      string
	Out     string
	State   ConnState
}

func (f Flow) point(fam Family) ([nDims]u128, error) {
	var p [nDims]u128
	for _, a := range []netip.Addr{f.Src, f.Dst} {
		if !a.IsValid() || a.Is4() != (fam == IPv4) {
			return p, fmt.Errorf("flow address %v is not IPv%d", a, fam)
		}
	}
	if len(f.In) > maxIfaceLen || len(f.Out) > maxIfaceLen {
		return p, errors.New("flow interface name too long")
	}
	if f.State >= nStates {
		return p, errors.New("flow conntrack state out of range")
	}
	p[dimSrc] = addrU128(f.Src)
	p[dimDst] = addrU128(f.Dst)
	p[dimProto] = u(uint64(f.Proto))
	p[dimSport] = u(uint64(f.SrcPort))
	p[dimDport] = u(uint64(f.DstPort))
	p[dimIn] = ifaceKey(f.In, 0)
	p[dimOut] = ifaceKey(f.Out, 0)
	p[dimState] = u(uint64(f.State))
	return p, nil
}
