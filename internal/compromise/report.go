package compromise

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/weblog"
)

var words = map[string]map[string]string{
	"en": {"title": "Application compromise detection report", "records": "Requests analysed", "hits": "Attack candidates",
		"confirmed": "Confirmed problems", "verdict": "Verdict", "none": "None.", "pending": "not given yet",
		"overview": "Scope and method", "overview_text": "Access logs of %s (%s) analysed: payload rules (OWASP CRS and targeted signatures), behaviour (scanners, brute force, webshells, probing) and success scoring against each URL's normal responses.",
		"coverage": "Log coverage", "file": "File", "format": "Format", "lines": "Lines", "parsed": "Parsed",
		"by_category": "Attacks by category", "category": "Category", "count": "Count", "top_ips": "Top attacking addresses",
		"ip": "Client address", "max_score": "Highest success score", "findings": "Highest-scored findings", "score": "Score",
		"time": "Time", "request": "Request", "why": "Why", "mark": "Analyst", "problems": "Confirmed problems and fixes",
		"fix": "Fix", "verdict_note": "Expert's note",
		"compromised": "Compromised", "attacked-not-compromised": "Attacked, not compromised", "clean": "Clean"},
	"zh-CN": {"title": "应用失陷检测报告", "records": "分析的请求数", "hits": "攻击线索", "confirmed": "已确认问题",
		"verdict": "结论", "none": "无。", "pending": "尚未给出",
		"overview": "范围与方法", "overview_text": "分析了 %s（%s）的访问日志：载荷规则（OWASP CRS 与针对性特征）、行为（扫描器、暴力破解、WebShell、探测）以及基于各 URL 正常响应的攻击成功评分。",
		"coverage": "日志覆盖", "file": "文件", "format": "格式", "lines": "行数", "parsed": "已解析",
		"by_category": "按类别统计的攻击", "category": "类别", "count": "数量", "top_ips": "主要攻击来源",
		"ip": "客户端地址", "max_score": "最高成功评分", "findings": "评分最高的线索", "score": "评分",
		"time": "时间", "request": "请求", "why": "依据", "mark": "研判", "problems": "已确认问题与修复建议",
		"fix": "修复建议", "verdict_note": "专家意见",
		"compromised": "已失陷", "attacked-not-compromised": "遭受攻击，未失陷", "clean": "未发现攻击"},
}

// fixes is the remediation advice per category.
var fixes = map[string]map[weblog.Category]string{
	"en": {weblog.CatSQLi: "Use parameterised queries for every database access; validate input types; restrict the database account.",
		weblog.CatXSS:        "Encode output for its context; validate input; set a Content-Security-Policy.",
		weblog.CatRCE:        "Never pass request data to a shell or interpreter; patch the component; isolate the service account.",
		weblog.CatLFI:        "Resolve paths against an allow-list; reject traversal sequences after decoding.",
		weblog.CatWebshell:   "Remove the script, find how it was uploaded, rotate credentials, rebuild from a known-good image.",
		weblog.CatLog4Shell:  "Upgrade Log4j to a fixed version; block JNDI lookups; check outbound LDAP/RMI connections.",
		weblog.CatBruteForce: "Rate-limit and lock out logins; enforce MFA; check the accounts that succeeded.",
		weblog.CatProbing:    "Remove backups, VCS folders and config files from the web root; deny them in the server."},
	"zh-CN": {weblog.CatSQLi: "所有数据库访问使用参数化查询；校验输入类型；收紧数据库账号权限。",
		weblog.CatXSS:        "按上下文对输出编码；校验输入；配置内容安全策略（CSP）。",
		weblog.CatRCE:        "禁止将请求数据传入 Shell 或解释器；修补组件；隔离服务账号。",
		weblog.CatLFI:        "按白名单解析路径；解码后拒绝目录穿越序列。",
		weblog.CatWebshell:   "删除该脚本，排查上传途径，更换凭据，使用可信镜像重建。",
		weblog.CatLog4Shell:  "升级 Log4j 至修复版本；禁用 JNDI 查找；排查外连 LDAP/RMI。",
		weblog.CatBruteForce: "对登录限速并锁定；启用多因素认证；核查登录成功的账号。",
		weblog.CatProbing:    "从网站目录移除备份、版本库目录和配置文件，并在服务器上禁止访问。"},
}

func emphasis(score int) string {
	switch {
	case score >= 80:
		return report.EmphasisCritical
	case score >= 60:
		return report.EmphasisHigh
	case score >= 30:
		return report.EmphasisMedium
	}
	return report.EmphasisLow
}

