package weblog

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDecode checks each decoder on the encodings the OWASP "Path
// Traversal" and "XSS Filter Evasion" pages document, with the plain text
// they give for them.
func TestDecode(t *testing.T) {
	cases := []struct{ in, want string }{
		// OWASP Path Traversal: URL, double URL and overlong UTF-8 encodings.
		{"%2e%2e%2f", "../"},
		{"%2e%2e/", "../"},
		{"..%2f", "../"},
		{"%2e%2e%5c", "../"},
		{"%252e%252e%255c", "../"},
		{"..%255c", "../"},
		{"..%c0%af", "../"},
		{"..%c1%9c", "../"},
		// IIS %u encoding and full-width solidus.
		{"..%u2215etc%u2215passwd", "../etc/passwd"},
		{"%uff0e%uff0e%uff0f", "../"},
		// Three-byte overlong "." (e0 80 ae) and the lax forms listed with
		// them (%c0%2e, %e0%40%ae).
		{"%e0%80%ae%e0%80%ae/", "../"},
		{"%c0%2e%c0%2e%c0%af", "../"},
		{"%e0%40%ae%e0%40%ae/", "../"},
		// Valid UTF-8 beginning with E0 stays as it is.
		{"%e0%a4%b9", "\u0939"},
		// XSS Filter Evasion: decimal, long decimal without ";", hex
		// without ";" character references.
		{"&#60;script&#62;", "<script>"},
		{"&#0000060&#0000062", "<>"},
		{"&#x3C;&#x3e", "<>"},
		{"&lt;img src=x&gt;", "<img src=x>"},
		{"%26lt%3Bsvg%26gt%3B", "<svg>"},
		// JavaScript escapes.
		{`\x3cscript\x3e`, "<script>"},
		{`\u003cimg\u003e`, "<img>"},
		{`\u{3c}b\u{3e}`, "<b>"},
		// Hex literals of traversal characters.
		{"0x2e0x2e0x2f", "../"},
		// Mixed case.
		{"..%2F..%2FETC%2FPASSWD", "../../etc/passwd"},
		// A query separator that merely looks like an entity stays.
		{"a=1&lt=2&b", "a=1&lt=2&b"},
		// Windows separators.
		{`..\..\windows\win.ini`, "../../windows/win.ini"},
	}
	for _, c := range cases {
		if got := normalize(c.in); got != c.want {
			t.Errorf("normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestShellView checks the shell evasions documented by the OWASP command
// injection pages and PayloadsAllTheThings: quotes and backslashes inside
// a command name, $IFS for a space, empty positional parameters.
func TestShellView(t *testing.T) {
	cases := []struct{ in, want string }{
		{`;c'a't /etc/passwd`, ";cat /etc/passwd"},
		{`;c"a"t /etc/passwd`, ";cat /etc/passwd"},
		{`;c\at /etc/passwd`, ";cat /etc/passwd"},
		{`;cat${IFS}/etc/passwd`, ";cat /etc/passwd"},
		{`;cat$IFS$9/etc/passwd`, ";cat /etc/passwd"},
		{`;w$@hoami`, ";whoami"},
		{`plain text`, "plain text"},
	}
	for _, c := range cases {
		if got := shellView(decode(c.in)); got != c.want {
			t.Errorf("shellView(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestEvasions runs attack variants that use the evasions the pipeline
// and signatures handle, none of them from the labelled corpus, and
// benign requests that look a little like them.
func TestEvasions(t *testing.T) {
	a := testAnalyzer(t)
	cases := []struct {
		uri  string
		want Category // "" = no payload hit
	}{
		{"/download?file=%252e%252e%252f%252e%252e%252fetc%252fpasswd", CatLFI},
		{"/download?file=..%c0%af..%c0%afboot.ini", CatLFI},
		{"/download?file=%u002e%u002e%u2215%u002e%u002e%u2215etc%u2215shadow", CatLFI},
		{"/download?file=....//....//....//etc/hosts", CatLFI},
		{`/download?file=..\..\..\windows\system.ini`, CatLFI},
		{"/download?file=/..%00/..%00/etc/issue", CatLFI},
		{"/download?file=/...../...../etc/group", CatLFI},
		{"/view?p=C:%5CWindows%5Cwin.ini", CatLFI},
		{"/view?p=/WEB-INF/classes/app.properties", CatLFI},
		{"/run?host=x%0aid", CatRCE},
		{"/run?host=x%3Bc%27a%27t%24%7BIFS%7D%2Fetc%2Fpasswd", CatRCE},
		{"/run?host=x%7C%7C%2F%3F%3F%3F%2Fc%3Ft%20%2Fe%3F%3F%2Fp%3F%3F%3F%3Fd", CatRCE},
		{"/run?host=%24%28whoami%29", CatRCE},
		{"/run?host=%2F%3F%3F%3F%2Fc%3Ft+%2Fe%3F%3F%2Fp%3F%3F%3F%3Fd", CatRCE},
		{"/run?host=127.0.0.1%26%26uname%20-a", CatRCE},
		{"/run?host=whoami%7C", CatRCE},
		{"/run?host=x%3Bcat%3C%2Fetc%2Fshadow", CatRCE},
		{"/q?s=%26%23x3C%3Bsvg%2Fonload%3Dalert%281%29%26%23x3E%3B", CatXSS},
		{"/q?s=%3Cimg%20src%3Dx%20oNeRrOr%3Dprompt%601%60%3E", CatXSS},
		{"/q?s=%5Cx3cscript%5Cx3econfirm(1)%5Cx3c/script%5Cx3e", CatXSS},
		{"/q?s=javascript%3Adocument.location%3D%27%2F%2Fx%27", CatXSS},
		{"/q?s=%22%3E%3Cdetails%20open%20ontoggle%3Dalert(1)%3E", CatXSS},
		{"/q?s=x%22%20autofocus%20onfocus%3Dalert(1)%20x%3D%22", CatXSS},
		// Benign look-alikes.
		{"/search?q=o%27neil+%26+sons", ""},
		{"/search?q=rock+%26+roll&page=2", ""},
		{"/search?q=c%2B%2B+tutorial", ""},
		{"/search?q=1..5+stars", ""},
		{"/api/items?fields=id;name&sort=id", ""},
		{"/docs/v1.2/index.html?lang=en", ""},
		{"/search?q=%E4%B8%AD%E6%96%87%E6%96%87%E6%A1%A3", ""},
		{"/search?q=baby+sleep+12+hours", ""},
		{"/search?q=this+%26+more", ""},
		{"/cgi-bin/env.pl?x=1", ""},
		{"/search?q=online+alerts&prompt=yes", ""},
		{"/go?to=/home&ref=nav", ""},
	}
	for _, c := range cases {
		hits := analyze(t, a, []string{line("203.0.113.9", 0, "GET", c.uri, 200, 1000, browser)})
		var payloadHits []Hit
		for _, h := range hits {
			if slices.ContainsFunc(h.Layers, func(l string) bool { return !strings.HasPrefix(l, "behaviour:") }) {
				payloadHits = append(payloadHits, h)
			}
		}
		switch {
		case c.want == "" && len(payloadHits) > 0:
			t.Errorf("%s: false hit %s %v", c.uri, payloadHits[0].Category, payloadHits[0].Layers)
		case c.want != "" && (len(payloadHits) == 0 || payloadHits[0].Category != c.want):
			t.Errorf("%s: %+v, want %s", c.uri, payloadHits, c.want)
		}
	}
}

// FuzzNormalize runs the decoding pipeline on arbitrary input: it must
// not panic, must return valid UTF-8 and must not grow the text.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"%252e%252e%252f", "&#0000060;&#x3e", `\x3c\u{3e}\u003c`, "..%c0%af%c1%1c%e0%80%ae%f0%80%80%ae", "${IFS}c'a't$9", "&", "&#", "&#x", "%u", `\u{`, "\xc0", "\xe0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d := decode(in)
		n := pathView(d)
		sh := shellView(d)
		// Every decoder shrinks its input; only lower-casing a few runes
		// (U+023A) grows them, by half.
		if len(n) > len(in)*3/2+4 {
			t.Fatalf("normalised text grew from %d to %d bytes", len(in), len(n))
		}
		if !utf8.ValidString(n) || !utf8.ValidString(sh) {
			t.Fatalf("invalid UTF-8 from %q", in)
		}
		_ = suspiciousText(n)
		_ = hasJNDI(n)
	})
}

// BenchmarkInspect measures the cheap layers (decoding pipeline,
// prefilter, signatures) per request, without CRS: on benign requests,
// which the prefilter stops, and on encoded attacks, which go through every
// view and signature.
func BenchmarkInspect(b *testing.B) {
	a, err := New(Options{System: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, uri string }{
		{"benign", "/search.php?q=running+shoes&page=2&sort=price"},
		{"static", "/static/app.3f9a.js?v=1700000000"},
		{"attack", "/run?host=x%253Bc%2527a%2527t%2524%257BIFS%257D%252Fetc%252Fpasswd&q=%26%23x3C%3Bsvg%2Fonload%3Dalert%281%29%26%23x3E%3B"},
	} {
		rec := Record{Method: "GET", UA: browser}
		rec.setURI(bc.uri)
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				_ = a.inspect(&rec)
			}
		})
	}
}
