package detect

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestAhoCorasickOracle compares the automaton with strings.Contains on
// a pattern set and an alphabet small enough that every byte has its own
// class (so the report is exact), twice: as a DFA (every node has a full
// row) and with a budget for rows so small that most nodes have none
// (the sparse steps and failure links are exercised).
func TestAhoCorasickOracle(t *testing.T) {
	t.Run("dfa", func(t *testing.T) { testAhoCorasickOracle(t, maxDenseBytes, true) })
	t.Run("sparse", func(t *testing.T) { testAhoCorasickOracle(t, 64<<10, false) })
}

func testAhoCorasickOracle(t *testing.T, denseBytes int, allDense bool) {
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
	m := newACMatcherDense(pats, denseBytes)
	if m.allDense != allDense || allDense != (m.ndense == int32(len(m.fail))) {
		t.Fatalf("%d of %d nodes have a row, want all: %t", m.ndense, len(m.fail), allDense)
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

// classText is s written in m's byte classes.
func classText(m *acMatcher, s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = m.class[c] + 1 // class 0 is a byte too, not a terminator
	}
	return string(b)
}

// classOracleMapped reports the patterns of m that occur in text, the
// way the automaton defines occurrence: text and patterns compared
// through its byte classes (which fold ASCII case and let rare pattern
// bytes share a class), by strings.Contains. It is exact, where comparing
// the bytes themselves would only give a subset of the reports. The
// patterns are given in m's classes (classText).
func classOracleMapped(m *acMatcher, mapped []string, text string) []int32 {
	mt := classText(m, text)
	var out []int32
	for i, p := range mapped {
		if strings.Contains(mt, p) {
			out = append(out, int32(i)) // #nosec G115 -- test pattern count
		}
	}
	return out
}

// asciiLower lower-cases ASCII letters only, as the automaton folds them.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// checkScan compares every way m scans text (alone, once per node with a
// seen set, paired with other) with classOracleMapped, and requires every
// pattern that occurs byte for byte (ASCII case folded) to be reported.
func checkScan(t *testing.T, m *acMatcher, pats, mapped []string, text, other string) {
	t.Helper()
	want := classOracleMapped(m, mapped, text)
	got := slices.Compact(slices.Sorted(slices.Values(m.scan(text, nil))))
	if !slices.Equal(got, want) {
		t.Fatalf("text %q: automaton %v, class oracle %v", text, got, want)
	}
	lt := asciiLower(text)
	for i, p := range pats {
		if strings.Contains(lt, p) && !slices.Contains(got, int32(i)) { // #nosec G115 -- test pattern count
			t.Fatalf("text %q: pattern %q occurs, not reported", text, p)
		}
	}
	var seen seenSet
	seen.reset(len(m.fail))
	if once := m.scanSeen(text, nil, &seen); !slices.Equal(slices.Sorted(slices.Values(once)), want) {
		t.Fatalf("text %q: automaton with a seen set %v, class oracle %v", text, once, want)
	}
	pair := slices.Compact(slices.Sorted(slices.Values(m.scanPair(text, other, nil, nil))))
	wantOther := classOracleMapped(m, mapped, other)
	both := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(want), wantOther...))))
	if !slices.Equal(pair, both) {
		t.Fatalf("texts %q and %q: scanned together %v, class oracle %v", text, other, pair, both)
	}
	{
		// Two texts, each with its own automaton (here the same one) and
		// seen set, in one loop: each text gets its own reports.
		var seenOther seenSet
		seen.reset(len(m.fail))
		seenOther.reset(len(m.fail))
		a, b := scanTwo(m, text, &seen, nil, m, other, &seenOther, nil)
		if a, b := slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)); !slices.Equal(a, want) || !slices.Equal(b, wantOther) {
			t.Fatalf("texts %q and %q: scanTwo %v and %v, class oracle %v and %v", text, other, a, b, want, wantOther)
		}
	}
}

