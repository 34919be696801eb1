package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/ops"
)

var fileLinkRE = regexp.MustCompile(`/files/([0-9a-zA-Z-]+)" download`)

// TestOpsOrderFiles uploads a file to a work order from its page (the
// note stays inert), downloads it as an attachment that is never
// rendered, refuses the customer of another tenant, removes it, and
// offers no upload once the order is closed.
func TestOpsOrderFiles(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t, func(o *Options) { o.Ops = ops.NewService(o.Store, o.Audit, ops.Options{Files: o.Attachments}) })
	base := "/t/" + ui.TenantA.Slug + "/operations/ops-audit"
	analyst := ui.as(t, ui.AnalystA)
	r := analyst.post(base, url.Values{"type": {"change"}, "title": {"Replace the edge firewall rule set"}, "hosts": {"fw-01"}})
	m := orderLinkRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("create: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	orderURL := base + "/orders/" + m[1]
	page := analyst.get(orderURL)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `action="`+orderURL+`/files" enctype="multipart/form-data"`) {
		t.Fatalf("no upload form on the order page:\n%s", page.body)
	}
	content := []byte("<html><script>alert(1)</script></html>")
	wantRedirect(t, analyst.uploadTo(orderURL+"/files", map[string]string{"note": "<b>rollback plan</b>"}, content), orderURL)
	page = analyst.get(orderURL)
	fm := fileLinkRE.FindStringSubmatch(page.body)
	if fm == nil || !strings.Contains(page.body, "&lt;b&gt;rollback plan&lt;/b&gt;") || strings.Contains(page.body, "<b>rollback plan") {
		t.Fatalf("file not listed or note not escaped:\n%s", page.body)
	}
	fileURL := orderURL + "/files/" + fm[1]
	dl := analyst.get(fileURL)
	wantStatus(t, dl, http.StatusOK)
	if dl.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") ||
		dl.Header.Get("X-Content-Type-Options") != "nosniff" || dl.body != string(content) {
		t.Fatalf("download headers %v body %q", dl.Header, dl.body)
	}
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(fileURL), http.StatusNotFound)
	wantStatus(t, cust.uploadTo(orderURL+"/files", nil, []byte("x")), http.StatusNotFound)

	wantRedirect(t, analyst.post(fileURL+"/delete", nil), orderURL)
	if page = analyst.get(orderURL); fileLinkRE.MatchString(page.body) {
		t.Fatal("removed file still listed")
	}
	wantStatus(t, analyst.get(fileURL), http.StatusNotFound)

	// Cancelled: no upload form, uploads refused.
	wantRedirect(t, analyst.post(orderURL+"/act", url.Values{"action": {"cancel"}}), orderURL)
	if page = analyst.get(orderURL); strings.Contains(page.body, `action="`+orderURL+`/files"`) {
		t.Fatal("a closed order offers uploads")
	}
	wantStatus(t, analyst.uploadTo(orderURL+"/files", nil, []byte("late")), http.StatusUnprocessableEntity)
}

// orderFile attaches a small file to an order as the analyst and returns
// its ID, for tests that walk every route.
func orderFile(t *testing.T, ui *testUI, orderID string) string {
	t.Helper()
	a, err := ui.Ops.AddFile(ui.As(t.Context(), ui.AnalystA), ui.TenantA.ID, orderID, attach.Input{Name: "plan.txt", Content: strings.NewReader("plan")})
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}
