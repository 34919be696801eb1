package discovery

import (
	"context"
	"net/netip"
	"strings"
	"testing"
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
