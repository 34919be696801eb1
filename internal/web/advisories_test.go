package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/intel/desk"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestAnalystAdvisoryPages: an analyst writes an advisory through the
// form, a refused form comes back as typed with the reason, hostile text
// is inert, the advisory page lists the tenant it concerns, publishing
// makes it a warning on that tenant's threat-intel page, and a customer
// can neither see drafts nor write.
func TestAnalystAdvisoryPages(t *testing.T) {
	t.Parallel()
	var d *desk.Desk
	ui := newTestUI(t, func(o *Options) {
		d = desk.New(o.Store, desk.Options{Audit: o.Audit})
		o.Intel, o.FeedRefresh = d, time.Hour
	})
	d.SetIntel(nil, nil)
	ctx := ui.adminCtx()
	if _, err := ui.Assets.Update(ctx, ui.TenantA.ID, ui.AssetA.ID, asset.Input{Kind: "host", Name: ui.AssetA.Name, Address: ui.AssetA.Address,
		Importance: 4, Attributes: map[string]string{"product": "Example Gateway", "version": "3.2"}}); err != nil {
		t.Fatal(err)
	}
	analyst := ui.as(t, ui.AnalystA)
	wantStatus(t, analyst.get("/advisories/new"), http.StatusOK)
	if !strings.Contains(analyst.get("/t/"+ui.TenantA.Slug).body, `href="/advisories"`) {
		t.Error("the navigation lacks the advisories")
	}

	// A bad range: refused, the form keeps what was typed.
	form := url.Values{"title": {"<script>alert(1)</script> gateway RCE"}, "severity": {"critical"}, "cves": {"CVE-2026-12345"},
		"affected": {"example | Example Gateway | >>3.5"}, "description": {"Pre-auth RCE in the admin UI."}}
	r := analyst.post("/advisories", form)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	for _, want := range []string{"&gt;&gt;3.5", "Pre-auth RCE in the admin UI.", "affected[0]"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("refused form lacks %q", want)
		}
	}
	if strings.Contains(r.body, "<script>alert") {
		t.Error("refused form renders the script")
	}
	form.Set("affected", "example | Example Gateway | <3.5\nexample | Example Gateway Lite")
	r = analyst.post("/advisories", form)
	wantRedirect(t, r, "/advisories/")
	page := analyst.get(strings.SplitN(r.Header.Get("Location"), "?", 2)[0])
	wantStatus(t, page, http.StatusOK)
	for _, want := range []string{"&lt;script&gt;alert(1)", ui.TenantA.Name, ui.AssetA.Name, "CVE-2026-12345", `value="published"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("advisory page lacks %q", want)
		}
	}
	if strings.Contains(page.body, "<script>alert") {
		t.Error("advisory page renders the script")
	}
	list, err := d.AnalystAdvisories(ui.As(t.Context(), ui.AnalystA), "", store.Page{})
	if err != nil || len(list) != 1 {
		t.Fatalf("stored advisories %d, %v", len(list), err)
	}
	a := list[0]

	// The draft warns nobody; published, it warns tenant A.
	intelPage := "/t/" + ui.TenantA.Slug + "/operations/threat-intel"
	if strings.Contains(analyst.get(intelPage).body, a.Advisory.ID) {
		t.Fatal("a draft shows as a warning")
	}
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get("/advisories"), http.StatusForbidden)
	wantStatus(t, cust.get("/advisories/"+a.ID), http.StatusForbidden)
	wantStatus(t, cust.post("/advisories", form), http.StatusForbidden)
	wantStatus(t, cust.post("/advisories/"+a.ID+"/state", url.Values{"state": {"published"}, "version": {"2"}}), http.StatusForbidden)

	r = analyst.post("/advisories/"+a.ID+"/state", url.Values{"state": {"published"}, "version": {"1"}})
	wantStatus(t, r, http.StatusConflict)
	r = analyst.post("/advisories/"+a.ID+"/state", url.Values{"state": {"published"}, "version": {"2"}})
	wantRedirect(t, r, "/advisories/"+a.ID)
	if !strings.Contains(analyst.get(intelPage).body, a.Advisory.ID) {
		t.Fatal("the published advisory is not a warning of the tenant running the product")
	}
	if acts := strings.Join(ui.auditActions(t), " "); !strings.Contains(acts, "advisory.publish") || !strings.Contains(acts, "advisory.write") {
		t.Errorf("advisory changes are not audited: %v", acts)
	}
}
