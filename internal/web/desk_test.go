package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

func deskUI(t *testing.T) (*testUI, *alerting.Service) {
	t.Helper()
	ui := newTestUI(t)
	svc, err := alerting.NewService(ui.Store, ui.Secrets, ui.Audit, alerting.Options{BaseURL: "https://soc.example",
		AckKey: []byte("web-test-key-web-test-key-web-test-key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	ui.srv.opts.Alerting = svc // the routes were registered for the fixture's service
	return ui, svc
}

// TestDeskPage: the SOC's desk is for its own staff only; an admin plans
// a shift and the page shows who is on duty; a note handed over is shown
// escaped, with a link to the alert it names, and the next shift (not its
// author) acknowledges it.
func TestDeskPage(t *testing.T) {
	t.Parallel()
	ui, _ := deskUI(t)
	ctx := ui.adminCtx()
	night := store.User{Username: "wang", DisplayName: "Wang", PasswordHash: "x", GlobalRole: auth.RoleAnalyst}
	if err := ui.Store.Users().Create(ctx, &night); err != nil {
		t.Fatal(err)
	}
	admin, wang := ui.as(t, ui.Admin), ui.as(t, night)
	wantStatus(t, admin.get(deskPath), http.StatusOK)
	wantStatus(t, ui.as(t, ui.AnalystA).get(deskPath), http.StatusForbidden)
	wantStatus(t, ui.as(t, ui.CustomerB).get(deskPath), http.StatusForbidden)

	now := time.Now().UTC()
	at := func(d time.Duration) string { return now.Add(d).Format("2006-01-02T15:04") }
	wantStatus(t, wang.post(deskPath+"/shifts", url.Values{"user": {"wang"}, "starts_at": {at(-time.Hour)}, "ends_at": {at(7 * time.Hour)}}),
		http.StatusForbidden)
	if r := admin.post(deskPath+"/shifts", url.Values{"user": {"wang"}, "starts_at": {"yesterday"}, "ends_at": {at(time.Hour)}}); r.StatusCode < 400 {
		t.Fatalf("a shift without a start: %d", r.StatusCode)
	}
	wantRedirect(t, admin.post(deskPath+"/shifts", url.Values{"user": {"wang"}, "starts_at": {at(-time.Hour)}, "ends_at": {at(7 * time.Hour)},
		"note": {"夜班 <b>"}}), deskPath)
	page := admin.get(deskPath)
	onDuty := page.body[strings.Index(page.body, `id="desk-on-duty"`):strings.Index(page.body, `id="desk-shifts"`)]
	if !strings.Contains(onDuty, "<strong>wang</strong>") || !strings.Contains(onDuty, "夜班 &lt;b&gt;") {
		t.Fatalf("on duty:\n%s", onDuty)
	}

	al := store.Alert{ID: "al-9", TenantID: ui.TenantA.ID, GroupKey: "g", RuleID: "r", RuleTitle: "Beacon <i>C2</i>", Level: "high",
		Host: "ws-7", Count: 1, Status: "new", FirstSeen: now, LastSeen: now}
	if _, err := ui.Store.Alerts().Raise(ctx, &al, time.Minute, []string{"new"}, 10); err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, admin.post(deskPath+"/handovers", url.Values{"open_items": {"<script>x</script> VPN"}, "watch": {"mail gateway"},
		"refs": {ui.TenantA.Slug + " alert al-9\n\n"}}), deskPath)
	page = wang.get(deskPath)
	if !strings.Contains(page.body, "&lt;script&gt;x&lt;/script&gt; VPN") || strings.Contains(page.body, "<script>x") ||
		!strings.Contains(page.body, `href="/t/`+ui.TenantA.Slug+`/events/alerts/al-9"`) || !strings.Contains(page.body, "Beacon &lt;i&gt;C2") {
		t.Fatalf("handover:\n%s", page.body)
	}
	hs, err := ui.Store.Desk().Handovers(ctx, store.Page{})
	if err != nil || len(hs) != 1 {
		t.Fatalf("handovers %+v, %v", hs, err)
	}
	ack := deskPath + "/handovers/" + hs[0].ID + "/ack"
	if r := admin.post(ack, nil); r.StatusCode < 400 {
		t.Fatalf("the author acknowledged: %d", r.StatusCode)
	}
	wantRedirect(t, wang.post(ack, nil), deskPath)
	if got, _ := ui.Store.Desk().GetHandover(ctx, hs[0].ID); got.AckedBy != "wang" {
		t.Fatalf("acknowledged by %q", got.AckedBy)
	}
}

// gateway is an SMS gateway that keeps what it was asked to send.
type gateway struct {
	mu    sync.Mutex
	texts []string
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var p struct {
		To   []string `json:"to"`
		Text string   `json:"text"`
	}
	_ = json.Unmarshal(b, &p)
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(p.To) == 1 && p.To[0] == "+8613900000001" {
		g.texts = append(g.texts, p.Text)
	}
}

func (g *gateway) got() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.texts...)
}

