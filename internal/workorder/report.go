package workorder

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/report"
)

// Period is the span an ops audit report covers, [From, To).
type Period struct {
	From, To time.Time
}

// maxReportRows bounds each table of the report; the rest is counted in a
// note.
const maxReportRows = 5_000

// maxCell bounds a quoted command or detail in a table cell.
const maxCell = 1_000

var reportWords = map[string]map[string]string{
	"en": {"title": "Operations audit report", "period": "Period", "sessions": "Access sessions", "hosts": "Hosts accessed",
		"accounts": "Accounts", "findings": "Findings", "unapproved": "Access without approved order",
		"outside": "Access outside the window", "unused": "Approved orders not used", "orders": "Work orders",
		"overdue": "Overdue orders", "scope": "Scope and method", "scope_text": "Access to hosts from %s to %s, rebuilt from SSH, sudo, RDP and bastion logs, compared with the approved work orders (host, account and time window) of the period.",
		"none": "None.", "time": "Time", "kind": "Finding", "severity": "Severity", "host": "Host", "account": "Account",
		"from": "From", "order": "Order", "detail": "Detail", "start": "Start", "end": "End", "method": "Method",
		"commands": "Commands", "result": "Audit result", "ok": "covered", "open": "still open",
		"privileged": "Privileged commands", "run_as": "Run as", "command": "Command", "denied": "denied",
		"ref": "Order", "type": "Type", "title_col": "Title", "state": "State", "requester": "Requester",
		"approver": "Approver", "executor": "Executor", "window": "Window", "due": "Due", "by_kind": "Findings by kind",
		"count": "Count", "more": "%d more rows not shown.", "yes": "yes",
		string(FindingUnapproved): "no approved order", string(FindingOutsideWindow): "outside window",
		string(FindingUnusedOrder): "order not used"},
	"zh-CN": {"title": "运维审计报告", "period": "审计周期", "sessions": "访问会话", "hosts": "被访问主机",
		"accounts": "账号", "findings": "审计发现", "unapproved": "无审批工单的访问",
		"outside": "超出时间窗口的访问", "unused": "已审批未使用的工单", "orders": "工单",
		"overdue": "逾期工单", "scope": "范围与方法", "scope_text": "审计 %s 至 %s 期间的主机访问：根据 SSH、sudo、RDP 与堡垒机日志还原访问会话，并与本期已审批工单（主机、账号与时间窗口）比对。",
		"none": "无。", "time": "时间", "kind": "发现类型", "severity": "严重程度", "host": "主机", "account": "账号",
		"from": "来源地址", "order": "工单", "detail": "说明", "start": "开始", "end": "结束", "method": "方式",
		"commands": "命令数", "result": "审计结果", "ok": "有工单覆盖", "open": "仍在进行",
		"privileged": "特权命令", "run_as": "执行身份", "command": "命令", "denied": "被拒绝",
		"ref": "工单号", "type": "类型", "title_col": "标题", "state": "状态", "requester": "申请人",
		"approver": "审批人", "executor": "执行人", "window": "时间窗口", "due": "截止时间", "by_kind": "按类型统计的发现",
		"count": "数量", "more": "另有 %d 行未列出。", "yes": "是",
		string(FindingUnapproved): "无审批工单", string(FindingOutsideWindow): "超出时间窗口",
		string(FindingUnusedOrder): "工单未使用"},
}

