package detect

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// TestIndexedMatchesNaive runs the corpus regression events, and variants
// of them that move values across the prefilter's edge cases, through
// the indexed engine (Match, and MatchRaw with its recycled event) and
// through naive evaluation (every rule on every
// event, no index, no prefilter), and requires the same rules from both.
// Variants: values in upper case and in alternating case (the automaton
// folds ASCII case itself), a non-ASCII letter in front of every value
// (its lower-case form differs in length, so the lower-cased text is
// scanned), values cut to half their length (needles cut apart), and the
// fields of the next event merged in (rules meet values they were not
// written for).
func TestIndexedMatchesNaive(t *testing.T) {
	c := loadCorpus(t)
	var raws []map[string]any
	for _, tc := range regressionCases(t) {
		for _, f := range tc.events {
			for _, ev := range readEvents(t, f) {
				raws = append(raws, ev.Raw)
			}
		}
	}
	variants := map[string]func(i int, m map[string]any) map[string]any{
		"original": func(_ int, m map[string]any) map[string]any { return m },
		"upper":    func(_ int, m map[string]any) map[string]any { return mapStrings(m, strings.ToUpper) },
		"alternating case": func(_ int, m map[string]any) map[string]any {
			return mapStrings(m, func(s string) string {
				var b strings.Builder
				for i, r := range s {
					if i%2 == 0 {
						b.WriteString(strings.ToUpper(string(r)))
					} else {
						b.WriteString(strings.ToLower(string(r)))
					}
				}
				return b.String()
			})
		},
		"non-ASCII prefix": func(_ int, m map[string]any) map[string]any {
			return mapStrings(m, func(s string) string { return "\u0130" + s })
		},
		"half": func(_ int, m map[string]any) map[string]any {
			return mapStrings(m, func(s string) string {
				h := len(s) / 2
				for h > 0 && !utf8.RuneStart(s[h]) {
					h--
				}
				return s[:h]
			})
		},
		"merged with the next event": func(i int, m map[string]any) map[string]any {
			return mergeMissing(mapStrings(m, func(s string) string { return s }), raws[(i+1)%len(raws)])
		},
	}
	events, matches := 0, 0
	for name, vary := range variants {
		for i, raw := range raws {
			ev := NewEvent(vary(i, raw))
			got := c.engine.Match(ev, nil)
			want := c.engine.MatchNaive(NewEvent(ev.Raw), nil)
			if !sameRules(got, want) {
				t.Errorf("%s, event %d: indexed %d rules, naive %d", name, i, len(got), len(want))
			}
			// MatchRaw builds the event in recycled storage, over the
			// previous one.
			if raw := c.engine.MatchRaw(ev.Raw, nil); !sameRules(raw, want) {
				t.Errorf("%s, event %d: MatchRaw %d rules, naive %d", name, i, len(raw), len(want))
			}
			events++
			matches += len(want)
		}
	}
	t.Logf("%d events, %d matches, indexed and naive agree", events, matches)
	if matches == 0 {
		t.Error("no matches at all: the check proves nothing")
	}
}

// mapStrings copies m with f applied to every string value, keys kept.
func mapStrings(m map[string]any, f func(string) string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = f(x)
		case map[string]any:
			out[k] = mapStrings(x, f)
		case []any:
			l := make([]any, len(x))
			for i, e := range x {
				if s, ok := e.(string); ok {
					l[i] = f(s)
				} else {
					l[i] = e
				}
			}
			out[k] = l
		default:
			out[k] = v
		}
	}
	return out
}

// mergeMissing adds to dst (in place) every key of src it lacks, at any
// depth, and returns dst.
func mergeMissing(dst, src map[string]any) map[string]any {
	for k, v := range src {
		d, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		dm, ok1 := d.(map[string]any)
		sm, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			mergeMissing(dm, sm)
		}
	}
	return dst
}

// TestMatchConcurrent matches the regression events from several
// goroutines at once on a fresh engine (so that the merged indexes are
// built concurrently) and requires the answers of a single goroutine.
func TestMatchConcurrent(t *testing.T) {
	c := loadCorpus(t)
	var raws []map[string]any
	for _, tc := range regressionCases(t) {
		for _, f := range tc.events {
			for _, ev := range readEvents(t, f) {
				raws = append(raws, ev.Raw)
			}
		}
	}
	want := make([][]*Rule, len(raws))
	for i, raw := range raws {
		want[i] = c.engine.Match(NewEvent(raw), nil)
	}
	eng := NewEngine(c.rules)
	var wg sync.WaitGroup
	errs := make(chan string, 4*len(raws))
	for g := range 4 {
		wg.Go(func() {
			for k := range raws {
				i := (k + g*len(raws)/4) % len(raws)
				if got := eng.Match(NewEvent(raws[i]), nil); !sameRules(got, want[i]) {
					errs <- fmt.Sprintf("event %d: %d rules, want %d", i, len(got), len(want[i]))
				}
				if got := eng.MatchRaw(raws[i], nil); !sameRules(got, want[i]) {
					errs <- fmt.Sprintf("event %d: MatchRaw %d rules, want %d", i, len(got), len(want[i]))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
