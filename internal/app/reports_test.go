package app_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/reportcentre"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestReportCatalogue checks every periodic report of the catalogue builds
// for a seeded tenant, and the schedule makes the contracted ones once.
func TestReportCatalogue(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Chromium = filepath.Join(t.TempDir(), "no-browser") // HTML: no PDF printing in this test
	a := openApp(t, cfg)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: "t", Username: "t", GlobalRole: auth.RoleAdmin})
	ten := store.Tenant{Slug: "acme", Name: "Acme 安全"}
	if err := a.Store.Tenants().Create(ctx, &ten); err != nil {
		t.Fatal(err)
	}
	// The reports made by hand cover a period two weeks back, so none of
	// them can be the last week's, whatever the weekday the test runs on.
	now := time.Now().UTC()
	for _, k := range a.Reports.Kinds() {
		if !k.Periodic {
			continue
		}
		for _, lang := range []string{"en", "zh-CN"} {
			r, err := a.Reports.Generate(ctx, ten, k.Code, reportcentre.Params{From: now.AddDate(0, 0, -21), To: now.AddDate(0, 0, -14), Lang: lang}, report.FormatHTML)
			if err != nil {
				t.Fatalf("%s %s: %v", k.Code, lang, err)
			}
			if r.Kind != k.Code || r.Service != k.Service || r.Size == 0 {
				t.Errorf("%s: archived %+v", k.Code, r)
			}
		}
	}
	if err := a.Store.Services().Put(ctx, &store.Subscription{TenantID: ten.ID, Service: "monitoring", Enabled: true,
		ReportFrequency: "weekly"}); err != nil {
		t.Fatal(err)
	}
	n, err := a.Reports.RunDue(ctx)
	if err != nil || n != 1 {
		t.Fatalf("scheduled %d reports (%v), want the weekly monitoring report", n, err)
	}
}
