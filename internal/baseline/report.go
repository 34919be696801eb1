package baseline

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/report"
)

// Assessment is the input of a tenant's baseline assessment report.
type Assessment struct {
	Tenant         string
	Lang           string // "en" (default) or "zh-CN"
	GeneratedAt    time.Time
	Author         string
	Classification string
	// Runs are the runs reported on; of several runs of one policy on one
	// asset the latest counts.
	Runs []PolicyRun
	// Previous, when given, are the runs before hardening; each current
	// run is compared with the latest earlier run of its asset and policy.
	Previous []PolicyRun
	// History, when given, holds every run of the period (Runs and Previous
	// may be among them) for the compliance-over-time chart.
	History []PolicyRun
	// Policies by SCA id supply rationale and MLPS references; optional.
	Policies map[string]*Policy
	// Fixes by policy id, then check id (see policies.Fixes); optional.
	Fixes map[string]map[string]string
}

// Row caps: a report lists at most this many failed checks and changes;
// the rest are counted in a note.
const (
	maxReportFailures = 5000
	maxReportChanges  = 5000
)

var reportWords = map[string]map[string]string{
	"en": {
		"title": "Security baseline assessment report", "subtitle": "Configuration compliance and hardening",
		"overall": "Overall compliance", "assets": "Assets assessed", "runs": "Policy runs", "failed_checks": "Failed checks",
		"fixed": "Fixed since the previous run", "new_fail": "New failures", "prev_overall": "Previous overall compliance",
		"scope":      "Scope and method",
		"scope_text": "%d policy runs on %d assets were evaluated against security configuration baselines in the Wazuh SCA format, with references to MLPS 2.0 (GB/T 22239-2019, level 3) controls.",
		"score_text": "Compliance is passed / (passed + failed) checks. Checks that do not apply, could not be evaluated or wait for an assessor are left out of the ratio and counted separately; coverage is the share of applicable checks that were decided. An asset's compliance weighs each policy by its decided checks.",
		"by_asset":   "Compliance by asset", "by_policy": "Compliance by policy", "asset": "Asset", "policy": "Policy",
		"policies": "Policies", "passed": "Passed", "failed": "Failed", "na": "Not applicable", "undecided": "Error or manual",
		"compliance": "Compliance", "coverage": "Coverage", "run_at": "Checked at", "none": "None.", "no_score": "n/a",
		"by_control": "Results by MLPS 2.0 control", "control": "Control (GB/T 28448-2019 test unit)",
		"control_text": "Each check counts towards every MLPS 2.0 level-3 control it references; a control is met only when an assessor also confirms the parts that configuration checks cannot see.",
		"failures":     "Failed checks and remediation", "check": "Check", "title_col": "Title", "mlps": "MLPS 2.0",
		"remediation": "Remediation", "fix": "Fix (review before applying; never run automatically)",
		"more_rows":    "%d more rows are not listed.",
		"before_after": "Before and after hardening", "before": "Before", "after": "After",
		"still_failing": "Still failing", "changes": "Changed checks", "change": "Change",
		"no_previous": "No earlier run of this asset and policy.",
		"ch_fixed":    "fixed", "ch_regressed": "new failure", "ch_still": "still failing", "ch_changed": "changed",
		"ch_added": "added", "ch_removed": "removed",
		"history": "Compliance over time", "date": "Date",
		"history_text": "Each asset's compliance at the end of every day with a check run; the latest run of each policy up to that day counts.",
	},
	"zh-CN": {
		"title": "安全基线评估报告", "subtitle": "配置合规与安全加固",
		"overall": "总体合规率", "assets": "评估资产数", "runs": "策略检查次数", "failed_checks": "不合规项",
		"fixed": "较上次已整改", "new_fail": "新增不合规", "prev_overall": "上次总体合规率",
		"scope":      "范围与方法",
		"scope_text": "对 %[2]d 个资产进行了 %[1]d 次策略检查，依据 Wazuh SCA 格式的安全配置基线，并对应网络安全等级保护 2.0（GB/T 22239-2019 第三级）控制项。",
		"score_text": "合规率 = 合规项 /（合规项 + 不合规项）。不适用、无法评估或待人工确认的检查项不计入比率，单独统计；覆盖率为已判定项占适用项的比例。资产合规率按各策略已判定项数加权。",
		"by_asset":   "按资产统计的合规率", "by_policy": "按策略统计的合规率", "asset": "资产", "policy": "策略",
		"policies": "策略数", "passed": "合规", "failed": "不合规", "na": "不适用", "undecided": "错误或待人工确认",
		"compliance": "合规率", "coverage": "覆盖率", "run_at": "检查时间", "none": "无。", "no_score": "无",
		"by_control": "按等保2.0控制项统计", "control": "控制项（GB/T 28448-2019 测评单元）",
		"control_text": "每个检查项计入其对应的全部等保2.0第三级控制项；配置检查无法覆盖的部分需由测评人员确认后，控制项方可判定为符合。",
		"failures":     "不合规项与整改建议", "check": "检查项", "title_col": "名称", "mlps": "等保2.0",
		"remediation": "整改建议", "fix": "加固脚本（须审核后执行，系统不会自动执行）",
		"more_rows":    "另有 %d 行未列出。",
		"before_after": "加固前后对比", "before": "加固前", "after": "加固后",
		"still_failing": "仍不合规", "changes": "变化的检查项", "change": "变化",
		"no_previous": "该资产与策略无更早的检查记录。",
		"ch_fixed":    "已整改", "ch_regressed": "新增不合规", "ch_still": "仍不合规", "ch_changed": "结果变化",
		"ch_added": "新增检查项", "ch_removed": "移除检查项",
		"history": "合规率变化趋势", "date": "日期",
		"history_text": "各资产在每个有检查的日期结束时的合规率；每个策略取截至当日的最近一次检查。",
	},
}

