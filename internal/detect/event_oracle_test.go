package detect

import (
	"slices"
	"strings"
	"sync"
)

// newEventSorted is the event builder as it was before the unsorted walk:
// every map visited in sorted key order, the fields entered in that
// order (a path replaces what a name held, a leaf name only fills a free
// name). It is the oracle TestEventBuilderOracle and FuzzEventBuilder
// hold NewEvent to.
func newEventSorted(raw map[string]any) *Event {
	ev := &Event{Raw: raw, arena: make([]value, 0, 48), leaves: make([]*value, 0, 48)}
	b, _ := sortedBuilders.Get().(*sortedBuilder)
	if b == nil {
		b = &sortedBuilder{buf: make([]byte, 0, 2048), keys: make([]sortedKV, 0, 64), ops: make([]sortedOp, 0, 128)}
	}
	defer b.release()
	b.walk(ev, raw, 0, 0, "")
	// Dotted paths are written into one buffer and turned into a string
	// once, then the fields are entered in walk order.
	paths := string(b.buf)
	ev.fields.init(len(b.ops))
	for _, op := range b.ops {
		name := op.name
		if op.end > op.start {
			name = paths[op.start:op.end]
		}
		ev.fields.set(name, op.v, op.path)
	}
	ev.Source = DeriveSource(ev)
	return ev
}

// sortedBuilder collects the field entries of an event in walk order: a
// path entry replaces what a name held, a leaf-name entry only fills a
// free name. Dotted paths are written into buf.
type sortedBuilder struct {
	buf   []byte
	keys  []sortedKV
	ops   []sortedOp
	attrs []sortedAttr
}

// sortedBuilders recycles sortedBuilders between events.
var sortedBuilders sync.Pool

// release clears b (so it keeps no event alive) and returns it to the
// pool.
func (b *sortedBuilder) release() {
	clear(b.keys[:cap(b.keys)])
	clear(b.ops)
	clear(b.attrs[:cap(b.attrs)])
	b.buf, b.keys, b.ops, b.attrs = b.buf[:0], b.keys[:0], b.ops[:0], b.attrs[:0]
	sortedBuilders.Put(b)
}

type sortedOp struct {
	name       string // when start == end
	start, end int    // the name in buf
	v          *value
	path       bool
}

type sortedAttr struct {
	name string
	v    *value
}

// appendPath writes buf[ps:pe] + "." + k (k alone when the prefix is
// empty) at the end of buf and returns its range.
func (b *sortedBuilder) appendPath(ps, pe int, k string) (int, int) {
	s := len(b.buf)
	if pe > ps {
		b.buf = append(b.buf, b.buf[ps:pe]...)
		b.buf = append(b.buf, '.')
	}
	b.buf = append(b.buf, k...)
	return s, len(b.buf)
}

// path enters v under its dotted path.
func (b *sortedBuilder) path(ps, pe int, k string, v *value) {
	if pe == ps {
		b.ops = append(b.ops, sortedOp{name: k, v: v, path: true})
		return
	}
	s, e := b.appendPath(ps, pe, k)
	b.ops = append(b.ops, sortedOp{start: s, end: e, v: v, path: true})
}

// leaf enters v under a leaf name unless the name is taken.
func (b *sortedBuilder) leaf(name string, v *value) {
	b.ops = append(b.ops, sortedOp{name: name, v: v})
}

// sortedKeys appends m's entries to b.keys and returns them sorted by key;
// the caller truncates b.keys back when done.
func (b *sortedBuilder) keysSorted(m map[string]any) []sortedKV {
	k0 := len(b.keys)
	for k, v := range m {
		b.keys = append(b.keys, sortedKV{k, v})
	}
	keys := b.keys[k0:]
	slices.SortFunc(keys, func(x, y sortedKV) int { return strings.Compare(x.k, y.k) })
	return keys
}

type sortedKV struct {
	k string
	v any
}

// walk visits m, whose path is buf[ps:pe] and whose own key is parent.
func (b *sortedBuilder) walk(ev *Event, m map[string]any, ps, pe int, parent string) {
	k0, a0 := len(b.keys), len(b.attrs)
	keys := b.keysSorted(m)
	for _, kv := range keys {
		k, child := kv.k, kv.v
		if k == "#attributes" {
			if am, ok := child.(map[string]any); ok {
				k1 := len(b.keys)
				for _, akv := range b.keysSorted(am) {
					ak := akv.k
					v := ev.newValue(akv.v)
					b.path(ps, pe, ak, v)
					ev.leaves = append(ev.leaves, v)
					if parent != "" {
						b.leaf(parent+"_"+ak, v)
					}
					b.attrs = append(b.attrs, sortedAttr{ak, v})
				}
				b.keys = b.keys[:k1]
			}
			continue
		}
		if cm, ok := child.(map[string]any); ok {
			s, e := b.appendPath(ps, pe, k)
			b.walk(ev, cm, s, e, k)
			continue
		}
		v := ev.newValue(child)
		b.path(ps, pe, k, v)
		ev.leaves = append(ev.leaves, v)
		b.leaf(k, v)
		if strings.Contains(k, " ") {
			// Rendered Windows events name some data "Source Name"
			// where Sigma (following the XML) says SourceName.
			b.leaf(strings.ReplaceAll(k, " ", ""), v)
		}
	}
	// Attribute names are the weakest aliases: any element leaf wins.
	for _, a := range b.attrs[a0:] {
		b.leaf(a.name, a.v)
	}
	b.attrs = b.attrs[:a0]
	b.keys = b.keys[:k0]
}
