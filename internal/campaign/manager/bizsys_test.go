package manager

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/asset/bizsys"
	"github.com/vigil-sec/vigil/internal/campaign/keyperiod"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestKeyPeriodScopeSystems checks that a campaign scoped by business
// systems targets their member assets (each once, together with the
// explicit assets) and records the systems, and that another tenant's
// system is refused.
func TestKeyPeriodScopeSystems(t *testing.T) {
	env := fixture.New(t)
	ctx := env.AdminCtx(context.Background())
	cal, err := keyperiod.DefaultCalendar()
	if err != nil {
		t.Fatal(err)
	}
	p, err := cal.Period("national-day-2027")
	if err != nil {
		t.Fatal(err)
	}
	start := p.Start.Add(-p.LeadTime - 24*time.Hour)
	svc, err := NewService(env.Store, env.Audit, Options{Now: func() time.Time { return start }})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name, addr string) store.Asset {
		t.Helper()
		a, err := env.Assets.Create(ctx, env.TenantA.ID, asset.Input{Kind: "host", Name: name, Address: addr})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	web, db, lone, other := mk("web", "192.0.2.10"), mk("db", "192.0.2.11"), mk("lone", "192.0.2.12"), mk("other", "192.0.2.13")
	systems := bizsys.NewService(env.Store, env.Audit)
	erp, err := systems.Create(ctx, env.TenantA.ID, bizsys.Input{Name: "ERP"})
	if err != nil {
		t.Fatal(err)
	}
	crm, err := systems.Create(ctx, env.TenantA.ID, bizsys.Input{Name: "CRM"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range [][2]string{{erp.ID, web.ID}, {erp.ID, db.ID}, {crm.ID, db.ID}} {
		if err := systems.AddMember(ctx, env.TenantA.ID, m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	l, err := svc.CreateKeyPeriod(ctx, env.TenantA.ID, KeyPeriodInput{PeriodID: p.ID, AssetIDs: []string{lone.ID},
		Systems: []string{erp.ID, crm.ID, erp.ID}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range l.Campaign.Targets {
		got = append(got, tg.AssetID)
	}
	slices.Sort(got)
	want := []string{web.ID, db.ID, lone.ID}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("targets = %v, want %v (not %s)", got, want, other.ID)
	}
	if !slices.Equal(l.Campaign.Scope.Systems, []string{erp.ID, crm.ID}) {
		t.Fatalf("scope systems = %v", l.Campaign.Scope.Systems)
	}

	// A system of another tenant is refused, not silently ignored.
	bSys, err := systems.Create(ctx, env.TenantB.ID, bizsys.Input{Name: "B"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.CreateKeyPeriod(ctx, env.TenantA.ID, KeyPeriodInput{PeriodID: p.ID, Systems: []string{bSys.ID}})
	var fe *store.FieldError
	if !errors.As(err, &fe) || fe.Field != "systems" || fe.Code != store.CodeNotInTenant {
		t.Fatalf("another tenant's system: %v", err)
	}
}
