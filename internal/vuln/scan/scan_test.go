package scan_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
	"github.com/vigil-sec/vigil/internal/vuln/scan"
)

// expiredCert is a self-signed certificate for 127.0.0.1 that expired a
// year before now.
func expiredCert(t *testing.T, now time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "old.example"},
		NotBefore: now.AddDate(-3, 0, 0), NotAfter: now.AddDate(-1, 0, 0), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

type lab struct {
	env        *fixture.Env
	svc        *scan.Service
	admin      atomic.Bool // the web server exposes /admin/
	server     atomic.Value
	web, https *httptest.Server
	tcp        net.Listener
	targets    []scan.Target
}

func hostPort(t *testing.T, raw string) (string, int) {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(u.Port())
	return u.Hostname(), p
}

func newLab(t *testing.T) *lab {
	l := &lab{env: fixture.New(t)}
	l.admin.Store(true)
	l.server.Store("nginx/1.18.0")
	ctx := l.env.AdminCtx(t.Context())
	if err := l.env.Store.Assets().Create(ctx, &store.Asset{TenantID: l.env.TenantA.ID, Kind: "ip", Name: "loopback",
		Address: "127.0.0.0/8", Importance: 3}); err != nil {
		t.Fatal(err)
	}
	l.web = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", l.server.Load().(string))
		switch {
		case r.URL.Path == "/admin/" && l.admin.Load():
			_, _ = w.Write([]byte(`<html><title>Admin</title><form>Password <input type="password"></form></html>`))
		case r.URL.Path == "/":
			_, _ = w.Write([]byte(`<html><head><title>Welcome to nginx!</title></head></html>`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(l.web.Close)
	now := time.Now()
	l.https = httptest.NewUnstartedServer(http.NotFoundHandler())
	l.https.TLS = &tls.Config{Certificates: []tls.Certificate{expiredCert(t, now)}, MinVersion: tls.VersionTLS12}
	l.https.Config.ErrorLog = log.New(io.Discard, "", 0) // the TLS check's refused handshakes
	l.https.StartTLS()
	t.Cleanup(l.https.Close)
	var err error
	if l.tcp, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.tcp.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = l.tcp.Close() })
	wh, wp := hostPort(t, l.web.URL)
	th, tp := hostPort(t, l.https.URL)
	_, ps, _ := net.SplitHostPort(l.tcp.Addr().String())
	pp, _ := strconv.Atoi(ps)
	l.targets = []scan.Target{
		{Host: wh, Port: wp, Service: "http", Banner: "200 OK nginx/1.18.0"},
		{Host: th, Port: tp, Service: "https", ServerName: "www.example.org"},
		{Host: "127.0.0.1", Port: pp, Service: "unknown"},
		{Host: "192.0.2.10", Port: 6379, Service: "redis"}, // outside the tenant's scope
	}
	l.svc, err = scan.New(l.env.Store, l.env.Vulns, l.env.Exposure, scan.Options{Timeout: 2 * time.Second,
		NmapPath: "-", NucleiPath: "-", RiskyPorts: map[int]string{pp: "test service"},
		Targets: func(context.Context, string) ([]scan.Target, error) { return l.targets, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func byRule(t *testing.T, l *lab) map[string]store.VulnFinding {
	t.Helper()
	list, _, err := l.env.Vulns.List(l.env.AdminCtx(t.Context()), l.env.TenantA.ID, lifecycle.Filter{Scanner: "vigil",
		Page: store.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.VulnFinding{}
	for _, f := range list {
		out[f.RuleID] = f
	}
	return out
}

func TestScanAndVerify(t *testing.T) {
	l := newLab(t)
	ctx := l.env.AdminCtx(t.Context())
	res, err := l.svc.Scan(ctx, l.env.TenantA.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Targets != 3 {
		t.Errorf("scanned %d targets, want the 3 in scope", res.Targets)
	}
	if !slices.Equal(res.Skipped, []string{"nmap", "nuclei"}) {
		t.Errorf("skipped %v, want nmap and nuclei (not installed)", res.Skipped)
	}
	got := byRule(t, l)
	_, tcpPort, _ := net.SplitHostPort(l.tcp.Addr().String())
	want := map[string]string{ // rule → layer
		"port/" + tcpPort:         "network",
		"tls/cert-expired":        "configuration",
		"tls/self-signed":         "configuration",
		"tls/hostname-mismatch":   "configuration",
		"http/admin-login":        "application",
		"http/nginx-default-page": "configuration",
		"version/CVE-2021-23017":  "application",
	}
	for rule, layer := range want {
		f, ok := got[rule]
		if !ok {
			t.Errorf("no finding %s; have %v", rule, keys(got))
			continue
		}
		if f.Layer != layer || f.Remediation == "" || f.State != lifecycle.StateNew || f.Scanner != "vigil" {
			t.Errorf("%s: layer %q state %q scanner %q remediation %q", rule, f.Layer, f.State, f.Scanner, f.Remediation)
		}
	}
	if f := got["http/nginx-default-page"]; !slices.Contains(f.References, "baseline:vigil_nginx/70501") {
		t.Errorf("default page finding has no baseline link: %v", f.References)
	}
	if f := got["version/CVE-2021-23017"]; !slices.Equal(f.CVEs, []string{"CVE-2021-23017"}) || f.Severity != "high" {
		t.Errorf("version finding: CVEs %v severity %s", f.CVEs, f.Severity)
	}
	for rule := range got {
		if strings.Contains(rule, "6379") {
			t.Errorf("out-of-scope target was scanned: %s", rule)
		}
	}

	// A rescan changes nothing: same fingerprints.
	res2, err := l.svc.Scan(ctx, l.env.TenantA.ID)
	if err != nil || res2.Scans[0].Added != 0 {
		t.Fatalf("rescan: %+v, %v", res2.Scans, err)
	}

	// Fixes, verified one by one.
	verify := func(rule string, wantPresent bool, wantState string) {
		t.Helper()
		v, err := l.svc.Verify(ctx, l.env.TenantA.ID, byRule(t, l)[rule].ID)
		if err != nil {
			t.Fatalf("verify %s: %v", rule, err)
		}
		if v.Present != wantPresent || v.State != wantState || v.Evidence == "" {
			t.Errorf("verify %s: %+v, want present %v state %s", rule, v, wantPresent, wantState)
		}
	}
	verify("tls/cert-expired", true, lifecycle.StateNew)
	_ = l.tcp.Close()
	verify("port/"+tcpPort, false, lifecycle.StateClosed)
	l.admin.Store(false)
	verify("http/admin-login", false, lifecycle.StateClosed)
	l.server.Store("nginx/1.25.3")
	verify("version/CVE-2021-23017", false, lifecycle.StateClosed)
	// The panel comes back: the closed finding is reopened.
	l.admin.Store(true)
	verify("http/admin-login", true, lifecycle.StateReopened)

	evs, err := l.env.Store.Audit().List(ctx, store.AuditFilter{TenantID: l.env.TenantA.ID, Action: "vuln.verify"})
	if err != nil || len(evs) != 5 {
		t.Errorf("audited verifications: %d (%v), want 5", len(evs), err)
	}

	// Another tenant's user cannot verify A's finding; a read-only user
	// cannot verify at all.
	id := byRule(t, l)["tls/self-signed"].ID
	if _, err := l.svc.Verify(l.env.As(t.Context(), l.env.CustomerB), l.env.TenantA.ID, id); err == nil {
		t.Error("a user of another tenant verified a finding")
	}
	if _, err := l.svc.Verify(ctx, l.env.TenantB.ID, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("verify through the wrong tenant: %v, want not found", err)
	}
}

func TestExternalToolOutputIsImported(t *testing.T) {
	sample := filepath.Join("..", "..", "..", "..", "shared", "corpus", "defectdojo", "scans", "nmap", "nmap_multiple_port.xml")
	if _, err := os.Stat(sample); err != nil {
		t.Skip("DefectDojo nmap sample not present")
	}
	abs, _ := filepath.Abs(sample)
	bin := filepath.Join(t.TempDir(), "nmap")
	// A stand-in nmap that prints a real nmap XML report.
	if err := os.WriteFile(bin, []byte("#!/bin/sh\ncat '"+abs+"'\n"), 0o700); err != nil { // #nosec G306 -- test executable
		t.Fatal(err)
	}
	l := newLab(t)
	svc, err := scan.New(l.env.Store, l.env.Vulns, l.env.Exposure, scan.Options{Timeout: 2 * time.Second, NmapPath: bin,
		NucleiPath: "-", Targets: func(context.Context, string) ([]scan.Target, error) { return l.targets[2:3], nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := l.env.AdminCtx(t.Context())
	res, err := svc.Scan(ctx, l.env.TenantA.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scans) != 2 || res.Scans[1].Scanner != "nmap" || res.Scans[1].Total == 0 || !slices.Equal(res.Skipped, []string{"nuclei"}) {
		t.Fatalf("scans %+v skipped %v errors %v", res.Scans, res.Skipped, res.Errors)
	}
}

func keys(m map[string]store.VulnFinding) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
