package keyperiod

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/report"
)

// Incident stages counted in the daily report, in order (the PICERL
// stages of incident response).
var incidentStages = []string{"detect", "contain", "eradicate", "recover", "summarise", "closed"}

// BlockedSource is a source blocked during the day.
type BlockedSource struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
	Hits   int    `json:"hits"`
}

// Recheck is an asset re-checked during the day.
type Recheck struct {
	AssetID string `json:"asset_id"`
	Check   string `json:"check"`
	Result  string `json:"result"`
}

// Change is a change approved during the freeze.
type Change struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Approver string `json:"approver"`
}

// DailyInput is what the daily watch report says about one day. The
// application fills it from its stores.
type DailyInput struct {
	// Day is any time within the day (in the calendar's zone) reported on.
	Day time.Time
	// Alerts counts the day's alerts by severity; SLABreaches counts
	// those acknowledged late or not at all.
	Alerts      map[campaign.Severity]int
	SLABreaches int
	// Incidents counts open incidents by stage (detect, contain,
	// eradicate, recover, summarise, closed).
	Incidents       map[string]int
	Blocked         []BlockedSource
	Rechecked       []Recheck
	ChangesFrozen   int
	ChangesApproved []Change
	Notes           []string
}

// Quiet reports whether the day had nothing to report (零报告): no alert
// of medium severity or above, no incident in any stage but closed, and
// no SLA breach. Low and info alerts, routine blocking and re-checks keep a
// day quiet.
func (in DailyInput) Quiet() bool {
	for _, s := range []campaign.Severity{campaign.SeverityCritical, campaign.SeverityHigh, campaign.SeverityMedium} {
		if in.Alerts[s] > 0 {
			return false
		}
	}
	for st, n := range in.Incidents {
		if st != "closed" && n > 0 {
			return false
		}
	}
	return in.SLABreaches == 0
}

var words = map[string]map[string]string{
	"en": {
		"daily": "Key-period daily watch report", "daily_sub": "%s — %s (day %d of %d)",
		"quiet": "Nothing to report", "quiet_text": "Nothing to report (零报告): no alert of medium severity or above, no open incident and no acknowledgement SLA breach on %s.",
		"not_quiet": "Events to report", "status": "Status",
		"alerts": "Alerts", "by_sev": "Alerts by severity", "severity": "Severity", "count": "Count", "breaches": "Acknowledgement SLA breaches",
		"incidents": "Incidents by stage", "stage": "Stage",
		"blocked": "Blocked sources", "source": "Source", "reason": "Reason", "hits": "Hits",
		"rechecked": "Re-checked assets", "asset": "Asset", "check": "Check", "result": "Result",
		"changes": "Changes", "frozen": "Changes held by the freeze", "approved": "Changes approved", "id": "Id", "title": "Title", "approver": "Approver",
		"duty": "On duty", "lead": "Lead", "members": "Members", "shift": "Shift", "notes": "Notes", "none": "None.",
		"sla": "Acknowledgement SLA during the watch", "ack_within": "Acknowledge within",
		"summary": "Key-period security summary report", "summary_sub": "%s, %s to %s",
		"overview": "Overview", "overview_text": "The campaign for %s ran from %s to %s: plan, self-inspection, remediation, re-check, a %d-day watch and this summary.",
		"exposure": "Exposure and findings before and after", "measure": "Measure", "before": "Before (self-inspection)", "after": "After (re-check)", "change": "Change",
		"exposed": "Exposed ports not in the design", "risky": "Risky ports exposed", "findings": "Open findings", "f_sev": "Open findings: %s",
		"errored": "Checks that could not run",
		"watch":   "The watch", "days": "Watch days reported", "quiet_days": "Days with nothing to report", "alerts_total": "Alerts in the watch",
		"incidents_total": "Incidents opened or handled", "blocked_total": "Sources blocked", "approved_total": "Changes approved during the freeze",
		"per_day": "Alerts of medium severity or above per day", "day": "Day",
		"campaign": "Campaign tasks", "task": "Task", "phase": "Phase", "passed": "Passed", "failed": "Failed", "pending": "Pending", "overdue": "Overdue",
	},
	"zh-CN": {
		"daily": "重点时期安全值守日报", "daily_sub": "%s —— %s（值守第 %d 天，共 %d 天）",
		"quiet": "零报告", "quiet_text": "零报告：%s 未发生中危及以上告警，无未结安全事件，无告警响应超时。",
		"not_quiet": "有事件报告", "status": "状态",
		"alerts": "告警", "by_sev": "按严重程度统计告警", "severity": "严重程度", "count": "数量", "breaches": "告警响应超时",
		"incidents": "按处置阶段统计安全事件", "stage": "阶段",
		"blocked": "已封禁来源", "source": "来源", "reason": "原因", "hits": "命中次数",
		"rechecked": "复查资产", "asset": "资产", "check": "检查", "result": "结果",
		"changes": "变更", "frozen": "因封网冻结的变更", "approved": "已批准的变更", "id": "编号", "title": "标题", "approver": "审批人",
		"duty": "值班人员", "lead": "值班负责人", "members": "值班成员", "shift": "班次", "notes": "备注", "none": "无。",
		"sla": "值守期间告警响应时限", "ack_within": "响应时限",
		"summary": "重点时期安全保障总结报告", "summary_sub": "%s，%s 至 %s",
		"overview": "概述", "overview_text": "%s 安全保障工作自 %s 至 %s，经过方案制定、自查、整改加固、复查、%d 天值守及总结。",
		"exposure": "整改前后暴露面与问题对比", "measure": "指标", "before": "整改前（自查）", "after": "整改后（复查）", "change": "变化",
		"exposed": "设计外开放端口", "risky": "高危端口暴露", "findings": "未关闭问题", "f_sev": "未关闭问题：%s",
		"errored": "无法执行的检查",
		"watch":   "值守情况", "days": "值守日报天数", "quiet_days": "零报告天数", "alerts_total": "值守期间告警",
		"incidents_total": "处置的安全事件", "blocked_total": "封禁来源", "approved_total": "冻结期间批准的变更",
		"per_day": "每日中危及以上告警", "day": "日期",
		"campaign": "工作任务", "task": "任务", "phase": "阶段", "passed": "通过", "failed": "不通过", "pending": "未完成", "overdue": "超期",
	},
}