// ReportDocument builds the baseline assessment report of a tenant:
// compliance per asset and per policy, failed checks with remediation and
// fixes, and, when earlier runs are given, the before/after comparison of
// the hardening round. All text taken from runs and policies is cleaned
// and bounded; the document is validated before it is returned.
func ReportDocument(a Assessment) (*report.Document, error) {
	lang := a.Lang
	if _, ok := reportWords[lang]; !ok {
		lang = "en"
	}
	w := reportWords[lang]
	runs := latestRuns(a.Runs)
	scores := Scores(runs)
	var total Tally
	for _, s := range scores {
		total.Add(s.Tally)
	}
	doc := &report.Document{
		Title: w["title"], Subtitle: w["subtitle"], Tenant: short(a.Tenant), Lang: lang,
		GeneratedAt: a.GeneratedAt.UTC(), Author: short(a.Author), Classification: short(a.Classification),
	}
	doc.Summary = []report.KeyFigure{
		{Label: w["overall"], Value: pct(total, w)},
		{Label: w["assets"], Value: strconv.Itoa(len(scores))},
		{Label: w["runs"], Value: strconv.Itoa(len(runs))},
		{Label: w["failed_checks"], Value: strconv.Itoa(total.Failed)},
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["scope"], Paragraphs: []string{
		fmt.Sprintf(w["scope_text"], len(runs), len(scores)), w["score_text"],
	}})
	doc.Sections = append(doc.Sections, assetSection(scores, w), policySection(scores, w))
	if sec, ok := controlSection(runs, a.Policies, w); ok {
		doc.Sections = append(doc.Sections, sec)
	}
	doc.Sections = append(doc.Sections, failureSection(runs, a, w))
	if len(a.Previous) > 0 {
		sec, fixed, regressed, prevTotal := compareSection(runs, latestRuns(a.Previous), w)
		doc.Summary = append(doc.Summary,
			report.KeyFigure{Label: w["prev_overall"], Value: pct(prevTotal, w)},
			report.KeyFigure{Label: w["fixed"], Value: strconv.Itoa(fixed)},
			report.KeyFigure{Label: w["new_fail"], Value: strconv.Itoa(regressed)})
		doc.Sections = append(doc.Sections, sec)
	}
	if len(a.History) > 0 {
		doc.Sections = append(doc.Sections, historySection(a.History, w))
	}
	if err := doc.Validate(); err != nil {
		return nil, fmt.Errorf("baseline: report: %w", err)
	}
	return doc, nil
}

