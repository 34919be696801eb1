package alerting

import (
	"bytes"
	htmltemplate "html/template"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/vigil-sec/vigil/internal/notify"
)

// Rendering of the weekly digest: plain text, HTML (e-mail) and Markdown
// (chat robots), in English or Chinese. Everything in a Digest is data:
// analysts' sections, case titles and advisory titles are escaped by
// html/template in HTML and by notify.EscapeMarkdown in Markdown, and
// never parsed as templates.

// digestLabels are the words of the digest per language.
var digestLabels = map[string]map[string]string{
	notify.LangEN: {
		"subject": "Weekly security digest", "period": "Period", "figures": "Key figures",
		"new_alerts": "New alerts", "closed_alerts": "Alerts closed", "new_cases": "Cases opened", "closed_cases": "Cases closed",
		"new_critical": "New critical findings", "new_kev": "New findings of exploited vulnerabilities", "open_critical": "Critical findings still open",
		"cases": "Cases opened this week", "critical": "New critical findings", "kev": "Known exploited vulnerabilities matching your assets",
		"advisories": "Advisories matching your assets", "sections": "From our analysts", "none": "None.",
		"assets": "assets", "findings": "findings", "more": "more", "details": "Open in Vigil", "exploited": "exploited",
		"overdue_findings": "Findings past their due date", "breached_timers": "Case timers breached this week",
		"patches": "Patches released for products you run", "fixed_in": "fixed in", "action": "action", "runs": "you run",
		"sla": "SLA breaches", "overdue": "Findings past their due date", "breaches": "Case timers breached",
		"due": "due", "late": "late", "not_done": "still not done", "done_late": "met late",
		"timer.acknowledge": "acknowledgement", "timer.contain": "containment", "timer.close": "closure",
		"unit.d": " d", "unit.h": " h", "unit.m": " min",
	},
	notify.LangZH: {
		"subject": "每周安全简报", "period": "周期", "figures": "关键数字",
		"new_alerts": "新告警", "closed_alerts": "已关闭告警", "new_cases": "新建事件", "closed_cases": "已关闭事件",
		"new_critical": "新增严重漏洞", "new_kev": "新增在野利用漏洞", "open_critical": "仍未修复的严重漏洞",
		"cases": "本周新建事件", "critical": "新增严重漏洞", "kev": "与贵方资产相关的在野利用漏洞（KEV）",
		"advisories": "与贵方资产相关的安全通告", "sections": "分析师观察", "none": "无。",
		"assets": "个资产", "findings": "个漏洞", "more": "更多", "details": "在 Vigil 中查看", "exploited": "在野利用",
		"overdue_findings": "已超期未修复的漏洞", "breached_timers": "本周超时的事件时限",
		"patches": "贵方所用产品本周发布的补丁", "fixed_in": "修复版本", "action": "处置要求", "runs": "贵方在用",
		"sla": "服务水平（SLA）违约", "overdue": "已超期未修复的漏洞", "breaches": "超时的事件时限",
		"due": "期限", "late": "超时", "not_done": "仍未完成", "done_late": "逾期完成",
		"timer.acknowledge": "确认", "timer.contain": "遏制", "timer.close": "关闭",
		"unit.d": " 天", "unit.h": " 小时", "unit.m": " 分钟",
	},
}

// digestBar is one bar of the key figures chart.
type digestBar struct {
	Label string
	Value int
	Pct   int // of the largest figure, 0–100
}

type digestView struct {
	Digest
	Lang string
	Bars []digestBar
}

func (v digestView) KEVMore() int     { return v.KEVTotal - len(v.KEV) }
func (v digestView) AdviseMore() int  { return v.AdviseTotal - len(v.Advisories) }
func (v digestView) PatchMore() int   { return v.PatchTotal - len(v.Patches) }
func (v digestView) OverdueMore() int { return v.SLA.OverdueTotal - len(v.SLA.Overdue) }
func (v digestView) BreachMore() int  { return v.SLA.BreachTotal - len(v.SLA.Breaches) }

// ZoneName names the time zone the digest's times are in.
func (v digestView) ZoneName() string { return zoneName(v.Zone) }

