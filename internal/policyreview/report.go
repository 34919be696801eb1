package policyreview

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// words are the report's fixed texts in its two languages.
var words = map[string]map[string]string{
	"en": {
		"title": "Firewall policy optimisation report", "rules_before": "Rules before", "rules_after": "Rules after",
		"findings": "Findings", "changes": "Proposed changes", "equivalent": "Same decisions after the changes",
		"yes": "yes, proven for every packet", "no": "no", "na": "no proposal", "overview": "Overview",
		"overview_text": "Configuration %q (%s, IPv%d, SHA-256 %s) analysed exactly: every rule's match space is computed as a set of packets, so a shadowed or redundant rule is proven, not guessed.",
		"chains":        "Rules per chain before and after", "chain": "Chain", "policy": "Default action", "before": "Before", "after": "After",
		"by_kind": "Findings by kind", "kind": "Kind", "count": "Count", "line": "Line", "rule": "Rule", "reason": "Reason",
		"plan": "Optimisation work plan", "step": "Step", "observations": "Protection and audit settings", "severity": "Severity",
		"proof": "Equivalence proof", "proof_ok": "The optimised rule set was compared with the original over every packet: no packet's decision differs.",
		"proof_diff": "The optimised rule set decides some packets differently; see the differences below and do not apply it unreviewed.",
		"accepted":   "Plan accepted on %s.", "not_accepted": "The plan has not been accepted yet.", "none": "None.",
		"device": "Device", "optimised": "Optimised rule set",
	},
	"zh-CN": {
		"title": "防火墙安全策略优化报告", "rules_before": "优化前规则数", "rules_after": "优化后规则数",
		"findings": "发现", "changes": "建议变更", "equivalent": "变更后处理结果不变",
		"yes": "是，已对全部报文证明", "no": "否", "na": "无优化建议", "overview": "概述",
		"overview_text": "配置“%s”（%s，IPv%d，SHA-256 %s）经精确分析：每条规则的匹配空间按报文集合计算，因此被遮蔽、冗余的结论是证明而非推测。",
		"chains":        "各规则链优化前后的规则数", "chain": "规则链", "policy": "默认动作", "before": "优化前", "after": "优化后",
		"by_kind": "按类别统计的发现", "kind": "类别", "count": "数量", "line": "行号", "rule": "规则", "reason": "原因",
		"plan": "优化实施计划", "step": "步骤", "observations": "防护与审计设置", "severity": "严重程度",
		"proof": "等价性证明", "proof_ok": "已将优化后的规则集与原规则集在全部报文上比较：没有任何报文的处理结果不同。",
		"proof_diff": "优化后的规则集对部分报文的处理不同；请查看下方差异，未经评审不要实施。",
		"accepted":   "优化方案已于 %s 确认。", "not_accepted": "优化方案尚未确认。", "none": "无。",
		"device": "设备", "optimised": "优化后的规则集",
	},
}

// kindWords name finding kinds in reports; unknown kinds are shown as
// they are.
var kindWords = map[string]map[string]string{
	"en": {policy.KindShadowed: "Shadowed", policy.KindRedundant: "Redundant", policy.KindOverBroad: "Over-broad",
		policy.KindNotModeled: "Not analysed", "conflict": "Conflicting overlap", "unused": "Unused", "stale": "Stale",
		"missing": "Missing policy", "violation": "Policy violation", "logging-disabled": "Logging disabled",
		"no-security-profile": "No security profile"},
	"zh-CN": {policy.KindShadowed: "被遮蔽", policy.KindRedundant: "冗余", policy.KindOverBroad: "过宽",
		policy.KindNotModeled: "未分析", "conflict": "冲突重叠", "unused": "未使用", "stale": "过期",
		"missing": "缺失的策略", "violation": "违反策略", "logging-disabled": "未开启日志",
		"no-security-profile": "未挂安全配置文件"},
}

func kindWord(lang, k string) string {
	if w, ok := kindWords[lang][k]; ok {
		return w
	}
	return k
}

func severityOf(kind string) string {
	switch kind {
	case policy.KindOverBroad, "violation", "missing":
		return report.EmphasisHigh
	case policy.KindShadowed, "conflict", "no-security-profile", "logging-disabled":
		return report.EmphasisMedium
	case policy.KindRedundant, "unused", "stale":
		return report.EmphasisLow
	}
	return report.EmphasisInfo
}

