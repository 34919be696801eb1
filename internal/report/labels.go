package report

// labels are the words of a report's fixed chrome, in one language.
type labels struct {
	Lang, Contents, Summary, Generated, Tenant, Author, Classification string
	Table, Chart, Label, Value, Note, Sheet, Caption, Section          string
}

// labelsFor returns the chrome labels of lang ("zh-CN", else English).
func labelsFor(lang string) labels {
	if lang == "zh-CN" {
		return labels{
			Lang: "zh-CN", Contents: "目录", Summary: "摘要", Generated: "生成时间",
			Tenant: "客户", Author: "编制", Classification: "密级",
			Table: "表", Chart: "图",
			Label: "指标", Value: "数值", Note: "说明", Sheet: "工作表",
			Caption: "标题", Section: "章节",
		}
	}
	return labels{
		Lang: "en", Contents: "Contents", Summary: "Summary", Generated: "Generated",
		Tenant: "Tenant", Author: "Author", Classification: "Classification",
		Table: "Table", Chart: "Figure",
		Label: "Label", Value: "Value", Note: "Note", Sheet: "Sheet",
		Caption: "Caption", Section: "Section",
	}
}

// pageWords returns the words around the page numbers: "Page 3 of 9" in
// English, "第 3 页，共 9 页" in Chinese.
func (l labels) pageWords() (before, middle, after string) {
	if l.Lang == "zh-CN" {
		return "第", "页，共", "页"
	}
	return "Page", "of", ""
}