// Report builds the ops audit report of a period from the sessions, the
// findings Match gave for them and the orders of the period. lang is "en"
// or "zh-CN" (anything else gives English). now decides which orders are
// overdue.
func Report(period Period, sessions []Session, findings []Finding, orders []Order, lang string, now time.Time) *report.Document {
	w, ok := reportWords[lang]
	if !ok {
		lang, w = "en", reportWords["en"]
	}
	hosts, accts := map[string]bool{}, map[string]bool{}
	for _, s := range sessions {
		hosts[s.Host] = true
		accts[s.User] = true
	}
	byKind := map[FindingKind]int{}
	flagged := map[string]FindingKind{}
	for _, f := range findings {
		byKind[f.Kind]++
		if f.Session != nil {
			flagged[sessionID(f.Session)] = f.Kind
		}
	}
	overdue := 0
	for i := range orders {
		if late, _ := orders[i].Overdue(now); late {
			overdue++
		}
	}
	periodText := stampDay(period.From) + " – " + stampDay(period.To)
	doc := &report.Document{Title: w["title"], Subtitle: periodText, Lang: lang, GeneratedAt: now.UTC(), Classification: "TLP:AMBER",
		Summary: []report.KeyFigure{
			{Label: w["sessions"], Value: strconv.Itoa(len(sessions))},
			{Label: w["hosts"], Value: strconv.Itoa(len(hosts))},
			{Label: w["unapproved"], Value: strconv.Itoa(byKind[FindingUnapproved])},
			{Label: w["outside"], Value: strconv.Itoa(byKind[FindingOutsideWindow])},
			{Label: w["unused"], Value: strconv.Itoa(byKind[FindingUnusedOrder])},
			{Label: w["overdue"], Value: strconv.Itoa(overdue)},
		}}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["scope"],
		Paragraphs: []string{fmt.Sprintf(w["scope_text"], stamp(period.From), stamp(period.To))},
		Figures: []report.KeyFigure{{Label: w["period"], Value: periodText}, {Label: w["accounts"], Value: strconv.Itoa(len(accts))},
			{Label: w["orders"], Value: strconv.Itoa(len(orders))}}})

	// Findings.
	fs := report.Section{Heading: w["findings"]}
	if len(findings) == 0 {
		fs.Paragraphs = []string{w["none"]}
	} else {
		t := report.Table{Columns: []string{w["time"], w["kind"], w["severity"], w["host"], w["account"], w["from"], w["order"], w["detail"]}}
		for i, f := range findings {
			if i == maxReportRows {
				fs.Paragraphs = append(fs.Paragraphs, fmt.Sprintf(w["more"], len(findings)-i))
				break
			}
			from := ""
			if f.Session != nil {
				from = f.Session.SourceIP
			}
			t.Rows = append(t.Rows, []string{stamp(f.At), w[string(f.Kind)], f.Severity, cell(f.Host), cell(f.User), cell(from), cell(f.OrderRef), cell(f.Detail)})
			t.Emphasis = append(t.Emphasis, emphasis(f.Severity))
		}
		fs.Tables = []report.Table{t}
		chart := report.Chart{Kind: report.ChartBar, Title: w["by_kind"], Series: []report.Series{{Name: w["count"]}}}
		for _, k := range []FindingKind{FindingUnapproved, FindingOutsideWindow, FindingUnusedOrder} {
			chart.Labels = append(chart.Labels, w[string(k)])
			chart.Series[0].Values = append(chart.Series[0].Values, float64(byKind[k]))
		}
		fs.Charts = []report.Chart{chart}
	}
	doc.Sections = append(doc.Sections, fs)

	// Sessions and the privileged commands run in them.
	ss := report.Section{Heading: w["sessions"]}
	ps := report.Section{Heading: w["privileged"]}
	st := report.Table{Columns: []string{w["start"], w["end"], w["host"], w["account"], w["from"], w["method"], w["commands"], w["result"]}}
	ct := report.Table{Columns: []string{w["time"], w["host"], w["account"], w["run_as"], w["command"]}}
	cmds := 0
	for i, s := range sessions {
		if i == maxReportRows {
			ss.Paragraphs = append(ss.Paragraphs, fmt.Sprintf(w["more"], len(sessions)-i))
			break
		}
		end := stamp(s.End)
		if s.Open {
			end = w["open"]
		}
		result, em := w["ok"], report.EmphasisOK
		if k, bad := flagged[sessionID(&s)]; bad {
			result, em = w[string(k)], report.EmphasisHigh
		}
		st.Rows = append(st.Rows, []string{stamp(s.Start), end, cell(s.Host), cell(s.User), cell(s.SourceIP), s.Method, strconv.Itoa(len(s.Commands)), result})
		st.Emphasis = append(st.Emphasis, em)
		for _, c := range s.Commands {
			cmds++
			if cmds > maxReportRows {
				continue
			}
			runAs := cell(c.RunAs)
			if c.Denied {
				runAs += " (" + w["denied"] + ")"
			}
			ct.Rows = append(ct.Rows, []string{stamp(c.At), cell(s.Host), cell(s.User), runAs, cell(c.Command)})
		}
	}
	if len(st.Rows) == 0 {
		ss.Paragraphs = []string{w["none"]}
	} else {
		ss.Tables = []report.Table{st}
	}
	if len(ct.Rows) == 0 {
		ps.Paragraphs = []string{w["none"]}
	} else {
		ps.Tables = []report.Table{ct}
		if cmds > maxReportRows {
			ps.Paragraphs = []string{fmt.Sprintf(w["more"], cmds-maxReportRows)}
		}
	}
	doc.Sections = append(doc.Sections, ss, ps)

	// Orders.
	osec := report.Section{Heading: w["orders"]}
	ot := report.Table{Columns: []string{w["ref"], w["type"], w["title_col"], w["state"], w["requester"], w["approver"], w["executor"], w["window"], w["due"], w["overdue"]}}
	for i := range orders {
		if i == maxReportRows {
			osec.Paragraphs = append(osec.Paragraphs, fmt.Sprintf(w["more"], len(orders)-i))
			break
		}
		o := &orders[i]
		win := ""
		if !o.WindowStart.IsZero() {
			win = stamp(o.WindowStart) + " – " + stamp(o.WindowEnd)
		}
		late, _ := o.Overdue(now)
		lateText, em := "", ""
		if late {
			lateText, em = w["yes"], report.EmphasisMedium
		}
		ot.Rows = append(ot.Rows, []string{cell(ref(o)), string(o.Type), cell(o.Title), string(o.State), cell(o.Requester),
			cell(o.Approver), cell(o.Executor), win, stamp(o.Due), lateText})
		ot.Emphasis = append(ot.Emphasis, em)
	}
	if len(ot.Rows) == 0 {
		osec.Paragraphs = []string{w["none"]}
	} else {
		osec.Tables = []report.Table{ot}
	}
	doc.Sections = append(doc.Sections, osec)
	return doc
}

func sessionID(s *Session) string {
	return s.Method + "|" + s.Host + "|" + s.User + "|" + s.Start.UTC().Format(time.RFC3339Nano)
}

func stampDay(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02")
}

// cell makes log-derived text safe for a report cell: invalid and control
// characters replaced, at most maxCell characters.
func cell(s string) string {
	s = report.CleanText(s)
	if utf8.RuneCountInString(s) > maxCell {
		r := []rune(s)
		s = string(r[:maxCell-1]) + "…"
	}
	return strings.TrimSpace(s)
}

func emphasis(severity string) string {
	switch severity {
	case "critical":
		return report.EmphasisCritical
	case "high":
		return report.EmphasisHigh
	case "medium":
		return report.EmphasisMedium
	case "low":
		return report.EmphasisLow
	}
	return ""
}
