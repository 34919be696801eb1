package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/campaign/campaigntest"
	"github.com/vigil-sec/vigil/internal/campaign/keyperiod"
	"github.com/vigil-sec/vigil/internal/campaign/runner"
	"github.com/vigil-sec/vigil/internal/compromise"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
)

// loopbackTenant declares 127.0.0.0/8 as tenant A's address space and
// adds the host 127.0.0.1 to its inventory.
func loopbackTenant(t *testing.T) (*fixture.Env, context.Context, store.Asset) {
	t.Helper()
	env := fixture.New(t)
	ctx := env.AdminCtx(context.Background())
	if err := env.Store.Assets().Create(ctx, &store.Asset{TenantID: env.TenantA.ID, Kind: "ip", Name: "loopback", Address: "127.0.0.0/8", Importance: 3}); err != nil {
		t.Fatal(err)
	}
	host, err := env.Assets.Create(ctx, env.TenantA.ID, asset.Input{Kind: "host", Name: "门户", Address: "127.0.0.1", Importance: 4})
	if err != nil {
		t.Fatal(err)
	}
	return env, ctx, host
}

func findingKeys(fs []campaign.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Key)
	}
	slices.Sort(out)
	return out
}

// TestDiscoveryRunner runs real discovery runs over loopback: an open
// risky port fails the task, the same port declared by the design is a
// medium finding, and after the port closes the re-test passes. The run is
// Vigil's own, kept and linked from the result.
func TestDiscoveryRunner(t *testing.T) {
	env, ctx, host := loopbackTenant(t)
	risky := campaigntest.Listen(t)
	port := strconv.Itoa(int(risky.Port))
	d := runner.NewDiscovery(env.Exposure, runner.DiscoveryOptions{Poll: 20 * time.Millisecond})
	task := campaign.Task{ID: "discovery", Kind: campaign.TaskDiscovery, Params: map[string]string{runner.ParamRiskyPorts: port, runner.ParamPorts: port}}
	target := campaign.Target{AssetID: host.ID, Tenant: env.TenantA.ID, Host: "127.0.0.1"}

	res, err := d.Run(ctx, task, target)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != campaign.StatusFailed || !slices.Equal(findingKeys(res.Findings), []string{"discovery/127.0.0.1/" + port}) {
		t.Fatalf("open risky port: %s %v", res.Status, findingKeys(res.Findings))
	}
	if res.Findings[0].Severity != campaign.SeverityHigh || res.Findings[0].Ref != campaign.RefRiskyPort {
		t.Errorf("finding %+v", res.Findings[0])
	}
	// The evidence names the discovery run, which is stored and done.
	runID := strings.TrimPrefix(res.Findings[0].Evidence[0], "discovery run ")
	run, found, err := env.Exposure.Get(ctx, env.TenantA.ID, runID)
	if err != nil || run.Status != exposure.StatusDone || len(found.Open) != 1 || found.Open[0].Port != risky.Port {
		t.Fatalf("discovery run %q: %+v %+v %v", runID, run, found.Open, err)
	}

	declared := target
	declared.DeclaredPorts = []uint16{risky.Port}
	if res, err = d.Run(ctx, task, declared); err != nil || res.Status != campaign.StatusFailed || res.Findings[0].Severity != campaign.SeverityMedium {
		t.Fatalf("declared risky port: %+v %v", res, err)
	}

	risky.Close()
	if res, err = d.Run(ctx, task, target); err != nil || res.Status != campaign.StatusPassed || len(res.Findings) != 0 {
		t.Fatalf("after closing the port: %+v %v", res, err)
	}

	// Outside the tenant's declared space: refused, not passed.
	out := target
	out.Host = "192.0.2.1"
	if _, err := d.Run(ctx, task, out); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("out of scope: %v", err)
	}
	// A user without asset.write cannot start discovery through a campaign.
	if _, err := d.Run(env.As(context.Background(), env.CustomerB), task, target); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("customer of another tenant: %v", err)
	}
}

