package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

var calendarVersionRE = regexp.MustCompile(`name="version" value="(\d+)"`)

// TestKeyPeriodCalendarPage adds, edits and removes key periods of tenant
// A in the pages: the new period is offered for a campaign at once, names
// are escaped, a stale form is refused, the changes are audited, and only
// writers may change the calendar of their own tenant.
func TestKeyPeriodCalendarPage(t *testing.T) {
	t.Parallel()
	ui := newCampaignUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/operations/key-period"
	cal := base + "/calendar"
	page := admin.get(cal)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `id="period-national-day-2027"`) || !strings.Contains(admin.get(base).body, `href="`+cal+`"`) {
		t.Fatal("the built-in calendar is not shown or not linked")
	}
	version := func(body string) string {
		m := calendarVersionRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no version in the form")
		}
		return m[1]
	}
	v0 := version(page.body)
	form := url.Values{"version": {v0}, "id": {"ciie-2027"}, "name": {"Import Expo <script>x</script>"}, "name_zh": {"2027年进博会"},
		"kind": {"event"}, "start": {"2027-11-05"}, "end": {"2027-11-10"}, "lead_time": {"21d"}}
	wantRedirect(t, admin.post(cal, form), cal)
	page = admin.get(cal)
	if !strings.Contains(page.body, `id="period-ciie-2027"`) || strings.Contains(page.body, "<script>x") {
		t.Fatal("the added period is missing or not escaped")
	}
	if !strings.Contains(admin.get(base).body, `value="ciie-2027"`) {
		t.Error("the added period is not offered for a new campaign")
	}
	// Planned from the new period with a tighter acknowledgement factor.
	r := admin.post(base, url.Values{"period": {"ciie-2027"}, "ack_factor": {"0.25"}})
	wantRedirect(t, r, base+"/")
	if kp := admin.get(r.Header.Get("Location")); !strings.Contains(kp.body, `id="ack-factor">0.25<`) || !strings.Contains(kp.body, "2027年进博会") {
		t.Error("the campaign page lacks the period's name or the factor")
	}
	if r := admin.post(base, url.Values{"period": {"ciie-2027"}, "name": {"second"}, "ack_factor": {"2"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("factor 2: %d", r.StatusCode)
	}
	// The same form again was made on the old version: refused.
	if r := admin.post(cal, form); r.StatusCode != http.StatusConflict {
		t.Errorf("stale form: %d", r.StatusCode)
	}
	// Edit: the form of ?edit= holds the period; a bad end date is a 422.
	edit := admin.get(cal + "?edit=ciie-2027")
	if !strings.Contains(edit.body, `value="2027-11-10"`) || !strings.Contains(edit.body, "readonly") {
		t.Error("the edit form does not hold the period")
	}
	v1 := version(edit.body)
	bad := url.Values{"version": {v1}, "id": {"ciie-2027"}, "name": {"Expo"}, "kind": {"event"}, "start": {"2027-11-05"}, "end": {"2027-10-01"}, "lead_time": {"21d"}}
	if r := admin.post(cal, bad); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("end before start: %d", r.StatusCode)
	}
	bad.Set("end", "2027-11-12")
	wantRedirect(t, admin.post(cal, bad), cal)
	if !strings.Contains(admin.get(cal).body, "2027-11-12") {
		t.Error("the edit was not kept")
	}
	// Remove a built-in period.
	v2 := version(admin.get(cal).body)
	wantRedirect(t, admin.post(cal+"/national-day-2027/remove", url.Values{"version": {v2}}), cal)
	if strings.Contains(admin.get(cal).body, `id="period-national-day-2027"`) {
		t.Error("the removed period is still listed")
	}
	// Tenant B still has the built-in calendar.
	if !strings.Contains(admin.get("/t/"+ui.TenantB.Slug+"/operations/key-period/calendar").body, `id="period-national-day-2027"`) {
		t.Error("tenant B lost the built-in period")
	}
	entries, err := ui.Store.Audit().List(context.Background(), store.AuditFilter{TenantID: ui.TenantA.ID, Page: store.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Action] = true
	}
	for _, a := range []string{"campaign.calendar.add", "campaign.calendar.edit", "campaign.calendar.remove"} {
		if !seen[a] {
			t.Errorf("no audit entry %s", a)
		}
	}
	// The analyst reads the calendar but has no forms and cannot post.
	analyst := ui.as(t, ui.AnalystA)
	ap := analyst.get(cal)
	wantStatus(t, ap, http.StatusOK)
	if strings.Contains(ap.body, `id="period-form"`) {
		t.Error("the analyst sees the edit form")
	}
	v3 := version(admin.get(cal).body)
	wantStatus(t, analyst.post(cal, url.Values{"version": {v3}, "id": {"x"}, "name": {"X"}, "kind": {"event"}, "start": {"2027-01-01"},
		"end": {"2027-01-02"}, "lead_time": {"7d"}}), http.StatusForbidden)
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(cal), http.StatusNotFound)
}
