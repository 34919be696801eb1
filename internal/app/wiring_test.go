package app_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// TestServicesAreServed checks that the node's composed handler serves
// every service's API list, so a service built but not wired is caught.
func TestServicesAreServed(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)
	token, _, err := a.Tenants.CreateToken(actx, tenant.TokenInput{Name: "ops", TenantID: acme.ID, Role: auth.RoleExpert})
	if err != nil {
		t.Fatal(err)
	}
	h, err := a.Handler()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"work-orders", "assessments", "incidents", "drills", "campaigns", "devices", "baseline/runs",
		"traffic-analyses", "vulnerabilities", "vulnerabilities/sla", "discovery-runs", "policy-reviews"} {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/tenants/acme/"+path, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/taxii2/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("TAXII discovery: %d", w.Code)
	}
}
