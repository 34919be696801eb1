package risk

import (
	"fmt"
	"strconv"

	"github.com/vigil-sec/vigil/internal/report"
)

var words = map[string]map[string]string{
	"en": {"title": "Risk assessment report", "method": "Method", "scenarios": "Risk scenarios", "high": "High and very high risks",
		"method_formula": "GB/T 20984-2022 calculation: L = √(T·V), F = √(A·V), R = L·F rounded half up (1-25).",
		"method_matrix":  "Risk matrix: likelihood and loss ranks looked up in the matrix.",
		"register":       "Risk register", "id": "ID", "asset": "Asset", "threat": "Threat", "vuln": "Vulnerability",
		"l": "L", "f": "F", "r": "R", "level": "Level", "treatment": "Treatment", "owner": "Owner", "due": "Due",
		"measure": "Security requirement", "heatmap": "Heat map (count of risks)", "likelihood": "Likelihood", "loss": "Loss",
		"rollup": "Risk by asset", "system": "System assets", "business": "Business assets", "count": "Scenarios",
		"by_level": "Risks by level", "none": "None.", "undecided": "not decided"},
	"zh-CN": {"title": "风险评估报告", "method": "计算方法", "scenarios": "风险场景数", "high": "高及很高风险",
		"method_formula": "GB/T 20984-2022 计算方法：L = √(T·V)，F = √(A·V)，R = L·F（四舍五入取整，1–25）。",
		"method_matrix":  "风险矩阵法：按可能性与损失等级在矩阵中查得风险等级。",
		"register":       "风险登记表", "id": "编号", "asset": "资产", "threat": "威胁", "vuln": "脆弱性",
		"l": "可能性", "f": "损失", "r": "风险值", "level": "等级", "treatment": "处置方式", "owner": "责任人", "due": "期限",
		"measure": "安全需求", "heatmap": "风险热力图（风险数量）", "likelihood": "可能性", "loss": "损失",
		"rollup": "资产风险汇总", "system": "系统资产", "business": "业务资产", "count": "场景数",
		"by_level": "按等级统计", "none": "无。", "undecided": "未决定"},
}

func levelName(l Level, lang string) string {
	if lang == "en" {
		return l.English()
	}
	return string(l)
}

func emphasis(l Level) string {
	switch l {
	case VeryHigh:
		return report.EmphasisCritical
	case High:
		return report.EmphasisHigh
	case Medium:
		return report.EmphasisMedium
	case Low:
		return report.EmphasisLow
	}
	return report.EmphasisInfo
}

// ReportDocument builds the risk assessment report in lang ("zh-CN" or
// "en"; anything else gives English).
func ReportDocument(as *Assessment, res *Result, tenant, lang string) *report.Document {
	if _, ok := words[lang]; !ok {
		lang = "en"
	}
	w := words[lang]
	high := res.ByLevel[High] + res.ByLevel[VeryHigh]
	doc := &report.Document{Title: w["title"], Subtitle: report.CleanText(as.Name), Tenant: tenant, Lang: lang, Classification: "confidential",
		Summary: []report.KeyFigure{{Label: w["scenarios"], Value: strconv.Itoa(len(res.Register))}, {Label: w["high"], Value: strconv.Itoa(high)}}}
	m := w["method_formula"]
	if res.Method == "matrix" {
		m = w["method_matrix"]
	}
	levels := report.Table{Caption: w["by_level"], Columns: []string{w["level"], w["count"]}}
	for _, b := range res.Bands {
		levels.Rows = append(levels.Rows, []string{fmt.Sprintf("%s (%d–%d)", levelName(b.Level, lang), b.Min, b.Max), strconv.Itoa(res.ByLevel[b.Level])})
		levels.Emphasis = append(levels.Emphasis, emphasis(b.Level))
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["method"], Paragraphs: []string{m}, Tables: []report.Table{levels}})

	reg := report.Table{Caption: w["register"], Columns: []string{w["id"], w["asset"], w["threat"], w["vuln"], w["l"], w["f"], w["r"], w["level"], w["treatment"], w["owner"], w["due"], w["measure"]}}
	for i, e := range res.Register {
		if i == 5000 {
			break
		}
		treat, owner, due, measure := w["undecided"], "", "", ""
		if d := e.Decision; d != nil {
			treat = string(d.Treatment)
			if lang == "zh-CN" {
				treat = d.Treatment.Chinese()
			}
			owner, measure = d.Owner, d.Measure
			if !d.Due.IsZero() {
				due = d.Due.UTC().Format("2006-01-02")
			}
		}
		reg.Rows = append(reg.Rows, []string{e.Scenario.ID, report.CleanText(e.Asset.Name), report.CleanText(e.Threat.Name), report.CleanText(e.Vulnerability.Name),
			strconv.FormatFloat(e.Eval.Likelihood, 'f', 2, 64), strconv.FormatFloat(e.Eval.Loss, 'f', 2, 64), strconv.Itoa(e.Eval.R),
			levelName(e.Eval.Level, lang), treat, report.CleanText(owner), due, report.CleanText(measure)})
		reg.Emphasis = append(reg.Emphasis, emphasis(e.Eval.Level))
	}
	sec := report.Section{Heading: w["register"], Tables: []report.Table{reg}}
	if len(reg.Rows) == 0 {
		sec = report.Section{Heading: w["register"], Paragraphs: []string{w["none"]}}
	}
	doc.Sections = append(doc.Sections, sec)

	heat := report.Table{Caption: w["heatmap"], Columns: []string{w["likelihood"] + " \\ " + w["loss"], "1", "2", "3", "4", "5"}}
	chart := report.Chart{Kind: report.ChartStackedBar, Title: w["heatmap"], Labels: []string{"1", "2", "3", "4", "5"}}
	for l := 5; l >= 1; l-- {
		row := []string{strconv.Itoa(l)}
		for f := 1; f <= 5; f++ {
			row = append(row, strconv.Itoa(res.HeatMap[l-1][f-1]))
		}
		heat.Rows = append(heat.Rows, row)
	}
	for f := 1; f <= 5; f++ {
		s := report.Series{Name: w["loss"] + " " + strconv.Itoa(f)}
		for l := 1; l <= 5; l++ {
			s.Values = append(s.Values, float64(res.HeatMap[l-1][f-1]))
		}
		chart.Series = append(chart.Series, s)
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["heatmap"], Tables: []report.Table{heat}, Charts: []report.Chart{chart}})

	roll := func(caption string, rs []Rollup) report.Table {
		t := report.Table{Caption: caption, Columns: []string{w["asset"], w["r"], w["level"], w["count"]}}
		for _, r := range rs {
			lv := levelName(r.Level, lang)
			if r.R == 0 {
				lv = "-"
			}
			t.Rows = append(t.Rows, []string{report.CleanText(r.Asset.Name), strconv.Itoa(r.R), lv, strconv.Itoa(r.Count)})
			t.Emphasis = append(t.Emphasis, emphasis(r.Level))
		}
		return t
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["rollup"], Tables: []report.Table{roll(w["business"], res.Business), roll(w["system"], res.Systems)}})
	return doc
}
