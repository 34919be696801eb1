package detect

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
)

// Prefilters of regular expressions. A Sigma |re value is matched with
// Go's regexp, which has no DFA: on a command line it costs microseconds
// even when it cannot match. Two cheap necessary conditions come first:
// needles (lower-case strings of which one must occur, found by the
// engine's automaton with the other needles, see regexNeedles) and a run
// of characters of one class that any match contains (see regexRun).

// Limits of the literal expansion of character classes.
const (
	// maxClassRunes is the largest character class whose characters are
	// expanded into needles ([ "'] gives three).
	maxClassRunes = 8
	// maxExpand bounds the needles one run of literals and classes
	// expands to.
	maxExpand = 64
	// minClassRun is the shortest class run worth checking.
	minClassRun = 8
)

// regexNeedles returns lower-case strings of which one must occur in any
// text the expression matches, or nil when it cannot tell.
func regexNeedles(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	return dedupe(reqLiterals(re.Simplify()))
}

// reqLiterals returns lower-case strings of which one occurs in any text
// re matches, or nil.
func reqLiterals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if ex := expandAtom(re); ex != nil {
			return ex
		}
		return safeFoldPiece(re)
	case syntax.OpCharClass:
		return expandAtom(re)
	case syntax.OpCapture, syntax.OpPlus:
		return reqLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return reqLiterals(re.Sub[0])
		}
	case syntax.OpConcat:
		// Each maximal run of adjacent literals and small classes
		// expands to the strings it can match; a required sub-expression
		// contributes its own needles. The best set wins.
		var sets [][]string
		var run []string
		flush := func() {
			if run != nil {
				sets = append(sets, run)
				run = nil
			}
		}
		for _, sub := range re.Sub {
			ex := expandAtom(sub)
			if ex == nil {
				flush()
				if ns := reqLiterals(sub); ns != nil {
					sets = append(sets, ns)
				}
				continue
			}
			if run == nil {
				run = ex
				continue
			}
			if len(run)*len(ex) > maxExpand {
				flush()
				run = ex
				continue
			}
			next := make([]string, 0, len(run)*len(ex))
			for _, a := range run {
				for _, b := range ex {
					next = append(next, a+b)
				}
			}
			run = next
		}
		flush()
		return bestNeedles(sets)
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			ns := reqLiterals(sub)
			if ns == nil {
				return nil
			}
			all = append(all, ns...)
		}
		return all
	}
	return nil
}

// expandAtom returns the lower-case strings a literal or a small
// character class matches, or nil for anything else. A case-folded
// literal is only expanded when lower-casing maps every character it
// folds to onto one form: (?i)s also matches ſ, whose lower case is not s.
func expandAtom(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil
		}
		if re.Flags&syntax.FoldCase != 0 {
			for _, r := range re.Rune {
				if !foldsToLower(r) {
					return nil
				}
			}
		}
		return []string{strings.ToLower(string(re.Rune))}
	case syntax.OpCharClass:
		n := 0
		for i := 0; i+1 < len(re.Rune); i += 2 {
			n += int(re.Rune[i+1]-re.Rune[i]) + 1
			if n > maxClassRunes {
				return nil
			}
		}
		if n == 0 {
			return nil
		}
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				s := string(unicode.ToLower(r))
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
		return out
	}
	return nil
}

// safeFoldPiece returns the longest piece of a case-folded literal whose
// characters all fold to their lower case (see foldsToLower), or nil.
func safeFoldPiece(re *syntax.Regexp) []string {
	var best []rune
	start := 0
	for i := 0; i <= len(re.Rune); i++ {
		if i < len(re.Rune) && foldsToLower(re.Rune[i]) {
			continue
		}
		if i-start > len(best) {
			best = re.Rune[start:i]
		}
		start = i + 1
	}
	if len(best) == 0 {
		return nil
	}
	return []string{strings.ToLower(string(best))}
}

// foldsToLower reports whether every character in r's case-folding orbit
// has the lower case of r.
func foldsToLower(r rune) bool {
	lr := unicode.ToLower(r)
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if unicode.ToLower(f) != lr {
			return false
		}
	}
	return true
}

// classRun is a necessary condition of a regular expression: the text
// holds n consecutive bytes of the class (an ASCII character class
// repeated at least n times in the expression's required part).
type classRun struct {
	set [256]bool
	n   int
}

// in reports whether s holds the run.
func (c *classRun) in(s string) bool {
	k := 0
	for i := 0; i < len(s); i++ {
		if !c.set[s[i]] {
			k = 0
			continue
		}
		if k++; k >= c.n {
			return true
		}
	}
	return false
}

// regexRun returns the longest class run any match of expr contains, or
// nil when there is none of at least minClassRun characters.
func regexRun(expr string) *classRun {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	var best *classRun
	consider := func(sub *syntax.Regexp) {
		if sub.Op != syntax.OpRepeat || sub.Min < minClassRun || (best != nil && sub.Min <= best.n) {
			return
		}
		cls := sub.Sub[0]
		if cls.Op != syntax.OpCharClass || len(cls.Rune) == 0 {
			return
		}
		c := &classRun{n: sub.Min}
		for i := 0; i+1 < len(cls.Rune); i += 2 {
			if cls.Rune[i+1] >= 0x80 {
				return // a character of several bytes: keep it simple
			}
			for r := cls.Rune[i]; r <= cls.Rune[i+1]; r++ {
				c.set[r] = true
			}
		}
		best = c
	}
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	if re.Op == syntax.OpConcat {
		for _, sub := range re.Sub {
			consider(sub)
		}
	} else {
		consider(re)
	}
	return best
}