func lang(l string) (string, map[string]string) {
	if w, ok := words[l]; ok {
		return l, w
	}
	return "en", words["en"]
}

func (k *Campaign) periodName(l string) string {
	if l == "zh-CN" && k.Period.NameZh != "" {
		return k.Period.NameZh
	}
	return k.Period.Name
}

// watchDays returns the first moment of each day of the watch in the
// period's zone.
func (k *Campaign) watchDays() []time.Time {
	loc := k.Period.Start.Location()
	var out []time.Time
	for d := k.Period.Start; d.Before(k.Period.End) && len(out) <= MaxPeriodDays; d = d.AddDate(0, 0, 1) {
		out = append(out, time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc))
	}
	return out
}

// DailyReport builds the daily watch report of in.Day in l ("en" or
// "zh-CN") and says whether it is a zero report. The day must lie in the
// watch.
func (k *Campaign) DailyReport(in DailyInput, l string) (*report.Document, bool, error) {
	l, w := lang(l)
	loc := k.Period.Start.Location()
	d := in.Day.In(loc)
	dayStart := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
	days := k.watchDays()
	idx := slices.IndexFunc(days, func(t time.Time) bool { return t.Equal(dayStart) })
	if idx < 0 {
		return nil, false, fmt.Errorf("%s is not a day of the watch of %s", dayStart.Format(time.DateOnly), k.Period.ID)
	}
	day := dayStart.Format(time.DateOnly)
	quiet := in.Quiet()
	doc := &report.Document{Title: w["daily"], Subtitle: fmt.Sprintf(w["daily_sub"], k.periodName(l), day, idx+1, len(days)),
		Tenant: k.Campaign.Tenant, Lang: l, GeneratedAt: dayStart.AddDate(0, 0, 1).UTC(), Classification: "TLP:AMBER"}
	status := w["not_quiet"]
	if quiet {
		status = w["quiet"]
	}
	total := 0
	for _, n := range in.Alerts {
		total += n
	}
	open := 0
	for st, n := range in.Incidents {
		if st != "closed" {
			open += n
		}
	}
	doc.Summary = []report.KeyFigure{{Label: w["status"], Value: status}, {Label: w["alerts"], Value: strconv.Itoa(total)},
		{Label: w["incidents"], Value: strconv.Itoa(open)}, {Label: w["blocked"], Value: strconv.Itoa(len(in.Blocked))},
		{Label: w["breaches"], Value: strconv.Itoa(in.SLABreaches)}}
	if quiet {
		doc.Sections = append(doc.Sections, report.Section{Heading: w["quiet"], Paragraphs: []string{fmt.Sprintf(w["quiet_text"], day)}})
	}
	at := report.Table{Caption: w["by_sev"], Columns: []string{w["severity"], w["count"]}}
	for _, s := range campaign.Severities() {
		at.Rows = append(at.Rows, []string{string(s), strconv.Itoa(in.Alerts[s])})
		at.Emphasis = append(at.Emphasis, map[campaign.Severity]string{campaign.SeverityCritical: report.EmphasisCritical, campaign.SeverityHigh: report.EmphasisHigh}[s])
	}
	it := report.Table{Caption: w["incidents"], Columns: []string{w["stage"], w["count"]}}
	for _, st := range incidentStages {
		it.Rows = append(it.Rows, []string{st, strconv.Itoa(in.Incidents[st])})
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["alerts"], Tables: []report.Table{at, it},
		Figures: []report.KeyFigure{{Label: w["breaches"], Value: strconv.Itoa(in.SLABreaches)}}})
	bl := report.Section{Heading: w["blocked"]}
	if len(in.Blocked) == 0 {
		bl.Paragraphs = []string{w["none"]}
	} else {
		tb := report.Table{Columns: []string{w["source"], w["reason"], w["hits"]}}
		for _, b := range in.Blocked {
			tb.Rows = append(tb.Rows, []string{report.CleanText(b.Source), report.CleanText(b.Reason), strconv.Itoa(b.Hits)})
		}
		bl.Tables = []report.Table{tb}
	}
	rc := report.Section{Heading: w["rechecked"]}
	if len(in.Rechecked) == 0 {
		rc.Paragraphs = []string{w["none"]}
	} else {
		tb := report.Table{Columns: []string{w["asset"], w["check"], w["result"]}}
		for _, r := range in.Rechecked {
			tb.Rows = append(tb.Rows, []string{report.CleanText(r.AssetID), report.CleanText(r.Check), report.CleanText(r.Result)})
		}
		rc.Tables = []report.Table{tb}
	}
	ch := report.Section{Heading: w["changes"], Figures: []report.KeyFigure{{Label: w["frozen"], Value: strconv.Itoa(in.ChangesFrozen)},
		{Label: w["approved"], Value: strconv.Itoa(len(in.ChangesApproved))}}}
	if len(in.ChangesApproved) > 0 {
		tb := report.Table{Caption: w["approved"], Columns: []string{w["id"], w["title"], w["approver"]}}
		for _, c := range in.ChangesApproved {
			tb.Rows = append(tb.Rows, []string{report.CleanText(c.ID), report.CleanText(c.Title), report.CleanText(c.Approver)})
		}
		ch.Tables = []report.Table{tb}
	}
	duty := report.Section{Heading: w["duty"]}
	dt := report.Table{Columns: []string{w["shift"], w["lead"], w["members"]}}
	for _, s := range k.Roster.Shifts {
		if s.End.After(dayStart) && s.Start.Before(dayStart.AddDate(0, 0, 1)) {
			var ms []string
			for _, m := range s.Members {
				ms = append(ms, contact(m))
			}
			dt.Rows = append(dt.Rows, []string{s.Start.In(loc).Format("01-02 15:04") + "–" + s.End.In(loc).Format("01-02 15:04"), contact(s.Lead), strings.Join(ms, "; ")})
		}
	}
	if len(dt.Rows) > 0 {
		duty.Tables = []report.Table{dt}
	} else {
		duty.Paragraphs = []string{w["none"]}
	}
	st := report.Table{Caption: w["sla"], Columns: []string{w["severity"], w["ack_within"]}}
	for _, s := range campaign.Severities() {
		if v, ok := k.SLA.Watch[s]; ok {
			st.Rows = append(st.Rows, []string{string(s), v.String()})
		}
	}
	duty.Tables = append(duty.Tables, st)
	doc.Sections = append(doc.Sections, bl, rc, ch, duty)
	if len(in.Notes) > 0 {
		var ps []string
		for _, n := range in.Notes {
			ps = append(ps, report.CleanText(n))
		}
		doc.Sections = append(doc.Sections, report.Section{Heading: w["notes"], Paragraphs: ps})
	}
	return doc, quiet, doc.Validate()
}

