package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/asset/bizsys"
	"github.com/vigil-sec/vigil/internal/campaign/manager"
)

// TestKeyPeriodSystemSelector opens a key-period campaign from the form
// with a business system chosen: the form offers the tenant's systems
// (not another tenant's), the campaign's scope names the system and its
// targets are exactly the system's members plus the asset chosen
// directly; a system of another tenant is refused; too many systems are
// refused before anything is stored.
func TestKeyPeriodSystemSelector(t *testing.T) {
	t.Parallel()
	var campaigns *manager.Service
	ui := newTestUI(t, func(o *Options) {
		svc, err := manager.NewService(o.Store, o.Audit, manager.Options{Archive: o.Archive})
		if err != nil {
			t.Fatal(err)
		}
		o.Campaigns, campaigns = svc, svc
	})
	ctx := ui.AdminCtx(context.Background())
	mk := func(tenant, name, addr string) string {
		a, err := ui.Assets.Create(ctx, tenant, asset.Input{Kind: "host", Name: name, Address: addr})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	web, db, lone, other := mk(ui.TenantA.ID, "erp-web", "10.0.0.1"), mk(ui.TenantA.ID, "erp-db", "10.0.0.2"),
		mk(ui.TenantA.ID, "mail", "10.0.0.3"), mk(ui.TenantA.ID, "printer", "10.0.0.4")
	systems := bizsys.NewService(ui.Store, ui.Audit)
	erp, err := systems.Create(ctx, ui.TenantA.ID, bizsys.Input{Name: "ERP <b>", DataSensitivity: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{web, db} {
		if err := systems.AddMember(ctx, ui.TenantA.ID, erp.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	foreign, err := systems.Create(ctx, ui.TenantB.ID, bizsys.Input{Name: "Beta OA"})
	if err != nil {
		t.Fatal(err)
	}

	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/operations/key-period"
	list := admin.get(base)
	wantStatus(t, list, http.StatusOK)
	if !strings.Contains(list.body, `name="systems"`) || !strings.Contains(list.body, `<option value="`+erp.ID+`">ERP &lt;b&gt;</option>`) {
		t.Fatal("the form offers no business system selector with the tenant's system")
	}
	if strings.Contains(list.body, foreign.ID) {
		t.Fatal("the form offers another tenant's system")
	}

	r := admin.post(base, url.Values{"period": {"national-day-2027"}, "assets": {lone}, "systems": {erp.ID}})
	wantRedirect(t, r, base+"/")
	m := campaignLinkRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirected to %s", r.Header.Get("Location"))
	}
	l, err := campaigns.Get(ctx, ui.TenantA.ID, m[1])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(l.Campaign.Scope.Systems, []string{erp.ID}) {
		t.Errorf("scope systems %v, want [%s]", l.Campaign.Scope.Systems, erp.ID)
	}
	var got []string
	for _, tg := range l.Campaign.Targets {
		got = append(got, tg.AssetID)
	}
	want := []string{web, db, lone}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("targets %v, want the system's members and the chosen asset %v (not %s)", got, want, other)
	}

	if r := admin.post(base, url.Values{"period": {"national-day-2027"}, "systems": {foreign.ID}}); r.StatusCode < 400 || r.StatusCode >= 500 {
		t.Errorf("another tenant's system: %d", r.StatusCode)
	}
	many := make([]string, maxScopeSystems+1)
	for i := range many {
		many[i] = erp.ID
	}
	if r := admin.post(base, url.Values{"period": {"national-day-2027"}, "systems": many}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("%d systems: %d, want 422", len(many), r.StatusCode)
	}
	if r := admin.post(base, url.Values{"period": {"national-day-2027"}, "systems": {erp.ID}, csrfField: {"forged"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("forged CSRF token: %d", r.StatusCode)
	}
}
