package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/asset/bizsys"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestAssetListEffectiveImportance shows each asset's effective importance
// in the list and filters on it: an asset of importance 1 in an MLPS
// level 4 system is listed as critical and kept by "at least critical",
// while one of importance 4 outside any system is not.
func TestAssetListEffectiveImportance(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	ctx := ui.AdminCtx(context.Background())
	low, err := ui.Assets.Create(ctx, ui.TenantA.ID, asset.Input{Kind: "host", Name: "graded-db", Address: "10.0.0.9", Importance: 1})
	if err != nil {
		t.Fatal(err)
	}
	systems := bizsys.NewService(ui.Store, ui.Audit)
	sys, err := systems.Create(ctx, ui.TenantA.ID, bizsys.Input{Name: "Billing", MLPSLevel: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := systems.AddMember(ctx, ui.TenantA.ID, sys.ID, low.ID); err != nil {
		t.Fatal(err)
	}
	want := bizsys.EffectiveImportance(low.Importance, []store.BusinessSystem{sys}).Importance
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/assets"

	all := admin.get(base)
	wantStatus(t, all, http.StatusOK)
	row := rowOf(t, all.body, low.ID)
	if !strings.Contains(row, `class="effective"><span class="imp imp-`+strconv.Itoa(want)+`"`) {
		t.Errorf("row of %s does not show effective importance %d:\n%s", low.Name, want, row)
	}
	crit := admin.get(base + "?min_eff=" + strconv.Itoa(want))
	wantStatus(t, crit, http.StatusOK)
	if !strings.Contains(crit.body, low.ID) || strings.Contains(crit.body, ui.AssetA.ID) {
		t.Errorf("min_eff=%d: want %s listed and %s (own %d, no system) not", want, low.Name, ui.AssetA.Name, ui.AssetA.Importance)
	}
	own := admin.get(base + "?min=" + strconv.Itoa(want))
	if strings.Contains(own.body, low.ID) {
		t.Error("the own-importance filter kept an asset only its system raises")
	}
	// Out-of-range values are ignored, not errors.
	wantStatus(t, admin.get(base+"?min_eff=9"), http.StatusOK)
}

// rowOf returns the table row of the list that links to asset id.
func rowOf(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, "/"+id+`"`)
	if i < 0 {
		t.Fatalf("asset %s not listed", id)
	}
	start := strings.LastIndex(body[:i], "<tr>")
	end := strings.Index(body[i:], "</tr>")
	return body[start : i+end]
}
