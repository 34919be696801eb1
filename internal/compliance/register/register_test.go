package register_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/register"
	"github.com/vigil-sec/vigil/internal/compliance/risk"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

func fieldOf(err error) string {
	var fe *store.FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func entry(t *testing.T, r *register.Register, scenario string) risk.Entry {
	t.Helper()
	for _, e := range r.Result.Register {
		if e.Scenario.ID == scenario {
			return e
		}
	}
	t.Fatalf("no risk %s in the register", scenario)
	return risk.Entry{}
}

// buildRegister enters the worked example below through the service.
//
//	A1 网上营业厅 business, importance 4
//	A2 营业厅应用服务器 system under A1, C 4 I 3 A 2: value 4
//	T1 外部攻击者 frequency 4; T2 勒索软件 frequency 5
//	V1 弱口令 on A2, severity 4 (manual)
//	V2 from a critical finding on A2: severity 5
//	V3 未加密备份 on A2, severity 5 (manual)
//	S1 = T1×V1: L = √16 = 4, F = √16 = 4, R = 16 → 高
//	S2 = T1×V2: L = √20 ≈ 4.47, F = √20 ≈ 4.47, R = 20 → 高
//	S3 = T2×V3: L = √25 = 5, F = √20 ≈ 4.47, R = 22.36 → 22 → 很高
//
// An effective preventive control on V1 lowers its likelihood side to 3:
// L = √12 ≈ 3.46, F = 4, R = 13.86 → 14 → 中.
func buildRegister(t *testing.T, env *fixture.Env, ctx context.Context) (string, *register.Register) {
	t.Helper()
	svc := env.Assessments.Register()
	tn := env.TenantA.ID
	ra := must[store.RiskAssessment](t)(svc.CreateRisk(ctx, tn, "2026 风险评估", ""))
	if ra.Method != "formula" {
		t.Fatalf("default method %q", ra.Method)
	}
	id := ra.ID
	m := must[*register.Register](t)
	m(svc.AddAsset(ctx, tn, id, 0, risk.Asset{Name: "网上营业厅", Tier: risk.TierBusiness, Importance: 4}))
	m(svc.AddAsset(ctx, tn, id, 0, risk.Asset{Name: "营业厅应用服务器", Tier: risk.TierSystem, Parent: "A1", C: 4, I: 3, A: 2}))
	m(svc.AddThreat(ctx, tn, id, 0, risk.Threat{Name: "外部攻击者", Source: "人为", Frequency: 4}))
	m(svc.AddThreat(ctx, tn, id, 0, risk.Threat{Name: "勒索软件", Frequency: 5}))
	m(svc.AddVulnerability(ctx, tn, id, 0, risk.Vulnerability{Name: "弱口令", Asset: "A2", Severity: 4}))
	now := time.Now().UTC()
	if err := env.Store.Vulns().Import(ctx, store.VulnImport{Scan: &store.VulnScan{TenantID: tn, Scanner: "nuclei"},
		Findings: []store.VulnFinding{{Fingerprint: "rce", AssetKey: "10.0.0.5", Scanner: "nuclei", RuleID: "rce", Title: "Apache Struts RCE",
			Severity: "critical", DueAt: now.Add(72 * time.Hour)}}, Initial: "new", Reopened: "reopened", At: now}); err != nil {
		t.Fatal(err)
	}
	fs, err := env.Store.Vulns().List(ctx, tn, store.VulnFilter{Query: "rce"})
	if err != nil || len(fs) != 1 {
		t.Fatalf("finding %v %v", fs, err)
	}
	r := m(svc.AddFinding(ctx, tn, id, 0, "A2", fs[0].ID))
	if v := r.Input.Vulnerabilities[1]; v.ID != "V2" || v.Severity != 5 || v.Source != "finding:"+fs[0].ID || v.Name != "Apache Struts RCE" {
		t.Fatalf("vulnerability from the finding: %+v", v)
	}
	if _, err := svc.AddFinding(ctx, tn, id, 0, "A2", fs[0].ID); fieldOf(err) != "finding" {
		t.Fatalf("the same finding twice: %v", err)
	}
	m(svc.AddVulnerability(ctx, tn, id, 0, risk.Vulnerability{Name: "未加密备份", Asset: "A2", Severity: 5}))
	m(svc.AddScenario(ctx, tn, id, 0, risk.Scenario{Threat: "T1", Vulnerability: "V1"}))
	m(svc.AddScenario(ctx, tn, id, 0, risk.Scenario{Threat: "T1", Vulnerability: "V2"}))
	r = m(svc.AddScenario(ctx, tn, id, 0, risk.Scenario{Threat: "T2", Vulnerability: "V3"}))
	return id, r
}

// TestRiskRegisterWorkedExample builds the register through the service
// and checks the risks worked out by hand (see buildRegister), the
// treatment decisions, the heat map and the report.
func TestRiskRegisterWorkedExample(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	svc := env.Assessments.Register()
	tn := env.TenantA.ID
	id, r := buildRegister(t, env, ctx)
	for _, c := range []struct {
		id   string
		l, f float64
		r    int
		lv   risk.Level
	}{{"S1", 4, 4, 16, risk.High}, {"S2", math.Sqrt(20), math.Sqrt(20), 20, risk.High}, {"S3", 5, math.Sqrt(20), 22, risk.VeryHigh}} {
		e := entry(t, r, c.id)
		if math.Abs(e.Eval.Likelihood-c.l) > 1e-9 || math.Abs(e.Eval.Loss-c.f) > 1e-9 || e.Eval.R != c.r || e.Eval.Level != c.lv {
			t.Errorf("%s: L %.3f F %.3f R %d %s, want %.3f %.3f %d %s", c.id, e.Eval.Likelihood, e.Eval.Loss, e.Eval.R, e.Eval.Level, c.l, c.f, c.r, c.lv)
		}
	}
	if r.High() != 3 || r.Result.Business[0].R != 22 {
		t.Errorf("high risks %d, business roll-up %d; want 3 and 22", r.High(), r.Result.Business[0].R)
	}
	// Heat map: S1 at L4 F4, S2 at L4 F4 (4.47 rounds to 4), S3 at L5 F4.
	if r.Result.HeatMap[3][3] != 2 || r.Result.HeatMap[4][3] != 1 {
		t.Errorf("heat map %v", r.Result.HeatMap)
	}

	// An existing preventive control on V1: S1 becomes 中 (R 14).
	r = must[*register.Register](t)(svc.AddControl(ctx, tn, id, 0, "V1", risk.Control{Name: "登录失败锁定", Kind: risk.Preventive, Effective: true}))
	if e := entry(t, r, "S1"); e.Eval.R != 14 || e.Eval.Level != risk.Medium {
		t.Errorf("S1 with a preventive control: R %d %s, want 14 中", e.Eval.R, e.Eval.Level)
	}

	// Treatment decisions.
	due := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	must[*register.Register](t)(svc.Decide(ctx, tn, id, 0, risk.Decision{Scenario: "S2", Treatment: risk.Accept, Owner: "李四"}))
	must[*register.Register](t)(svc.Decide(ctx, tn, id, 0, risk.Decision{Scenario: "S3", Treatment: risk.Transfer, Owner: "赵六"}))
	r = must[*register.Register](t)(svc.Decide(ctx, tn, id, 0, risk.Decision{Scenario: "S3", Treatment: risk.Reduce, Owner: "王五", Due: due,
		Measure: "备份加密并异地存放"}))
	if d := entry(t, r, "S3").Decision; d == nil || d.Treatment != risk.Reduce || d.Owner != "王五" || !d.Due.Equal(due) || len(r.Input.Decisions) != 2 {
		t.Errorf("S3 decision %+v (decisions %d)", d, len(r.Input.Decisions))
	}

	// Bad input stores nothing.
	before := must[*register.Register](t)(svc.Risk(ctx, tn, id))
	for name, f := range map[string]func() error{
		"unknown treatment": func() error {
			_, err := svc.Decide(ctx, tn, id, 0, risk.Decision{Scenario: "S1", Treatment: "ignore"})
			return err
		},
		"unknown scenario": func() error {
			_, err := svc.Decide(ctx, tn, id, 0, risk.Decision{Scenario: "S9", Treatment: risk.Reduce})
			return err
		},
		"C out of range": func() error {
			_, err := svc.AddAsset(ctx, tn, id, 0, risk.Asset{Name: "x", Tier: risk.TierSystem, C: 6, I: 1, A: 1})
			return err
		},
		"vulnerability on a business asset": func() error {
			_, err := svc.AddVulnerability(ctx, tn, id, 0, risk.Vulnerability{Name: "x", Asset: "A1", Severity: 3})
			return err
		},
		"scenario with an unknown threat": func() error {
			_, err := svc.AddScenario(ctx, tn, id, 0, risk.Scenario{Threat: "T9", Vulnerability: "V1"})
			return err
		},
		"control kind": func() error {
			_, err := svc.AddControl(ctx, tn, id, 0, "V1", risk.Control{Name: "x", Kind: "magic"})
			return err
		},
		"name with a newline": func() error {
			_, err := svc.AddThreat(ctx, tn, id, 0, risk.Threat{Name: "a\nb", Frequency: 2})
			return err
		},
		"stale version": func() error {
			_, err := svc.AddThreat(ctx, tn, id, 1, risk.Threat{Name: "x", Frequency: 2})
			if errors.Is(err, store.ErrConflict) {
				return store.NewFieldError("version", store.CodeOneOf, nil, "stale")
			}
			return err
		},
		"bad YAML": func() error {
			_, err := svc.Import(ctx, tn, id, 0, []byte("assets: [{id: A1, tier: nowhere}]"))
			return err
		},
	} {
		if err := f(); fieldOf(err) == "" {
			t.Errorf("%s: %v, want a field error", name, err)
		}
	}
	after := must[*register.Register](t)(svc.Risk(ctx, tn, id))
	if after.Meta.Version != before.Meta.Version {
		t.Errorf("refused changes moved the version from %d to %d", before.Meta.Version, after.Meta.Version)
	}

	// The report lists every risk with its treatment.
	for _, lang := range []string{"zh-CN", "en"} {
		doc := must[*report.Document](t)(svc.RiskReport(ctx, env.TenantA, id, lang))
		if err := doc.Validate(); err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		if err := report.RenderHTML(ctx, doc, &sb, report.Options{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(sb.String(), "备份加密并异地存放") || !strings.Contains(sb.String(), "Apache Struts RCE") {
			t.Errorf("%s report misses the register", lang)
		}
	}

	// Import replaces the input; the assessment keeps its name.
	yml := "name: other\nassets:\n  - {id: B, name: 办公网, tier: business, importance: 3}\n  - {id: S, name: 邮件服务器, tier: system, parent: B, c: 3, i: 3, a: 3}\n" +
		"threats:\n  - {id: T, name: 钓鱼, frequency: 3}\nvulnerabilities:\n  - {id: V, name: 无邮件过滤, asset: S, severity: 3}\n" +
		"scenarios:\n  - {id: X, threat: T, vulnerability: V}\n"
	r = must[*register.Register](t)(svc.Import(ctx, tn, id, 0, []byte(yml)))
	// L = √9 = 3, F = √9 = 3, R = 9 → 低.
	if e := entry(t, r, "X"); e.Eval.R != 9 || e.Eval.Level != risk.Low || r.Meta.Name != "2026 风险评估" || len(r.Result.Register) != 1 {
		t.Errorf("imported: R %d %s, name %q", e.Eval.R, e.Eval.Level, r.Meta.Name)
	}

	// Tenants and permissions.
	if _, err := svc.Risk(ctx, env.TenantB.ID, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant B reads A's register: %v", err)
	}
	if _, err := svc.Risk(env.As(t.Context(), env.CustomerB), tn, id); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("a customer of B reads A's register: %v", err)
	}
	if _, err := svc.CreateRisk(ctx, tn, "2026 风险评估", "formula"); fieldOf(err) != "name" {
		t.Errorf("a second assessment with the same name: %v", err)
	}
	if _, err := svc.CreateRisk(ctx, tn, "m", "dice"); fieldOf(err) != "method" {
		t.Errorf("an unknown method: %v", err)
	}
}

// TestRemediationFromRisks raises the high risks not accepted, tracks one
// through a work order and two re-verifications, and checks the
// verification report's before and after.
func TestRemediationFromRisks(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	svc := env.Assessments.Register()
	tn := env.TenantA.ID
	id, _ := buildRegister(t, env, ctx)
	due := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	must[*register.Register](t)(svc.Decide(ctx, tn, id, 0, risk.Decision{Scenario: "S2", Treatment: risk.Accept, Owner: "李四"}))
	must[*register.Register](t)(svc.Decide(ctx, tn, id, 0, risk.Decision{Scenario: "S3", Treatment: risk.Reduce, Owner: "王五", Due: due}))
	// S1 (高, undecided) and S3 (很高, reduce) are raised; S2 is accepted.
	if n, err := svc.RaiseFromRisks(ctx, tn, id); err != nil || n != 2 {
		t.Fatalf("raised %d, %v; want 2", n, err)
	}
	if n, err := svc.RaiseFromRisks(ctx, tn, id); err != nil || n != 0 {
		t.Fatalf("raised again %d, %v; want 0", n, err)
	}
	its := must[[]store.RemediationItem](t)(svc.Remediations(ctx, tn, store.RemediationFilter{SourceID: id}))
	var s3 store.RemediationItem
	for _, it := range its {
		if it.SourceRef == "S3" {
			s3 = it
		}
	}
	if s3.ID == "" || s3.Level != "很高" || s3.Owner != "王五" || !s3.Due.Equal(due) || s3.State != store.RemediationOpen {
		t.Fatalf("S3 item %+v", s3)
	}

	// A failed re-verification of an open item leaves it open.
	v1 := must[store.RemediationVerification](t)(svc.Verify(ctx, tn, s3.ID, register.VerifyInput{After: "高", Note: "仅部分备份已加密"}))
	if v1.Before != "很高" || v1.Passed {
		t.Fatalf("first verification %+v", v1)
	}
	it, _ := mustItem(t, svc, ctx, tn, s3.ID)
	if it.State != store.RemediationOpen {
		t.Fatalf("state after a failed verification %q", it.State)
	}
	// A work order carries the fix.
	it, o, err := svc.OpenWorkOrder(ctx, tn, s3.ID, env.Ops)
	if err != nil {
		t.Fatal(err)
	}
	if it.WorkOrderID != o.ID || it.State != store.RemediationProgress || o.SourceRef != "remediation:"+s3.ID || o.Type != "remediation" {
		t.Fatalf("work order %+v for %+v", o.Order, it)
	}
	if _, _, err := svc.OpenWorkOrder(ctx, tn, s3.ID, env.Ops); fieldOf(err) != "work_order" {
		t.Fatalf("a second work order: %v", err)
	}
	v2 := must[store.RemediationVerification](t)(svc.Verify(ctx, tn, s3.ID, register.VerifyInput{After: "低", Passed: true}))
	if v2.Before != "高" {
		t.Fatalf("second verification before %q, want the first one's after", v2.Before)
	}
	it, vs := mustItem(t, svc, ctx, tn, s3.ID)
	if it.State != store.RemediationVerified || len(vs) != 2 {
		t.Fatalf("after a passing verification: %q with %d verifications", it.State, len(vs))
	}

	// A person may not mark an item verified, and a stale copy is refused.
	if _, err := svc.UpdateRemediation(ctx, tn, s3.ID, 0, register.RemediationUpdate{State: store.RemediationVerified}); fieldOf(err) != "state" {
		t.Errorf("verified by hand: %v", err)
	}
	if _, err := svc.UpdateRemediation(ctx, tn, s3.ID, 1, register.RemediationUpdate{State: store.RemediationClosed}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("stale update: %v", err)
	}
	if _, err := svc.Verify(ctx, tn, s3.ID, register.VerifyInput{After: " "}); fieldOf(err) != "after" {
		t.Errorf("a verification without a result: %v", err)
	}
	if _, err := svc.Verify(ctx, env.TenantB.ID, s3.ID, register.VerifyInput{After: "低"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant B verifies A's item: %v", err)
	}

	// The report: one item verified in the period, from 很高 to 低, passed;
	// S1 still open.
	from, to := time.Now().UTC().Add(-time.Hour), time.Now().UTC().Add(time.Hour)
	doc := must[*report.Document](t)(svc.VerificationReport(ctx, env.TenantA, from, to, "zh-CN"))
	if err := doc.Validate(); err != nil {
		t.Fatal(err)
	}
	tbl := doc.Sections[0].Tables[0]
	if len(tbl.Rows) != 1 || tbl.Rows[0][2] != "很高" || tbl.Rows[0][3] != "低" || tbl.Rows[0][4] != "通过" {
		t.Fatalf("before/after rows %v", tbl.Rows)
	}
	if len(doc.Sections) != 2 || len(doc.Sections[1].Tables[0].Rows) != 1 || !strings.Contains(doc.Sections[1].Tables[0].Rows[0][1], "S1") {
		t.Fatalf("open items %+v", doc.Sections)
	}
	empty := must[*report.Document](t)(svc.VerificationReport(ctx, env.TenantA, from.Add(-48*time.Hour), from.Add(-24*time.Hour), "en"))
	if empty.Summary[0].Value != "0" || len(empty.Sections[0].Tables) != 0 {
		t.Fatalf("a period without verifications: %+v", empty.Summary)
	}
}

func mustItem(t *testing.T, svc *register.Service, ctx context.Context, tn, id string) (store.RemediationItem, []store.RemediationVerification) {
	t.Helper()
	it, vs, err := svc.Remediation(ctx, tn, id)
	if err != nil {
		t.Fatal(err)
	}
	return it, vs
}
