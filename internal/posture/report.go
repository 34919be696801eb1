package posture

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// maxReportAlerts bounds the alerts one monitoring report reads per period.
const maxReportAlerts = 5000

// maxHourlySpan is the longest span read from the hourly counters at once.
const maxHourlySpan = 90 * 24 * time.Hour

var reportWords = map[string]map[string]string{
	"en": {
		"title": "Security monitoring report", "period": "%s to %s (previous period: %s to %s)",
		"events": "Events received", "alerts": "Alerts", "critical_high": "Critical and high alerts", "handled": "Alerts handled",
		"score": "Posture score", "vs_prev": "previous period: %s", "no_prev": "no data for the previous period",
		"overview": "Overview", "overview_text": "This report covers the 7×24 monitoring of %s from %s to %s (UTC) and compares it with the period before.",
		"alerts_sec": "Alerts in the period", "by_level": "Alerts by level", "level": "Level", "this": "This period", "prev": "Previous period",
		"change": "Change", "by_status": "Alerts by handling status", "status": "Status", "count": "Alerts",
		"per_day": "Alerts per day", "day": "Day", "top_rules": "Most frequent detections", "rule": "Detection", "events_n": "Events",
		"top_hosts": "Most affected hosts", "host": "Host", "truncated": "Only the first %d alerts of the period were analysed.",
		"posture_sec": "Security posture", "trend": "Posture score per day", "score_now": "Score at the end of the period: %d (%s).",
		"breakdown": "Score breakdown now", "component": "Component", "penalty": "Penalty", "cap": "Cap",
		"vulns_sec": "Vulnerabilities (now)", "severity": "Severity", "open": "Open", "kev": "Open and exploited in the wild (KEV)",
		"overdue": "Overdue", "mitigated": "Unfixed but protected",
		"logs_sec": "Log collection", "sources": "Log senders", "silent": "Silent senders (no event for %d hours)", "source": "Source",
		"last_seen": "Last event", "none": "None.",
		"advice_sec":    "Recommendations",
		"advice_open":   "%d critical or high alerts are still open: triage them first.",
		"advice_silent": "%d log senders are silent: check the devices and the collection path.",
		"advice_kev":    "%d open findings are exploited in the wild: fix or mitigate them before the others.",
		"advice_ok":     "No urgent action arises from this period.",
		"grade_good":    "good", "grade_fair": "fair", "grade_poor": "poor", "grade_critical": "critical",
		"c_vulnerabilities": "Vulnerabilities", "c_alerts": "Alerts", "c_exposure": "Exposure", "c_logs": "Log health", "c_incidents": "Incidents",
		"s_new": "New", "s_acknowledged": "Acknowledged", "s_escalated": "Escalated", "s_false-positive": "False positive", "s_closed": "Closed",
		"l_critical": "Critical", "l_high": "High", "l_medium": "Medium", "l_low": "Low", "l_informational": "Informational",
	},
	"zh-CN": {
		"title": "安全监测报告", "period": "%s 至 %s（上期：%s 至 %s）",
		"events": "接收事件数", "alerts": "告警数", "critical_high": "严重及高危告警", "handled": "已处置告警",
		"score": "安全态势评分", "vs_prev": "上期：%s", "no_prev": "上期无数据",
		"overview": "概述", "overview_text": "本报告涵盖 %s 自 %s 至 %s（UTC）的 7×24 安全监测情况，并与上一周期对比。",
		"alerts_sec": "本期告警", "by_level": "按级别统计告警", "level": "级别", "this": "本期", "prev": "上期",
		"change": "变化", "by_status": "按处置状态统计告警", "status": "状态", "count": "告警数",
		"per_day": "每日告警数", "day": "日期", "top_rules": "最频繁的检测规则", "rule": "检测规则", "events_n": "事件数",
		"top_hosts": "受影响最多的主机", "host": "主机", "truncated": "本期仅分析了前 %d 条告警。",
		"posture_sec": "安全态势", "trend": "每日安全态势评分", "score_now": "期末评分：%d（%s）。",
		"breakdown": "当前评分构成", "component": "构成项", "penalty": "扣分", "cap": "上限",
		"vulns_sec": "漏洞（当前）", "severity": "严重程度", "open": "未关闭", "kev": "未关闭且已被在野利用（KEV）",
		"overdue": "已超期", "mitigated": "未修复但已防护",
		"logs_sec": "日志采集", "sources": "日志源", "silent": "静默日志源（超过 %d 小时无事件）", "source": "来源",
		"last_seen": "最后事件", "none": "无。",
		"advice_sec":    "建议",
		"advice_open":   "仍有 %d 条严重或高危告警未处置，请优先研判。",
		"advice_silent": "%d 个日志源处于静默状态，请检查设备及采集链路。",
		"advice_kev":    "%d 个未关闭漏洞已被在野利用，请优先修复或采取防护措施。",
		"advice_ok":     "本期未发现需紧急处理的事项。",
		"grade_good":    "良好", "grade_fair": "一般", "grade_poor": "较差", "grade_critical": "危急",
		"c_vulnerabilities": "漏洞", "c_alerts": "告警", "c_exposure": "暴露面", "c_logs": "日志健康", "c_incidents": "安全事件",
		"s_new": "新告警", "s_acknowledged": "已确认", "s_escalated": "已升级", "s_false-positive": "误报", "s_closed": "已关闭",
		"l_critical": "严重", "l_high": "高危", "l_medium": "中危", "l_low": "低危", "l_informational": "信息",
	},
}

