package bizsys_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset/bizsys"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

func TestValidation(t *testing.T) {
	env := fixture.New(t)
	svc := bizsys.NewService(env.Store, env.Audit)
	ctx := env.AdminCtx(context.Background())
	b, err := svc.Create(ctx, env.TenantA.ID, bizsys.Input{Name: "  OA 办公系统 "})
	if err != nil {
		t.Fatal(err)
	}
	// Defaults: internal data, needs 3, not graded.
	if b.Name != "OA 办公系统" || b.DataSensitivity != "internal" || b.Confidentiality != 3 || b.Integrity != 3 ||
		b.Availability != 3 || b.MLPSLevel != 0 {
		t.Fatalf("defaults not applied: %+v", b)
	}
	bContact := store.Contact{TenantID: env.TenantB.ID, Kind: "customer", Name: "B person"}
	if err := env.Store.Contacts().Create(ctx, &bContact); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		in    bizsys.Input
		field string
	}{
		{bizsys.Input{}, "name"},
		{bizsys.Input{Name: strings.Repeat("名", bizsys.MaxNameLen+1)}, "name"},
		{bizsys.Input{Name: "a\nb"}, "name"},
		{bizsys.Input{Name: "x", Owner: strings.Repeat("o", bizsys.MaxOwnerLen+1)}, "owner"},
		{bizsys.Input{Name: "x", MLPSLevel: 6}, "mlps_level"},
		{bizsys.Input{Name: "x", MLPSLevel: -1}, "mlps_level"},
		{bizsys.Input{Name: "x", DataSensitivity: "top"}, "data_sensitivity"},
		{bizsys.Input{Name: "x", Confidentiality: 6}, "confidentiality"},
		{bizsys.Input{Name: "x", Integrity: -2}, "integrity"},
		{bizsys.Input{Name: "x", Availability: 9}, "availability"},
		{bizsys.Input{Name: "x", ContactID: bContact.ID}, "contact"}, // another tenant's contact
		{bizsys.Input{Name: "x", ContactID: "no-such-contact"}, "contact"},
	}
	for _, c := range bad {
		_, err := svc.Create(ctx, env.TenantA.ID, c.in)
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%+v: got %v, want a field error on %s", c.in, err, c.field)
		}
	}
	if _, err := svc.Create(ctx, env.TenantA.ID, bizsys.Input{Name: "OA 办公系统"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate name: %v, want ErrConflict", err)
	}
}

func TestLifecycleAuditAndAuthz(t *testing.T) {
	env := fixture.New(t)
	svc := bizsys.NewService(env.Store, env.Audit)
	bg := context.Background()
	admin := env.AdminCtx(bg)
	analyst := env.As(bg, env.AnalystA)
	contact := store.Contact{TenantID: env.TenantA.ID, Kind: "customer", Name: "App owner"}
	if err := env.Store.Contacts().Create(admin, &contact); err != nil {
		t.Fatal(err)
	}
	in := bizsys.Input{Name: "ERP", Owner: "Finance", ContactID: contact.ID, MLPSLevel: 3, DataSensitivity: "confidential",
		Confidentiality: 4, Integrity: 3, Availability: 2}
	if _, err := svc.Create(analyst, env.TenantA.ID, in); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst created a system: %v", err)
	}
	b, err := svc.Create(admin, env.TenantA.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	// The analyst may read A but not B.
	if _, err := svc.List(analyst, env.TenantA.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.List(analyst, env.TenantB.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst listed B: %v", err)
	}
	if err := svc.AddMember(analyst, env.TenantA.ID, b.ID, env.AssetA.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst added a member: %v", err)
	}
	// B's asset cannot join A's system.
	var fe *store.FieldError
	if err := svc.AddMember(admin, env.TenantA.ID, b.ID, env.AssetB.ID); !errors.As(err, &fe) || fe.Code != store.CodeNotInTenant {
		t.Fatalf("B's asset joined A's system: %v", err)
	}
	if err := svc.AddMember(admin, env.TenantA.ID, b.ID, env.AssetA.ID); err != nil {
		t.Fatal(err)
	}
	members, err := svc.Members(analyst, env.TenantA.ID, b.ID)
	if err != nil || len(members) != 1 || members[0].ID != env.AssetA.ID {
		t.Fatalf("members = %v, %v", members, err)
	}
	// The asset page's view: ERP implies 4 (confidential data, MLPS 3).
	systems, eff, err := svc.SystemsOf(analyst, env.TenantA.ID, env.AssetA)
	if err != nil || len(systems) != 1 {
		t.Fatalf("SystemsOf = %v, %v", systems, err)
	}
	if want := max(env.AssetA.Importance, 4); eff.Importance != want {
		t.Fatalf("effective importance = %d, want %d", eff.Importance, want)
	}

	// Optimistic update: an edit from version 1 after another edit conflicts.
	in.Version = 1
	in.Owner = "Ops"
	if b, err = svc.Update(admin, env.TenantA.ID, b.ID, in); err != nil || b.Version != 2 {
		t.Fatalf("update: %+v, %v", b, err)
	}
	if _, err := svc.Update(admin, env.TenantA.ID, b.ID, in); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	if _, err := svc.Update(admin, env.TenantB.ID, b.ID, in); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update through B: %v, want ErrNotFound", err)
	}
	if err := svc.RemoveMember(admin, env.TenantA.ID, b.ID, env.AssetA.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(analyst, env.TenantA.ID, b.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst deleted: %v", err)
	}
	if err := svc.Delete(admin, env.TenantA.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	entries, err := env.Store.Audit().List(bg, store.AuditFilter{TenantID: env.TenantA.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "bizsys.") {
			actions = append(actions, e.Action)
		}
	}
	want := []string{"bizsys.delete", "bizsys.member.remove", "bizsys.update", "bizsys.member.add", "bizsys.create"}
	if strings.Join(actions, ",") != strings.Join(want, ",") {
		t.Fatalf("audit actions = %v, want %v", actions, want)
	}
}