func contact(c Contact) string {
	s := c.Name
	if c.Role != "" {
		s += " (" + c.Role + ")"
	}
	if c.Phone != "" {
		s += " " + c.Phone
	}
	return report.CleanText(s)
}

// Snapshot is the exposure and findings of the scope at one point.
type Snapshot struct {
	// ExposedPorts counts open ports not in the declared design (risky
	// ones included); RiskyPorts counts the risky ones.
	ExposedPorts int
	RiskyPorts   int
	// Findings counts open findings by severity.
	Findings map[campaign.Severity]int
	// Errored counts checks that could not run.
	Errored int
}

// SnapshotOfPhase measures the latest results of the automated tasks of
// one phase: the self-inspection gives "before", the re-check "after".
func (k *Campaign) SnapshotOfPhase(phase string) Snapshot {
	s := Snapshot{Findings: map[campaign.Severity]int{}}
	inPhase := map[string]campaign.TaskKind{}
	for _, t := range k.Campaign.Tasks {
		if t.Phase == phase && t.Kind.Automated() {
			inPhase[t.ID] = t.Kind
		}
	}
	for _, r := range k.Campaign.Results {
		kind, ok := inPhase[r.TaskID]
		if !ok {
			continue
		}
		if r.Status == campaign.StatusErrored {
			s.Errored++
		}
		for _, f := range r.Findings {
			if f.Severity == campaign.SeverityInfo {
				continue
			}
			s.Findings[f.Severity]++
			if kind == campaign.TaskExposedPorts && strings.HasPrefix(f.Key, "port/") {
				s.ExposedPorts++
				if f.Ref == campaign.RefRiskyPort {
					s.RiskyPorts++
				}
			}
		}
	}
	return s
}

