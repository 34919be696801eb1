package api

import (
	"net/http"
	"testing"
)

func TestBusinessSystems(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/acme/systems"
	in := BusinessSystemInput{Name: "ERP <b>", Owner: "Finance", MLPSLevel: 3, DataSensitivity: "confidential",
		Confidentiality: 2, Integrity: 2, Availability: 2}
	// The analyst reads but may not write; the customer of B does not see A.
	h.want(http.StatusForbidden, pst, base, h.analystA, in, nil)
	h.want(http.StatusNotFound, get, base, h.customer, nil, nil)
	var b BusinessSystem
	h.want(http.StatusCreated, pst, base, h.adminA, in, &b)
	// Worked out by hand: needs 2, confidential and MLPS 3 both raise to 4.
	if b.Name != "ERP <b>" || b.Version != 1 || b.Importance != 4 || b.Members != 0 {
		t.Fatalf("created %+v", b)
	}
	h.want(http.StatusConflict, pst, base, h.adminA, in, nil)
	p := h.wantProblem(http.StatusUnprocessableEntity, pst, base, h.adminA, BusinessSystemInput{Name: "x", DataSensitivity: "top"})
	if len(p.Errors) == 0 {
		t.Fatalf("problem %+v", p)
	}
	var l BusinessSystemList
	h.want(http.StatusOK, get, base, h.analystA, nil, &l)
	if len(l.Items) != 1 || l.Items[0].ID != b.ID {
		t.Fatalf("list %+v", l)
	}

	asset := h.env.AssetA.ID
	h.want(http.StatusForbidden, put, base+"/"+b.ID+"/members/"+asset, h.analystA, nil, nil)
	h.want(http.StatusNoContent, put, base+"/"+b.ID+"/members/"+asset, h.adminA, nil, nil)
	h.want(http.StatusNoContent, put, base+"/"+b.ID+"/members/"+asset, h.adminA, nil, nil)
	h.want(http.StatusUnprocessableEntity, put, base+"/"+b.ID+"/members/"+h.env.AssetB.ID, h.adminA, nil, nil)
	var members AssetList
	h.want(http.StatusOK, get, base+"/"+b.ID+"/members", h.analystA, nil, &members)
	if len(members.Items) != 1 || members.Items[0].ID != asset {
		t.Fatalf("members %+v", members)
	}
	var as AssetSystems
	h.want(http.StatusOK, get, "/api/v1/tenants/acme/assets/"+asset+"/systems", h.analystA, nil, &as)
	if len(as.Systems) != 1 || as.EffectiveImportance != max(as.OwnImportance, 4) {
		t.Fatalf("asset systems %+v", as)
	}

	// Optimistic update: version 1 succeeds once, then is stale.
	upd := in
	upd.Version, upd.Owner = 1, "Ops"
	h.want(http.StatusOK, put, base+"/"+b.ID, h.adminA, upd, &b)
	if b.Version != 2 || b.Owner != "Ops" {
		t.Fatalf("updated %+v", b)
	}
	h.want(http.StatusConflict, put, base+"/"+b.ID, h.adminA, upd, nil)

	h.want(http.StatusNoContent, del, base+"/"+b.ID+"/members/"+asset, h.adminA, nil, nil)
	h.want(http.StatusNotFound, del, base+"/"+b.ID+"/members/"+asset, h.adminA, nil, nil)
	h.want(http.StatusNoContent, del, base+"/"+b.ID, h.adminA, nil, nil)
	h.want(http.StatusNotFound, get, base+"/"+b.ID, h.adminA, nil, nil)
}