// periodAlerts is what the report needs of one period's alerts.
type periodAlerts struct {
	total     int
	byLevel   map[string]int
	byStatus  map[string]int
	byDay     map[string]int
	rules     map[string]*ranked
	hosts     map[string]*ranked
	truncated bool
}

type ranked struct {
	name           string
	alerts, events int
}

func (s *Service) periodAlerts(ctx context.Context, tenantID string, from, to time.Time) (periodAlerts, error) {
	pa := periodAlerts{byLevel: map[string]int{}, byStatus: map[string]int{}, byDay: map[string]int{},
		rules: map[string]*ranked{}, hosts: map[string]*ranked{}}
	f := store.AlertFilter{Since: from, Until: to, Page: store.Page{Limit: store.MaxPageSize}}
	n, err := s.st.Alerts().Count(ctx, tenantID, f)
	if err != nil {
		return pa, err
	}
	pa.total = n
	for off := 0; off < min(n, maxReportAlerts); off += store.MaxPageSize {
		f.Offset = off
		as, err := s.st.Alerts().List(ctx, tenantID, f)
		if err != nil {
			return pa, err
		}
		for _, a := range as {
			pa.byLevel[a.Level]++
			pa.byStatus[a.Status]++
			first := a.FirstSeen
			if first.Before(from) {
				first = from
			}
			pa.byDay[first.UTC().Format(time.DateOnly)]++
			add := func(m map[string]*ranked, key string) {
				r := m[key]
				if r == nil {
					r = &ranked{name: key}
					m[key] = r
				}
				r.alerts++
				r.events += a.Count
			}
			add(pa.rules, a.RuleTitle)
			add(pa.hosts, a.Host)
		}
	}
	pa.truncated = n > maxReportAlerts
	return pa, nil
}

// events counts the events received in [from, to) from the hourly counters.
func (s *Service) events(ctx context.Context, tenantID string, from, to time.Time) (int, error) {
	total := 0
	for a := from; a.Before(to); a = a.Add(maxHourlySpan) {
		b := a.Add(maxHourlySpan)
		if b.After(to) {
			b = to
		}
		hs, err := s.st.Events().Hourly(ctx, tenantID, a, b)
		if err != nil {
			return 0, err
		}
		for _, n := range hs {
			total += n
		}
	}
	return total, nil
}

// top returns the n largest entries by events, then alerts, then name.
func top(m map[string]*ranked, n int) []*ranked {
	out := make([]*ranked, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *ranked) int {
		return cmp.Or(cmp.Compare(b.events, a.events), cmp.Compare(b.alerts, a.alerts), cmp.Compare(a.name, b.name))
	})
	return out[:min(n, len(out))]
}

func change(now, before int) string {
	switch d := now - before; {
	case d > 0:
		return "+" + strconv.Itoa(d)
	case d < 0:
		return strconv.Itoa(d)
	}
	return "0"
}

func handled(by map[string]int) int {
	return by["closed"] + by["false-positive"] + by["escalated"]
}

