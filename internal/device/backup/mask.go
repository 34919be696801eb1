package backup

import (
	"regexp"
	"strings"
)

// Mask replaces every secret value that p's patterns (and the generic ones)
// capture with MaskText. Mask before storing a text for display or diffing.
func Mask(text string, p *Profile) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		for _, re := range p.secrets {
			l = maskLine(l, re)
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// maskLine replaces the capture groups of every match of re in l.
func maskLine(l string, re *regexp.Regexp) string {
	ms := re.FindAllStringSubmatchIndex(l, -1)
	if ms == nil {
		return l
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		for g := 2; g+1 < len(m); g += 2 {
			s, e := m[g], m[g+1]
			if s < 0 || s < last || e <= s {
				continue
			}
			b.WriteString(l[last:s])
			b.WriteString(MaskText)
			last = e
		}
	}
	b.WriteString(l[last:])
	return b.String()
}
