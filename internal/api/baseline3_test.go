package api

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/secret"
)

// uploadBaselineFile posts a device configuration as an offline result.
func (h *harness) uploadBaselineFile(path, token, assetID, policy string, content []byte) response {
	h.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if content != nil {
		fw, err := mw.CreateFormFile("file", "running-config.txt")
		if err != nil {
			h.t.Fatal(err)
		}
		_, _ = fw.Write(content)
	}
	_ = mw.WriteField("asset_id", assetID)
	_ = mw.WriteField("policy", policy)
	_ = mw.Close()
	req := httptest.NewRequest(http.MethodPost, path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// TestBaselineUploadsManualDiffSchedules drives what the baseline pages
// offer over the API: two offline device configurations are evaluated, the
// comparison of the two runs agrees with their check results, an assessor
// completes a manual check, and a schedule is created, changed, run against
// a closed port (the failure is on the schedule) and removed.
func TestBaselineUploadsManualDiffSchedules(t *testing.T) {
	h := newHarness(t)
	ctx := h.env.AdminCtx(context.Background())
	weak, err := os.ReadFile("../baseline/policies/testdata/devices/cisco-ios-weak.cfg")
	if err != nil {
		t.Fatal(err)
	}
	hardened, err := os.ReadFile("../baseline/policies/testdata/devices/cisco-ios-hardened.cfg")
	if err != nil {
		t.Fatal(err)
	}
	// A closed loopback port: the scheduled check fails at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	dev, err := h.env.Assets.Create(ctx, h.env.TenantA.ID, asset.Input{Kind: "device", Name: "core-sw", Address: "127.0.0.1", Importance: 3})
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/tenants/" + h.env.TenantA.Slug + "/baseline"

	upload := func(token string, cfg []byte, want int) BaselineRun {
		t.Helper()
		r := h.uploadBaselineFile(base+"/uploads", token, dev.ID, "cisco-ios", cfg)
		if r.Code != want {
			t.Fatalf("upload: %d %s", r.Code, r.Body)
		}
		var run BaselineRun
		if want == http.StatusCreated {
			if err := json.Unmarshal(r.Body, &run); err != nil {
				t.Fatal(err)
			}
		}
		return run
	}
	upload(h.adminA, nil, http.StatusUnprocessableEntity) // no file
	upload(h.analystA, weak, http.StatusForbidden)        // reads assessments only
	upload(h.customer, weak, http.StatusNotFound)         // another tenant's caller
	if r := h.uploadBaselineFile(base+"/uploads", h.adminA, dev.ID, "no-such-policy", weak); r.Code != http.StatusUnprocessableEntity &&
		r.Code != http.StatusNotFound {
		t.Fatalf("unknown policy: %d %s", r.Code, r.Body)
	}
	run1 := upload(h.adminA, weak, http.StatusCreated)
	run2 := upload(h.adminA, hardened, http.StatusCreated)
	if run1.Source != "bundle" && run1.Source != "manual" && run1.Source != "ssh" && run1.Source != "agent" {
		t.Fatalf("run source %q", run1.Source)
	}

	// The comparison agrees with the two runs' own results.
	var full1, full2 BaselineRun
	h.want(http.StatusOK, http.MethodGet, base+"/runs/"+run1.ID, h.analystA, nil, &full1)
	h.want(http.StatusOK, http.MethodGet, base+"/runs/"+run2.ID, h.analystA, nil, &full2)
	before := map[string]string{}
	for _, c := range full1.Checks {
		before[c.ID] = c.Result
	}
	fixed, broken := map[string]bool{}, map[string]bool{}
	for _, c := range full2.Checks {
		switch {
		case c.Result == "passed" && before[c.ID] != "passed" && before[c.ID] != "":
			fixed[c.ID] = true
		case c.Result == "failed" && before[c.ID] != "failed" && before[c.ID] != "":
			broken[c.ID] = true
		}
	}
	if len(fixed) == 0 {
		t.Fatal("the hardened configuration fixes nothing: the sample pair no longer tests the comparison")
	}
	var cmp BaselineComparison
	h.want(http.StatusOK, http.MethodGet, base+"/diff?from="+run1.ID+"&to="+run2.ID, h.analystA, nil, &cmp)
	if cmp.From.ID != run1.ID || cmp.To.ID != run2.ID || len(cmp.Diff.NewlyPassing) != len(fixed) || len(cmp.Diff.NewlyFailing) != len(broken) {
		t.Fatalf("comparison: %d newly passing, %d newly failing; the runs say %d and %d",
			len(cmp.Diff.NewlyPassing), len(cmp.Diff.NewlyFailing), len(fixed), len(broken))
	}
	for _, c := range cmp.Diff.NewlyPassing {
		if !fixed[c.ID] {
			t.Errorf("check %s is not fixed in the runs", c.ID)
		}
	}
	h.wantProblem(http.StatusNotFound, http.MethodGet, "/api/v1/tenants/"+h.env.TenantB.Slug+"/baseline/diff?from="+run1.ID+"&to="+run2.ID, h.admin, nil)

	// The manual sheet of the weak run lists its manual checks.
	var sheet BaselineManualSheet
	h.want(http.StatusOK, http.MethodGet, base+"/manual?run_id="+run1.ID, h.adminA, nil, &sheet)
	if len(sheet.Pending) != full1.Manual || sheet.BaseRunID != run1.ID || sheet.AssetID != dev.ID {
		t.Fatalf("sheet of %d pending checks for a run with %d manual: %+v", len(sheet.Pending), full1.Manual, sheet)
	}
	if len(sheet.Pending) == 0 {
		t.Fatal("the cisco-ios run has no manual check: the sample no longer tests the sheet")
	}
	h.wantProblem(http.StatusForbidden, http.MethodGet, base+"/manual?run_id="+run1.ID, h.analystA, nil)
	h.wantProblem(http.StatusUnprocessableEntity, http.MethodGet, base+"/manual?run_id="+run1.ID+"&asset_id="+dev.ID+"&policy=cisco-ios", h.adminA, nil)
	h.wantProblem(http.StatusConflict, http.MethodPost, base+"/manual", h.adminA, BaselineManualInput{RunID: run1.ID,
		Results: []BaselineManualResult{{CheckID: "not-on-the-sheet", Result: "passed"}}})
	pending := sheet.Pending[0].ID
	var run3 BaselineRun
	h.want(http.StatusCreated, http.MethodPost, base+"/manual", h.adminA, BaselineManualInput{RunID: run1.ID,
		Results: []BaselineManualResult{{CheckID: pending, Result: "passed", Note: "console port locked <b>in the rack</b>"}}}, &run3)
	if run3.Source != "manual" || run3.Passed != full1.Passed+1 || run3.Manual != full1.Manual-1 || run3.Failed != full1.Failed {
		t.Fatalf("manual run %+v after %+v", run3, full1)
	}
	var full3 BaselineRun
	h.want(http.StatusOK, http.MethodGet, base+"/runs/"+run3.ID+"?result=passed", h.analystA, nil, &full3)
	found := false
	for _, c := range full3.Checks {
		if c.ID == pending {
			found = len(c.Evidence) > 0 && c.Evidence[0] == "assessor note: console port locked <b>in the rack</b>"
		}
	}
	if !found {
		t.Errorf("the assessor's note is not the check's evidence: %+v", full3.Checks)
	}

	// Schedules.
	sec, err := h.env.Secrets.Create(ctx, h.env.TenantA.ID, secret.Input{Name: "ssh core-sw", Kind: "password", Value: []byte("not-the-password")})
	if err != nil {
		t.Fatal(err)
	}
	in := BaselineScheduleInput{AssetID: dev.ID, Policy: "cisco-ios", Hours: 24, SecretID: sec.ID, Username: "audit",
		Port: closedPort, HostKey: "not-a-fingerprint"}
	h.wantProblem(http.StatusUnprocessableEntity, http.MethodPost, base+"/schedules", h.adminA, in)
	in.HostKey = "SHA256:" + "nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
	h.wantProblem(http.StatusForbidden, http.MethodPost, base+"/schedules", h.analystA, in)
	var sc BaselineSchedule
	h.want(http.StatusCreated, http.MethodPost, base+"/schedules", h.adminA, in, &sc)
	if sc.Hours != 24 || !sc.Enabled || sc.Port != closedPort || sc.LastAt != nil {
		t.Fatalf("schedule %+v", sc)
	}
	in.Hours = 48
	h.want(http.StatusOK, http.MethodPut, base+"/schedules/"+sc.ID, h.adminA, in, &sc)
	if sc.Hours != 48 {
		t.Fatalf("changed schedule %+v", sc)
	}
	var list []BaselineSchedule
	h.want(http.StatusOK, http.MethodGet, base+"/schedules", h.analystA, nil, &list)
	if len(list) != 1 || list[0].ID != sc.ID {
		t.Fatalf("schedules %+v", list)
	}
	var ran BaselineScheduleRun
	h.want(http.StatusOK, http.MethodPost, base+"/schedules/"+sc.ID+"/run", h.adminA, nil, &ran)
	if ran.Run != nil || ran.Schedule.LastError == "" || ran.Schedule.LastAt == nil {
		t.Fatalf("a check of a closed port %s: %+v", strconv.Itoa(closedPort), ran)
	}
	h.wantProblem(http.StatusNotFound, http.MethodPost, base+"/schedules/no-such-schedule/run", h.adminA, nil)
	h.wantProblem(http.StatusNotFound, http.MethodDelete, "/api/v1/tenants/"+h.env.TenantB.Slug+"/baseline/schedules/"+sc.ID, h.admin, nil)
	h.want(http.StatusNoContent, http.MethodDelete, base+"/schedules/"+sc.ID, h.adminA, nil, nil)
	h.want(http.StatusOK, http.MethodGet, base+"/schedules", h.analystA, nil, &list)
	if len(list) != 0 {
		t.Fatalf("schedules after delete %+v", list)
	}
}
