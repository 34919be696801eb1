package analyze

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/report"
)

// ReportInput is what a periodic traffic risk report is built from: the
// findings of one period's analysis and what was read to get them.
type ReportInput struct {
	// Tenant names the customer; optional.
	Tenant string
	// Lang is "en" (default) or "zh-CN".
	Lang string
	// From and To bound the period; when zero they are taken from the
	// findings' first and last seen times.
	From, To time.Time
	// GeneratedAt is stamped on the document; optional.
	GeneratedAt time.Time
	// Sources are the inputs analysed.
	Sources []ReportSource
	// Findings are the analysis results (Analyzer.Findings).
	Findings []Finding
	// Zones tells internal from external; nil means DefaultInternal.
	Zones *Zones
	// TopN bounds the rows of each table; default 20, at most 1,000.
	TopN int
}

// ReportSource is one input of the period: a Zeek directory, an EVE
// file, a pcap, a flow collector.
type ReportSource struct {
	Name    string
	Kind    string // "zeek", "eve", "pcap", "netflow"...
	Lines   int64
	Records int64
	Skipped int64
}

// reportWords are the report's own words, by language.
var reportWords = map[string]map[string]string{
	"en": {
		"title": "Traffic risk report", "period": "Period", "records": "Records analysed", "skipped": "Lines skipped",
		"findings": "Findings", "critical_high": "Critical and high findings", "hosts_at_risk": "Internal hosts at risk",
		"scope": "Scope and method",
		"scope_text": "Traffic metadata from %d source(s) was analysed for %s. Internal and external addresses are told apart by the declared internal ranges, not by the sensors' flags. " +
			"Each finding carries a score from 0 to 1 made of named sub-scores; hosts are ranked by combining their findings (1 − Π(1 − score × class weight)). Well-known services (CDNs, update services, NTP) are safelisted.",
		"sources": "Sources analysed", "source": "Source", "kind": "Kind", "lines": "Lines",
		"by_class": "Findings by class", "class": "Class", "count": "Count", "max_score": "Highest score",
		"top_hosts": "Top risky internal hosts", "host": "Host", "score": "Score", "why": "Why",
		"top_external": "Top external sources", "address": "Address", "classes": "Classes",
		"beacons": "Beacons (regular command-and-control-like connections)", "tunnels": "DNS tunnelling and DGA-like domains",
		"scans": "Scans and brute force", "lateral": "Lateral movement", "violations": "Policy violations",
		"attacks": "External attacks and threat-intelligence matches", "long": "Long connections and rare destinations",
		"src": "Source", "dst": "Destination", "first": "First seen", "last": "Last seen", "rule": "Rule",
		"none": "None in this period.", "recommendations": "Recommendations", "severity": "Severity",
		"more": "%d more not listed.",
	},
	"zh-CN": {
		"title": "流量风险分析报告", "period": "统计周期", "records": "分析记录数", "skipped": "跳过的行数",
		"findings": "发现总数", "critical_high": "严重和高危发现", "hosts_at_risk": "存在风险的内部主机",
		"scope": "范围与方法",
		"scope_text": "对 %d 个数据源的流量元数据进行了分析，周期为 %s。内外网地址依据声明的内部网段区分，而非传感器日志中的标记。" +
			"每条发现给出 0 到 1 的评分及其分项评分；主机风险由其全部发现合成（1 − Π(1 − 评分 × 类别权重)）。常见服务（CDN、系统更新、NTP）已列入白名单。",
		"sources": "分析的数据源", "source": "数据源", "kind": "类型", "lines": "行数",
		"by_class": "按类别统计的发现", "class": "类别", "count": "数量", "max_score": "最高评分",
		"top_hosts": "风险最高的内部主机", "host": "主机", "score": "评分", "why": "依据",
		"top_external": "主要外部来源", "address": "地址", "classes": "类别",
		"beacons": "信标（周期性回连）", "tunnels": "DNS 隧道与 DGA 域名",
		"scans": "扫描与暴力破解", "lateral": "横向移动", "violations": "违规流量",
		"attacks": "外部攻击与威胁情报命中", "long": "长连接与罕见目的地址",
		"src": "源", "dst": "目的", "first": "首次发现", "last": "最后发现", "rule": "规则",
		"none": "本周期内无。", "recommendations": "处置建议", "severity": "严重程度",
		"more": "另有 %d 条未列出。",
	},
}