// TestNoticeStatusAndPersonalLink: a notice published from the form
// reaches the tenant's contact by SMS with a personal link; the tenant's
// notice page shows who has not acknowledged; the public link page marks
// it read, asks for confirmation, and acknowledges; another tenant's
// customer sees nothing.
func TestNoticeStatusAndPersonalLink(t *testing.T) {
	t.Parallel()
	ui, svc := deskUI(t)
	ctx := ui.adminCtx()
	gw := &gateway{}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	settings, _ := json.Marshal(map[string]any{"url": srv.URL, "numbers": []string{"+8613800000000"}, "max_runes": 500})
	if _, err := svc.Create(ctx, ui.TenantA.ID, alerting.Input{Name: "sms", Kind: "sms", Settings: settings,
		Secrets: map[string]string{"signing_secret": "s"}, MinLevel: "high", AllowPrivate: true}); err != nil {
		t.Fatal(err)
	}
	c := store.Contact{TenantID: ui.TenantA.ID, Kind: "security-owner", Name: "张三 <x>", Phone: "+86 139 0000 0001"}
	if err := ui.Store.Contacts().Create(ctx, &c); err != nil {
		t.Fatal(err)
	}
	admin := ui.as(t, ui.Admin)
	r := admin.post("/notices", url.Values{"title": {"Struts <RCE>"}, "severity": {"critical"}, "harm": {"remote code execution"},
		"tenant": {ui.TenantA.ID}, "remind_hours": {"4"}, "reminders": {"2"}})
	wantStatus(t, r, http.StatusOK)
	ns, err := ui.Store.Desk().Notices(ctx, ui.TenantA.ID, store.Page{})
	if err != nil || len(ns) != 1 || ns[0].MaxReminders != 2 || ns[0].RemindEvery != 4*time.Hour {
		t.Fatalf("notices %+v, %v", ns, err)
	}
	list := "/t/" + ui.TenantA.Slug + "/notifications/notices"
	page := ui.as(t, ui.AnalystA).get(list)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, "Struts &lt;RCE&gt;") || !strings.Contains(page.body, list+"/"+ns[0].ID) {
		t.Fatalf("notice list:\n%s", page.body)
	}
	wantStatus(t, ui.as(t, ui.CustomerB).get(list), http.StatusNotFound)
	wantStatus(t, ui.as(t, ui.CustomerB).get(list+"/"+ns[0].ID), http.StatusNotFound)
	detail := admin.get(list + "/" + ns[0].ID)
	wantStatus(t, detail, http.StatusOK)
	if !strings.Contains(detail.body, "张三 &lt;x&gt;") || !strings.Contains(detail.body, "8613900000001") {
		t.Fatalf("notice status:\n%s", detail.body)
	}

	deadline := time.Now().Add(20 * time.Second)
	for len(gw.got()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	texts := gw.got()
	if len(texts) != 1 {
		t.Fatalf("personal SMS %q", texts)
	}
	i := strings.Index(texts[0], "https://soc.example/notice-ack?token=")
	if i < 0 {
		t.Fatalf("no link in %q", texts[0])
	}
	link, err := url.Parse(strings.Fields(texts[0][i:])[0])
	if err != nil {
		t.Fatal(err)
	}
	token := link.Query().Get("token")
	anon := ui.anon(t)
	wantStatus(t, anon.get("/notice-ack?token=forged.token"), http.StatusNotFound)
	open := anon.get("/notice-ack?token=" + url.QueryEscape(token))
	wantStatus(t, open, http.StatusOK)
	if !strings.Contains(open.body, `id="nack-form"`) || !strings.Contains(open.body, "Struts &lt;RCE&gt;") {
		t.Fatalf("link page:\n%s", open.body)
	}
	rs, _ := ui.Store.Desk().Recipients(ctx, ui.TenantA.ID, ns[0].ID)
	if len(rs) != 1 || rs[0].ReadAt.IsZero() || !rs[0].AckedAt.IsZero() {
		t.Fatalf("after opening the link %+v", rs)
	}
	anon.loadCSRF(open)
	done := anon.post("/notice-ack", url.Values{"token": {token}, "name": {"Zhang"}})
	wantStatus(t, done, http.StatusOK)
	if !strings.Contains(done.body, `id="nack-done"`) {
		t.Fatalf("acknowledged page:\n%s", done.body)
	}
	rs, _ = ui.Store.Desk().Recipients(ctx, ui.TenantA.ID, ns[0].ID)
	if rs[0].AckedBy != "Zhang" || !rs[0].NextRemindAt.IsZero() {
		t.Fatalf("after acknowledging %+v", rs[0])
	}
}

// TestDigestSectionPage: an analyst adds a section to the tenant's next
// digest; it is shown escaped and can be withdrawn while pending; another
// tenant's customer cannot reach the page.
func TestDigestSectionPage(t *testing.T) {
	t.Parallel()
	ui, _ := deskUI(t)
	base := "/t/" + ui.TenantA.Slug + "/notifications/digest"
	analyst := ui.as(t, ui.AnalystA)
	wantRedirect(t, analyst.post(base, url.Values{"title": {"行业态势 <b>"}, "body": {"勒索软件 <script>alert(1)</script>"}}), base)
	page := analyst.get(base)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, "行业态势 &lt;b&gt;") || strings.Contains(page.body, "<script>alert") {
		t.Fatalf("digest page:\n%s", page.body)
	}
	if r := analyst.post(base, url.Values{"title": {"x"}, "body": {strings.Repeat("a", alerting.MaxSectionBody+1)}}); r.StatusCode < 400 {
		t.Fatalf("a body over the limit: %d", r.StatusCode)
	}
	wantStatus(t, ui.as(t, ui.CustomerB).get(base), http.StatusNotFound)
	ds, err := ui.Store.Desk().Sections(ui.adminCtx(), ui.TenantA.ID, store.Page{})
	if err != nil || len(ds) != 1 {
		t.Fatalf("sections %+v, %v", ds, err)
	}
	wantRedirect(t, analyst.post(base+"/"+ds[0].ID+"/delete", nil), base)
	if ds, _ := ui.Store.Desk().Sections(ui.adminCtx(), ui.TenantA.ID, store.Page{}); len(ds) != 0 {
		t.Fatalf("withdrawn section still there: %+v", ds)
	}
}