// TestVulnScanRunner scans a loopback web server with Vigil's own scan:
// an nginx version with a known high advisory fails the task and links
// the lifecycle finding; after the upgrade the re-test passes.
func TestVulnScanRunner(t *testing.T) {
	env, ctx, host := loopbackTenant(t)
	var server atomic.Value
	server.Store("nginx/1.18.0")
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", server.Load().(string))
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("<html><head><title>Shop</title></head><body>shop</body></html>"))
	}))
	defer web.Close()
	port := campaigntest.Port(t, web.Listener.Addr())
	v := runner.NewVulnScan(ScanService(env.VulnScan), env.Vulns)
	task := campaign.Task{ID: "vulns", Kind: campaign.TaskVulnScan, Params: map[string]string{runner.ParamPorts: strconv.Itoa(int(port)),
		runner.ParamSeverityThreshold: "high"}}
	target := campaign.Target{AssetID: host.ID, Tenant: env.TenantA.ID, Host: "127.0.0.1"}

	res, err := v.Run(ctx, task, target)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != campaign.StatusFailed || len(res.Findings) == 0 {
		t.Fatalf("nginx 1.18.0: %s %v %v", res.Status, findingKeys(res.Findings), res.Evidence)
	}
	// nginx 1.18.0 is affected by CVE-2021-23017 (fixed in 1.20.1), rated
	// high: the failing finding is that lifecycle finding.
	var cve *store.VulnFinding
	for _, f := range res.Findings {
		id := strings.TrimPrefix(f.Ref, "vuln-finding:")
		vf, _, err := env.Vulns.Get(ctx, env.TenantA.ID, id)
		if err != nil {
			t.Fatalf("finding %s: %v", f.Ref, err)
		}
		if slices.Contains(vf.CVEs, "CVE-2021-23017") {
			cve = &vf
		}
		if f.Severity.Rank() < campaign.SeverityHigh.Rank() {
			t.Errorf("finding under the threshold: %+v", f)
		}
	}
	if cve == nil || cve.Severity != "high" || cve.IP != "127.0.0.1" || cve.Port != int(port) {
		t.Fatalf("no CVE-2021-23017 finding on the web port: %+v", cve)
	}

	server.Store("nginx/1.25.3")
	if res, err = v.Run(ctx, task, target); err != nil || res.Status != campaign.StatusPassed {
		t.Fatalf("after the upgrade: %+v %v", res, err)
	}
	// A threshold that is not a severity is an error.
	bad := task
	bad.Params = map[string]string{runner.ParamSeverityThreshold: "severe"}
	if _, err := v.Run(ctx, bad, target); err == nil {
		t.Error("a bad threshold must be an error")
	}
}

