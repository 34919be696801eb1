package discovery

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/vuln"
)

// corpusScans holds DefectDojo's real nmap, masscan and naabu samples.
var corpusScans = filepath.Join("..", "..", "..", "..", "shared", "corpus", "defectdojo", "scans")

func parseFile(t *testing.T, format, path string) ([]Sighting, string) {
	t.Helper()
	f, err := os.Open(path) // #nosec G304 -- test data
	if err != nil {
		if strings.Contains(path, "corpus") {
			testenv.Missing(t, "DefectDojo sample corpus at "+path)
		}
		t.Fatal(err)
	}
	defer f.Close()
	obs, got, err := ParseImport(context.Background(), format, filepath.Base(path), f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return obs, got
}

// brief is an observation in one line, for readable expectations.
func brief(o Sighting) string {
	s := o.Host
	if o.Port != 0 {
		s += ":" + strconv.Itoa(int(o.Port)) + "/" + o.Transport
	}
	s += " svc=" + o.Service + " prod=" + o.Product + " ver=" + o.Version + " title=" + o.Title + " tls=" + o.TLS +
		" names=" + strings.Join(o.Hostnames, ",") + " loc=" + o.Location
	if !o.Seen.IsZero() {
		s += " seen=" + o.Seen.Format(time.RFC3339)
	}
	return s
}

func briefs(obs []Sighting) []string {
	out := make([]string, len(obs))
	for i, o := range obs {
		out[i] = brief(o)
	}
	return out
}

func unix(n int64) string { return time.Unix(n, 0).UTC().Format(time.RFC3339) }

// The search engine and passive DNS inputs are hand-written after each
// vendor's documented field names (see testdata/imports/README.md); the
// expectations below are read off those files by hand.
func TestParseImportSources(t *testing.T) {
	dir := filepath.Join("testdata", "imports")
	tests := []struct {
		file, format string
		want         []string
	}{
		{"shodan.jsonl", FormatShodan, []string{
			"192.0.2.10:22/tcp svc=ssh prod=OpenSSH ver=8.4p1 title= tls= names= loc= seen=2026-10-02T09:00:00Z",
			"192.0.2.10:443/tcp svc=https prod=nginx ver=1.18.0 title=Example Portal tls=CN=www.example.com names=example.com,portal.example.com,www.example.com loc=Netherlands, Amsterdam seen=2026-10-04T10:00:00Z",
			"198.51.100.7:6379/tcp svc=redis prod=Redis key-value store ver= title= tls= names= loc= seen=2026-10-03T10:00:00Z",
		}},
		{"fofa.csv", FormatFOFA, []string{
			"192.0.2.10:443/tcp svc=https prod=nginx/1.18.0 ver= title=Example Portal tls= names=example.com,www.example.com loc= seen=2026-10-05T00:00:00Z",
			"192.0.2.11:8080/tcp svc=http prod=Apache-Coyote/1.1 ver= title=管理后台 tls= names= loc= seen=2026-10-05T00:00:00Z",
			"203.0.113.5:25/tcp svc=smtp prod= ver= title= tls= names=example.com,mail.example.com loc= seen=2026-10-06T12:00:00Z",
		}},
		{"fofa.json", FormatFOFA, []string{
			"192.0.2.10:443/tcp svc= prod= ver= title= tls= names=www.example.com loc=",
			"192.0.2.12:3389/tcp svc= prod= ver= title= tls= names= loc=",
		}},
		{"censys.json", FormatCensys, []string{
			"192.0.2.10:443/tcp svc=https prod=F5 nginx ver=1.18.0 title=Example Portal tls= names=host10.example.net,www.example.com loc=Netherlands, Amsterdam seen=2026-10-07T01:02:03Z",
			"192.0.2.10:8443/tcp svc= prod= ver= title= tls= names=host10.example.net,www.example.com loc=Netherlands, Amsterdam seen=2026-10-07T01:02:03Z",
			"2001:db8::5:53/udp svc=dns prod= ver= title= tls= names= loc= seen=2026-10-07T01:02:03Z",
		}},
		{"zoomeye.json", FormatZoomEye, []string{
			"192.0.2.11:8080/tcp svc=http prod=Apache Tomcat ver=9.0.41 title=管理后台 tls= names=app.example.com loc=China, Beijing seen=2026-10-08T12:00:00Z",
			"203.0.113.9:21/tcp svc=ftp prod=vsftpd ver=3.0.3 title= tls= names= loc= seen=2026-10-08T13:00:00Z",
		}},
		{"crtsh.json", FormatPDNS, []string{
			" svc= prod= ver= title= tls= names=dev.example.com loc= seen=2026-09-02T00:00:00Z",
			" svc= prod= ver= title= tls= names=example.com loc= seen=2026-09-01T00:00:00Z",
			" svc= prod= ver= title= tls= names=www.example.com loc= seen=2026-09-01T00:00:00Z",
		}},
		{"pdns.jsonl", FormatPDNS, []string{
			"192.0.2.10 svc= prod= ver= title= tls= names=www.example.com loc= seen=" + unix(1790000000),
			"198.51.100.99 svc= prod= ver= title= tls= names=old.example.com loc= seen=" + unix(1710000000),
			" svc= prod= ver= title= tls= names=alias.example.com loc=",
		}},
		{"pdns.csv", FormatPDNS, []string{
			"192.0.2.10 svc= prod= ver= title= tls= names=www.example.com loc= seen=2026-10-01T00:00:00Z",
			"192.0.2.20 svc= prod= ver= title= tls= names=vpn.example.com loc= seen=2026-10-02T00:00:00Z",
		}},
		{"masscan.lst", FormatMasscan, []string{
			"192.0.2.30:80/tcp svc=http prod= ver= title= tls= names= loc= seen=" + unix(1790000002),
			"192.0.2.30:443/tcp svc= prod= ver= title= tls= names= loc= seen=" + unix(1790000001),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			// Chosen and detected formats give the same result.
			for _, format := range []string{tc.format, ""} {
				obs, got := parseFile(t, format, path)
				if got != tc.format {
					t.Errorf("format %q, want %q", got, tc.format)
				}
				if d := cmp.Diff(tc.want, briefs(obs)); d != "" {
					t.Errorf("format %q: observations (-want +got):\n%s", format, d)
				}
				for _, o := range obs {
					if o.Source != tc.format {
						t.Errorf("source %q, want %q", o.Source, tc.format)
					}
				}
			}
		})
	}
}

func TestParseImportHostileBanner(t *testing.T) {
	obs, _ := parseFile(t, FormatShodan, filepath.Join("testdata", "imports", "shodan.jsonl"))
	var redis Sighting
	for _, o := range obs {
		if o.Port == 6379 {
			redis = o
		}
	}
	// NUL and ESC are control characters: each becomes a space.
	if want := "<script>alert(1)</script>{{.X}}  [31m"; redis.Banner != want {
		t.Fatalf("banner %q, want %q", redis.Banner, want)
	}
	long := `{"ip_str":"192.0.2.1","port":80,"data":"` + strings.Repeat("A", 100_000) + `"}`
	obs, _, err := ParseImport(context.Background(), FormatShodan, "", strings.NewReader(long))
	if err != nil || len(obs) != 1 || len(obs[0].Banner) != maxObsBanner {
		t.Fatalf("long banner: %v, %d obs, banner %d bytes, want %d", err, len(obs), len(obs[0].Banner), maxObsBanner)
	}
}

// The real samples: expectations come from the files themselves (counted
// open ports and their attributes), not from the parser.
func TestParseImportCorpus(t *testing.T) {
	t.Run("nmap multiple ports", func(t *testing.T) {
		obs, got := parseFile(t, "", filepath.Join(corpusScans, "nmap", "nmap_multiple_port.xml"))
		if got != FormatNmap || len(obs) != 13 {
			t.Fatalf("format %s, %d observations, want nmap and the 13 open ports of the file", got, len(obs))
		}
		var svcs []string
		for _, o := range obs {
			svcs = append(svcs, strconv.Itoa(int(o.Port))+"/"+o.Service)
			if o.Host != "198.38.82.159" || strings.Join(o.Hostnames, ",") != "joaquinlp.me,mocha2005.mochahost.com" || o.Seen.Unix() != 1463421451 {
				t.Errorf("observation %s: want host 198.38.82.159, both host names and the host's end time", brief(o))
			}
		}
		want := "21/ftp 25/smtp 53/domain 80/http 110/pop3 143/imap 443/https 465/smtps 587/submission 993/imaps 995/pop3s 2525/ms-v-worlds 3306/mysql"
		if g := strings.Join(svcs, " "); g != want {
			t.Errorf("services\n got %s\nwant %s", g, want)
		}
	})
	t.Run("nmap versions", func(t *testing.T) {
		obs, _ := parseFile(t, FormatNmap, filepath.Join(corpusScans, "nmap", "issue4406.xml"))
		if len(obs) != 25 {
			t.Fatalf("%d observations, want the file's 25 open ports", len(obs))
		}
		byPort := map[uint16]Sighting{}
		for _, o := range obs {
			byPort[o.Port] = o
		}
		if o := byPort[22]; o.Service != "ssh" || o.Product != "OpenSSH" || o.Version != "7.4" || o.Banner != "protocol 2.0" {
			t.Errorf("22: %+v", o)
		}
		if o := byPort[2379]; o.Service != "ssl/etcd-client" {
			t.Errorf("2379 (tunnel=ssl): service %q", o.Service)
		}
	})
	t.Run("nmap no ports", func(t *testing.T) {
		if obs, _ := parseFile(t, FormatNmap, filepath.Join(corpusScans, "nmap", "nmap_0port.xml")); len(obs) != 0 {
			t.Fatalf("%d observations, want 0", len(obs))
		}
	})
	t.Run("masscan", func(t *testing.T) {
		obs, got := parseFile(t, "", filepath.Join(corpusScans, "masscan", "masscan_many_vuln.json"))
		want := []string{"80", "3000", "8080", "8443"}
		var ports []string
		for _, o := range obs {
			ports = append(ports, strconv.Itoa(int(o.Port)))
			if o.Host != "172.29.0.3" || o.Transport != "tcp" || o.Seen.Unix() != 1785522037 {
				t.Errorf("observation %s", brief(o))
			}
		}
		if got != FormatMasscan || !cmp.Equal(ports, want) {
			t.Fatalf("format %s ports %v, want masscan %v", got, ports, want)
		}
	})
	t.Run("naabu", func(t *testing.T) {
		// Eight lines, each of four ports twice: four observations.
		obs, got := parseFile(t, "", filepath.Join(corpusScans, "naabu", "naabu_many_vuln.json"))
		var ports []string
		for _, o := range obs {
			ports = append(ports, o.Host+":"+strconv.Itoa(int(o.Port)))
		}
		want := []string{"172.29.0.3:80", "172.29.0.3:3000", "172.29.0.3:8080", "172.29.0.3:8443"}
		if got != FormatNaabu || !cmp.Equal(ports, want) {
			t.Fatalf("format %s ports %v, want naabu %v", got, ports, want)
		}
		// The last line for 80 says 00:00:06.
		if s := obs[0].Seen.Format(time.RFC3339); s != "2026-07-31T00:00:06Z" {
			t.Errorf("seen %s, want the latest sighting", s)
		}
		if obs, _ := parseFile(t, FormatNaabu, filepath.Join(corpusScans, "naabu", "naabu_no_vuln.json")); len(obs) != 0 {
			t.Errorf("empty file: %d observations", len(obs))
		}
	})
}

func TestParseImportBadInput(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, format, in string
		want             string
		is               error
	}{
		{"xxe", FormatNmap, `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><nmaprun>&x;</nmaprun>`, "", vuln.ErrXMLEntities},
		{"wrong root", FormatNmap, `<html></html>`, "root element", nil},
		{"unknown", "", "hello world\n", "", ErrImportFormat},
		{"bad format name", "nessus", "{}", "", ErrImportFormat},
		{"shodan without port", FormatShodan, `{"ip_str":"192.0.2.1"}`, "shodan: record 1: not a Shodan banner", nil},
		{"shodan truncated", FormatShodan, `{"ip_str":"192.0.2.1","port":80}` + "\n" + `{"ip_str":`, "truncated JSON", nil},
		{"shodan not object", FormatShodan, `[1,2]`, "record 1: not a JSON object", nil},
		{"fofa bad port", FormatFOFA, "ip,port\n192.0.2.1,http\n", "fofa: line 2: invalid port", nil},
		{"zoomeye no portinfo", FormatZoomEye, `{"matches":[{"ip":"192.0.2.1"}]}`, "zoomeye: record 1: not a ZoomEye match", nil},
		{"censys nested port", FormatCensys, `{"ip":"192.0.2.1","services":[{"port":{"x":1}}]}`, "censys: record 1", nil},
		{"masscan list junk", FormatMasscan, "open tcp 80 192.0.2.1 1\nwhat is this\n", "masscan: line 2", nil},
		{"masscan list bad port", FormatMasscan, "open tcp 99999 192.0.2.1 1\n", "masscan: line 1: invalid port", nil},
		{"pdns no name", FormatPDNS, `{"ip":"192.0.2.1"}`, "pdns: record 1: not a passive DNS record", nil},
		{"naabu array", FormatNaabu, `[{"ip":"192.0.2.1","port":80}]`, "JSON array is not naabu output", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obs, _, err := ParseImport(ctx, tc.format, "upload", strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("no error, %d observations", len(obs))
			}
			if obs != nil {
				t.Errorf("error %v but %d observations returned", err, len(obs))
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to mention %q", err, tc.want)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		r := io.MultiReader(strings.NewReader("#masscan\n"), bytes.NewReader(make([]byte, MaxImportSize)))
		if _, _, err := ParseImport(ctx, FormatMasscan, "", r); !errors.Is(err, ErrImportTooLarge) {
			t.Fatalf("error %v, want ErrImportTooLarge", err)
		}
	})
}

func TestDetectImportCorpus(t *testing.T) {
	for dir, want := range map[string]string{"nmap": FormatNmap, "masscan": FormatMasscan, "naabu": FormatNaabu} {
		files, _ := filepath.Glob(filepath.Join(corpusScans, dir, "*"))
		if len(files) == 0 {
			testenv.Missing(t, "DefectDojo sample corpus at "+corpusScans)
		}
		for _, f := range files {
			data, err := os.ReadFile(f) // #nosec G304 -- test data
			if err != nil {
				t.Fatal(err)
			}
			if len(bytes.TrimSpace(data)) == 0 {
				continue // an empty file says nothing of its format
			}
			if got := DetectImport(filepath.Base(f), data[:min(len(data), importDetectSize)]); got != want {
				t.Errorf("%s: detected %q, want %q", f, got, want)
			}
		}
	}
}

func TestDedupeMergesSources(t *testing.T) {
	seen1 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	seen2 := seen1.Add(time.Hour)
	in := []Sighting{
		{Host: "192.0.2.1", Port: 443, Transport: "tcp", Source: "shodan", Hostnames: []string{"b.example.com"}, Seen: seen1},
		{Host: "192.0.2.1", Port: 443, Transport: "tcp", Source: "censys", Product: "nginx", Hostnames: []string{"a.example.com"}, Seen: seen2},
		{Host: "192.0.2.1", Port: 443, Transport: "udp", Source: "censys"},
	}
	out := Dedupe(in)
	if len(out) != 2 {
		t.Fatalf("%d observations, want tcp and udp apart", len(out))
	}
	m := out[0]
	if m.Source != "censys,shodan" || m.Product != "nginx" || !m.Seen.Equal(seen2) || strings.Join(m.Hostnames, ",") != "a.example.com,b.example.com" {
		t.Fatalf("merged %+v", m)
	}
}
