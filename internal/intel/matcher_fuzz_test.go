package intel

import (
	"hash/maphash"
	"math/bits"
	"strings"
	"testing"
)

// FuzzAppendURL checks the matcher's URL normaliser against NormalizeURL:
// whatever appendURL answers is what NormalizeURL gives, so looking the
// buffer up finds the same indicators as normalising the slow way.
func FuzzAppendURL(f *testing.F) {
	for _, s := range urlSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAppendURL(t, s)
	})
}

var urlSeeds = []string{
	"http://evil.example/", "https://a.example:8443/x/y.php?id=1&b=2", "http://a.example:80/", "http://10.0.0.1/a~b",
	"HTTP://A.example/", "http://a.example", "http://a.example?x", "http://a.example/a%7eb", "http://u@a.example/",
	"http://a.example:/", "ftp://a.example:021/", "http://a_b.example/$&+,;=:@?/?", "x+y.z://h/", "http:///a",
	"HtTpS://CDN.Example:443/Dl/X.EXE?ID=%2f%7E#Frag", "http://h/a%zz", "http://h/#%zz", "http://h/a?%zz#x", "http://h?",
	"http://h/a??", " http://h/a ", "http://h:1:2/", "http://[2001:db8::1]:8080/", "http://h/a b", "http://h/%41%2f%2F%7e",
	"http://h/!$&'()*+,;=:@[]", "http://h/a?q=%4", "http://h/a%4", "evil.example/a", "1http://h/", "http://h\x7f/",
	"https://cdn.example:443/dl/x.exe?id=7&k=a:b@c", "http://ÉVIL.example/", "http://h/é",
}

func checkAppendURL(t *testing.T, s string) {
	t.Helper()
	var buf [512]byte
	b, ok := appendURL(buf[:0], s)
	if !ok {
		if len(b) != 0 {
			t.Fatalf("appendURL(%q) refused but wrote %q", s, b)
		}
		return
	}
	n, err := NormalizeURL(s)
	if err != nil || n != string(b) {
		t.Fatalf("appendURL(%q) = %q, NormalizeURL gives %q, %v", s, b, n, err)
	}
	if len(s) < 400 && !strings.ContainsAny(s, " \t\r\n\v\f") && &b[0] != &buf[0] {
		t.Fatalf("appendURL(%q) did not write into the buffer", s)
	}
}

// TestAppendURLCorpus runs the URLs of the test feeds and of the
// reference generator through the same check, and asserts that the
// common forms take the fast way.
func TestAppendURLCorpus(t *testing.T) {
	for _, in := range corpusIndicators(t) {
		if in.Type == TypeURL {
			checkAppendURL(t, in.Value)
		}
	}
	for _, s := range urlSeeds {
		checkAppendURL(t, s)
	}
	for _, s := range []string{"HTTP://Evil.Example:80/a%7eb?q=%2f#frag", "https://cdn.example/index.html?id=7", "http://evil.example"} {
		var buf [512]byte
		if _, ok := appendURL(buf[:0], s); !ok {
			t.Errorf("appendURL(%q) refused a plain URL", s)
		}
	}
}

// FuzzAppendEmail checks the matcher's e-mail normaliser against
// Normalize.
func FuzzAppendEmail(f *testing.F) {
	for _, s := range []string{
		"boss@evil.example", "Boss@Evil.Example", " it@a.test ", "x.y@a.test", ".x@a.test", "x.@a.test", "x..y@a.test",
		"x@a..test", "a@b@c", "@a.test", "a@", "Boss <boss@evil.example>", `"a b"@evil.example`, "a@[10.0.0.1]",
		"a(c)@b.test", "a@b.test (c)", "é@a.test", "a+tag!#$%&'*/=?^_`{|}~@a.test", "a@b.test\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf [320]byte
		b, ok := appendEmail(buf[:0], s)
		if !ok {
			return
		}
		n, err := Normalize(TypeEmail, s)
		if err != nil || n != string(b) {
			t.Fatalf("appendEmail(%q) = %q, Normalize gives %q, %v", s, b, n, err)
		}
	})
}

// FuzzDomainHash checks the suffix walk's hashes: the hash suffixHashes
// reaches step by step for each parent of a name equals domainHash of
// that parent computed on its own (which is what the table stores), and
// it gives the parents that can be listed, longest last.
func FuzzDomainHash(f *testing.F) {
	for _, s := range []string{"", ".", "a", "www.evil.example", "a..b.example", ".a.example", "a.example.", "x-1.cdn.test", strings.Repeat("a.", 130) + "example"} {
		f.Add(s, uint64(1<<2|1<<3))
	}
	seed := maphash.MakeSeed()
	f.Fuzz(func(t *testing.T, d string, labels uint64) {
		if len(d) > 1024 {
			return
		}
		labels |= 1 // some count is listed, as in a matcher with domains
		at, hs := make([]int16, maxDomainLen+2), make([]uint64, maxDomainLen+2)
		n := suffixHashes(seed, []byte(d), labels, at, hs)
		// With less room, it says so rather than give part of them.
		if small := suffixHashes(seed, []byte(d), labels, make([]int16, 3), make([]uint64, 3)); small != n && (small != -1 || n <= 3) {
			t.Fatalf("%q labels %b: %d suffixes with room for 3, %d with room for all", d, labels, small, n)
		}
		// The suffixes that can be listed, from the shortest: at most
		// maxDomainLen bytes, with a label count in labels.
		var want []int
		for j := len(d); j >= 0; j-- {
			if j > 0 && d[j-1] != '.' {
				continue
			}
			k := strings.Count(d[j:], ".") + 1
			most := 63 - bits.LeadingZeros64(labels)
			if len(d)-j > maxDomainLen || most < 63 && k > most {
				break
			}
			if labels&(1<<min(k, 63)) != 0 {
				want = append(want, j)
			}
		}
		if n != len(want) {
			t.Fatalf("%q labels %b: %d suffixes, want %d", d, labels, n, len(want))
		}
		for i, j := range want {
			if int(at[i]) != j {
				t.Fatalf("%q: suffix %d starts at %d, want %d", d, i, at[i], j)
			}
			if h := domainHash(seed, d[j:]); hs[i] != h {
				t.Fatalf("%q: step hash of %q is %x, domainHash %x", d, d[j:], hs[i], h)
			}
		}
	})
}
