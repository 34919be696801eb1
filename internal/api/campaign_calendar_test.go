package api

import (
	"context"
	"net/http"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/campaign/manager"
)

// TestKeyPeriodCalendarAPI edits tenant A's calendar over the API: a new
// period is planned at once, a stale version is 409, a bad date 422, a
// removed period is gone, tenant B keeps the built-in calendar, and the
// analyst only reads.
func TestKeyPeriodCalendarAPI(t *testing.T) {
	var opts Options
	h := newHarness(t, func(o *Options) { opts = *o })
	env := h.env
	svc, err := manager.NewService(env.Store, env.Audit, manager.Options{Archive: env.Archive})
	if err != nil {
		t.Fatal(err)
	}
	opts.Campaigns = svc
	srv, err := newServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.srv, h.h = srv, srv.handler()
	sys, err := env.Assets.Create(env.AdminCtx(context.Background()), env.TenantA.ID, asset.Input{Kind: "host", Name: "portal", Address: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	cal := "/api/v1/tenants/" + env.TenantA.Slug + "/key-period-calendar"
	var c KeyPeriodCalendar
	h.want(http.StatusOK, http.MethodGet, cal, h.analystA, nil, &c)
	if c.Own || c.Version != 0 || c.Zone != "+08:00" || len(c.Periods) == 0 {
		t.Fatalf("built-in calendar %+v", c)
	}
	expo := map[string]any{"name": "Import Expo 2027", "name_zh": "2027年进博会", "kind": "event", "start": "2027-11-05", "end": "2027-11-10",
		"lead_time": "21d", "version": 0}
	var p KeyPeriod
	h.want(http.StatusOK, http.MethodPut, cal+"/periods/ciie-2027", h.adminA, expo, &p)
	if p.ID != "ciie-2027" || p.Start != "2027-11-05" || p.End != "2027-11-10" || p.LeadTime != "21d" {
		t.Fatalf("put %+v", p)
	}
	h.want(http.StatusConflict, http.MethodPut, cal+"/periods/ciie-2027", h.adminA, expo, nil)
	expo["version"], expo["end"] = 1, "2027-11-01"
	h.want(http.StatusUnprocessableEntity, http.MethodPut, cal+"/periods/ciie-2027", h.adminA, expo, nil)
	h.want(http.StatusForbidden, http.MethodPut, cal+"/periods/ciie-2027", h.analystA, expo, nil)
	var k Campaign
	h.want(http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+env.TenantA.Slug+"/campaigns/keyperiod", h.adminA,
		map[string]any{"period_id": "ciie-2027", "asset_ids": []string{sys.ID}, "ack_factor": 0.25}, &k)
	if k.Name != "2027年进博会" || k.AckFactor != 0.25 {
		t.Errorf("planned %q with factor %v", k.Name, k.AckFactor)
	}
	h.want(http.StatusNoContent, http.MethodDelete, cal+"/periods/national-day-2027?version=1", h.adminA, nil, nil)
	h.want(http.StatusOK, http.MethodGet, cal, h.adminA, nil, &c)
	for _, p := range c.Periods {
		if p.ID == "national-day-2027" {
			t.Error("the removed period is listed")
		}
	}
	if !c.Own || c.Version != 2 {
		t.Errorf("after the removal: own %v version %d", c.Own, c.Version)
	}
	h.want(http.StatusNotFound, http.MethodDelete, cal+"/periods/national-day-2027?version=2", h.adminA, nil, nil)
	var b KeyPeriodCalendar
	h.want(http.StatusOK, http.MethodGet, "/api/v1/tenants/"+env.TenantB.Slug+"/key-period-calendar", h.admin, nil, &b)
	if b.Own {
		t.Error("tenant B has tenant A's calendar")
	}
	h.want(http.StatusNotFound, http.MethodGet, cal, h.customer, nil, nil)
}
