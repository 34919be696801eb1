package manager

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/campaign/campaigntest"
	"github.com/vigil-sec/vigil/internal/campaign/gate"
	"github.com/vigil-sec/vigil/internal/campaign/keyperiod"
	"github.com/vigil-sec/vigil/internal/campaign/runner"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// system acts as Vigil itself, as the periodic jobs do.
func system() context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{Username: "system", UserID: "system", GlobalRole: auth.RoleAdmin})
}

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// debian7 is Wazuh's CIS Debian 7 policy from the corpus; its check 1126
// requires "PermitRootLogin no" in /etc/ssh/sshd_config.
const debian7 = "../../../../shared/corpus/wazuh-sca/debian/cis_debian7.yml"

func loadPolicy(t *testing.T) *baseline.Policy {
	t.Helper()
	data, err := os.ReadFile(debian7)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("corpus not available:", err)
	}
	p, err := baseline.Parse(data, debian7)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sshd(permitRoot string) map[string]string {
	return map[string]string{
		"etc/debian_version":     "7.11\n",
		"proc/sys/kernel/ostype": "Linux\n",
		"etc/ssh/sshd_config":    "Protocol 2\nPermitRootLogin " + permitRoot + "\n",
	}
}

// answerAll answers every checklist item passed with evidence, except
// those in skip.
func answerAll(t *testing.T, ctx context.Context, svc *Service, tenantID string, l *Loaded, skip ...string) {
	t.Helper()
	for _, task := range l.Campaign.Tasks {
		for _, it := range task.Items {
			if slices.Contains(skip, it.ID) {
				continue
			}
			if _, err := svc.RecordItem(ctx, tenantID, l.Record.ID, task.ID, it.ID, Answer{Status: "passed", Evidence: []string{"review-" + it.ID}}); err != nil {
				t.Fatalf("item %s: %v", it.ID, err)
			}
		}
	}
}

func keysOf(items []gate.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Key)
	}
	slices.Sort(out)
	return out
}

