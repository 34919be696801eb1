package detect

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// tok is one piece of a Sigma string value: a literal run, a * wildcard or
// a ? wildcard.
type tok struct {
	kind byte // 'l' literal, '*' any run, '?' any one character
	s    string
}

type pattern []tok

// parsePattern splits a Sigma string into literals and wildcards. A
// backslash escapes *, ? and itself; before any other character it is a
// literal backslash.
func parsePattern(s string) pattern {
	var p pattern
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p = append(p, tok{kind: 'l', s: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\'):
			lit.WriteByte(s[i+1])
			i++
		case c == '*' || c == '?':
			flush()
			if c == '*' && len(p) > 0 && p[len(p)-1].kind == '*' {
				continue
			}
			p = append(p, tok{kind: c})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return p
}

func literalPattern(s string) pattern {
	if s == "" {
		return nil
	}
	return pattern{{kind: 'l', s: s}}
}

// literal returns the pattern's text when it holds no wildcard.
func (p pattern) literal() (string, bool) {
	var b strings.Builder
	for _, t := range p {
		if t.kind != 'l' {
			return "", false
		}
		b.WriteString(t.s)
	}
	return b.String(), true
}

func (p pattern) wrap(start, end bool) pattern {
	out := make(pattern, 0, len(p)+2)
	if start && (len(p) == 0 || p[0].kind != '*') {
		out = append(out, tok{kind: '*'})
	}
	out = append(out, p...)
	if end && (len(out) == 0 || out[len(out)-1].kind != '*') {
		out = append(out, tok{kind: '*'})
	}
	return out
}

// needle is the longest literal run, the prefilter's evidence.
func (p pattern) needle() string {
	best := ""
	for _, t := range p {
		if t.kind == 'l' && len(t.s) > len(best) {
			best = t.s
		}
	}
	return best
}

// windashChars are the characters windash substitutes for a leading - or /.
var windashChars = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

const maxWindashPositions = 4

// windash expands every - or / that starts a word (preceded by a non-word
// character or the start, followed by a word character) into each dash
// variant Windows command lines accept.
func windash(p pattern) ([]pattern, bool) {
	type pos struct{ ti, bi int }
	var ps []pos
	for ti, t := range p {
		if t.kind != 'l' {
			continue
		}
		for bi := 0; bi < len(t.s); bi++ {
			c := t.s[bi]
			if c != '-' && c != '/' {
				continue
			}
			prevWord := bi > 0 && isWordByte(t.s[bi-1])
			nextWord := bi+1 < len(t.s) && isWordByte(t.s[bi+1])
			if bi+1 == len(t.s) && ti+1 < len(p) {
				nextWord = true // a wildcard may supply the word
			}
			if !prevWord && nextWord {
				ps = append(ps, pos{ti, bi})
			}
		}
	}
	if len(ps) > maxWindashPositions {
		return nil, false
	}
	out := []pattern{p}
	for _, at := range ps {
		var next []pattern
		for _, base := range out {
			for _, ch := range windashChars {
				np := make(pattern, len(base))
				copy(np, base)
				s := np[at.ti].s
				// Replacements after the first change the byte offsets of
				// later positions in the same token, so locate from the end.
				off := len(s) - (len(p[at.ti].s) - at.bi)
				np[at.ti].s = s[:off] + ch + s[off+1:]
				next = append(next, np)
			}
		}
		out = next
	}
	return out, true
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func utf16Encode(s string, bigEndian, bom bool) string {
	units := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(units)+2)
	if bom {
		b = append(b, 0xFF, 0xFE)
	}
	for _, u := range units {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u)) // #nosec G115 -- splitting a UTF-16 unit into its two bytes
		} else {
			b = append(b, byte(u), byte(u>>8)) // #nosec G115 -- splitting a UTF-16 unit into its two bytes
		}
	}
	return string(b)
}

// base64Offsets returns the three encodings of s that appear inside a
// base64 text whatever the offset of s in the encoded data: s is encoded
// behind 0, 1 and 2 padding bytes, and the characters influenced by the
// padding or by what follows are cut off.
func base64Offsets(s string) []string {
	start := [3]int{0, 2, 3}
	endCut := [3]int{0, 3, 2}
	var out []string
	for i := range 3 {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", i) + s))
		cut := endCut[(len(s)+i)%3]
		if start[i] > len(enc)-cut {
			continue
		}
		out = append(out, enc[start[i]:len(enc)-cut])
	}
	return out
}

// globMatch reports whether s matches p; literals must already have the
// same case folding as s. It runs in O(len(p)·len(s)) at worst: on a
// mismatch it only ever retries from the most recent star, which is
// enough for patterns made of literals, ? and *.
func globMatch(p pattern, s string) bool {
	// Flatten to one token per literal byte.
	type gt struct {
		kind byte
		b    byte
	}
	var buf [64]gt
	g := buf[:0]
	for _, t := range p {
		if t.kind == 'l' {
			for i := 0; i < len(t.s); i++ {
				g = append(g, gt{'l', t.s[i]})
			}
			continue
		}
		g = append(g, gt{kind: t.kind})
	}
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(g) {
			switch t := g[pi]; t.kind {
			case 'l':
				if s[si] == t.b {
					pi++
					si++
					continue
				}
			case '?':
				_, n := utf8.DecodeRuneInString(s[si:])
				pi++
				si += n
				continue
			case '*':
				starP, starS = pi, si
				pi++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		pi, si = starP+1, starS
	}
	for pi < len(g) && g[pi].kind == '*' {
		pi++
	}
	return pi == len(g)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
