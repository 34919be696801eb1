package om

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

var reportWords = map[string]map[string]string{
	"en": {
		"title": "Security device O&M report", "period": "%s to %s",
		"devices": "Devices", "unhealthy": "Not healthy now", "changes": "Configuration changes", "records": "O&M records",
		"expiring": "Expiring within %d days", "alerts": "Device alerts",
		"status_sec": "Device status", "name": "Device", "vendor": "Vendor / model", "role": "Role", "state": "Health",
		"polled": "Last poll", "backed": "Last backup", "support": "Support until", "licence": "Licence until", "signature": "Signatures until",
		"health_sec": "Health in the period", "polls": "Polls", "unreach": "Unreachable", "cpu_avg": "CPU avg %", "cpu_max": "CPU max %",
		"mem_max": "Memory max %", "problems": "Problems",
		"changes_sec": "Configuration changes", "when": "When", "added": "Lines added", "removed": "Lines removed", "by": "By",
		"records_sec": "O&M record sheet", "kind": "Kind", "summary": "What was done", "resolution": "Resolution", "ref": "Work order",
		"author": "Who", "expiry_sec": "Expiries", "item": "Item", "date": "Date", "days": "Days left",
		"alerts_sec": "Alerts raised", "level": "Level", "count": "Alerts", "none": "None.",
		"overview":  "This report covers the operation and maintenance of %d security devices of %s from %s to %s (UTC).",
		"k_support": "Support contract", "k_licence": "Licence", "k_signature": "Signature updates",
		"s_ok": "OK", "s_warning": "Warning", "s_critical": "Critical", "s_unreachable": "Unreachable", "s_unknown": "Not polled",
		"truncated": "Only the first %d devices are listed.",
	},
	"zh-CN": {
		"title": "安全产品运行维护报告", "period": "%s 至 %s",
		"devices": "设备数", "unhealthy": "当前异常设备", "changes": "配置变更次数", "records": "运维记录数",
		"expiring": "%d 天内到期", "alerts": "设备告警数",
		"status_sec": "设备运行状态", "name": "设备", "vendor": "厂商 / 型号", "role": "类型", "state": "健康状态",
		"polled": "最近巡检", "backed": "最近备份", "support": "维保到期", "licence": "许可到期", "signature": "特征库到期",
		"health_sec": "本期运行情况", "polls": "采集次数", "unreach": "不可达次数", "cpu_avg": "CPU 平均 %", "cpu_max": "CPU 峰值 %",
		"mem_max": "内存峰值 %", "problems": "异常次数",
		"changes_sec": "配置变更", "when": "时间", "added": "新增行", "removed": "删除行", "by": "执行人",
		"records_sec": "运维记录单", "kind": "类型", "summary": "工作内容", "resolution": "处理结果", "ref": "工单",
		"author": "人员", "expiry_sec": "到期提醒", "item": "项目", "date": "日期", "days": "剩余天数",
		"alerts_sec": "告警情况", "level": "级别", "count": "告警数", "none": "无。",
		"overview":  "本报告涵盖 %[2]s 的 %[1]d 台安全设备自 %[3]s 至 %[4]s（UTC）的运行维护情况。",
		"k_support": "维保合同", "k_licence": "许可证", "k_signature": "特征库升级",
		"s_ok": "正常", "s_warning": "告警", "s_critical": "严重", "s_unreachable": "不可达", "s_unknown": "未采集",
		"truncated": "仅列出前 %d 台设备。",
	},
}

// maxReportDevices bounds the devices one report covers.
const maxReportDevices = 2000

// maxReportRows bounds the rows of each list in the report.
const maxReportRows = 5000

