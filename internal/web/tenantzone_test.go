package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTenantTimeZoneForm: the tenant form edits the time zone the weekly
// digest follows; a name that is no IANA zone is flagged on its field
// and the form keeps what was typed.
func TestTenantTimeZoneForm(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	edit := "/admin/tenants/" + ui.TenantA.ID
	page := admin.get(edit)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `name="time_zone"`) {
		t.Fatalf("tenant form lacks the time zone:\n%s", page.body)
	}
	r := admin.post(edit, url.Values{"slug": {ui.TenantA.Slug}, "name": {ui.TenantA.Name}, "time_zone": {"Mars/Olympus"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "Enter an IANA time zone name") || !strings.Contains(r.body, `value="Mars/Olympus"`) {
		t.Fatalf("bad zone not flagged:\n%s", r.body)
	}
	wantRedirect(t, admin.post(edit, url.Values{"slug": {ui.TenantA.Slug}, "name": {ui.TenantA.Name}, "time_zone": {"Asia/Shanghai"}}),
		"/admin/tenants")
	if tn, err := ui.Tenants.GetTenant(ui.adminCtx(), ui.TenantA.ID); err != nil || tn.TimeZone != "Asia/Shanghai" {
		t.Fatalf("tenant after edit %+v, %v", tn, err)
	}
	if page := admin.get(edit); !strings.Contains(page.body, `value="Asia/Shanghai"`) {
		t.Fatalf("the zone is not shown on the form:\n%s", page.body)
	}
}
