package gate

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/report"
)

var words = map[string]map[string]string{
	"en": {
		"title": "Go-live security gate report", "subtitle": "%s %s — decision at %s",
		"outcome": "Decision", "pass": "Pass", "conditional-pass": "Conditional pass", "fail": "Fail",
		"blocking": "Blocking items", "accepted": "Risk-accepted items", "noted": "Noted items",
		"release": "Release record", "system": "System", "version": "Version", "change": "Change", "owner": "Owner",
		"planned": "Planned go-live", "kind": "Kind", "new": "New system", "changed": "Version change", "levels": "Levels",
		"levels_v": "ASVS %s level %d; MLPS level %s", "ungraded": "not graded",
		"decision": "Decision", "reasons": "Reasons",
		"asset": "Asset", "item": "Item", "severity": "Severity", "score": "Score", "due": "Fix by", "ref": "Reference",
		"approver": "Approver", "expires": "Expires", "reason": "Reason", "overdue": " (overdue)",
		"checks": "Checks", "task": "Check", "passed": "Passed", "failed": "Failed", "errored": "Errored", "pending": "Pending", "na": "Not applicable",
		"asvs": "OWASP ASVS %s level %d by chapter", "chapter": "Chapter", "total": "Items",
		"signoff": "Sign-off", "signoff_text": "The decision above is signed off in Vigil by the release owner and the security approver; the signatures and their times are recorded in the audit log.",
		"rules": "Rules applied", "rules_text": "Critical and high items fail the gate; medium items need a risk acceptance with an approver and an expiry; a check that could not run fails the gate. Fix deadlines: %s.",
		"none": "None.",
	},
	"zh-CN": { // #nosec G101 -- report wording ("通过" means pass), no credentials
		"title": "系统上线安全检查报告", "subtitle": "%s %s —— 判定时间 %s",
		"outcome": "结论", "pass": "通过", "conditional-pass": "有条件通过", "fail": "不通过",
		"blocking": "阻断项", "accepted": "已接受风险项", "noted": "提示项",
		"release": "上线记录", "system": "系统", "version": "版本", "change": "变更内容", "owner": "负责人",
		"planned": "计划上线时间", "kind": "类型", "new": "新系统上线", "changed": "版本变更", "levels": "等级",
		"levels_v": "ASVS %s 第 %d 级；等保 %s", "ungraded": "未定级",
		"decision": "判定", "reasons": "判定依据",
		"asset": "资产", "item": "检查项", "severity": "严重程度", "score": "评分", "due": "整改期限", "ref": "依据",
		"approver": "审批人", "expires": "有效期至", "reason": "理由", "overdue": "（已超期）",
		"checks": "检查情况", "task": "检查", "passed": "通过", "failed": "不通过", "errored": "执行失败", "pending": "未完成", "na": "不适用",
		"asvs": "OWASP ASVS %s 第 %d 级（按章节）", "chapter": "章节", "total": "检查项数",
		"signoff": "签发", "signoff_text": "以上结论由系统负责人与安全审批人在 Vigil 中签发，签发人及时间记录于审计日志。",
		"rules": "判定规则", "rules_text": "严重和高危项不予通过；中危项须经审批人接受风险并设定有效期；无法执行的检查视为不通过。整改期限：%s。",
		"none": "无。",
	},
}

var sevEmphasis = map[campaign.Severity]string{
	campaign.SeverityCritical: report.EmphasisCritical, campaign.SeverityHigh: report.EmphasisHigh,
	campaign.SeverityMedium: report.EmphasisMedium, campaign.SeverityLow: report.EmphasisLow, campaign.SeverityInfo: report.EmphasisInfo,
}

