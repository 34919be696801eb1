package scan

import (
	"os"
	"testing"
)

// FuzzParseOSV: any input gives an advisory or an error, never a panic,
// and an accepted advisory can be indexed and matched.
func FuzzParseOSV(f *testing.F) {
	f.Add([]byte(`{"id":"GHSA-x","affected":[{"package":{"ecosystem":"PyPI","name":"django"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.2.5"}]}],"versions":["3.2.4"]}]}`))
	f.Add([]byte(`{"id":"DSA-1","affected":[{"package":{"ecosystem":"Debian:12","name":"openssh"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:9.2p1-2+deb12u3"}]}]}]}`))
	f.Add([]byte(`{"id":`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseOSV(data)
		if err != nil {
			return
		}
		db := NewOSVDB()
		if err := db.Add(a); err != nil {
			return
		}
		for _, af := range a.Affected {
			_ = db.Match(af.Package.Ecosystem, af.Package.Name, "1.0")
		}
	})
}

// FuzzParseHTTPChecks: the admin-path catalogue loader refuses bad input
// with an error and accepts the embedded catalogue.
func FuzzParseHTTPChecks(f *testing.F) {
	if b, err := os.ReadFile("checks/http.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("checks:\n  - id: x\n    path: /x\n    title: X\n    severity: low\n    layer: network\n    status: [200]\n    remediation: r\n"))
	f.Add([]byte("checks: &a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := ParseHTTPChecks(data)
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.ID == "" || c.Path == "" || c.Path[0] != '/' {
				t.Fatalf("accepted a check without id or path: %+v", c)
			}
		}
	})
}

// FuzzParseProducts: the product catalogue loader never panics and every
// accepted pattern captures a version.
func FuzzParseProducts(f *testing.F) {
	if b, err := os.ReadFile("checks/products.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("products:\n  - cpe: a:b\n    name: B\n    pattern: 'B/([0-9.]+)'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProducts(data)
		if err != nil {
			return
		}
		_ = p.Detect("B/1.2 OpenSSH_8.9p1 nginx/1.18.0")
	})
}

func TestEmbeddedCatalogues(t *testing.T) {
	cs, err := DefaultHTTPChecks()
	if err != nil || len(cs) < 5 {
		t.Fatalf("http checks: %d, %v", len(cs), err)
	}
	p, err := DefaultProducts()
	if err != nil {
		t.Fatal(err)
	}
	// OpenSSH 8.9p1 (Ubuntu 22.04's) lies in regreSSHion's range
	// 8.5p1 <= v < 9.8p1; 9.8p1 does not.
	d := p.Detect("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6")
	if len(d) != 1 || d[0].Version != "8.9p1" {
		t.Fatalf("detected %+v", d)
	}
	ids := func(v string) (out []string) {
		for _, a := range p.Affecting("openbsd:openssh", v) {
			out = append(out, a.ID)
		}
		return out
	}
	if got := ids("8.9p1"); len(got) != 2 {
		t.Errorf("OpenSSH 8.9p1: %v, want CVE-2024-6387 and CVE-2023-38408", got)
	}
	if got := ids("9.8p1"); len(got) != 0 {
		t.Errorf("OpenSSH 9.8p1: %v, want none", got)
	}
	for _, bad := range []string{"", "checks: [{id: 'a b'}]", "checks: [{id: x, path: /, title: t, severity: bad, layer: network, status: [200], remediation: r}]",
		"checks: [{id: x, path: /, title: t, severity: low, layer: network, remediation: r}]", "unknown: 1"} {
		if _, err := ParseHTTPChecks([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
