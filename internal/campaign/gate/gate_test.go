package gate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/campaign/campaigntest"
	"github.com/vigil-sec/vigil/internal/campaign/runner"
)

// debian7 is Wazuh's CIS Debian 7 policy from the corpus; its check 1126
// requires "PermitRootLogin no" in /etc/ssh/sshd_config.
const debian7 = "../../../../shared/corpus/wazuh-sca/debian/cis_debian7.yml"

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

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

func debianRoot(permitRoot string) map[string]string {
	return map[string]string{
		"etc/debian_version":     "7.11\n",
		"proc/sys/kernel/ostype": "Linux\n",
		"etc/ssh/sshd_config":    "Protocol 2\nPermitRootLogin " + permitRoot + "\n",
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

// passing stands in for the engines the application plugs in (vulnerability
// scanner, default-credential and admin-page checks).
var passing = campaign.RunnerFunc(func(context.Context, campaign.Task, campaign.Target) (campaign.Result, error) {
	return campaign.Result{Status: campaign.StatusPassed}, nil
})

// env is a system on loopback: a TLS service declared in the design, a
// host root for the baseline, and the runners.
type env struct {
	clk     *clock
	engine  *campaign.Engine
	target  campaign.Target
	policy  *baseline.Policy
	root    string
	tlsPort uint16
}

func newEnv(t *testing.T, permitRoot string) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	ca := campaigntest.MakeCert(t, campaigntest.Cert{CommonName: "Vigil Test CA", NotBefore: clk.t.AddDate(-1, 0, 0), NotAfter: clk.t.AddDate(5, 0, 0), IsCA: true})
	leaf := campaigntest.MakeCert(t, campaigntest.Cert{CommonName: "pay.vigil.test", DNSNames: []string{"pay.vigil.test"},
		NotBefore: clk.t.AddDate(0, -1, 0), NotAfter: clk.t.AddDate(1, 0, 0), Parent: &ca})
	port := campaigntest.TLSServer(t, &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12})
	roots := x509.NewCertPool()
	roots.AddCert(ca.Leaf)
	p := loadPolicy(t)
	e := &env{clk: clk, policy: p, root: campaigntest.Root(t, debianRoot(permitRoot)), tlsPort: port}
	e.engine = campaign.NewEngine(campaign.Options{Now: clk.now, Runners: map[campaign.TaskKind]campaign.Runner{
		campaign.TaskExposedPorts: runner.NewPorts(runner.PortsOptions{Timeout: time.Second}),
		campaign.TaskTLS:          runner.NewTLS(runner.TLSOptions{Now: clk.now, Roots: roots}),
		campaign.TaskBaseline:     runner.NewBaseline(runner.BaselineOptions{Policies: []*baseline.Policy{p}}),
		campaign.TaskVulnScan:     passing,
		campaign.TaskDefaultCreds: passing,
		campaign.TaskAdminPages:   passing,
	}})
	e.target = campaign.Target{AssetID: "pay-web-01", System: "payments", Host: "127.0.0.1", DeclaredPorts: []uint16{port},
		TLSPorts: []uint16{port}, ServerName: "pay.vigil.test", Root: e.root}
	return e
}

