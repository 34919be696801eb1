package web

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/posture"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestPostureDashboard checks the tiles, their refresh fragment, the SOC
// wall and who sees what, with a hostile host name in the data.
func TestPostureDashboard(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	ctx := t.Context()
	old := time.Now().Add(-48 * time.Hour)
	_, err := ui.Store.Events().Append(ctx, []store.Event{{ID: "ev-old", TenantID: ui.TenantA.ID, Time: old, Received: old,
		Source: "syslog", Host: `<script>alert(1)</script>`}})
	if err != nil {
		t.Fatal(err)
	}
	al := store.Alert{TenantID: ui.TenantA.ID, GroupKey: "r|h", RuleID: "r", RuleTitle: "Brute force", Level: "critical",
		Host: "h", Status: "new", LastSeen: time.Now()}
	if _, err := ui.Store.Alerts().Raise(ctx, &al, time.Minute, []string{"new"}, 3); err != nil {
		t.Fatal(err)
	}

	// What the seed costs: one open critical alert and one silent sender.
	want := posture.Compute(posture.Measures{CriticalAlerts: 1, SilentSources: 1, BreachedCases: -1})
	score := `class="metric">` + strconv.Itoa(want.Value) + " "
	analyst := ui.as(t, ui.AnalystA)
	base := "/t/" + ui.TenantA.Slug
	r := analyst.get(base)
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{`id="posture"`, `hx-get="/t/` + ui.TenantA.Slug + `/posture"`,
		`/events/alerts?level=critical&amp;status=open`, "&lt;script&gt;alert(1)&lt;/script&gt;", score} {
		if !strings.Contains(r.body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if strings.Contains(r.body, "<script>alert(1)") {
		t.Fatal("the host name renders as markup")
	}

	analyst.header.Set("HX-Request", "true")
	r = analyst.get(base + "/posture")
	wantStatus(t, r, http.StatusOK)
	if !strings.HasPrefix(strings.TrimSpace(r.body), `<div id="posture"`) || strings.Contains(r.body, "<html") {
		t.Errorf("fragment:\n%s", r.body)
	}
	analyst.header.Del("HX-Request")

	customer := ui.as(t, ui.CustomerB)
	wantStatus(t, customer.get(base+"/posture"), http.StatusNotFound)
	wall := customer.get("/soc")
	wantStatus(t, wall, http.StatusOK)
	if strings.Contains(wall.body, ui.TenantA.Name) {
		t.Error("the customer of B sees tenant A on the wall")
	}
	admin := ui.as(t, ui.Admin)
	wall = admin.get("/soc")
	wantStatus(t, wall, http.StatusOK)
	a, b := strings.Index(wall.body, ">"+ui.TenantA.Name+"<"), strings.Index(wall.body, ">"+ui.TenantB.Name+"<")
	if a < 0 || b < 0 || a > b {
		t.Errorf("the wall should list A (worse) before B: %d, %d", a, b)
	}
}

// TestBaselineTile: the dashboard shows the tenant's baseline compliance
// from the latest runs, linked to the baseline pages, to those who may
// read assessments; another tenant's customer sees no such tile.
func TestBaselineTile(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	ctx := ui.adminCtx()
	at := time.Now().UTC().Add(-time.Hour)
	r := store.BaselineRun{TenantID: ui.TenantA.ID, AssetID: ui.AssetA.ID, PolicyID: "cis_debian12", Source: store.BaselineSourceAgent,
		StartedAt: at, FinishedAt: at, Passed: 3, Failed: 1}
	if err := ui.Store.Baseline().CreateRun(ctx, &r, nil); err != nil {
		t.Fatal(err)
	}
	page := ui.as(t, ui.Admin).get("/t/" + ui.TenantA.Slug)
	wantStatus(t, page, http.StatusOK)
	// 3 passed of 4 decided.
	for _, want := range []string{`id="tile-baseline"`, "75 %", `href="/t/` + ui.TenantA.Slug + `/operations/baseline"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if b := ui.as(t, ui.CustomerB).get("/t/" + ui.TenantB.Slug); strings.Contains(b.body, "75 %") {
		t.Error("another tenant's dashboard shows this tenant's compliance")
	}
}

// TestWallDesk: the SOC wall shows the monitoring desk's workload to a
// global reader — who is on shift now, handover notes not acknowledged,
// the wall's open alerts — and nothing of it to a tenant's customer.
func TestWallDesk(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	ctx := ui.adminCtx()
	now := time.Now().UTC()
	sh, err := ui.Alerting.AddShift(ctx, alerting.ShiftInput{User: ui.Admin.ID, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(7 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ui.Alerting.AddShift(ctx, alerting.ShiftInput{User: ui.AnalystA.ID, StartsAt: now.Add(8 * time.Hour), EndsAt: now.Add(16 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ui.Alerting.WriteHandover(ctx, alerting.HandoverInput{ShiftID: sh.ID, OpenItems: "Phishing wave at tenant A", Watch: "VPN logins"}); err != nil {
		t.Fatal(err)
	}
	al := store.Alert{TenantID: ui.TenantA.ID, GroupKey: "g", RuleID: "r", RuleTitle: "Brute force", Level: "high", Host: "vpn-01",
		Status: "new", FirstSeen: now.Add(-time.Hour), LastSeen: now.Add(-time.Hour)}
	if _, err := ui.Store.Alerts().Raise(ctx, &al, time.Minute, []string{"new"}, 10); err != nil {
		t.Fatal(err)
	}
	wall := ui.as(t, ui.Admin).get("/soc")
	wantStatus(t, wall, http.StatusOK)
	for _, want := range []string{`id="wall-desk"`, "<strong>" + ui.Admin.Username + "</strong>",
		"1 handover notes not acknowledged · 1 open alerts on the wall · 1 in the past 24 hours"} {
		if !strings.Contains(wall.body, want) {
			t.Errorf("wall lacks %q", want)
		}
	}
	if strings.Contains(wall.body, "<strong>"+ui.AnalystA.Username+"</strong>") {
		t.Error("the wall shows the next shift as on duty")
	}
	if c := ui.as(t, ui.CustomerB).get("/soc"); strings.Contains(c.body, `id="wall-desk"`) {
		t.Error("a tenant's customer sees the desk's workload")
	}
}
