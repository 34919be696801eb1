package api

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill/exercise"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestDrills plans and runs a drill over the API: the scope guard refuses
// an out-of-scope record (422, nothing stored), an alert on the target is
// proposed and confirmed by the analyst, a stale transition is a conflict,
// the analyst may not direct (403) and another tenant's token sees 404.
func TestDrills(t *testing.T) {
	h := drillHarness(t)
	env := h.env
	base := "/api/v1/tenants/" + env.TenantA.Slug + "/drills"
	now := time.Now().UTC().Truncate(time.Second)
	in := map[string]any{"name": "Key period <b>drill</b>", "start": now.Add(-time.Hour), "end": now.Add(24 * time.Hour),
		"scope":         map[string]any{"cidrs": []string{"10.20.0.0/16"}, "exclude_cidrs": []string{"10.20.99.0/24"}},
		"teams":         []map[string]any{{"name": "red", "role": "attacker"}, {"name": "blue", "role": "defender"}, {"name": "ctl", "role": "director"}},
		"library_cases": []string{"lib-t1046-service-scan"}}
	h.want(http.StatusForbidden, http.MethodPost, base, h.analystA, in, nil)
	var d Drill
	h.want(http.StatusCreated, http.MethodPost, base, h.adminA, in, &d)
	if d.State != "planned" || len(d.Cases) != 1 || d.Cases[0].Technique != "T1046" || d.Version != 1 {
		t.Fatalf("created %+v", d)
	}
	bad := map[string]any{"name": "x", "start": now, "end": now.Add(time.Hour), "scope": map[string]any{},
		"teams": in["teams"]}
	if p := h.wantProblem(http.StatusUnprocessableEntity, http.MethodPost, base, h.adminA, bad); !strings.Contains(p.Detail, "nothing is in scope") {
		t.Errorf("empty scope: %+v", p)
	}

	h.want(http.StatusForbidden, http.MethodPost, base+"/"+d.ID+"/transitions", h.analystA, map[string]any{"to": "running", "version": 1}, nil)
	var started Drill
	h.want(http.StatusOK, http.MethodPost, base+"/"+d.ID+"/transitions", h.adminA, map[string]any{"to": "running", "version": 1}, &started)
	h.want(http.StatusConflict, http.MethodPost, base+"/"+d.ID+"/transitions", h.adminA, map[string]any{"to": "finished", "version": 1}, nil)

	out := map[string]any{"team": "red", "what": "scan", "technique": "T1046", "address": "10.20.99.4"}
	if p := h.wantProblem(http.StatusUnprocessableEntity, http.MethodPost, base+"/"+d.ID+"/records", h.adminA, out); !strings.Contains(p.Detail, "out of scope") {
		t.Errorf("out of scope: %+v", p)
	}
	var rec DrillRecord
	h.want(http.StatusCreated, http.MethodPost, base+"/"+d.ID+"/records", h.adminA,
		map[string]any{"team": "red", "what": "scan", "technique": "t1046", "address": "10.20.1.4", "at": now.Add(-time.Minute)}, &rec)
	var recs []DrillRecord
	h.want(http.StatusOK, http.MethodGet, base+"/"+d.ID+"/records", h.analystA, nil, &recs)
	if len(recs) != 1 || recs[0].ID != rec.ID || recs[0].Technique != "T1046" {
		t.Fatalf("records = %+v", recs)
	}

	al := store.Alert{TenantID: env.TenantA.ID, GroupKey: "scan|10.20.1.4", RuleID: "scan", RuleTitle: "Port scan", Level: "medium",
		Host: "10.20.1.4", Tags: []string{"attack.discovery", "attack.t1046"}, Status: "new", FirstSeen: now, LastSeen: now}
	if _, err := env.Store.Alerts().Raise(t.Context(), &al, time.Minute, []string{"new"}, 3); err != nil {
		t.Fatal(err)
	}
	var sugs []DrillSuggestion
	h.want(http.StatusOK, http.MethodGet, base+"/"+d.ID+"/suggestions", h.analystA, nil, &sugs)
	if len(sugs) != 1 || sugs[0].AlertID != al.ID || sugs[0].Matched != "address" || sugs[0].DelayMS != time.Minute.Milliseconds() {
		t.Fatalf("suggestions = %+v", sugs)
	}
	var confirmed Drill
	h.want(http.StatusOK, http.MethodPost, base+"/"+d.ID+"/confirmations", h.analystA,
		map[string]any{"record_id": rec.ID, "alert_id": al.ID}, &confirmed)
	if confirmed.Board.Alerted != 1 || confirmed.Board.Executed != 1 {
		t.Fatalf("board after the confirmation: %+v", confirmed.Board)
	}

	var list []DrillSummary
	h.want(http.StatusOK, http.MethodGet, base, h.analystA, nil, &list)
	if len(list) != 1 || list[0].State != "running" {
		t.Fatalf("list = %+v", list)
	}
	h.want(http.StatusNotFound, http.MethodGet, base+"/"+d.ID, h.customer, nil, nil)
	h.want(http.StatusNotFound, http.MethodGet, "/api/v1/tenants/"+env.TenantB.Slug+"/drills/"+d.ID, h.admin, nil, nil)
}

// drillHarness is a harness with the drill service, which needs the store
// the shared harness does not hand to its option functions.
func drillHarness(t *testing.T) *harness {
	t.Helper()
	env := fixture.New(t)
	srv, err := newServer(Options{Auth: env.Auth, Tenants: env.Tenants, Archive: env.Archive, Audit: env.Audit,
		Drills: exercise.NewService(env.Store, env.Audit, exercise.Options{Archive: env.Archive}),
		Logger: slog.New(slog.DiscardHandler), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, env: env, srv: srv, h: srv.handler()}
	h.admin = h.token("", auth.RoleAdmin)
	h.adminA = h.token(env.TenantA.ID, auth.RoleAdmin)
	h.analystA = h.token(env.TenantA.ID, auth.RoleAnalyst)
	h.customer = h.token(env.TenantB.ID, auth.RoleCustomer)
	return h
}
