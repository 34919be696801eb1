package app_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/intel/desk"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestIntelDeskAndTAXII loads an indicator list, the real KEV catalogue
// and an analyst's advisory file; the desk records each feed's health
// and the composed handler serves the curated indicators over TAXII 2.1
// to a tenant token that may read events, and to nobody else.
func TestIntelDeskAndTAXII(t *testing.T) {
	if _, err := os.Stat(kevFile); err != nil {
		testenv.Missing(t, "the KEV corpus: "+err.Error())
	}
	dir := t.TempDir()
	advPath := filepath.Join(dir, "advisories.json")
	if err := os.WriteFile(advPath, []byte(`[{"id":"VA-2026-0001","title":"Example appliance RCE","severity":"critical",
		"affected":[{"product":"Example Appliance","versions":"<2.1"}]},{"id":"","title":"no id"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.KEVSource = kevFile
	cfg.IntelFeeds = []string{filepath.Join("..", "intel", "testdata", "feed.csv")}
	cfg.AdvisoryFeeds = []string{advPath}
	a := openApp(t, cfg)
	if err := a.LoadFeeds(t.Context()); err != nil {
		t.Fatal(err)
	}
	byKind := map[string]desk.FeedStatus{}
	for _, f := range a.Desk.Feeds() {
		byKind[f.Kind] = f
	}
	if f := byKind[desk.KindKEV]; !f.Healthy() || f.Items < 1000 {
		t.Errorf("KEV feed %+v", f)
	}
	if f := byKind[desk.KindIndicators]; !f.Healthy() || f.Items == 0 || f.Name != "feed.csv" {
		t.Errorf("indicator feed %+v", f)
	}
	if f := byKind[desk.KindAdvisories]; !f.Healthy() || f.Items != 1 || f.Rejected != 1 || f.Format != "vigil-advisory" {
		t.Errorf("advisory feed %+v", f)
	}
	if _, ok := a.Desk.Advisory("VA-2026-0001"); !ok {
		t.Error("the analyst's advisory is not loaded")
	}
	_, nIndicators, nAdvisories := a.Desk.Loaded()
	if nAdvisories != byKind[desk.KindKEV].Items+1 || nIndicators != byKind[desk.KindIndicators].Items {
		t.Errorf("desk holds %d indicators and %d advisories", nIndicators, nAdvisories)
	}

	// A missing advisory file is reported, and the other feeds stay loaded.
	a.Config.AdvisoryFeeds = []string{advPath + ".missing"}
	if err := a.LoadFeeds(t.Context()); err == nil || !strings.Contains(err.Error(), "advisory_feeds") {
		t.Fatalf("missing advisory feed: %v", err)
	}
	for _, f := range a.Desk.Feeds() {
		if f.Kind == desk.KindAdvisories && f.Name == "advisories.json.missing" && (f.Healthy() || f.Error == "") {
			t.Errorf("failed feed recorded as %+v", f)
		}
	}

	actx, acme := adminAndTenant(t, a)
	viewer, _, err := a.Tenants.CreateToken(actx, tenant.TokenInput{Name: "siem", TenantID: acme.ID, Role: auth.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	regulator, _, err := a.Tenants.CreateToken(actx, tenant.TokenInput{Name: "reg", TenantID: acme.ID, Role: auth.RoleRegulator})
	if err != nil {
		t.Fatal(err)
	}
	h, err := a.Handler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := &intel.TAXIIClient{BaseURL: srv.URL, Token: viewer, HTTP: srv.Client()}
	cols, err := c.Collections(t.Context(), "/taxii2/vigil/")
	if err != nil || len(cols) != 2 {
		t.Fatalf("collections %+v, %v", cols, err)
	}
	feed, err := c.FetchFeed(t.Context(), "/taxii2/vigil/", desk.CuratedID, time.Time{}, intel.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(feed.Indicators) != nIndicators {
		t.Errorf("TAXII served %d indicators, the feed has %d", len(feed.Indicators), nIndicators)
	}
	for _, tok := range []string{"", regulator, "vgl_not-a-token"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/taxii2/vigil/collections/", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("token %q: status %d, want 401", tok, resp.StatusCode)
		}
	}
}
