package api

import (
	"net/http"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
)

// TestDiscoveryRunSubdomainsRefused starts runs with subdomain
// enumeration through the API: a domain the tenant did not declare and a
// bad word are refused with 422 before anything is stored, and an analyst
// may not start one.
func TestDiscoveryRunSubdomainsRefused(t *testing.T) {
	h := newHarness(t)
	ctx := h.env.AdminCtx(t.Context())
	for _, in := range []asset.Input{{Kind: "ip", Name: "lab", Address: "127.0.0.0/29"}, {Kind: "domain", Name: "corp", Address: "corp.test"}} {
		if _, err := h.env.Assets.Create(ctx, h.env.TenantA.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	base := "/api/v1/tenants/acme/discovery-runs"
	for _, sd := range []SubdomainInput{
		{Domains: []string{"other.test"}, Words: []string{"www"}},
		{Words: []string{"bad label!"}},
		{Domains: []string{"corp.test"}},
	} {
		p := h.wantProblem(http.StatusUnprocessableEntity, pst, base, h.adminA, DiscoveryInput{Targets: "127.0.0.1", Subdomains: &sd})
		if len(p.Errors) == 0 {
			t.Errorf("%+v: problem without a field: %+v", sd, p)
		}
	}
	h.want(http.StatusForbidden, pst, base, h.analystA, DiscoveryInput{Targets: "127.0.0.1",
		Subdomains: &SubdomainInput{Words: []string{"www"}}}, nil)
	var runs []DiscoveryRun
	h.want(http.StatusOK, get, base, h.adminA, nil, &runs)
	if len(runs) != 0 {
		t.Fatalf("refused runs were stored: %+v", runs)
	}
}
