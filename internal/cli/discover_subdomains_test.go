package cli

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset/discovery"
)

// fakeDNS answers from a map; other names do not exist.
type fakeDNS map[string][]netip.Addr

var errNoSuchHost = errors.New("no such host")

func (f fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if as, ok := f[host]; ok {
		return as, nil
	}
	return nil, errNoSuchHost
}

func TestExpandSubdomains(t *testing.T) {
	if got := strings.Join(domainArgs([]string{"127.0.0.1", "10.0.0.0/8", "192.0.2.1-20", "Example.Test.", "localhost", "::1", "a.test,b.test"}), " "); got != "example.test a.test b.test" {
		t.Fatalf("domainArgs: %s", got)
	}
	dns := fakeDNS{
		"www.example.test": {netip.MustParseAddr("127.0.0.2")},
		"api.example.test": {netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("198.51.100.1")},
		"old.example.test": {netip.MustParseAddr("127.0.0.4")},
	}
	scope := discovery.NewScope(discovery.LoopbackPrefixes()...)
	var log bytes.Buffer
	got, err := expandSubdomains(t.Context(), &log, []string{"example.test"},
		discovery.SubdomainOptions{Resolver: dns, Words: []string{"www", "api", "mail"}, SANs: []string{"old.example.test"}},
		scope, map[netip.Addr]bool{netip.MustParseAddr("127.0.0.4"): true})
	if err != nil {
		t.Fatal(err)
	}
	// 198.51.100.1 is outside the scope and 127.0.0.4 was scanned already.
	if strings.Join(got, " ") != "127.0.0.3 127.0.0.2" {
		t.Fatalf("addresses %v", got)
	}
	for _, want := range []string{"subdomain api.example.test (wordlist): 127.0.0.3 [outside scope, not scanned: 198.51.100.1]",
		"subdomain old.example.test (certificate): \n", "subdomain www.example.test (wordlist): 127.0.0.2"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}
