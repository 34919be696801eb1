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
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/policies"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// TestAgentBaselineStoredAsRun posts an agent's baseline run before its
// inventory: the run is stored on a host asset made for the agent, with
// the agent's counts, and the later inventory lands on the same asset.
func TestAgentBaselineStoredAsRun(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)
	token, _, err := a.Tenants.CreateToken(actx, tenant.TokenInput{Name: "agent", TenantID: acme.ID, Role: auth.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	const agentID = "0b5e3c1a-9d7f-4e2b-8c6a-5f4e3d2c1b0a"
	root := os.DirFS(filepath.Join("..", "agent", "testdata", "root"))
	inv, err := agent.Collect(t.Context(), agent.CollectOptions{FS: root, Interfaces: func() ([]agent.Interface, error) {
		return []agent.Interface{{Name: "eth0", Up: true, Addresses: []string{"10.20.0.8/24"}}}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	inv.AgentID = agentID
	p, err := policies.Open("openssh")
	if err != nil {
		t.Fatal(err)
	}
	res, err := agent.RunBaseline(t.Context(), p, agent.BaselineOptions{FS: root, AgentID: agentID, Hostname: inv.Host.Hostname})
	if err != nil {
		t.Fatal(err)
	}
	h := a.AgentHandler()
	post := func(path string, doc any) {
		t.Helper()
		b, _ := json.Marshal(doc)
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Vigil-Agent", agentID)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code/100 != 2 {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
		}
	}
	post("/api/v1/agent/baseline", res)
	post("/api/v1/agent/inventory", inv)

	hosts, err := a.Store.Assets().List(actx, acme.ID, store.AssetFilter{Kind: "host"})
	if err != nil || len(hosts) != 1 || hosts[0].Attributes["agent_id"] != agentID || hosts[0].Address != "10.20.0.8" {
		t.Fatalf("hosts %+v %v: want one host for the agent", hosts, err)
	}
	runs, err := a.Baseline.Runs(actx, acme.ID, store.BaselineRunFilter{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %+v %v", runs, err)
	}
	want := baseline.TallyReport(&res.Report)
	r := runs[0]
	if r.AssetID != hosts[0].ID || r.Source != store.BaselineSourceAgent || r.PolicyID != p.ID || r.CreatedBy != "agent:"+agentID ||
		r.Passed != want.Passed || r.Failed != want.Failed || r.NotApplicable != want.NotApplicable || !r.FinishedAt.Equal(res.CollectedAt.UTC().Truncate(1000)) {
		t.Errorf("run %+v, agent report %+v at %v", r, want, res.CollectedAt)
	}
}
