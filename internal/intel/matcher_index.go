package intel

import (
	"hash/maphash"
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

// valueTable is an open-addressed hash table (linear probing, at most half
// full) from a value's 64-bit hash to the newest entry holding that value.
// A slot is hash>>32<<32 | (entry index+1); 0 is an empty slot. The low
// bits of the hash choose the slot and the high 32 bits are kept in it, so
// a lookup that misses compares integers in one or two cache lines and
// only a slot whose stored bits agree costs a comparison of the value.
type valueTable struct {
	slots []uint64
	mask  uint64 // len(slots)-1: slots is a power of two long
	n     int
	ip    bool // keys are addresses: hashed from their 16-byte form
}

// hashString and hashBytes hash a normalised value the same way.
func (m *Matcher) hashString(s string) uint64 { return maphash.String(m.seed, s) }
func (m *Matcher) hashBytes(b []byte) uint64  { return maphash.Bytes(m.seed, b) }

// hashAddr hashes an unmapped, zone-less address.
func (m *Matcher) hashAddr(a netip.Addr) uint64 {
	b := a.As16()
	return maphash.Bytes(m.seed, b[:])
}

// keyHash is the table hash of a stored value.
func (m *Matcher) keyHash(t *valueTable, v string) uint64 {
	if t.ip {
		a, err := netip.ParseAddr(v)
		if err != nil { // stored values are normalised addresses
			return 0
		}
		return m.hashAddr(a)
	}
	return m.hashString(v)
}

// lookupString returns the head entry of the chain whose value is key.
func (m *Matcher) lookupString(t *valueTable, h uint64, key string) (uint32, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := t.mask
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if s>>32 == h>>32 {
			idx := uint32(s) - 1 // #nosec G115 -- low half of the slot
			if m.vals.get(m.entries[idx].val) == key {
				return idx, true
			}
		}
	}
}

// lookupBytes is lookupString for a key in a buffer.
func (m *Matcher) lookupBytes(t *valueTable, h uint64, key []byte) (uint32, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := t.mask
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if s>>32 == h>>32 {
			idx := uint32(s) - 1 // #nosec G115 -- low half of the slot
			if m.vals.get(m.entries[idx].val) == string(key) {
				return idx, true
			}
		}
	}
}

// lookupAddr returns the head entry of the chain for address a (unmapped,
// without zone); the stored value is compared in its text form.
func (m *Matcher) lookupAddr(t *valueTable, a netip.Addr) (uint32, bool) {
	if t.n == 0 {
		return 0, false
	}
	h := m.hashAddr(a)
	mask := t.mask
	var buf [64]byte
	var text []byte
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if s>>32 == h>>32 {
			if text == nil {
				text = a.AppendTo(buf[:0])
			}
			idx := uint32(s) - 1 // #nosec G115 -- low half of the slot
			if m.vals.get(m.entries[idx].val) == string(text) {
				return idx, true
			}
		}
	}
}

// insert makes idx the head of the chain for value v (already stored at
// m.entries[idx].val) and returns the previous head.
func (m *Matcher) insert(t *valueTable, h uint64, v string, idx uint32) (prev uint32, ok bool) {
	if (t.n+1)*2 > len(t.slots) {
		m.grow(t)
	}
	mask := t.mask
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			t.slots[i] = h>>32<<32 | uint64(idx) + 1
			t.n++
			return 0, false
		}
		if s>>32 == h>>32 {
			old := uint32(s) - 1 // #nosec G115 -- low half of the slot
			if m.vals.get(m.entries[old].val) == v {
				t.slots[i] = h>>32<<32 | uint64(idx) + 1
				return old, true
			}
		}
	}
}

// grow doubles the table, hashing the stored values again.
func (m *Matcher) grow(t *valueTable) {
	old := t.slots
	t.slots = make([]uint64, max(2*len(old), 1024))
	t.mask = uint64(len(t.slots)) - 1 // #nosec G115 -- a length is never negative
	mask := t.mask
	for _, s := range old {
		if s == 0 {
			continue
		}
		h := m.keyHash(t, m.vals.get(m.entries[uint32(s)-1].val)) // #nosec G115 -- low half of the slot
		i := h & mask
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = h>>32<<32 | s&0xffffffff
	}
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
