package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestDiscoveryHostDiscoveryField: the run form offers host discovery; a
// run started with it stores the choice, and its page shows what host
// discovery found and how it asked (the fallback notes included).
func TestDiscoveryHostDiscoveryField(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	ctx := ui.AdminCtx(context.Background())
	if _, err := ui.Assets.Create(ctx, ui.TenantA.ID, asset.Input{Kind: "ip", Name: "lab", Address: "127.0.0.0/29"}); err != nil {
		t.Fatal(err)
	}
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/operations/asset-discovery"
	page := admin.get(base)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `name="host_discovery"`) {
		t.Fatal("the run form has no host discovery field")
	}
	r := admin.post(base, url.Values{"targets": {"127.0.0.1"}, "ports": {"1"}, "host_discovery": {"1"}})
	if r.StatusCode != http.StatusSeeOther && r.StatusCode != http.StatusFound {
		t.Fatalf("start: %d", r.StatusCode)
	}
	runs, err := ui.Exposure.List(ctx, ui.TenantA.ID, store.Page{})
	if err != nil || len(runs) != 1 || !exposure.RunHostDiscovery(runs[0]) {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var res exposure.RunResult
	for {
		run, got, err := ui.Exposure.Get(ctx, ui.TenantA.ID, runs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status == exposure.StatusDone {
			res = got
			break
		}
		if run.Status == exposure.StatusFailed || time.Now().After(deadline) {
			t.Fatalf("run %s %s", run.Status, run.Error)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res.HostDiscovery == nil || len(res.HostDiscovery.Methods) == 0 {
		t.Fatalf("result %+v", res)
	}
	page = admin.get(base + "/" + runs[0].ID)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `id="host-discovery"`) {
		t.Fatal("the run page has no host discovery section")
	}
	for _, m := range res.HostDiscovery.Methods {
		if !strings.Contains(page.body, template.HTMLEscapeString(m)) {
			t.Errorf("the run page does not say %q", m)
		}
	}
}
