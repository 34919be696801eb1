package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var channelTestRE = regexp.MustCompile(`action="(/t/[^"]+/notifications/[0-9a-f-]{36})/test"`)

func TestNotificationChannelPages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/notifications"
	wantStatus(t, admin.get(base), http.StatusOK)

	// A loopback webhook is refused (SSRF guard); bad JSON is a field error.
	r := admin.post(base, url.Values{"name": {"SIEM"}, "kind": {"webhook"}, "min_level": {"high"},
		"settings": {`{"url":"http://127.0.0.1:8080/hook"}`}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	r = admin.post(base, url.Values{"name": {"SIEM"}, "kind": {"webhook"}, "min_level": {"high"}, "settings": {`{"url":`}})
	wantStatus(t, r, http.StatusUnprocessableEntity)

	r = admin.post(base, url.Values{"name": {"Customer SIEM"}, "kind": {"webhook"}, "min_level": {"high"},
		"settings": {`{"url":"https://localhost:9/vigil"}`}, "secrets": {"signing_secret=s3cr3t-value"}})
	wantRedirect(t, r, base+"?ok=created")
	page := admin.get(base)
	if !strings.Contains(page.body, "Customer SIEM") || strings.Contains(page.body, "s3cr3t-value") {
		t.Fatalf("channel list:\n%s", page.body)
	}
	m := channelTestRE.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatal("no test button")
	}
	// localhost resolves to loopback, which the guard refuses at dial time
	// without leaving the machine: the test fails and says so, and the
	// failed delivery is listed.
	wantRedirect(t, admin.post(m[1]+"/test", nil), base+"?tested=failed")
	if page = admin.get(base + "?tested=failed"); !strings.Contains(page.body, "failed") {
		t.Fatalf("failed delivery not listed:\n%s", page.body)
	}
	// An analyst sees the channels but cannot add one.
	analyst := ui.as(t, ui.AnalystA)
	wantStatus(t, analyst.get(base), http.StatusOK)
	wantStatus(t, analyst.post(base, url.Values{"name": {"x"}, "kind": {"webhook"}}), http.StatusForbidden)
	wantRedirect(t, admin.post(m[1]+"/delete", nil), base+"?ok=deleted")
}
