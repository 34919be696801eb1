package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/traffic/risk"
)

// TestTrafficSettingsAndExporters: a tenant's policy and safelist are read
// and saved with a version check and line-numbered errors; the exporter
// map is the platform administrator's.
func TestTrafficSettingsAndExporters(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Traffic = &risk.Service{} })
	h.srv.opts.Traffic = risk.NewService(h.env.Store, h.env.Audit, risk.Options{})
	a := "/api/v1/tenants/" + h.env.TenantA.Slug + "/traffic-settings"
	var got TrafficSettings
	h.want(http.StatusOK, http.MethodGet, a, h.analystA, nil, &got)
	if got.Version != 0 || !got.DefaultSafelist || !strings.Contains(got.ExamplePolicy, "rules:") || got.ShippedSafelist == "" {
		t.Fatalf("defaults %+v", got)
	}
	h.wantProblem(http.StatusUnprocessableEntity, http.MethodPut, a, h.analystA,
		TrafficSettingsUpdate{Policy: "rules:\n  - name: x\n    action: deny\n    proto: sctp\n", DefaultSafelist: true})
	up := TrafficSettingsUpdate{Policy: got.ExamplePolicy, Safelist: "cdn.example\n", DefaultSafelist: true}
	h.want(http.StatusOK, http.MethodPut, a, h.analystA, up, &got)
	if got.Version != 1 || got.Safelist != "cdn.example\n" {
		t.Fatalf("saved %+v", got)
	}
	h.wantProblem(http.StatusConflict, http.MethodPut, a, h.analystA, up)
	h.wantProblem(http.StatusNotFound, http.MethodGet, a, h.customer, nil)

	ex := "/api/v1/traffic-exporters"
	var e TrafficExporter
	h.want(http.StatusOK, http.MethodPut, ex, h.admin, TrafficExporterPut{Prefix: "192.0.2.1", Tenant: h.env.TenantA.Slug, Note: "core"}, &e)
	if e.Prefix != "192.0.2.1/32" || e.Tenant != h.env.TenantA.Slug {
		t.Fatalf("exporter %+v", e)
	}
	h.wantProblem(http.StatusUnprocessableEntity, http.MethodPut, ex, h.admin, TrafficExporterPut{Prefix: "192.0.2.300", Tenant: h.env.TenantA.Slug})
	h.wantProblem(http.StatusUnprocessableEntity, http.MethodPut, ex, h.admin, TrafficExporterPut{Prefix: "192.0.2.2", Tenant: "nobody"})
	h.wantProblem(http.StatusForbidden, http.MethodPut, ex, h.adminA, TrafficExporterPut{Prefix: "192.0.2.3", Tenant: h.env.TenantA.Slug})
	var es []TrafficExporter
	h.want(http.StatusOK, http.MethodGet, ex, h.admin, nil, &es)
	if len(es) != 1 || es[0].Prefix != "192.0.2.1/32" || es[0].Note != "core" {
		t.Fatalf("exporters %+v", es)
	}
	h.want(http.StatusNoContent, http.MethodDelete, ex+"?prefix=192.0.2.1", h.admin, nil, nil)
	h.wantProblem(http.StatusNotFound, http.MethodDelete, ex+"?prefix=192.0.2.1", h.admin, nil)
}
