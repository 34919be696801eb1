package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/store"
)

// postMultipart sends a multipart form; files maps a field to its content.
func (c *client) postMultipart(target string, fields map[string]string, files map[string][]byte, withCSRF bool) response {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if withCSRF {
		_ = mw.WriteField(csrfField, c.csrf)
	}
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for k, data := range files {
		fw, err := mw.CreateFormFile(k, "photo of rack <b>.txt")
		if err != nil {
			c.t.Fatal(err)
		}
		_, _ = fw.Write(data)
	}
	_ = mw.Close()
	req := httptest.NewRequest(http.MethodPost, target, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.ui.h.ServeHTTP(rec, req)
	res := rec.Result()
	res.Request = req
	return response{Response: res, body: rec.Body.String()}
}

var manualRowRE = regexp.MustCompile(`name="check_(\d+)" value="([^"]+)"`)

// TestBaselineManualForm completes the manual checks of a device run: the
// assessor's results join the automated ones in a new run whose counts and
// score follow, the note is escaped, the evidence file is kept and served
// as a download, the action is audited, and who may do it is checked.
func TestBaselineManualForm(t *testing.T) {
	t.Parallel()
	ui, svc := newBaselineUI(t)
	weak, err := os.ReadFile("../baseline/policies/testdata/devices/cisco-ios-weak.cfg")
	if err != nil {
		t.Fatal(err)
	}
	dev, err := ui.Assets.Create(ui.adminCtx(), ui.TenantA.ID, asset.Input{Kind: "device", Name: "core-sw", Address: "10.0.0.1", Importance: 4})
	if err != nil {
		t.Fatal(err)
	}
	admin := ui.as(t, ui.Admin)
	analyst := ui.as(t, ui.AnalystA)
	custB := ui.as(t, ui.CustomerB)
	base := "/t/" + ui.TenantA.Slug + "/operations/baseline"

	r := admin.uploadTo(base+"/upload", map[string]string{"asset": dev.ID, "policy": "cisco-ios"}, weak)
	wantRedirect(t, r, base+"/runs/")
	runID := baselineRunLinkRE.FindStringSubmatch(r.Header.Get("Location"))[1]
	before, _, err := svc.Run(ui.adminCtx(), ui.TenantA.ID, runID, store.BaselineCheckFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if before.Manual < 1 {
		t.Fatalf("the cisco-ios policy run has no manual check")
	}
	page := admin.get(base + "/runs/" + runID)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `id="manual-link"`) {
		t.Error("the run page does not offer the manual form")
	}

	form := base + "/manual?run=" + runID
	f := admin.get(form)
	wantStatus(t, f, http.StatusOK)
	rows := manualRowRE.FindAllStringSubmatch(f.body, -1)
	if len(rows) != before.Manual {
		t.Fatalf("form has %d rows, the run %d manual checks", len(rows), before.Manual)
	}
	// Read-only and foreign users get no form.
	wantStatus(t, analyst.get(form), http.StatusForbidden)
	if r := custB.get(form); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
		t.Errorf("tenant B: status %d", r.StatusCode)
	}

	hostile := `<script>alert(1)</script>`
	evidence := []byte("rack 4 locked; badge log attached\n")
	fields := map[string]string{"run": runID, "asset": dev.ID}
	for _, m := range rows {
		fields["check_"+m[1]] = m[2]
	}
	fields["result_"+rows[0][1]] = "failed"
	fields["note_"+rows[0][1]] = "door propped open " + hostile
	files := map[string][]byte{"file_" + rows[0][1]: evidence}

	// Without the CSRF token nothing is stored.
	wantStatus(t, admin.postMultipart(base+"/manual", fields, files, false), http.StatusForbidden)
	// An unknown result is a form error.
	bad := map[string]string{}
	for k, v := range fields {
		bad[k] = v
	}
	bad["result_"+rows[0][1]] = "maybe"
	wantStatus(t, admin.postMultipart(base+"/manual", bad, nil, true), http.StatusUnprocessableEntity)
	// A file without a result is a form error.
	delete(bad, "result_"+rows[0][1])
	wantStatus(t, admin.postMultipart(base+"/manual", bad, files, true), http.StatusUnprocessableEntity)
	// The analyst cannot post.
	wantStatus(t, analyst.postMultipart(base+"/manual", fields, files, true), http.StatusForbidden)

	r = admin.postMultipart(base+"/manual", fields, files, true)
	wantRedirect(t, r, base+"/runs/")
	newID := baselineRunLinkRE.FindStringSubmatch(r.Header.Get("Location"))[1]
	after, checks, err := svc.Run(ui.adminCtx(), ui.TenantA.ID, newID, store.BaselineCheckFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Source != store.BaselineSourceManual || after.AssetID != dev.ID || after.PolicyID != before.PolicyID ||
		after.Passed != before.Passed || after.Failed != before.Failed+1 || after.Manual != before.Manual-1 ||
		after.NotApplicable != before.NotApplicable {
		t.Fatalf("manual run %+v after %+v", after, before)
	}
	// passed / (passed + failed), recomputed with the new failure.
	if want := 100 * float64(before.Passed) / float64(before.Passed+before.Failed+1); !after.Scored || after.Score < want-0.01 || after.Score > want+0.01 {
		t.Errorf("score %.2f, want %.2f", after.Score, want)
	}
	for _, c := range checks {
		switch c.CheckID {
		case rows[0][2]:
			ev := strings.Join(c.Evidence, " ")
			if c.Result != "failed" || !strings.Contains(ev, "door propped open") || !strings.Contains(ev, "sha256 ") {
				t.Errorf("check %s: %s %q", c.CheckID, c.Result, c.Evidence)
			}
		default:
			if c.Result == "manual" {
				t.Errorf("check %s still pending", c.CheckID)
			}
		}
	}
	page = admin.get(base + "/runs/" + newID)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, hostile) {
		t.Error("the note is not escaped")
	}
	link := regexp.MustCompile(`href="(` + regexp.QuoteMeta(base) + `/runs/` + newID + `/files/[0-9a-f-]{36})"`).FindStringSubmatch(page.body)
	if link == nil {
		t.Fatal("the run page lists no evidence file")
	}
	dl := admin.get(link[1])
	wantStatus(t, dl, http.StatusOK)
	if dl.body != string(evidence) || !strings.Contains(dl.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download: %q, %q", dl.body, dl.Header.Get("Content-Disposition"))
	}
	if r := custB.get(link[1]); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
		t.Errorf("tenant B download: status %d", r.StatusCode)
	}
	// The file of a run is not reachable through another run.
	other := strings.Replace(link[1], newID, runID, 1)
	wantStatus(t, admin.get(other), http.StatusNotFound)

	entries, err := ui.Store.Audit().List(context.Background(), store.AuditFilter{TenantID: ui.TenantA.ID, Page: store.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Action] = true
	}
	for _, a := range []string{"baseline.manual", "attachment.add"} {
		if !seen[a] {
			t.Errorf("no audit entry %s", a)
		}
	}

	// A whole device assessed by hand: every check of the policy.
	f = admin.get(base + "/manual?asset=" + dev.ID + "&policy=cisco-ios")
	wantStatus(t, f, http.StatusOK)
	all := manualRowRE.FindAllStringSubmatch(f.body, -1)
	if len(all) != before.Passed+before.Failed+before.NotApplicable+before.Errors+before.Manual {
		t.Errorf("whole-device form has %d rows", len(all))
	}
	fields = map[string]string{"asset": dev.ID, "policy": "cisco-ios"}
	for _, m := range all {
		fields["check_"+m[1]] = m[2]
	}
	fields["result_"+all[0][1]] = "not-applicable"
	fields["result_"+all[1][1]] = "passed"
	r = admin.postMultipart(base+"/manual", fields, nil, true)
	wantRedirect(t, r, base+"/runs/")
	whole, _, err := svc.Run(ui.adminCtx(), ui.TenantA.ID, baselineRunLinkRE.FindStringSubmatch(r.Header.Get("Location"))[1], store.BaselineCheckFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if whole.NotApplicable != 1 || whole.Passed != 1 || whole.Manual != len(all)-2 || !whole.Scored || whole.Score != 100 {
		t.Errorf("whole-device run %+v", whole)
	}
}
