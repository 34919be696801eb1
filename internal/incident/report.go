package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// Report section keys an analyst writes.
const (
	SectionSummary         = "summary"
	SectionImpact          = "impact"
	SectionRootCause       = "root_cause"
	SectionRecommendations = "recommendations"
)

// ReportSections returns the editable report section keys in report order.
func ReportSections() []string {
	return []string{SectionSummary, SectionImpact, SectionRootCause, SectionRecommendations}
}

// ErrReportFinal means the report was made final and is no longer edited.
var ErrReportFinal = fmt.Errorf("%w: the report is final", store.ErrConflict)

// EditReport replaces analyst-written report sections (keys of
// ReportSections; an empty text removes the section). version is the case
// Version the analyst saw (0 skips the check).
func (s *Service) EditReport(ctx context.Context, tenantID, caseID string, version int, sections map[string]string) (store.Incident, error) {
	c, err := s.load(ctx, tenantID, caseID, version)
	if err != nil {
		return c, err
	}
	if c.ReportFinal {
		return c, ErrReportFinal
	}
	next := map[string]string{}
	for k, v := range c.ReportSections {
		next[k] = v
	}
	var keys []string
	for k, v := range sections {
		if err := oneOf("section", k, ReportSections()); err != nil {
			return c, err
		}
		if err := checkText(k, v, MaxDescription, false); err != nil {
			return c, err
		}
		if strings.TrimSpace(v) == "" {
			delete(next, k)
		} else {
			next[k] = v
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	c.ReportSections = next
	if err := s.store.Incidents().Update(ctx, &c, nil); err != nil {
		return c, err
	}
	return c, s.record(ctx, tenantID, "incident.report.edit", caseID, map[string]any{"ref": c.Ref, "sections": keys})
}

// FinaliseReport makes the report final: later EditReport calls are
// refused.
func (s *Service) FinaliseReport(ctx context.Context, tenantID, caseID string, version int) (store.Incident, error) {
	c, err := s.load(ctx, tenantID, caseID, version)
	if err != nil {
		return c, err
	}
	if c.ReportFinal {
		return c, ErrReportFinal
	}
	c.ReportFinal = true
	if err := s.store.Incidents().Update(ctx, &c, nil); err != nil {
		return c, err
	}
	return c, s.record(ctx, tenantID, "incident.report.final", caseID, map[string]any{"ref": c.Ref})
}

var reportWords = map[string]map[string]string{
	"en": {"title": "Incident response report", "severity": "Severity", "category": "Category", "gb": "GB/T 20986-2023 class",
		"phase": "Phase", "resolution": "Resolution", "opened": "Opened", "closed": "Closed", "ttc": "Time to contain",
		"summary": "Summary", "timeline": "Timeline", "time": "Time", "kind": "Kind", "source": "Source", "what": "What",
		"who": "Who", "impact": "Impact", "assets": "Affected assets", "asset": "Asset", "type": "Type", "address": "Address",
		"importance": "Importance", "root_cause": "Root cause", "actions": "Actions per phase", "task": "Task", "owner": "Owner",
		"done": "Done", "checklist": "Checklist", "iocs": "Indicators of compromise", "value": "Value", "description": "Description",
		"first": "First seen", "last": "Last seen", "attack": "MITRE ATT&CK techniques", "technique": "Technique",
		"recommendations": "Recommendations", "sla": "Service levels", "timer": "Timer", "due": "Due", "state": "State",
		"none": "None.", "not_written": "Not written yet.", "open": "open", "draft": "Draft: the report is not final.",
		"acknowledge": "Acknowledge", "contain": "Contain", "close": "Close", "alerts": "Alerts",
		"detect": "Detect", "eradicate": "Eradicate", "recover": "Recover", "summarise": "Summarise", "closed_phase": "Closed",
		"description_h": "Description"},
	"zh-CN": {"title": "网络安全事件应急响应报告", "severity": "严重程度", "category": "类别", "gb": "GB/T 20986-2023 分类",
		"phase": "阶段", "resolution": "结论", "opened": "创建时间", "closed": "关闭时间", "ttc": "遏制用时",
		"summary": "事件概述", "timeline": "事件时间线", "time": "时间", "kind": "类型", "source": "来源", "what": "内容",
		"who": "人员", "impact": "影响范围", "assets": "受影响资产", "asset": "资产", "type": "类型", "address": "地址",
		"importance": "重要性", "root_cause": "根本原因", "actions": "各阶段处置措施", "task": "任务", "owner": "负责人",
		"done": "完成时间", "checklist": "检查项", "iocs": "失陷指标（IOC）", "value": "值", "description": "说明",
		"first": "首次发现", "last": "最后发现", "attack": "MITRE ATT&CK 技术", "technique": "技术",
		"recommendations": "改进建议", "sla": "服务水平", "timer": "计时", "due": "期限", "state": "状态",
		"none": "无。", "not_written": "尚未填写。", "open": "处理中", "draft": "草稿：报告尚未定稿。",
		"acknowledge": "响应", "contain": "遏制", "close": "关闭", "alerts": "告警",
		"detect": "检测", "eradicate": "根除", "recover": "恢复", "summarise": "总结", "closed_phase": "已关闭",
		"description_h": "事件描述"},
}

// reportLang picks a known language ("en" otherwise).
func reportLang(lang string) string {
	if _, ok := reportWords[lang]; ok {
		return lang
	}
	return "en"
}

// clip cleans text for a report (characters the renderers refuse become
// U+FFFD) and bounds it to n characters.
func clip(s string, n int) string { return report.Shorten(report.CleanText(s), n) }

func short(s string) string { return clip(s, report.MaxShortText) }
func cell(s string) string  { return clip(s, report.MaxCell) }

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// paragraphs splits analyst text into paragraphs at blank lines.
func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" && len(out) < report.MaxParagraphs {
			out = append(out, clip(p, report.MaxParagraph))
		}
	}
	return out
}

