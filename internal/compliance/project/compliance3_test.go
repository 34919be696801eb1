package project_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestNewProjectScopesEveryAsset: a new project starts with every asset of
// its tenant in scope, none of another tenant's, and the assessor can
// remove what is out.
func TestNewProjectScopesEveryAsset(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	tn := env.TenantA.ID
	db, err := env.Assets.Create(ctx, tn, asset.Input{Kind: "host", Name: "db-01", Address: "10.0.0.7", Importance: 4})
	if err != nil {
		t.Fatal(err)
	}
	all, err := env.Store.Assets().List(ctx, tn, store.AssetFilter{Page: store.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.Assessments.Create(ctx, tn, project.ProjectInput{Name: "默认范围", System: "OA", Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	scope, err := env.Assessments.Scope(ctx, tn, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(scope) != len(all) || len(all) < 2 {
		t.Fatalf("scope has %d assets, the tenant %d", len(scope), len(all))
	}
	for _, a := range scope {
		if a.TenantID != tn || a.ID == env.AssetB.ID {
			t.Fatalf("asset %s of tenant %s in scope", a.ID, a.TenantID)
		}
	}
	sum, err := env.Assessments.SummarizeScope(ctx, tn, scope)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.All || sum.InScope != len(all) || sum.TenantAssets != len(all) {
		t.Fatalf("summary %+v", sum)
	}
	if err := env.Assessments.SetScope(ctx, tn, p.ID, []string{db.ID}); err != nil {
		t.Fatal(err)
	}
	scope, err = env.Assessments.Scope(ctx, tn, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sum, err = env.Assessments.SummarizeScope(ctx, tn, scope); err != nil || sum.All || sum.InScope != 1 {
		t.Fatalf("after removing: %+v %v", sum, err)
	}
	// A tenant without assets: an empty scope.
	pb, err := env.Assessments.Create(ctx, env.TenantB.ID, project.ProjectInput{Name: "B", System: "B", Level: 2})
	if err != nil {
		t.Fatal(err)
	}
	scopeB, err := env.Assessments.Scope(ctx, env.TenantB.ID, pb.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range scopeB {
		if a.TenantID != env.TenantB.ID {
			t.Fatalf("tenant B's project covers %s of %s", a.ID, a.TenantID)
		}
	}
}

// TestEvidencePerObject attaches evidence to an item for one asset of the
// scope and reads the coverage per object.
func TestEvidencePerObject(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	tn := env.TenantA.ID
	db, err := env.Assets.Create(ctx, tn, asset.Input{Kind: "host", Name: "db-01", Address: "10.0.0.7", Importance: 4})
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.Assessments.Create(ctx, tn, project.ProjectInput{Name: "对象证据", System: "OA", Level: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []project.ItemInput{
		{Item: "L2-CES1-01", Result: "conform", Object: "db-01"},
		{Item: "L2-CES1-02", Result: "partial", Object: db.ID, Evidence: "配置截图"},
		{Item: "L2-CES1-03", Result: "na", Object: "db-01"},
		{Item: "L2-CES1-01", Result: "nonconform", Object: env.AssetA.Name},
	} {
		if _, err := env.Assessments.SetItem(ctx, tn, p.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	cover := func() map[string]project.ObjectCoverage {
		t.Helper()
		a, err := env.Assessments.Assess(ctx, tn, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		scope, err := env.Assessments.Scope(ctx, tn, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := env.Assessments.CoverageByObject(ctx, a, scope)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]project.ObjectCoverage{}
		for _, c := range cs {
			out[c.Asset.ID] = c
		}
		return out
	}
	// db-01: three results (one by ID), two counted, one with evidence text.
	c := cover()
	if got := c[db.ID]; got.Results != 3 || got.Counted != 2 || got.WithEvidence != 1 || got.Files != 0 {
		t.Fatalf("db-01 before a file: %+v", got)
	}
	if got := c[env.AssetA.ID]; got.Results != 1 || got.Counted != 1 || got.WithEvidence != 0 {
		t.Fatalf("asset A: %+v", got)
	}
	owner, err := env.Assessments.ObjectEvidenceOwner(ctx, tn, p.ID, "L2-CES1-01", db.ID)
	if err != nil {
		t.Fatal(err)
	}
	if owner.ID != p.ID+"/L2-CES1-01@"+db.ID || owner.Kind != project.EvidenceKind {
		t.Fatalf("owner %+v", owner)
	}
	if _, err := env.Attachments.Add(ctx, auth.PermAssessWrite, owner, attach.Input{Name: "截图.png", Content: bytes.NewReader([]byte("png"))}); err != nil {
		t.Fatal(err)
	}
	c = cover()
	if got := c[db.ID]; got.Counted != 2 || got.WithEvidence != 2 || got.Files != 1 || got.ItemFiles["L2-CES1-01"] != 1 || got.Percent != 100 {
		t.Fatalf("db-01 after a file: %+v", got)
	}
	// The file is db-01's, not asset A's, though both assessed L2-CES1-01.
	if got := c[env.AssetA.ID]; got.WithEvidence != 0 || got.Files != 0 {
		t.Fatalf("asset A after db-01's file: %+v", got)
	}
	// The project's overall coverage counts the file for its item.
	a, err := env.Assessments.Assess(ctx, tn, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	all, err := env.Assessments.Coverage(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if all.Files["L2-CES1-01"] != 1 {
		t.Fatalf("overall coverage files %v", all.Files)
	}
	// Not in scope, another tenant's asset, another tenant: not found.
	if err := env.Assessments.SetScope(ctx, tn, p.ID, []string{env.AssetA.ID}); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"out of scope": func() error {
			_, err := env.Assessments.ObjectEvidenceOwner(ctx, tn, p.ID, "L2-CES1-01", db.ID)
			return err
		},
		"other tenant's asset": func() error {
			_, err := env.Assessments.ObjectEvidenceOwner(ctx, tn, p.ID, "L2-CES1-01", env.AssetB.ID)
			return err
		},
		"other tenant": func() error {
			_, err := env.Assessments.ObjectEvidenceOwner(ctx, env.TenantB.ID, p.ID, "L2-CES1-01", env.AssetA.ID)
			return err
		},
		"no asset": func() error {
			_, err := env.Assessments.ObjectEvidenceOwner(ctx, tn, p.ID, "L2-CES1-01", "")
			return err
		},
	} {
		if err := call(); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
}
