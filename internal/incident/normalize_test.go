package incident_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/incident"
)

// stixTerm is one comparison of a STIX 2.1 indicator pattern whose object
// type tells the observable type: the corpus's labels.
var stixTerm = regexp.MustCompile(`(ipv4-addr|ipv6-addr|domain-name|url|email-addr|file:hashes\.'?[A-Za-z0-9-]+'?):?[a-z_]* = '([^']*)'`)

var stixType = map[string]string{"ipv4-addr": "ip", "ipv6-addr": "ip", "domain-name": "domain", "url": "url", "email-addr": "email"}

// TestNormalizeSTIXIndicators takes every typed value from the indicator
// patterns of the OASIS STIX 2.1 examples: each must be accepted as its
// STIX type (the examples' own label), keep its identity and be stable
// under a second normalisation. The one value with a space in a domain
// ("domain autuo.xicp.net", a slip in the example) must be refused.
func TestNormalizeSTIXIndicators(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "stix", "examples")
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("STIX corpus missing: %v", err)
		}
		t.Skipf("STIX corpus not found: %v", err)
	}
	seen, refused := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f) // #nosec G304 -- test corpus
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range stixTerm.FindAllStringSubmatch(string(data), -1) {
			typ, ok := stixType[m[1]]
			if strings.HasPrefix(m[1], "file:hashes") {
				typ, ok = "hash", true
			}
			if !ok {
				continue
			}
			seen++
			v, err := incident.Normalize(typ, m[2])
			if strings.ContainsAny(m[2], " \t") && typ != "url" {
				if err == nil {
					t.Errorf("%s: %s %q accepted as %q", f, typ, m[2], v)
				}
				refused++
				continue
			}
			if err != nil {
				t.Errorf("%s: %s %q: %v", f, typ, m[2], err)
				continue
			}
			if !strings.EqualFold(v, m[2]) && typ != "ip" {
				t.Errorf("%s: %s %q became %q", f, typ, m[2], v)
			}
			if again, err := incident.Normalize(typ, v); err != nil || again != v {
				t.Errorf("%s: %q not stable: %q, %v", f, v, again, err)
			}
		}
	}
	if seen < 30 || refused != 1 {
		t.Fatalf("%d typed values, %d refused: the corpus changed?", seen, refused)
	}
	t.Logf("%d STIX indicator values normalised, %d refused", seen-refused, refused)
}

func TestNormalizeForms(t *testing.T) {
	for _, tc := range []struct{ typ, in, want string }{
		{"ip", " ::ffff:192.0.2.1 ", "192.0.2.1"},
		{"ip", "2001:DB8::1", "2001:db8::1"},
		{"ip", "198.51.100.77/24", "198.51.100.0/24"},
		{"domain", "WWW.Example.COM.", "www.example.com"},
		{"url", "HTTP://Evil.Example/Path?Q=1", "http://evil.example/Path?Q=1"},
		{"hash", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"},
		{"email", "Bob@Example.org", "bob@example.org"},
		{"user", "  CORP\\alice ", "CORP\\alice"},
	} {
		got, err := incident.Normalize(tc.typ, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%s, %q) = %q, %v; want %q", tc.typ, tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ typ, in string }{
		{"ip", "fe80::1%eth0"}, {"ip", "300.1.1.1"}, {"domain", "localhost"}, {"domain", "-a.example"},
		{"url", "/relative"}, {"hash", "abc"}, {"hash", strings.Repeat("z", 32)}, {"email", "Bob <bob@example.org>"},
		{"other", ""}, {"other", "a\x00b"}, {"other", strings.Repeat("a", incident.MaxObsValue+1)}, {"nope", "x"},
	} {
		if got, err := incident.Normalize(tc.typ, tc.in); err == nil {
			t.Errorf("Normalize(%s, %q) = %q, want an error", tc.typ, tc.in, got)
		}
	}
}

// FuzzNormalize checks Normalize never panics, and that what it accepts
// is bounded, stable and accepted again.
func FuzzNormalize(f *testing.F) {
	f.Add("ip", "192.0.2.1")
	f.Add("domain", "Example.COM.")
	f.Add("url", "http://x.example/a?b")
	f.Add("email", "a@b.example")
	f.Add("hash", "d41d8cd98f00b204e9800998ecf8427e")
	f.Fuzz(func(t *testing.T, typ, value string) {
		v, err := incident.Normalize(typ, value)
		if err != nil {
			return
		}
		if v == "" || len(v) > incident.MaxObsValue*3 {
			t.Fatalf("Normalize(%q, %q) = %q", typ, value, v)
		}
		again, err := incident.Normalize(typ, v)
		if err != nil || again != v {
			t.Fatalf("not stable: %q → %q → %q, %v", value, v, again, err)
		}
	})
}
