package project_test

import (
	"fmt"
	"testing"

	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/fixture"
)

// BenchmarkAssess reads and scores a level-3 project with every item
// assessed on four objects (844 results) from SQLite.
func BenchmarkAssess(b *testing.B) {
	env := fixture.New(b)
	ctx := env.AdminCtx(b.Context())
	p, err := env.Assessments.Create(ctx, env.TenantA.ID, project.ProjectInput{Name: "bench", System: "s", Level: 3})
	if err != nil {
		b.Fatal(err)
	}
	fw, err := env.Assessments.Framework(p)
	if err != nil {
		b.Fatal(err)
	}
	results := []string{"符合", "部分符合", "不符合", "不适用"}
	for i, n := range fw.Requirements() {
		for o := range 4 {
			in := project.ItemInput{Item: n.ID, Object: fmt.Sprintf("host-%d", o), Result: results[(i+o)%4], Evidence: "截图与配置导出"}
			if _, err := env.Assessments.SetItem(ctx, env.TenantA.ID, p.ID, in); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		a, err := env.Assessments.Assess(ctx, env.TenantA.ID, p.ID)
		if err != nil || len(a.Items) != 4*len(fw.Requirements()) {
			b.Fatalf("%v", err)
		}
	}
}
