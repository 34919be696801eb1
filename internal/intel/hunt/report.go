package hunt

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// Bounds of the intelligence report.
const (
	// maxReportAlerts bounds the intel alerts one report reads.
	maxReportAlerts = 5000
	// maxReportDays is the longest period a report covers.
	maxReportDays = 400
	topN          = 20
)

var intelWords = map[string]map[string]string{
	"en": {
		"title": "Threat intelligence report", "period": "%s to %s (UTC)",
		"indicators": "Indicators loaded", "live": "Live sightings (events)", "retro": "Past sightings found by retro-hunt (events)",
		"hosts_n": "Hosts affected", "advisories_n": "Advisories affecting the tenant",
		"overview": "Overview", "overview_text": "This report lists the threat intelligence that touched %s from %s to %s (UTC): indicators seen in its events as they arrived (live) or later by searching stored events (retro-hunt), and the advisories that concern its assets.",
		"feeds_sec": "Indicators loaded", "feed": "Feed", "format": "Format", "type": "Type", "count": "Indicators", "rejected": "Rejected objects",
		"no_feeds":      "No feed summary was given.",
		"sightings_sec": "Sightings", "per_day": "Sightings per day (events)", "day": "Day", "series_live": "Live", "series_retro": "Retro-hunt",
		"top_sec": "Top indicators", "indicator": "Indicator", "how": "Found by", "events": "Events", "hosts": "Hosts",
		"first": "First seen", "last": "Last seen", "how_live": "live", "how_retro": "retro-hunt", "how_both": "live and retro-hunt",
		"hosts_sec": "Affected hosts", "host": "Host", "indicators_n": "Indicators",
		"hunts": "Retro-hunts: %d run, %d events searched, %d with a sighting.", "hunt_trunc": "A retro-hunt stopped at its event limit: older events were not searched.",
		"alerts_trunc": "Only the first %d threat intelligence alerts of the period were read.",
		"adv_sec":      "Advisories", "adv": "Advisory", "severity": "Severity", "cves": "CVEs", "assets": "Affected assets", "findings": "Findings",
		"assets_list": "Assets", "no_adv": "No advisory concerns the tenant's assets.",
		"advice_sec":    "Recommendations",
		"advice_block":  "Block or monitor the %d indicators seen with high confidence at the perimeter (firewall, DNS, proxy) and check the hosts that contacted them.",
		"advice_retro":  "%d hosts show past sightings found by retro-hunt: investigate them as possible compromises that predate detection.",
		"advice_adv":    "Advisory %s concerns %d assets: patch or mitigate them (%s).",
		"advice_kev":    "it is exploited in the wild: treat it first",
		"advice_plain":  "by your normal patch cycle",
		"advice_review": "%d assets name an affected product without a version: check their versions.",
		"advice_ok":     "No indicator or advisory touched the tenant in this period.",
		"none":          "None.",
	},
	"zh-CN": {
		"title": "威胁情报报告", "period": "%s 至 %s（UTC）",
		"indicators": "已加载情报指标", "live": "实时命中（事件数）", "retro": "回溯排查发现的历史命中（事件数）",
		"hosts_n": "受影响主机", "advisories_n": "涉及本单位的预警通告",
		"overview": "概述", "overview_text": "本报告列出 %s 自 %s 至 %s（UTC）期间涉及的威胁情报：事件入库时实时命中的指标、事后回溯排查历史事件发现的指标，以及与其资产相关的预警通告。",
		"feeds_sec": "已加载情报", "feed": "情报源", "format": "格式", "type": "类型", "count": "指标数", "rejected": "被拒绝的对象",
		"no_feeds":      "未提供情报源统计。",
		"sightings_sec": "命中情况", "per_day": "每日命中（事件数）", "day": "日期", "series_live": "实时", "series_retro": "回溯排查",
		"top_sec": "命中最多的指标", "indicator": "指标", "how": "发现方式", "events": "事件数", "hosts": "主机数",
		"first": "首次发现", "last": "最近发现", "how_live": "实时", "how_retro": "回溯排查", "how_both": "实时及回溯排查",
		"hosts_sec": "受影响主机", "host": "主机", "indicators_n": "指标数",
		"hunts": "回溯排查：共 %d 次，检索事件 %d 条，其中 %d 条命中。", "hunt_trunc": "有回溯排查达到事件上限而提前结束，更早的事件未被检索。",
		"alerts_trunc": "本期仅读取了前 %d 条威胁情报告警。",
		"adv_sec":      "预警通告", "adv": "通告", "severity": "严重程度", "cves": "CVE 编号", "assets": "受影响资产", "findings": "漏洞记录",
		"assets_list": "资产", "no_adv": "没有预警通告涉及本单位资产。",
		"advice_sec":    "建议",
		"advice_block":  "请在边界（防火墙、DNS、代理）封禁或监控 %d 个高可信度命中指标，并排查与其通信的主机。",
		"advice_retro":  "回溯排查发现 %d 台主机存在历史命中，可能在检测之前已被入侵，请逐一排查。",
		"advice_adv":    "通告 %s 涉及 %d 项资产，请修复或采取缓解措施（%s）。",
		"advice_kev":    "该漏洞已被在野利用，请优先处理",
		"advice_plain":  "按常规补丁周期处理",
		"advice_review": "%d 项资产含受影响产品但未记录版本，请核实其版本。",
		"advice_ok":     "本期未发现涉及本单位的威胁情报或预警通告。",
		"none":          "无。",
	},
}

