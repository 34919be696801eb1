package reportcentre

import (
	"context"

	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/compromise"
	"github.com/vigil-sec/vigil/internal/device/om"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/ops"
	"github.com/vigil-sec/vigil/internal/policyreview"
	"github.com/vigil-sec/vigil/internal/posture"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic/risk"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// Services are the services whose reports the standard catalogue holds;
// a nil service leaves its reports out.
type Services struct {
	Posture    *posture.Service
	Vulns      *lifecycle.Service
	Exposure   *exposure.Service
	Reviews    *policyreview.Service
	Compromise *compromise.Service
	Incidents  *incident.Service
	// Assessments are MLPS assessment projects.
	Assessments *project.Service
	// Baseline is the baseline service (runs, compliance, hardening).
	Baseline *hardening.Service
	// Intel, when set, is the store the threat-intelligence report reads
	// (its intel alerts, live and retro-hunt).
	Intel store.Store
	// Traffic holds the traffic risk analyses.
	Traffic *risk.Service
	// Devices is security device O&M (the monthly O&M report).
	Devices *om.Service
	// Ops runs work orders and the ops audit (the ops audit report).
	Ops *ops.Service
}

// AllFormats are the formats every standard report comes in.
func AllFormats() []report.Format {
	return []report.Format{report.FormatHTML, report.FormatPDF, report.FormatXLSX}
}

// RegisterStandard registers the reports of Vigil's services.
func (c *Centre) RegisterStandard(s Services) error {
	type build = func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error)
	var kinds []Kind
	add := func(ok bool, k Kind, b build) {
		if ok {
			k.Formats, k.Build = AllFormats(), b
			kinds = append(kinds, k)
		}
	}
	add(s.Posture != nil, Kind{Code: "monitoring", Service: "monitoring", NameEN: "Security monitoring report", NameZH: "安全监测报告",
		Periodic: true}, func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error) {
		return s.Posture.MonitoringReport(ctx, t, p.From, p.To, p.Lang)
	})
	add(s.Vulns != nil, Kind{Code: "vulnerabilities", Service: "vuln-lifecycle", NameEN: "Vulnerability report", NameZH: "漏洞报告",
		Periodic: true}, func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error) {
		return s.Vulns.ReportDocument(ctx, t, p.Lang)
	})
	add(s.Exposure != nil, Kind{Code: "exposure", Service: "asset-discovery", NameEN: "Internet asset discovery report",
		NameZH: "互联网资产发现报告", Source: "discovery-run"}, func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error) {
		return s.Exposure.ReportDocument(ctx, t, p.SourceID, p.Lang)
	})
	add(s.Reviews != nil, Kind{Code: "policy-review", Service: "policy-optimisation", NameEN: "Security policy optimisation report",
		NameZH: "安全策略优化报告", Source: "policy-review"}, func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error) {
		doc, _, err := s.Reviews.ReportDocument(ctx, t, p.SourceID, p.Lang)
		return doc, err
	})
	add(s.Compromise != nil, Kind{Code: "app-compromise", Service: "app-compromise", NameEN: "Application compromise report",
		NameZH: "应用失陷检测报告", Source: "weblog-run"}, func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error) {
		return s.Compromise.ReportDocument(ctx, t, p.SourceID, p.Lang)
	})
	add(s.Incidents != nil, Kind{Code: "incident", Service: "incident-response", NameEN: "Incident response report",
		NameZH: "网络安全事件应急响应报告", Source: "incident"}, func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error) {
		return s.Incidents.Report(ctx, t.ID, p.SourceID, p.Lang)
	})
	add(s.Assessments != nil, Kind{Code: "mlps-assessment", Service: "mlps", NameEN: "MLPS 2.0 assessment report",
		NameZH: "网络安全等级保护测评报告", Source: "mlps-project"}, func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error) {
		return s.Assessments.Report(ctx, t.ID, p.SourceID, p.Lang)
	})
	add(s.Assessments != nil, Kind{Code: "risk-assessment", Service: "risk-assessment", NameEN: "Risk assessment report", NameZH: "风险评估报告",
		Source: "risk-assessment"}, func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error) {
		return s.Assessments.Register().RiskReport(ctx, t, p.SourceID, p.Lang)
	})
	add(s.Assessments != nil, Kind{Code: "remediation-verification", Service: "remediation", NameEN: "Remediation verification report",
		NameZH: "整改复核报告", Periodic: true}, func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error) {
		return s.Assessments.Register().VerificationReport(ctx, t, p.From, p.To, p.Lang)
	})
	add(s.Intel != nil, Kind{Code: "threat-intel", Service: "threat-intel", NameEN: "Threat intelligence report",
		NameZH: "威胁情报报告", Periodic: true}, func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error) {
		return hunt.Report(ctx, s.Intel, hunt.ReportInput{Tenant: t, From: p.From, To: p.To, Lang: p.Lang})
	})
	add(s.Baseline != nil, Kind{Code: "baseline", Service: "baseline", NameEN: "Security baseline assessment report",
		NameZH: "安全基线评估报告", Periodic: true}, func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error) {
		return s.Baseline.ReportDocument(ctx, t, p.Lang)
	})
	add(s.Traffic != nil, Kind{Code: "traffic-analysis", Service: "traffic-analysis", NameEN: "Traffic risk report",
		NameZH: "流量风险分析报告", Periodic: true}, func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error) {
		return s.Traffic.ReportDocument(ctx, t, p.From, p.To, p.Lang)
	})
	add(s.Devices != nil, Kind{Code: "device-om", Service: "device-om", NameEN: "Security device O&M report",
		NameZH: "安全产品运行维护报告", Periodic: true}, func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error) {
		return s.Devices.MonthlyReport(ctx, t, p.From, p.To, p.Lang)
	})
	add(s.Ops != nil, Kind{Code: "ops-audit", Service: "ops-audit", NameEN: "Ops audit report", NameZH: "运维审计报告",
		Periodic: true}, func(ctx context.Context, t store.Tenant, p Params) (*report.Document, error) {
		return s.Ops.ReportDocument(ctx, t.ID, p.From, p.To, p.Lang)
	})
	for _, k := range kinds {
		if err := c.Register(k); err != nil {
			return err
		}
	}
	return nil
}
