package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic/risk"
)

// TestTrafficSettingsPage: an analyst edits the tenant's policy and
// safelist (errors name the line, a stale form conflicts, every save is
// audited); a customer of another tenant reads nothing and saves nothing.
func TestTrafficSettingsPage(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t, func(o *Options) { o.Traffic = risk.NewService(o.Store, o.Audit, risk.Options{}) })
	analyst := ui.as(t, ui.AnalystA)
	page := "/t/" + ui.TenantA.Slug + "/operations/traffic-analysis/settings"
	res := analyst.get(page + "?example=1")
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(res.body, "no mining pool ports") || !strings.Contains(res.body, `name="version" value="0"`) {
		t.Fatal("the editor is not filled with the example policy at version 0")
	}
	// An invalid rule is refused with its line.
	bad := url.Values{"policy": {"rules:\n  - name: mining\n    action: deny\n    ports: [\"3333-3330\"]\n"}, "safelist": {""},
		"default_safelist": {"on"}, "version": {"0"}}
	res = analyst.post(page, bad)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.body, "line 2") || !strings.Contains(res.body, "3333-3330") {
		t.Fatalf("the error does not name the line and the port:\n%s", res.body)
	}
	good := url.Values{"policy": {"rules:\n  - name: mining <b>\n    action: deny\n    ports: [\"3333-3336\"]\n"},
		"safelist": {"backup.example\n192.0.2.0/24\n"}, "default_safelist": {"on"}, "version": {"0"}}
	wantRedirect(t, analyst.post(page, good), page+"?ok=saved")
	res = analyst.get(page)
	if !strings.Contains(res.body, "mining &lt;b&gt;") || !strings.Contains(res.body, `name="version" value="1"`) {
		t.Fatal("the saved policy is not shown escaped at version 1")
	}
	// The same form again is stale.
	wantStatus(t, analyst.post(page, good), http.StatusConflict)
	evs, err := ui.Store.Audit().List(t.Context(), store.AuditFilter{TenantID: ui.TenantA.ID, Action: "traffic.settings"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("%d traffic.settings audit events, want 1 (%v)", len(evs), err)
	}
	cust := ui.as(t, ui.CustomerB)
	if r := cust.get(page); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
		t.Fatalf("customer of B read A's settings: %d", r.StatusCode)
	}
	own := "/t/" + ui.TenantB.Slug + "/operations/traffic-analysis/settings"
	if r := cust.post(own, good); r.StatusCode != http.StatusForbidden {
		t.Fatalf("customer saved settings: %d", r.StatusCode)
	}
}
