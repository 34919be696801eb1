package storetest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testDetection checks custom rules, rule settings and correlation
// snapshots: replace keeps the creator, everything is per tenant, and a
// tenant's deletion takes its rows along.
func testDetection(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := s.Detection()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")

	src := []byte("title: 可疑的 PowerShell\nid: 7a0d3b1e-0000-4000-8000-000000000001\n")
	r := store.CustomRule{TenantID: a.ID, ID: "7a0d3b1e-0000-4000-8000-000000000001", Title: "可疑的 PowerShell", Source: src, CreatedBy: "u1"}
	ok(t, d.PutCustomRule(ctx, &r))
	stamped(t, "created", r.CreatedAt)
	if r.CreatedBy != "u1" || !r.UpdatedAt.Equal(r.CreatedAt) {
		t.Fatalf("created %+v", r)
	}
	// Replace: new title and source, the creator stays.
	r2 := store.CustomRule{TenantID: a.ID, ID: r.ID, Title: "Suspicious PowerShell", Source: []byte("title: Suspicious PowerShell\n"), CreatedBy: "u2"}
	ok(t, d.PutCustomRule(ctx, &r2))
	if r2.CreatedBy != "u1" || r2.Title != "Suspicious PowerShell" || !r2.CreatedAt.Equal(r.CreatedAt) {
		t.Fatalf("replaced %+v", r2)
	}
	other := store.CustomRule{TenantID: b.ID, ID: r.ID, Title: "Beta's copy", Source: src}
	ok(t, d.PutCustomRule(ctx, &other))
	if err := d.PutCustomRule(ctx, &store.CustomRule{TenantID: a.ID}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("rule without id: %v", err)
	}
	got, err := d.CustomRules(ctx, a.ID)
	ok(t, err)
	if len(got) != 1 || got[0].Title != "Suspicious PowerShell" || string(got[0].Source) != "title: Suspicious PowerShell\n" {
		t.Fatalf("alpha's rules %+v", got)
	}
	all, err := d.CustomRules(ctx, "")
	ok(t, err)
	if len(all) != 2 {
		t.Fatalf("every tenant's rules: %d", len(all))
	}

	// Settings.
	set := store.RuleSetting{TenantID: a.ID, RuleID: "rule-1", Enabled: false, UpdatedBy: "u1"}
	ok(t, d.SetRuleEnabled(ctx, &set))
	stamped(t, "setting", set.UpdatedAt)
	ok(t, d.SetRuleEnabled(ctx, &store.RuleSetting{TenantID: a.ID, RuleID: "rule-2", Enabled: false}))
	ok(t, d.SetRuleEnabled(ctx, &store.RuleSetting{TenantID: a.ID, RuleID: "rule-2", Enabled: true, UpdatedBy: "u2"}))
	ok(t, d.SetRuleEnabled(ctx, &store.RuleSetting{TenantID: b.ID, RuleID: "rule-1", Enabled: true}))
	ss, err := d.RuleSettings(ctx, a.ID)
	ok(t, err)
	if len(ss) != 2 || ss[0].RuleID != "rule-1" || ss[0].Enabled || ss[1].RuleID != "rule-2" || !ss[1].Enabled || ss[1].UpdatedBy != "u2" {
		t.Fatalf("alpha's settings %+v", ss)
	}
	ss, err = d.RuleSettings(ctx, "")
	ok(t, err)
	if len(ss) != 3 {
		t.Fatalf("every tenant's settings: %d", len(ss))
	}

	// Correlation state: replaced whole, bounded.
	st := store.CorrelationState{TenantID: a.ID, State: []byte(`{"v":1}`)}
	ok(t, d.SaveCorrelationState(ctx, &st))
	stamped(t, "saved", st.SavedAt)
	ok(t, d.SaveCorrelationState(ctx, &store.CorrelationState{TenantID: a.ID, State: []byte(`{"v":2,"名":"值"}`)}))
	ok(t, d.SaveCorrelationState(ctx, &store.CorrelationState{TenantID: b.ID, State: []byte(`{"v":3}`)}))
	big := store.CorrelationState{TenantID: b.ID, State: bytes.Repeat([]byte("x"), store.MaxCorrelationState+1)}
	if err := d.SaveCorrelationState(ctx, &big); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("oversized state: %v", err)
	}
	cs, err := d.CorrelationStates(ctx)
	ok(t, err)
	if len(cs) != 2 {
		t.Fatalf("states %+v", cs)
	}
	for _, c := range cs {
		want := map[string]string{a.ID: `{"v":2,"名":"值"}`, b.ID: `{"v":3}`}[c.TenantID]
		if string(c.State) != want {
			t.Fatalf("state of %s = %s, want %s", c.TenantID, c.State, want)
		}
	}
	ok(t, d.DeleteCorrelationState(ctx, b.ID))
	ok(t, d.DeleteCorrelationState(ctx, b.ID)) // absent is fine

	// Deletion: another tenant's rule is not found; a tenant's deletion
	// cascades.
	if err := d.DeleteCustomRule(ctx, b.ID, "no-such-rule"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete unknown: %v", err)
	}
	ok(t, d.DeleteCustomRule(ctx, b.ID, r.ID))
	if got, _ := d.CustomRules(ctx, a.ID); len(got) != 1 {
		t.Fatalf("beta's delete touched alpha: %+v", got)
	}
	ok(t, s.Tenants().Delete(ctx, a.ID))
	if got, _ := d.CustomRules(ctx, ""); len(got) != 0 {
		t.Fatalf("rules after tenant deletion %+v", got)
	}
	if got, _ := d.RuleSettings(ctx, ""); len(got) != 1 || got[0].TenantID != b.ID {
		t.Fatalf("settings after tenant deletion %+v", got)
	}
	if got, _ := d.CorrelationStates(ctx); len(got) != 0 {
		t.Fatalf("state after tenant deletion %+v", got)
	}
}