// MonthlyReport is the O&M report of a tenant's devices for [from, to).
// The caller checks the right to read the tenant's reports.
func (s *Service) MonthlyReport(ctx context.Context, t store.Tenant, from, to time.Time, lang string) (*report.Document, error) {
	w, ok := reportWords[lang]
	if !ok {
		lang, w = "en", reportWords["en"]
	}
	from, to = from.UTC(), to.UTC()
	var devs []store.Device
	for off := 0; off < maxReportDevices; off += store.MaxPageSize {
		ds, err := s.st.Devices().ListDevices(ctx, t.ID, store.Page{Limit: store.MaxPageSize, Offset: off})
		if err != nil {
			return nil, err
		}
		devs = append(devs, ds...)
		if len(ds) < store.MaxPageSize {
			break
		}
	}
	day := func(x time.Time) string {
		if x.IsZero() {
			return "—"
		}
		return x.UTC().Format(time.DateOnly)
	}
	stamp := func(x time.Time) string {
		if x.IsZero() {
			return "—"
		}
		return x.UTC().Format("2006-01-02 15:04")
	}
	names := map[string]string{}
	for _, d := range devs {
		names[d.AssetID] = d.Name
	}
	doc := &report.Document{Title: w["title"], Subtitle: fmt.Sprintf(w["period"], day(from), day(to.Add(-time.Nanosecond))),
		Tenant: t.Name, Lang: lang, Classification: "TLP:AMBER", GeneratedAt: s.now().UTC()}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["status_sec"],
		Paragraphs: []string{fmt.Sprintf(w["overview"], len(devs), t.Name, day(from), day(to.Add(-time.Nanosecond)))}})

	// Status now.
	unhealthy := 0
	st := report.Table{Columns: []string{w["name"], w["vendor"], w["role"], w["state"], w["polled"], w["backed"], w["support"], w["licence"], w["signature"]}}
	for _, d := range devs {
		emph := ""
		switch d.HealthState {
		case StateCritical, StateUnreachable:
			emph, unhealthy = report.EmphasisCritical, unhealthy+1
		case StateWarning:
			emph, unhealthy = report.EmphasisMedium, unhealthy+1
		case StateOK:
			emph = report.EmphasisOK
		}
		state := w["s_"+d.HealthState]
		if state == "" {
			state = d.HealthState
		}
		st.Rows = append(st.Rows, []string{report.CleanText(d.Name), report.CleanText(d.Vendor + " " + d.Model), d.Role, state,
			stamp(d.LastPolledAt), stamp(d.LastBackupAt), day(d.SupportExpires), day(d.LicenceExpires), day(d.SignatureExpires)})
		st.Emphasis = append(st.Emphasis, emph)
	}
	doc.Sections[0].Tables = []report.Table{st}

	// Health in the period, from the samples.
	hs := report.Section{Heading: w["health_sec"]}
	ht := report.Table{Columns: []string{w["name"], w["polls"], w["unreach"], w["cpu_avg"], w["cpu_max"], w["mem_max"], w["problems"]}}
	cpuChart := report.Chart{Kind: report.ChartBar, Title: w["cpu_max"], Series: []report.Series{{Name: w["cpu_max"]}}}
	for _, d := range devs {
		samples, err := s.st.Devices().Health(ctx, t.ID, d.AssetID, from, maxReportRows)
		if err != nil {
			return nil, err
		}
		var polls, unreach, problems, ncpu int
		var sum, maxCPU, maxMem float64
		for _, h := range samples {
			if !h.At.Before(to) {
				continue
			}
			polls++
			if !h.Reachable {
				unreach++
			}
			problems += len(h.Problems)
			if h.HasCPU {
				ncpu++
				sum += h.CPU
				maxCPU = max(maxCPU, h.CPU)
			}
			if h.HasMemory {
				maxMem = max(maxMem, h.Memory)
			}
		}
		avg := "—"
		if ncpu > 0 {
			avg = strconv.FormatFloat(sum/float64(ncpu), 'f', 1, 64)
		}
		ht.Rows = append(ht.Rows, []string{report.CleanText(d.Name), strconv.Itoa(polls), strconv.Itoa(unreach), avg,
			strconv.FormatFloat(maxCPU, 'f', 1, 64), strconv.FormatFloat(maxMem, 'f', 1, 64), strconv.Itoa(problems)})
		if len(cpuChart.Labels) < report.MaxChartPoints {
			cpuChart.Labels = append(cpuChart.Labels, report.CleanText(clip(d.Name, 100)))
			cpuChart.Series[0].Values = append(cpuChart.Series[0].Values, maxCPU)
		}
	}
	hs.Tables = []report.Table{ht}
	if len(cpuChart.Labels) > 0 {
		hs.Charts = []report.Chart{cpuChart}
	}
	doc.Sections = append(doc.Sections, hs)

	// Configuration changes.
	cs := report.Section{Heading: w["changes_sec"]}
	ct := report.Table{Columns: []string{w["name"], w["when"], w["added"], w["removed"], w["by"]}}
	changes := 0
	for _, d := range devs {
		for off := 0; off < maxReportRows; off += store.MaxPageSize {
			bs, err := s.st.Devices().Backups(ctx, t.ID, d.AssetID, store.Page{Limit: store.MaxPageSize, Offset: off})
			if err != nil {
				return nil, err
			}
			for _, b := range bs {
				if b.Changed && !b.TakenAt.Before(from) && b.TakenAt.Before(to) {
					changes++
					ct.Rows = append(ct.Rows, []string{report.CleanText(d.Name), stamp(b.TakenAt), strconv.Itoa(b.Added), strconv.Itoa(b.Removed), b.TakenBy})
				}
			}
			if len(bs) < store.MaxPageSize || bs[len(bs)-1].TakenAt.Before(from) {
				break
			}
		}
	}
	if len(ct.Rows) == 0 {
		cs.Paragraphs = []string{w["none"]}
	} else {
		cs.Tables = []report.Table{ct}
	}
	doc.Sections = append(doc.Sections, cs)

	// The O&M record sheet of the period.
	rs := report.Section{Heading: w["records_sec"]}
	recs, err := s.st.Devices().Records(ctx, t.ID, "", from, to, store.Page{Limit: store.MaxPageSize})
	if err != nil {
		return nil, err
	}
	rt := report.Table{Columns: []string{w["when"], w["name"], w["kind"], w["summary"], w["resolution"], w["ref"], w["author"]}}
	for _, r := range recs {
		rt.Rows = append(rt.Rows, []string{stamp(r.At), report.CleanText(names[r.AssetID]), r.Kind, report.CleanText(r.Summary),
			report.CleanText(r.Resolution), report.CleanText(r.WorkRef), report.CleanText(r.AuthorName)})
	}
	if len(rt.Rows) == 0 {
		rs.Paragraphs = []string{w["none"]}
	} else {
		rs.Tables = []report.Table{rt}
	}
	doc.Sections = append(doc.Sections, rs)

	// Expiries: what runs out within the warning period after the period.
	es := report.Section{Heading: w["expiry_sec"]}
	et := report.Table{Columns: []string{w["name"], w["item"], w["date"], w["days"]}}
	type exp struct {
		name string
		e    Expiry
	}
	var soon []exp
	for _, d := range devs {
		for _, e := range s.Expiries(d, to) {
			if e.Soon {
				soon = append(soon, exp{d.Name, e})
			}
		}
	}
	slices.SortStableFunc(soon, func(a, b exp) int { return a.e.At.Compare(b.e.At) })
	for _, x := range soon {
		et.Rows = append(et.Rows, []string{report.CleanText(x.name), w["k_"+x.e.Kind], day(x.e.At), strconv.Itoa(x.e.Days)})
		emph := report.EmphasisMedium
		if x.e.Days < 7 {
			emph = report.EmphasisHigh
		}
		et.Emphasis = append(et.Emphasis, emph)
	}
	if len(et.Rows) == 0 {
		es.Paragraphs = []string{w["none"]}
	} else {
		es.Tables = []report.Table{et}
	}
	doc.Sections = append(doc.Sections, es)

	// Alerts this service raised in the period.
	as := report.Section{Heading: w["alerts_sec"]}
	byLevel := map[string]int{}
	alerts := 0
	for _, lv := range []string{"critical", "high", "medium", "low"} {
		n, err := s.st.Alerts().Count(ctx, t.ID, store.AlertFilter{RulePrefix: rulePrefix, Level: lv, Since: from, Until: to})
		if err != nil {
			return nil, err
		}
		byLevel[lv] = n
		alerts += n
	}
	at := report.Table{Columns: []string{w["level"], w["count"]}}
	for _, lv := range []string{"critical", "high", "medium", "low"} {
		at.Rows = append(at.Rows, []string{lv, strconv.Itoa(byLevel[lv])})
	}
	as.Tables = []report.Table{at}
	doc.Sections = append(doc.Sections, as)

	doc.Summary = []report.KeyFigure{
		{Label: w["devices"], Value: strconv.Itoa(len(devs))},
		{Label: w["unhealthy"], Value: strconv.Itoa(unhealthy)},
		{Label: w["changes"], Value: strconv.Itoa(changes)},
		{Label: w["records"], Value: strconv.Itoa(len(recs))},
		{Label: fmt.Sprintf(w["expiring"], int(s.opts.ExpiryWarning.Hours()/24)), Value: strconv.Itoa(len(soon))},
		{Label: w["alerts"], Value: strconv.Itoa(alerts)},
	}
	if len(devs) >= maxReportDevices {
		doc.Sections[0].Paragraphs = append(doc.Sections[0].Paragraphs, fmt.Sprintf(w["truncated"], maxReportDevices))
	}
	return doc, nil
}
