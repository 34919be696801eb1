package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// TestTenantRetentionAPI drives GET/PUT /api/v1/tenants/{t}/retention
// through the node's handler with real tokens: an admin of the tenant and
// a platform admin may read and set it, within the global retention and
// not under an hour; an expert of the tenant may not (403), an admin of
// another tenant does not see the tenant (404). Every change is audited.
func TestTenantRetentionAPI(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	const day = 24 * time.Hour
	cfg.EventRetention = 30 * day
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)
	other, err := a.Tenants.CreateTenant(actx, tenant.TenantInput{Slug: "other", Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	token := func(tenantID, role string) string {
		t.Helper()
		tok, _, err := a.Tenants.CreateToken(actx, tenant.TokenInput{Name: role + tenantID, TenantID: tenantID, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tenantAdmin, expert, otherAdmin, platform := token(acme.ID, auth.RoleAdmin), token(acme.ID, auth.RoleExpert),
		token(other.ID, auth.RoleAdmin), token("", auth.RoleAdmin)
	h, err := a.Handler()
	if err != nil {
		t.Fatal(err)
	}
	const path = "/api/v1/tenants/acme/retention"
	call := func(method, tok string, body any, want int) api.TenantRetention {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		r := httptest.NewRequest(method, path, rd)
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Fatalf("%s %s: %d %s; want %d", method, path, w.Code, w.Body, want)
		}
		var got api.TenantRetention
		if want == http.StatusOK {
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
		}
		return got
	}
	global := int64(cfg.EventRetention / time.Second)
	if got := call(http.MethodGet, tenantAdmin, nil, http.StatusOK); got != (api.TenantRetention{GlobalSeconds: global, EffectiveSeconds: global}) {
		t.Fatalf("before any is set: %+v", got)
	}
	week := int64(7 * day / time.Second)
	if got := call(http.MethodPut, tenantAdmin, api.TenantRetentionUpdate{Seconds: week}, http.StatusOK); got.Seconds != week || got.EffectiveSeconds != week {
		t.Fatalf("set a week: %+v", got)
	}
	if got := call(http.MethodGet, platform, nil, http.StatusOK); got.Seconds != week {
		t.Fatalf("read by the platform admin: %+v", got)
	}
	call(http.MethodPut, tenantAdmin, api.TenantRetentionUpdate{Seconds: global + 1}, http.StatusUnprocessableEntity)
	call(http.MethodPut, tenantAdmin, api.TenantRetentionUpdate{Seconds: 1800}, http.StatusUnprocessableEntity)
	call(http.MethodPut, expert, api.TenantRetentionUpdate{Seconds: 3600}, http.StatusForbidden)
	call(http.MethodGet, expert, nil, http.StatusForbidden)
	call(http.MethodGet, otherAdmin, nil, http.StatusNotFound)
	call(http.MethodPut, otherAdmin, api.TenantRetentionUpdate{Seconds: 3600}, http.StatusNotFound)
	if got := call(http.MethodGet, tenantAdmin, nil, http.StatusOK); got.Seconds != week {
		t.Fatalf("refused changes changed it: %+v", got)
	}
	if got := call(http.MethodPut, platform, api.TenantRetentionUpdate{Seconds: 0}, http.StatusOK); got.Seconds != 0 || got.EffectiveSeconds != global {
		t.Fatalf("cleared: %+v", got)
	}
	rets, err := a.TenantEventRetentions(actx)
	if err != nil || len(rets) != 0 {
		t.Fatalf("stored retentions after clearing: %v %v", rets, err)
	}
	entries, err := a.Audit.List(actx, store.AuditFilter{TenantID: acme.ID, Action: "tenant.event_retention.set"})
	if err != nil || len(entries) != 2 {
		t.Fatalf("audit entries: %d %v; want 2", len(entries), err)
	}
}
