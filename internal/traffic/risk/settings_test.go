package risk_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic/analyze"
	"github.com/vigil-sec/vigil/internal/traffic/risk"
)

// settingsConnLog is a hand-made Zeek conn log (JSON) with, from t0:
//   - 3 FTP connections 10.1.1.5 → 203.0.113.10:21 (plaintext to the internet);
//   - 2 MySQL connections 192.168.1.20 → 10.2.2.2:3306 (office to a database);
//   - 1 connection 10.1.1.6 → 198.51.100.7:3333 (a mining pool port);
//   - 24 HTTPS connections 10.1.1.7 → 192.0.2.50:443 every 300 s, 512/2048
//     bytes each (a beacon).
func settingsConnLog(t0 time.Time) []byte {
	var b bytes.Buffer
	n := 0
	line := func(at time.Time, src, dst string, port int, service string, ob, rb int) {
		n++
		fmt.Fprintf(&b, `{"ts":%d.0,"uid":"C%05d","id.orig_h":"%s","id.orig_p":%d,"id.resp_h":"%s","id.resp_p":%d,"proto":"tcp","service":%q,"duration":1.5,"orig_bytes":%d,"resp_bytes":%d,"conn_state":"SF","orig_pkts":6,"resp_pkts":6}`+"\n",
			at.Unix(), n, src, 40000+n, dst, port, service, ob, rb)
	}
	for i := range 3 {
		line(t0.Add(time.Duration(i)*time.Minute), "10.1.1.5", "203.0.113.10", 21, "ftp", 300, 900)
	}
	for i := range 2 {
		line(t0.Add(time.Duration(i)*time.Minute+10*time.Second), "192.168.1.20", "10.2.2.2", 3306, "", 200, 4000)
	}
	line(t0.Add(20*time.Second), "10.1.1.6", "198.51.100.7", 3333, "", 100, 100)
	for i := range 24 {
		line(t0.Add(time.Duration(i)*300*time.Second), "10.1.1.7", "192.0.2.50", 443, "ssl", 512, 2048)
	}
	return b.Bytes()
}

const (
	policyA = `rules:
  - name: no plaintext protocols to the internet
    action: deny
    severity: 0.6
    src: {zone: internal}
    dst: {zone: external}
    proto: tcp
    ports: [21, 23]
  - name: no direct DB access from office subnets
    action: deny
    severity: 0.7
    src: {cidrs: [192.168.0.0/16]}
    dst: {cidrs: [10.0.0.0/8]}
    ports: [3306]
`
	policyB = `rules:
  - name: no mining pool ports
    action: deny
    severity: 0.8
    dst: {zone: external}
    ports: ["3333-3336"]
`
)

// violation is what the test compares of a violation finding.
type violation struct {
	Rule, Src, Dst string
	Port           int
	Count          int64
	Score          float64
}

