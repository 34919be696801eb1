package detect

import (
	"regexp"
	"strings"
	"testing"
)

func TestRegexNeedlesExpand(t *testing.T) {
	cases := map[string][]string{
		// Raspberry Robin's rule: '.' followed by one of three characters.
		`\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ "']{1}`: {". ", `."`, ".'"},
		"\\w+`(?:\\w+|-|.)`":                              {"`"},
		`(?i)werfaultsecure\.exe`:                         {"ecure.exe"}, // s folds to ſ too
		`(?i)KB[0-9]`:                                     {"kb"},
		`x[Aa]y`:                                          {"xay"},
		`[a-z]+`:                                          nil,
		`\s[a-fA-F0-9]{64}`:                               {"\t", "\n", "\f", "\r", " "},
	}
	for expr, want := range cases {
		got := regexNeedles(expr)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("regexNeedles(%q) = %q, want %q", expr, got, want)
		}
	}
}

// TestRegexNeedlesSound checks on texts the regular expressions match
// that one of their needles occurs in the lower-case text, and that the
// class run is present: the prefilter never rejects a match.
func TestRegexNeedlesSound(t *testing.T) {
	cases := []struct{ expr, text string }{
		{`(?i)kerberoast`, "KERBEROAſT"},
		{`(?i)kerberoast`, "Kerberoast"},
		{`(?i)mask`, "MAſK"},
		{`(?i)mask`, "MAS\u212a"},
		{`\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ "']{1}`, `C:\a\b.dll.'x`},
		{`\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}`, "x " + strings.Repeat("aB", 32) + " " + strings.Repeat("0", 16)},
		{`(?i)[ÄÖ]x`, "äX"},
		{`(?i)[İ]x`, "İX"},
	}
	for _, tc := range cases {
		re := regexp.MustCompile(tc.expr)
		if !re.MatchString(tc.text) {
			t.Fatalf("%q does not match %q: bad case", tc.expr, tc.text)
		}
		m := &reMatcher{re: re, needles: regexNeedles(tc.expr), run: regexRun(tc.expr)}
		ev := NewEvent(map[string]any{"f": tc.text})
		if !m.match(ev, ev.lookup("f")) {
			t.Errorf("%q on %q: prefilter (needles %q) rejects a match", tc.expr, tc.text, m.needles)
		}
	}
}

func TestRegexRun(t *testing.T) {
	r := regexRun(`\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}`)
	if r == nil || r.n != 64 {
		t.Fatalf("regexRun = %+v, want a run of 64", r)
	}
	if r.in(" " + strings.Repeat("a", 63) + "g") {
		t.Error("63 hex digits taken for 64")
	}
	if !r.in("x" + strings.Repeat("F", 64)) {
		t.Error("64 hex digits not found")
	}
	for _, expr := range []string{`a{3}`, `(?i)[k]{10}`, `(x{10}|y)`} {
		if r := regexRun(expr); r != nil {
			t.Errorf("regexRun(%q) = run of %d, want none", expr, r.n)
		}
	}
}

// FuzzRegexPrefilter checks that the regular expression prefilters never
// reject a text the expression matches: when regexp matches, the matcher
// with its needles and class run must match too, and the needles must be
// found by the automaton the engine scans with. Seeds live in
// testdata/fuzz/FuzzRegexPrefilter.
func FuzzRegexPrefilter(f *testing.F) {
	f.Add(`(?i)kerberoast`, "KERBEROAſT")
	f.Add(`\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ "']{1}`, `C:\a\b.dll.'x`)
	f.Add(`\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}`, " "+strings.Repeat("ab", 32)+" "+strings.Repeat("0", 16))
	f.Fuzz(func(t *testing.T, expr, text string) {
		if len(expr) > 200 || len(text) > 1000 {
			return
		}
		re, err := regexp.Compile(expr)
		if err != nil || !re.MatchString(text) {
			return
		}
		needles := regexNeedles(expr)
		m := &reMatcher{re: re, needles: needles, run: regexRun(expr)}
		ev := NewEvent(map[string]any{"f": text})
		v := ev.lookup("f")
		if !m.match(ev, v) {
			t.Fatalf("%q matches %q but the prefilter (needles %q) rejects it", expr, text, needles)
		}
		if needles == nil {
			return
		}
		if len(scanValue(newACMatcher(needles), v, nil, nil)) == 0 {
			t.Fatalf("%q matches %q but the automaton finds none of %q", expr, text, needles)
		}
	})
}
