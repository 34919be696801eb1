package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset/bizsys"
	"github.com/vigil-sec/vigil/internal/store"
)

// routeSystem creates a business system of tenant A for the route walk.
func routeSystem(t *testing.T, ui *testUI) string {
	t.Helper()
	b, err := bizsys.NewService(ui.Store, ui.Audit).Create(ui.adminCtx(), ui.TenantA.ID, bizsys.Input{Name: "route-walk"})
	if err != nil {
		t.Fatal(err)
	}
	return b.ID
}

func TestBusinessSystemPages(t *testing.T) {
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/assets/systems"
	contact := store.Contact{TenantID: ui.TenantA.ID, Kind: "customer", Name: "App owner"}
	if err := ui.Store.Contacts().Create(ui.adminCtx(), &contact); err != nil {
		t.Fatal(err)
	}

	r := admin.get(base + "/new")
	wantStatus(t, r, http.StatusOK)
	admin.loadCSRF(r)
	// Without the CSRF token the form is refused.
	r = admin.do(http.MethodPost, base, url.Values{"name": {"ERP"}})
	if r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusBadRequest {
		t.Fatalf("post without CSRF: status %d", r.StatusCode)
	}
	// A level outside the list is a field error, and nothing is stored.
	form := url.Values{"name": {"ERP <script>x</script>"}, "owner": {"Finance"}, "contact": {contact.ID}, "mlps_level": {"3"},
		"data_sensitivity": {"confidential"}, "confidentiality": {"2"}, "integrity": {"9"}, "availability": {"2"}}
	r = admin.post(base, form)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	form.Set("integrity", "2")
	r = admin.post(base, form)
	wantRedirect(t, r, base+"/")
	loc := r.Header.Get("Location")
	id := strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], base+"/")

	r = admin.get(base)
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(r.body, "<script>x</script>") || !strings.Contains(r.body, "&lt;script&gt;") {
		t.Fatal("system name not escaped in the list")
	}

	// Add the seeded asset through the picker, see it on the asset page.
	r = admin.get(base + "/" + id + "?q=" + url.QueryEscape(ui.AssetA.Name))
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `value="`+ui.AssetA.ID+`"`) {
		t.Fatal("picker does not offer the asset")
	}
	// Another tenant's asset is refused on the page.
	wantStatus(t, admin.post(base+"/"+id+"/members", url.Values{"asset": {ui.AssetB.ID}}), http.StatusUnprocessableEntity)
	wantRedirect(t, admin.post(base+"/"+id+"/members", url.Values{"asset": {ui.AssetA.ID}}), base+"/"+id)
	r = admin.get("/t/" + ui.TenantA.Slug + "/assets/" + ui.AssetA.ID)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, base+"/"+id) || !strings.Contains(r.body, "imp imp-4") {
		t.Fatalf("asset page lacks the system or its raised importance (confidential data, MLPS 3 imply 4):\n%s", r.body)
	}

	// An edit from a stale version is refused with 409.
	form.Set("version", "1")
	form.Set("owner", "Ops")
	wantRedirect(t, admin.post(base+"/"+id, form), base+"/"+id)
	wantStatus(t, admin.post(base+"/"+id, form), http.StatusConflict)

	// An analyst reads but cannot change.
	analyst := ui.as(t, ui.AnalystA)
	wantStatus(t, analyst.get(base+"/"+id), http.StatusOK)
	r = analyst.post(base+"/"+id+"/delete", nil)
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("analyst delete: status %d", r.StatusCode)
	}

	wantRedirect(t, admin.post(base+"/"+id+"/members/"+ui.AssetA.ID+"/delete", nil), base+"/"+id)
	wantRedirect(t, admin.post(base+"/"+id+"/delete", nil), base)
	wantStatus(t, admin.get(base+"/"+id), http.StatusNotFound)
	acts := strings.Join(ui.auditActions(t), ",")
	for _, a := range []string{"bizsys.create", "bizsys.member.add", "bizsys.update", "bizsys.member.remove", "bizsys.delete"} {
		if !strings.Contains(acts, a) {
			t.Errorf("audit lacks %s: %s", a, acts)
		}
	}
}
