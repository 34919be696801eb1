package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestDigestPreviewAndSendNow: the digest preview shows the tenant's
// figures to its readers only; without a channel it says the digest is
// skipped and "send now" is refused; with one, "send now" needs
// incident.write and the CSRF token, and records a run and an audit
// event; a week skipped for want of a channel is listed with its reason.
func TestDigestPreviewAndSendNow(t *testing.T) {
	t.Parallel()
	ui, svc := deskUI(t)
	ctx := ui.adminCtx()
	inc := store.Incident{TenantID: ui.TenantA.ID, Title: "Beacon <b>C2</b>", Severity: "high", TLP: "amber", PAP: "amber", Category: "malware", Phase: "detect"}
	if err := ui.Store.Incidents().Create(ctx, &inc); err != nil {
		t.Fatal(err)
	}
	base := "/t/" + ui.TenantA.Slug + "/notifications/digest"
	analyst := ui.as(t, ui.AnalystA)
	page := analyst.get(base + "/preview")
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `id="digest-no-channel"`) || strings.Contains(page.body, `id="digest-send"`) {
		t.Fatalf("preview without a channel:\n%s", page.body)
	}
	if r := analyst.post(base+"/send", nil); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, alerting.DigestNoChannel) {
		t.Fatalf("send now without a channel: %d", r.StatusCode)
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer hook.Close()
	settings, _ := json.Marshal(map[string]string{"url": hook.URL})
	if _, err := svc.Create(ctx, ui.TenantA.ID, alerting.Input{Name: "soar", Kind: "webhook", Settings: settings, MinLevel: "high",
		AllowPrivate: true}); err != nil {
		t.Fatal(err)
	}
	page = analyst.get(base + "/preview")
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, "Beacon &lt;b&gt;C2&lt;/b&gt;") || strings.Contains(page.body, "<b>C2") || !strings.Contains(page.body, `id="digest-send"`) {
		t.Fatalf("preview:\n%s", page.body)
	}
	if r := ui.as(t, ui.CustomerB).get(base + "/preview"); r.StatusCode < 400 {
		t.Fatalf("B's customer previewing A's digest: %d", r.StatusCode)
	}
	if r := ui.as(t, ui.CustomerB).post("/t/"+ui.TenantB.Slug+"/notifications/digest/send", nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a customer sending a digest: %d", r.StatusCode)
	}
	if r := analyst.post(base+"/send", url.Values{"csrf": {"forged"}}); r.StatusCode < 400 {
		t.Fatalf("send now without the CSRF token: %d", r.StatusCode)
	}
	wantRedirect(t, analyst.post(base+"/send", nil), base+"/preview")
	runs, err := ui.Store.Desk().DigestRuns(ctx, ui.TenantA.ID, store.Page{})
	if err != nil || len(runs) != 1 || runs[0].SentBy != ui.AnalystA.ID {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	evs, err := ui.Store.Audit().List(ctx, store.AuditFilter{TenantID: ui.TenantA.ID, Action: "digest.send"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("audit %+v, %v", evs, err)
	}
	if page := analyst.get(base + "/preview"); !strings.Contains(page.body, runs[0].Period) {
		t.Fatalf("the run is not listed:\n%s", page.body)
	}
	// B has no channel: the weekly job skips it, and its page says so.
	sys := auth.WithPrincipal(t.Context(), &auth.Principal{Username: "system", UserID: "system", GlobalRole: auth.RoleAdmin})
	if _, err := svc.SendDueDigests(sys, nil); err != nil {
		t.Fatal(err)
	}
	page = ui.as(t, ui.Admin).get("/t/" + ui.TenantB.Slug + "/notifications/digest/preview")
	if !strings.Contains(page.body, `class="digest-run-skipped"`) || !strings.Contains(page.body, alerting.DigestNoChannel) {
		t.Fatalf("B's skipped week is not listed:\n%s", page.body)
	}
}

// TestShiftPicker: the shift form picks among the SOC's staff; a shift
// for someone else is refused.
func TestShiftPicker(t *testing.T) {
	t.Parallel()
	ui, _ := deskUI(t)
	ctx := ui.adminCtx()
	night := store.User{Username: "zhao.night", PasswordHash: "x", GlobalRole: auth.RoleAnalyst}
	if err := ui.Store.Users().Create(ctx, &night); err != nil {
		t.Fatal(err)
	}
	admin := ui.as(t, ui.Admin)
	page := admin.get(deskPath)
	form := page.body[strings.Index(page.body, `id="shift-form"`):]
	if !strings.Contains(form, `<option value="`+night.ID+`">zhao.night</option>`) || strings.Contains(form, ui.CustomerB.Username) {
		t.Fatalf("shift picker:\n%s", form)
	}
	now := time.Now().UTC()
	at := func(d time.Duration) string { return now.Add(d).Format("2006-01-02T15:04") }
	if r := admin.post(deskPath+"/shifts", url.Values{"user": {ui.CustomerB.ID}, "starts_at": {at(0)}, "ends_at": {at(time.Hour)}}); r.StatusCode < 400 {
		t.Fatalf("a shift for a customer: %d", r.StatusCode)
	}
	wantRedirect(t, admin.post(deskPath+"/shifts", url.Values{"user": {night.ID}, "starts_at": {at(0)}, "ends_at": {at(time.Hour)}}), deskPath)
}
