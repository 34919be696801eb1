package api

import (
	"context"
	"net/http"
	"testing"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// TestBaselineAPI lists and reads runs and walks a hardening item through
// the API: the proposer's own tokens cannot approve, another person's can;
// another tenant's runs are not found and read-only tokens cannot write.
func TestBaselineAPI(t *testing.T) {
	h := newHarness(t)
	// Handlers read the service when they serve.
	svc := hardening.NewService(h.env.Store, h.env.Audit, hardening.Options{})
	h.srv.opts.Baseline = svc
	ctx := h.env.AdminCtx(context.Background())
	rep := &baseline.Report{PolicyID: "vigil_openssh", Checks: []baseline.CheckResult{
		{ID: "70101", Title: "Root login <script>", Result: baseline.Failed, Remediation: "PermitRootLogin no"},
		{ID: "70102", Title: "Protocol", Result: baseline.Passed},
		{ID: "70103", Title: "Banner", Result: baseline.NotApplicable}}}
	run, err := svc.Record(ctx, h.env.TenantA.ID, hardening.RunInput{AssetID: h.env.AssetA.ID, Source: store.BaselineSourceManual,
		PolicyTitle: "OpenSSH", Report: rep})
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/tenants/acme/baseline"

	var list BaselineRunList
	h.want(http.StatusOK, http.MethodGet, base+"/runs", h.analystA, nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != run.ID || list.Items[0].Checks != nil || list.Items[0].Score == nil || *list.Items[0].Score != 50 {
		t.Fatalf("list %+v", list)
	}
	var got BaselineRun
	h.want(http.StatusOK, http.MethodGet, base+"/runs/"+run.ID+"?result=failed", h.analystA, nil, &got)
	if len(got.Checks) != 1 || got.Checks[0].ID != "70101" || got.Checks[0].Title != "Root login <script>" {
		t.Fatalf("run %+v", got)
	}
	h.wantProblem(http.StatusNotFound, http.MethodGet, "/api/v1/tenants/globex/baseline/runs/"+run.ID, h.admin, nil)
	h.wantProblem(http.StatusForbidden, http.MethodGet, "/api/v1/tenants/globex/baseline/runs", h.customer, nil)

	prop := HardeningProposal{RunID: run.ID, CheckID: "70101", Fix: "sed -i 's/^PermitRootLogin.*/PermitRootLogin no/' /etc/ssh/sshd_config"}
	h.wantProblem(http.StatusForbidden, http.MethodPost, base+"/hardening", h.analystA, prop)
	h.wantProblem(http.StatusUnprocessableEntity, http.MethodPost, base+"/hardening", h.adminA,
		HardeningProposal{RunID: run.ID, CheckID: "70102"}) // passed: nothing to harden
	var item HardeningItem
	h.want(http.StatusCreated, http.MethodPost, base+"/hardening", h.adminA, prop, &item)
	if item.State != "proposed" || item.Fix != prop.Fix {
		t.Fatalf("proposed %+v", item)
	}
	// Both tokens belong to the seeded admin: the same person.
	h.wantProblem(http.StatusForbidden, http.MethodPost, base+"/hardening/"+item.ID+"/approve", h.admin, HardeningDecision{})
	h.wantProblem(http.StatusUnprocessableEntity, http.MethodPost, base+"/hardening/"+item.ID+"/applied", h.adminA, nil)

	// A second person's token.
	actx := h.env.AdminCtx(context.Background())
	other, err := h.env.Tenants.CreateUser(actx, tenant.UserInput{Username: "expert-a", Password: "correct-horse-battery"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.env.Tenants.SetMembership(actx, other.ID, h.env.TenantA.ID, auth.RoleAdmin); err != nil { // tenant admins mint tokens
		t.Fatal(err)
	}
	tok, _, err := h.env.Tenants.CreateToken(h.env.As(context.Background(), other), tenant.TokenInput{Name: "expert", TenantID: h.env.TenantA.ID, Role: auth.RoleExpert})
	if err != nil {
		t.Fatal(err)
	}
	h.wantProblem(http.StatusUnprocessableEntity, http.MethodPost, base+"/hardening/"+item.ID+"/reject", tok, HardeningDecision{}) // reason required
	h.want(http.StatusOK, http.MethodPost, base+"/hardening/"+item.ID+"/approve", tok, HardeningDecision{Reason: "ok", Version: item.Version}, &item)
	if item.State != "approved" || item.DecidedAt == nil || item.DecidedBy != other.ID {
		t.Fatalf("approved %+v", item)
	}
	h.want(http.StatusOK, http.MethodPost, base+"/hardening/"+item.ID+"/applied", h.adminA, nil, &item)
	var items HardeningList
	h.want(http.StatusOK, http.MethodGet, base+"/hardening?state=applied", h.analystA, nil, &items)
	if len(items.Items) != 1 || items.Items[0].ID != item.ID {
		t.Fatalf("applied items %+v", items)
	}
	h.wantProblem(http.StatusUnprocessableEntity, http.MethodGet, base+"/hardening?state=bogus", h.analystA, nil)
	h.wantProblem(http.StatusNotFound, http.MethodGet, "/api/v1/tenants/globex/baseline/hardening/"+item.ID, h.admin, nil)
}
