// Package tenant owns the organisations a SOC serves and what belongs to
// them at the platform level: users and their roles, teams, contacts, the
// contracted service catalogue with service levels, and API tokens. Every
// change goes through a Service method that checks permission, validates,
// stores and writes the audit log.
package tenant

import "slices"

// Offering is one service of the catalogue.
type Offering struct {
	Code string
	// Area groups offerings: "compliance" or "operations".
	Area   string
	NameEN string
	NameZH string
	// DefaultReport is the usual report frequency.
	DefaultReport string
}

// Catalogue lists every service Vigil supports, in display order: the four
// compliance services and the sixteen operations services.
func Catalogue() []Offering {
	return []Offering{
		{"mlps", "compliance", "MLPS 2.0 assessment", "等级保护测评", "per-engagement"},
		{"risk-assessment", "compliance", "Risk assessment", "风险评估", "per-engagement"},
		{"remediation", "compliance", "Remediation tracking", "整改跟踪", "monthly"},
		{"compliance-inspection", "compliance", "Compliance inspection", "合规检查", "quarterly"},
		{"asset-discovery", "operations", "Internet asset discovery", "互联网资产发现", "monthly"},
		{"baseline", "operations", "Baseline assessment and hardening", "安全基线评估加固", "quarterly"},
		{"ops-audit", "operations", "Ops management and security audit", "运维管理与安全审计", "monthly"},
		{"golive-check", "operations", "Go-live security check", "系统上线安全检查", "per-engagement"},
		{"event-analysis", "operations", "Security event analysis", "安全事件分析", "weekly"},
		{"drill", "operations", "Attack-defence drill", "攻防演练", "per-engagement"},
		{"incident-response", "operations", "Incident response", "安全应急响应处置", "per-engagement"},
		{"traffic-analysis", "operations", "Traffic risk analysis", "安全流量风险分析", "monthly"},
		{"app-compromise", "operations", "Application compromise detection", "应用失陷检测", "monthly"},
		{"monitoring", "operations", "7x24 monitoring", "全事件及态势检测", "weekly"},
		{"policy-optimisation", "operations", "Security policy optimisation", "安全策略优化", "quarterly"},
		{"device-om", "operations", "Security device O&M", "安全产品运行维护", "monthly"},
		{"threat-intel", "operations", "Threat intelligence early warning", "威胁情报预警", "weekly"},
		{"vuln-lifecycle", "operations", "Vulnerability lifecycle", "漏洞生命周期管理", "monthly"},
		{"key-period", "operations", "Key-period security campaign", "重点时期安全检查", "daily"},
		{"bulletins", "operations", "Security bulletins and urgent notices", "重大事件安全通告", "weekly"},
	}
}

// Offer returns the catalogue entry for code.
func Offer(code string) (Offering, bool) {
	i := slices.IndexFunc(Catalogue(), func(o Offering) bool { return o.Code == code })
	if i < 0 {
		return Offering{}, false
	}
	return Catalogue()[i], true
}

// ReportFrequencies are the accepted report frequencies.
func ReportFrequencies() []string {
	return []string{"daily", "weekly", "monthly", "quarterly", "yearly", "per-engagement"}
}

// ContactKinds are the accepted contact kinds.
func ContactKinds() []string {
	return []string{"security-owner", "ops", "app-contact", "vendor-support", "management", "other"}
}