// ReportDocument builds the per-system report of a run.
func (s *Service) ReportDocument(ctx context.Context, tenant store.Tenant, runID, lang string) (*report.Document, error) {
	if err := auth.Require(ctx, auth.PermReportRead, tenant.ID); err != nil {
		return nil, err
	}
	run, res, marks, err := s.Get(ctx, tenant.ID, runID)
	if err != nil {
		return nil, err
	}
	if _, ok := words[lang]; !ok {
		lang = "en"
	}
	w := words[lang]
	verdict := w["pending"]
	if run.Verdict != "" {
		verdict = w[run.Verdict]
	}
	confirmed := 0
	for _, m := range marks {
		if m.Mark == TruePositive {
			confirmed++
		}
	}
	doc := &report.Document{Title: w["title"], Subtitle: res.System, Tenant: tenant.Name, Lang: lang, Classification: "TLP:AMBER",
		Summary: []report.KeyFigure{{Label: w["verdict"], Value: verdict}, {Label: w["records"], Value: strconv.Itoa(res.Stats.Records)},
			{Label: w["hits"], Value: strconv.Itoa(len(res.Hits))}, {Label: w["confirmed"], Value: strconv.Itoa(confirmed)}}}
	ov := report.Section{Heading: w["overview"], Paragraphs: []string{fmt.Sprintf(w["overview_text"], res.System, run.Name)}}
	if run.VerdictNote != "" {
		ov.Figures = []report.KeyFigure{{Label: w["verdict_note"], Value: run.VerdictNote}}
	}
	cov := report.Table{Caption: w["coverage"], Columns: []string{w["file"], w["format"], w["lines"], w["parsed"]}}
	for _, c := range res.Coverage {
		cov.Rows = append(cov.Rows, []string{c.File, c.Format, strconv.Itoa(c.Lines), strconv.Itoa(c.Parsed)})
	}
	ov.Tables = []report.Table{cov}
	doc.Sections = append(doc.Sections, ov)

	byCat := map[weblog.Category]int{}
	type ipStat struct {
		n, max int
	}
	byIP := map[string]*ipStat{}
	for _, h := range res.Hits {
		byCat[h.Category]++
		st := byIP[h.ClientIP]
		if st == nil {
			st = &ipStat{}
			byIP[h.ClientIP] = st
		}
		st.n++
		st.max = max(st.max, h.Score)
	}
	cats := make([]weblog.Category, 0, len(byCat))
	for c := range byCat {
		cats = append(cats, c)
	}
	slices.SortFunc(cats, func(a, b weblog.Category) int { return byCat[b] - byCat[a] })
	ct := report.Table{Columns: []string{w["category"], w["count"]}}
	chart := report.Chart{Kind: report.ChartBar, Title: w["by_category"], Series: []report.Series{{Name: w["count"]}}}
	for _, c := range cats {
		ct.Rows = append(ct.Rows, []string{string(c), strconv.Itoa(byCat[c])})
		chart.Labels = append(chart.Labels, string(c))
		chart.Series[0].Values = append(chart.Series[0].Values, float64(byCat[c]))
	}
	sec := report.Section{Heading: w["by_category"], Tables: []report.Table{ct}}
	if len(cats) > 0 && len(cats) <= report.MaxChartPoints {
		sec.Charts = []report.Chart{chart}
	} else if len(cats) == 0 {
		sec = report.Section{Heading: w["by_category"], Paragraphs: []string{w["none"]}}
	}
	doc.Sections = append(doc.Sections, sec)

	ips := make([]string, 0, len(byIP))
	for ip := range byIP {
		ips = append(ips, ip)
	}
	slices.SortFunc(ips, func(a, b string) int { return byIP[b].n - byIP[a].n })
	it := report.Table{Columns: []string{w["ip"], w["count"], w["max_score"]}}
	for i, ip := range ips {
		if i == 20 {
			break
		}
		it.Rows = append(it.Rows, []string{ip, strconv.Itoa(byIP[ip].n), strconv.Itoa(byIP[ip].max)})
		it.Emphasis = append(it.Emphasis, emphasis(byIP[ip].max))
	}
	if len(it.Rows) > 0 {
		doc.Sections = append(doc.Sections, report.Section{Heading: w["top_ips"], Tables: []report.Table{it}})
	}

	ft := report.Table{Columns: []string{w["score"], w["time"], w["ip"], w["request"], w["category"], w["why"], w["mark"]}}
	for i, h := range res.Hits {
		if i == 200 {
			break
		}
		ft.Rows = append(ft.Rows, []string{strconv.Itoa(h.Score), h.Time.UTC().Format("2006-01-02 15:04:05"), h.ClientIP,
			report.CleanText(h.Request), string(h.Category), h.Explanation, marks[i].Mark})
		ft.Emphasis = append(ft.Emphasis, emphasis(h.Score))
	}
	if len(ft.Rows) > 0 {
		doc.Sections = append(doc.Sections, report.Section{Heading: w["findings"], Tables: []report.Table{ft}})
	}
	pt := report.Table{Columns: []string{w["time"], w["ip"], w["request"], w["category"], w["why"], w["fix"]}}
	for i, h := range res.Hits {
		if marks[i].Mark != TruePositive {
			continue
		}
		fix := fixes[lang][h.Category]
		pt.Rows = append(pt.Rows, []string{h.Time.UTC().Format("2006-01-02 15:04:05"), h.ClientIP, report.CleanText(h.Request),
			string(h.Category), h.Explanation + " " + marks[i].Note, fix})
		pt.Emphasis = append(pt.Emphasis, emphasis(h.Score))
	}
	ps := report.Section{Heading: w["problems"], Tables: []report.Table{pt}}
	if len(pt.Rows) == 0 {
		ps = report.Section{Heading: w["problems"], Paragraphs: []string{w["none"]}}
	}
	doc.Sections = append(doc.Sections, ps)
	return doc, nil
}
