package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
)

// TestDiscoveryRunHostDiscovery starts a run with host discovery through
// the API: the run says so, and once done its result carries the host
// discovery summary with the methods used (and why others were not);
// an analyst may not start one, another tenant cannot.
func TestDiscoveryRunHostDiscovery(t *testing.T) {
	h := newHarness(t)
	ctx := h.env.AdminCtx(t.Context())
	if _, err := h.env.Assets.Create(ctx, h.env.TenantA.ID, asset.Input{Kind: "ip", Name: "lab", Address: "127.0.0.0/29"}); err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/tenants/acme/discovery-runs"
	h.want(http.StatusForbidden, pst, base, h.analystA, DiscoveryInput{Targets: "127.0.0.1", Ports: "1", HostDiscovery: true}, nil)
	var run DiscoveryRun
	h.want(http.StatusAccepted, pst, base, h.adminA, DiscoveryInput{Targets: "127.0.0.1", Ports: "1", HostDiscovery: true}, &run)
	if !run.HostDiscovery {
		t.Fatalf("run %+v", run)
	}
	deadline := time.Now().Add(30 * time.Second)
	for run.Status != "done" && run.Status != "failed" {
		if time.Now().After(deadline) {
			t.Fatalf("run still %s", run.Status)
		}
		time.Sleep(50 * time.Millisecond)
		h.want(http.StatusOK, get, base+"/"+run.ID, h.adminA, nil, &run)
	}
	if run.Status != "done" || run.Result == nil || run.Result.HostDiscovery == nil || !run.HostDiscovery {
		t.Fatalf("run %+v", run)
	}
	hd := run.Result.HostDiscovery
	if hd.Hosts != 1 || len(hd.Methods) < 2 {
		t.Fatalf("host discovery %+v", hd)
	}
	// The run is A's: asked for under B it is not found.
	h.wantProblem(http.StatusNotFound, get, "/api/v1/tenants/globex/discovery-runs/"+run.ID, h.admin, nil)
}
