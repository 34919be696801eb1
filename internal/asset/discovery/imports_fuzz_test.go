package discovery

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode"
	"unicode/utf8"
)

func FuzzParseImport(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "imports", "*.*"))
	for _, p := range files {
		if filepath.Ext(p) == ".md" {
			continue
		}
		data, err := os.ReadFile(p) // #nosec G304 -- test data
		if err != nil {
			f.Fatal(err)
		}
		f.Add("", data)
	}
	f.Add(FormatNmap, []byte(`<?xml version="1.0"?><nmaprun><host><address addr="192.0.2.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="22"><state state="open"/><service name="ssh"/></port></ports></host></nmaprun>`))
	f.Add(FormatNaabu, []byte(`{"ip":"192.0.2.1","port":80,"protocol":"tcp"}`))
	f.Add(FormatMasscan, []byte(`[{"ip":"192.0.2.1","timestamp":"1","ports":[{"port":80,"proto":"tcp","status":"open"}]},]`))
	f.Fuzz(func(t *testing.T, format string, data []byte) {
		if !slices.Contains(ImportFormats, format) {
			format = ""
		}
		obs, got, err := ParseImport(context.Background(), format, "fuzz", bytes.NewReader(data))
		if err != nil {
			if obs != nil {
				t.Fatalf("error %v with %d observations", err, len(obs))
			}
			return
		}
		if len(obs) > MaxObservations {
			t.Fatalf("%d observations over the bound", len(obs))
		}
		for _, o := range obs {
			if o.Source != got {
				t.Fatalf("source %q, format %q", o.Source, got)
			}
			if o.Host != "" {
				if a, err := netip.ParseAddr(o.Host); err != nil || a.String() != o.Host {
					t.Fatalf("host %q not a canonical address", o.Host)
				}
			} else if len(o.Hostnames) == 0 {
				t.Fatal("observation with neither address nor name")
			}
			for _, n := range o.Hostnames {
				if cleanHostname(n) != n {
					t.Fatalf("host name %q not clean", n)
				}
			}
			for _, s := range []string{o.Service, o.Product, o.Version, o.Banner, o.Title, o.TLS, o.Location, o.Transport} {
				if len(s) > maxObsBanner || !utf8.ValidString(s) {
					t.Fatalf("field %q unbounded or not UTF-8", s)
				}
				for _, r := range s {
					if unicode.IsControl(r) {
						t.Fatalf("control character in %q", s)
					}
				}
			}
		}
	})
}
