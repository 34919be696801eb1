package baseline

import (
	"fmt"
	"regexp"
	"strings"
)

// Character classes of the Wazuh regex dialect (OSRegex) that differ from
// RE2. The "\w" of that dialect also matches '-' and '@'; "\p" matches
// punctuation.
const (
	wordClass  = `A-Za-z0-9@_\-`
	punctClass = `()*+,\-.:;<=>?\[\]!"'#$%&|{}`
)

// TranslateRegex rewrites a pattern written in the dialect SCA policies use
// for r: and n: into Go RE2 syntax and compiles it.
//
// Policies mix the historic OSRegex escapes (\w with '-' and '@', \p, \d,
// \s, \t) with PCRE-style syntax (character classes, '.', '?', '{n}'); the
// translation keeps the PCRE meaning where the two disagree, since that is
// what policy authors write: '.' is any character and "\." a literal dot.
// Constructs RE2 cannot express (back-references, look-around, possessive
// quantifiers, \< and \>) are errors, never silently dropped.
func TranslateRegex(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	inClass := false
	classStart := 0 // position in the output where the current class began
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\':
			if i+1 >= len(pattern) {
				return nil, fmt.Errorf("trailing backslash")
			}
			i++
			e := pattern[i]
			if err := translateEscape(&b, e, inClass); err != nil {
				return nil, err
			}
		case inClass:
			if c == ']' && b.Len() > classStart {
				inClass = false
			}
			if c == '[' && i+1 < len(pattern) && pattern[i+1] == ':' {
				// POSIX class such as [:alpha:]; RE2 supports these.
				end := strings.Index(pattern[i:], ":]")
				if end < 0 {
					return nil, fmt.Errorf("unterminated POSIX class")
				}
				b.WriteString(pattern[i : i+end+2])
				i += end + 1
				continue
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			if i+1 < len(pattern) && pattern[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			classStart = b.Len()
			if i+1 < len(pattern) && pattern[i+1] == ']' {
				// A leading ']' is a literal member of the class.
				b.WriteString(`\]`)
				i++
			}
		case c == '(' && strings.HasPrefix(pattern[i:], "(?"):
			rest := pattern[i+2:]
			if strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, "!") ||
				strings.HasPrefix(rest, "<=") || strings.HasPrefix(rest, "<!") {
				return nil, fmt.Errorf("look-around %q is not supported by RE2", pattern[i:min(len(pattern), i+4)])
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	if inClass {
		return nil, fmt.Errorf("unterminated character class")
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("translated pattern %q does not compile: %w", b.String(), err)
	}
	return re, nil
}

func translateEscape(b *strings.Builder, e byte, inClass bool) error {
	switch e {
	case 'w':
		if inClass {
			b.WriteString(wordClass)
		} else {
			b.WriteString("[" + wordClass + "]")
		}
	case 'W':
		if inClass {
			return fmt.Errorf(`\W inside a character class is not supported`)
		}
		b.WriteString("[^" + wordClass + "]")
	case 'p':
		if inClass {
			b.WriteString(punctClass)
		} else {
			b.WriteString("[" + punctClass + "]")
		}
	case 'd':
		if inClass {
			b.WriteString(`0-9`)
		} else {
			b.WriteString(`[0-9]`)
		}
	case 'D':
		if inClass {
			return fmt.Errorf(`\D inside a character class is not supported`)
		}
		b.WriteString(`[^0-9]`)
	case 'h':
		// PCRE horizontal whitespace.
		if inClass {
			b.WriteString(` \t`)
		} else {
			b.WriteString(`[ \t]`)
		}
	case 'H':
		if inClass {
			return fmt.Errorf(`\H inside a character class is not supported`)
		}
		b.WriteString(`[^ \t]`)
	case 's', 'S', 't', 'n', 'r', 'f', 'v':
		b.WriteByte('\\')
		b.WriteByte(e)
	case 'b', 'B', 'A', 'z':
		if inClass {
			return fmt.Errorf(`\%c inside a character class is not supported`, e)
		}
		b.WriteByte('\\')
		b.WriteByte(e)
	case '<', '>':
		// In the OSRegex dialect these escape a literal angle bracket.
		b.WriteByte(e)
	default:
		switch {
		case e >= '1' && e <= '9':
			return fmt.Errorf(`back-reference \%c is not supported by RE2`, e)
		case e >= 'a' && e <= 'z', e >= 'A' && e <= 'Z', e == '0':
			return fmt.Errorf(`unsupported escape \%c`, e)
		case e < 0x80:
			// Escaped punctuation or space: a literal.
			b.WriteString(regexp.QuoteMeta(string(e)))
		default:
			return fmt.Errorf("escaped non-ASCII byte 0x%02x", e)
		}
	}
	return nil
}
