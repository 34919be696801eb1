package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/posture"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestIncidentsAndPosture promotes an alert to a case over the API, moves
// it, refuses a stale version, and reads the posture the alert costs.
func TestIncidentsAndPosture(t *testing.T) {
	h := newHarness(t)
	env := h.env
	al := store.Alert{TenantID: env.TenantA.ID, GroupKey: "bf|db-01", RuleID: "bf", RuleTitle: "Brute force", Level: "critical",
		Host: "db-01", Status: "new", LastSeen: time.Now()}
	if _, err := env.Store.Alerts().Raise(t.Context(), &al, time.Minute, []string{"new"}, 3); err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/tenants/" + env.TenantA.Slug

	var pst Posture
	h.want(http.StatusOK, http.MethodGet, base+"/posture", h.analystA, nil, &pst)
	want := posture.Compute(posture.Measures{CriticalAlerts: 1, BreachedCases: -1})
	if pst.Alerts.Open["critical"] != 1 || pst.Score.Value != want.Value {
		t.Errorf("posture: %d critical alerts, score %d; want 1 and %d", pst.Alerts.Open["critical"], pst.Score.Value, want.Value)
	}
	h.want(http.StatusNotFound, http.MethodGet, base+"/posture", h.customer, nil, nil)

	var c Incident
	h.want(http.StatusOK, http.MethodPost, base+"/incidents/promote", h.analystA,
		map[string]any{"alert_ids": []string{al.ID}, "title": "Brute force on db-01"}, &c)
	if c.Phase != "detect" || c.Ref == "" || len(c.Timers) != 3 {
		t.Fatalf("promoted case %+v", c)
	}
	var moved Incident
	h.want(http.StatusOK, http.MethodPost, base+"/incidents/"+c.ID+"/phase", h.analystA,
		map[string]any{"phase": "contain", "version": c.Version, "reason": "blocked at the firewall"}, &moved)
	if moved.Phase != "contain" || moved.Version == c.Version {
		t.Fatalf("moved case %+v", moved)
	}
	h.want(http.StatusConflict, http.MethodPost, base+"/incidents/"+c.ID+"/phase", h.analystA,
		map[string]any{"phase": "eradicate", "version": c.Version}, nil)
	h.want(http.StatusOK, http.MethodPost, base+"/incidents/"+c.ID+"/observables", h.analystA,
		[]map[string]any{{"type": "ip", "value": "203.0.113.9", "ioc": true}}, nil)
	var list IncidentList
	h.want(http.StatusOK, http.MethodGet, base+"/incidents?q=203.0.113.9", h.analystA, nil, &list)
	if list.Total != 1 || list.Items[0].ID != c.ID {
		t.Errorf("search by observable: %+v", list)
	}
	var tl []TimelineItem
	h.want(http.StatusOK, http.MethodGet, base+"/incidents/"+c.ID+"/timeline", h.analystA, nil, &tl)
	if len(tl) == 0 {
		t.Error("empty timeline")
	}
	h.want(http.StatusNotFound, http.MethodGet, base+"/incidents/"+c.ID, h.customer, nil, nil)
}
