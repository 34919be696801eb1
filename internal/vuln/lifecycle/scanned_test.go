package lifecycle_test

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/vuln"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

func TestImportScannedTenantSLAAndVerified(t *testing.T) {
	e, s, c := newService(t)
	ctx := e.AdminCtx(t.Context())
	if err := s.SetTenantSLA(ctx, e.TenantA.ID, map[string]int{"high": 10}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []map[string]int{{"high": -1}, {"high": lifecycle.MaxSLADays + 1}, {"info": 3}} {
		if err := s.SetTenantSLA(ctx, e.TenantA.ID, bad); err == nil {
			t.Errorf("SetTenantSLA accepted %v", bad)
		}
	}
	if err := s.SetTenantSLA(e.As(t.Context(), e.CustomerB), e.TenantA.ID, map[string]int{"high": 1}); err == nil {
		t.Error("a user of another tenant set the SLA")
	}
	f := lifecycle.ScannedFinding{Layer: "configuration", Finding: vuln.Finding{Fingerprint: "fp-1", Scanner: "vigil",
		RuleID: "tls/cert-expired", Title: "expired", Severity: vuln.SeverityHigh, Asset: vuln.Asset{IP: "192.0.2.5", Port: 443},
		Occurrences: 1}}
	sc, err := s.ImportScanned(ctx, e.TenantA.ID, "vigil", "test", []lifecycle.ScannedFinding{f}, true)
	if err != nil || sc.Added != 1 || sc.Scanner != "vigil" {
		t.Fatalf("import %+v, %v", sc, err)
	}
	list, _, err := s.List(ctx, e.TenantA.ID, lifecycle.Filter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("list %d, %v", len(list), err)
	}
	got := list[0]
	if got.Layer != "configuration" || !got.DueAt.Equal(c.t.Add(10*24*time.Hour)) {
		t.Errorf("layer %q due %v, want configuration and the tenant's 10 days", got.Layer, got.DueAt)
	}
	// Still there and open: no change. Gone: closed. Back: reopened.
	for _, step := range []struct {
		present bool
		want    string
	}{{true, lifecycle.StateNew}, {false, lifecycle.StateClosed}, {false, lifecycle.StateClosed}, {true, lifecycle.StateReopened}} {
		st, err := s.Verified(ctx, e.TenantA.ID, got.ID, step.present, "probe")
		if err != nil || st != step.want {
			t.Fatalf("Verified(present=%v) = %q, %v; want %s", step.present, st, err, step.want)
		}
	}
	if _, err := s.Verified(e.As(t.Context(), e.CustomerB), e.TenantA.ID, got.ID, false, "x"); err == nil {
		t.Error("a user of another tenant verified a finding")
	}
}
