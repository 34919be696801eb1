package compliance

import (
	"fmt"
	"strconv"

	"github.com/vigil-sec/vigil/internal/report"
)

var reportWords = map[string]map[string]string{
	"en": {"title": "MLPS assessment report", "overall": "Overall score", "conclusion": "Conclusion", "high": "Unresolved high risks",
		"assessed": "Items assessed", "scope": "Scope and method",
		"scope_text":  "System %s assessed against %s (%s). Scores follow Vigil's documented weighted method: conform = 1, partly conform = 0.5, not conform = 0, not applicable excluded; compensating measures raise an item within a cap; any unresolved high risk makes the conclusion poor.",
		"template":    "This is Vigil's working report. The official assessment report uses the template issued to and by the accredited assessment body; its conclusion is the assessment body's.",
		"by_category": "Scores by category", "category": "Category", "score": "Score", "items": "Items", "na": "N/A",
		"by_cp": "Scores by control point", "control_point": "Control point", "high_title": "High-risk issues",
		"item": "Item", "requirement": "Requirement", "object": "Object", "result": "Result", "note": "Note", "evidence": "Evidence",
		"results": "Item results", "remediation": "Remediation suggestions", "suggestion": "Suggestion",
		"default_fix": "Bring the system in line with: %s", "none": "None.", "compensation": "Compensation"},
	"zh-CN": {"title": "等级测评报告", "overall": "综合得分", "conclusion": "测评结论", "high": "未消除的高风险问题",
		"assessed": "已测评项数", "scope": "测评范围与方法",
		"scope_text":  "依据 %s（%s）对 %s 进行测评。得分按 Vigil 公开的加权方法计算：符合计 1、部分符合计 0.5、不符合计 0，不适用不计入；补偿措施在上限内提高单项得分；存在未消除的高风险问题时结论为差。",
		"template":    "本报告为 Vigil 工作报告。正式的等级测评报告须采用测评机构使用的官方报告模板，测评结论以测评机构出具的为准。",
		"by_category": "各安全类得分", "category": "安全类", "score": "得分", "items": "测评项", "na": "不适用",
		"by_cp": "各控制点得分", "control_point": "控制点", "high_title": "高风险问题",
		"item": "编号", "requirement": "要求", "object": "测评对象", "result": "结果", "note": "备注", "evidence": "证据",
		"results": "测评项结果", "remediation": "整改建议", "suggestion": "建议",
		"default_fix": "按以下要求整改：%s", "none": "无。", "compensation": "补偿措施"},
}

// ReportOptions describe the assessed system for the report.
type ReportOptions struct {
	System string // 定级对象
	Tenant string
	Lang   string // "zh-CN" (default) or "en"
	Author string
}

func resultName(r Result, lang string) string {
	if lang == "en" {
		return r.English()
	}
	return string(r)
}

func resultEmphasis(r Result) string {
	switch r {
	case Conform:
		return report.EmphasisOK
	case PartlyConform:
		return report.EmphasisMedium
	case NotConform:
		return report.EmphasisHigh
	}
	return report.EmphasisInfo
}