// classNames are the classes' names in the report, by language.
var classNames = map[string]map[Class]string{
	"en": {ClassBeacon: "Beacon", ClassLongConnection: "Long connection", ClassDNSTunnel: "DNS tunnel", ClassDGA: "DGA-like domains",
		ClassRareDestination: "Rare destination", ClassIntelMatch: "Threat-intelligence match", ClassScanHorizontal: "Horizontal scan",
		ClassScanVertical: "Vertical (port) scan", ClassBruteForce: "Brute force", ClassLateralMovement: "Lateral movement",
		ClassViolation: "Policy violation", ClassExternalAttack: "External attack"},
	"zh-CN": {ClassBeacon: "信标回连", ClassLongConnection: "长连接", ClassDNSTunnel: "DNS 隧道", ClassDGA: "DGA 域名",
		ClassRareDestination: "罕见目的地址", ClassIntelMatch: "威胁情报命中", ClassScanHorizontal: "水平扫描",
		ClassScanVertical: "垂直（端口）扫描", ClassBruteForce: "暴力破解", ClassLateralMovement: "横向移动",
		ClassViolation: "违规流量", ClassExternalAttack: "外部攻击"},
}

// recommendations are the advice given when a class has findings.
var recommendations = map[string]map[Class]string{
	"en": {
		ClassBeacon:          "Beacons: check the listed hosts for malware (EDR, process and autorun review), block the destinations at the proxy or firewall, and look for the same destinations across the network.",
		ClassDNSTunnel:       "DNS tunnelling: block the registered domains at the resolvers, allow outbound DNS only from the internal resolvers, and investigate the querying hosts.",
		ClassDGA:             "DGA-like domains: isolate and examine the querying hosts; sinkhole or block the domains at the resolvers.",
		ClassIntelMatch:      "Threat-intelligence matches: confirm the indicator's context, block it, and trace the hosts' activity around the first match.",
		ClassLongConnection:  "Long connections: confirm each with its owner; unexplained long sessions to the internet are tunnels or remote-access tools until shown otherwise.",
		ClassScanHorizontal:  "Scans: find the process behind internal scanners; block or rate-limit external scanners and check the exposed services they probed.",
		ClassScanVertical:    "Scans: find the process behind internal scanners; block or rate-limit external scanners and check the exposed services they probed.",
		ClassBruteForce:      "Brute force: lock out and rate-limit the targeted logins, enforce multi-factor authentication, and review successful logins from the attacking addresses.",
		ClassLateralMovement: "Lateral movement: check the source hosts for compromise and the credentials they used; restrict SMB, RDP, WinRM and SSH between workstations.",
		ClassViolation:       "Policy violations: stop the flows at the firewall or fix the configuration that causes them, and confirm exceptions in writing.",
		ClassExternalAttack:  "External attacks: patch the targeted services (start with those whose vulnerabilities match the signatures), and keep the IDS in blocking mode where it is safe.",
		ClassRareDestination: "Rare destinations: review them with the hosts' owners; they are weak evidence on their own.",
	},
	"zh-CN": {
		ClassBeacon:          "信标回连：对所列主机进行恶意代码排查（EDR、进程与自启动项检查），在代理或防火墙上封禁目的地址，并排查全网是否有主机访问相同目的。",
		ClassDNSTunnel:       "DNS 隧道：在解析服务器上封禁相关注册域名，仅允许内部解析服务器向外发起 DNS 查询，并调查发起查询的主机。",
		ClassDGA:             "DGA 域名：隔离并检查发起查询的主机；在解析服务器上对相关域名进行沉洞或封禁。",
		ClassIntelMatch:      "威胁情报命中：确认情报上下文后封禁，并追溯主机在首次命中前后的活动。",
		ClassLongConnection:  "长连接：逐一与业务负责人确认；无法解释的长时间外联会话在排除之前按隧道或远控工具处理。",
		ClassScanHorizontal:  "扫描：查明内部扫描源背后的进程；对外部扫描源封禁或限速，并检查其探测的对外服务。",
		ClassScanVertical:    "扫描：查明内部扫描源背后的进程；对外部扫描源封禁或限速，并检查其探测的对外服务。",
		ClassBruteForce:      "暴力破解：对被攻击的登录入口限速并锁定，启用多因素认证，核查来自攻击地址的成功登录。",
		ClassLateralMovement: "横向移动：检查源主机是否失陷及其使用的凭据；限制终端之间的 SMB、RDP、WinRM 和 SSH 访问。",
		ClassViolation:       "违规流量：在防火墙上阻断或修正导致违规的配置，对例外情况进行书面确认。",
		ClassExternalAttack:  "外部攻击：修补被攻击的服务（优先处理漏洞与告警特征相符的资产），在安全的前提下将入侵检测设为阻断模式。",
		ClassRareDestination: "罕见目的地址：与主机负责人共同核实；单独而言证据较弱。",
	},
}

