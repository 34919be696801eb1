package discovery

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsServer is a tiny authoritative server on a loopback UDP port: names
// map to addresses; "*.zone" is a wildcard; anything else is NXDOMAIN.
type dnsServer struct {
	records map[string][]netip.Addr
	queries atomic.Int64
}

func startDNS(t *testing.T, records map[string][]netip.Addr) (*dnsServer, *net.Resolver) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback UDP: %v", err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	s := &dnsServer{records: records}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp, ok := s.answer(buf[:n]); ok {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	addr := pc.LocalAddr().String()
	return s, &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func (s *dnsServer) lookup(name string) ([]netip.Addr, bool) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if as, ok := s.records[name]; ok {
		return as, true
	}
	if _, parent, ok := strings.Cut(name, "."); ok {
		as, ok := s.records["*."+parent]
		return as, ok
	}
	return nil, false
}

func (s *dnsServer) answer(req []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	s.queries.Add(1)
	as, found := s.lookup(q.Name.String())
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !found {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	_ = b.StartQuestions()
	_ = b.Question(q)
	_ = b.StartAnswers()
	for _, a := range as {
		rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
		switch {
		case a.Is4() && q.Type == dnsmessage.TypeA:
			_ = b.AResource(rr, dnsmessage.AResource{A: a.As4()})
		case a.Is6() && q.Type == dnsmessage.TypeAAAA:
			_ = b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
	}
	msg, err := b.Finish()
	return msg, err == nil
}

func dnsAddrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

func TestEnumerateSubdomains(t *testing.T) {
	_, res := startDNS(t, map[string][]netip.Addr{
		"example.test":      dnsAddrs("192.0.2.1"),
		"www.example.test":  dnsAddrs("192.0.2.1"),
		"mail.example.test": dnsAddrs("192.0.2.2", "2001:db8::2"),
		"vpn.example.test":  dnsAddrs("192.0.2.3"),
		"*.wild.test":       dnsAddrs("192.0.2.99"),
		"app.wild.test":     dnsAddrs("192.0.2.50"),
	})
	ctx := t.Context()
	got, err := EnumerateSubdomains(ctx, "Example.Test.", SubdomainOptions{Resolver: res,
		Words: []string{"www", "mail", "ftp", "# comment", ""},
		SANs:  []string{"vpn.example.test", "*.example.test", "other.example.org", "VPN.example.test."}})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, s := range got {
		var as []string
		for _, a := range s.Addrs {
			as = append(as, a.String())
		}
		lines = append(lines, s.Name+" "+strings.Join(as, ",")+" "+s.Source)
	}
	want := "mail.example.test 192.0.2.2,2001:db8::2 wordlist|vpn.example.test 192.0.2.3 certificate|www.example.test 192.0.2.1 wordlist"
	if g := strings.Join(lines, "|"); g != want {
		t.Fatalf("found\n %s\nwant\n %s", g, want)
	}

	// Under a wildcard only names with their own addresses count.
	got, err = EnumerateSubdomains(ctx, "wild.test", SubdomainOptions{Resolver: res, Words: []string{"www", "app", "mail"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "app.wild.test" {
		t.Fatalf("wildcard domain: %+v, want only app.wild.test", got)
	}
}

func TestEnumerateSubdomainsBounds(t *testing.T) {
	srv, res := startDNS(t, map[string][]netip.Addr{"w1.example.test": dnsAddrs("192.0.2.1")})
	words := make([]string, 100)
	for i := range words {
		words[i] = "w" + string(rune('0'+i%10)) + string(rune('a'+i/10))
	}
	words[0] = "w1"
	before := srv.queries.Load()
	got, err := EnumerateSubdomains(t.Context(), "example.test", SubdomainOptions{Resolver: res, Words: words, MaxNames: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "w1.example.test" {
		t.Fatalf("found %+v", got)
	}
	// Ten names and the wildcard probe, each asked for A and AAAA (a
	// resolver may also retry a name under its search domains).
	if q := srv.queries.Load() - before; q > 4*11 {
		t.Fatalf("%d queries for 10 names: the bound did not hold", q)
	}
	if _, err := EnumerateSubdomains(t.Context(), "example.test", SubdomainOptions{Resolver: res, Words: make([]string, MaxSubdomainWords+1)}); !errors.Is(err, ErrWordlist) {
		t.Fatalf("huge wordlist: %v", err)
	}
	if _, err := EnumerateSubdomains(t.Context(), "example.test", SubdomainOptions{Resolver: res, Words: []string{"bad word"}}); !errors.Is(err, ErrWordlist) {
		t.Fatalf("bad word: %v", err)
	}
	if _, err := EnumerateSubdomains(t.Context(), "localhost", SubdomainOptions{Resolver: res}); err == nil {
		t.Fatal("a single label is not a domain")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := EnumerateSubdomains(ctx, "example.test", SubdomainOptions{Resolver: res, Words: []string{"w1"}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
