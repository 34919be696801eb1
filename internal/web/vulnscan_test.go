package web

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/scan"
)

func TestVulnSLAForm(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/vulnerabilities"

	page := admin.get(base)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `id="vuln-sla-form"`) || !strings.Contains(page.body, `name="sla_critical" min="0" max="3650" value="7"`) {
		t.Fatalf("no SLA form with the default days:\n%s", page.body)
	}
	r := admin.post(base+"/sla", url.Values{"sla_critical": {"3"}, "sla_high": {"14"}, "sla_medium": {""}, "sla_low": {"0"}})
	wantRedirect(t, r, base+"?ok=saved#vuln-sla")
	page = admin.get(base)
	for _, want := range []string{`name="sla_critical" min="0" max="3650" value="3"`, `name="sla_high" min="0" max="3650" value="14"`,
		`name="sla_medium" min="0" max="3650" value="90"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// Bad days are a form error, hostile text is not echoed as markup.
	r = admin.post(base+"/sla", url.Values{"sla_high": {"<script>alert(1)</script>"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if strings.Contains(r.body, "<script>alert(1)") || !strings.Contains(r.body, "whole number") {
		t.Fatalf("bad days:\n%s", r.body)
	}
	r = admin.post(base+"/sla", url.Values{"sla_high": {"99999"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)

	// Another tenant's user gets 404; a read-only user 403 on its own tenant.
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.post(base+"/sla", url.Values{"sla_high": {"1"}}), http.StatusNotFound)
	wantStatus(t, cust.post("/t/"+ui.TenantB.Slug+"/vulnerabilities/sla", url.Values{"sla_high": {"1"}}), http.StatusForbidden)
}

func TestVulnVerifyButton(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	ctx := ui.AdminCtx(t.Context())
	base := "/t/" + ui.TenantA.Slug + "/vulnerabilities"
	if err := ui.Store.Assets().Create(ctx, &store.Asset{TenantID: ui.TenantA.ID, Kind: "ip", Name: "lo", Address: "127.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	port := ln.Addr().(*net.TCPAddr).Port
	svc, err := scan.New(ui.Store, ui.Vulns, ui.Exposure, scan.Options{NmapPath: "-", NucleiPath: "-", Timeout: time.Second,
		RiskyPorts: map[int]string{port: "test <b>service</b>"},
		Targets: func(context.Context, string) ([]scan.Target, error) {
			return []scan.Target{{Host: "127.0.0.1", Port: port, Service: "unknown"}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ui.srv.opts.VulnScan = svc
	if _, err := svc.Scan(ctx, ui.TenantA.ID); err != nil {
		t.Fatal(err)
	}
	m := vulnLinkRE.FindStringSubmatch(admin.get(base).body)
	if m == nil {
		t.Fatal("no finding listed after the scan")
	}
	view := admin.get(base + "/" + m[1])
	if !strings.Contains(view.body, `id="vuln-verify"`) || strings.Contains(view.body, "<b>service</b>") {
		t.Fatalf("no verify button, or markup from the finding:\n%s", view.body)
	}
	// Another tenant's user gets 404, and the listener still answers:
	// the finding stays open.
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.post(base+"/"+m[1]+"/verify", url.Values{}), http.StatusNotFound)
	_ = ln.Close()
	wantRedirect(t, admin.post(base+"/"+m[1]+"/verify", url.Values{}), base+"/"+m[1]+"?ok=saved")
	f, _, err := ui.Vulns.Get(ctx, ui.TenantA.ID, m[1])
	if err != nil || f.State != "verified-closed" {
		t.Fatalf("after verify: %q, %v", f.State, err)
	}
}