func newDigestView(d Digest, lang string) digestView {
	l := digestLabels[lang]
	c := d.Counts
	bars := []digestBar{{l["new_alerts"], c.NewAlerts, 0}, {l["closed_alerts"], c.ClosedAlerts, 0}, {l["new_cases"], c.NewCases, 0},
		{l["closed_cases"], c.ClosedCases, 0}, {l["new_critical"], c.NewCritical, 0}, {l["new_kev"], c.NewKEV, 0},
		{l["open_critical"], d.OpenCritical, 0}, {l["overdue_findings"], d.SLA.OverdueTotal, 0},
		{l["breached_timers"], d.SLA.BreachTotal, 0}}
	top := 0
	for _, b := range bars {
		top = max(top, b.Value)
	}
	for i := range bars {
		if top > 0 {
			bars[i].Pct = bars[i].Value * 100 / top
		}
	}
	return digestView{Digest: d, Lang: lang, Bars: bars}
}

func digestFuncs(lang string) map[string]any {
	return map[string]any{
		"L": func(k string) string { return digestLabels[lang][k] },
		"day": func(v digestView) string {
			loc := v.Zone
			if loc == nil {
				loc = time.UTC
			}
			return v.From.In(loc).Format("2006-01-02") + " – " + v.To.In(loc).Format("2006-01-02")
		},
		"at": func(v digestView, t time.Time) string {
			loc := v.Zone
			if loc == nil {
				loc = time.UTC
			}
			return t.In(loc).Format("2006-01-02 15:04")
		},
		"late":  func(d time.Duration) string { return spell(d, digestLabels[lang]) },
		"timer": func(name string) string { return digestLabels[lang]["timer."+name] },
		"join":  func(ss []string) string { return strings.Join(ss, "; ") },
		"md":    func(s string) string { return notify.EscapeMarkdown(strings.Join(strings.Fields(s), " ")) },
		"line":  func(s string) string { return strings.Join(strings.Fields(s), " ") },
	}
}

const digestText = `{{L "subject"}} · {{line .Tenant.Name}}
{{L "period"}}: {{day .}} ({{.ZoneName}})

{{L "figures"}}
{{- range .Bars}}
  {{.Label}}: {{.Value}}{{end}}

{{L "cases"}}
{{- range .Cases}}
  - {{line .Ref}} {{line .Title}} [{{.Severity}}, {{.Phase}}]{{else}}
  {{L "none"}}{{end}}

{{L "critical"}}
{{- range .Critical}}
  - {{line .Title}} ({{line .Host}}){{if .KEV}} [{{L "exploited"}}]{{end}}{{else}}
  {{L "none"}}{{end}}

{{L "kev"}}
{{- range .KEV}}
  - {{line .ID}} {{line .Title}}: {{.Assets}} {{L "assets"}}, {{.Findings}} {{L "findings"}}{{else}}
  {{L "none"}}{{end}}{{if gt .KEVMore 0}}
  … +{{.KEVMore}} {{L "more"}}{{end}}

{{L "advisories"}}
{{- range .Advisories}}
  - {{line .ID}} {{line .Title}} [{{.Severity}}]: {{.Assets}} {{L "assets"}}, {{.Findings}} {{L "findings"}}{{else}}
  {{L "none"}}{{end}}{{if gt .AdviseMore 0}}
  … +{{.AdviseMore}} {{L "more"}}{{end}}

{{L "patches"}}
{{- range .Patches}}
  - {{line .ID}} {{line .Title}}{{if .Fixed}}: {{L "fixed_in"}} {{line (join .Fixed)}}{{end}}{{if .Action}} ({{L "action"}}: {{line .Action}}){{end}}{{if .Runs}}
    {{L "runs"}}: {{line (join .Runs)}}{{end}}{{else}}
  {{L "none"}}{{end}}{{if gt .PatchMore 0}}
  … +{{.PatchMore}} {{L "more"}}{{end}}

{{L "sla"}}
{{L "overdue"}}: {{.SLA.OverdueTotal}}
{{- range .SLA.Overdue}}
  - {{line .Title}} ({{line .Host}}) [{{.Severity}}], {{L "due"}} {{at $ .Due}}{{end}}{{if gt .OverdueMore 0}}
  … +{{.OverdueMore}} {{L "more"}}{{end}}
{{L "breaches"}}: {{.SLA.BreachTotal}}
{{- range .SLA.Breaches}}
  - {{line .Ref}} {{line .Title}}: {{timer .Timer}}, {{L "due"}} {{at $ .Due}}, {{if .Met}}{{L "done_late"}}{{else}}{{L "not_done"}}{{end}} ({{L "late"}} {{late .Late}}){{end}}{{if gt .BreachMore 0}}
  … +{{.BreachMore}} {{L "more"}}{{end}}
{{- if .Sections}}

{{L "sections"}}
{{- range .Sections}}

== {{line .Title}} ==
{{.Body}}{{end}}{{end}}
{{- if .Link}}

{{L "details"}}: {{.Link}}{{end}}
`

