package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// sameEvent reports how a differs from b, the oracle's event: every name
// either table holds must give the same value (compared by its text and
// kind), the values must be the same multiset, and the logsource equal.
func sameEvent(a, b *Event) error {
	desc := func(v *value) string {
		if v == nil {
			return "absent"
		}
		return fmt.Sprintf("%T %t %q", v.raw, v.null, v.s)
	}
	names := map[string]bool{}
	for _, e := range a.fields.entries {
		names[e.name] = true
	}
	for _, e := range b.fields.entries {
		names[e.name] = true
	}
	for n := range names {
		if x, y := desc(a.lookup(n)), desc(b.lookup(n)); x != y {
			return fmt.Errorf("field %q: %s, the sorted walk gives %s", n, x, y)
		}
	}
	leaves := func(ev *Event) []string {
		out := make([]string, len(ev.leaves))
		for i, v := range ev.leaves {
			out[i] = desc(v)
		}
		slices.Sort(out)
		return out
	}
	if x, y := leaves(a), leaves(b); !slices.Equal(x, y) {
		return fmt.Errorf("values %q, the sorted walk gives %q", x, y)
	}
	if x, y := fmt.Sprint(a.Source), fmt.Sprint(b.Source); x != y {
		return fmt.Errorf("logsource %s, the sorted walk gives %s", x, y)
	}
	return nil
}

// TestEventBuilderOracle holds NewEvent, which walks maps in Go's map
// order and settles names claimed twice by their place in the sorted
// walk, to the sorted walk itself (newEventSorted): on the corpus
// regression events and on generated events built to collide, with keys
// that are each other's paths ("a.b" beside {"a":{"b":..}}), attributes
// named like elements, keys with spaces beside their spaceless form, and
// keys that sort before "#attributes". Every value is distinct, so a
// wrong winner shows.
func TestEventBuilderOracle(t *testing.T) {
	var raws []map[string]any
	for _, tc := range regressionCases(t) {
		for _, f := range tc.events {
			for _, ev := range readEvents(t, f) {
				raws = append(raws, ev.Raw)
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		raws = append(raws, collidingEvent(rng))
	}
	var reused Event
	for i, raw := range raws {
		// Several builds, so that map order varies.
		for range 3 {
			if err := sameEvent(NewEvent(raw), newEventSorted(raw)); err != nil {
				b, _ := json.Marshal(raw)
				t.Fatalf("event %d %s: %v", i, b, err)
			}
		}
		// The recycled event of Engine.MatchRaw, built over the previous
		// event: nothing of that one may remain.
		reused.build(raw)
		if err := sameReused(&reused, raw); err != nil {
			b, _ := json.Marshal(raw)
			t.Fatalf("event %d %s, built over the previous one: %v", i, b, err)
		}
		reused.reset()
	}
}

// sameReused checks ev, built in recycled storage, against the sorted
// walk of raw, and its lower-case forms (cached per value) against the
// values' text. It lower-cases every value, as matching would, so that
// the next build over ev meets stale cached forms if reset kept them.
func sameReused(ev *Event, raw map[string]any) error {
	if err := sameEvent(ev, newEventSorted(raw)); err != nil {
		return err
	}
	for _, v := range ev.leaves {
		if l := v.lower(); l != strings.ToLower(v.s) {
			return fmt.Errorf("value %q: lower-case form %q", v.s, l)
		}
		if v.elems == nil && v.ascii != isASCII(v.s) {
			return fmt.Errorf("value %q: ascii %t", v.s, v.ascii)
		}
	}
	return nil
}

// collidingEvent returns a small nested event whose keys come from a
// short list, so that paths and leaf names collide often.
func collidingEvent(rng *rand.Rand) map[string]any {
	keys := []string{"a", "b", "a.b", "A B", "AB", " x", "x", "Name", "Provider", "Provider_Name", "#attributes", "!", "Channel", "EventID"}
	n := 0
	var build func(depth int) map[string]any
	build = func(depth int) map[string]any {
		m := map[string]any{}
		for range 1 + rng.IntN(5) {
			k := keys[rng.IntN(len(keys))]
			n++
			switch {
			case k == "#attributes":
				am := map[string]any{}
				for range 1 + rng.IntN(3) {
					n++
					am[keys[rng.IntN(len(keys))]] = fmt.Sprintf("attr%d", n)
				}
				m[k] = am
			case depth < 3 && rng.IntN(3) == 0:
				m[k] = build(depth + 1)
			case rng.IntN(8) == 0:
				m[k] = []any{fmt.Sprintf("e%d", n), json.Number("7")}
			case rng.IntN(8) == 0:
				m[k] = nil
			default:
				m[k] = fmt.Sprintf("v%d", n)
			}
		}
		return m
	}
	return build(0)
}

// FuzzEventBuilder checks NewEvent against the sorted walk on any JSON
// object. Seeds live in testdata/fuzz/FuzzEventBuilder.
func FuzzEventBuilder(f *testing.F) {
	f.Add([]byte(`{"a":{"b":"nested"},"a.b":"dotted","A B":"spaced","AB":"plain"}`))
	f.Add([]byte(`{"Event":{"System":{"Provider":{"#attributes":{"Name":"p"}},"Name":"element"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil || m == nil {
			return
		}
		if err := sameEvent(NewEvent(m), newEventSorted(m)); err != nil {
			t.Fatal(err)
		}
		// Recycled storage: built over a corpus-shaped event, then over
		// itself again.
		var reused Event
		reused.build(map[string]any{"Event": map[string]any{"System": map[string]any{"Channel": "Security", "EventID": "4624"}, "EventData": map[string]any{"TargetUserName": "ÄDMIN", "a": []any{"x", "y"}}}})
		for _, v := range reused.leaves {
			v.lower()
		}
		for range 2 {
			reused.reset()
			reused.build(m)
			if err := sameReused(&reused, m); err != nil {
				t.Fatal(err)
			}
		}
	})
}