func (e *env) gate(t *testing.T, portParams map[string]string) *Gate {
	t.Helper()
	g, err := New(Release{System: "payments", Version: "2.4.0", Change: "new refund API", Owner: "li.wei", Planned: e.clk.t.AddDate(0, 0, 10),
		ASVSLevel: 1, MLPSLevel: 3}, campaign.Instance{ID: "gl-1", Tenant: "acme", Start: e.clk.t, Targets: []campaign.Target{e.target},
		Params: map[string]map[string]string{
			"ports":    portParams,
			"baseline": {runner.ParamPolicy: e.policy.ID, runner.ParamChecks: "1126", runner.ParamSeverity: "high"},
		}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// answerAll answers every manual item as passed, with evidence.
func (e *env) answerAll(t *testing.T, g *Gate) {
	t.Helper()
	for _, task := range g.Campaign.Tasks {
		if task.Kind != campaign.TaskManual {
			continue
		}
		for _, it := range task.Items {
			if _, err := e.engine.RecordManual(g.Campaign, task.ID, it.ID, campaign.Answer{Status: campaign.StatusPassed, By: "zhang.min", Evidence: []string{"evidence/" + it.ID}}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func (e *env) runAll(t *testing.T, g *Gate) {
	t.Helper()
	for _, task := range g.Campaign.Tasks {
		if task.Kind.Automated() {
			if _, err := e.engine.RunTask(context.Background(), g.Campaign, task.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func keys(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Key)
	}
	slices.Sort(out)
	return out
}

func TestGateFailThenPassAfterFixAndRetest(t *testing.T) {
	e := newEnv(t, "yes")
	risky := campaigntest.Listen(t) // stands in for RDP: a risky port open and not in the design
	g := e.gate(t, map[string]string{runner.ParamRiskyPorts: "135,445,3389," + itoa(risky.Port)})
	if d := g.Decide(e.clk.t); d.Outcome != Fail {
		t.Fatalf("before any check: %s, want fail (pending checks never pass)", d.Outcome)
	}
	e.answerAll(t, g)
	e.runAll(t, g)
	d, _ := g.Check(e.clk.t)
	if d.Outcome != Fail {
		t.Fatalf("outcome = %s, want fail; reasons %v", d.Outcome, d.Reasons)
	}
	wantKeys := []string{"baseline/" + e.policy.ID + "/1126", "port/" + itoa(risky.Port)}
	if got := keys(d.Blocking); !slices.Equal(got, wantKeys) {
		t.Fatalf("blocking = %v, want %v", got, wantKeys)
	}
	// Fix deadlines by score: the risky port (7.5) and the high baseline
	// check (7.0) are both due within 72 hours of being found.
	for _, it := range d.Blocking {
		if want := it.FirstSeen.Add(72 * time.Hour); !it.Due.Equal(want) {
			t.Errorf("%s: due %s, want %s (score %.1f)", it.Key, it.Due, want, it.Score)
		}
	}
	// A high item cannot be risk-accepted.
	if err := g.Accept(Acceptance{AssetID: e.target.AssetID, Key: "port/" + itoa(risky.Port), Approver: "ciso", Reason: "temporary", Expires: e.clk.t.AddDate(0, 0, 7)}, e.clk.t); err == nil {
		t.Fatal("a high item was accepted")
	}

	// The fix: RDP closed, root login off. Re-test the two checks.
	e.clk.advance(26 * time.Hour)
	risky.Close()
	campaigntest.WriteFiles(t, e.root, debianRoot("no"))
	for _, id := range []string{"ports", "baseline"} {
		if _, err := e.engine.RunTask(context.Background(), g.Campaign, id); err != nil {
			t.Fatal(err)
		}
	}
	d, _ = g.Check(e.clk.t)
	if d.Outcome != Pass {
		t.Fatalf("after the fix: %s; blocking %v", d.Outcome, keys(d.Blocking))
	}
	if r, _ := g.Campaign.Latest("ports", e.target.AssetID, ""); r.Run != 2 {
		t.Errorf("ports re-test run = %d, want 2", r.Run)
	}
}

func TestGateConditionalPassTurnsIntoAlert(t *testing.T) {
	e := newEnv(t, "no")
	stray := campaigntest.Listen(t) // an undeclared, non-risky port: medium
	g := e.gate(t, map[string]string{runner.ParamRiskyPorts: "3389", runner.ParamPorts: itoa(stray.Port)})
	e.answerAll(t, g)
	e.runAll(t, g)
	d, alerts := g.Check(e.clk.t)
	key := "port/" + itoa(stray.Port)
	if d.Outcome != Fail || !slices.Equal(keys(d.Blocking), []string{key}) || len(alerts) != 0 {
		t.Fatalf("unaccepted medium: outcome %s, blocking %v, alerts %d; want fail on %s", d.Outcome, keys(d.Blocking), len(alerts), key)
	}
	if it := d.Blocking[0]; it.Severity != campaign.SeverityMedium || !it.Due.Equal(it.FirstSeen.Add(14*24*time.Hour)) {
		t.Errorf("medium item %+v: want severity medium, due 14 days after first seen", it)
	}
	expires := e.clk.t.AddDate(0, 0, 30)
	if err := g.Accept(Acceptance{AssetID: e.target.AssetID, Key: key, Approver: "wang.fang (CISO)", Reason: "monitoring agent port, closed in 2.4.1", Expires: expires}, e.clk.t); err != nil {
		t.Fatal(err)
	}
	d, alerts = g.Check(e.clk.t)
	if d.Outcome != ConditionalPass || len(alerts) != 0 || !d.NextExpiry.Equal(expires) {
		t.Fatalf("accepted: %s (next expiry %s), %d alerts; want conditional-pass", d.Outcome, d.NextExpiry, len(alerts))
	}
	e.clk.t = expires.Add(-time.Minute)
	if d, alerts = g.Check(e.clk.t); d.Outcome != ConditionalPass || len(alerts) != 0 {
		t.Fatalf("a minute before expiry: %s, %d alerts", d.Outcome, len(alerts))
	}
	e.clk.t = expires.Add(time.Hour)
	d, alerts = g.Check(e.clk.t)
	if d.Outcome != Fail || len(alerts) != 1 {
		t.Fatalf("after expiry: %s, %d alerts; want fail and one alert", d.Outcome, len(alerts))
	}
	a := alerts[0]
	if a.Kind != "acceptance-expired" || a.Key != key || a.Before != ConditionalPass || a.After != Fail || a.Approver != "wang.fang (CISO)" || !a.Expired.Equal(expires) {
		t.Errorf("alert = %+v", a)
	}
	if _, again := g.Check(e.clk.t.Add(time.Hour)); len(again) != 0 {
		t.Errorf("the same expiry alerted twice")
	}
}

func TestGateErroredTaskNeverPasses(t *testing.T) {
	e := newEnv(t, "no")
	g := e.gate(t, map[string]string{runner.ParamRiskyPorts: "3389"})
	e.engine = campaign.NewEngine(campaign.Options{Now: e.clk.now}) // no runners at all
	e.answerAll(t, g)
	e.runAll(t, g)
	d := g.Decide(e.clk.t)
	if d.Outcome != Fail {
		t.Fatalf("outcome %s with no runner, want fail", d.Outcome)
	}
	for _, it := range d.Blocking {
		if it.Action != ActionFail || it.Key[:8] != "errored/" {
			t.Errorf("unexpected blocking item %+v", it)
		}
	}
	automated := 0
	for _, task := range g.Campaign.Tasks {
		if task.Kind.Automated() {
			automated++
		}
	}
	ro := g.Campaign.Rollup(e.clk.t)
	if ro.All.Status[campaign.StatusErrored] != automated || ro.All.Status[campaign.StatusPassed] != ro.All.Total-automated {
		t.Errorf("rollup %+v: want the %d automated tasks errored and the manual items passed", ro.All, automated)
	}
	if len(d.Blocking) != automated {
		t.Errorf("%d blocking items, want %d", len(d.Blocking), automated)
	}
}

// TestGateZeroRulesNeverPass: a gate whose rules were lost (zero value)
// must not pass anything it cannot classify.
func TestGateZeroRulesNeverPass(t *testing.T) {
	e := newEnv(t, "yes")
	g := e.gate(t, map[string]string{runner.ParamRiskyPorts: "3389"})
	e.answerAll(t, g)
	e.runAll(t, g)
	g.Rules = Rules{}
	if d := g.Decide(e.clk.t); d.Outcome != Fail || len(d.Blocking) != 1 {
		t.Fatalf("zero rules: %s with %d blocking items, want fail on the baseline finding", d.Outcome, len(d.Blocking))
	}
}

// TestGateJSONRoundTrip: a stored and reloaded gate decides the same and
// does not alert twice.
func TestGateJSONRoundTrip(t *testing.T) {
	e := newEnv(t, "no")
	stray := campaigntest.Listen(t)
	g := e.gate(t, map[string]string{runner.ParamRiskyPorts: "3389", runner.ParamPorts: itoa(stray.Port)})
	e.answerAll(t, g)
	e.runAll(t, g)
	key := "port/" + itoa(stray.Port)
	exp := e.clk.t.Add(48 * time.Hour)
	if err := g.Accept(Acceptance{AssetID: e.target.AssetID, Key: key, Approver: "ciso", Reason: "r", Expires: exp}, e.clk.t); err != nil {
		t.Fatal(err)
	}
	if _, a := g.Check(exp.Add(time.Hour)); len(a) != 1 {
		t.Fatalf("%d alerts", len(a))
	}
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var g2 Gate
	if err := json.Unmarshal(b, &g2); err != nil {
		t.Fatal(err)
	}
	d1, d2 := g.Decide(e.clk.t), g2.Decide(e.clk.t)
	if d1.Outcome != d2.Outcome || d1.Outcome != ConditionalPass || len(d2.Accepted) != 1 {
		t.Fatalf("reloaded gate decides %s, original %s", d2.Outcome, d1.Outcome)
	}
	if _, a := g2.Check(exp.Add(2 * time.Hour)); len(a) != 0 {
		t.Errorf("a reloaded gate alerted again on the same expiry")
	}
}

// BenchmarkDecide measures a decision over a campaign of 500 targets, each
// with three findings, and the full ASVS level 3 checklist answered.
func BenchmarkDecide(b *testing.B) {
	var targets []campaign.Target
	for i := range 500 {
		targets = append(targets, campaign.Target{AssetID: "host-" + strconv.Itoa(i)})
	}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	g, err := New(Release{System: "s", Version: "1", Change: "c", Owner: "o", Planned: now, ASVSLevel: 3, MLPSLevel: 3},
		campaign.Instance{ID: "b", Tenant: "t", Start: now, Targets: targets}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	fail := campaign.RunnerFunc(func(context.Context, campaign.Task, campaign.Target) (campaign.Result, error) {
		return campaign.Result{Status: campaign.StatusFailed, Findings: []campaign.Finding{
			{Key: "a", Severity: campaign.SeverityMedium, Score: 5}, {Key: "b", Severity: campaign.SeverityLow, Score: 2}, {Key: "c", Severity: campaign.SeverityHigh, Score: 8}}}, nil
	})
	runners := map[campaign.TaskKind]campaign.Runner{}
	for _, k := range campaign.TaskKinds() {
		runners[k] = fail
	}
	e := campaign.NewEngine(campaign.Options{Runners: runners, Now: func() time.Time { return now }})
	for _, task := range g.Campaign.Tasks {
		if task.Kind.Automated() {
			if _, err := e.RunTask(context.Background(), g.Campaign, task.ID); err != nil {
				b.Fatal(err)
			}
			continue
		}
		for _, it := range task.Items {
			if _, err := e.RecordManual(g.Campaign, task.ID, it.ID, campaign.Answer{Status: campaign.StatusPassed, By: "x", Evidence: []string{"e"}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		d := g.Decide(now)
		if d.Outcome != Fail {
			b.Fatal(d.Outcome)
		}
	}
}