// debianReport evaluates the corpus CIS Debian 7 policy on a host root
// with the given sshd setting.
func debianReport(t *testing.T, p *baseline.Policy, permitRoot string) *baseline.Report {
	t.Helper()
	root := campaigntest.Root(t, sshd(permitRoot))
	rep, err := baseline.Evaluate(context.Background(), p, baseline.Options{FS: os.DirFS(root)})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestStoredBaselineRunner judges an asset by its stored baseline runs:
// no run is an error; a run in which check 1126 (PermitRootLogin no)
// failed fails the task; the next run, after the fix, passes; a score
// threshold above the run's score fails; a run too old is an error.
func TestStoredBaselineRunner(t *testing.T) {
	policy := loadPolicy(t)
	env, ctx, host := loopbackTenant(t)
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	b := runner.NewStoredBaseline(env.Baseline, runner.StoredBaselineOptions{Now: func() time.Time { return now }})
	task := campaign.Task{ID: "baseline", Kind: campaign.TaskBaseline, Params: map[string]string{runner.ParamChecks: "1126", runner.ParamSeverity: "high"}}
	target := campaign.Target{AssetID: host.ID, Tenant: env.TenantA.ID, Host: "127.0.0.1"}
	if _, err := b.Run(ctx, task, target); err == nil {
		t.Fatal("an asset without a baseline run must be an error")
	}
	record := func(rep *baseline.Report, at time.Time) store.BaselineRun {
		t.Helper()
		r, err := env.Baseline.Record(ctx, env.TenantA.ID, hardening.RunInput{AssetID: host.ID, Source: store.BaselineSourceBundle,
			PolicyID: policy.ID, Report: rep, StartedAt: at, FinishedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := record(debianReport(t, policy, "yes"), now.Add(-2*time.Hour))
	res, err := b.Run(ctx, task, target)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != campaign.StatusFailed || !slices.Equal(findingKeys(res.Findings), []string{"baseline/" + policy.ID + "/1126"}) ||
		res.Findings[0].Severity != campaign.SeverityHigh || res.Findings[0].Ref != "baseline-run:"+first.ID+"#1126" {
		t.Fatalf("PermitRootLogin yes: %+v", res)
	}
	fixed := record(debianReport(t, policy, "no"), now.Add(-time.Hour))
	if res, err = b.Run(ctx, task, target); err != nil || res.Status != campaign.StatusPassed || !strings.Contains(res.Evidence[0], fixed.ID) {
		t.Fatalf("after the fix: %+v %v", res, err)
	}
	// The score of the fixed run is passed/(passed+failed); a threshold
	// just above it fails, one equal to it passes.
	if !fixed.Scored {
		t.Fatal("the run has no score")
	}
	want := 100 * float64(fixed.Passed) / float64(fixed.Passed+fixed.Failed)
	above := task
	above.Params = map[string]string{runner.ParamMinScore: strconv.FormatFloat(want+0.5, 'f', 2, 64)}
	if res, err = b.Run(ctx, above, target); err != nil || res.Status != campaign.StatusFailed || res.Findings[0].Key != "baseline/"+policy.ID+"/score" {
		t.Fatalf("score under the threshold: %+v %v", res, err)
	}
	at := task
	at.Params = map[string]string{runner.ParamMinScore: strconv.FormatFloat(want-0.01, 'f', 2, 64), runner.ParamChecks: "1126"}
	if res, err = b.Run(ctx, at, target); err != nil || res.Status != campaign.StatusPassed {
		t.Fatalf("score at the threshold: %+v %v", res, err)
	}
	old := task
	old.Params = map[string]string{runner.ParamMaxAge: "30m", runner.ParamChecks: "1126"}
	if _, err := b.Run(ctx, old, target); err == nil {
		t.Error("a run older than max_age must be an error")
	}
	unknown := task
	unknown.Params = map[string]string{runner.ParamChecks: "999999"}
	if _, err := b.Run(ctx, unknown, target); err == nil {
		t.Error("an unknown check must be an error")
	}
}

// TestProductRunnersInCampaign runs the key-period template's web-log and
// baseline tasks through the service with the product runners: results
// are stored, a missing verdict is errored, "compromised" fails, a later
// clean verdict passes, and the evidence names the analysis.
func TestProductRunnersInCampaign(t *testing.T) {
	env, ctx, host := loopbackTenant(t)
	cal, err := keyperiod.DefaultCalendar()
	if err != nil {
		t.Fatal(err)
	}
	p, err := cal.Period("national-day-2027")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: p.Start.Add(-p.LeadTime + 24*time.Hour)}
	svc, err := NewService(env.Store, env.Audit, Options{Now: clk.Now, Runners: ProductRunners(Services{Discovery: env.Exposure,
		Scan: ScanService(env.VulnScan), Findings: env.Vulns, Baseline: env.Baseline, Weblogs: env.Compromise})})
	if err != nil {
		t.Fatal(err)
	}
	l, err := svc.CreateKeyPeriod(ctx, env.TenantA.ID, KeyPeriodInput{PeriodID: p.ID, AssetIDs: []string{host.ID}})
	if err != nil {
		t.Fatal(err)
	}
	id := l.Record.ID
	run := func(task string) campaign.Result {
		t.Helper()
		rs, err := svc.RunTask(ctx, env.TenantA.ID, id, task)
		if err != nil || len(rs) != 1 {
			t.Fatalf("run %s: %v %v", task, rs, err)
		}
		return rs[0]
	}
	if r := run("weblogs"); r.Status != campaign.StatusErrored || !strings.Contains(r.Error, "no web log analysis") {
		t.Fatalf("no analysis: %+v", r)
	}
	if r := run("baseline"); r.Status != campaign.StatusErrored || !strings.Contains(r.Error, "no baseline run") {
		t.Fatalf("no baseline run: %+v", r)
	}
	analyse := func(verdict string) store.WeblogRun {
		t.Helper()
		wr, err := env.Compromise.Analyze(ctx, env.TenantA.ID, host.ID, []compromise.File{{Name: "access.log", Data: accessLog()}})
		if err != nil {
			t.Fatal(err)
		}
		if verdict != "" {
			if err := env.Compromise.SetVerdict(ctx, env.TenantA.ID, wr.ID, verdict, "web shell found under /upload"); err != nil {
				t.Fatal(err)
			}
		}
		return wr
	}
	analyse("")
	if r := run("weblogs"); r.Status != campaign.StatusErrored || !strings.Contains(r.Error, "no verdict") {
		t.Fatalf("analysis without a verdict: %+v", r)
	}
	bad := analyse("compromised")
	r := run("weblogs")
	if r.Status != campaign.StatusFailed || len(r.Findings) != 1 || r.Findings[0].Severity != campaign.SeverityCritical ||
		r.Findings[0].Ref != "weblog-run:"+bad.ID || !strings.Contains(r.Evidence[0], bad.ID) {
		t.Fatalf("compromised: %+v", r)
	}
	analyse("clean")
	if r := run("weblogs"); r.Status != campaign.StatusPassed {
		t.Fatalf("clean: %+v", r)
	}
	// The runs are stored: the latest passed, the compromised one in the history.
	l, err = svc.Get(ctx, env.TenantA.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := l.Campaign.Latest("weblogs", host.ID, ""); r.Run != 4 || r.Status != campaign.StatusPassed {
		t.Errorf("latest web-log run %+v, want the fourth, passed", r)
	}
	if !slices.ContainsFunc(l.Campaign.History, func(h campaign.Result) bool {
		return h.TaskID == "weblogs" && h.Status == campaign.StatusFailed && h.Findings[0].Key == "weblog/compromised"
	}) {
		t.Error("the compromised verdict is not in the history")
	}
	// An assessor may run campaign tasks but not read event data: the
	// web-log task errors with the reason instead of passing.
	assessor := store.User{Username: "assessor", DisplayName: "Assessor"}
	if err := env.Store.Users().Create(context.Background(), &assessor); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.Users().SetMembership(context.Background(), store.Membership{UserID: assessor.ID, TenantID: env.TenantA.ID, Role: auth.RoleAssessor}); err != nil {
		t.Fatal(err)
	}
	actx := env.As(context.Background(), assessor)
	rs, err := svc.RunTask(actx, env.TenantA.ID, id, "weblogs")
	if err != nil || rs[0].Status != campaign.StatusErrored || !strings.Contains(rs[0].Error, "permission") {
		t.Fatalf("assessor: %+v %v", rs, err)
	}
}

// TestAckFactor checks the factor on the tenant's alert acknowledgement
// waits: 1 outside any watch, the campaign's factor during its watch, the
// service's default for a campaign without one, and the smallest when two
// watches overlap.
func TestAckFactor(t *testing.T) {
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
	if _, err := svc.CreateKeyPeriod(ctx, env.TenantA.ID, KeyPeriodInput{PeriodID: p.ID, AssetIDs: []string{host.ID}, AckFactor: 1.5}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("factor 1.5: %v", err)
	}
	if _, err := svc.CreateKeyPeriod(ctx, env.TenantA.ID, KeyPeriodInput{PeriodID: p.ID, AssetIDs: []string{host.ID}}); err != nil {
		t.Fatal(err)
	}
	during := p.Start.Add(36 * time.Hour)
	for _, c := range []struct {
		at   time.Time
		want float64
	}{{p.Start.Add(-48 * time.Hour), 1}, {during, 0.5}, {p.End.Add(48 * time.Hour), 1}} {
		if got := svc.AckFactor(context.Background(), env.TenantA.ID, c.at); got != c.want {
			t.Errorf("factor at %s = %v, want %v", c.at, got, c.want)
		}
	}
	if got := svc.AckFactor(context.Background(), env.TenantB.ID, during); got != 1 {
		t.Errorf("tenant B during A's watch: %v", got)
	}
	if _, err := svc.CreateKeyPeriod(ctx, env.TenantA.ID, KeyPeriodInput{PeriodID: p.ID, Name: "国庆值守（加强）", AssetIDs: []string{host.ID}, AckFactor: 0.25}); err != nil {
		t.Fatal(err)
	}
	if got := svc.AckFactor(context.Background(), env.TenantA.ID, during); got != 0.25 {
		t.Errorf("two watches: %v, want 0.25", got)
	}
}

// accessLog is a small combined access log: ordinary requests and one SQL
// injection answered with a large page.
func accessLog() []byte {
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, "198.51.100.%d - - [29/Nov/2026:08:%02d:00 +0000] \"GET /item.php?id=%d HTTP/1.1\" 200 %d \"-\" \"Mozilla/5.0\"\n", i%20+1, i, i, 5000+i%7)
	}
	b.WriteString("203.0.113.66 - - [29/Nov/2026:09:00:00 +0000] \"GET /item.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--%20 HTTP/1.1\" 200 71000 \"-\" \"Mozilla/5.0\"\n")
	return []byte(b.String())
}

// hook counts the webhook messages it receives.
type hook struct{ n atomic.Int32 }

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.n.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// waitFor polls until the hook has n messages or a generous deadline
// passes (delivery is asynchronous), and returns the count.
func (h *hook) waitFor(n int32) int32 {
	for range 400 {
		if h.n.Load() >= n {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	return h.n.Load()
}

// escClock is the alerting service's clock, moved by the test.
type escClock struct{ clock }

func (c *escClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// TestWatchTightensEscalation wires the campaign service's factor into
// the alerting service as the application does: a rule waits 20 minutes
// for an acknowledgement before telling the lead; during a key-period
// watch with factor 0.5 the lead hears after 10 minutes, outside it not.
func TestWatchTightensEscalation(t *testing.T) {
	env, ctx, host := loopbackTenant(t)
	cal, err := keyperiod.DefaultCalendar()
	if err != nil {
		t.Fatal(err)
	}
	p, err := cal.Period("national-day-2027")
	if err != nil {
		t.Fatal(err)
	}
	clk := &escClock{clock{t: p.Start.Add(-p.LeadTime + time.Hour)}}
	svc, err := NewService(env.Store, env.Audit, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateKeyPeriod(ctx, env.TenantA.ID, KeyPeriodInput{PeriodID: p.ID, AssetIDs: []string{host.ID}, AckFactor: 0.5}); err != nil {
		t.Fatal(err)
	}
	al, err := alerting.NewService(env.Store, env.Secrets, env.Audit, alerting.Options{Clock: clk,
		AckKey: []byte("0123456789abcdef0123456789abcdef-ack"), AckFactor: svc.AckFactor})
	if err != nil {
		t.Fatal(err)
	}
	defer al.Close()
	duty, lead := &hook{}, &hook{}
	sd, sl := httptest.NewServer(duty), httptest.NewServer(lead)
	defer sd.Close()
	defer sl.Close()
	channel := func(name, u string) store.NotifyChannel {
		settings, _ := json.Marshal(map[string]string{"url": u})
		c, err := al.Create(ctx, env.TenantA.ID, alerting.Input{Name: name, Kind: "webhook", Settings: settings, MinLevel: "critical", AllowPrivate: true})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	dc, lc := channel("duty", sd.URL), channel("lead", sl.URL)
	rule := alerting.EscalationRule{Name: "critical", Enabled: true, Rule: notify.Rule{Kinds: []notify.Kind{notify.KindAlert},
		MinSeverity: notify.SeverityHigh, Steps: []notify.Step{{Channels: []string{dc.ID}, After: 20 * time.Minute}, {Channels: []string{lc.ID}}}}}
	if err := al.SaveEscalationRule(ctx, env.TenantA.ID, rule); err != nil {
		t.Fatal(err)
	}
	raise := func(id string) {
		t.Helper()
		a := store.Alert{ID: id, TenantID: env.TenantA.ID, GroupKey: id, RuleID: "r-" + id, RuleTitle: "Web shell " + id, Level: "critical",
			Host: "web-01", Count: 1, Status: "new", FirstSeen: clk.Now(), LastSeen: clk.Now()}
		if _, err := env.Store.Alerts().Raise(ctx, &a, time.Minute, []string{"new"}, 10); err != nil {
			t.Fatal(err)
		}
		if err := al.Alerted(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	tickAt := func(at time.Time) {
		t.Helper()
		clk.Set(at)
		if err := al.TickEscalations(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// Every channel hears of a critical alert itself; the lead's channel
	// then hears of it again when the escalation reaches step 2.
	// Before the period: 11 minutes without acknowledgement is not enough.
	before := p.Start.Add(-20 * 24 * time.Hour)
	clk.Set(before)
	raise("a1")
	if n := duty.waitFor(2); n != 2 {
		t.Fatalf("duty channel got %d messages, want the alert and step 1", n)
	}
	if n := lead.waitFor(1); n != 1 {
		t.Fatalf("lead channel got %d messages, want the alert", n)
	}
	tickAt(before.Add(11 * time.Minute))
	time.Sleep(300 * time.Millisecond)
	if n := lead.n.Load(); n != 1 {
		t.Fatalf("outside the watch the lead was escalated to after 11 minutes (%d messages)", n)
	}
	tickAt(before.Add(21 * time.Minute))
	if n := lead.waitFor(2); n != 2 {
		t.Fatalf("outside the watch after 21 minutes: %d messages to the lead, want 2", n)
	}

	// During the watch: the same rule escalates to the lead after 10 minutes.
	during := p.Start.Add(30 * time.Hour)
	clk.Set(during)
	raise("a2")
	if n := lead.waitFor(3); n != 3 {
		t.Fatalf("lead channel got %d messages, want 3", n)
	}
	tickAt(during.Add(11 * time.Minute))
	if n := lead.waitFor(4); n != 4 {
		t.Fatalf("during the watch after 11 minutes: %d messages to the lead, want 4", n)
	}
}

// TestTenantCalendar edits tenant A's key-period calendar: an added
// period can be planned at once, tenant B keeps the built-in calendar, a
// stale edit is refused, a bad date is a field error, and every change is
// audited.
func TestTenantCalendar(t *testing.T) {
	env, ctx, host := loopbackTenant(t)
	svc, err := NewService(env.Store, env.Audit, Options{Now: func() time.Time { return time.Date(2027, 9, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := svc.CalendarOf(ctx, env.TenantA.ID)
	if err != nil || cal.Own || cal.Version != 0 || len(cal.Periods) != len(svc.Calendar().Periods) {
		t.Fatalf("initial calendar: own %v version %d, %v", cal.Own, cal.Version, err)
	}
	expo := keyperiod.PeriodSpec{ID: "ciie-2027", Name: "Import Expo 2027", NameZh: "2027年进博会", Kind: keyperiod.KindEvent,
		Start: "2027-11-05", End: "2027-11-10", LeadTime: "21d"}
	if _, err := svc.PutPeriod(ctx, env.TenantA.ID, expo, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutPeriod(ctx, env.TenantA.ID, expo, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("an edit on a stale version: %v", err)
	}
	cal, err = svc.CalendarOf(ctx, env.TenantA.ID)
	if err != nil || !cal.Own || cal.Version != 1 {
		t.Fatalf("after the edit: own %v version %d, %v", cal.Own, cal.Version, err)
	}
	l, err := svc.CreateKeyPeriod(ctx, env.TenantA.ID, KeyPeriodInput{PeriodID: "ciie-2027", AssetIDs: []string{host.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Record.Name != "2027年进博会" || !l.KeyPeriod.Period.End.Equal(time.Date(2027, 11, 10, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("planned %q ending %v", l.Record.Name, l.KeyPeriod.Period.End)
	}
	if _, err := svc.CreateKeyPeriod(ctx, env.TenantB.ID, KeyPeriodInput{PeriodID: "ciie-2027"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("tenant B planned tenant A's period: %v", err)
	}
	bad := expo
	bad.End = "2027-11-01"
	var fe *store.FieldError
	if _, err := svc.PutPeriod(ctx, env.TenantA.ID, bad, 1); !errors.As(err, &fe) || fe.Field != "end" {
		t.Errorf("end before start: %v", err)
	}
	moved := expo
	moved.Start, moved.End = "2027-11-04", "2027-11-11"
	if _, err := svc.PutPeriod(ctx, env.TenantA.ID, moved, 1); err != nil {
		t.Fatal(err)
	}
	if err := svc.RemovePeriod(ctx, env.TenantA.ID, "national-day-2027", 2); err != nil {
		t.Fatal(err)
	}
	cal, _ = svc.CalendarOf(ctx, env.TenantA.ID)
	if _, err := cal.Period("national-day-2027"); err == nil || cal.Version != 3 {
		t.Errorf("removed period still there (version %d)", cal.Version)
	}
	if p, _ := cal.Period("ciie-2027"); cal.Spec(p).Start != "2027-11-04" {
		t.Errorf("edited period %+v", cal.Spec(p))
	}
	// The campaign planned before the edit keeps its dates.
	l, _ = svc.Get(ctx, env.TenantA.ID, l.Record.ID)
	if !l.KeyPeriod.Period.End.Equal(time.Date(2027, 11, 10, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("the planned campaign moved: %v", l.KeyPeriod.Period.End)
	}
	if err := svc.RemovePeriod(env.As(context.Background(), env.AnalystA), env.TenantA.ID, "ciie-2027", 3); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("the analyst removed a period: %v", err)
	}
	entries, err := env.Store.Audit().List(context.Background(), store.AuditFilter{TenantID: env.TenantA.ID, Page: store.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range entries {
		seen[e.Action]++
	}
	if seen["campaign.calendar.add"] != 1 || seen["campaign.calendar.edit"] != 1 || seen["campaign.calendar.remove"] != 1 {
		t.Errorf("audit %v", seen)
	}
}
