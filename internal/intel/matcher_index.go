package intel

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"net/netip"
	"strings"
)

// valueArena keeps the normalised values of the matcher's indicators back
// to back in 1 MiB strings, so that 10 million values are a few hundred
// objects for the garbage collector instead of 10 million, and a hit hands
// out its indicator value without allocating. A value is addressed by a
// ref: chunk<<34 | offset<<14 | length.
//
// Each chunk is written through a strings.Builder grown to the full chunk
// size up front: later writes never move the bytes, so strings taken from
// the builder earlier stay valid and unchanged.
type valueArena struct {
	chunks []string
	cur    strings.Builder
}

const (
	arenaChunk  = 1 << 20
	maxValueRef = 1<<14 - 1 // longest value the arena holds
)

func (a *valueArena) add(v string) uint64 {
	if len(a.chunks) == 0 || a.cur.Len()+len(v) > arenaChunk {
		a.cur = strings.Builder{}
		a.cur.Grow(arenaChunk)
		a.chunks = append(a.chunks, "")
	}
	off := a.cur.Len()
	a.cur.WriteString(v)
	last := len(a.chunks) - 1
	a.chunks[last] = a.cur.String()
	return uint64(last)<<34 | uint64(off)<<14 | uint64(len(v)) // #nosec G115 -- non-negative lengths
}

func (a *valueArena) get(ref uint64) string {
	c := a.chunks[ref>>34]
	off := ref >> 14 & (arenaChunk - 1)
	return c[off : off+ref&maxValueRef]
}

// The matcher's exact tables are open-addressed hash tables with linear
// probing, at most half full, from a key to the newest entry holding that
// value (the head of its chain). A slot's idx is the entry index+1; 0 is
// an empty slot.
//
// Values of a fixed size (IPv4 and IPv6 addresses, MD5, SHA-1 and SHA-256
// digests) are kept in the slot itself in binary, so a lookup compares
// integers in the one or two cache lines it reads, and a hit goes on to
// the entry directly. Names (domains, URLs, e-mail addresses, file names)
// are in a strTable whose slot holds 32 bits of the value's hash, the
// entry and the value's arena ref: the stored value is compared only when
// those 32 bits agree, and the slot names both the value and the entry, so
// reading them does not wait on each other.

// fixedKey is the binary form of a value of a fixed size.
type fixedKey interface {
	comparable
	hash(seed maphash.Seed) uint64
}

type (
	ip4Key    uint32
	ip6Key    [2]uint64
	md5Key    [2]uint64
	sha1Key   [5]uint32
	sha256Key [4]uint64
)

func (k ip4Key) hash(s maphash.Seed) uint64 {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(k))
	return maphash.Bytes(s, b[:])
}

func (k ip6Key) hash(s maphash.Seed) uint64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], k[0])
	binary.LittleEndian.PutUint64(b[8:], k[1])
	return maphash.Bytes(s, b[:])
}

func (k md5Key) hash(s maphash.Seed) uint64 { return ip6Key(k).hash(s) }

func (k sha1Key) hash(s maphash.Seed) uint64 {
	var b [20]byte
	for i, w := range k {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return maphash.Bytes(s, b[:])
}

func (k sha256Key) hash(s maphash.Seed) uint64 {
	var b [32]byte
	for i, w := range k {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
	return maphash.Bytes(s, b[:])
}

type fixedSlot[K fixedKey] struct {
	key K
	idx uint32
}

type fixedTable[K fixedKey] struct {
	slots []fixedSlot[K]
	mask  uint64 // len(slots)-1: slots is a power of two long
	n     int
}

// lookup returns the head entry of the chain whose value is k.
func (t *fixedTable[K]) lookup(seed maphash.Seed, k K) (uint32, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := t.mask
	for i := k.hash(seed) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.idx == 0 {
			return 0, false
		}
		if s.key == k {
			return s.idx - 1, true
		}
	}
}

// insert makes idx the head of the chain for k and returns the previous
// head.
func (t *fixedTable[K]) insert(seed maphash.Seed, h *hugeMem, k K, idx uint32) (prev uint32, ok bool) {
	if (t.n+1)*2 > len(t.slots) {
		t.grow(seed, h)
	}
	mask := t.mask
	for i := k.hash(seed) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.idx == 0 {
			*s = fixedSlot[K]{key: k, idx: idx + 1}
			t.n++
			return 0, false
		}
		if s.key == k {
			prev = s.idx - 1
			s.idx = idx + 1
			return prev, true
		}
	}
}

