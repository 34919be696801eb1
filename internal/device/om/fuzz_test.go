package om

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDiffText feeds hostile device output (binary, ANSI escapes, HTML,
// huge lines) through what a backup stores: the sanitised text and the
// diff against the previous version. The stored text is valid UTF-8
// without control characters but tab and newline, and the parsed diff has
// exactly one line per counted change while under the line bound.
func FuzzDiffText(f *testing.F) {
	f.Add("hostname r1\nend\n", "hostname r2\nend\n")
	f.Add("", "\x1b[32mr1#\x1b[0m\x00\xff\xfe<script>alert(1)</script>\r\n")
	f.Add("a\nb\nc\n", "c\nb\na")
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a)+len(b) > 64<<10 {
			return
		}
		sa, sb := sanitize(a), sanitize(b)
		for _, s := range []string{sa, sb} {
			if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }) {
				t.Fatalf("sanitize left %q", s)
			}
		}
		diff, added, removed := diffText(sa, sb)
		lines := ParseDiff(diff)
		if added+removed <= MaxDiffLines && len(lines) != added+removed {
			t.Fatalf("%d diff lines for %d added and %d removed:\n%s", len(lines), added, removed, diff)
		}
		for _, l := range lines {
			if l.Op != "+" && l.Op != "-" {
				t.Fatalf("bad op %q", l.Op)
			}
		}
		if sa == sb && (added != 0 || removed != 0) {
			t.Fatal("equal texts differ")
		}
	})
}
