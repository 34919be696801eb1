package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/intel/desk"
	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestIntelDesk: an analyst sees the tenant's early warning, its
// sightings and the feeds' health with hostile text rendered inert, and
// sends the warning as a notice; a customer of another tenant gets 404
// there, sees no warning of its own, and may not publish.
func TestIntelDesk(t *testing.T) {
	t.Parallel()
	var d *desk.Desk
	ui := newTestUI(t, func(o *Options) {
		d = desk.New(o.Store, desk.Options{})
		o.Intel, o.FeedRefresh = d, time.Hour
	})
	ctx := ui.adminCtx()
	if _, err := ui.Assets.Update(ctx, ui.TenantA.ID, ui.AssetA.ID, asset.Input{Kind: "host", Name: ui.AssetA.Name, Address: ui.AssetA.Address,
		Importance: 4, Attributes: map[string]string{"product": "Example Gateway", "version": "3.2"}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	d.Record(desk.KindIndicators, "https://u:pw@feeds.example/list.csv", "csv", now, 12, 1, nil)
	d.Record(desk.KindAdvisories, "/srv/advisories.json", "", now, 0, 0, errString("bad <script>alert(2)</script>"))
	d.SetIntel([]hunt.Advisory{
		{ID: "VA-2026-0042", Title: "<script>alert(1)</script> gateway RCE", Severity: "critical", Published: now.Add(-48 * time.Hour),
			Affected: []hunt.Affected{{Product: "Example Gateway", Versions: "<3.5"}}, Action: "Upgrade to 3.5"},
		{ID: "VA-2026-0043", Title: "Other product", Severity: "high", Published: now.Add(-24 * time.Hour),
			Affected: []hunt.Affected{{Product: "Nothing We Run"}}},
	}, []intel.Indicator{{Type: intel.TypeDomain, Value: "c2.example", Confidence: 80}})
	al := store.Alert{TenantID: ui.TenantA.ID, GroupKey: "g", RuleID: hunt.RuleID(intel.TypeDomain, "c2.example"),
		RuleTitle: "Threat intel: <b>c2.example</b>", Level: "high", Host: "pc-7", FirstSeen: now.Add(-time.Hour), LastSeen: now.Add(-time.Hour)}
	if _, err := ui.Store.Alerts().Raise(ctx, &al, time.Minute, []string{"new"}, 10); err != nil {
		t.Fatal(err)
	}

	base := "/t/" + ui.TenantA.Slug + "/operations/threat-intel"
	analyst := ui.as(t, ui.AnalystA)
	page := analyst.get(base)
	wantStatus(t, page, http.StatusOK)
	for _, want := range []string{"VA-2026-0042", "&lt;script&gt;alert(1)", "feeds.example/list.csv", "pc-7", "&lt;b&gt;c2.example", desk.CuratedID, desk.SightingsID(ui.TenantA.ID), ui.AssetA.Name} {
		if !strings.Contains(page.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>alert", "VA-2026-0043", "pw@", "<b>c2"} {
		if strings.Contains(page.body, bad) {
			t.Errorf("page shows %q", bad)
		}
	}

	// Publishing: only this tenant's warnings.
	r := analyst.post(base+"/publish", url.Values{"advisory": {"VA-2026-0043"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	r = analyst.post(base+"/publish", url.Values{"advisory": {"VA-2026-0042"}})
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `id="intel-published"`) || strings.Contains(r.body, "<script>alert") {
		t.Errorf("publish result:\n%s", r.body)
	}
	if acts := ui.auditActions(t); !strings.Contains(strings.Join(acts, " "), "notice") {
		t.Errorf("publishing is not audited: %v", acts)
	}

	// Another tenant's customer.
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(base), http.StatusNotFound)
	own := cust.get("/t/" + ui.TenantB.Slug + "/operations/threat-intel")
	wantStatus(t, own, http.StatusOK)
	if strings.Contains(own.body, "VA-2026-0042") || strings.Contains(own.body, "pc-7") || strings.Contains(own.body, "/publish") {
		t.Error("tenant B sees A's warning, sightings or a publish button")
	}
	wantStatus(t, cust.post("/t/"+ui.TenantB.Slug+"/operations/threat-intel/publish", url.Values{"advisory": {"VA-2026-0042"}}), http.StatusForbidden)
}

// errString is an error with a fixed text.
type errString string

func (e errString) Error() string { return string(e) }
