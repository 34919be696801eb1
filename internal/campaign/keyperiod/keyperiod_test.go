package keyperiod

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/campaign/campaigntest"
	"github.com/vigil-sec/vigil/internal/campaign/runner"
	"github.com/vigil-sec/vigil/internal/report"
)

const debian7 = "../../../../shared/corpus/wazuh-sca/debian/cis_debian7.yml"

var cst = time.FixedZone("UTC+08:00", 8*3600)

func debianRoot(permitRoot string) map[string]string {
	return map[string]string{
		"etc/debian_version":     "7.11\n",
		"proc/sys/kernel/ostype": "Linux\n",
		"etc/ssh/sshd_config":    "Protocol 2\nPermitRootLogin " + permitRoot + "\n",
	}
}

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

var passing = campaign.RunnerFunc(func(context.Context, campaign.Task, campaign.Target) (campaign.Result, error) {
	return campaign.Result{Status: campaign.StatusPassed}, nil
})

func TestCalendar(t *testing.T) {
	cal, err := DefaultCalendar()
	if err != nil {
		t.Fatal(err)
	}
	p, err := cal.Period("national-day-2027")
	if err != nil {
		t.Fatal(err)
	}
	// The calendar's dates are local (+08:00) and the end date inclusive.
	if want := time.Date(2027, 10, 1, 0, 0, 0, 0, cst); !p.Start.Equal(want) {
		t.Errorf("start %s, want %s", p.Start, want)
	}
	if want := time.Date(2027, 10, 8, 0, 0, 0, 0, cst); !p.End.Equal(want) {
		t.Errorf("end %s, want %s", p.End, want)
	}
	up := cal.Upcoming(time.Date(2027, 1, 10, 0, 0, 0, 0, cst), 30*24*time.Hour)
	var ids []string
	for _, u := range up {
		ids = append(ids, u.ID)
	}
	if !slices.Equal(ids, []string{"spring-festival-2027", "two-sessions-2027"}) {
		t.Errorf("upcoming = %v", ids)
	}
}

func TestParseCalendarRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"zone":     "zone: Asia/Shanghai\nperiods: []\n",
		"order":    "zone: \"+08:00\"\nperiods:\n  - {id: a, name: A, kind: holiday, start: 2027-02-10, end: 2027-02-01, lead_time: 7d}\n",
		"kind":     "zone: \"+08:00\"\nperiods:\n  - {id: a, name: A, kind: party, start: 2027-02-01, end: 2027-02-03, lead_time: 7d}\n",
		"dup":      "zone: \"+08:00\"\nperiods:\n  - {id: a, name: A, kind: event, start: 2027-02-01, end: 2027-02-03, lead_time: 7d}\n  - {id: a, name: B, kind: event, start: 2027-03-01, end: 2027-03-03, lead_time: 7d}\n",
		"lead":     "zone: \"+08:00\"\nperiods:\n  - {id: a, name: A, kind: event, start: 2027-02-01, end: 2027-02-03, lead_time: 365d}\n",
		"unknown":  "zone: \"+08:00\"\nperiod: []\n",
		"too long": "zone: \"+08:00\"\nperiods:\n  - {id: a, name: A, kind: event, start: 2027-01-01, end: 2027-06-01, lead_time: 7d}\n",
	} {
		if _, err := ParseCalendar([]byte(doc), name); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), name+":") {
			t.Errorf("%s: error %q does not name the file and line", name, err)
		}
	}
}