// TestAhoCorasickCorpus checks the automata the engine builds for the
// SigmaHQ rule set (the process-creation CommandLine automaton with its
// 10,000 needles among them) on the corpus regression events: each
// automaton's reports for every value of its field (every value, for
// keyword automata) against classOracleMapped, and against the same patterns
// built with a small row budget, the hybrid automaton the engine used
// before every node had a row.
func TestAhoCorasickCorpus(t *testing.T) {
	c := loadCorpus(t)
	var events []*Event
	for _, tc := range regressionCases(t) {
		for _, f := range tc.events {
			events = append(events, readEvents(t, f)...)
		}
	}
	eng := c.engine
	type scanned struct {
		mapped []string
		sparse *acMatcher
	}
	automata := map[*acMatcher]*scanned{}
	values, dfa := 0, 0
	prev := ""
	for _, ev := range events {
		var found [8]*bucket
		sel := eng.selectBuckets(ev, found[:0])
		if len(sel) > 1 {
			if m := eng.merged(sel); m != nil {
				sel = []*bucket{m}
			}
		}
		for _, b := range sel {
			b.index()
			for i := range b.fields {
				fs := &b.fields[i]
				a := automata[fs.ac]
				if a == nil {
					a = &scanned{sparse: newACMatcherDense(fs.pats, 64<<10)}
					for _, p := range fs.pats {
						a.mapped = append(a.mapped, classText(fs.ac, p))
					}
					automata[fs.ac] = a
					if fs.ac.allDense {
						dfa++
					}
				}
				var texts []string
				if fs.field == "" {
					for _, v := range ev.leaves {
						texts = append(texts, v.lower())
					}
				} else if v := ev.lookupHash(fs.field, fs.hash); v != nil {
					texts = append(texts, v.lower())
					for _, e := range v.elems {
						texts = append(texts, e.lower())
					}
				}
				for _, text := range texts {
					checkScan(t, fs.ac, fs.pats, a.mapped, text, prev)
					prev = text
					got := slices.Compact(slices.Sorted(slices.Values(fs.ac.scan(text, nil))))
					old := slices.Compact(slices.Sorted(slices.Values(a.sparse.scan(text, nil))))
					if !slices.Equal(got, old) {
						t.Fatalf("field %q, text %q: %v, hybrid automaton %v", fs.field, text, got, old)
					}
					values++
				}
			}
		}
	}
	biggest := 0
	for m := range automata {
		biggest = max(biggest, len(m.fail))
	}
	t.Logf("%d automata (%d with a row for every node, the largest %d nodes), %d values", len(automata), dfa, biggest, values)
	if biggest < 10000 || dfa == 0 || values == 0 {
		t.Fatal("the corpus did not exercise a large DFA")
	}
}

// FuzzAhoCorasick builds automata from newline-separated patterns, as a
// DFA and with a small row budget, and checks their scans of a text
// against classOracleMapped. Seeds live in testdata/fuzz/FuzzAhoCorasick.
func FuzzAhoCorasick(f *testing.F) {
	f.Add("cmd.exe\n/c \nwhoami\npowershell\n -enc", "C:\\Windows\\System32\\cmd.exe /c WHOAMI /all")
	f.Add("a\naa\naaa\nab\nba", "aaaabababaaa")
	f.Fuzz(func(t *testing.T, patterns, text string) {
		if len(patterns) > 4096 || len(text) > 4096 {
			return
		}
		var pats []string
		for p := range strings.SplitSeq(patterns, "\n") {
			if p = asciiLower(p); p != "" && !slices.Contains(pats, p) {
				pats = append(pats, p)
			}
		}
		if len(pats) == 0 {
			return
		}
		half := len(text) / 2
		for _, budget := range []int{0, 256, maxDenseBytes} {
			m := newACMatcherDense(pats, budget)
			var mapped []string
			for _, p := range pats {
				mapped = append(mapped, classText(m, p))
			}
			checkScan(t, m, pats, mapped, text, text[half:])
		}
	})
}