// MonitoringReport builds the periodic monitoring report of tenant for
// [from, to), compared with the period of the same length before it. The
// caller checks the user may read the tenant's reports.
func (s *Service) MonitoringReport(ctx context.Context, tenant store.Tenant, from, to time.Time, lang string) (*report.Document, error) {
	from, to = from.UTC(), to.UTC()
	if !to.After(from) {
		return nil, store.NewFieldError("to", store.CodeEndBeforeStart, nil, "the period ends before it starts")
	}
	if to.Sub(from) > 400*24*time.Hour {
		return nil, store.NewFieldError("from", store.CodeOutOfRange, map[string]any{"max": 400}, "a report covers at most 400 days")
	}
	w, ok := reportWords[lang]
	if !ok {
		lang, w = "en", reportWords["en"]
	}
	prevFrom := from.Add(-to.Sub(from))
	cur, err := s.periodAlerts(ctx, tenant.ID, from, to)
	if err != nil {
		return nil, err
	}
	prev, err := s.periodAlerts(ctx, tenant.ID, prevFrom, from)
	if err != nil {
		return nil, err
	}
	evNow, err := s.events(ctx, tenant.ID, from, to)
	if err != nil {
		return nil, err
	}
	evPrev, err := s.events(ctx, tenant.ID, prevFrom, from)
	if err != nil {
		return nil, err
	}
	snap, err := s.Tenant(ctx, tenant.ID)
	if err != nil {
		return nil, err
	}
	snaps, err := s.st.Posture().History(ctx, tenant.ID, prevFrom.Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	last := to.Add(-time.Nanosecond)
	doc := &report.Document{Title: w["title"], Subtitle: fmt.Sprintf(w["period"], day(from), day(last), day(prevFrom), day(from.Add(-time.Nanosecond))),
		Tenant: tenant.Name, Lang: lang, Classification: "TLP:AMBER"}

	// The score at the end of each period: the last snapshot inside it.
	scoreAt := func(a, b time.Time) (int, bool) {
		v, found := 0, false
		for _, sn := range snaps {
			if sn.Day >= day(a) && sn.Day < day(b) {
				v, found = sn.Score, true
			}
		}
		return v, found
	}
	scoreNow, okNow := scoreAt(from, to)
	if !okNow {
		scoreNow = snap.Score.Value
	}
	scorePrev, okPrev := scoreAt(prevFrom, from)
	prevNote := func(v int, ok bool) string {
		if !ok {
			return w["no_prev"]
		}
		return fmt.Sprintf(w["vs_prev"], strconv.Itoa(v))
	}
	critHigh := func(p periodAlerts) int { return p.byLevel["critical"] + p.byLevel["high"] }
	doc.Summary = []report.KeyFigure{
		{Label: w["events"], Value: strconv.Itoa(evNow), Note: prevNote(evPrev, true)},
		{Label: w["alerts"], Value: strconv.Itoa(cur.total), Note: prevNote(prev.total, true)},
		{Label: w["critical_high"], Value: strconv.Itoa(critHigh(cur)), Note: prevNote(critHigh(prev), true)},
		{Label: w["handled"], Value: strconv.Itoa(handled(cur.byStatus)), Note: prevNote(handled(prev.byStatus), true)},
		{Label: w["score"], Value: strconv.Itoa(scoreNow), Note: prevNote(scorePrev, okPrev)},
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["overview"],
		Paragraphs: []string{fmt.Sprintf(w["overview_text"], tenant.Name, day(from), day(last))}})

	// Alerts.
	alerts := report.Section{Heading: w["alerts_sec"]}
	lv := report.Table{Caption: w["by_level"], Columns: []string{w["level"], w["this"], w["prev"], w["change"]}}
	for _, l := range AlertLevels() {
		lv.Rows = append(lv.Rows, []string{w["l_"+l], strconv.Itoa(cur.byLevel[l]), strconv.Itoa(prev.byLevel[l]), change(cur.byLevel[l], prev.byLevel[l])})
		lv.Emphasis = append(lv.Emphasis, map[string]string{"critical": report.EmphasisCritical, "high": report.EmphasisHigh}[l])
	}
	st := report.Table{Caption: w["by_status"], Columns: []string{w["status"], w["count"]}}
	for _, k := range []string{"new", "acknowledged", "escalated", "false-positive", "closed"} {
		st.Rows = append(st.Rows, []string{w["s_"+k], strconv.Itoa(cur.byStatus[k])})
	}
	alerts.Tables = append(alerts.Tables, lv, st)
	perDay := report.Chart{Kind: report.ChartBar, Title: w["per_day"], Series: []report.Series{{Name: w["alerts"]}}}
	for d := from.Truncate(24 * time.Hour); d.Before(to) && len(perDay.Labels) < report.MaxChartPoints; d = d.AddDate(0, 0, 1) {
		perDay.Labels = append(perDay.Labels, day(d))
		perDay.Series[0].Values = append(perDay.Series[0].Values, float64(cur.byDay[day(d)]))
	}
	alerts.Charts = append(alerts.Charts, perDay)
	for _, spec := range []struct {
		caption, col string
		m            map[string]*ranked
	}{{w["top_rules"], w["rule"], cur.rules}, {w["top_hosts"], w["host"], cur.hosts}} {
		tb := report.Table{Caption: spec.caption, Columns: []string{spec.col, w["alerts"], w["events_n"]}}
		for _, r := range top(spec.m, 10) {
			tb.Rows = append(tb.Rows, []string{r.name, strconv.Itoa(r.alerts), strconv.Itoa(r.events)})
		}
		if len(tb.Rows) > 0 {
			alerts.Tables = append(alerts.Tables, tb)
		}
	}
	if cur.truncated {
		alerts.Paragraphs = append(alerts.Paragraphs, fmt.Sprintf(w["truncated"], maxReportAlerts))
	}
	doc.Sections = append(doc.Sections, alerts)

	// Posture.
	post := report.Section{Heading: w["posture_sec"], Paragraphs: []string{fmt.Sprintf(w["score_now"], snap.Score.Value, w["grade_"+snap.Score.Grade])}}
	trend := report.Chart{Kind: report.ChartLine, Title: w["trend"], Series: []report.Series{{Name: w["score"]}}}
	for _, sn := range snaps {
		if sn.Day >= day(from) && sn.Day < day(to) && len(trend.Labels) < report.MaxChartPoints {
			trend.Labels = append(trend.Labels, sn.Day)
			trend.Series[0].Values = append(trend.Series[0].Values, float64(sn.Score))
		}
	}
	if len(trend.Labels) > 1 {
		post.Charts = append(post.Charts, trend)
	}
	bd := report.Table{Caption: w["breakdown"], Columns: []string{w["component"], w["penalty"], w["cap"]}}
	for _, c := range snap.Score.Components {
		bd.Rows = append(bd.Rows, []string{w["c_"+c.Key], strconv.Itoa(c.Penalty), strconv.Itoa(c.Cap)})
	}
	post.Tables = append(post.Tables, bd)
	doc.Sections = append(doc.Sections, post)

	// Vulnerabilities and logs, as they stand now.
	vs := report.Section{Heading: w["vulns_sec"], Figures: []report.KeyFigure{
		{Label: w["kev"], Value: strconv.Itoa(snap.Vulns.KEV)}, {Label: w["overdue"], Value: strconv.Itoa(snap.Vulns.Overdue)},
		{Label: w["mitigated"], Value: strconv.Itoa(snap.Vulns.Mitigated)}}}
	vt := report.Table{Columns: []string{w["severity"], w["open"]}}
	for _, sev := range VulnSeverities() {
		vt.Rows = append(vt.Rows, []string{sev, strconv.Itoa(snap.Vulns.Open[sev])})
	}
	vs.Tables = append(vs.Tables, vt)
	doc.Sections = append(doc.Sections, vs)
	hours := int(snap.Logs.SilentAfter / time.Hour)
	ls := report.Section{Heading: w["logs_sec"], Figures: []report.KeyFigure{{Label: w["sources"], Value: strconv.Itoa(snap.Logs.Sources)},
		{Label: fmt.Sprintf(w["silent"], hours), Value: strconv.Itoa(snap.Logs.Silent)}}}
	if len(snap.Logs.SilentList) > 0 {
		tb := report.Table{Columns: []string{w["host"], w["source"], w["last_seen"]}}
		for _, src := range snap.Logs.SilentList {
			tb.Rows = append(tb.Rows, []string{src.Host, src.Source, src.LastSeen.Format("2006-01-02 15:04 UTC")})
		}
		ls.Tables = append(ls.Tables, tb)
	}
	doc.Sections = append(doc.Sections, ls)

	var advice []string
	if n := snap.Alerts.Open["critical"] + snap.Alerts.Open["high"]; n > 0 {
		advice = append(advice, fmt.Sprintf(w["advice_open"], n))
	}
	if snap.Logs.Silent > 0 {
		advice = append(advice, fmt.Sprintf(w["advice_silent"], snap.Logs.Silent))
	}
	if snap.Vulns.KEV > 0 {
		advice = append(advice, fmt.Sprintf(w["advice_kev"], snap.Vulns.KEV))
	}
	if len(advice) == 0 {
		advice = []string{w["advice_ok"]}
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["advice_sec"], Paragraphs: advice})
	return doc, doc.Validate()
}