// classOrder is the order classes appear in charts and recommendations.
var classOrder = []Class{ClassBeacon, ClassDNSTunnel, ClassDGA, ClassIntelMatch, ClassLateralMovement, ClassExternalAttack,
	ClassBruteForce, ClassScanHorizontal, ClassScanVertical, ClassLongConnection, ClassViolation, ClassRareDestination}

// Report text bounds: a cell quoting traffic (domains, explanations) is
// cut to reportCell characters, a short text to reportShort.
const (
	reportCell  = 1000
	reportShort = 200
	maxTopN     = 1000
)

// ReportDocument builds the periodic traffic risk report: the period and
// the sources analysed, findings by class (table and chart), the top
// risky internal hosts and external sources with their explained scores,
// sections for beacons, DNS tunnels and DGA, scans and brute force,
// lateral movement, external attacks, long connections and violations,
// and recommendations for the classes found. Every string taken from
// traffic (domains, rule names, explanations) is cleaned of control and
// bidirectional-override characters and cut to a bounded length; the
// document is validated before it is returned.
func ReportDocument(in ReportInput) (*report.Document, error) {
	lang := in.Lang
	if lang == "" {
		lang = "en"
	}
	w, ok := reportWords[lang]
	if !ok {
		return nil, fmt.Errorf("traffic report: unsupported language %q (supported: en, zh-CN)", in.Lang)
	}
	cn := classNames[lang]
	topN := in.TopN
	if topN <= 0 {
		topN = 20
	}
	topN = min(topN, maxTopN)
	zones := in.Zones
	if zones == nil {
		zones = NewZones(nil)
	}
	from, to := in.From, in.To
	for _, f := range in.Findings {
		if in.From.IsZero() && !f.First.IsZero() && (from.IsZero() || f.First.Before(from)) {
			from = f.First
		}
		if in.To.IsZero() && f.Last.After(to) {
			to = f.Last
		}
	}
	period := periodText(from, to)

	var records, skipped int64
	for _, s := range in.Sources {
		records += s.Records
		skipped += s.Skipped
	}
	hosts := RankHosts(in.Findings, zones)
	atRisk, critHigh := 0, 0
	for _, h := range hosts {
		if h.Score >= 0.5 {
			atRisk++
		}
	}
	byClass := map[Class]int{}
	maxByClass := map[Class]float64{}
	for _, f := range in.Findings {
		byClass[f.Class]++
		maxByClass[f.Class] = max(maxByClass[f.Class], f.Score)
		if f.Score >= 0.7 {
			critHigh++
		}
	}

	doc := &report.Document{Title: w["title"], Subtitle: period, Tenant: short(in.Tenant), Lang: lang,
		GeneratedAt: in.GeneratedAt, Classification: "TLP:AMBER",
		Summary: []report.KeyFigure{
			{Label: w["period"], Value: period},
			{Label: w["records"], Value: strconv.FormatInt(records, 10)},
			{Label: w["findings"], Value: strconv.Itoa(len(in.Findings))},
			{Label: w["critical_high"], Value: strconv.Itoa(critHigh)},
			{Label: w["hosts_at_risk"], Value: strconv.Itoa(atRisk)},
		}}

	// Scope and sources.
	scope := report.Section{Heading: w["scope"], Paragraphs: []string{fmt.Sprintf(w["scope_text"], len(in.Sources), period)}}
	if len(in.Sources) > 0 {
		t := report.Table{Caption: w["sources"], Columns: []string{w["source"], w["kind"], w["lines"], w["records"], w["skipped"]}}
		for _, s := range in.Sources {
			t.Rows = append(t.Rows, []string{cell(s.Name), short(s.Kind), strconv.FormatInt(s.Lines, 10),
				strconv.FormatInt(s.Records, 10), strconv.FormatInt(s.Skipped, 10)})
		}
		scope.Tables = []report.Table{t}
		scope.Figures = []report.KeyFigure{{Label: w["skipped"], Value: strconv.FormatInt(skipped, 10)}}
	}
	doc.Sections = append(doc.Sections, scope)

	// Findings by class.
	sec := report.Section{Heading: w["by_class"]}
	ct := report.Table{Columns: []string{w["class"], w["count"], w["max_score"]}}
	chart := report.Chart{Kind: report.ChartBar, Title: w["by_class"], Series: []report.Series{{Name: w["count"]}}}
	for _, c := range classOrder {
		if byClass[c] == 0 {
			continue
		}
		ct.Rows = append(ct.Rows, []string{cn[c], strconv.Itoa(byClass[c]), score3(maxByClass[c])})
		ct.Emphasis = append(ct.Emphasis, emphasis(maxByClass[c]))
		chart.Labels = append(chart.Labels, cn[c])
		chart.Series[0].Values = append(chart.Series[0].Values, float64(byClass[c]))
	}
	if len(ct.Rows) == 0 {
		sec.Paragraphs = []string{w["none"]}
	} else {
		sec.Tables = []report.Table{ct}
		sec.Charts = []report.Chart{chart}
	}
	doc.Sections = append(doc.Sections, sec)

	// Top risky internal hosts.
	ht := report.Table{Columns: []string{w["host"], w["score"], w["findings"], w["why"]}}
	for _, h := range hosts[:min(len(hosts), topN)] {
		ht.Rows = append(ht.Rows, []string{h.Host.String(), score3(h.Score), strconv.Itoa(h.Findings), cell(h.Explanation)})
		ht.Emphasis = append(ht.Emphasis, emphasis(h.Score))
	}
	doc.Sections = append(doc.Sections, tableSection(w["top_hosts"], ht, len(hosts), w))

	// Top external sources.
	doc.Sections = append(doc.Sections, externalSources(in.Findings, zones, topN, w, cn))

	// One section per group of classes.
	groups := []struct {
		heading string
		classes []Class
	}{
		{w["beacons"], []Class{ClassBeacon}},
		{w["tunnels"], []Class{ClassDNSTunnel, ClassDGA}},
		{w["scans"], []Class{ClassScanHorizontal, ClassScanVertical, ClassBruteForce}},
		{w["lateral"], []Class{ClassLateralMovement}},
		{w["attacks"], []Class{ClassExternalAttack, ClassIntelMatch}},
		{w["long"], []Class{ClassLongConnection, ClassRareDestination}},
		{w["violations"], []Class{ClassViolation}},
	}
	for _, g := range groups {
		doc.Sections = append(doc.Sections, findingsSection(g.heading, g.classes, in.Findings, topN, w, cn))
	}

	// Recommendations.
	rec := report.Section{Heading: w["recommendations"]}
	seen := map[string]bool{}
	for _, c := range classOrder {
		if r := recommendations[lang][c]; byClass[c] > 0 && !seen[r] {
			seen[r] = true
			rec.Paragraphs = append(rec.Paragraphs, r)
		}
	}
	if len(rec.Paragraphs) == 0 {
		rec.Paragraphs = []string{w["none"]}
	}
	doc.Sections = append(doc.Sections, rec)

	if err := doc.Validate(); err != nil {
		return nil, fmt.Errorf("traffic report: %w", err)
	}
	return doc, nil
}

