package weblog

import (
	"bufio"
	_ "embed" // signatures.txt, behaviour.txt
	"fmt"
	"regexp"
	"strings"
)

//go:embed signatures.txt
var signaturesText string

//go:embed behaviour.txt
var behaviourText string

// Signature is one targeted payload pattern.
type Signature struct {
	Category string
	Name     string
	re       *regexp.Regexp
}

// parseSignatures reads the signatures.txt format.
func parseSignatures(text string) ([]Signature, error) {
	var out []Signature
	sc := bufio.NewScanner(strings.NewReader(text))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("signatures line %d: want category<TAB>name<TAB>regexp", n)
		}
		re, err := regexp.Compile(parts[2])
		if err != nil {
			return nil, fmt.Errorf("signatures line %d: %w", n, err)
		}
		out = append(out, Signature{Category: parts[0], Name: parts[1], re: re})
	}
	return out, sc.Err()
}

// matchSignatures returns the signatures that match any view of the
// normalised request (the path view first, then the shell view when it
// differs).
func matchSignatures(sigs []Signature, views ...string) []Signature {
	var out []Signature
	for _, s := range sigs {
		prev := ""
		for i, v := range views {
			if i > 0 && v == prev {
				continue
			}
			prev = v
			if s.re.MatchString(v) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// hasJNDI reports a Log4Shell lookup in s, including the nested
// ${lower:j}, ${::-j} and ${env:X:-j} obfuscations: innermost lookups are
// resolved to their literal value until a ${jndi: remains or none are left.
func hasJNDI(s string) bool {
	if !strings.Contains(s, "${") {
		return false
	}
	s = strings.ToLower(s)
	for range 64 {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return false
		}
		start := strings.LastIndex(s[:end], "${")
		if start < 0 {
			// A stray "}" before any lookup: drop it and go on.
			s = s[:end] + s[end+1:]
			continue
		}
		expr := s[start+2 : end]
		if strings.HasPrefix(expr, "jndi:") {
			return true
		}
		var val string
		switch {
		case strings.Contains(expr, ":-"):
			val = expr[strings.LastIndex(expr, ":-")+2:]
		case strings.HasPrefix(expr, "lower:"), strings.HasPrefix(expr, "upper:"):
			val = expr[6:]
		case strings.HasPrefix(expr, "date:"):
			val = strings.Trim(expr[5:], "'")
		}
		s = s[:start] + val + s[end+1:]
	}
	return false
}