// TestTenantPoliciesAndSafelists: the same flows analysed for two tenants
// with different policies and safelists give each tenant the violations
// of its own rules (worked out by hand from the log above) and the beacon
// only where it is not safelisted; changing the safelist changes the
// findings, the host ranking and the report without a new analysis.
func TestTenantPoliciesAndSafelists(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	s := risk.NewService(e.Store, e.Audit, risk.Options{})
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	log := settingsConnLog(t0)

	// Defaults before anything is saved: no policy, the shipped safelist.
	def, err := s.Settings(ctx, e.TenantA.ID)
	if err != nil || def.Version != 0 || !def.DefaultSafelist || def.Policy != "" {
		t.Fatalf("default settings %+v, %v", def, err)
	}
	if _, err := s.SaveSettings(ctx, store.TrafficSettings{TenantID: e.TenantA.ID, Policy: policyA, DefaultSafelist: true}, 0); err != nil {
		t.Fatal(err)
	}
	setB, err := s.SaveSettings(ctx, store.TrafficSettings{TenantID: e.TenantB.ID, Policy: policyB, Safelist: "# the backup service\n192.0.2.50/32\n",
		DefaultSafelist: true}, 0)
	if err != nil {
		t.Fatal(err)
	}

	analyse := func(tenantID string) store.TrafficAnalysis {
		a, err := s.Upload(ctx, tenantID, risk.KindZeek, []risk.File{{Name: "conn.log", Data: log}})
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != store.TrafficDone {
			t.Fatalf("analysis %+v", a)
		}
		return a
	}
	findings := func(tenantID, analysisID string) []store.TrafficFinding {
		fs, err := s.Findings(ctx, tenantID, store.TrafficFindingFilter{AnalysisID: analysisID, Page: store.Page{Limit: store.MaxPageSize}})
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	violations := func(fs []store.TrafficFinding) []violation {
		var out []violation
		for _, f := range fs {
			if f.Class == "violation" {
				out = append(out, violation{f.Rule, f.Src, f.Dst, f.DstPort, f.Count, f.Score})
			}
		}
		slices.SortFunc(out, func(a, b violation) int { return strings.Compare(a.Rule, b.Rule) })
		return out
	}
	beacon := func(fs []store.TrafficFinding) bool {
		return slices.ContainsFunc(fs, func(f store.TrafficFinding) bool {
			return f.Class == "beacon" && f.Src == "10.1.1.7" && f.Dst == "192.0.2.50"
		})
	}

	aA, aB := analyse(e.TenantA.ID), analyse(e.TenantB.ID)
	fA, fB := findings(e.TenantA.ID, aA.ID), findings(e.TenantB.ID, aB.ID)
	wantA := []violation{
		{"no direct DB access from office subnets", "192.168.1.20", "10.2.2.2", 3306, 2, 0.7},
		{"no plaintext protocols to the internet", "10.1.1.5", "203.0.113.10", 21, 3, 0.6},
	}
	wantB := []violation{{"no mining pool ports", "10.1.1.6", "198.51.100.7", 3333, 1, 0.8}}
	if got := violations(fA); !slices.Equal(got, wantA) {
		t.Errorf("tenant A violations\n got %+v\nwant %+v", got, wantA)
	}
	if got := violations(fB); !slices.Equal(got, wantB) {
		t.Errorf("tenant B violations\n got %+v\nwant %+v", got, wantB)
	}
	if !beacon(fA) || beacon(fB) {
		t.Fatalf("beacon to 192.0.2.50: tenant A %v (want true), tenant B %v (want false, safelisted)", beacon(fA), beacon(fB))
	}
	nB, err := s.CountFindings(ctx, e.TenantB.ID, store.TrafficFindingFilter{AnalysisID: aB.ID})
	if err != nil || nB != len(fB) {
		t.Fatalf("tenant B count %d, listed %d (%v)", nB, len(fB), err)
	}
	_, sumB, err := s.Get(ctx, e.TenantB.ID, aB.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sumB.Safelisted == 0 || slices.ContainsFunc(sumB.Hosts, func(h analyze.HostRisk) bool { return h.Host.String() == "10.1.1.7" }) {
		t.Fatalf("tenant B: %d safelisted, hosts %+v", sumB.Safelisted, sumB.Hosts)
	}
	reportHas := func(tenant store.Tenant, text string) bool {
		doc, err := s.ReportDocument(ctx, tenant, t0.Add(-time.Hour), t0.Add(3*time.Hour), "en")
		if err != nil {
			t.Fatal(err)
		}
		var html bytes.Buffer
		if err := report.Render(ctx, doc, report.FormatHTML, &html, report.Options{}); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(html.String(), text)
	}
	if !reportHas(e.TenantA, "192.0.2.50") || reportHas(e.TenantB, "192.0.2.50") {
		t.Fatal("the report of A must name the beacon destination and that of B must not")
	}

	// A stale editor is refused; the saved safelist without the entry
	// brings the beacon back in B's findings, ranking and report, with no
	// new analysis.
	if _, err := s.SaveSettings(ctx, store.TrafficSettings{TenantID: e.TenantB.ID, Policy: policyB, DefaultSafelist: true}, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale save: %v, want ErrConflict", err)
	}
	if _, err := s.SaveSettings(ctx, store.TrafficSettings{TenantID: e.TenantB.ID, Policy: policyB, DefaultSafelist: true}, setB.Version); err != nil {
		t.Fatal(err)
	}
	if !beacon(findings(e.TenantB.ID, aB.ID)) {
		t.Fatal("tenant B: the beacon is not listed once the safelist no longer holds it")
	}
	_, sumB, err = s.Get(ctx, e.TenantB.ID, aB.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(sumB.Hosts, func(h analyze.HostRisk) bool { return h.Host.String() == "10.1.1.7" }) {
		t.Fatalf("tenant B hosts after the change %+v", sumB.Hosts)
	}
	if !reportHas(e.TenantB, "192.0.2.50") {
		t.Fatal("tenant B's report does not name the beacon once it is no longer safelisted")
	}
	// And safelisting it in A removes it from A's list at once.
	setA, err := s.Settings(ctx, e.TenantA.ID)
	if err != nil {
		t.Fatal(err)
	}
	setA.Safelist = "192.0.2.0/24\n"
	if _, err := s.SaveSettings(ctx, setA, setA.Version); err != nil {
		t.Fatal(err)
	}
	if beacon(findings(e.TenantA.ID, aA.ID)) {
		t.Fatal("tenant A: the beacon is still listed after safelisting 192.0.2.0/24")
	}
}

// TestSettingsErrorsNameTheLine: invalid policies and safelists are
// refused with a field error that says where.
func TestSettingsErrorsNameTheLine(t *testing.T) {
	t.Parallel()
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	s := risk.NewService(e.Store, e.Audit, risk.Options{})
	for _, c := range []struct {
		policy, safelist, field, want string
	}{
		{"rules:\n  - name: ok\n    action: deny\n    ports: [22]\n  - name: bad\n    action: deny\n    ports: [\"70000\"]\n", "", "policy", "line 5: rule 2 (\"bad\"): port \"70000\""},
		{"rules:\n  - name: x\n    action: allow\n    ports: [1]\n", "", "policy", "line 2: rule 1 (\"x\"): action \"allow\""},
		{"rules:\n  - name: x\n    colour: red\n", "", "policy", "line 3"},
		{"", "example.com\n10.0.0.0/33\n", "safelist", "safelist line 2"},
		{"", "a b.example\n", "safelist", "safelist line 1"},
	} {
		_, err := s.SaveSettings(ctx, store.TrafficSettings{TenantID: e.TenantA.ID, Policy: c.policy, Safelist: c.safelist}, 0)
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Message, c.want) {
			t.Errorf("policy %q safelist %q: %v, want a %s error with %q", c.policy, c.safelist, err, c.field, c.want)
		}
	}
	if _, err := s.Settings(ctx, e.TenantA.ID); err != nil {
		t.Fatal(err)
	}
	// A customer reads no settings of another tenant and edits none.
	cctx := e.As(t.Context(), e.CustomerB)
	if _, err := s.Settings(cctx, e.TenantA.ID); err == nil {
		t.Error("customer of B read A's settings")
	}
	if _, err := s.SaveSettings(cctx, store.TrafficSettings{TenantID: e.TenantB.ID}, 0); err == nil {
		t.Error("customer saved settings")
	}
}
