package project_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// docExample is a scoring-example block of docs/compliance.md.
type docExample struct {
	Name       string                  `yaml:"name"`
	Thresholds *compliance.Thresholds  `yaml:"thresholds"`
	Results    []compliance.ItemResult `yaml:"results"`
	Expect     struct {
		Overall    float64               `yaml:"overall"`
		Conclusion compliance.Conclusion `yaml:"conclusion"`
		HighRisks  int                   `yaml:"high_risks"`
		Categories map[string]float64    `yaml:"categories"`
	} `yaml:"expect"`
}

var blockRE = regexp.MustCompile("(?s)```yaml scoring-example\n(.*?)```")

func docExamples(t *testing.T) []docExample {
	t.Helper()
	b, err := os.ReadFile("../../../docs/compliance.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []docExample
	for _, m := range blockRE.FindAllSubmatch(b, -1) {
		var ex docExample
		if err := yaml.Unmarshal(m[1], &ex); err != nil {
			t.Fatal(err)
		}
		out = append(out, ex)
	}
	if len(out) == 0 {
		t.Fatal("no scoring examples in docs/compliance.md")
	}
	return out
}

// TestScoreDocExamples records the worked examples of docs/compliance.md
// through the service and checks the stored project scores as the document
// says. A project scores with the framework's weights and the default
// thresholds, so examples that set other weights or thresholds are skipped.
func TestScoreDocExamples(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	cat, err := compliance.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	fw := cat.Framework("mlps2-l3")
	replayed := 0
	for _, ex := range docExamples(t) {
		usable := ex.Thresholds == nil
		for _, r := range ex.Results {
			if n := fw.Node(r.Item); n == nil || r.Weight != 0 && r.Weight != n.EffectiveWeight() {
				usable = false
			}
		}
		if !usable {
			continue
		}
		replayed++
		p, err := env.Assessments.Create(ctx, env.TenantA.ID, project.ProjectInput{Name: ex.Name, System: "网上营业厅", Level: 3})
		if err != nil {
			t.Fatal(err)
		}
		if p.Framework != "mlps2-l3" || p.Phase != project.PhasePreparation {
			t.Fatalf("created %+v", p)
		}
		for _, r := range ex.Results {
			in := project.ItemInput{Item: r.Item, Result: string(r.Result), HighRisk: r.HighRisk, Resolved: r.Resolved}
			if r.Compensation != nil {
				in.Compensation, in.Adjustment = r.Compensation.Measure, r.Compensation.Adjustment
			}
			if _, err := env.Assessments.SetItem(ctx, env.TenantA.ID, p.ID, in); err != nil {
				t.Fatalf("%s: %s: %v", ex.Name, r.Item, err)
			}
		}
		a, err := env.Assessments.Assess(ctx, env.TenantA.ID, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Card.Overall != ex.Expect.Overall || a.Card.Conclusion != ex.Expect.Conclusion || len(a.Card.HighRisks) != ex.Expect.HighRisks {
			t.Errorf("%s: %.2f %s with %d high risks, the document says %.2f %s with %d", ex.Name, a.Card.Overall, a.Card.Conclusion,
				len(a.Card.HighRisks), ex.Expect.Overall, ex.Expect.Conclusion, ex.Expect.HighRisks)
		}
		for _, g := range a.Card.Categories {
			if want, ok := ex.Expect.Categories[g.ID]; ok && math.Abs(g.Score-want) > 1e-9 {
				t.Errorf("%s: category %s %.2f, the document says %.2f", ex.Name, g.ID, g.Score, want)
			}
		}
	}
	if replayed < 2 {
		t.Fatalf("only %d examples use the framework's weights", replayed)
	}
}

func fieldOf(err error) string {
	var fe *store.FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

// TestProjectRules checks validation, phases, permissions and the tenant
// scope.
func TestProjectRules(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	admin := env.AdminCtx(t.Context())
	a := env.TenantA.ID
	for _, tc := range []struct {
		in    project.ProjectInput
		field string
	}{
		{project.ProjectInput{Name: "", System: "s", Level: 3}, "name"},
		{project.ProjectInput{Name: "n", System: "", Level: 3}, "system"},
		{project.ProjectInput{Name: "n", System: "s", Level: 4}, "level"},
		{project.ProjectInput{Name: "n\x00", System: "s", Level: 2}, "name"},
		{project.ProjectInput{Name: strings.Repeat("名", project.MaxName+1), System: "s", Level: 2}, "name"},
	} {
		if _, err := env.Assessments.Create(admin, a, tc.in); fieldOf(err) != tc.field {
			t.Errorf("%+v: %v, want an error on %s", tc.in, err, tc.field)
		}
	}
	p, err := env.Assessments.Create(admin, a, project.ProjectInput{Name: "二级", System: "OA", Level: 2, Agency: "测评中心"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Framework != "mlps2-l2" {
		t.Errorf("level 2 framework %q", p.Framework)
	}
	if _, err := env.Assessments.Create(admin, a, project.ProjectInput{Name: "二级", System: "OA", Level: 2}); fieldOf(err) != "name" {
		t.Errorf("duplicate name: %v", err)
	}
	for _, tc := range []struct {
		in    project.ItemInput
		field string
	}{
		{project.ItemInput{Item: "L3-CES1-01", Result: "符合"}, "item"}, // a level-3 item in a level-2 project
		{project.ItemInput{Item: "L2-CES1-C01", Result: "符合"}, "item"},
		{project.ItemInput{Item: "L2-CES1-01", Result: "maybe"}, "result"},
		{project.ItemInput{Item: "L2-CES1-01", Result: "na", Adjustment: 2, Compensation: "x"}, "adjustment"},
		{project.ItemInput{Item: "L2-CES1-01", Result: "na", Links: []string{"javascript:alert(1)"}}, "links"},
		{project.ItemInput{Item: "L2-CES1-01", Result: "na", Links: []string{"//evil.example/x"}}, "links"},
		{project.ItemInput{Item: "L2-CES1-01", Result: "na", Object: "a\nb"}, "object"},
	} {
		if _, err := env.Assessments.SetItem(admin, a, p.ID, tc.in); fieldOf(err) != tc.field {
			t.Errorf("%+v: %v, want an error on %s", tc.in, err, tc.field)
		}
	}
	it, err := env.Assessments.SetItem(admin, a, p.ID, project.ItemInput{Item: "L2-CES1-01", Object: "db-01", Result: "部分符合",
		Links: []string{"/t/a/reports/1", "https://wiki.test/x", "/t/a/reports/1"}})
	if err != nil {
		t.Fatal(err)
	}
	if it.Result != store.ItemPartial || len(it.Links) != 2 || it.Assessor != env.Admin.ID {
		t.Errorf("stored %+v", it)
	}

	// Phases: only known ones; a stale version is refused.
	if _, err := env.Assessments.SetPhase(admin, a, p.ID, "finished", p.Version); fieldOf(err) != "phase" {
		t.Errorf("unknown phase: %v", err)
	}
	moved, err := env.Assessments.SetPhase(admin, a, p.ID, project.PhaseOnsite, p.Version)
	if err != nil || moved.Phase != project.PhaseOnsite {
		t.Fatalf("phase: %+v %v", moved, err)
	}
	if _, err := env.Assessments.SetPhase(admin, a, p.ID, project.PhaseReport, p.Version); !errors.Is(err, store.ErrConflict) {
		t.Errorf("stale phase change: %v", err)
	}

	// The analyst reads but does not write; tenant B's customer does neither.
	analyst := env.As(t.Context(), env.AnalystA)
	if _, err := env.Assessments.Get(analyst, a, p.ID); err != nil {
		t.Errorf("analyst read: %v", err)
	}
	if _, err := env.Assessments.SetItem(analyst, a, p.ID, project.ItemInput{Item: "L2-CES1-01", Result: "符合"}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("analyst write: %v", err)
	}
	cust := env.As(t.Context(), env.CustomerB)
	if _, err := env.Assessments.Get(cust, a, p.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("customer of B: %v", err)
	}
	if _, err := env.Assessments.Get(admin, env.TenantB.ID, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("project through tenant B: %v", err)
	}
	entries, err := env.Store.Audit().List(t.Context(), store.AuditFilter{TenantID: a, Action: "assessment.item"})
	if err != nil || len(entries) != 1 {
		t.Errorf("audit of item changes: %d entries, %v", len(entries), err)
	}
}

// TestXLSXRoundTrip exports a project's items, imports the workbook into
// another project and gets the same results and score.
func TestXLSXRoundTrip(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	a := env.TenantA.ID
	src, err := env.Assessments.Create(ctx, a, project.ProjectInput{Name: "src", System: "s", Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []project.ItemInput{
		{Item: "L3-CES1-01", Object: "db-01", Result: "符合", Evidence: "口令复杂度已启用"},
		{Item: "L3-CES1-02", Object: "db-01", Result: "不符合", HighRisk: true, Note: "未配置登录失败处理", Remediation: "配置锁定"},
		{Item: "L3-CES1-03", Result: "部分符合", Compensation: "运维专网", Adjustment: 0.25},
		{Item: "L3-PES1-01", Result: "不适用"},
	} {
		if _, err := env.Assessments.SetItem(ctx, a, src.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := env.Assessments.ExportXLSX(ctx, a, src.ID, &buf); err != nil {
		t.Fatal(err)
	}
	dst, err := env.Assessments.Create(ctx, a, project.ProjectInput{Name: "dst", System: "s", Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	n, err := env.Assessments.ImportXLSX(ctx, a, dst.ID, bytes.NewReader(buf.Bytes()))
	if err != nil || n != 4 {
		t.Fatalf("import: %d results, %v", n, err)
	}
	want, err := env.Assessments.Assess(ctx, a, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := env.Assessments.Assess(ctx, a, dst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Card.Overall != want.Card.Overall || got.Card.Conclusion != want.Card.Conclusion || len(got.Items) != len(want.Items) {
		t.Errorf("imported %.2f %s (%d items), exported %.2f %s (%d items)", got.Card.Overall, got.Card.Conclusion, len(got.Items),
			want.Card.Overall, want.Card.Conclusion, len(want.Items))
	}
	for i := range want.Items {
		w, g := want.Items[i], got.Items[i]
		if w.Item != g.Item || w.Object != g.Object || w.Result != g.Result || w.HighRisk != g.HighRisk || w.Evidence != g.Evidence ||
			w.Note != g.Note || w.Compensation != g.Compensation || w.Adjustment != g.Adjustment {
			t.Errorf("item %d: exported %+v, imported %+v", i, w, g)
		}
	}
	// A workbook of another level is refused with the row number.
	l2, err := env.Assessments.Create(ctx, a, project.ProjectInput{Name: "l2", System: "s", Level: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Assessments.ImportXLSX(ctx, a, l2.ID, bytes.NewReader(buf.Bytes())); fieldOf(err) != "file" ||
		!strings.Contains(err.Error(), "row ") {
		t.Errorf("level-3 workbook into a level-2 project: %v", err)
	}
	if _, err := env.Assessments.ImportXLSX(ctx, a, l2.ID, strings.NewReader("not a workbook")); fieldOf(err) != "file" {
		t.Errorf("garbage: %v", err)
	}
}
