package project_test

import (
	"bytes"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/fixture"
)

// TestXLSXShowsAssetNames: the item sheet shows a bound object by the
// asset's name with its address and ID in their own columns (read back
// with excelize), a typed object as typed; re-importing the sheet binds
// the results to the same asset even after the name cell was edited.
func TestXLSXShowsAssetNames(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	a := env.TenantA.ID
	src, err := env.Assessments.Create(ctx, a, project.ProjectInput{Name: "src", System: "s", Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []project.ItemInput{
		{Item: "L3-CES1-01", Asset: env.AssetA.ID, Result: "符合"},
		{Item: "L3-CES1-02", Object: "机房", Result: "不符合"},
	} {
		if _, err := env.Assessments.SetItem(ctx, a, src.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := env.Assessments.ExportXLSX(ctx, a, src.ID, &buf); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows("Items")
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	obj, addr, id := col["测评对象 Object"], col["对象地址 Object address"], col["资产ID Asset ID"]
	if addr == 0 || id == 0 {
		t.Fatalf("headers %q", rows[0])
	}
	get := func(r []string, i int) string {
		if i < len(r) {
			return r[i]
		}
		return ""
	}
	found := map[string][]string{}
	for _, r := range rows[1:] {
		if get(r, 5) != "" {
			found[r[0]] = []string{get(r, obj), get(r, addr), get(r, id)}
		}
	}
	if g := found["L3-CES1-01"]; len(g) != 3 || g[0] != env.AssetA.Name || g[1] != env.AssetA.Address || g[2] != env.AssetA.ID {
		t.Errorf("bound object shown as %q, want %q %q %q", g, env.AssetA.Name, env.AssetA.Address, env.AssetA.ID)
	}
	if g := found["L3-CES1-02"]; len(g) != 3 || g[0] != "机房" || g[1] != "" || g[2] != "" {
		t.Errorf("typed object shown as %q", g)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	// Round trip, with the bound row's name cell edited: the ID wins.
	f, err = excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if r[0] == "L3-CES1-01" && get(r, 5) != "" {
			cellName, _ := excelize.CoordinatesToCellName(obj+1, i+1)
			if err := f.SetCellValue("Items", cellName, "renamed-in-the-sheet"); err != nil {
				t.Fatal(err)
			}
		}
	}
	var edited bytes.Buffer
	if err := f.Write(&edited); err != nil {
		t.Fatal(err)
	}
	dst, err := env.Assessments.Create(ctx, a, project.ProjectInput{Name: "dst", System: "s", Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := env.Assessments.ImportXLSX(ctx, a, dst.ID, &edited); err != nil || n != 2 {
		t.Fatalf("import: %d, %v", n, err)
	}
	got, err := env.Assessments.Assess(ctx, a, dst.ID)
	if err != nil {
		t.Fatal(err)
	}
	objects := map[string]string{}
	for _, it := range got.Items {
		objects[it.Item] = it.Object
	}
	if objects["L3-CES1-01"] != env.AssetA.ID || objects["L3-CES1-02"] != "机房" {
		t.Errorf("imported objects %v, want %s and 机房", objects, env.AssetA.ID)
	}
}
