package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/store"
)

// uploadEvidence posts an evidence file of a manual result.
func (h *harness) uploadEvidence(path, token, name, checkID string, content []byte) response {
	h.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if content != nil {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			h.t.Fatal(err)
		}
		_, _ = fw.Write(content)
	}
	if checkID != "" {
		_ = mw.WriteField("check_id", checkID)
	}
	_ = mw.Close()
	req := httptest.NewRequest(http.MethodPost, path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// TestBaselineManualEvidence attaches an evidence file to a check an
// assessor decided, over the API: it is kept with its SHA-256, listed
// with its check, and downloaded as an octet-stream attachment, never as
// HTML. A check left pending, a check of an automated run, a reader, the
// customer of another tenant, a form without a file and a body over the
// size limit are refused; every upload and download is audited.
func TestBaselineManualEvidence(t *testing.T) {
	h := newHarness(t)
	ctx := h.env.AdminCtx(context.Background())
	weak, err := os.ReadFile("../baseline/policies/testdata/devices/cisco-ios-weak.cfg")
	if err != nil {
		t.Fatal(err)
	}
	dev, err := h.env.Assets.Create(ctx, h.env.TenantA.ID, asset.Input{Kind: "device", Name: "edge-sw", Address: "192.0.2.7", Importance: 3})
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/tenants/" + h.env.TenantA.Slug + "/baseline"
	r := h.uploadBaselineFile(base+"/uploads", h.adminA, dev.ID, "cisco-ios", weak)
	if r.Code != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.Code, r.Body)
	}
	var auto BaselineRun
	if err := json.Unmarshal(r.Body, &auto); err != nil {
		t.Fatal(err)
	}
	// The whole policy assessed by hand: one check decided, the others
	// left pending in the manual run.
	var sheet BaselineManualSheet
	h.want(http.StatusOK, http.MethodGet, base+"/manual?asset_id="+dev.ID+"&policy=cisco-ios", h.adminA, nil, &sheet)
	if len(sheet.Pending) < 2 {
		t.Fatalf("the cisco-ios policy has %d checks; the test needs a decided and a pending one", len(sheet.Pending))
	}
	decided, pending := sheet.Pending[0].ID, sheet.Pending[1].ID
	var manual BaselineRun
	h.want(http.StatusCreated, http.MethodPost, base+"/manual", h.adminA, BaselineManualInput{AssetID: dev.ID, Policy: "cisco-ios",
		Results: []BaselineManualResult{{CheckID: decided, Result: "passed", Note: "seen on site"}}}, &manual)

	files := base + "/runs/" + manual.ID + "/evidence"
	content := []byte("<html><script>alert(1)</script>photo of the locked rack</html>")
	r = h.uploadEvidence(files, h.adminA, `C:\photos\rack".html`, decided, content)
	if r.Code != http.StatusCreated {
		t.Fatalf("evidence upload: %d %s", r.Code, r.Body)
	}
	var ev BaselineEvidence
	if err := json.Unmarshal(r.Body, &ev); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if ev.SHA256 != hex.EncodeToString(sum[:]) || ev.Size != int64(len(content)) || ev.CheckID != decided ||
		strings.ContainsAny(ev.Name, `\/`) {
		t.Fatalf("evidence %+v", ev)
	}

	// Refused: a pending check, a check of an automated run, an unknown
	// check, no check, no file, a reader, another tenant's customer.
	for _, c := range []struct {
		path, token, check string
		content            []byte
		want               int
	}{
		{files, h.adminA, pending, []byte("x"), http.StatusUnprocessableEntity},
		{base + "/runs/" + auto.ID + "/evidence", h.adminA, decided, []byte("x"), http.StatusUnprocessableEntity},
		{files, h.adminA, "no-such-check", []byte("x"), http.StatusUnprocessableEntity},
		{files, h.adminA, "", []byte("x"), http.StatusUnprocessableEntity},
		{files, h.adminA, decided, nil, http.StatusUnprocessableEntity},
		{files, h.analystA, decided, []byte("x"), http.StatusForbidden},
		{files, h.customer, decided, []byte("x"), http.StatusNotFound},
		{base + "/runs/no-such-run/evidence", h.adminA, decided, []byte("x"), http.StatusNotFound},
	} {
		if r := h.uploadEvidence(c.path, c.token, "x.txt", c.check, c.content); r.Code != c.want {
			t.Errorf("upload to %s for %q: %d, want %d: %s", c.path, c.check, r.Code, c.want, r.Body)
		}
	}
	// A body announced over the size limit is refused before it is read.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.Close()
	req := httptest.NewRequest(http.MethodPost, files, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+h.adminA)
	req.ContentLength = attach.DefaultMaxSize + 2<<20
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized upload: %d %s", rec.Code, rec.Body)
	}

	// Listed, by check too; readers may list and download.
	var list BaselineEvidenceList
	h.want(http.StatusOK, http.MethodGet, files, h.analystA, nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != ev.ID || list.Items[0].CheckID != decided {
		t.Fatalf("list %+v", list)
	}
	h.want(http.StatusOK, http.MethodGet, files+"?check_id="+pending, h.analystA, nil, &list)
	if len(list.Items) != 0 {
		t.Fatalf("files of a check without any: %+v", list)
	}
	dl := h.want(http.StatusOK, http.MethodGet, files+"/"+ev.ID, h.analystA, nil, nil)
	if dl.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") ||
		dl.Header.Get("X-Content-Type-Options") != "nosniff" || dl.Header.Get("X-Attachment-SHA256") != ev.SHA256 ||
		!bytes.Equal(dl.Body, content) {
		t.Fatalf("download %v %q", dl.Header, dl.Body)
	}
	// Not through another run, nor by another tenant's customer.
	h.want(http.StatusUnprocessableEntity, http.MethodGet, base+"/runs/"+auto.ID+"/evidence/"+ev.ID, h.adminA, nil, nil)
	h.want(http.StatusNotFound, http.MethodGet, files, h.customer, nil, nil)
	h.want(http.StatusNotFound, http.MethodGet, files+"/"+ev.ID, h.customer, nil, nil)
	h.want(http.StatusNotFound, http.MethodGet, "/api/v1/tenants/"+h.env.TenantB.Slug+"/baseline/runs/"+manual.ID+"/evidence", h.admin, nil, nil)

	entries, err := h.env.Store.Audit().List(context.Background(), store.AuditFilter{TenantID: h.env.TenantA.ID, Page: store.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Object == "baseline_run:"+manual.ID {
			seen[e.Action] = true
		}
	}
	for _, a := range []string{"attachment.add", "attachment.download"} {
		if !seen[a] {
			t.Errorf("no audit entry %s on the manual run", a)
		}
	}
}
