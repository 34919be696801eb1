package exposure_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// zoneServer answers A queries from a map on a loopback UDP port (and
// NXDOMAIN for anything else), and returns a resolver that asks only it.
func zoneServer(t *testing.T, zone map[string]string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("loopback UDP: %v", err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			addr, found := zone[strings.TrimSuffix(strings.ToLower(q.Name.String()), ".")]
			rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true}
			if !found {
				rh.RCode = dnsmessage.RCodeNameError
			}
			b := dnsmessage.NewBuilder(nil, rh)
			_ = b.StartQuestions()
			_ = b.Question(q)
			_ = b.StartAnswers()
			if a := netip.MustParseAddr(orZero(addr)); found && q.Type == dnsmessage.TypeA {
				_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
					dnsmessage.AResource{A: a.As4()})
			}
			if msg, err := b.Finish(); err == nil {
				_, _ = pc.WriteTo(msg, from)
			}
		}
	}()
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func orZero(s string) string {
	if s == "" {
		return "0.0.0.0"
	}
	return s
}

// listenAt starts the SSH-like greeter on addr:port (port 0: any).
func listenAt(t *testing.T, addr string, port int) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"))
			_ = c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// tlsAt starts a TLS server on addr whose certificate names dnsNames.
func tlsAt(t *testing.T, addr string, dnsNames ...string) int {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: dnsNames[0]}, DNSNames: dnsNames,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", addr+":0", &tls.Config{MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				_ = c.Close()
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRunEnumeratesSubdomains runs a discovery of one address with
// subdomain enumeration against a DNS server on loopback: wordlist names
// in the tenant's space are scanned, a name pointing outside it is
// recorded and not scanned, a certificate name found on the way leads to
// one more host; new hosts are named after their names. Domains the
// tenant did not declare, and oversized wordlists, are refused.
func TestRunEnumeratesSubdomains(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	resolver := zoneServer(t, map[string]string{
		"www.corp.test":   "127.0.0.2",
		"mail.corp.test":  "127.0.0.1",
		"vpn.corp.test":   "192.0.2.7", // outside the declared space
		"intra.corp.test": "127.0.0.4", // only in a certificate
	})
	var queued []string
	svc := exposure.NewService(e.Store, e.Audit, exposure.Options{Rate: 2000, Timeout: 500 * time.Millisecond, Resolver: resolver,
		Enqueue: func(_ context.Context, _, id string) error { queued = append(queued, id); return nil }})

	sd := exposure.Subdomains{Words: []string{"www", "vpn", "mail", "nothing"}, Certificates: true}
	_, err := svc.Start(ctx, e.TenantA.ID, exposure.Input{Targets: "127.0.0.1", Ports: "22"})
	var fe *store.FieldError
	if !errors.As(err, &fe) || fe.Field != "targets" {
		t.Fatalf("start without a declared space: %v", err)
	}
	for _, in := range []asset.Input{{Kind: "ip", Name: "lab", Address: "127.0.0.0/29"}} {
		if _, err := e.Assets.Create(ctx, e.TenantA.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	// No declared domain yet: subdomain enumeration is refused.
	if _, err := svc.Start(ctx, e.TenantA.ID, exposure.Input{Targets: "127.0.0.1", Ports: "22", Subdomains: sd}); !errors.As(err, &fe) ||
		fe.Field != "subdomain_domains" || fe.Code != store.CodeRequired {
		t.Fatalf("subdomains without a declared domain: %v", err)
	}
	if _, err := e.Assets.Create(ctx, e.TenantA.ID, asset.Input{Kind: "domain", Name: "corp", Address: "corp.test"}); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		sd          exposure.Subdomains
		field, code string
	}{
		{exposure.Subdomains{Domains: []string{"other.test"}, Words: []string{"www"}}, "subdomain_domains", store.CodeNotInTenant},
		{exposure.Subdomains{Domains: []string{"corp.test.evil.test"}, Words: []string{"www"}}, "subdomain_domains", store.CodeNotInTenant},
		{exposure.Subdomains{Words: make([]string, exposure.MaxRunWords+1)}, "subdomain_words", store.CodeTooMany},
		{exposure.Subdomains{Words: []string{"bad label!"}}, "subdomain_words", store.CodeInvalidConfig},
		{exposure.Subdomains{Domains: []string{"corp.test"}}, "subdomain_words", store.CodeRequired},
	}
	for _, c := range bad {
		_, err := svc.Start(ctx, e.TenantA.ID, exposure.Input{Targets: "127.0.0.1", Ports: "22", Subdomains: c.sd})
		if !errors.As(err, &fe) || fe.Field != c.field || fe.Code != c.code {
			t.Errorf("%+v: %v, want %s %s", c.sd, err, c.field, c.code)
		}
	}
	if len(queued) != 0 {
		t.Fatalf("refused runs were queued: %v", queued)
	}

	ssh := listenAt(t, "127.0.0.2", 0)
	listenAt(t, "127.0.0.4", ssh)
	tlsPort := tlsAt(t, "127.0.0.1", "mail.corp.test", "intra.corp.test", "elsewhere.example")
	ports := strconv.Itoa(ssh) + "," + strconv.Itoa(tlsPort)
	run, err := svc.Start(ctx, e.TenantA.ID, exposure.Input{Targets: "127.0.0.1", Ports: ports, Subdomains: sd})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Run(ctx, e.TenantA.ID, run.ID); err != nil {
		t.Fatal(err)
	}
	got, res, err := svc.Get(ctx, e.TenantA.ID, run.ID)
	if err != nil || got.Status != exposure.StatusDone {
		t.Fatalf("run %+v: %v", got, err)
	}
	want := []exposure.SubdomainFound{
		{Name: "intra.corp.test", Source: "certificate", Addrs: []string{"127.0.0.4"}},
		{Name: "mail.corp.test", Source: "wordlist", Addrs: []string{"127.0.0.1"}},
		{Name: "vpn.corp.test", Source: "wordlist", OutOfScope: []string{"192.0.2.7"}},
		{Name: "www.corp.test", Source: "wordlist", Addrs: []string{"127.0.0.2"}},
	}
	if !slices.EqualFunc(res.Subdomains, want, func(a, b exposure.SubdomainFound) bool {
		return a.Name == b.Name && a.Source == b.Source && slices.Equal(a.Addrs, b.Addrs) && slices.Equal(a.OutOfScope, b.OutOfScope)
	}) {
		t.Errorf("subdomains %+v\nwant %+v", res.Subdomains, want)
	}
	var open []string
	for _, p := range res.Open {
		open = append(open, p.Host+":"+strconv.Itoa(int(p.Port)))
	}
	wantOpen := []string{"127.0.0.1:" + strconv.Itoa(tlsPort), "127.0.0.2:" + strconv.Itoa(ssh), "127.0.0.4:" + strconv.Itoa(ssh)}
	if !slices.Equal(open, wantOpen) {
		t.Errorf("open %v, want %v (192.0.2.7 never scanned)", open, wantOpen)
	}
	names := map[string]string{}
	for _, c := range res.New {
		a, err := e.Assets.Get(ctx, e.TenantA.ID, c.AssetID)
		if err != nil {
			t.Fatal(err)
		}
		names[a.Address] = a.Name + " " + a.Attributes["hostnames"]
	}
	wantNames := map[string]string{"127.0.0.1": "mail.corp.test mail.corp.test", "127.0.0.2": "www.corp.test www.corp.test",
		"127.0.0.4": "intra.corp.test intra.corp.test"}
	if len(names) != len(wantNames) {
		t.Errorf("new assets %v, want %v", names, wantNames)
	}
	for k, v := range wantNames {
		if names[k] != v {
			t.Errorf("new asset %s: %q, want %q", k, names[k], v)
		}
	}
}
