package api

import (
	"context"
	"net/http"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/campaign/manager"
)

// TestPatchCampaignAckFactor changes a running key-period campaign's
// acknowledgement factor over the API: the new factor is returned and read
// back, out-of-bounds values are 422, a stale version is 409, a go-live
// gate has none, and the analyst of another tenant cannot reach it.
func TestPatchCampaignAckFactor(t *testing.T) {
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
	base := "/api/v1/tenants/" + env.TenantA.Slug + "/campaigns"
	var k Campaign
	h.want(http.StatusCreated, http.MethodPost, base+"/keyperiod", h.adminA,
		map[string]any{"period_id": "national-day-2027", "asset_ids": []string{sys.ID}, "ack_factor": 0.5}, &k)
	var got Campaign
	h.want(http.StatusOK, http.MethodPatch, base+"/"+k.ID, h.adminA, map[string]any{"ack_factor": 0.3, "version": k.Version}, &got)
	if got.AckFactor != 0.3 || got.Version != k.Version+1 {
		t.Fatalf("after the patch: factor %v version %d", got.AckFactor, got.Version)
	}
	h.want(http.StatusOK, http.MethodGet, base+"/"+k.ID, h.analystA, nil, &got)
	if got.AckFactor != 0.3 {
		t.Errorf("read back: %v", got.AckFactor)
	}
	h.want(http.StatusConflict, http.MethodPatch, base+"/"+k.ID, h.adminA, map[string]any{"ack_factor": 0.2, "version": k.Version}, nil)
	for _, bad := range []float64{0.05, 1.5, -1} {
		h.want(http.StatusUnprocessableEntity, http.MethodPatch, base+"/"+k.ID, h.adminA, map[string]any{"ack_factor": bad}, nil)
	}
	h.want(http.StatusUnprocessableEntity, http.MethodPatch, base+"/"+k.ID, h.adminA, map[string]any{}, nil)
	h.want(http.StatusNotFound, http.MethodPatch, base+"/"+k.ID, h.customer, map[string]any{"ack_factor": 0.2}, nil)
	h.want(http.StatusNotFound, http.MethodPatch, base+"/no-such-campaign", h.adminA, map[string]any{"ack_factor": 0.2}, nil)
}
