package api

import (
	"net/http"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/asset/bizsys"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestAssetListEffectiveImportance lists assets with their effective
// importance and filters on it: an asset of importance 1 in a system
// holding secret data is listed with 5 and kept by
// min_effective_importance=5, while the own-importance filter drops it.
func TestAssetListEffectiveImportance(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/acme"
	ctx := h.env.AdminCtx(t.Context())
	low, err := h.env.Assets.Create(ctx, h.env.TenantA.ID, asset.Input{Kind: "host", Name: "vault-db", Address: "10.0.0.8", Importance: 1})
	if err != nil {
		t.Fatal(err)
	}
	var b BusinessSystem
	h.want(http.StatusCreated, pst, base+"/systems", h.adminA, BusinessSystemInput{Name: "Vault", DataSensitivity: "secret",
		Confidentiality: 1, Integrity: 1, Availability: 1}, &b)
	h.want(http.StatusNoContent, put, base+"/systems/"+b.ID+"/members/"+low.ID, h.adminA, nil, nil)
	sys, err := h.env.Store.BusinessSystems().Get(ctx, h.env.TenantA.ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := bizsys.EffectiveImportance(low.Importance, []store.BusinessSystem{sys}).Importance

	var l AssetList
	h.want(http.StatusOK, get, base+"/assets", h.analystA, nil, &l)
	for _, a := range l.Items {
		exp := a.Importance
		if a.ID == low.ID {
			exp = want
		}
		if a.EffectiveImportance != exp {
			t.Errorf("asset %s: effective %d, want %d", a.Name, a.EffectiveImportance, exp)
		}
	}
	h.want(http.StatusOK, get, base+"/assets?min_effective_importance=5", h.analystA, nil, &l)
	found := false
	for _, a := range l.Items {
		found = found || a.ID == low.ID
		if a.EffectiveImportance < 5 {
			t.Errorf("min_effective_importance=5 kept %s (%d)", a.Name, a.EffectiveImportance)
		}
	}
	if !found || l.Total != len(l.Items) {
		t.Errorf("min_effective_importance=5: %+v", l)
	}
	h.want(http.StatusOK, get, base+"/assets?min_importance=5", h.analystA, nil, &l)
	for _, a := range l.Items {
		if a.ID == low.ID {
			t.Error("min_importance=5 kept an asset only its system raises")
		}
	}
	h.want(http.StatusUnprocessableEntity, get, base+"/assets?min_effective_importance=9", h.analystA, nil, nil)
}