func emphasisOf(sev string) string {
	switch sev {
	case SeverityCritical:
		return report.EmphasisCritical
	case SeverityHigh:
		return report.EmphasisHigh
	case SeverityMedium:
		return report.EmphasisMedium
	}
	return report.EmphasisLow
}

// Report builds the IR report of a case in lang ("en" or "zh-CN"): key
// figures, summary, description, timeline, impact with the affected
// assets, root cause, the tasks done in each phase, the indicators of
// compromise, ATT&CK techniques, recommendations and the SLA timers. Text
// from analysts, alerts and events is cleaned of characters the renderers
// refuse and bounded, so the document always validates.
func (s *Service) Report(ctx context.Context, tenantID, caseID, lang string) (*report.Document, error) {
	if err := auth.Require(ctx, auth.PermReportRead, tenantID); err != nil {
		return nil, err
	}
	lang = reportLang(lang)
	w := reportWords[lang]
	c, err := s.store.Incidents().Get(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	tenant, err := s.store.Tenants().Get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	timeline, err := s.Timeline(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	names := s.userNames(ctx)
	now := s.now()

	phase := w[c.Phase]
	if c.Phase == PhaseClosed {
		phase = w["closed_phase"]
	}
	doc := &report.Document{Title: w["title"], Subtitle: short(c.Ref + " " + c.Title), Tenant: short(tenant.Name), Lang: lang,
		GeneratedAt: now.UTC(), Classification: "TLP:" + strings.ToUpper(c.TLP)}
	gb := c.GBClass
	if g, ok := GBClassByCode(c.GBClass); ok {
		gb = g.Name
		if lang == "en" {
			gb = g.En + " (" + g.Name + ")"
		}
	}
	doc.Summary = []report.KeyFigure{{Label: w["severity"], Value: c.Severity}, {Label: w["category"], Value: c.Category},
		{Label: w["phase"], Value: phase}, {Label: w["opened"], Value: fmtTime(c.CreatedAt)}}
	if gb != "" {
		doc.Summary = append(doc.Summary, report.KeyFigure{Label: w["gb"], Value: short(gb)})
	}
	if c.Phase == PhaseClosed {
		doc.Summary = append(doc.Summary, report.KeyFigure{Label: w["resolution"], Value: c.Resolution},
			report.KeyFigure{Label: w["closed"], Value: fmtTime(c.ClosedAt)})
	}
	if !c.ContainedAt.IsZero() {
		doc.Summary = append(doc.Summary, report.KeyFigure{Label: w["ttc"], Value: c.ContainedAt.Sub(c.CreatedAt).Round(time.Minute).String()})
	}

	written := func(key string) []string {
		if p := paragraphs(c.ReportSections[key]); len(p) > 0 {
			return p
		}
		return []string{w["not_written"]}
	}
	sum := report.Section{Heading: w["summary"], Paragraphs: written(SectionSummary)}
	if !c.ReportFinal {
		sum.Paragraphs = append([]string{w["draft"]}, sum.Paragraphs...)
	}
	if d := paragraphs(c.Description); len(d) > 0 {
		sum.Sections = []report.Section{{Heading: w["description_h"], Paragraphs: d}}
	}
	doc.Sections = append(doc.Sections, sum)

	tl := report.Table{Columns: []string{w["time"], w["kind"], w["what"], w["who"], w["source"]}}
	for _, it := range timeline {
		tl.Rows = append(tl.Rows, []string{fmtTime(it.At), it.Kind, cell(it.Text), cell(nameOf(names, it.Actor)), cell(it.Source)})
	}
	if len(tl.Rows) > 0 {
		doc.Sections = append(doc.Sections, report.Section{Heading: w["timeline"], Tables: []report.Table{tl}})
	}

	impact := report.Section{Heading: w["impact"], Paragraphs: written(SectionImpact)}
	at := report.Table{Caption: w["assets"], Columns: []string{w["asset"], w["type"], w["address"], w["importance"]}}
	for _, id := range c.AssetIDs {
		a, err := s.store.Assets().Get(ctx, tenantID, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		at.Rows = append(at.Rows, []string{cell(a.Name), cell(a.Kind), cell(a.Address), strconv.Itoa(a.Importance)})
	}
	if len(at.Rows) > 0 {
		impact.Tables = []report.Table{at}
	}
	doc.Sections = append(doc.Sections, impact, report.Section{Heading: w["root_cause"], Paragraphs: written(SectionRootCause)})

	tasks, err := s.store.Incidents().Tasks(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	actions := report.Section{Heading: w["actions"]}
	for _, p := range Phases() {
		t := report.Table{Columns: []string{w["task"], w["owner"], w["done"], w["checklist"]}}
		for _, tk := range tasks {
			if tk.Phase != p || tk.Status != TaskDone {
				continue
			}
			done := 0
			for _, it := range tk.Checklist {
				if it.Done {
					done++
				}
			}
			t.Rows = append(t.Rows, []string{cell(tk.Title), cell(nameOf(names, tk.Owner)), fmtTime(tk.DoneAt),
				fmt.Sprintf("%d/%d", done, len(tk.Checklist))})
		}
		sec := report.Section{Heading: w[p]}
		if len(t.Rows) > 0 {
			sec.Tables = []report.Table{t}
		} else {
			sec.Paragraphs = []string{w["none"]}
		}
		actions.Sections = append(actions.Sections, sec)
	}
	doc.Sections = append(doc.Sections, actions)

	obs, err := s.store.Incidents().Observables(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	it := report.Table{Columns: []string{w["type"], w["value"], w["description"], w["first"], w["last"]}}
	for _, o := range obs {
		if o.IOC {
			it.Rows = append(it.Rows, []string{o.Type, cell(o.Value), cell(o.Description), fmtTime(o.FirstSeen), fmtTime(o.LastSeen)})
		}
	}
	iocs := report.Section{Heading: w["iocs"], Paragraphs: []string{w["none"]}}
	if len(it.Rows) > 0 {
		iocs = report.Section{Heading: w["iocs"], Tables: []report.Table{it}}
	}
	doc.Sections = append(doc.Sections, iocs)

	att := report.Section{Heading: w["attack"], Paragraphs: []string{w["none"]}}
	if len(c.Techniques) > 0 {
		t := report.Table{Columns: []string{w["technique"]}}
		for _, id := range c.Techniques {
			t.Rows = append(t.Rows, []string{cell(id)})
		}
		att = report.Section{Heading: w["attack"], Tables: []report.Table{t}}
	}
	doc.Sections = append(doc.Sections, att, report.Section{Heading: w["recommendations"], Paragraphs: written(SectionRecommendations)})

	st := report.Table{Columns: []string{w["timer"], w["due"], w["done"], w["state"]}}
	for _, t := range Timers(c, now) {
		if t.State == TimerOff {
			continue
		}
		st.Rows = append(st.Rows, []string{w[t.Name], fmtTime(t.Due), fmtTime(t.Done), t.State})
		e := report.EmphasisOK
		if t.State == TimerBreached {
			e = emphasisOf(c.Severity)
		}
		st.Emphasis = append(st.Emphasis, e)
	}
	if len(st.Rows) > 0 {
		doc.Sections = append(doc.Sections, report.Section{Heading: w["sla"], Tables: []report.Table{st}})
	}
	if err := doc.Validate(); err != nil {
		return nil, fmt.Errorf("incident report %s: %w", c.Ref, err)
	}
	return doc, nil
}

// userNames maps user IDs to display names for the report.
func (s *Service) userNames(ctx context.Context) map[string]string {
	us, err := s.store.Users().List(ctx)
	if err != nil {
		s.logger.Warn("incident report: users not listed", "err", err)
		return nil
	}
	m := make(map[string]string, len(us))
	for _, u := range us {
		n := u.DisplayName
		if n == "" {
			n = u.Username
		}
		m[u.ID] = n
	}
	return m
}

func nameOf(names map[string]string, id string) string {
	if n, ok := names[id]; ok {
		return n
	}
	return id
}