// AssessmentReport builds the MLPS assessment report: scores by category
// and control point, conclusion, high-risk issues, item results by
// category and remediation suggestions. Chinese is the default language.
func AssessmentReport(fw *Framework, card *Scorecard, opts ReportOptions) *report.Document {
	lang := opts.Lang
	if _, ok := reportWords[lang]; !ok {
		lang = "zh-CN"
	}
	w := reportWords[lang]
	concl := string(card.Conclusion)
	fwName := fw.Name
	if lang == "en" {
		concl = card.Conclusion.English()
		fwName = first(fw.NameEn, fw.Name)
	}
	assessed := 0
	for _, c := range card.Categories {
		assessed += c.Assessed
	}
	doc := &report.Document{Title: w["title"], Subtitle: report.CleanText(opts.System), Tenant: opts.Tenant, Lang: lang, Author: opts.Author, Classification: "confidential",
		Summary: []report.KeyFigure{{Label: w["overall"], Value: strconv.FormatFloat(card.Overall, 'f', 2, 64)}, {Label: w["conclusion"], Value: concl},
			{Label: w["high"], Value: strconv.Itoa(len(card.HighRisks))}, {Label: w["assessed"], Value: strconv.Itoa(assessed)}}}
	scope := fmt.Sprintf(w["scope_text"], report.CleanText(opts.System), fwName, fw.Standard)
	if lang == "zh-CN" {
		scope = fmt.Sprintf(w["scope_text"], fw.Standard, fwName, report.CleanText(opts.System))
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["scope"], Paragraphs: []string{scope, w["template"]}})

	ct := report.Table{Caption: w["by_category"], Columns: []string{w["category"], w["score"], w["items"], w["na"]}}
	chart := report.Chart{Kind: report.ChartBar, Title: w["by_category"], Series: []report.Series{{Name: w["score"]}}}
	for _, c := range card.Categories {
		name := c.Name
		if lang == "en" {
			name = first(c.NameEn, c.Name)
		}
		ct.Rows = append(ct.Rows, []string{name, strconv.FormatFloat(c.Score, 'f', 2, 64), strconv.Itoa(c.Assessed), strconv.Itoa(c.NA)})
		ct.Emphasis = append(ct.Emphasis, scoreEmphasis(c.Score, c.Assessed))
		chart.Labels = append(chart.Labels, name)
		chart.Series[0].Values = append(chart.Series[0].Values, c.Score)
	}
	sec := report.Section{Heading: w["by_category"], Tables: []report.Table{ct}}
	if len(chart.Labels) > 0 {
		sec.Charts = []report.Chart{chart}
	}
	doc.Sections = append(doc.Sections, sec)

	cpt := report.Table{Caption: w["by_cp"], Columns: []string{w["category"], w["control_point"], w["score"], w["items"], w["na"]}}
	cats := map[string]string{}
	for _, c := range card.Categories {
		cats[c.ID] = c.Name
		if lang == "en" {
			cats[c.ID] = first(c.NameEn, c.Name)
		}
	}
	cpCat := map[string]string{}
	for _, it := range card.Items {
		cpCat[it.ControlPoint] = it.Category
	}
	for _, c := range card.ControlPoints {
		name := c.Name
		if lang == "en" {
			name = first(c.NameEn, c.Name)
		}
		cpt.Rows = append(cpt.Rows, []string{cats[cpCat[c.ID]], name, strconv.FormatFloat(c.Score, 'f', 2, 64), strconv.Itoa(c.Assessed), strconv.Itoa(c.NA)})
		cpt.Emphasis = append(cpt.Emphasis, scoreEmphasis(c.Score, c.Assessed))
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["by_cp"], Tables: []report.Table{cpt}})

	hr := report.Section{Heading: w["high_title"], Paragraphs: []string{w["none"]}}
	if len(card.HighRisks) > 0 {
		t := report.Table{Columns: []string{w["item"], w["requirement"], w["object"], w["result"], w["note"]}}
		for _, it := range card.HighRisks {
			t.Rows = append(t.Rows, []string{it.Item, it.Node.Description(lang), report.CleanText(it.Object), resultName(it.Result, lang), report.CleanText(it.Note)})
			t.Emphasis = append(t.Emphasis, report.EmphasisCritical)
		}
		hr = report.Section{Heading: w["high_title"], Tables: []report.Table{t}}
	}
	doc.Sections = append(doc.Sections, hr)

	results := report.Section{Heading: w["results"]}
	for _, c := range card.Categories {
		t := report.Table{Caption: cats[c.ID], Columns: []string{w["item"], w["requirement"], w["object"], w["result"], w["evidence"], w["note"]}}
		for _, it := range card.Items {
			if it.Category != c.ID {
				continue
			}
			note := it.Note
			if it.Compensation != nil {
				note = fmt.Sprintf("%s %s: %s (+%g)", note, w["compensation"], it.Compensation.Measure, min(it.Value-it.Base, 1))
			}
			t.Rows = append(t.Rows, []string{it.Item, it.Node.Description(lang), report.CleanText(it.Object), resultName(it.Result, lang),
				report.CleanText(it.Evidence), report.CleanText(note)})
			t.Emphasis = append(t.Emphasis, resultEmphasis(it.Result))
		}
		results.Sections = append(results.Sections, report.Section{Heading: cats[c.ID], Tables: []report.Table{t}})
	}
	doc.Sections = append(doc.Sections, results)

	fix := report.Table{Columns: []string{w["item"], w["object"], w["result"], w["suggestion"]}}
	for _, it := range card.Items {
		if it.Result != NotConform && it.Result != PartlyConform || it.Value >= 1 {
			continue
		}
		s := it.Remediation
		if s == "" {
			s = fmt.Sprintf(w["default_fix"], it.Node.Description(lang))
		}
		fix.Rows = append(fix.Rows, []string{it.Item, report.CleanText(it.Object), resultName(it.Result, lang), report.CleanText(s)})
		e := resultEmphasis(it.Result)
		if it.HighRisk && !it.Resolved {
			e = report.EmphasisCritical
		}
		fix.Emphasis = append(fix.Emphasis, e)
	}
	fs := report.Section{Heading: w["remediation"], Tables: []report.Table{fix}}
	if len(fix.Rows) == 0 {
		fs = report.Section{Heading: w["remediation"], Paragraphs: []string{w["none"]}}
	}
	doc.Sections = append(doc.Sections, fs)
	return doc
}

func scoreEmphasis(score float64, assessed int) string {
	switch {
	case assessed == 0:
		return report.EmphasisInfo
	case score >= 90:
		return report.EmphasisOK
	case score >= 70:
		return report.EmphasisMedium
	}
	return report.EmphasisHigh
}
