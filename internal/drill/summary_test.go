package drill

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestSummaryHostileStrings fills every free-text field a user or an alert
// controls with markup, formulas, bidi controls and text at its size limit;
// the summary must validate and render in both languages with the markup
// escaped.
func TestSummaryHostileStrings(t *testing.T) {
	hostile := []string{`<img src=x onerror=alert(1)>`, `=HYPERLINK("http://127.0.0.1/x")`, "\u202eevil\u202c", `"><script>x</script>`, "攻击队\t一"}
	long := strings.Repeat("长", MaxText)
	d := newTestDrill(t)
	d.Name = hostile[0]
	d.RulesOfEngagement = long
	d.Teams[0].Name = hostile[3]
	d.Teams[1].Unit = hostile[1]
	lib, err := DefaultLibrary()
	must(t, err)
	for i, c := range lib.Cases()[:10] {
		c.Name = hostile[i%len(hostile)] + strings.Repeat("x", MaxName-40)
		must(t, d.AddCase(c))
	}
	must(t, d.Transition(StateRunning, "<b>dave</b>", "", t0))
	must(t, d.Transition(StatePaused, "dave", long, t0.Add(time.Minute)))
	must(t, d.Transition(StateRunning, "dave", "", t0.Add(2*time.Minute)))
	for i := range 300 {
		c := d.Cases[i%len(d.Cases)]
		must(t, d.RecordAttack(AttackRecord{ID: fmt.Sprintf("r%d", i), Team: hostile[3], What: hostile[i%len(hostile)] + long[:3*1000],
			At: t0.Add(time.Duration(i) * time.Minute), From: hostile[1], Target: Target{Host: fmt.Sprintf("h%d.attackrange.local", i%7)},
			Technique: c.Technique, Unit: hostile[1], Achievement: Achievements()[i%4], Result: Result{Data: i%3 == 0}}))
	}
	alerts := []store.Alert{{ID: "a1", TenantID: "tenant-a", RuleTitle: "bad\x00title\x1b[31m<script>", Host: "h0.attackrange.local",
		Tags: []string{"attack.t1595.001"}, FirstSeen: t0.Add(time.Minute)}}
	for _, s := range d.Link(alerts, LinkOptions{}) {
		must(t, d.Confirm(s, hostile[2], s.At.Add(time.Hour)))
	}
	must(t, d.SubmitReport(DefenceReport{ID: "p1", Team: "blue-hq", Kind: ReportTracing, Title: hostile[0], At: t0.Add(time.Hour), Accepted: true}))
	for _, lang := range []string{"en", "zh-CN", "fr"} {
		doc, err := d.Summary(lang, t0.Add(30*time.Hour))
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		var html bytes.Buffer
		must(t, report.Render(context.Background(), doc, report.FormatHTML, &html, report.Options{}))
		s := html.String()
		if strings.Contains(s, "<img src=x") || strings.Contains(s, "<script>") || strings.Contains(s, "<b>dave") {
			t.Errorf("%s: markup from user text reached the HTML", lang)
		}
		if !strings.Contains(s, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("%s: the escaped drill name is missing", lang)
		}
		var xlsx bytes.Buffer
		must(t, report.Render(context.Background(), doc, report.FormatXLSX, &xlsx, report.Options{}))
	}
	items := d.Remediation("zh-CN")
	if len(items) == 0 || !strings.Contains(items[0].Title, "补齐") {
		t.Fatalf("remediation items: %+v", items)
	}
	for i := 1; i < len(items); i++ {
		if sev := map[string]int{"critical": 4, "high": 3, "medium": 2, "low": 1}; sev[items[i].Priority] > sev[items[i-1].Priority] {
			t.Fatalf("items not ranked worst first: %s after %s", items[i].Priority, items[i-1].Priority)
		}
	}
}

func TestGapAreas(t *testing.T) {
	d := newTestDrill(t)
	lib, err := DefaultLibrary()
	must(t, err)
	add := func(id string) TestCase {
		c, ok := lib.Get(id)
		if !ok {
			t.Fatalf("no case %s", id)
		}
		must(t, d.AddCase(c))
		return c
	}
	edr := add("lib-t1003.001-lsass")              // edr + siem_rule: undetected → products
	fw := add("lib-t1021.004-ssh")                 // firewall + siem_rule: undetected → policies
	logged := add("lib-t1482-domain-trusts")       // logged only → system
	slow := add("lib-t1046-service-scan")          // alerted after 3h → people
	noResp := add("lib-t1087.002-domain-accounts") // alerted, no response → coordination
	fine := add("lib-t1105-tool-transfer")         // blocked fast → no gap
	must(t, d.Transition(StateRunning, "dave", "", t0))
	rec := func(id string, c TestCase, r Result) {
		must(t, d.RecordAttack(AttackRecord{ID: id, Team: "red-1", What: "x", At: t0.Add(time.Hour), Target: Target{Address: "10.20.3.3"}, Technique: c.Technique, CaseID: c.ID, Result: r}))
	}
	rec("e", edr, Result{Privilege: true, Data: true})
	rec("f", fw, Result{Foothold: true})
	rec("l", logged, Result{})
	rec("s", slow, Result{})
	rec("n", noResp, Result{})
	rec("ok", fine, Result{})
	obs := func(id string, l Layer, lv Level, after time.Duration, responded bool) {
		o := Observation{RecordID: id, Layer: l, Level: lv, At: t0.Add(time.Hour + after), By: "bob"}
		if responded {
			o.RespondedAt = o.At.Add(time.Minute)
		}
		must(t, d.Observe(o))
	}
	obs("l", LayerSIEMRule, LevelLogged, time.Minute, false)
	obs("s", LayerIDSIPS, LevelAlerted, 3*time.Hour, true)
	obs("n", LayerSIEMRule, LevelAlerted, time.Minute, false)
	obs("ok", LayerFirewall, LevelBlocked, time.Minute, true)
	got := map[string]Gap{}
	for _, g := range d.Gaps() {
		got[g.CaseID] = g
	}
	want := map[string]struct {
		area     Area
		kind     string
		severity string
	}{
		edr.ID:    {AreaProducts, "undetected", report.EmphasisCritical}, // 3 + data 3 + privilege 2
		fw.ID:     {AreaPolicies, "undetected", report.EmphasisHigh},     // 3 + foothold 1
		logged.ID: {AreaSystem, "logged_only", report.EmphasisMedium},
		slow.ID:   {AreaPeople, "slow", report.EmphasisLow},
		noResp.ID: {AreaCoordination, "no_response", report.EmphasisLow},
	}
	if len(got) != len(want) {
		t.Fatalf("gaps %+v", got)
	}
	for id, w := range want {
		if g := got[id]; g.Area != w.area || g.Kind != w.kind || g.Severity != w.severity {
			t.Errorf("%s: %s/%s/%s, want %s/%s/%s", id, g.Area, g.Kind, g.Severity, w.area, w.kind, w.severity)
		}
	}
	if got[edr.ID].Rank != 1 {
		t.Errorf("the undetected credential dump with data reached is not ranked first: %+v", got[edr.ID])
	}
}
