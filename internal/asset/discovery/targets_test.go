package discovery

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeResolver answers from a map; it never touches the network.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

var testResolver = fakeResolver{
	"localhost":       {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
	"lo.example":      {netip.MustParseAddr("127.0.0.2")},
	"outside.example": {netip.MustParseAddr("192.0.2.10")},
}

func loopback() Scope { return NewScope(LoopbackPrefixes()...) }

func addrs(t *testing.T, tg *Targets) []string {
	t.Helper()
	var out []string
	for a := range tg.All() {
		out = append(out, a.String())
	}
	return out
}

func TestParseTargets(t *testing.T) {
	tests := []struct {
		name    string
		specs   []string
		exclude []string
		want    []string
	}{
		{"single", []string{"127.0.0.1"}, nil, []string{"127.0.0.1"}},
		{"cidr", []string{"127.0.0.4/30"}, nil, []string{"127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"}},
		{"short range", []string{"127.0.0.1-3"}, nil, []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}},
		{"full range", []string{"127.0.0.254-127.0.1.1"}, nil, []string{"127.0.0.254", "127.0.0.255", "127.0.1.0", "127.0.1.1"}},
		{"comma list merged", []string{"127.0.0.3,127.0.0.1-2", "127.0.0.2"}, nil, []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}},
		{"ipv6", []string{"::1"}, nil, []string{"::1"}},
		{"hostname", []string{"localhost"}, nil, []string{"127.0.0.1", "::1"}},
		{"exclude middle", []string{"127.0.0.0/29"}, []string{"127.0.0.2-5"}, []string{"127.0.0.0", "127.0.0.1", "127.0.0.6", "127.0.0.7"}},
		{"exclude cidr and host", []string{"127.0.0.1-4", "::1"}, []string{"127.0.0.0/31", "lo.example", "::1"}, []string{"127.0.0.3", "127.0.0.4"}},
		{"mapped", []string{"::ffff:127.0.0.9"}, nil, []string{"127.0.0.9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := ParseTargets(context.Background(), tt.specs, TargetOptions{Scope: loopback(), Exclude: tt.exclude, Resolver: testResolver})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, addrs(t, tg)); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
			if tg.Len() != uint64(len(tt.want)) {
				t.Errorf("Len = %d, want %d", tg.Len(), len(tt.want))
			}
		})
	}
}

func TestParseTargetsErrors(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		opts  TargetOptions
		want  string
	}{
		{"bad cidr", []string{"127.0.0.1/33"}, TargetOptions{Scope: loopback()}, "invalid CIDR"},
		{"bad range end", []string{"127.0.0.1-256"}, TargetOptions{Scope: loopback()}, "> 255"},
		{"reversed", []string{"127.0.0.9-3"}, TargetOptions{Scope: loopback()}, "before start"},
		{"mixed family", []string{"127.0.0.1-::1"}, TargetOptions{Scope: loopback()}, "mixes"},
		{"junk", []string{"127.0.0.1;rm"}, TargetOptions{Scope: loopback()}, "not an address"},
		{"no resolver", []string{"localhost"}, TargetOptions{Scope: loopback()}, "need a resolver"},
		{"unknown host", []string{"nope.example"}, TargetOptions{Scope: loopback(), Resolver: testResolver}, "resolve"},
		{"cap", []string{"127.0.0.0/8"}, TargetOptions{Scope: loopback(), MaxAddrs: 1 << 16}, "more than 65536"},
		{"default cap", []string{"::/64"}, TargetOptions{Scope: NewScope(netip.MustParsePrefix("::/0"))}, "more than 1048576"},
		{"all excluded", []string{"127.0.0.1"}, TargetOptions{Scope: loopback(), Exclude: []string{"127.0.0.0/8"}}, "no targets left"},
		{"empty", nil, TargetOptions{Scope: loopback()}, "no targets"},
		{"zone", []string{"fe80::1%lo"}, TargetOptions{Scope: loopback()}, "zoned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTargets(context.Background(), tt.specs, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestParseTargetsScope(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		scope Scope
	}{
		{"no scope refuses loopback", []string{"127.0.0.1"}, Scope{}},
		{"documentation address", []string{"192.0.2.1"}, loopback()},
		{"range leaving scope", []string{"127.255.255.254-128.0.0.1"}, loopback()},
		{"cidr wider than scope", []string{"126.0.0.0/7"}, loopback()},
		{"hostname resolving outside", []string{"outside.example"}, loopback()},
		{"ipv6 outside", []string{"::2"}, loopback()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTargets(context.Background(), tt.specs, TargetOptions{Scope: tt.scope, Resolver: testResolver})
			if !errors.Is(err, ErrOutOfScope) {
				t.Fatalf("err = %v, want ErrOutOfScope", err)
			}
			if !strings.Contains(err.Error(), "not inside scope") {
				t.Errorf("error %q does not explain the refusal", err)
			}
		})
	}
	// Excluding the part outside scope makes the target acceptable.
	tg, err := ParseTargets(context.Background(), []string{"127.255.255.254-128.0.0.1"},
		TargetOptions{Scope: loopback(), Exclude: []string{"128.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := addrs(t, tg); !slices.Equal(got, []string{"127.255.255.254", "127.255.255.255"}) {
		t.Errorf("got %v", got)
	}
}

func TestScopeContainsAdjacentPrefixes(t *testing.T) {
	s, err := ParseScope([]string{"127.0.0.0/25", "127.0.0.128/25", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	r := Range{netip.MustParseAddr("127.0.0.5"), netip.MustParseAddr("127.0.0.200")}
	if !s.Contains(r) {
		t.Errorf("%s should be inside %s", r, s)
	}
	if s.Contains(Range{netip.MustParseAddr("127.0.0.5"), netip.MustParseAddr("127.0.1.0")}) {
		t.Error("range past the scope accepted")
	}
	if !s.ContainsAddr(netip.MustParseAddr("::1")) || s.ContainsAddr(netip.MustParseAddr("::2")) {
		t.Error("single-address scope wrong")
	}
	if _, err := ParseScope([]string{"nonsense"}); err == nil {
		t.Error("bad scope accepted")
	}
}
