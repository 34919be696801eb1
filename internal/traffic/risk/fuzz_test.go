package risk

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzCleanName: whatever name a browser or API client gives a file, the
// stored name is one path element (the Zeek reader writes it into a
// temporary directory), printable and bounded.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"conn.log", "../../etc/passwd", `..\..\boot.ini`, "", ".", "..", "/", "a/b/dns.log",
		"conn.log\x00.pcap", "\u202econn.log", strings.Repeat("é", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := cleanName(name, 3)
		switch {
		case got == "" || got == "." || got == "..":
			t.Fatalf("%q -> %q", name, got)
		case strings.ContainsAny(got, `/\`) || filepath.Base(got) != got:
			t.Fatalf("%q -> %q is not one path element", name, got)
		case utf8.RuneCountInString(got) > maxName:
			t.Fatalf("%q -> %d runes", name, utf8.RuneCountInString(got))
		case strings.IndexFunc(got, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }) >= 0:
			t.Fatalf("%q -> %q has control or bidirectional characters", name, got)
		}
	})
}
