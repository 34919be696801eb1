package discovery

import (
	"bytes"
	"context"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"22,80,443", "1-1024", "-", "top:100", "-100,60000-", "0", "80-22"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ports, err := ParsePorts(spec)
		if err != nil {
			return
		}
		if len(ports) == 0 {
			t.Fatal("no ports and no error")
		}
		for i, p := range ports {
			if p == 0 || (i > 0 && ports[i-1] >= p) {
				t.Fatalf("ports not sorted, unique and non-zero: %v", ports[max(0, i-1):i+1])
			}
		}
	})
}

func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "127.0.0.0/24", "127.0.0.1-20", "127.0.0.1-127.0.1.5", "::1", "localhost", "10.0.0.0/8", "::/0", "127.0.0.1;x"} {
		f.Add(s, "127.0.0.5")
	}
	scope := NewScope(append(LoopbackPrefixes(), netip.MustParsePrefix("192.0.2.0/24"))...)
	f.Fuzz(func(t *testing.T, spec, exclude string) {
		tg, err := ParseTargets(context.Background(), strings.Split(spec, "|"),
			TargetOptions{Scope: scope, Exclude: []string{exclude}, MaxAddrs: 1 << 12, Resolver: testResolver})
		if err != nil {
			return
		}
		if tg.Len() == 0 || tg.Len() > 1<<12 {
			t.Fatalf("Len %d outside (0, cap]", tg.Len())
		}
		var n uint64
		var prev netip.Addr
		for a := range tg.All() {
			if !scope.ContainsAddr(a) {
				t.Fatalf("%s outside scope", a)
			}
			if prev.IsValid() && !prev.Less(a) {
				t.Fatalf("%s after %s: not sorted and unique", a, prev)
			}
			prev = a
			n++
		}
		if n != tg.Len() {
			t.Fatalf("All yielded %d, Len %d", n, tg.Len())
		}
	})
}

// FuzzHTTPPage feeds arbitrary answers to the HTTP probe's parsers: the
// response reader, the title and icon extraction and the redirect
// resolution. Nothing may panic; the title stays bounded, valid UTF-8
// without control characters; a redirect the scan may follow stays on an
// address in scope.
func FuzzHTTPPage(f *testing.F) {
	f.Add([]byte("HTTP/1.1 302 Found\r\nLocation: /home/\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=gbk\r\n\r\n<title>\xb5\xa5\xb5\xe3\xb5\xc7\xc2\xbc</title>"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<titl\r\n3\r\ne>x\r\n0\r\n\r\n"))
	scope := NewScope(append(LoopbackPrefixes(), netip.MustParsePrefix("192.0.2.0/24"))...)
	base, _ := url.Parse("http://127.0.0.1:8080/a/")
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := readPage(bytes.NewReader(raw), 1024)
		if err != nil {
			return
		}
		if len(p.body) > 1024 {
			t.Fatalf("%d bytes of body kept", len(p.body))
		}
		title, _ := pageInfo(p.body, p.contentType)
		if len(title) > maxFieldLen || !utf8.ValidString(title) {
			t.Fatalf("title %q", title)
		}
		for _, r := range title {
			if unicode.IsControl(r) {
				t.Fatalf("control character in title %q", title)
			}
		}
		next, why := nextHop(base, p.location, scope)
		if why != "" {
			return
		}
		a, err := netip.ParseAddr(next.Hostname())
		if err != nil || !scope.ContainsAddr(a.Unmap()) || (next.Scheme != "http" && next.Scheme != "https") {
			t.Fatalf("would follow %q (from %q)", next, p.location)
		}
		if _, ok := urlPort(next); !ok {
			t.Fatalf("would follow %q without a port", next)
		}
	})
}