// Report builds the go-live report of decision d in lang ("en" or
// "zh-CN"): the release record, the decision and its reasons, the
// blocking, accepted and noted items with fix deadlines, the checks per
// task, the ASVS checklist per chapter and the sign-off section.
func (g *Gate) Report(d Decision, lang string) (*report.Document, error) {
	w, ok := words[lang]
	if !ok {
		lang, w = "en", words["en"]
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
	rel := g.Release
	doc := &report.Document{Title: w["title"], Subtitle: fmt.Sprintf(w["subtitle"], rel.System, rel.Version, ts(d.At)),
		Tenant: g.Campaign.Tenant, Lang: lang, GeneratedAt: d.At, Classification: "TLP:AMBER"}
	doc.Summary = []report.KeyFigure{
		{Label: w["outcome"], Value: w[string(d.Outcome)]},
		{Label: w["blocking"], Value: strconv.Itoa(len(d.Blocking))},
		{Label: w["accepted"], Value: strconv.Itoa(len(d.Accepted)), Note: ts(d.NextExpiry)},
		{Label: w["noted"], Value: strconv.Itoa(len(d.Noted))},
	}
	kind := w["changed"]
	if rel.NewSystem {
		kind = w["new"]
	}
	mlps := w["ungraded"]
	if rel.MLPSLevel > 0 {
		mlps = strconv.Itoa(rel.MLPSLevel)
	}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["release"], Tables: []report.Table{{
		Columns: []string{w["item"], w["release"]},
		Rows: [][]string{{w["system"], rel.System}, {w["version"], rel.Version}, {w["kind"], kind}, {w["change"], rel.Change},
			{w["owner"], rel.Owner}, {w["planned"], ts(rel.Planned)}, {w["levels"], fmt.Sprintf(w["levels_v"], ASVSVersion, rel.ASVSLevel, mlps)}},
	}}})
	var bands []string
	for _, b := range g.Rules.FixDeadlines {
		bands = append(bands, fmt.Sprintf("≥ %.1f: %s", b.MinScore, b.Within))
	}
	dec := report.Section{Heading: w["decision"], Paragraphs: append([]string{w["outcome"] + ": " + w[string(d.Outcome)]}, d.Reasons...)}
	itemTable := func(caption string, items []Item, accepted bool) report.Table {
		cols := []string{w["asset"], w["item"], w["severity"], w["score"], w["due"], w["ref"]}
		if accepted {
			cols = append(cols, w["approver"], w["expires"], w["reason"])
		}
		tb := report.Table{Caption: caption, Columns: cols}
		for _, it := range items {
			due := ts(it.Due)
			if it.Overdue {
				due += w["overdue"]
			}
			row := []string{it.AssetID, report.CleanText(it.Title), string(it.Severity), strconv.FormatFloat(it.Score, 'f', 1, 64), due, it.Ref}
			if accepted && it.Acceptance != nil {
				row = append(row, it.Acceptance.Approver, ts(it.Acceptance.Expires), report.CleanText(it.Acceptance.Reason))
			}
			tb.Rows = append(tb.Rows, row)
			tb.Emphasis = append(tb.Emphasis, sevEmphasis[it.Severity])
		}
		return tb
	}
	for _, part := range []struct {
		key      string
		items    []Item
		accepted bool
	}{{"blocking", d.Blocking, false}, {"accepted", d.Accepted, true}, {"noted", d.Noted, false}} {
		if len(part.items) == 0 {
			continue
		}
		dec.Tables = append(dec.Tables, itemTable(w[part.key], part.items, part.accepted))
	}
	doc.Sections = append(doc.Sections, dec)

	checks := report.Section{Heading: w["checks"]}
	ct := report.Table{Columns: []string{w["task"], w["passed"], w["failed"], w["errored"], w["pending"], w["na"]}}
	per := map[string]*[5]int{}
	for _, r := range g.Campaign.Expected() {
		c := per[r.TaskID]
		if c == nil {
			c = &[5]int{}
			per[r.TaskID] = c
		}
		switch r.Status {
		case campaign.StatusPassed:
			c[0]++
		case campaign.StatusFailed:
			c[1]++
		case campaign.StatusErrored:
			c[2]++
		case campaign.StatusPending:
			c[3]++
		case campaign.StatusNotApplicable:
			c[4]++
		}
	}
	for _, t := range g.Campaign.Tasks {
		c := per[t.ID]
		if c == nil {
			continue
		}
		ct.Rows = append(ct.Rows, []string{t.Title, strconv.Itoa(c[0]), strconv.Itoa(c[1]), strconv.Itoa(c[2]), strconv.Itoa(c[3]), strconv.Itoa(c[4])})
	}
	checks.Tables = append(checks.Tables, ct)
	if at := g.asvsByChapter(lang); len(at.Rows) > 0 {
		at.Caption = fmt.Sprintf(w["asvs"], ASVSVersion, rel.ASVSLevel)
		at.Columns = []string{w["chapter"], w["total"], w["passed"], w["failed"], w["pending"], w["na"]}
		checks.Tables = append(checks.Tables, at)
	}
	doc.Sections = append(doc.Sections, checks,
		report.Section{Heading: w["rules"], Paragraphs: []string{fmt.Sprintf(w["rules_text"], strings.Join(bands, "; "))}},
		report.Section{Heading: w["signoff"], Paragraphs: []string{w["signoff_text"]}})
	return doc, doc.Validate()
}

// asvsByChapter counts the ASVS items per chapter and status.
func (g *Gate) asvsByChapter(lang string) report.Table {
	var tb report.Table
	task, err := g.Campaign.Task(TaskASVS)
	if err != nil {
		return tb
	}
	cat, err := LoadASVS()
	if err != nil {
		return tb
	}
	for _, ch := range cat.AtLevel(g.Release.ASVSLevel) {
		var n, pass, fail, pend, na int
		for _, it := range task.Items {
			if !strings.HasPrefix(it.ID, "asvs-"+strings.TrimPrefix(ch.ID, "V")+".") {
				continue
			}
			n++
			r, _ := g.Campaign.Latest(TaskASVS, "", it.ID)
			switch r.Status {
			case campaign.StatusPassed:
				pass++
			case campaign.StatusFailed:
				fail++
			case campaign.StatusNotApplicable:
				na++
			default:
				pend++
			}
		}
		name := ch.ID + " " + ch.Name
		if lang == "zh-CN" {
			name = ch.ID + " " + ch.NameZh
		}
		tb.Rows = append(tb.Rows, []string{name, strconv.Itoa(n), strconv.Itoa(pass), strconv.Itoa(fail), strconv.Itoa(pend), strconv.Itoa(na)})
	}
	return tb
}
