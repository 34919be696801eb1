package api

import (
	"net/http"
	"testing"
)

// TestAssessments opens an MLPS level-3 project over the API, records two
// results of real requirement ids, reads the score back, and checks the
// permissions: an analyst may read but not write, another tenant's
// customer sees nothing.
func TestAssessments(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/" + h.env.TenantA.Slug + "/assessments"
	var p Assessment
	h.want(http.StatusCreated, http.MethodPost, base, h.adminA, map[string]any{"name": "2026 等保测评", "system": "网上营业厅", "level": 3}, &p)
	if p.Phase != "preparation" || p.Framework == "" {
		t.Fatalf("created %+v", p)
	}
	h.want(http.StatusForbidden, http.MethodPost, base, h.analystA, map[string]any{"name": "x", "system": "y", "level": 3}, nil)
	h.want(http.StatusNotFound, http.MethodGet, base+"/"+p.ID, h.customer, nil, nil)
	var it AssessmentItem
	h.want(http.StatusOK, http.MethodPut, base+"/"+p.ID+"/items", h.adminA, map[string]any{"item": "L3-CES1-01", "result": "符合",
		"evidence": "机房门禁记录"}, &it)
	if it.Result == "" || it.Item != "L3-CES1-01" {
		t.Fatalf("item %+v", it)
	}
	h.want(http.StatusUnprocessableEntity, http.MethodPut, base+"/"+p.ID+"/items", h.adminA, map[string]any{"item": "NO-SUCH-ITEM", "result": "符合"}, nil)
	var got Assessment
	h.want(http.StatusOK, http.MethodGet, base+"/"+p.ID, h.analystA, nil, &got)
	if got.Recorded != 1 || got.Score == nil || got.Conclusion == "" {
		t.Fatalf("assessed %+v", got)
	}
	var items []AssessmentItem
	h.want(http.StatusOK, http.MethodGet, base+"/"+p.ID+"/items", h.analystA, nil, &items)
	if len(items) != 1 || items[0].Evidence != "机房门禁记录" {
		t.Fatalf("items %+v", items)
	}
	var moved Assessment
	h.want(http.StatusOK, http.MethodPost, base+"/"+p.ID+"/phase", h.adminA, map[string]any{"phase": "plan", "version": p.Version}, &moved)
	if moved.Phase != "plan" {
		t.Fatalf("moved %+v", moved)
	}
	h.want(http.StatusConflict, http.MethodPost, base+"/"+p.ID+"/phase", h.adminA, map[string]any{"phase": "onsite", "version": p.Version}, nil)
}
