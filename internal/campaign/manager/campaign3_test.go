package manager

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/campaign/campaigntest"
	"github.com/vigil-sec/vigil/internal/campaign/keyperiod"
	"github.com/vigil-sec/vigil/internal/campaign/runner"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
	"github.com/vigil-sec/vigil/internal/vuln/scan"
)

// nginxServer serves a page with a settable Server header on addr and
// returns its port and the header holder.
func nginxServer(t *testing.T, addr, version string) (uint16, *atomic.Value) {
	t.Helper()
	var server atomic.Value
	server.Store(version)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	web := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", server.Load().(string))
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("<html><head><title>Shop</title></head><body>shop</body></html>"))
	}))
	_ = web.Listener.Close()
	web.Listener = ln
	web.Start()
	t.Cleanup(web.Close)
	return campaigntest.Port(t, ln.Addr()), &server
}

// openFindings lists the tenant's open vulnerability findings.
func openFindings(t *testing.T, ctx context.Context, vulns *lifecycle.Service, tenantID string) []store.VulnFinding {
	t.Helper()
	fs, _, err := vulns.List(ctx, tenantID, lifecycle.Filter{State: "open", Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestVulnScanTargeted runs the campaign's vulnerability scan task on one
// target of a tenant with two vulnerable web servers in its declared
// space (127.0.0.1, the target, and 127.0.0.2): only the target is
// scanned, no discovery run is made, the nginx 1.18.0 advisory
// (CVE-2021-23017, high) fails the task, and after the upgrade the re-test
// passes.
func TestVulnScanTargeted(t *testing.T) {
	env, ctx, host := loopbackTenant(t)
	port, server := nginxServer(t, "127.0.0.1:0", "nginx/1.18.0")
	otherPort, _ := nginxServer(t, "127.0.0.2:0", "nginx/1.18.0")
	v := runner.NewVulnScan(ScanService(env.VulnScan), env.Vulns)
	// Both ports are probed, on the target's address only: the other
	// host's port is closed there.
	task := campaign.Task{ID: "vulns", Kind: campaign.TaskVulnScan, Params: map[string]string{
		runner.ParamPorts: strconv.Itoa(int(port)) + "," + strconv.Itoa(int(otherPort)), runner.ParamSeverityThreshold: "high"}}
	target := campaign.Target{AssetID: host.ID, Tenant: env.TenantA.ID, Host: "127.0.0.1"}

	res, err := v.Run(ctx, task, target)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != campaign.StatusFailed || len(res.Findings) == 0 {
		t.Fatalf("nginx 1.18.0: %s %v %v", res.Status, findingKeys(res.Findings), res.Evidence)
	}
	var cve bool
	for _, f := range res.Findings {
		vf, _, err := env.Vulns.Get(ctx, env.TenantA.ID, strings.TrimPrefix(f.Ref, "vuln-finding:"))
		if err != nil {
			t.Fatalf("finding %s: %v", f.Ref, err)
		}
		if slices.Contains(vf.CVEs, "CVE-2021-23017") && vf.IP == "127.0.0.1" && vf.Port == int(port) {
			cve = true
		}
	}
	if !cve {
		t.Fatalf("no CVE-2021-23017 finding on the target's web port: %v", findingKeys(res.Findings))
	}
	// Nothing of the other host was scanned, and no discovery run exists.
	for _, f := range openFindings(t, ctx, env.Vulns, env.TenantA.ID) {
		if f.IP != "127.0.0.1" && f.Host != "127.0.0.1" {
			t.Errorf("a targeted scan of 127.0.0.1 found %s on %s:%d", f.Title, f.IP, f.Port)
		}
	}
	runs, err := env.Exposure.List(ctx, env.TenantA.ID, store.Page{Limit: 10})
	if err != nil || len(runs) != 0 {
		t.Fatalf("discovery runs after a targeted scan: %d %v", len(runs), err)
	}

	server.Store("nginx/1.25.3")
	if res, err = v.Run(ctx, task, target); err != nil || res.Status != campaign.StatusPassed {
		t.Fatalf("after the upgrade: %+v %v", res, err)
	}
	if runs, _ := env.Exposure.List(ctx, env.TenantA.ID, store.Page{Limit: 10}); len(runs) != 0 {
		t.Fatalf("discovery runs after the re-test: %d", len(runs))
	}

	// The scheduled tenant scan is unchanged: it reads the tenant's latest
	// discovery run, of which there is none, so it checks nothing.
	full, err := env.VulnScan.Scan(ctx, env.TenantA.ID)
	if err != nil || full.Targets != 0 {
		t.Fatalf("tenant scan without discovery: %+v %v", full, err)
	}
}

// TestScanTargetScope checks the target forms of scan.Service.ScanTarget:
// a URL scans only that web service; an address outside the tenant's
// declared space, a URL on another address than the asset's, and a target
// without an IP address are refused; an unreachable URL is an error.
func TestScanTargetScope(t *testing.T) {
	env, ctx, host := loopbackTenant(t)
	port, _ := nginxServer(t, "127.0.0.1:0", "nginx/1.18.0")
	u := "http://127.0.0.1:" + strconv.Itoa(int(port)) + "/"
	res, err := env.VulnScan.ScanTarget(ctx, env.TenantA.ID, scan.TargetScope{URL: u})
	if err != nil || res.Targets != 1 || res.Findings == 0 {
		t.Fatalf("URL scan: %+v %v", res, err)
	}
	var cve bool
	for _, f := range openFindings(t, ctx, env.Vulns, env.TenantA.ID) {
		if slices.Contains(f.CVEs, "CVE-2021-23017") && f.Port == int(port) {
			cve = true
		}
	}
	if !cve {
		t.Error("the URL scan did not record CVE-2021-23017")
	}
	for _, c := range []struct {
		name string
		ts   scan.TargetScope
	}{
		{"outside the declared space", scan.TargetScope{Address: "192.0.2.10"}},
		{"URL on another address", scan.TargetScope{Address: "127.0.0.1", URL: "http://127.0.0.2/"}},
		{"no address", scan.TargetScope{}},
		{"not an address", scan.TargetScope{Address: "example.invalid"}},
		{"ftp URL", scan.TargetScope{URL: "ftp://127.0.0.1/"}},
		{"asset of another tenant", scan.TargetScope{AssetID: env.AssetB.ID}},
	} {
		if _, err := env.VulnScan.ScanTarget(ctx, env.TenantA.ID, c.ts); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	closed := campaigntest.Listen(t)
	closed.Close()
	if _, err := env.VulnScan.ScanTarget(ctx, env.TenantA.ID, scan.TargetScope{AssetID: host.ID,
		URL: "http://127.0.0.1:" + strconv.Itoa(int(closed.Port)) + "/"}); err == nil {
		t.Error("an unreachable URL must be an error")
	}
	if _, err := env.VulnScan.ScanTarget(env.As(context.Background(), env.CustomerB), env.TenantA.ID, scan.TargetScope{URL: u}); err == nil {
		t.Error("a customer of another tenant scanned tenant A")
	}
}

// watch is a key-period campaign of tenant A for the 2027 National Day
// period, planned with a fake clock at the start of its plan phase.
type watch struct {
	env    *fixture.Env
	svc    *Service
	clk    *clock
	period keyperiod.Period
	l      *Loaded
	ctx    context.Context
}

func newWatch(t *testing.T, factor float64) *watch {
	t.Helper()
	env, ctx, host := loopbackTenant(t)
	cal, err := keyperiod.DefaultCalendar()
	if err != nil {
		t.Fatal(err)
	}
	p, err := cal.Period("national-day-2027")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: p.Start.Add(-p.LeadTime + time.Hour)}
	svc, err := NewService(env.Store, env.Audit, Options{Now: clk.Now, WatchAckFactor: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	l, err := svc.CreateKeyPeriod(ctx, env.TenantA.ID, KeyPeriodInput{PeriodID: p.ID, AssetIDs: []string{host.ID}, AckFactor: factor})
	if err != nil {
		t.Fatal(err)
	}
	return &watch{env: env, svc: svc, clk: clk, period: p, l: l, ctx: ctx}
}

// TestSetAckFactor edits the acknowledgement factor of a running
// key-period campaign: bounds, version check, permission, audit, closed
// campaigns, and the next AckFactor reading uses the new value.
func TestSetAckFactor(t *testing.T) {
	w := newWatch(t, 0.5)
	env, svc, ctx, id := w.env, w.svc, w.ctx, w.l.Record.ID
	during := w.period.Start.Add(36 * time.Hour)
	if got := svc.AckFactor(context.Background(), env.TenantA.ID, during); got != 0.5 {
		t.Fatalf("factor before the edit: %v", got)
	}
	for _, f := range []float64{-0.1, 0.05, 0.0999, 1.01, 2, math.NaN(), math.Inf(1)} {
		if _, err := svc.SetAckFactor(ctx, env.TenantA.ID, id, f, 0); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("factor %v: %v", f, err)
		}
	}
	if _, err := svc.SetAckFactor(ctx, env.TenantA.ID, id, 0.3, w.l.Record.Version+5); !errors.Is(err, store.ErrConflict) {
		t.Errorf("stale version: %v", err)
	}
	if _, err := svc.SetAckFactor(env.As(context.Background(), env.CustomerB), env.TenantA.ID, id, 0.3, 0); err == nil {
		t.Error("a customer of another tenant changed the factor")
	}
	l, err := svc.SetAckFactor(ctx, env.TenantA.ID, id, 0.3, w.l.Record.Version)
	if err != nil {
		t.Fatal(err)
	}
	if l.Record.Version != w.l.Record.Version+1 || svc.WatchAckFactor(l) != 0.3 {
		t.Errorf("after the edit: version %d, factor %v", l.Record.Version, svc.WatchAckFactor(l))
	}
	if got := svc.AckFactor(context.Background(), env.TenantA.ID, during); got != 0.3 {
		t.Errorf("factor during the watch after the edit: %v, want 0.3", got)
	}
	if got := svc.AckFactor(context.Background(), env.TenantA.ID, w.period.End.Add(48*time.Hour)); got != 1 {
		t.Errorf("factor after the period: %v", got)
	}
	// The bounds themselves are accepted; 0 returns to the default.
	for _, c := range []struct{ set, want float64 }{{0.1, 0.1}, {1, 1}, {0, 0.5}} {
		if _, err := svc.SetAckFactor(ctx, env.TenantA.ID, id, c.set, 0); err != nil {
			t.Fatalf("factor %v: %v", c.set, err)
		}
		if got := svc.AckFactor(context.Background(), env.TenantA.ID, during); got != c.want {
			t.Errorf("set %v: factor %v, want %v", c.set, got, c.want)
		}
	}
	entries, err := env.Store.Audit().List(context.Background(), store.AuditFilter{TenantID: env.TenantA.ID, Page: store.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == "campaign.ack_factor" && e.Object == "campaign:"+id {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d campaign.ack_factor audit entries, want 4", n)
	}
	if err := svc.Close(ctx, env.TenantA.ID, id); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetAckFactor(ctx, env.TenantA.ID, id, 0.3, 0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("closed campaign: %v", err)
	}
}

// TestWatchTightensCaseSLA wires the campaign factor into the incident
// service as the application does. Hand-worked figures from the default
// case SLA (critical: acknowledge 15 min, contain 4 h, close 3 days; high:
// 1 h, 1 day, 7 days):
//   - factor 0.4 during the watch, critical case: 6 min, 1 h 36 min, 28 h 48 min;
//   - edited to 0.25, high case: 15 min, 6 h, 42 h;
//   - after the period, critical case: 15 min, 4 h, 72 h (unchanged);
//   - tenant B during A's watch, critical case: unchanged.
func TestWatchTightensCaseSLA(t *testing.T) {
	w := newWatch(t, 0.4)
	env, svc, ctx := w.env, w.svc, w.ctx
	cases, err := incident.NewService(env.Store, env.Audit, incident.Options{Now: w.clk.Now, SLAFactor: svc.AckFactor})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name, tenantID, severity string, ack, contain, closeIn time.Duration) store.Incident {
		t.Helper()
		at := w.clk.Now()
		c, err := cases.Create(ctx, tenantID, incident.Input{Title: name, Severity: severity, Category: "malware"})
		if err != nil {
			t.Fatal(err)
		}
		if got := [3]time.Duration{c.AckDue.Sub(at), c.ContainDue.Sub(at), c.CloseDue.Sub(at)}; got != [3]time.Duration{ack, contain, closeIn} {
			t.Errorf("%s: due in %v, want %v", name, got, [3]time.Duration{ack, contain, closeIn})
		}
		return c
	}
	w.clk.Set(w.period.Start.Add(36 * time.Hour))
	first := check("during the watch", env.TenantA.ID, "critical", 6*time.Minute, time.Hour+36*time.Minute, 28*time.Hour+48*time.Minute)
	if _, err := svc.SetAckFactor(ctx, env.TenantA.ID, w.l.Record.ID, 0.25, 0); err != nil {
		t.Fatal(err)
	}
	check("after the edit", env.TenantA.ID, "high", 15*time.Minute, 6*time.Hour, 42*time.Hour)
	// A case's due times are fixed when computed: the edit leaves the
	// first case as it was.
	got, err := cases.Get(ctx, env.TenantA.ID, first.ID)
	if err != nil || !got.AckDue.Equal(first.AckDue) {
		t.Errorf("first case after the edit: %v %v", got.AckDue, err)
	}
	check("other tenant", env.TenantB.ID, "critical", 15*time.Minute, 4*time.Hour, 72*time.Hour)
	w.clk.Set(w.period.End.Add(48 * time.Hour))
	check("after the period", env.TenantA.ID, "critical", 15*time.Minute, 4*time.Hour, 72*time.Hour)
}