// FeedSummary is what one loaded feed holds, for the report.
type FeedSummary struct {
	Name     string         `json:"name"`
	Format   string         `json:"format"`
	ByType   map[string]int `json:"by_type"`
	Rejected int            `json:"rejected"`
}

// SummarizeFeed counts a feed's indicators by type.
func SummarizeFeed(name string, f *intel.Feed) FeedSummary {
	s := FeedSummary{Name: name, Format: f.Format, ByType: map[string]int{}, Rejected: len(f.Rejected)}
	for _, in := range f.Indicators {
		s.ByType[string(in.Type)]++
	}
	return s
}

// ReportInput is what the intelligence report of one tenant and period
// is made of besides the alerts the report reads itself.
type ReportInput struct {
	Tenant   store.Tenant
	From, To time.Time
	Lang     string // "en" (default) or "zh-CN"
	// Feeds are the feeds loaded, as SummarizeFeed gives them.
	Feeds []FeedSummary
	// Hunts are retro-hunts of the period. When none are given, the
	// alerts tagged "retro-hunt" stand for them.
	Hunts []Result
	// Advisories are advisory matches for the tenant; those with no
	// finding and no asset are left out.
	Advisories []AdvisoryMatch
}

// indicatorRow gathers one indicator's sightings from alerts and hunts.
type indicatorRow struct {
	rule        string
	live, retro int
	hosts       map[string]bool
	first, last time.Time
	confidence  int // highest level seen: 3 high, 2 medium, 1 low
}

func (r *indicatorRow) seen(first, last time.Time) {
	if r.first.IsZero() || (!first.IsZero() && first.Before(r.first)) {
		r.first = first
	}
	if last.After(r.last) {
		r.last = last
	}
}

var levelRank = map[string]int{"low": 1, "medium": 2, "high": 3, "critical": 4}