const digestHTML = `<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{L "subject"}}</title></head><body style="font-family:sans-serif">
<h2>{{L "subject"}} · {{.Tenant.Name}}</h2>
<p>{{L "period"}}: {{day .}} ({{.ZoneName}})</p>
<h3>{{L "figures"}}</h3>
<table style="border-collapse:collapse">
{{- range .Bars}}
<tr><th style="text-align:left;padding:2px 8px">{{.Label}}</th><td style="padding:2px 8px;text-align:right">{{.Value}}</td>
<td style="width:200px"><div style="background:#3b6ea5;height:10px;width:{{.Pct}}%"></div></td></tr>
{{- end}}
</table>
<h3>{{L "cases"}}</h3>
{{- if .Cases}}<ul>{{range .Cases}}<li>{{.Ref}} {{.Title}} ({{.Severity}}, {{.Phase}})</li>{{end}}</ul>{{else}}<p>{{L "none"}}</p>{{end}}
<h3>{{L "critical"}}</h3>
{{- if .Critical}}<ul>{{range .Critical}}<li>{{.Title}} ({{.Host}}){{if .KEV}} <strong>{{L "exploited"}}</strong>{{end}}</li>{{end}}</ul>{{else}}<p>{{L "none"}}</p>{{end}}
<h3>{{L "kev"}}</h3>
{{- if .KEV}}<ul>{{range .KEV}}<li>{{.ID}} {{.Title}}: {{.Assets}} {{L "assets"}}, {{.Findings}} {{L "findings"}}</li>{{end}}</ul>{{else}}<p>{{L "none"}}</p>{{end}}
{{- if gt .KEVMore 0}}<p>… +{{.KEVMore}} {{L "more"}}</p>{{end}}
<h3>{{L "advisories"}}</h3>
{{- if .Advisories}}<ul>{{range .Advisories}}<li>{{.ID}} {{.Title}} ({{.Severity}}): {{.Assets}} {{L "assets"}}, {{.Findings}} {{L "findings"}}</li>{{end}}</ul>{{else}}<p>{{L "none"}}</p>{{end}}
{{- if gt .AdviseMore 0}}<p>… +{{.AdviseMore}} {{L "more"}}</p>{{end}}
<h3>{{L "patches"}}</h3>
{{- if .Patches}}<ul>{{range .Patches}}<li>{{.ID}} {{.Title}}{{if .Fixed}}: {{L "fixed_in"}} {{join .Fixed}}{{end}}{{if .Action}} ({{L "action"}}: {{.Action}}){{end}}{{if .Runs}}<br><small>{{L "runs"}}: {{join .Runs}}</small>{{end}}</li>{{end}}</ul>{{else}}<p>{{L "none"}}</p>{{end}}
{{- if gt .PatchMore 0}}<p>… +{{.PatchMore}} {{L "more"}}</p>{{end}}
<h3>{{L "sla"}}</h3>
<p>{{L "overdue"}}: {{.SLA.OverdueTotal}}</p>
{{- if .SLA.Overdue}}<ul>{{range .SLA.Overdue}}<li>{{.Title}} ({{.Host}}, {{.Severity}}), {{L "due"}} {{at $ .Due}}</li>{{end}}</ul>{{end}}
{{- if gt .OverdueMore 0}}<p>… +{{.OverdueMore}} {{L "more"}}</p>{{end}}
<p>{{L "breaches"}}: {{.SLA.BreachTotal}}</p>
{{- if .SLA.Breaches}}<ul>{{range .SLA.Breaches}}<li>{{.Ref}} {{.Title}}: {{timer .Timer}}, {{L "due"}} {{at $ .Due}}, {{if .Met}}{{L "done_late"}}{{else}}{{L "not_done"}}{{end}} ({{L "late"}} {{late .Late}})</li>{{end}}</ul>{{end}}
{{- if gt .BreachMore 0}}<p>… +{{.BreachMore}} {{L "more"}}</p>{{end}}
{{- if .Sections}}
<h3>{{L "sections"}}</h3>
{{- range .Sections}}
<h4>{{.Title}}</h4><p style="white-space:pre-wrap">{{.Body}}</p>
{{- end}}{{end}}
{{- if .Link}}
<p><a href="{{.Link}}">{{L "details"}}</a></p>{{end}}
</body></html>
`