func (t *fixedTable[K]) grow(seed maphash.Seed, h *hugeMem) {
	old := t.slots
	t.slots = makeHuge[fixedSlot[K]](h, max(2*len(old), 1024))
	t.mask = uint64(len(t.slots)) - 1 // #nosec G115 -- a length is never negative
	for _, s := range old {
		if s.idx == 0 {
			continue
		}
		i := s.key.hash(seed) & t.mask
		for t.slots[i].idx != 0 {
			i = (i + 1) & t.mask
		}
		t.slots[i] = s
	}
	freeHuge(h, old)
}

// strSlot is a strTable slot: tag is the high 32 bits of the value's hash
// <<32 | entry index+1 (0: empty), ref the value's arena ref.
type strSlot struct {
	tag uint64
	ref uint64
}

type strTable struct {
	slots []strSlot
	mask  uint64
	n     int
	// byLabel: the values are hashed with domainHash, not maphash.String.
	byLabel bool
}

// hash is the hash of value v in t.
func (t *strTable) hash(seed maphash.Seed, v string) uint64 {
	if t.byLabel {
		return domainHash(seed, v)
	}
	return maphash.String(seed, v)
}

// domainHash hashes a domain name label by label from the right: the hash
// of a name is one step (domainStep) from the hash of its parent, so the
// matcher's walk over a name's parents hashes each label once
// (matchDomain). The labels are the text between dots, empty ones
// included, so every string has a hash and equal strings only have equal
// hashes; the table compares the bytes of a candidate anyway.
func domainHash(seed maphash.Seed, d string) uint64 {
	var h uint64
	end := len(d)
	for j := len(d) - 1; j >= -1; j-- {
		if j >= 0 && d[j] != '.' {
			continue
		}
		h = domainStep(h, maphash.String(seed, d[j+1:end]))
		end = j
	}
	return h
}

// domainStep adds the hash of the next label to the left to h.
func domainStep(h, label uint64) uint64 {
	hi, lo := bits.Mul64(h^label, 0x9e3779b97f4a7c15)
	return hi ^ lo
}

// lookup returns the head entry of the chain whose value is key and the
// stored value (the same bytes as key, in the arena).
func (t *strTable) lookup(vals *valueArena, h uint64, key []byte) (uint32, string, bool) {
	if t.n == 0 {
		return 0, "", false
	}
	mask := t.mask
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.tag == 0 {
			return 0, "", false
		}
		if s.tag>>32 == h>>32 {
			if v := vals.get(s.ref); v == string(key) {
				return uint32(s.tag) - 1, v, true // #nosec G115 -- low half of the tag
			}
		}
	}
}

// find is lookup for a value in a string.
func (t *strTable) find(vals *valueArena, h uint64, key string) (uint32, uint64, bool) {
	if t.n == 0 {
		return 0, 0, false
	}
	mask := t.mask
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.tag == 0 {
			return 0, 0, false
		}
		if s.tag>>32 == h>>32 && vals.get(s.ref) == key {
			return uint32(s.tag) - 1, s.ref, true // #nosec G115 -- low half of the tag
		}
	}
}

// insert makes idx the head of the chain of the value at ref (whose hash
// with seed is h) and returns the previous head.
func (t *strTable) insert(seed maphash.Seed, mem *hugeMem, vals *valueArena, h, ref uint64, idx uint32) (prev uint32, ok bool) {
	if (t.n+1)*2 > len(t.slots) {
		t.grow(seed, mem, vals)
	}
	v := vals.get(ref)
	mask := t.mask
	tag := h>>32<<32 | uint64(idx) + 1
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.tag == 0 {
			*s = strSlot{tag: tag, ref: ref}
			t.n++
			return 0, false
		}
		if s.tag>>32 == h>>32 && vals.get(s.ref) == v {
			prev = uint32(s.tag) - 1 // #nosec G115 -- low half of the tag
			s.tag = tag
			return prev, true
		}
	}
}

// grow doubles the table, hashing the stored values again with seed.
func (t *strTable) grow(seed maphash.Seed, mem *hugeMem, vals *valueArena) {
	old := t.slots
	t.slots = makeHuge[strSlot](mem, max(2*len(old), 1024))
	t.mask = uint64(len(t.slots)) - 1 // #nosec G115 -- a length is never negative
	for _, s := range old {
		if s.tag == 0 {
			continue
		}
		i := t.hash(seed, vals.get(s.ref)) & t.mask
		for t.slots[i].tag != 0 {
			i = (i + 1) & t.mask
		}
		t.slots[i] = s
	}
	freeHuge(mem, old)
}

