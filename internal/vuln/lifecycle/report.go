package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// reportRows bounds the findings one report lists.
const reportRows = 5000

// words are the report's fixed texts in its two languages.
var words = map[string]map[string]string{
	"en": {
		"title": "Vulnerability management report", "open": "Open findings", "crit_high": "Critical and high, open",
		"overdue": "Overdue", "kev": "Known exploited (KEV), open", "mitigated": "Unfixed but protected",
		"closed": "Verified closed", "by_sev": "Findings by severity and state", "severity": "Severity",
		"sla": "SLA compliance", "sla_days": "SLA (days)", "within": "Within SLA", "top_assets": "Top risky assets",
		"asset": "Asset", "max_priority": "Highest priority", "trend": "Scans and changes over time",
		"date": "Date", "scan": "Scan", "added": "New", "reopened": "Reopened", "absent": "Gone",
		"open_list": "Open findings by priority", "priority": "Priority", "finding": "Finding", "state": "State",
		"due": "Due", "reason": "Why", "fixed_list": "Fixed findings (verification list)", "last_seen": "Last seen",
		"protected_list": "Unfixed but protected, and accepted risks", "control": "Compensating control or reason",
		"expires": "Expires", "intro": "Findings of every imported scan, deduplicated per asset, with their state on %s.",
		"truncated": "Only the first %d rows are listed.", "none": "None.",
	},
	"zh-CN": {
		"title": "漏洞管理报告", "open": "未关闭漏洞", "crit_high": "未关闭的严重和高危漏洞",
		"overdue": "已超期", "kev": "已知被利用（KEV）且未关闭", "mitigated": "未修复已防护",
		"closed": "已验证关闭", "by_sev": "按严重程度和状态统计", "severity": "严重程度",
		"sla": "整改时限达成情况", "sla_days": "时限（天）", "within": "时限内", "top_assets": "风险最高的资产",
		"asset": "资产", "max_priority": "最高优先级", "trend": "扫描与变化趋势",
		"date": "日期", "scan": "扫描", "added": "新增", "reopened": "重新打开", "absent": "消失",
		"open_list": "按优先级排列的未关闭漏洞", "priority": "优先级", "finding": "漏洞", "state": "状态",
		"due": "整改期限", "reason": "依据", "fixed_list": "已修复漏洞（复核清单）", "last_seen": "最近发现",
		"protected_list": "未修复已防护与接受风险的漏洞", "control": "补偿控制措施或理由",
		"expires": "到期日", "intro": "汇总所有已导入扫描的漏洞，按资产去重，状态截至 %s。",
		"truncated": "仅列出前 %d 行。", "none": "无。",
	},
}

// stateWords and sevWords name states and severities in reports.
var stateWords = map[string]map[string]string{
	"en": {StateNew: "New", StateConfirmed: "Confirmed", StateAssigned: "Assigned", StateFixing: "Fixing",
		StateFixedPending: "Fixed, pending verification", StateClosed: "Verified closed", StateFalsePos: "False positive",
		StateRiskAccepted: "Risk accepted", StateMitigated: "Mitigated, not fixed", StateReopened: "Reopened"},
	"zh-CN": {StateNew: "新发现", StateConfirmed: "已确认", StateAssigned: "已分派", StateFixing: "修复中",
		StateFixedPending: "已修复待验证", StateClosed: "已验证关闭", StateFalsePos: "误报", StateRiskAccepted: "接受风险",
		StateMitigated: "未修复已防护", StateReopened: "重新打开"},
}

