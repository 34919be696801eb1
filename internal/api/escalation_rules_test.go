package api

import (
	"net/http"
	"testing"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestEscalationRulesAPI: a rule is saved and read through the API with
// its steps; once the KEV job has counted the backlog the rule skipped,
// the rule's resource shows the count; another tenant's caller sees
// nothing; the digest runs list a week skipped for want of a channel.
func TestEscalationRulesAPI(t *testing.T) {
	h := newHarness(t)
	admin := h.env.AdminCtx(t.Context())
	nc, err := h.env.Alerting.Create(admin, h.env.TenantA.ID, alerting.Input{Name: "hook", Kind: "webhook",
		Settings: []byte(`{"url":"https://hooks.invalid/x"}`), MinLevel: "high"})
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/tenants/" + h.env.TenantA.Slug + "/escalation-rules"
	body := map[string]any{"enabled": true, "kinds": []string{"kev-match"}, "min_severity": "high",
		"steps":       []map[string]any{{"channels": []string{nc.ID}, "after_seconds": 900}, {"channels": []string{nc.ID}, "after_seconds": 0}},
		"quiet_hours": map[string]any{"zone": "Asia/Shanghai", "start": "22:00", "end": "07:00", "bypass": []string{"critical"}}}
	var r EscalationRule
	h.want(http.StatusOK, http.MethodPut, base+"/kev", h.admin, body, &r)
	if r.Name != "kev" || !r.Enabled || !r.TakesKEV || !r.KEVBacklogPending || r.KEVSkipped != 0 || r.EnabledAt == nil ||
		len(r.Steps) != 2 || r.Steps[0].AfterSeconds != 900 || r.QuietHours == nil || r.QuietHours.Zone != "Asia/Shanghai" {
		t.Fatalf("saved rule %+v", r)
	}
	// A step naming a channel of no tenant is refused.
	bad := map[string]any{"enabled": true, "steps": []map[string]any{{"channels": []string{"no-such-channel"}, "after_seconds": 0}}}
	h.want(http.StatusUnprocessableEntity, http.MethodPut, base+"/bad", h.admin, bad, nil)
	// The analyst reads but may not write rules; B's customer sees none.
	h.want(http.StatusForbidden, http.MethodPut, base+"/kev", h.analystA, body, nil)
	h.want(http.StatusNotFound, http.MethodGet, base, h.customer, nil, nil)
	h.want(http.StatusNotFound, http.MethodGet, base+"/missing", h.admin, nil, nil)

	// The KEV job counts the backlog once (here straight through the
	// store, as the job does; the counting itself is tested in alerting).
	const skipped = 4
	if err := h.env.Store.Escalations().SkipKEVBacklog(admin, h.env.TenantA.ID, "kev", *r.EnabledAt, skipped); err != nil {
		t.Fatal(err)
	}
	var got EscalationRule
	h.want(http.StatusOK, http.MethodGet, base+"/kev", h.analystA, nil, &got)
	if got.KEVSkipped != skipped || got.KEVBacklogPending {
		t.Fatalf("rule after the backlog %+v", got)
	}
	var list EscalationRuleList
	h.want(http.StatusOK, http.MethodGet, base, h.analystA, nil, &list)
	if len(list.Items) != 1 || list.Items[0].KEVSkipped != skipped {
		t.Fatalf("rules %+v", list)
	}
	h.want(http.StatusNoContent, http.MethodDelete, base+"/kev", h.admin, nil, nil)

	// Tenant B has no channel: its week is skipped, with the reason.
	if _, err := h.env.Alerting.SendDueDigests(admin, nil); err != nil {
		t.Fatal(err)
	}
	var runs DigestRunList
	h.want(http.StatusOK, http.MethodGet, "/api/v1/tenants/"+h.env.TenantB.Slug+"/digest-runs", h.admin, nil, &runs)
	if len(runs.Items) != 1 || runs.Items[0].Status != store.DigestSkipped || runs.Items[0].Error != alerting.DigestNoChannel ||
		runs.Items[0].Manual {
		t.Fatalf("runs of B %+v", runs)
	}
	h.want(http.StatusNotFound, http.MethodGet, "/api/v1/tenants/"+h.env.TenantA.Slug+"/digest-runs", h.customer, nil, nil)
}
