package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var ackVersionRE = regexp.MustCompile(`id="ack-factor-form">.*\s*<input type="hidden" name="version" value="(\d+)">`)

// TestKeyPeriodAckFactorEdit changes the acknowledgement factor of a
// running key-period campaign in its page: the form carries CSRF and the
// campaign version, the new factor is shown, a stale form is 409, a
// factor out of bounds is 422, a request without the CSRF token is
// refused, and another tenant's customer cannot reach it.
func TestKeyPeriodAckFactorEdit(t *testing.T) {
	t.Parallel()
	ui := newCampaignUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/operations/key-period"
	r := admin.post(base, url.Values{"period": {"national-day-2027"}, "ack_factor": {"0.5"}})
	wantRedirect(t, r, base+"/")
	page := strings.SplitN(r.Header.Get("Location"), "?", 2)[0]
	kp := admin.get(page)
	wantStatus(t, kp, http.StatusOK)
	m := ackVersionRE.FindStringSubmatch(kp.body)
	if m == nil || !strings.Contains(kp.body, `name="csrf"`) {
		t.Fatal("no acknowledgement factor form with a version and CSRF field")
	}
	edit := page + "/ack-factor"
	wantRedirect(t, admin.post(edit, url.Values{"ack_factor": {"0.3"}, "version": {m[1]}}), page)
	if !strings.Contains(admin.get(page).body, `id="ack-factor">0.3<`) {
		t.Error("the page does not show the new factor")
	}
	if r := admin.post(edit, url.Values{"ack_factor": {"0.2"}, "version": {m[1]}}); r.StatusCode != http.StatusConflict {
		t.Errorf("stale form: %d", r.StatusCode)
	}
	m = ackVersionRE.FindStringSubmatch(admin.get(page).body)
	for _, bad := range []string{"0.05", "1.5", "x", "NaN"} {
		if r := admin.post(edit, url.Values{"ack_factor": {bad}, "version": {m[1]}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("factor %q: %d", bad, r.StatusCode)
		}
	}
	if r := admin.post(edit, url.Values{"ack_factor": {"0.2"}, "version": {m[1]}, csrfField: {"forged"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("forged CSRF token: %d", r.StatusCode)
	}
	if r := ui.as(t, ui.CustomerB).post(edit, url.Values{"ack_factor": {"0.2"}, "version": {m[1]}}); r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusForbidden {
		t.Errorf("customer of another tenant: %d", r.StatusCode)
	}
	// Empty returns to the default.
	wantRedirect(t, admin.post(edit, url.Values{"ack_factor": {""}, "version": {m[1]}}), page)
	if !strings.Contains(admin.get(page).body, `id="ack-factor">0.5<`) {
		t.Error("an empty factor did not return to the default")
	}
}