const digestMarkdown = `### {{L "subject"}} · {{md .Tenant.Name}}
{{L "period"}}: {{day .}} ({{.ZoneName}})

**{{L "figures"}}**
{{range .Bars}}
- {{.Label}}: **{{.Value}}**{{end}}

**{{L "cases"}}**
{{range .Cases}}
- {{md .Ref}} {{md .Title}} ({{md .Severity}}){{else}}
{{L "none"}}{{end}}

**{{L "kev"}}**
{{range .KEV}}
- {{md .ID}} {{md .Title}}: {{.Assets}} {{L "assets"}}, {{.Findings}} {{L "findings"}}{{else}}
{{L "none"}}{{end}}

**{{L "patches"}}**
{{range .Patches}}
- {{md .ID}} {{md .Title}}{{if .Fixed}}: {{L "fixed_in"}} {{md (join .Fixed)}}{{end}}{{else}}
{{L "none"}}{{end}}

**{{L "sla"}}**

- {{L "overdue"}}: **{{.SLA.OverdueTotal}}**
- {{L "breaches"}}: **{{.SLA.BreachTotal}}**
{{- if .Sections}}

**{{L "sections"}}**
{{range .Sections}}
- **{{md .Title}}**: {{md .Body}}{{end}}{{end}}
{{- if .Link}}

[{{L "details"}}]({{.Link}}){{end}}
`

// digestTemplates holds the parsed templates per language.
type digestTemplates struct {
	text, md *texttemplate.Template
	html     *htmltemplate.Template
}

var digestTmpl = func() map[string]digestTemplates {
	out := map[string]digestTemplates{}
	for lang := range digestLabels {
		f := digestFuncs(lang)
		out[lang] = digestTemplates{
			text: texttemplate.Must(texttemplate.New("text").Funcs(f).Option("missingkey=error").Parse(digestText)),
			md:   texttemplate.Must(texttemplate.New("md").Funcs(f).Option("missingkey=error").Parse(digestMarkdown)),
			html: htmltemplate.Must(htmltemplate.New("html").Funcs(f).Option("missingkey=error").Parse(digestHTML)),
		}
	}
	return out
}()

// RenderDigest renders a digest in lang ("en" or "zh-CN").
func RenderDigest(d Digest, lang string) (notify.Rendered, error) {
	lang = notify.NormalizeLang(lang)
	t := digestTmpl[lang]
	v := newDigestView(d, lang)
	if v.Link != "" && !strings.HasPrefix(v.Link, "https://") && !strings.HasPrefix(v.Link, "http://") {
		v.Link = ""
	}
	var r notify.Rendered
	var buf bytes.Buffer
	if err := t.text.Execute(&buf, v); err != nil {
		return r, err
	}
	r.Text = buf.String()
	buf.Reset()
	if err := t.md.Execute(&buf, v); err != nil {
		return r, err
	}
	r.Markdown = buf.String()
	buf.Reset()
	if err := t.html.Execute(&buf, v); err != nil {
		return r, err
	}
	r.HTML = buf.String()
	r.Subject = clip(digestLabels[lang]["subject"]+" · "+strings.Join(strings.Fields(d.Tenant.Name), " ")+" · "+d.Period, 200)
	return r, nil
}

// digestMessage renders a digest in the service's language as a message.
func (s *Service) digestMessage(id string, d Digest) (notify.Message, error) {
	r, err := RenderDigest(d, s.lang)
	if err != nil {
		return notify.Message{}, err
	}
	return notify.Message{ID: id, Tenant: d.Tenant.ID, Kind: notify.KindDigest, Severity: notify.SeverityInfo, Subject: r.Subject,
		Text: r.Text, Markdown: r.Markdown, HTML: r.HTML, Link: d.Link}, nil
}

// spell writes a duration in days, hours and minutes ("6 d 21 h").
func spell(d time.Duration, l map[string]string) string {
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, strconv.Itoa(days)+l["unit.d"])
	}
	if hours > 0 {
		parts = append(parts, strconv.Itoa(hours)+l["unit.h"])
	}
	if mins > 0 && days == 0 {
		parts = append(parts, strconv.Itoa(mins)+l["unit.m"])
	}
	if len(parts) == 0 {
		return "0" + l["unit.m"]
	}
	return strings.Join(parts, " ")
}
