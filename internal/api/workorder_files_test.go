package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/attach"
)

// uploadFile posts a multipart form with one file under "file" and a note.
func (h *harness) uploadFile(path, token, name string, content []byte, note string) response {
	h.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		h.t.Fatal(err)
	}
	_, _ = fw.Write(content)
	if note != "" {
		_ = mw.WriteField("note", note)
	}
	_ = mw.Close()
	req := httptest.NewRequest(http.MethodPost, path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// TestWorkOrderFiles attaches a file to a work order over the API, lists
// and downloads it as an octet-stream attachment, refuses the customer of
// another tenant, a body announced over the size limit, a form without a
// file and an upload to a closed order, and deletes it.
func TestWorkOrderFiles(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/" + h.env.TenantA.Slug + "/work-orders"
	var o WorkOrder
	h.want(http.StatusCreated, http.MethodPost, base, h.analystA, map[string]any{"type": "change", "title": "Replace the WAF policy"}, &o)
	files := base + "/" + o.ID + "/attachments"
	content := []byte("<svg onload=alert(1)>")
	r := h.uploadFile(files, h.analystA, `C:\tmp\evil".svg`, content, "<b>before</b>")
	if r.Code != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.Code, r.Body)
	}
	var a Attachment
	if err := json.Unmarshal(r.Body, &a); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if a.SHA256 != hex.EncodeToString(sum[:]) || a.Size != int64(len(content)) || a.Note != "<b>before</b>" || strings.ContainsAny(a.Name, `\/`) {
		t.Fatalf("attachment %+v", a)
	}
	var list AttachmentList
	h.want(http.StatusOK, http.MethodGet, files, h.analystA, nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != a.ID {
		t.Fatalf("list %+v", list)
	}
	dl := h.want(http.StatusOK, http.MethodGet, files+"/"+a.ID, h.analystA, nil, nil)
	if dl.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") ||
		dl.Header.Get("X-Content-Type-Options") != "nosniff" || !bytes.Equal(dl.Body, content) {
		t.Fatalf("download %v %q", dl.Header, dl.Body)
	}
	// Another tenant's customer sees nothing.
	h.want(http.StatusNotFound, http.MethodGet, files, h.customer, nil, nil)
	h.want(http.StatusNotFound, http.MethodGet, files+"/"+a.ID, h.customer, nil, nil)
	if r := h.uploadFile(files, h.customer, "x.txt", []byte("x"), ""); r.Code != http.StatusNotFound {
		t.Fatalf("customer upload: %d", r.Code)
	}
	// A body announced over the limit is refused before it is read.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.Close()
	req := httptest.NewRequest(http.MethodPost, files, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+h.analystA)
	req.ContentLength = attach.DefaultMaxSize + 2<<20
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized upload: %d %s", rec.Code, rec.Body)
	}
	// A form without a file.
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	_ = mw.WriteField("note", "no file")
	_ = mw.Close()
	req = httptest.NewRequest(http.MethodPost, files, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+h.analystA)
	rec = httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("form without a file: %d %s", rec.Code, rec.Body)
	}

	h.want(http.StatusNoContent, http.MethodDelete, files+"/"+a.ID, h.analystA, nil, nil)
	h.want(http.StatusNotFound, http.MethodGet, files+"/"+a.ID, h.analystA, nil, nil)
	// Cancelled: no new files.
	h.want(http.StatusOK, http.MethodPost, base+"/"+o.ID+"/actions", h.analystA, map[string]any{"action": "cancel", "version": 0}, nil)
	if r := h.uploadFile(files, h.analystA, "late.txt", []byte("late"), ""); r.Code != http.StatusUnprocessableEntity {
		t.Fatalf("upload to a cancelled order: %d %s", r.Code, r.Body)
	}
}
