package intel

import "testing"

// FuzzCanonicalURL checks the matcher's fast path for URLs: whatever
// canonicalURL accepts, Normalize returns unchanged, so taking such a URL
// as it is finds the same indicators as normalising it.
func FuzzCanonicalURL(f *testing.F) {
	for _, s := range []string{
		"http://evil.example/", "https://a.example:8443/x/y.php?id=1&b=2", "http://a.example:80/", "http://10.0.0.1/a~b",
		"HTTP://A.example/", "http://a.example", "http://a.example?x", "http://a.example/a%7eb", "http://u@a.example/",
		"http://a.example:/", "ftp://a.example:021/", "http://a_b.example/$&+,;=:@?/?", "x+y.z://h/", "http:///a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !canonicalURL(s) {
			return
		}
		if n, err := Normalize(TypeURL, s); err != nil || n != s {
			t.Fatalf("canonicalURL(%q) but Normalize gives %q, %v", s, n, err)
		}
	})
}