func delta(before, after int) string {
	switch d := after - before; {
	case d > 0:
		return "+" + strconv.Itoa(d)
	case d < 0:
		return strconv.Itoa(d)
	}
	return "0"
}

// SummaryReport builds the summary report: before/after exposure and
// findings, the watch in figures from the daily inputs, and the campaign's
// tasks at now.
func (k *Campaign) SummaryReport(before, after Snapshot, dailies []DailyInput, now time.Time, l string) (*report.Document, error) {
	l, w := lang(l)
	loc := k.Period.Start.Location()
	first, last := k.Campaign.Phases[0].Start.In(loc), k.Campaign.Phases[len(k.Campaign.Phases)-1].End.In(loc)
	doc := &report.Document{Title: w["summary"], Subtitle: fmt.Sprintf(w["summary_sub"], k.periodName(l), first.Format(time.DateOnly), last.Format(time.DateOnly)),
		Tenant: k.Campaign.Tenant, Lang: l, GeneratedAt: now.UTC(), Classification: "TLP:AMBER"}
	days := len(k.watchDays())
	doc.Sections = append(doc.Sections, report.Section{Heading: w["overview"],
		Paragraphs: []string{fmt.Sprintf(w["overview_text"], k.periodName(l), first.Format(time.DateOnly), last.Format(time.DateOnly), days)}})

	tb := report.Table{Columns: []string{w["measure"], w["before"], w["after"], w["change"]}}
	row := func(label string, b, a int) {
		tb.Rows = append(tb.Rows, []string{label, strconv.Itoa(b), strconv.Itoa(a), delta(b, a)})
	}
	row(w["exposed"], before.ExposedPorts, after.ExposedPorts)
	row(w["risky"], before.RiskyPorts, after.RiskyPorts)
	fb, fa := 0, 0
	for _, s := range campaign.Severities() {
		fb += before.Findings[s]
		fa += after.Findings[s]
	}
	row(w["findings"], fb, fa)
	for _, s := range campaign.Severities()[:4] {
		row(fmt.Sprintf(w["f_sev"], s), before.Findings[s], after.Findings[s])
	}
	row(w["errored"], before.Errored, after.Errored)
	chart := report.Chart{Kind: report.ChartBar, Title: w["exposure"], Labels: []string{w["exposed"], w["risky"], w["findings"]},
		Series: []report.Series{{Name: w["before"], Values: []float64{float64(before.ExposedPorts), float64(before.RiskyPorts), float64(fb)}},
			{Name: w["after"], Values: []float64{float64(after.ExposedPorts), float64(after.RiskyPorts), float64(fa)}}}}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["exposure"], Tables: []report.Table{tb}, Charts: []report.Chart{chart}})

	quiet, alerts, incidents, blocked, approved := 0, 0, 0, 0, 0
	perDay := report.Chart{Kind: report.ChartBar, Title: w["per_day"], Series: []report.Series{{Name: w["alerts"]}}}
	sorted := slices.Clone(dailies)
	slices.SortFunc(sorted, func(a, b DailyInput) int { return a.Day.Compare(b.Day) })
	for _, d := range sorted {
		if d.Quiet() {
			quiet++
		}
		sig := 0
		for s, n := range d.Alerts {
			alerts += n
			if s.Rank() >= campaign.SeverityMedium.Rank() {
				sig += n
			}
		}
		for st, n := range d.Incidents {
			if st != "closed" {
				incidents += n
			}
		}
		blocked += len(d.Blocked)
		approved += len(d.ChangesApproved)
		if len(perDay.Labels) < report.MaxChartPoints {
			perDay.Labels = append(perDay.Labels, d.Day.In(loc).Format(time.DateOnly))
			perDay.Series[0].Values = append(perDay.Series[0].Values, float64(sig))
		}
	}
	watch := report.Section{Heading: w["watch"], Figures: []report.KeyFigure{
		{Label: w["days"], Value: fmt.Sprintf("%d / %d", len(dailies), days)}, {Label: w["quiet_days"], Value: strconv.Itoa(quiet)},
		{Label: w["alerts_total"], Value: strconv.Itoa(alerts)}, {Label: w["incidents_total"], Value: strconv.Itoa(incidents)},
		{Label: w["blocked_total"], Value: strconv.Itoa(blocked)}, {Label: w["approved_total"], Value: strconv.Itoa(approved)}}}
	if len(perDay.Labels) > 0 {
		watch.Charts = []report.Chart{perDay}
	}
	doc.Sections = append(doc.Sections, watch)

	ro := k.Campaign.Rollup(now)
	tt := report.Table{Columns: []string{w["phase"], w["passed"], w["failed"], w["errored"], w["pending"], w["overdue"]}}
	for _, ph := range Phases() {
		t, ok := ro.ByPhase[ph]
		if !ok {
			continue
		}
		tt.Rows = append(tt.Rows, []string{ph, strconv.Itoa(t.Status[campaign.StatusPassed]), strconv.Itoa(t.Status[campaign.StatusFailed]),
			strconv.Itoa(t.Status[campaign.StatusErrored]), strconv.Itoa(t.Status[campaign.StatusPending]), strconv.Itoa(t.Overdue)})
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["campaign"], Tables: []report.Table{tt}})
	doc.Summary = []report.KeyFigure{
		{Label: w["exposed"], Value: strconv.Itoa(after.ExposedPorts), Note: w["before"] + ": " + strconv.Itoa(before.ExposedPorts)},
		{Label: w["risky"], Value: strconv.Itoa(after.RiskyPorts), Note: w["before"] + ": " + strconv.Itoa(before.RiskyPorts)},
		{Label: w["findings"], Value: strconv.Itoa(fa), Note: w["before"] + ": " + strconv.Itoa(fb)},
		{Label: w["quiet_days"], Value: fmt.Sprintf("%d / %d", quiet, len(dailies))},
	}
	return doc, doc.Validate()
}
