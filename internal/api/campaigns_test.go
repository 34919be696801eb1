package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/campaign/manager"
)

// TestCampaigns opens a gate over the API, runs a check against a
// loopback server, answers an item, decides, plans a key-period campaign
// with its roster, and checks the tenant scope and the read-only role.
func TestCampaigns(t *testing.T) {
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
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer web.Close()
	sys, err := env.Assets.Create(env.AdminCtx(context.Background()), env.TenantA.ID, asset.Input{Kind: "host", Name: "portal", Address: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/tenants/" + env.TenantA.Slug + "/campaigns"
	var c Campaign
	h.want(http.StatusCreated, http.MethodPost, base+"/golive", h.adminA, map[string]any{"asset_id": sys.ID, "version": "1.0", "owner": "张三",
		"planned": time.Now().Add(48 * time.Hour), "asvs_level": 1, "urls": []string{web.URL + "/"}}, &c)
	if c.Kind != "golive" || c.Decision == nil || c.Decision.Outcome != "fail" || len(c.Tasks) == 0 {
		t.Fatalf("created %+v", c.CampaignSummary)
	}
	h.want(http.StatusUnprocessableEntity, http.MethodPost, base+"/golive", h.adminA, map[string]any{"asset_id": sys.ID, "version": "1.1", "owner": "x",
		"planned": time.Now(), "asvs_level": 1, "urls": []string{"http://192.0.2.5/"}}, nil)
	var ran Campaign
	h.want(http.StatusOK, http.MethodPost, base+"/"+c.ID+"/tasks/default-creds/run", h.adminA, nil, &ran)
	for _, task := range ran.Tasks {
		if task.ID == "default-creds" && (len(task.Results) != 1 || task.Results[0].Status != "not-applicable" || task.Results[0].Run != 1) {
			t.Errorf("default-creds result %+v", task.Results)
		}
	}
	h.want(http.StatusOK, http.MethodPost, base+"/"+c.ID+"/answers", h.adminA, map[string]any{"task": "design", "item": "design-ports",
		"status": "passed", "evidence": []string{"设计文档 v3"}}, nil)
	h.want(http.StatusUnprocessableEntity, http.MethodPost, base+"/"+c.ID+"/answers", h.adminA, map[string]any{"task": "design", "item": "design-ports",
		"status": "passed"}, nil)
	var d CampaignDecision
	h.want(http.StatusCreated, http.MethodPost, base+"/"+c.ID+"/decisions", h.adminA, map[string]any{}, &d)
	if d.Outcome != "fail" || d.Seq != 1 {
		t.Errorf("decision %+v", d)
	}
	var list []CampaignSummary
	h.want(http.StatusOK, http.MethodGet, base+"?kind=golive", h.analystA, nil, &list)
	if len(list) != 1 || list[0].Outcome != "fail" {
		t.Errorf("list %+v", list)
	}
	// The analyst reads but does not change; tenant B's customer sees nothing.
	h.want(http.StatusOK, http.MethodGet, base+"/"+c.ID, h.analystA, nil, nil)
	h.want(http.StatusForbidden, http.MethodPost, base+"/"+c.ID+"/tasks/ports/run", h.analystA, nil, nil)
	h.want(http.StatusNotFound, http.MethodGet, base+"/"+c.ID, h.customer, nil, nil)
	h.want(http.StatusNotFound, http.MethodGet, "/api/v1/tenants/"+env.TenantB.Slug+"/campaigns/"+c.ID, h.admin, nil, nil)

	var k Campaign
	h.want(http.StatusCreated, http.MethodPost, base+"/keyperiod", h.adminA, map[string]any{"period_id": "national-day-2027", "asset_ids": []string{sys.ID}}, &k)
	if k.Kind != "keyperiod" || len(k.Phases) != 6 {
		t.Fatalf("key-period campaign %+v", k.CampaignSummary)
	}
	start := k.Phases[4].Start
	h.want(http.StatusNoContent, http.MethodPut, base+"/"+k.ID+"/roster", h.adminA, map[string]any{"shifts": []map[string]any{
		{"start": start, "end": start.Add(12 * time.Hour), "lead": map[string]any{"name": "李四", "phone": "138"}}}}, nil)
	h.want(http.StatusUnprocessableEntity, http.MethodPut, base+"/"+k.ID+"/roster", h.adminA, map[string]any{"shifts": []map[string]any{
		{"start": start, "end": start.Add(-time.Hour), "lead": map[string]any{"name": "李四"}}}}, nil)
	var drs []DailyReport
	h.want(http.StatusOK, http.MethodGet, base+"/"+k.ID+"/daily-reports", h.analystA, nil, &drs)
	if len(drs) != 0 {
		t.Errorf("daily reports before the watch: %v", drs)
	}
}