func assetSection(scores []AssetScore, w map[string]string) report.Section {
	sec := report.Section{Heading: w["by_asset"]}
	if len(scores) == 0 {
		sec.Paragraphs = []string{w["none"]}
		return sec
	}
	t := report.Table{Columns: []string{w["asset"], w["policies"], w["passed"], w["failed"], w["na"], w["undecided"], w["compliance"], w["coverage"]}}
	chart := report.Chart{Kind: report.ChartBar, Title: w["by_asset"], Series: []report.Series{{Name: w["compliance"]}}}
	for _, s := range scores {
		t.Rows = append(t.Rows, []string{cell(s.Asset), strconv.Itoa(len(s.Policies)), strconv.Itoa(s.Tally.Passed),
			strconv.Itoa(s.Tally.Failed), strconv.Itoa(s.Tally.NotApplicable), strconv.Itoa(s.Tally.Errors + s.Tally.Manual),
			pct(s.Tally, w), fmt.Sprintf("%.0f%%", s.Tally.Coverage())})
		t.Emphasis = append(t.Emphasis, scoreEmphasis(s.Tally))
		if s.Scored {
			chart.Labels = append(chart.Labels, short(s.Asset))
			chart.Series[0].Values = append(chart.Series[0].Values, round1(s.Score))
		}
	}
	capTable(&t, maxReportFailures, w)
	sec.Tables = []report.Table{t}
	if n := len(chart.Labels); n > 0 && n <= report.MaxChartPoints {
		sec.Charts = []report.Chart{chart}
	}
	return sec
}

func policySection(scores []AssetScore, w map[string]string) report.Section {
	sec := report.Section{Heading: w["by_policy"]}
	t := report.Table{Columns: []string{w["asset"], w["policy"], w["run_at"], w["passed"], w["failed"], w["na"], w["undecided"], w["compliance"]}}
	for _, s := range scores {
		for _, p := range s.Policies {
			t.Rows = append(t.Rows, []string{cell(s.Asset), cell(policyName(p.PolicyID, p.PolicyTitle)), timeText(p.At),
				strconv.Itoa(p.Tally.Passed), strconv.Itoa(p.Tally.Failed), strconv.Itoa(p.Tally.NotApplicable),
				strconv.Itoa(p.Tally.Errors + p.Tally.Manual), pct(p.Tally, w)})
			t.Emphasis = append(t.Emphasis, scoreEmphasis(p.Tally))
		}
	}
	if len(t.Rows) == 0 {
		sec.Paragraphs = []string{w["none"]}
		return sec
	}
	capTable(&t, maxReportFailures, w)
	sec.Tables = []report.Table{t}
	return sec
}

