package detect

import "hash/maphash"

// fieldTable maps an event's field names (dotted paths and leaf names) to
// its values: an open-addressing hash table over one slice of entries,
// built once per event with two allocations where a Go map of the same
// size costs several and slower inserts. Lookups by a name the table
// lacks stop at the first empty slot.
type fieldTable struct {
	entries []fieldEntry
	slots   []int32 // index+1 into entries; 0 is empty; len is a power of two
}

type fieldEntry struct {
	hash uint64
	name string
	v    *value
}

// nameSeed seeds the field name hash; it is set once and never changes.
var nameSeed = maphash.MakeSeed()

func hashName(s string) uint64 { return maphash.String(nameSeed, s) }

// init sizes the table for up to n names.
func (t *fieldTable) init(n int) {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	t.entries = make([]fieldEntry, 0, n)
	t.slots = make([]int32, size)
}

// initIn is init using entries and slots (zeroed) when they are large
// enough.
func (t *fieldTable) initIn(n int, entries []fieldEntry, slots []int32) {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if n > cap(entries) || size > len(slots) {
		t.init(n)
		return
	}
	t.entries, t.slots = entries[:0], slots[:size]
}

// find returns the slot of name, or the empty slot where it would go.
func (t *fieldTable) find(name string, h uint64) int {
	mask := len(t.slots) - 1
	i := int(h) & mask // #nosec G115 -- only the low bits are used
	for {
		e := t.slots[i]
		if e == 0 {
			return i
		}
		if fe := &t.entries[e-1]; fe.hash == h && fe.name == name {
			return i
		}
		i = (i + 1) & mask
	}
}

// set enters v under name; an existing entry is replaced only when
// replace is set.
func (t *fieldTable) set(name string, v *value, replace bool) {
	h := hashName(name)
	i := t.find(name, h)
	if e := t.slots[i]; e != 0 {
		if replace {
			t.entries[e-1].v = v
		}
		return
	}
	t.entries = append(t.entries, fieldEntry{hash: h, name: name, v: v})
	t.slots[i] = int32(len(t.entries)) // #nosec G115 -- fields of one event, far below 2^31
}

// get returns the value of name, whose hashName is h, or nil.
func (t *fieldTable) get(name string, h uint64) *value {
	if len(t.slots) == 0 {
		return nil
	}
	if e := t.slots[t.find(name, h)]; e != 0 {
		return t.entries[e-1].v
	}
	return nil
}
