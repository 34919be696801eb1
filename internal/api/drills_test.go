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
	srv, err := newServer(Options{Auth: env.Auth, Tenants: env.Tenants, Archive: env.Archive, Audit: env.Audit, Ops: env.Ops, Attachments: env.Attachments,
		Drills: exercise.NewService(env.Store, env.Audit, exercise.Options{Archive: env.Archive, Files: env.Attachments, WorkOrders: env.Ops}),
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

// TestDrillReportsAPI submits defender reports over the API, has the
// director accept them (scored as the default scheme says), keeps
// evidence on an attack record, and turns the drill's gap into one
// remediation work order.
func TestDrillReportsAPI(t *testing.T) {
	h := drillHarness(t)
	env := h.env
	base := "/api/v1/tenants/" + env.TenantA.Slug + "/drills"
	now := time.Now().UTC().Truncate(time.Second)
	in := map[string]any{"name": "Reports drill", "start": now.Add(-time.Hour), "end": now.Add(24 * time.Hour),
		"scope":         map[string]any{"cidrs": []string{"10.20.0.0/16"}},
		"teams":         []map[string]any{{"name": "red", "role": "attacker"}, {"name": "blue", "role": "defender"}, {"name": "ctl", "role": "director"}},
		"library_cases": []string{"lib-t1046-service-scan"}}
	var d Drill
	h.want(http.StatusCreated, http.MethodPost, base, h.adminA, in, &d)
	db := base + "/" + d.ID
	h.want(http.StatusOK, http.MethodPost, db+"/transitions", h.adminA, map[string]any{"to": "running", "version": d.Version}, nil)
	var rec DrillRecord
	h.want(http.StatusCreated, http.MethodPost, db+"/records", h.adminA,
		map[string]any{"team": "red", "what": "scan", "technique": "T1046", "address": "10.20.1.4", "at": now.Add(-time.Minute)}, &rec)

	var rp DrillReport
	h.want(http.StatusCreated, http.MethodPost, db+"/reports", h.analystA, map[string]any{"team": "blue", "kind": "tracing",
		"title": "Traced the scanner", "text": "<script>x</script>", "record_id": rec.ID}, &rp)
	if rp.Accepted || rp.Kind != "tracing" || rp.RecordID != rec.ID || rp.By == "" {
		t.Fatalf("submitted %+v", rp)
	}
	h.want(http.StatusUnprocessableEntity, http.MethodPost, db+"/reports", h.analystA, map[string]any{"team": "red", "kind": "tracing", "title": "x"}, nil)
	h.want(http.StatusForbidden, http.MethodPost, db+"/reports/"+rp.ID+"/decision", h.analystA, map[string]any{"accepted": true}, nil)
	var decided DrillReport
	h.want(http.StatusOK, http.MethodPost, db+"/reports/"+rp.ID+"/decision", h.adminA, map[string]any{"accepted": true}, &decided)
	// Default scheme: a first tracing report on a record is worth 100.
	if !decided.Accepted || decided.Points != 100 {
		t.Fatalf("decided %+v", decided)
	}
	var got Drill
	h.want(http.StatusOK, http.MethodGet, db, h.analystA, nil, &got)
	if got.Scores["blue"] != 100 || got.Board.Reports.Submitted != 1 || got.Board.Reports.Accepted != 1 {
		t.Fatalf("drill after the report: scores %v board %+v", got.Scores, got.Board)
	}
	var reps []DrillReport
	h.want(http.StatusOK, http.MethodGet, db+"/reports", h.analystA, nil, &reps)
	if len(reps) != 1 || reps[0].Text != "<script>x</script>" {
		t.Fatalf("reports %+v", reps)
	}

	// Evidence on the record.
	files := db + "/records/" + rec.ID + "/attachments"
	if r := h.uploadFile(files, h.analystA, "siem.png", []byte("\x89PNG\r\n\x1a\nxx"), "SIEM"); r.Code != http.StatusCreated {
		t.Fatalf("evidence upload: %d %s", r.Code, r.Body)
	}
	var list AttachmentList
	h.want(http.StatusOK, http.MethodGet, files, h.analystA, nil, &list)
	if len(list.Items) != 1 || list.Items[0].SniffedType != "image/png" {
		t.Fatalf("evidence %+v", list)
	}
	dl := h.want(http.StatusOK, http.MethodGet, files+"/"+list.Items[0].ID, h.adminA, nil, nil)
	if dl.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("download content type %q", dl.Header.Get("Content-Type"))
	}
	h.want(http.StatusNotFound, http.MethodGet, db+"/records/A-NOPE/attachments", h.analystA, nil, nil)
	h.want(http.StatusNotFound, http.MethodGet, files, h.customer, nil, nil)

	// The undetected scan is a gap: one work order.
	var gaps []DrillRemediation
	h.want(http.StatusOK, http.MethodGet, db+"/remediation?lang=zh-CN", h.analystA, nil, &gaps)
	if len(gaps) != 1 || gaps[0].WorkOrderID != "" || !strings.Contains(gaps[0].Title, "T1046") {
		t.Fatalf("gaps %+v", gaps)
	}
	var o WorkOrder
	h.want(http.StatusCreated, http.MethodPost, db+"/remediation", h.adminA, map[string]any{"case_id": gaps[0].CaseID, "lang": "en"}, &o)
	if o.Type != "remediation" || !strings.HasPrefix(o.SourceRef, "drill:"+d.ID+"/") {
		t.Fatalf("order %+v", o)
	}
	h.want(http.StatusConflict, http.MethodPost, db+"/remediation", h.adminA, map[string]any{"case_id": gaps[0].CaseID}, nil)
	h.want(http.StatusOK, http.MethodGet, db+"/remediation", h.analystA, nil, &gaps)
	if gaps[0].WorkOrderID != o.ID {
		t.Fatalf("gap not linked: %+v", gaps)
	}
}
