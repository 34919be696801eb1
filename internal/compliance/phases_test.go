package compliance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/report"
)

func TestMLPSProcess(t *testing.T) {
	p, err := MLPSProcess()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tasks := 0
	for _, ph := range p.Phases {
		names = append(names, ph.Name)
		tasks += len(ph.Tasks)
	}
	if got := strings.Join(names, ","); got != "测评准备活动,方案编制活动,现场测评活动,报告编制活动" {
		t.Errorf("phases = %s", got)
	}
	outputs := map[string]bool{}
	for _, ph := range p.Phases {
		for _, tk := range ph.Tasks {
			for _, o := range tk.Outputs {
				outputs[o.Zh] = true
			}
		}
	}
	for _, want := range []string{"测评授权书", "风险告知书", "测评方案", "测评指导书", "现场测评结果确认单"} {
		if !outputs[want] {
			t.Errorf("output %s missing", want)
		}
	}

	// Monday 2026-03-02: the plan runs over working days only.
	start := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	plan, err := NewProjectPlan(p, start, PlanOptions{Days: map[string]int{"assess": 10}})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Tasks) != tasks {
		t.Fatalf("%d planned tasks, want %d", len(plan.Tasks), tasks)
	}
	days := 0
	for i, tk := range plan.Tasks {
		if wd := tk.Start.Weekday(); wd == time.Saturday || wd == time.Sunday {
			t.Errorf("task %s starts on a %s", tk.ID, wd)
		}
		if i > 0 && !tk.Start.After(plan.Tasks[i-1].End) {
			t.Errorf("task %s starts %s, before the previous ends %s", tk.ID, tk.Start, plan.Tasks[i-1].End)
		}
		days += tk.Days
		if tk.ID == "assess" && tk.Days != 10 {
			t.Errorf("override ignored: %d days", tk.Days)
		}
	}
	// Count the working days between start and end independently.
	n := 0
	for d := plan.Start; !d.After(plan.End); d = d.AddDate(0, 0, 1) {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n++
		}
	}
	if n != days {
		t.Errorf("plan spans %d working days, tasks need %d", n, days)
	}
	if _, err := NewProjectPlan(p, start, PlanOptions{Days: map[string]int{"assess": -1}}); err == nil {
		t.Error("negative duration accepted")
	}
}

func TestAssessmentReport(t *testing.T) {
	fw := builtin(t).Framework("mlps2-l3")
	var rs []ItemResult
	for i, n := range fw.Requirements() {
		r := []Result{Conform, PartlyConform, NotConform, NotApplicable}[i%4]
		rs = append(rs, ItemResult{Item: n.ID, Object: "srv<1>", Result: r, HighRisk: i == 6, Note: "line\x01break"})
	}
	card, err := (WeightedScorer{}).Score(context.Background(), fw, rs)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"zh-CN", "en"} {
		doc := AssessmentReport(fw, card, ReportOptions{System: "OA 系统", Tenant: "示例单位", Lang: lang})
		if err := doc.Validate(); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if doc.Lang != lang || len(doc.Sections) < 6 {
			t.Errorf("%s: %d sections", lang, len(doc.Sections))
		}
		var html strings.Builder
		if err := report.RenderHTML(context.Background(), doc, &html, report.Options{}); err != nil {
			t.Fatalf("%s: render: %v", lang, err)
		}
		if strings.Contains(html.String(), "srv<1>") {
			t.Error("object name not escaped")
		}
		if lang == "zh-CN" && !strings.Contains(html.String(), "官方报告模板") {
			t.Error("report does not say the official template comes from the assessment body")
		}
	}
	if card.Conclusion != Poor || len(card.HighRisks) != 1 {
		t.Errorf("conclusion %s with %d high risks", card.Conclusion, len(card.HighRisks))
	}
}