// Report builds the threat intelligence report of a tenant for [From, To):
// the indicators loaded, the sightings of the period (alerts whose rule ID
// starts with "intel:" active in the period, and retro-hunt results), the
// top indicators and affected hosts, the advisories that concern the
// tenant, and recommendations. Text from events, feeds and assets is
// cleaned of characters a report refuses. The caller checks the user may
// read the tenant's reports.
func Report(ctx context.Context, st store.Store, in ReportInput) (*report.Document, error) {
	from, to := in.From.UTC(), in.To.UTC()
	if !to.After(from) {
		return nil, store.NewFieldError("to", store.CodeEndBeforeStart, nil, "the period ends before it starts")
	}
	if to.Sub(from) > maxReportDays*24*time.Hour {
		return nil, store.NewFieldError("from", store.CodeOutOfRange, map[string]any{"max": maxReportDays}, "a report covers at most %d days", maxReportDays)
	}
	lang := in.Lang
	w, ok := intelWords[lang]
	if !ok {
		lang, w = "en", intelWords["en"]
	}
	day := func(t time.Time) string { return t.UTC().Format(time.DateOnly) }
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04")
	}
	last := to.Add(-time.Nanosecond)
	tenantName := short(in.Tenant.Name)
	doc := &report.Document{Title: w["title"], Subtitle: fmt.Sprintf(w["period"], day(from), day(last)), Tenant: tenantName,
		Lang: lang, Classification: "TLP:AMBER"}

	// Alerts of the period.
	f := store.AlertFilter{RulePrefix: RulePrefix, Since: from, Until: to, Page: store.Page{Limit: store.MaxPageSize}}
	total, err := st.Alerts().Count(ctx, in.Tenant.ID, f)
	if err != nil {
		return nil, fmt.Errorf("intel report: %w", err)
	}
	var alerts []store.Alert
	for off := 0; off < min(total, maxReportAlerts); off += store.MaxPageSize {
		f.Offset = off
		as, err := st.Alerts().List(ctx, in.Tenant.ID, f)
		if err != nil {
			return nil, fmt.Errorf("intel report: %w", err)
		}
		alerts = append(alerts, as...)
		if len(as) < store.MaxPageSize {
			break
		}
	}
	rows := map[string]*indicatorRow{}
	row := func(rule string) *indicatorRow {
		r := rows[rule]
		if r == nil {
			r = &indicatorRow{rule: rule, hosts: map[string]bool{}}
			rows[rule] = r
		}
		return r
	}
	hostRows := map[string]map[string]int{} // host -> rule -> events
	addHost := func(host, rule string, n int) {
		if host == "" {
			return
		}
		if hostRows[host] == nil {
			hostRows[host] = map[string]int{}
		}
		hostRows[host][rule] += n
	}
	liveByDay, retroByDay := map[string]int{}, map[string]int{}
	liveEvents, retroEvents := 0, 0
	retroHosts := map[string]bool{}
	useRetroAlerts := len(in.Hunts) == 0
	for _, a := range alerts {
		retro := slices.Contains(a.Tags, Tag)
		if retro && !useRetroAlerts {
			continue
		}
		r := row(a.RuleID)
		n := max(a.Count, 1)
		if retro {
			r.retro += n
			retroEvents += n
			retroByDay[day(maxTime(a.FirstSeen, from))] += n
			retroHosts[a.Host] = true
		} else {
			r.live += n
			liveEvents += n
			liveByDay[day(maxTime(a.FirstSeen, from))] += n
		}
		r.hosts[a.Host] = true
		r.seen(a.FirstSeen, a.LastSeen)
		r.confidence = max(r.confidence, levelRank[a.Level])
		addHost(a.Host, a.RuleID, n)
	}
	scanned, matched, huntTrunc := 0, 0, false
	for _, h := range in.Hunts {
		scanned += h.Scanned
		matched += h.Matched
		huntTrunc = huntTrunc || h.Truncated
		for _, ih := range h.Hits {
			r := row(ih.RuleID)
			r.retro += ih.Count
			retroEvents += ih.Count
			r.seen(ih.FirstSeen, ih.LastSeen)
			r.confidence = max(r.confidence, levelRank[levelOf(ih.Confidence)])
			retroByDay[day(maxTime(ih.FirstSeen, from))] += ih.Count
			for _, host := range ih.Hosts {
				r.hosts[host] = true
				retroHosts[host] = true
				addHost(host, ih.RuleID, ih.HostEvents[host])
			}
		}
	}
	delete(retroHosts, "")

	indicatorsLoaded := 0
	for _, fs := range in.Feeds {
		for _, n := range fs.ByType {
			indicatorsLoaded += n
		}
	}
	var advs []AdvisoryMatch
	for _, m := range in.Advisories {
		if len(m.Assets)+len(m.Findings) > 0 {
			advs = append(advs, m)
		}
	}
	slices.SortFunc(advs, func(a, b AdvisoryMatch) int {
		return cmp.Or(cmp.Compare(levelRank[b.Advisory.Severity], levelRank[a.Advisory.Severity]),
			cmp.Compare(len(b.Assets), len(a.Assets)), strings.Compare(a.Advisory.ID, b.Advisory.ID))
	})
	doc.Summary = []report.KeyFigure{
		{Label: w["indicators"], Value: strconv.Itoa(indicatorsLoaded)},
		{Label: w["live"], Value: strconv.Itoa(liveEvents)},
		{Label: w["retro"], Value: strconv.Itoa(retroEvents)},
		{Label: w["hosts_n"], Value: strconv.Itoa(len(hostRows))},
		{Label: w["advisories_n"], Value: strconv.Itoa(len(advs))},
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["overview"],
		Paragraphs: []string{fmt.Sprintf(w["overview_text"], tenantName, day(from), day(last))}})

	// Feeds.
	feeds := report.Section{Heading: w["feeds_sec"]}
	if len(in.Feeds) == 0 {
		feeds.Paragraphs = []string{w["no_feeds"]}
	} else {
		tb := report.Table{Columns: []string{w["feed"], w["format"], w["type"], w["count"]}}
		rejected := 0
		for _, fs := range in.Feeds {
			rejected += fs.Rejected
			for _, t := range slices.Sorted(maps.Keys(fs.ByType)) {
				tb.Rows = append(tb.Rows, []string{cell(fs.Name), cell(fs.Format), cell(t), strconv.Itoa(fs.ByType[t])})
			}
		}
		feeds.Tables = []report.Table{tb}
		feeds.Figures = []report.KeyFigure{{Label: w["rejected"], Value: strconv.Itoa(rejected)}}
	}
	doc.Sections = append(doc.Sections, feeds)

	// Sightings over time.
	sights := report.Section{Heading: w["sightings_sec"]}
	chart := report.Chart{Kind: report.ChartStackedBar, Title: w["per_day"],
		Series: []report.Series{{Name: w["series_live"]}, {Name: w["series_retro"]}}}
	for d := from.Truncate(24 * time.Hour); d.Before(to) && len(chart.Labels) < report.MaxChartPoints; d = d.AddDate(0, 0, 1) {
		chart.Labels = append(chart.Labels, day(d))
		chart.Series[0].Values = append(chart.Series[0].Values, float64(liveByDay[day(d)]))
		chart.Series[1].Values = append(chart.Series[1].Values, float64(retroByDay[day(d)]))
	}
	sights.Charts = []report.Chart{chart}
	if len(in.Hunts) > 0 {
		sights.Paragraphs = append(sights.Paragraphs, fmt.Sprintf(w["hunts"], len(in.Hunts), scanned, matched))
	}
	if huntTrunc {
		sights.Paragraphs = append(sights.Paragraphs, w["hunt_trunc"])
	}
	if total > maxReportAlerts {
		sights.Paragraphs = append(sights.Paragraphs, fmt.Sprintf(w["alerts_trunc"], maxReportAlerts))
	}

	// Top indicators.
	ranked := slices.Collect(maps.Values(rows))
	slices.SortFunc(ranked, func(a, b *indicatorRow) int {
		return cmp.Or(cmp.Compare(b.live+b.retro, a.live+a.retro), cmp.Compare(len(b.hosts), len(a.hosts)), strings.Compare(a.rule, b.rule))
	})
	top := report.Table{Caption: w["top_sec"], Columns: []string{w["indicator"], w["how"], w["events"], w["hosts"], w["first"], w["last"]}}
	highConf := 0
	for _, r := range ranked {
		if r.confidence >= levelRank["high"] {
			highConf++
		}
		if len(top.Rows) >= topN {
			continue
		}
		how := w["how_live"]
		switch {
		case r.live > 0 && r.retro > 0:
			how = w["how_both"]
		case r.live == 0:
			how = w["how_retro"]
		}
		top.Rows = append(top.Rows, []string{cell(strings.TrimPrefix(r.rule, RulePrefix)), how, strconv.Itoa(r.live + r.retro),
			strconv.Itoa(len(r.hosts)), stamp(r.first), stamp(r.last)})
		top.Emphasis = append(top.Emphasis, map[int]string{4: report.EmphasisCritical, 3: report.EmphasisHigh, 2: report.EmphasisMedium, 1: report.EmphasisLow}[r.confidence])
	}
	if len(top.Rows) > 0 {
		sights.Tables = append(sights.Tables, top)
	} else {
		sights.Paragraphs = append(sights.Paragraphs, w["none"])
	}
	doc.Sections = append(doc.Sections, sights)

	// Hosts.
	hosts := report.Section{Heading: w["hosts_sec"]}
	hostNames := slices.Collect(maps.Keys(hostRows))
	hostEvents := func(h string) int {
		n := 0
		for _, c := range hostRows[h] {
			n += c
		}
		return n
	}
	slices.SortFunc(hostNames, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(hostRows[b]), len(hostRows[a])), cmp.Compare(hostEvents(b), hostEvents(a)), strings.Compare(a, b))
	})
	if len(hostNames) == 0 {
		hosts.Paragraphs = []string{w["none"]}
	} else {
		tb := report.Table{Columns: []string{w["host"], w["indicators_n"], w["events"]}}
		for _, h := range hostNames[:min(topN, len(hostNames))] {
			tb.Rows = append(tb.Rows, []string{cell(h), strconv.Itoa(len(hostRows[h])), strconv.Itoa(hostEvents(h))})
		}
		hosts.Tables = []report.Table{tb}
	}
	doc.Sections = append(doc.Sections, hosts)

	// Advisories.
	advSec := report.Section{Heading: w["adv_sec"]}
	var advice []string
	if highConf > 0 {
		advice = append(advice, fmt.Sprintf(w["advice_block"], highConf))
	}
	if len(retroHosts) > 0 {
		advice = append(advice, fmt.Sprintf(w["advice_retro"], len(retroHosts)))
	}
	if len(advs) == 0 {
		advSec.Paragraphs = []string{w["no_adv"]}
	} else {
		tb := report.Table{Columns: []string{w["adv"], w["severity"], w["cves"], w["assets"], w["findings"], w["assets_list"]}}
		review := 0
		for _, m := range advs {
			a := m.Advisory
			var names []string
			for _, as := range m.Assets {
				if len(names) < 10 {
					names = append(names, as.Name)
				}
				if !as.VersionKnown {
					review++
				}
			}
			cves := a.CVEs
			if len(cves) > 10 {
				cves = append(slices.Clone(cves[:10]), "…")
			}
			tb.Rows = append(tb.Rows, []string{cell(a.ID + " " + a.Title), a.Severity, cell(strings.Join(cves, ", ")),
				strconv.Itoa(len(m.Assets)), strconv.Itoa(len(m.Findings)), cell(strings.Join(names, ", "))})
			tb.Emphasis = append(tb.Emphasis, map[string]string{"critical": report.EmphasisCritical, "high": report.EmphasisHigh,
				"medium": report.EmphasisMedium, "low": report.EmphasisLow}[a.Severity])
			if len(m.Assets) > 0 && len(advice) < 30 {
				how := w["advice_plain"]
				if a.Exploited {
					how = w["advice_kev"]
				}
				advice = append(advice, fmt.Sprintf(w["advice_adv"], short(a.ID), len(m.Assets), how))
			}
		}
		advSec.Tables = []report.Table{tb}
		if review > 0 {
			advice = append(advice, fmt.Sprintf(w["advice_review"], review))
		}
	}
	doc.Sections = append(doc.Sections, advSec)
	if len(advice) == 0 {
		advice = []string{w["advice_ok"]}
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["advice_sec"], Paragraphs: advice})
	return doc, doc.Validate()
}

func maxTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// cell cleans data for a table cell and bounds it.
func cell(s string) string { return clipRunes(report.CleanText(s), report.MaxCell) }

// short cleans data for a title-like text and bounds it.
func short(s string) string { return clipRunes(report.CleanText(s), report.MaxShortText/2) }

func clipRunes(s string, n int) string { return report.Shorten(s, n) }