func TestRoster(t *testing.T) {
	from := time.Date(2027, 2, 5, 0, 0, 0, 0, cst)
	to := from.AddDate(0, 0, 2)
	a := []Contact{{Name: "Chen Jie", Role: "lead", Phone: "138-0000-0001"}, {Name: "Liu Yang"}}
	b := []Contact{{Name: "Zhao Lei", Role: "lead"}, {Name: "Sun Li"}}
	r, err := Rotation(from, to, 12*time.Hour, [][]Contact{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Shifts) != 4 {
		t.Fatalf("%d shifts over 48 h of 12 h shifts", len(r.Shifts))
	}
	for at, lead := range map[time.Time]string{from: "Chen Jie", from.Add(11 * time.Hour): "Chen Jie", from.Add(12 * time.Hour): "Zhao Lei", from.Add(30 * time.Hour): "Chen Jie", from.Add(36 * time.Hour): "Zhao Lei", from.Add(47 * time.Hour): "Zhao Lei", from.Add(24 * time.Hour): "Chen Jie"} {
		on := r.OnDuty(at)
		if len(on) != 1 || on[0].Lead.Name != lead {
			t.Errorf("on duty at %s: %+v, want %s", at, on, lead)
		}
	}
	if g := r.Gaps(from, to); len(g) != 0 {
		t.Errorf("gaps %v in a full rotation", g)
	}
	// Drop the third shift: exactly that interval is uncovered; so is the
	// hour before the rotation starts.
	r.Shifts = slices.Delete(r.Shifts, 2, 3)
	g := r.Gaps(from.Add(-time.Hour), to)
	want := []Gap{{from.Add(-time.Hour), from}, {from.Add(24 * time.Hour), from.Add(36 * time.Hour)}}
	if !slices.Equal(g, want) {
		t.Errorf("gaps = %v, want %v", g, want)
	}
	if err := (Roster{Shifts: []Shift{{Start: from, End: to}}}).Validate(); err == nil {
		t.Error("a shift without a named lead was accepted")
	}
}

// TestKeyPeriodCampaign runs a whole campaign for the Spring Festival of the
// default calendar with a fake clock advancing hour by hour.
func TestKeyPeriodCampaign(t *testing.T) {
	cal, err := DefaultCalendar()
	if err != nil {
		t.Fatal(err)
	}
	period, err := cal.Period("spring-festival-2027")
	if err != nil {
		t.Fatal(err)
	}
	policy := loadPolicy(t)
	risky := campaigntest.Listen(t) // an exposed "RDP" port found by self-inspection
	root := campaigntest.Root(t, debianRoot("yes"))
	web := campaigntest.Listen(t)
	target := campaign.Target{AssetID: "portal-01", Host: "127.0.0.1", DeclaredPorts: []uint16{web.Port}, Root: root}
	riskyList := "135,137,139,445,3389," + strconv.Itoa(int(risky.Port))
	roster, err := Rotation(period.Start, period.End, 12*time.Hour, [][]Contact{{{Name: "Chen Jie", Phone: "138-0000-0001"}}, {{Name: "Zhao Lei"}}})
	if err != nil {
		t.Fatal(err)
	}
	bl := map[string]string{runner.ParamPolicy: policy.ID, runner.ParamChecks: "1126", runner.ParamSeverity: "high"}
	k, err := New(period, campaign.Instance{ID: "kp-sf-2027", Tenant: "acme", Targets: []campaign.Target{target},
		Params: map[string]map[string]string{"ports": {runner.ParamRiskyPorts: riskyList}, "recheck-ports": {runner.ParamRiskyPorts: riskyList},
			"baseline": bl, "recheck-baseline": bl}}, Options{Roster: roster})
	if err != nil {
		t.Fatal(err)
	}
	now := period.Start.Add(-period.LeadTime - 48*time.Hour)
	engine := campaign.NewEngine(campaign.Options{Now: func() time.Time { return now }, Runners: map[campaign.TaskKind]campaign.Runner{
		campaign.TaskExposedPorts: runner.NewPorts(runner.PortsOptions{Timeout: time.Second}),
		campaign.TaskBaseline:     runner.NewBaseline(runner.BaselineOptions{Policies: []*baseline.Policy{policy}}),
		campaign.TaskDiscovery:    passing, campaign.TaskVulnScan: passing, campaign.TaskTLS: passing, campaign.TaskWebLog: passing,
	}})
	run := func(phase string) {
		for _, task := range k.Campaign.Tasks {
			if task.Phase == phase && task.Kind.Automated() {
				if _, err := engine.RunTask(context.Background(), k.Campaign, task.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	var trans []Transition
	var dailies []DailyInput
	var quiet []bool
	end := period.End.Add(5 * 24 * time.Hour)
	for ; now.Before(end); now = now.Add(time.Hour) {
		for _, tr := range k.Advance(now) {
			trans = append(trans, tr)
			switch tr.To {
			case PhaseSelfInspection:
				run(PhaseSelfInspection)
			case PhaseRemediation:
				risky.Close()
				campaigntest.WriteFiles(t, root, debianRoot("no"))
			case PhaseRecheck:
				run(PhaseRecheck)
			}
		}
		if local := now.In(cst); k.Current == PhaseWatch && local.Hour() == 23 {
			n := len(dailies) + 1
			in := DailyInput{Day: now, Alerts: map[campaign.Severity]int{campaign.SeverityLow: n - 1}, ChangesFrozen: 2}
			switch n {
			case 2: // a busy day: a high alert that became an incident, a blocked scanner
				in.Alerts[campaign.SeverityHigh] = 1
				in.Incidents = map[string]int{"contain": 1}
				in.Blocked = []BlockedSource{{Source: "203.0.113.7", Reason: "web scan against the portal", Hits: 420}}
			case 4: // routine blocking and an approved change keep a day quiet
				in.Blocked = []BlockedSource{{Source: "198.51.100.9", Reason: "SSH password guessing", Hits: 35}}
				in.ChangesApproved = []Change{{ID: "CHG-1042", Title: "certificate renewal", Approver: "wang.fang"}}
			}
			doc, q, err := k.DailyReport(in, "zh-CN")
			if err != nil {
				t.Fatal(err)
			}
			if q {
				var buf bytes.Buffer
				if err := report.RenderHTML(context.Background(), doc, &buf, report.Options{}); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(buf.String(), "零报告") {
					t.Errorf("day %d: quiet report lacks 零报告", n)
				}
			}
			dailies = append(dailies, in)
			quiet = append(quiet, q)
		}
	}
	// Phases were entered in order, each when the previous one ended; the
	// watch is the period itself and the campaign starts one lead time ahead.
	var order []string
	for i, tr := range trans {
		order = append(order, tr.To)
		if i > 0 && tr.From != trans[i-1].To {
			t.Errorf("transition %d from %q, previous entered %q", i, tr.From, trans[i-1].To)
		}
	}
	if want := append(Phases(), ""); !slices.Equal(order, want) {
		t.Fatalf("phases entered %v, want %v", order, want)
	}
	if !trans[0].At.Equal(period.Start.Add(-period.LeadTime)) || !trans[4].At.Equal(period.Start) || !trans[5].At.Equal(period.End) {
		t.Errorf("transition times %v", trans)
	}
	// One daily report per watch day (8 days, 5-12 February inclusive);
	// only the busy day is not a zero report.
	if len(dailies) != 8 {
		t.Fatalf("%d daily reports, want 8", len(dailies))
	}
	for i, q := range quiet {
		if q != (i != 1) {
			t.Errorf("day %d quiet = %v", i+1, q)
		}
	}
	if _, _, err := k.DailyReport(DailyInput{Day: period.End.Add(time.Hour)}, "en"); err == nil {
		t.Error("a daily report after the watch was accepted")
	}
	before, after := k.SnapshotOfPhase(PhaseSelfInspection), k.SnapshotOfPhase(PhaseRecheck)
	if before.RiskyPorts != 1 || after.RiskyPorts != 0 || before.Findings[campaign.SeverityHigh] != 2 || after.Findings[campaign.SeverityHigh] != 0 {
		t.Fatalf("before %+v, after %+v: want the risky port and the root login found, then fixed", before, after)
	}
	for _, l := range []string{"en", "zh-CN"} {
		doc, err := k.SummaryReport(before, after, dailies, now, l)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := report.RenderHTML(context.Background(), doc, &buf, report.Options{}); err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"en": "Days with nothing to report", "zh-CN": "零报告天数"}[l]; !strings.Contains(buf.String(), want) {
			t.Errorf("%s summary lacks %q", l, want)
		}
	}
}

func TestAckSLA(t *testing.T) {
	cal, err := DefaultCalendar()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cal.Period("two-sessions-2027")
	k, err := New(p, campaign.Instance{ID: "kp", Tenant: "acme"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	inWatch, before := p.Start.Add(3*time.Hour), p.Start.Add(-3*time.Hour)
	if got := k.AckDeadline(inWatch, campaign.SeverityHigh).Sub(inWatch); got != 15*time.Minute {
		t.Errorf("high alert in the watch: %s to acknowledge, want 15m", got)
	}
	if got := k.AckDeadline(before, campaign.SeverityHigh).Sub(before); got != 2*time.Hour {
		t.Errorf("high alert before the watch: %s, want 2h", got)
	}
	if !k.AckBreached(inWatch, inWatch.Add(20*time.Minute), campaign.SeverityHigh, inWatch.Add(time.Hour)) {
		t.Error("a 20-minute acknowledgement of a high alert in the watch is a breach")
	}
	if k.AckBreached(before, before.Add(20*time.Minute), campaign.SeverityHigh, before.Add(time.Hour)) {
		t.Error("the same acknowledgement before the watch is not")
	}
	if !k.AckBreached(inWatch, time.Time{}, campaign.SeverityCritical, inWatch.Add(6*time.Minute)) {
		t.Error("an unacknowledged critical alert after 6 minutes is a breach")
	}
	short := p
	short.LeadTime = 5 * 24 * time.Hour
	if _, err := New(short, campaign.Instance{ID: "kp", Tenant: "acme"}, Options{}); err == nil {
		t.Error("a lead time shorter than the phases was accepted")
	}
}