// findingsSection lists the findings of some classes, highest score first.
func findingsSection(heading string, classes []Class, fs []Finding, topN int, w map[string]string, cn map[Class]string) report.Section {
	t := report.Table{Columns: []string{w["class"], w["src"], w["dst"], w["score"], w["count"], w["first"], w["last"], w["why"]}}
	total := 0
	for _, f := range fs { // fs is sorted by score (Analyzer.Findings)
		if !slices.Contains(classes, f.Class) {
			continue
		}
		total++
		if len(t.Rows) >= topN {
			continue
		}
		t.Rows = append(t.Rows, []string{cn[f.Class], addrText(f.Src), cell(target(f)), score3(f.Score),
			strconv.FormatInt(f.Count, 10), timeText(f.First), timeText(f.Last), cell(f.Explanation)})
		t.Emphasis = append(t.Emphasis, emphasis(f.Score))
	}
	return tableSection(heading, t, total, w)
}

// tableSection wraps a table, or says there is nothing, and notes rows
// left out.
func tableSection(heading string, t report.Table, total int, w map[string]string) report.Section {
	if len(t.Rows) == 0 {
		return report.Section{Heading: heading, Paragraphs: []string{w["none"]}}
	}
	s := report.Section{Heading: heading, Tables: []report.Table{t}}
	if total > len(t.Rows) {
		s.Paragraphs = []string{fmt.Sprintf(w["more"], total-len(t.Rows))}
	}
	return s
}