// controlSection tallies check results per MLPS control across all runs
// whose policy is known. It reports false when no check carries an MLPS
// reference.
func controlSection(runs []PolicyRun, pols map[string]*Policy, w map[string]string) (report.Section, bool) {
	by := map[string]*Tally{}
	for _, r := range runs {
		p := pols[r.PolicyID]
		if p == nil || r.Report == nil {
			continue
		}
		refs := map[string][]string{}
		for i := range p.Checks {
			refs[p.Checks[i].ID] = p.Checks[i].Compliance["mlps"]
		}
		for _, c := range r.Report.Checks {
			for _, id := range refs[c.ID] {
				t := by[id]
				if t == nil {
					t = &Tally{}
					by[id] = t
				}
				t.count(c.Result)
			}
		}
	}
	if len(by) == 0 {
		return report.Section{}, false
	}
	ids := make([]string, 0, len(by))
	for id := range by {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	t := report.Table{Columns: []string{w["control"], w["passed"], w["failed"], w["na"], w["undecided"], w["compliance"]}}
	for _, id := range ids {
		tl := *by[id]
		t.Rows = append(t.Rows, []string{cell(id), strconv.Itoa(tl.Passed), strconv.Itoa(tl.Failed), strconv.Itoa(tl.NotApplicable),
			strconv.Itoa(tl.Errors + tl.Manual), pct(tl, w)})
		t.Emphasis = append(t.Emphasis, scoreEmphasis(tl))
	}
	capTable(&t, maxReportFailures, w)
	return report.Section{Heading: w["by_control"], Paragraphs: []string{w["control_text"]}, Tables: []report.Table{t}}, true
}

func failureSection(runs []PolicyRun, a Assessment, w map[string]string) report.Section {
	sec := report.Section{Heading: w["failures"]}
	t := report.Table{Columns: []string{w["asset"], w["policy"], w["check"], w["title_col"], w["mlps"], w["remediation"], w["fix"]}}
	for _, r := range sortedRuns(runs) {
		p := a.Policies[r.PolicyID]
		for _, it := range RemediationItems(r, p, a.Fixes[r.PolicyID]) {
			mlps := ""
			if p != nil {
				for i := range p.Checks {
					if p.Checks[i].ID == it.CheckID {
						mlps = mlpsRefs(p.Checks[i].Compliance)
						break
					}
				}
			}
			t.Rows = append(t.Rows, []string{cell(it.Asset), cell(policyName(it.PolicyID, it.PolicyTitle)), cell(it.CheckID),
				cell(it.Title), cell(mlps), cell(it.Remediation), cell(it.Fix)})
			t.Emphasis = append(t.Emphasis, report.EmphasisHigh)
		}
	}
	if len(t.Rows) == 0 {
		sec.Paragraphs = []string{w["none"]}
		return sec
	}
	capTable(&t, maxReportFailures, w)
	sec.Tables = []report.Table{t}
	return sec
}

// compareSection compares each current run with the previous run of its
// asset and policy and returns the section, the numbers of fixed and newly
// failing checks, and the previous runs' total tally.
func compareSection(runs, prev []PolicyRun, w map[string]string) (report.Section, int, int, Tally) {
	sec := report.Section{Heading: w["before_after"]}
	before := map[runKey]PolicyRun{}
	var prevTotal Tally
	for _, r := range prev {
		before[runKey{r.Asset, r.PolicyID}] = r
		prevTotal.Add(TallyReport(r.Report))
	}
	sum := report.Table{Columns: []string{w["asset"], w["policy"], w["before"], w["after"], w["ch_fixed"], w["ch_regressed"], w["still_failing"]}}
	ch := report.Table{Caption: w["changes"], Columns: []string{w["asset"], w["policy"], w["check"], w["title_col"], w["before"], w["after"], w["change"]}}
	fixed, regressed := 0, 0
	add := func(r PolicyRun, c CheckChange, kind, emph string) {
		ch.Rows = append(ch.Rows, []string{cell(r.Asset), cell(policyName(r.PolicyID, r.PolicyTitle)), cell(c.ID), cell(c.Title),
			cell(string(c.Before)), cell(string(c.After)), w[kind]})
		ch.Emphasis = append(ch.Emphasis, emph)
	}
	for _, r := range sortedRuns(runs) {
		b, ok := before[runKey{r.Asset, r.PolicyID}]
		if !ok {
			sum.Rows = append(sum.Rows, []string{cell(r.Asset), cell(policyName(r.PolicyID, r.PolicyTitle)), w["no_previous"], pct(TallyReport(r.Report), w), "", "", ""})
			sum.Emphasis = append(sum.Emphasis, "")
			continue
		}
		d := Diff(b.Report, r.Report)
		fixed += len(d.NewlyPassing)
		regressed += len(d.NewlyFailing)
		sum.Rows = append(sum.Rows, []string{cell(r.Asset), cell(policyName(r.PolicyID, r.PolicyTitle)), pct(d.Before, w), pct(d.After, w),
			strconv.Itoa(len(d.NewlyPassing)), strconv.Itoa(len(d.NewlyFailing)), strconv.Itoa(len(d.StillFailing))})
		sum.Emphasis = append(sum.Emphasis, scoreEmphasis(d.After))
		for _, c := range d.NewlyPassing {
			add(r, c, "ch_fixed", report.EmphasisOK)
		}
		for _, c := range d.NewlyFailing {
			add(r, c, "ch_regressed", report.EmphasisHigh)
		}
		for _, c := range d.StillFailing {
			add(r, c, "ch_still", report.EmphasisMedium)
		}
		for _, c := range d.Changed {
			add(r, c, "ch_changed", report.EmphasisInfo)
		}
		for _, c := range d.Added {
			add(r, c, "ch_added", report.EmphasisInfo)
		}
		for _, c := range d.Removed {
			add(r, c, "ch_removed", report.EmphasisInfo)
		}
	}
	capTable(&sum, maxReportChanges, w)
	sec.Tables = []report.Table{sum}
	if len(ch.Rows) > 0 {
		capTable(&ch, maxReportChanges, w)
		sec.Tables = append(sec.Tables, ch)
	}
	return sec, fixed, regressed, prevTotal
}

// historySection charts each asset's compliance at the end of every day
// with a run, counting for each policy the latest run up to that day. At
// most report.MaxChartPoints days (the latest) and report.MaxSeries assets
// (first by name) are drawn.
func historySection(history []PolicyRun, w map[string]string) report.Section {
	sec := report.Section{Heading: w["history"], Paragraphs: []string{w["history_text"]}}
	runs := append([]PolicyRun(nil), history...)
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].At.Before(runs[j].At) })
	var days []time.Time
	assets := map[string]bool{}
	for _, r := range runs {
		d := r.At.UTC().Truncate(24 * time.Hour)
		if len(days) == 0 || !days[len(days)-1].Equal(d) {
			days = append(days, d)
		}
		assets[r.Asset] = true
	}
	if len(days) > report.MaxChartPoints {
		days = days[len(days)-report.MaxChartPoints:]
	}
	names := make([]string, 0, len(assets))
	for a := range assets {
		names = append(names, a)
	}
	sort.Strings(names)
	if len(names) > report.MaxSeries {
		names = names[:report.MaxSeries]
	}
	chart := report.Chart{Kind: report.ChartLine, Title: w["history"]}
	series := make([]report.Series, len(names))
	for i, n := range names {
		series[i].Name = short(n)
	}
	t := report.Table{Columns: []string{w["date"], w["asset"], w["compliance"]}}
	next := 0
	for _, d := range days {
		end := d.Add(24 * time.Hour)
		for next < len(runs) && runs[next].At.Before(end) {
			next++
		}
		byAsset := map[string]AssetScore{}
		for _, s := range Scores(runs[:next]) {
			byAsset[s.Asset] = s
		}
		chart.Labels = append(chart.Labels, d.Format("2006-01-02"))
		for i, n := range names {
			s, ok := byAsset[n]
			v := 0.0
			if k := len(series[i].Values); k > 0 {
				v = series[i].Values[k-1] // no run yet that day: keep the last value
			}
			if ok && s.Scored {
				v = round1(s.Score)
				t.Rows = append(t.Rows, []string{d.Format("2006-01-02"), cell(n), pct(s.Tally, w)})
				t.Emphasis = append(t.Emphasis, scoreEmphasis(s.Tally))
			}
			series[i].Values = append(series[i].Values, v)
		}
	}
	chart.Series = series
	if len(chart.Labels) > 0 && len(series) > 0 {
		sec.Charts = []report.Chart{chart}
	}
	capTable(&t, maxReportChanges, w)
	sec.Tables = []report.Table{t}
	return sec
}

