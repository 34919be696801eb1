package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline/policies"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// TestAgentDocuments sends a real inventory and baseline run of the
// agent's test host to the server: the host joins the inventory (once,
// however often it reports) and the baseline report is archived.
func TestAgentDocuments(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)
	token, _, err := a.Tenants.CreateToken(actx, tenant.TokenInput{Name: "agent", TenantID: acme.ID, Role: auth.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	viewer, _, err := a.Tenants.CreateToken(actx, tenant.TokenInput{Name: "viewer", TenantID: acme.ID, Role: auth.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}

	root := os.DirFS(filepath.Join("..", "agent", "testdata", "root"))
	inv, err := agent.Collect(t.Context(), agent.CollectOptions{FS: root, Interfaces: func() ([]agent.Interface, error) {
		return []agent.Interface{{Name: "eth0", Up: true, Addresses: []string{"10.20.0.7/24"}}}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	inv.AgentID = "7d1c4b0e-2f6a-4c3e-9b8d-1a2b3c4d5e6f"
	p, err := policies.Open("debian-ubuntu")
	if err != nil {
		t.Fatal(err)
	}
	res, err := agent.RunBaseline(t.Context(), p, agent.BaselineOptions{FS: root, AgentID: "7d1c4b0e-2f6a-4c3e-9b8d-1a2b3c4d5e6f", Hostname: inv.Host.Hostname})
	if err != nil {
		t.Fatal(err)
	}

	h := a.AgentHandler()
	post := func(path, token string, doc any) int {
		t.Helper()
		b, _ := json.Marshal(doc)
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Vigil-Agent", "7d1c4b0e-2f6a-4c3e-9b8d-1a2b3c4d5e6f")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code/100 != 2 {
			t.Logf("%s: %d %s", path, rec.Code, rec.Body.String())
		}
		return rec.Code
	}
	for range 2 {
		if code := post("/api/v1/agent/inventory", token, inv); code/100 != 2 {
			t.Fatalf("inventory: %d", code)
		}
	}
	if code := post("/api/v1/agent/inventory", viewer, inv); code/100 == 2 {
		t.Fatalf("a read-only token stored an inventory: %d", code)
	}
	if code := post("/api/v1/agent/baseline", token, res); code/100 != 2 {
		t.Fatalf("baseline: %d", code)
	}

	hosts, err := a.Store.Assets().List(actx, acme.ID, store.AssetFilter{Kind: "host"})
	if err != nil || len(hosts) != 1 {
		t.Fatalf("hosts %+v %v: want the agent's host once", hosts, err)
	}
	h0 := hosts[0]
	if h0.Name != inv.Host.Hostname || h0.Address != "10.20.0.7" || h0.Attributes["agent_id"] != "7d1c4b0e-2f6a-4c3e-9b8d-1a2b3c4d5e6f" || h0.LastSeenAt.IsZero() {
		t.Errorf("host asset %+v", h0)
	}
	reps, err := a.Store.Reports().List(actx, acme.ID, store.ReportFilter{Service: "baseline"})
	if err != nil || len(reps) != 1 || reps[0].SourceID != "7d1c4b0e-2f6a-4c3e-9b8d-1a2b3c4d5e6f" {
		t.Fatalf("baseline reports %+v %v", reps, err)
	}
}