// externalSources ranks the external addresses that are the source of
// findings (scans, brute force, attacks) by their highest score.
func externalSources(fs []Finding, zones *Zones, topN int, w map[string]string, cn map[Class]string) report.Section {
	type ext struct {
		addr    netip.Addr
		n       int
		max     float64
		classes map[Class]bool
	}
	by := map[netip.Addr]*ext{}
	for _, f := range fs {
		if !f.Src.IsValid() || zones.Internal(f.Src) {
			continue
		}
		e := by[f.Src]
		if e == nil {
			e = &ext{addr: f.Src, classes: map[Class]bool{}}
			by[f.Src] = e
		}
		e.n++
		e.max = max(e.max, f.Score)
		e.classes[f.Class] = true
	}
	list := make([]*ext, 0, len(by))
	for _, e := range by {
		list = append(list, e)
	}
	slices.SortFunc(list, func(a, b *ext) int {
		switch {
		case a.max != b.max:
			if a.max > b.max {
				return -1
			}
			return 1
		case a.n != b.n:
			return b.n - a.n
		}
		return a.addr.Compare(b.addr)
	})
	t := report.Table{Columns: []string{w["address"], w["max_score"], w["findings"], w["classes"]}}
	for _, e := range list[:min(len(list), topN)] {
		var names []string
		for _, c := range classOrder {
			if e.classes[c] {
				names = append(names, cn[c])
			}
		}
		t.Rows = append(t.Rows, []string{e.addr.String(), score3(e.max), strconv.Itoa(e.n), strings.Join(names, ", ")})
		t.Emphasis = append(t.Emphasis, emphasis(e.max))
	}
	return tableSection(w["top_external"], t, len(list), w)
}

// target is what a finding points at: its domain, else its destination
// and port, else its port.
func target(f Finding) string {
	var parts []string
	if f.Domain != "" {
		parts = append(parts, f.Domain)
	}
	if f.Dst.IsValid() {
		d := f.Dst.String()
		if f.DstPort != 0 {
			d = netip.AddrPortFrom(f.Dst, f.DstPort).String()
		}
		parts = append(parts, d)
	} else if f.DstPort != 0 {
		parts = append(parts, "port "+strconv.Itoa(int(f.DstPort)))
	}
	if f.Rule != "" {
		parts = append(parts, f.Rule)
	}
	return strings.Join(parts, " ")
}

func emphasis(score float64) string {
	switch severity(score) {
	case "critical":
		return report.EmphasisCritical
	case "high":
		return report.EmphasisHigh
	case "medium":
		return report.EmphasisMedium
	case "low":
		return report.EmphasisLow
	}
	return report.EmphasisInfo
}

func score3(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func periodText(from, to time.Time) string {
	if from.IsZero() && to.IsZero() {
		return "-"
	}
	return timeText(from) + " – " + timeText(to) + " UTC"
}

// cell makes traffic-borne text safe to show: invalid UTF-8 and control
// characters become U+FFFD, bidirectional controls (which could make
// "evil\u202Egnp.exe" read as "evilexe.png") are shown as [U+XXXX], and
// the text is cut to reportCell characters.
func cell(s string) string { return cut(visible(s), reportCell) }

func short(s string) string { return cut(visible(s), reportShort) }

func visible(s string) string {
	s = report.CleanText(s)
	if !strings.ContainsFunc(s, bidiControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if bidiControl(r) {
			fmt.Fprintf(&b, "[U+%04X]", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// bidiControl reports the Unicode bidirectional formatting characters.
func bidiControl(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