// capTable cuts a table to limit rows and records the cut in its caption.
func capTable(t *report.Table, limit int, w map[string]string) {
	if len(t.Rows) <= limit {
		return
	}
	more := len(t.Rows) - limit
	t.Rows = t.Rows[:limit]
	if len(t.Emphasis) > limit {
		t.Emphasis = t.Emphasis[:limit]
	}
	t.Caption = short(strings.TrimSpace(t.Caption + " " + fmt.Sprintf(w["more_rows"], more)))
}

// sortedRuns orders runs by asset, then policy id.
func sortedRuns(runs []PolicyRun) []PolicyRun {
	out := append([]PolicyRun(nil), runs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Asset != out[j].Asset {
			return out[i].Asset < out[j].Asset
		}
		return out[i].PolicyID < out[j].PolicyID
	})
	return out
}

func policyName(id, title string) string {
	if title == "" {
		return id
	}
	return title
}

func pct(t Tally, w map[string]string) string {
	s, ok := t.Score()
	if !ok {
		return w["no_score"]
	}
	return strconv.FormatFloat(round1(s), 'f', 1, 64) + "%"
}

func round1(f float64) float64 { return float64(int(f*10+0.5)) / 10 }

func scoreEmphasis(t Tally) string {
	s, ok := t.Score()
	switch {
	case !ok:
		return ""
	case s >= 100:
		return report.EmphasisOK
	case s >= 80:
		return report.EmphasisLow
	case s >= 60:
		return report.EmphasisMedium
	}
	return report.EmphasisHigh
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// short and cell clean untrusted text (control characters, invalid UTF-8)
// and cut it to the document's limits for short texts and table cells.
func short(s string) string { return limitRunes(report.CleanText(s), report.MaxShortText) }
func cell(s string) string  { return limitRunes(report.CleanText(s), report.MaxCell) }

func limitRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
