package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// TestDrillAcrossTenantsAPI: a drill a regulator's tenant runs over two
// customers. Each customer's token sees only the records against its own
// assets (through the drill, its records and its suggestions) and cannot
// reach the other's; the organiser sees both and deletes a record, which a
// customer may not.
func TestDrillAcrossTenantsAPI(t *testing.T) {
	h := drillHarness(t)
	env := h.env
	reg, err := env.Tenants.CreateTenant(env.AdminCtx(context.Background()), tenant.TenantInput{Slug: "regulator", Name: "Regulator"})
	if err != nil {
		t.Fatal(err)
	}
	expertA := h.token(env.TenantA.ID, auth.RoleExpert)
	expertB := h.token(env.TenantB.ID, auth.RoleExpert)
	now := time.Now().UTC().Truncate(time.Second)
	base := "/api/v1/tenants/" + reg.Slug + "/drills"
	in := map[string]any{"name": "regional", "start": now.Add(-time.Hour), "end": now.Add(24 * time.Hour),
		"participants": []map[string]any{{"tenant_id": env.TenantA.ID, "scope": map[string]any{"cidrs": []string{"10.1.0.0/16"}}},
			{"tenant_id": env.TenantB.ID, "scope": map[string]any{"cidrs": []string{"10.2.0.0/16"}}}},
		"teams": []map[string]any{{"name": "red", "role": "attacker"}, {"name": "blue-a", "role": "defender", "tenant_id": env.TenantA.ID},
			{"name": "blue-b", "role": "defender", "tenant_id": env.TenantB.ID}, {"name": "ctl", "role": "director"}},
		"library_cases": []string{"lib-t1046-service-scan"}}
	var d Drill
	h.want(http.StatusCreated, http.MethodPost, base, h.admin, in, &d)
	h.want(http.StatusOK, http.MethodPost, base+"/"+d.ID+"/transitions", h.admin, map[string]any{"to": "running", "version": 1}, nil)
	var recA, recB DrillRecord
	h.want(http.StatusCreated, http.MethodPost, base+"/"+d.ID+"/records", h.admin,
		map[string]any{"team": "red", "what": "secret-A-scan", "technique": "T1046", "address": "10.1.0.4", "tenant_id": env.TenantA.ID}, &recA)
	h.want(http.StatusCreated, http.MethodPost, base+"/"+d.ID+"/records", h.admin,
		map[string]any{"team": "red", "what": "secret-B-scan", "technique": "T1046", "address": "10.2.0.4", "tenant_id": env.TenantB.ID}, &recB)
	// B's range is not in A's scope.
	h.want(http.StatusUnprocessableEntity, http.MethodPost, base+"/"+d.ID+"/records", h.admin,
		map[string]any{"team": "red", "what": "x", "technique": "T1046", "address": "10.2.0.4", "tenant_id": env.TenantA.ID}, nil)

	check := func(token, slug, own, otherID, otherWhat string) {
		t.Helper()
		pb := "/api/v1/tenants/" + slug + "/drills"
		var recs []DrillRecord
		h.want(http.StatusOK, http.MethodGet, pb+"/"+d.ID+"/records", token, nil, &recs)
		if len(recs) != 1 || recs[0].ID != own {
			t.Fatalf("%s lists records %+v, want only %s", slug, recs, own)
		}
		for _, path := range []string{pb + "/" + d.ID, pb + "/" + d.ID + "/records", pb + "/" + d.ID + "/suggestions", pb} {
			res := h.do(http.MethodGet, path, token, nil)
			if res.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, res.Code, res)
			}
			if strings.Contains(res.String(), otherID) || strings.Contains(res.String(), otherWhat) {
				t.Fatalf("%s sees the other customer's record through %s:\n%s", slug, path, res)
			}
		}
		var got Drill
		h.want(http.StatusOK, http.MethodGet, pb+"/"+d.ID, token, nil, &got)
		if len(got.Participants) != 1 || got.Board.Records != 1 {
			t.Fatalf("%s sees participants %+v, board %+v", slug, got.Participants, got.Board)
		}
		h.want(http.StatusNotFound, http.MethodGet, pb+"/"+d.ID+"/records/"+otherID+"/attachments", token, nil, nil)
		h.want(http.StatusForbidden, http.MethodDelete, pb+"/"+d.ID+"/records/"+own, token, nil, nil)
	}
	check(expertA, env.TenantA.Slug, recA.ID, recB.ID, "secret-B-scan")
	check(expertB, env.TenantB.Slug, recB.ID, recA.ID, "secret-A-scan")
	// A's token on B's path finds nothing.
	h.want(http.StatusNotFound, http.MethodGet, "/api/v1/tenants/"+env.TenantB.Slug+"/drills/"+d.ID, expertA, nil, nil)

	var all []DrillRecord
	h.want(http.StatusOK, http.MethodGet, base+"/"+d.ID+"/records", h.admin, nil, &all)
	if ids := []string{all[0].ID, all[1].ID}; len(all) != 2 || !slices.Contains(ids, recA.ID) || !slices.Contains(ids, recB.ID) {
		t.Fatalf("organiser sees %+v", all)
	}
	h.want(http.StatusNoContent, http.MethodDelete, base+"/"+d.ID+"/records/"+recA.ID, h.admin, nil, nil)
	h.want(http.StatusNotFound, http.MethodDelete, base+"/"+d.ID+"/records/"+recA.ID, h.admin, nil, nil)
	h.want(http.StatusOK, http.MethodGet, base+"/"+d.ID+"/records", h.admin, nil, &all)
	if len(all) != 1 || all[0].ID != recB.ID {
		t.Fatalf("after delete: %+v", all)
	}
}
