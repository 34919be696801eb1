package detect

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestAhoCorasickOracle compares the automaton with strings.Contains on
// a pattern set large enough that most nodes have no dense row (the
// sparse steps and failure links are exercised) and an alphabet small
// enough that every byte has its own class (so the report is exact).
func TestAhoCorasickOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alpha = "abcdefghij\\.:- "
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	var pats []string
	seen := map[string]bool{}
	for len(pats) < 5000 {
		p := word(2 + rng.IntN(10))
		if !seen[p] {
			seen[p] = true
			pats = append(pats, p)
		}
	}
	m := newACMatcher(pats)
	if m.ndense >= int32(len(m.fail)) {
		t.Fatalf("all %d nodes are dense: the sparse path is not tested", len(m.fail))
	}
	var reported seenSet
	for range 500 {
		text := word(rng.IntN(200))
		if rng.IntN(2) == 0 {
			text = strings.ToUpper(text)
		}
		var got []int32
		for _, p := range m.scan(text, nil) {
			if !slices.Contains(got, p) {
				got = append(got, p)
			}
		}
		slices.Sort(got)
		var want []int32
		lt := strings.ToLower(text)
		for i, p := range pats {
			if strings.Contains(lt, p) {
				want = append(want, int32(i))
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("text %q: automaton %v, strings.Contains %v", text, got, want)
		}
		// With a seen set each pattern is reported once; a second text in
		// the same epoch reports only patterns not yet seen.
		reported.reset(len(m.fail))
		once := m.scanSeen(text, nil, &reported)
		sorted := slices.Sorted(slices.Values(once))
		if !slices.Equal(sorted, want) {
			t.Fatalf("text %q: automaton with a seen set %v, strings.Contains %v", text, once, want)
		}
		if again := m.scanSeen(text, nil, &reported); len(again) != 0 {
			t.Fatalf("text %q: scanned twice in one epoch, reported %v again", text, again)
		}
		// Two texts stepped together report what each does alone.
		other := word(rng.IntN(200))
		pair := slices.Compact(slices.Sorted(slices.Values(m.scanPair(text, other, nil, nil))))
		alone := slices.Compact(slices.Sorted(slices.Values(m.scan(other, m.scan(text, nil)))))
		if !slices.Equal(pair, alone) {
			t.Fatalf("texts %q and %q: scanned together %v, one by one %v", text, other, pair, alone)
		}
	}
}