var sevWords = map[string]map[string]string{
	"en":    {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low", "info": "Info"},
	"zh-CN": {"critical": "严重", "high": "高危", "medium": "中危", "low": "低危", "info": "信息"},
}

func day(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02")
}

// ReportDocument builds the tenant's vulnerability report: counts by
// severity and state, SLA compliance, the riskiest assets, the trend of
// imports, the open findings by priority, the fixed list for verification,
// and the unfixed-but-protected and accepted findings.
func (s *Service) ReportDocument(ctx context.Context, tenant store.Tenant, lang string) (*report.Document, error) {
	if err := auth.Require(ctx, auth.PermReportRead, tenant.ID); err != nil {
		return nil, err
	}
	if _, ok := words[lang]; !ok {
		lang = "en"
	}
	w, sw, vw := words[lang], stateWords[lang], sevWords[lang]
	now := s.now().UTC()
	counts, err := s.store.Vulns().CountBy(ctx, tenant.ID)
	if err != nil {
		return nil, err
	}
	list := func(states []string) ([]store.VulnFinding, int, error) {
		f := store.VulnFilter{States: states, Page: store.Page{Limit: store.MaxPageSize}}
		var out []store.VulnFinding
		for len(out) < reportRows {
			f.Page.Offset = len(out)
			page, err := s.store.Vulns().List(ctx, tenant.ID, f)
			if err != nil {
				return nil, 0, err
			}
			out = append(out, page...)
			if len(page) < store.MaxPageSize {
				break
			}
		}
		n, err := s.store.Vulns().Count(ctx, tenant.ID, store.VulnFilter{States: states})
		return out, n, err
	}
	open, openN, err := list(OpenStates())
	if err != nil {
		return nil, err
	}
	fixed, fixedN, err := list([]string{StateFixedPending, StateClosed})
	if err != nil {
		return nil, err
	}
	protected, protectedN, err := list([]string{StateMitigated, StateRiskAccepted})
	if err != nil {
		return nil, err
	}
	scans, err := s.store.Vulns().Scans(ctx, tenant.ID, store.Page{Limit: 200})
	if err != nil {
		return nil, err
	}

	sum := func(states []string, sevs ...string) int {
		n := 0
		for k, c := range counts {
			if slices.Contains(states, k[0]) && (len(sevs) == 0 || slices.Contains(sevs, k[1])) {
				n += c
			}
		}
		return n
	}
	overdue, kevOpen := 0, 0
	overdueBySev := map[string]int{}
	for _, f := range open {
		if s.Overdue(f) {
			overdue++
			overdueBySev[f.Severity]++
		}
		if f.KEV {
			kevOpen++
		}
	}
	doc := &report.Document{Title: w["title"], Subtitle: tenant.Name, Tenant: tenant.Name, Lang: lang, GeneratedAt: now,
		Classification: "TLP:AMBER",
		Summary: []report.KeyFigure{
			{Label: w["open"], Value: strconv.Itoa(openN)},
			{Label: w["crit_high"], Value: strconv.Itoa(sum(OpenStates(), "critical", "high"))},
			{Label: w["overdue"], Value: strconv.Itoa(overdue)},
			{Label: w["kev"], Value: strconv.Itoa(kevOpen)},
			{Label: w["mitigated"], Value: strconv.Itoa(sum([]string{StateMitigated}))},
			{Label: w["closed"], Value: strconv.Itoa(sum([]string{StateClosed}))},
		}}

	sevs := []string{"critical", "high", "medium", "low", "info"}
	bySev := report.Table{Columns: []string{w["severity"]}}
	chart := report.Chart{Kind: report.ChartStackedBar, Title: w["by_sev"]}
	for _, sev := range sevs {
		chart.Labels = append(chart.Labels, vw[sev])
	}
	for _, st := range States() {
		bySev.Columns = append(bySev.Columns, sw[st])
		series := report.Series{Name: sw[st]}
		for _, sev := range sevs {
			series.Values = append(series.Values, float64(counts[[2]string{st, sev}]))
		}
		chart.Series = append(chart.Series, series)
	}
	for _, sev := range sevs {
		row := []string{vw[sev]}
		for _, st := range States() {
			row = append(row, strconv.Itoa(counts[[2]string{st, sev}]))
		}
		bySev.Rows = append(bySev.Rows, row)
		bySev.Emphasis = append(bySev.Emphasis, sev)
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["by_sev"],
		Paragraphs: []string{fmt.Sprintf(w["intro"], now.Format("2006-01-02 15:04 UTC"))},
		Tables:     []report.Table{bySev}, Charts: []report.Chart{chart}})

	sla := report.Table{Columns: []string{w["severity"], w["sla_days"], w["open"], w["overdue"], w["within"]}}
	for _, sev := range sevs[:4] {
		o := sum(OpenStates(), sev)
		within := "100%"
		if o > 0 {
			within = fmt.Sprintf("%.0f%%", 100*float64(o-overdueBySev[sev])/float64(o))
		}
		sla.Rows = append(sla.Rows, []string{vw[sev], strconv.Itoa(s.sla[sev]), strconv.Itoa(o), strconv.Itoa(overdueBySev[sev]), within})
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["sla"], Tables: []report.Table{sla}})

	type assetRisk struct {
		key        string
		n, kev     int
		maxPrio    float64
		maxSev     string
		maxSevRank int
	}
	risks := map[string]*assetRisk{}
	for _, f := range open {
		r := risks[f.AssetKey]
		if r == nil {
			r = &assetRisk{key: f.AssetKey}
			risks[f.AssetKey] = r
		}
		r.n++
		if f.KEV {
			r.kev++
		}
		r.maxPrio = max(r.maxPrio, f.Priority)
		if rank := slices.Index(sevs, f.Severity); r.maxSev == "" || rank < r.maxSevRank {
			r.maxSev, r.maxSevRank = f.Severity, rank
		}
	}
	ranked := make([]*assetRisk, 0, len(risks))
	for _, r := range risks {
		ranked = append(ranked, r)
	}
	slices.SortFunc(ranked, func(a, b *assetRisk) int {
		if a.maxPrio != b.maxPrio {
			if a.maxPrio > b.maxPrio {
				return -1
			}
			return 1
		}
		return b.n - a.n
	})
	top := report.Table{Columns: []string{w["asset"], w["open"], "KEV", w["severity"], w["max_priority"]}}
	for i, r := range ranked {
		if i == 20 {
			break
		}
		top.Rows = append(top.Rows, []string{r.key, strconv.Itoa(r.n), strconv.Itoa(r.kev), vw[r.maxSev], fmt.Sprintf("%.1f", r.maxPrio)})
		top.Emphasis = append(top.Emphasis, r.maxSev)
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["top_assets"], Tables: []report.Table{top}})

	slices.Reverse(scans)
	trend := report.Table{Columns: []string{w["date"], w["scan"], w["added"], w["reopened"], w["absent"]}}
	tc := report.Chart{Kind: report.ChartLine, Title: w["trend"], Series: []report.Series{{Name: w["added"]}, {Name: w["reopened"]}, {Name: w["absent"]}}}
	for _, sc := range scans {
		trend.Rows = append(trend.Rows, []string{day(sc.CreatedAt), sc.Scanner + " " + sc.Filename, strconv.Itoa(sc.Added),
			strconv.Itoa(sc.Reopened), strconv.Itoa(sc.Absent)})
		tc.Labels = append(tc.Labels, day(sc.CreatedAt))
		tc.Series[0].Values = append(tc.Series[0].Values, float64(sc.Added))
		tc.Series[1].Values = append(tc.Series[1].Values, float64(sc.Reopened))
		tc.Series[2].Values = append(tc.Series[2].Values, float64(sc.Absent))
	}
	trendSec := report.Section{Heading: w["trend"], Tables: []report.Table{trend}}
	if len(scans) > 1 && len(scans) <= report.MaxChartPoints {
		trendSec.Charts = []report.Chart{tc}
	}
	doc.Sections = append(doc.Sections, trendSec)

	findingTable := func(fs []store.VulnFinding, total int, cols []string, row func(store.VulnFinding) []string) report.Section {
		t := report.Table{Columns: cols}
		for _, f := range fs {
			t.Rows = append(t.Rows, row(f))
			t.Emphasis = append(t.Emphasis, f.Severity)
		}
		sec := report.Section{Tables: []report.Table{t}}
		if total > len(fs) {
			sec.Paragraphs = []string{fmt.Sprintf(w["truncated"], len(fs))}
		}
		if total == 0 {
			sec.Paragraphs = []string{w["none"]}
			sec.Tables = nil
		}
		return sec
	}
	openSec := findingTable(open, openN, []string{w["priority"], w["severity"], w["finding"], w["asset"], w["state"], w["due"], w["reason"]},
		func(f store.VulnFinding) []string {
			due := day(f.DueAt)
			if s.Overdue(f) {
				due += " (" + w["overdue"] + ")"
			}
			return []string{fmt.Sprintf("%.1f", f.Priority), vw[f.Severity], f.Title, assetLabel(f), sw[f.State], due, f.PriorityReason}
		})
	openSec.Heading = w["open_list"]
	fixedSec := findingTable(fixed, fixedN, []string{w["severity"], w["finding"], w["asset"], w["state"], w["last_seen"]},
		func(f store.VulnFinding) []string {
			return []string{vw[f.Severity], f.Title, assetLabel(f), sw[f.State], day(f.LastSeen)}
		})
	fixedSec.Heading = w["fixed_list"]
	protSec := findingTable(protected, protectedN, []string{w["severity"], w["finding"], w["asset"], w["state"], w["control"], w["expires"]},
		func(f store.VulnFinding) []string {
			why := f.Control
			if why == "" {
				why = f.StateNote
			}
			return []string{vw[f.Severity], f.Title, assetLabel(f), sw[f.State], why, day(f.ExpiresAt)}
		})
	protSec.Heading = w["protected_list"]
	doc.Sections = append(doc.Sections, openSec, fixedSec, protSec)
	return doc, nil
}

func assetLabel(f store.VulnFinding) string {
	s := f.AssetKey
	if f.Port > 0 {
		s += ":" + strconv.Itoa(f.Port)
	}
	if f.Package != "" {
		s += " " + f.Package + " " + f.Version
	}
	return s
}