// ReportDocument builds the before/after report of one review.
func (s *Service) ReportDocument(ctx context.Context, tenant store.Tenant, id, lang string) (*report.Document, store.PolicyReview, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenant.ID); err != nil {
		return nil, store.PolicyReview{}, err
	}
	rev, res, err := s.Get(ctx, tenant.ID, id)
	if err != nil {
		return nil, store.PolicyReview{}, err
	}
	if _, ok := words[lang]; !ok {
		lang = "en"
	}
	w := words[lang]
	after, equiv := "—", w["na"]
	if p := res.Proposal; p != nil {
		n := 0
		for _, c := range p.RulesAfter {
			n += c
		}
		after = strconv.Itoa(n)
		equiv = w["no"]
		if p.Equivalent {
			equiv = w["yes"]
		}
	}
	doc := &report.Document{Title: w["title"], Subtitle: rev.Name, Tenant: tenant.Name, Lang: lang,
		Classification: "TLP:AMBER",
		Summary: []report.KeyFigure{
			{Label: w["rules_before"], Value: strconv.Itoa(res.Rules)},
			{Label: w["rules_after"], Value: after},
			{Label: w["findings"], Value: strconv.Itoa(len(res.Findings))},
			{Label: w["equivalent"], Value: equiv},
		}}
	overview := report.Section{Heading: w["overview"], Paragraphs: []string{
		fmt.Sprintf(w["overview_text"], rev.Name, rev.Format, rev.Family, rev.ConfigSHA256)}}
	if res.Hostname != "" {
		overview.Figures = append(overview.Figures, report.KeyFigure{Label: w["device"], Value: res.Hostname})
	}
	if rev.Accepted {
		overview.Paragraphs = append(overview.Paragraphs, fmt.Sprintf(w["accepted"], rev.AcceptedAt.UTC().Format("2006-01-02")))
	} else {
		overview.Paragraphs = append(overview.Paragraphs, w["not_accepted"])
	}
	chains := report.Table{Columns: []string{w["chain"], w["policy"], w["before"], w["after"]}}
	for _, c := range res.Chains {
		a := "—"
		if res.Proposal != nil {
			a = strconv.Itoa(res.Proposal.RulesAfter[c.Name])
		}
		chains.Rows = append(chains.Rows, []string{c.Name, c.Policy, strconv.Itoa(c.Rules), a})
	}
	overview.Tables = append(overview.Tables, chains)
	doc.Sections = append(doc.Sections, overview)

	kinds := make([]string, 0, len(res.ByKind))
	for k := range res.ByKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	byKind := report.Table{Columns: []string{w["kind"], w["count"]}}
	chart := report.Chart{Kind: report.ChartBar, Title: w["by_kind"], Series: []report.Series{{Name: w["count"]}}}
	for _, k := range kinds {
		byKind.Rows = append(byKind.Rows, []string{kindWord(lang, k), strconv.Itoa(res.ByKind[k])})
		byKind.Emphasis = append(byKind.Emphasis, severityOf(k))
		chart.Labels = append(chart.Labels, kindWord(lang, k))
		chart.Series[0].Values = append(chart.Series[0].Values, float64(res.ByKind[k]))
	}
	findings := report.Section{Heading: w["by_kind"], Tables: []report.Table{byKind}}
	if len(kinds) > 0 {
		findings.Charts = []report.Chart{chart}
	} else {
		findings.Paragraphs = []string{w["none"]}
		findings.Tables = nil
	}
	for _, k := range kinds {
		t := report.Table{Caption: kindWord(lang, k), Columns: []string{w["line"], w["chain"], w["rule"], w["reason"]}}
		for _, f := range res.Findings {
			if f.Kind == k {
				t.Rows = append(t.Rows, []string{strconv.Itoa(f.Line), f.Chain, f.Rule, f.Reason})
				t.Emphasis = append(t.Emphasis, severityOf(k))
			}
		}
		findings.Sections = append(findings.Sections, report.Section{Heading: kindWord(lang, k), Tables: []report.Table{t}})
	}
	doc.Sections = append(doc.Sections, findings)

	if p := res.Proposal; p != nil {
		plan := report.Section{Heading: w["plan"]}
		t := report.Table{Columns: []string{w["step"], w["chain"], w["line"], w["rule"], w["kind"], w["reason"]}}
		for i, c := range p.Changes {
			t.Rows = append(t.Rows, []string{strconv.Itoa(i + 1), c.Chain, strconv.Itoa(c.Line), c.Rule, kindWord(lang, c.Kind), c.Reason})
		}
		if len(t.Rows) > 0 {
			plan.Tables = []report.Table{t}
		} else {
			plan.Paragraphs = []string{w["none"]}
		}
		proof := report.Section{Heading: w["proof"], Paragraphs: []string{w["proof_ok"]}}
		if !p.Equivalent {
			proof.Paragraphs = []string{w["proof_diff"]}
		}
		plan.Sections = append(plan.Sections, proof)
		if p.Optimised != "" {
			plan.Sections = append(plan.Sections, report.Section{Heading: w["optimised"], Paragraphs: []string{p.Optimised}})
		}
		doc.Sections = append(doc.Sections, plan)
	}
	if len(res.Observations) > 0 {
		t := report.Table{Columns: []string{w["line"], w["kind"], w["severity"], w["reason"]}}
		for _, o := range res.Observations {
			t.Rows = append(t.Rows, []string{strconv.Itoa(o.Line), kindWord(lang, o.Kind), o.Severity, o.Reason})
		}
		doc.Sections = append(doc.Sections, report.Section{Heading: w["observations"], Tables: []report.Table{t}})
	}
	return doc, rev, nil
}
