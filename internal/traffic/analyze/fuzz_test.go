package analyze

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/traffic"
)

// FuzzParsePolicy: any input gives a policy or an error, never a panic,
// and a parsed policy's rules can be matched.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("rules:\n- name: x\n  action: deny\n  ports: [\"1-9\", 23]\n  src: {zone: internal, cidrs: [10.0.0.0/8]}\n"))
	f.Add([]byte("rules:\n- name: x\n  action: deny\n  services: [ftp]\n  proto: tcp\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(bytes.NewReader(data))
		if err != nil {
			return
		}
		c := &traffic.Conn{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("198.51.100.1"), DstPort: 23, Proto: "tcp", Service: "ftp,telnet"}
		for i := range p.Rules {
			p.Rules[i].Match(c, true, false)
		}
	})
}

// FuzzParseSafelist: any input gives a safelist or an error.
func FuzzParseSafelist(f *testing.F) {
	f.Add([]byte("# comment\nexample.com\n192.0.2.0/24\n\n2001:db8::/32 # x\n"))
	f.Add([]byte("bad/prefix\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSafelist(bytes.NewReader(data))
		if err != nil {
			return
		}
		s.Dst(netip.MustParseAddr("192.0.2.1"), "a.example.com")
	})
}

// FuzzReportStrings: whatever text traffic carries in domains, rules,
// explanations and the tenant name, the report is a valid document that
// renders, and no raw markup or bidirectional override reaches the HTML.
func FuzzReportStrings(f *testing.F) {
	f.Add("<script>x</script>", "evil\u202Etxt.exe", "=1+1", "\x00\x1b[31m")
	f.Add(strings.Repeat("é", 3000), "", "\xff\xfe", "{{.}}")
	f.Fuzz(func(t *testing.T, domain, rule, explanation, tenant string) {
		ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		src := netip.MustParseAddr("10.0.0.1")
		fs := []Finding{
			{Class: ClassBeacon, Src: src, Domain: domain, Score: 0.9, First: ts, Last: ts, Count: 9, Explanation: explanation},
			{Class: ClassViolation, Src: src, Dst: netip.MustParseAddr("198.51.100.1"), DstPort: 23, Rule: rule, Score: 0.5, First: ts, Last: ts, Explanation: rule},
		}
		doc, err := ReportDocument(ReportInput{Tenant: tenant, Findings: fs, Sources: []ReportSource{{Name: domain, Kind: rule}}})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := report.RenderHTML(context.Background(), doc, &buf, report.Options{}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, r := range out {
			if bidiControl(r) {
				t.Fatalf("bidirectional control %U in the HTML", r)
			}
		}
		if strings.Contains(domain, "<script") && strings.Contains(out, "<script") {
			t.Fatal("markup from a domain reached the HTML")
		}
	})
}