// ip4Prefixes answers IPv4 longest-prefix lookups in at most two reads of
// two flat arrays (a DIR-16-8 table): top has one word per /16 network,
// mid 256 words per /16 network that holds a prefix longer than /16. A
// word is the head entry+1 of the longest prefix of at most /16 (top) or
// /24 (mid) covering that network, 0 for none, or has ip4Deeper set: in
// top the rest is the number of the /16's block in mid; in mid it means
// some prefix longer than /24 lies in that /24 network, and the routing
// table (which holds every prefix) answers. The lengths of the prefixes
// written are kept beside, for inserting.
type ip4Prefixes struct {
	top    []uint32 // 1<<16 words, nil until the first prefix
	topLen []uint8
	mid    []uint32
	midLen []uint8
}

const ip4Deeper = 1 << 31

// lookup returns the head entry+1 of the longest prefix holding a, 0 for
// none, or ip4Deeper when the routing table must be asked.
func (p *ip4Prefixes) lookup(a uint32) uint32 {
	if p.top == nil {
		return 0
	}
	t := p.top[a>>16]
	if t&ip4Deeper == 0 {
		return t
	}
	return p.mid[(t&^ip4Deeper)<<8|a>>8&0xff]
}

// insert records prefix pfx (IPv4, masked) with head entry idx: every
// network it covers whose longest prefix so far is not longer takes idx.
// A prefix longer than /24 only marks its /24 network.
func (p *ip4Prefixes) insert(h *hugeMem, pfx netip.Prefix, idx uint32) {
	if p.top == nil {
		p.top = make([]uint32, 1<<16)
		p.topLen = make([]uint8, 1<<16)
	}
	b := pfx.Addr().As4()
	a := binary.BigEndian.Uint32(b[:])
	bits := pfx.Bits()
	v := idx + 1
	l := uint8(bits) // #nosec G115 -- 0..32
	if bits <= 16 {
		first, n := a>>16, uint32(1)<<(16-bits)
		for x := first; x < first+n; x++ {
			if t := p.top[x]; t&ip4Deeper != 0 {
				blk := (t &^ ip4Deeper) << 8
				for y := blk; y < blk+256; y++ {
					p.set(y, v, l)
				}
				continue
			}
			if p.topLen[x] <= l || p.top[x] == 0 {
				p.top[x], p.topLen[x] = v, l
			}
		}
		return
	}
	blk := p.block(h, a>>16)
	if bits <= 24 {
		first, n := blk|a>>8&0xff, uint32(1)<<(24-bits)
		for y := first; y < first+n; y++ {
			p.set(y, v, l)
		}
		return
	}
	y := blk | a>>8&0xff
	p.mid[y] |= ip4Deeper
}

// set writes v into mid word y unless a longer prefix is there; a word
// marked deeper stays marked (the routing table has the longer prefix).
func (p *ip4Prefixes) set(y, v uint32, l uint8) {
	if p.mid[y] == 0 || p.midLen[y] <= l {
		p.mid[y] = p.mid[y]&ip4Deeper | v
		p.midLen[y] = l
	}
}

// block returns the first mid word of /16 network x, making the block
// (filled from the /16's prefix) when there is none.
func (p *ip4Prefixes) block(h *hugeMem, x uint32) uint32 {
	if t := p.top[x]; t&ip4Deeper != 0 {
		return (t &^ ip4Deeper) << 8
	}
	n := uint32(len(p.mid) >> 8) // #nosec G115 -- at most 1<<16 blocks
	for range 256 {
		p.mid = grown(h, p.mid, p.top[x])
		p.midLen = append(p.midLen, p.topLen[x])
	}
	p.top[x] = ip4Deeper | n
	return n << 8
}

// hugeAdviceMin is the smallest array worth huge pages (2 MiB each).
const hugeAdviceMin = 8 << 20

// grown is append(s, v) that grows a large s into a makeHuge array and
// frees the one it outgrew.
func grown[T any](h *hugeMem, s []T, v T) []T {
	if len(s) < cap(s) {
		return append(s, v)
	}
	n := 2 * cap(s)
	if cap(s) >= 1<<18 {
		n = cap(s) + cap(s)/4 // as append grows large slices
	}
	t := makeHuge[T](h, max(n, 1024))[:len(s)]
	copy(t, s)
	freeHuge(h, s)
	return append(t, v)
}

// foldASCII writes s lower-cased into buf when s is ASCII and fits; ok is
// false when the caller must fall back to strings.ToLower.
func foldASCII(buf []byte, s string) ([]byte, bool) {
	if len(s) > cap(buf) {
		return nil, false
	}
	b := buf[:len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return nil, false
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return b, true
}