// TestGoLiveGateEndToEnd runs a gate against loopback targets: an open
// risky port, a failing baseline and default credentials fail it; after
// the fixes a re-test passes; a medium checklist item with a risk
// acceptance gives a conditional pass that turns into an alert and a
// failing decision when the acceptance expires (fake clock).
func TestGoLiveGateEndToEnd(t *testing.T) {
	env := fixture.New(t)
	ctx := env.AdminCtx(context.Background())
	policy := loadPolicy(t)
	now := time.Now().UTC().Truncate(time.Second)
	clk := &clock{t: now}

	// The system: a web server on loopback asking for basic auth with a
	// default password, a TLS port with a certificate of a trusted CA,
	// and a risky port the design does not declare.
	var mu sync.Mutex
	password := "admin"
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		pw := password
		mu.Unlock()
		if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != pw {
			w.Header().Set("WWW-Authenticate", `Basic realm="console"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("console"))
	}))
	defer web.Close()
	webPort := campaigntest.Port(t, web.Listener.Addr())
	ca := campaigntest.MakeCert(t, campaigntest.Cert{CommonName: "Vigil Test CA", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0), IsCA: true})
	leaf := campaigntest.MakeCert(t, campaigntest.Cert{CommonName: "app.vigil.test", DNSNames: []string{"app.vigil.test"},
		NotBefore: now.AddDate(0, -1, 0), NotAfter: now.AddDate(1, 0, 0), Parent: &ca})
	tlsPort := campaigntest.TLSServer(t, &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12})
	roots := x509.NewCertPool()
	roots.AddCert(ca.Leaf)
	risky := campaigntest.Listen(t)
	root := campaigntest.Root(t, sshd("yes"))

	runners := DefaultRunners()
	runners[campaign.TaskTLS] = runner.NewTLS(runner.TLSOptions{Roots: roots})
	// The baseline adapter: the corpus policy on the host's filesystem root.
	bl := runner.NewBaseline(runner.BaselineOptions{Policies: []*baseline.Policy{policy}})
	runners[campaign.TaskBaseline] = campaign.RunnerFunc(func(ctx context.Context, task campaign.Task, tg campaign.Target) (campaign.Result, error) {
		task.Params = map[string]string{runner.ParamPolicy: policy.ID, runner.ParamChecks: "1126", runner.ParamSeverity: "high"}
		tg.Root = root
		return bl.Run(ctx, task, tg)
	})
	var alerted []store.Alert
	svc, err := NewService(env.Store, env.Audit, Options{Runners: runners, Archive: env.Archive, Now: clk.Now,
		OnAlert: func(_ context.Context, a store.Alert) error { alerted = append(alerted, a); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	sys, err := env.Assets.Create(ctx, env.TenantA.ID, asset.Input{Kind: "host", Name: "网上营业厅", Address: "127.0.0.1", Importance: 4})
	if err != nil {
		t.Fatal(err)
	}
	l, err := svc.CreateGoLive(ctx, env.TenantA.ID, GoLiveInput{AssetID: sys.ID, Version: "2.1.0", Change: "新增在线支付", Owner: "张三",
		Planned: now.Add(72 * time.Hour), ASVSLevel: 2, MLPSLevel: 3, DeclaredPorts: []uint16{webPort, tlsPort}, TLSPorts: []uint16{tlsPort},
		ServerName: "app.vigil.test", URLs: []string{web.URL + "/"}, RiskyPorts: []uint16{risky.Port}})
	if err != nil {
		t.Fatal(err)
	}
	id := l.Record.ID
	// A URL off the system's host is refused.
	if _, err := svc.CreateGoLive(ctx, env.TenantA.ID, GoLiveInput{AssetID: sys.ID, Version: "2.2", Owner: "x", Planned: now, ASVSLevel: 1,
		URLs: []string{"http://192.0.2.1/"}}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("off-target URL: %v", err)
	}

	run := func(task string) []campaign.Result {
		t.Helper()
		rs, err := svc.RunTask(ctx, env.TenantA.ID, id, task)
		if err != nil {
			t.Fatalf("run %s: %v", task, err)
		}
		return rs
	}
	for _, task := range []string{"ports", "baseline", "tls", "default-creds", "admin-pages"} {
		run(task)
	}
	// No vulnerability scanner is plugged in: the task is errored until
	// someone marks it not applicable, never passed.
	if rs := run("vulns"); rs[0].Status != campaign.StatusErrored {
		t.Fatalf("vuln scan without a runner: %s", rs[0].Status)
	}
	if err := svc.MarkNotApplicable(ctx, env.TenantA.ID, id, "vulns", sys.ID, "扫描已在漏洞管理中完成并复核"); err != nil {
		t.Fatal(err)
	}
	// The ASVS 2.1.1-style item is left to fail at medium later.
	l, err = svc.Get(ctx, env.TenantA.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	var medium campaign.Item
	for _, task := range l.Campaign.Tasks {
		if task.ID == gate.TaskASVS {
			for _, it := range task.Items {
				if it.Severity == campaign.SeverityMedium && medium.ID == "" {
					medium = it
				}
			}
		}
	}
	if medium.ID == "" {
		t.Fatal("no medium ASVS item at level 2")
	}
	answerAll(t, ctx, svc, env.TenantA.ID, l)

	d, err := svc.Decide(ctx, env.TenantA.ID, id, false)
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcome != string(gate.Fail) {
		t.Fatalf("outcome %s, want fail", d.Outcome)
	}
	l, _ = svc.Get(ctx, env.TenantA.ID, id)
	blocking := keysOf(svc.Decision(l).Blocking)
	for _, want := range []string{"port/" + strconv.Itoa(int(risky.Port)), "baseline/" + policy.ID + "/1126", "default-credentials/" + web.Listener.Addr().String() + "/"} {
		if !slices.Contains(blocking, want) {
			t.Errorf("blocking %v lacks %s", blocking, want)
		}
	}
	if _, err := svc.Decide(ctx, env.TenantA.ID, id, true); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("signing off a failing gate: %v", err)
	}

	// Fix: close the port, harden sshd, change the password; re-test.
	risky.Close()
	campaigntest.WriteFiles(t, root, sshd("no"))
	mu.Lock()
	password = "Xk9-long-unique-passphrase"
	mu.Unlock()
	clk.Set(now.Add(time.Hour))
	for _, task := range []string{"ports", "baseline", "default-creds"} {
		for _, r := range run(task) {
			if r.Status == campaign.StatusFailed || r.Status == campaign.StatusErrored {
				t.Fatalf("re-test %s: %s %v %s", task, r.Status, r.Findings, r.Error)
			}
		}
	}
	l, _ = svc.Get(ctx, env.TenantA.ID, id)
	if r, _ := l.Campaign.Latest("ports", sys.ID, ""); r.Run != 2 {
		t.Errorf("re-test run = %d, want 2", r.Run)
	}
	if !slices.ContainsFunc(l.Campaign.History, func(r campaign.Result) bool { return r.TaskID == "ports" && r.Status == campaign.StatusFailed }) {
		t.Error("the failed first run is not in the history")
	}
	d, err = svc.Decide(ctx, env.TenantA.ID, id, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcome != string(gate.Pass) || !d.SignedOff {
		t.Fatalf("after the fixes: %s (%v)", d.Outcome, d.Reasons)
	}

	// A medium item fails: fail until risk-accepted, then conditional pass.
	if _, err := svc.RecordItem(ctx, env.TenantA.ID, id, gate.TaskASVS, medium.ID, Answer{Status: "failed", Note: "<script>alert(1)</script>"}); err != nil {
		t.Fatal(err)
	}
	if d, _ := svc.Decide(ctx, env.TenantA.ID, id, false); d.Outcome != string(gate.Fail) {
		t.Fatalf("unaccepted medium item: %s", d.Outcome)
	}
	if err := svc.Accept(ctx, env.TenantA.ID, id, AcceptInput{Key: "item/" + medium.ID, Reason: "下个版本修复", Expires: clk.Now().Add(7 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	d, err = svc.Decide(ctx, env.TenantA.ID, id, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcome != string(gate.ConditionalPass) || len(d.Conditions) != 1 || d.Conditions[0].Approver == "" {
		t.Fatalf("accepted: %s %+v", d.Outcome, d.Conditions)
	}
	// The periodic check before the expiry changes nothing.
	clk.Set(now.Add(6 * 24 * time.Hour))
	if err := svc.CheckAcceptances(system()); err != nil {
		t.Fatal(err)
	}
	if len(alerted) != 0 {
		t.Fatalf("alerts before the expiry: %v", alerted)
	}
	// After it: one alert, stored and handed on, and a failing decision.
	clk.Set(now.Add(8 * 24 * time.Hour))
	for range 2 { // the second run raises nothing new
		if err := svc.CheckAcceptances(system()); err != nil {
			t.Fatal(err)
		}
	}
	if len(alerted) != 1 || alerted[0].RuleID != RuleAcceptanceExpired || alerted[0].Level != "medium" {
		t.Fatalf("alerts: %+v", alerted)
	}
	stored, err := env.Store.Alerts().List(context.Background(), env.TenantA.ID, store.AlertFilter{RuleID: RuleAcceptanceExpired})
	if err != nil || len(stored) != 1 {
		t.Fatalf("stored alerts %v %v", stored, err)
	}
	ds, err := svc.Decisions(ctx, env.TenantA.ID, id, 10)
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].Outcome != string(gate.Fail) || ds[0].DecidedBy != "system" {
		t.Fatalf("latest decision %+v", ds[0])
	}
	l, _ = svc.Get(ctx, env.TenantA.ID, id)
	if l.Record.Outcome != string(gate.Fail) {
		t.Errorf("record outcome %s", l.Record.Outcome)
	}

	// The go-live report is archived.
	rep, err := svc.GateReport(ctx, env.TenantA.ID, id, "html", "zh-CN")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Service != ServiceGoLive || !strings.Contains(string(rep.Content), "网上营业厅") || strings.Contains(string(rep.Content), "<script>alert(1)") {
		t.Errorf("report %s %s", rep.Service, rep.Title)
	}

	// Audit trail and permissions.
	entries, err := env.Store.Audit().List(context.Background(), store.AuditFilter{TenantID: env.TenantA.ID, Page: store.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Action] = true
	}
	for _, a := range []string{"campaign.create", "campaign.task.run", "campaign.item.record", "campaign.accept", "campaign.decide",
		"campaign.acceptance_expired", "campaign.task.not_applicable"} {
		if !seen[a] {
			t.Errorf("no audit entry %s", a)
		}
	}
	analyst := env.As(context.Background(), env.AnalystA)
	if _, err := svc.Get(analyst, env.TenantA.ID, id); err != nil {
		t.Errorf("the analyst cannot read: %v", err)
	}
	if _, err := svc.RunTask(analyst, env.TenantA.ID, id, "ports"); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("the analyst ran a task: %v", err)
	}
	cust := env.As(context.Background(), env.CustomerB)
	if _, err := svc.Get(cust, env.TenantA.ID, id); err == nil {
		t.Error("tenant B's customer reads tenant A's gate")
	}
	if _, err := svc.Get(env.AdminCtx(context.Background()), env.TenantB.ID, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the gate through tenant B: %v", err)
	}
}

// TestKeyPeriodCampaign moves a National Day campaign through its phases
// with a fake clock: the self-inspection finds a risky port on loopback,
// the re-check does not; each watch day gets a daily report (quiet days
// are zero reports); the summary compares before and after.
func TestKeyPeriodCampaign(t *testing.T) {
	env := fixture.New(t)
	ctx := env.AdminCtx(context.Background())
	cal, err := keyperiod.DefaultCalendar()
	if err != nil {
		t.Fatal(err)
	}
	p, err := cal.Period("national-day-2027")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: p.Start.Add(-p.LeadTime - 24*time.Hour)}
	risky := campaigntest.Listen(t)
	ports := runner.NewPorts(runner.PortsOptions{})
	runners := map[campaign.TaskKind]campaign.Runner{
		campaign.TaskExposedPorts: campaign.RunnerFunc(func(ctx context.Context, task campaign.Task, tg campaign.Target) (campaign.Result, error) {
			task.Params = map[string]string{runner.ParamRiskyPorts: strconv.Itoa(int(risky.Port))}
			return ports.Run(ctx, task, tg)
		}),
	}
	var sent []string
	svc, err := NewService(env.Store, env.Audit, Options{Runners: runners, Archive: env.Archive, Now: clk.Now, Lang: "zh-CN",
		OnReport: func(_ context.Context, r store.Report, summary string) error {
			sent = append(sent, r.Kind+" "+summary)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	host, err := env.Assets.Create(ctx, env.TenantA.ID, asset.Input{Kind: "host", Name: "门户", Address: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := svc.CreateKeyPeriod(ctx, env.TenantA.ID, KeyPeriodInput{PeriodID: p.ID, AssetIDs: []string{host.ID}})
	if err != nil {
		t.Fatal(err)
	}
	id := l.Record.ID
	if l.Record.Phase != "" || l.Record.Name != p.NameZh {
		t.Fatalf("created %q in phase %q", l.Record.Name, l.Record.Phase)
	}
	phase := map[string]campaign.Phase{}
	for _, ph := range l.Campaign.Phases {
		phase[ph.ID] = ph
	}
	shifts := []keyperiod.Shift{{Start: p.Start, End: p.End, Lead: keyperiod.Contact{Name: "李四", Phone: "13800000000"}}}
	if err := svc.SetRoster(ctx, env.TenantA.ID, id, shifts); err != nil {
		t.Fatal(err)
	}
	tick := func(at time.Time) *Loaded {
		t.Helper()
		clk.Set(at)
		if err := svc.Tick(system()); err != nil {
			t.Fatal(err)
		}
		l, err := svc.Get(ctx, env.TenantA.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := tick(phase[keyperiod.PhaseSelfInspection].Start.Add(time.Hour)); l.Record.Phase != keyperiod.PhaseSelfInspection {
		t.Fatalf("phase %q, want self-inspection", l.Record.Phase)
	}
	if rs, err := svc.RunTask(ctx, env.TenantA.ID, id, "ports"); err != nil || rs[0].Status != campaign.StatusFailed {
		t.Fatalf("self-inspection ports: %v %v", rs, err)
	}
	risky.Close()
	tick(phase[keyperiod.PhaseRecheck].Start.Add(time.Hour))
	if rs, err := svc.RunTask(ctx, env.TenantA.ID, id, "recheck-ports"); err != nil || rs[0].Status != campaign.StatusPassed {
		t.Fatalf("re-check ports: %v %v", rs, err)
	}
	// A medium alert on the second watch day.
	day2 := p.Start.AddDate(0, 0, 1).Add(10 * time.Hour)
	al := store.Alert{TenantID: env.TenantA.ID, GroupKey: "g1", RuleID: "r1", RuleTitle: "Web shell upload", Level: "medium", Status: "new",
		FirstSeen: day2, LastSeen: day2}
	if _, err := env.Store.Alerts().Raise(context.Background(), &al, time.Hour, []string{"new"}, 10); err != nil {
		t.Fatal(err)
	}
	l = tick(p.Start.AddDate(0, 0, 3).Add(time.Hour)) // three watch days over
	if l.Record.Phase != keyperiod.PhaseWatch {
		t.Fatalf("phase %q, want watch", l.Record.Phase)
	}
	drs, err := svc.DailyReports(ctx, env.TenantA.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(drs) != 3 {
		t.Fatalf("%d daily reports after three days", len(drs))
	}
	if !drs[0].Quiet || drs[1].Quiet || !drs[2].Quiet {
		t.Errorf("quiet flags %v %v %v, want true false true", drs[0].Quiet, drs[1].Quiet, drs[2].Quiet)
	}
	rep, err := env.Archive.Get(ctx, env.TenantA.ID, drs[0].ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rep.Content), "零报告") || !strings.Contains(string(rep.Content), "李四") {
		t.Error("the quiet day's report does not say 零报告 or lacks the duty lead")
	}
	// The same tick again makes no second report of a day.
	tick(p.Start.AddDate(0, 0, 3).Add(2 * time.Hour))
	if drs, _ := svc.DailyReports(ctx, env.TenantA.ID, id); len(drs) != 3 {
		t.Fatalf("%d daily reports after a repeated tick", len(drs))
	}
	// The summary phase: every day reported, the summary archived.
	l = tick(phase[keyperiod.PhaseSummary].Start.Add(time.Hour))
	if l.Record.Phase != keyperiod.PhaseSummary || SummaryReportID(l) == "" {
		t.Fatalf("phase %q, summary %q", l.Record.Phase, SummaryReportID(l))
	}
	days := int(p.End.Sub(p.Start).Hours() / 24)
	if drs, _ := svc.DailyReports(ctx, env.TenantA.ID, id); len(drs) != days {
		t.Fatalf("%d daily reports, the watch has %d days", len(drs), days)
	}
	sum, err := env.Archive.Get(ctx, env.TenantA.ID, SummaryReportID(l))
	if err != nil {
		t.Fatal(err)
	}
	before, after := l.KeyPeriod.SnapshotOfPhase(keyperiod.PhaseSelfInspection), l.KeyPeriod.SnapshotOfPhase(keyperiod.PhaseRecheck)
	if before.RiskyPorts != 1 || after.RiskyPorts != 0 {
		t.Errorf("risky ports before %d after %d, want 1 and 0", before.RiskyPorts, after.RiskyPorts)
	}
	if !strings.Contains(string(sum.Content), "整改前后") {
		t.Error("the summary lacks the before/after comparison")
	}
	trs := Transitions(l)
	var to []string
	for _, tr := range trs {
		to = append(to, tr.To)
	}
	if want := []string{"plan", "self-inspection", "remediation", "re-check", "watch", "summary"}; !slices.Equal(to, want) {
		t.Errorf("transitions %v, want %v", to, want)
	}
	if len(sent) != days+1 || !strings.HasPrefix(sent[len(sent)-1], "keyperiod-summary") || !strings.Contains(sent[0], "零报告") {
		t.Errorf("reports sent: %v", sent)
	}
	// After the summary phase the campaign closes.
	l = tick(phase[keyperiod.PhaseSummary].End.Add(time.Hour))
	if !l.Record.Closed || l.Record.Phase != keyperiod.Done {
		t.Errorf("after the end: closed %v phase %q", l.Record.Closed, l.Record.Phase)
	}
}
