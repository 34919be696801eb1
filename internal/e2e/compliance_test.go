package e2e

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-sec/vigil/internal/compliance"
)

// TestBrowserMLPSProject: an admin creates a level-3 MLPS project,
// assesses three items of 身份鉴别 on a server (one with an unresolved
// high risk), finds the score and conclusion the documented formula
// gives, and generates the zh-CN PDF assessment report, which lands in
// the tenant's report catalogue as a PDF.
func TestBrowserMLPSProject(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	base := startServer(t)
	ctx := browser(t)
	step(t, ctx, "sign in and create a tenant with a server",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`input[name="username"]`),
		chromedp.SendKeys(`input[name="username"]`, "admin"),
		chromedp.SendKeys(`input[name="password"]`, adminPassword),
		chromedp.Click(`#login-form button[type="submit"]`),
		chromedp.WaitVisible(`nav`),
		chromedp.Navigate(base+"/admin/tenants/new"),
		chromedp.WaitVisible(`input[name="slug"]`),
		chromedp.SendKeys(`input[name="slug"]`, "acme"),
		chromedp.SendKeys(`input[name="name"]`, "Acme Corp"),
		chromedp.Click(`#tenant-form button[type="submit"]`),
		chromedp.WaitVisible(`main table`),
		chromedp.Navigate(base+"/t/acme/assets/new"),
		chromedp.WaitVisible(`#asset-form`),
		chromedp.SendKeys(`#asset-form input[name="name"]`, "oa-app-01"),
		chromedp.SendKeys(`#asset-form input[name="address"]`, "10.40.0.8"),
		chromedp.Click(`#asset-form button[type="submit"]`),
		chromedp.WaitVisible(`main`),
	)
	step(t, ctx, "create a level-3 project",
		chromedp.Navigate(base+"/t/acme/compliance/mlps"),
		chromedp.WaitVisible(`#project-form`),
		chromedp.SendKeys(`#p-name`, "OA 系统 2026 年等级测评"),
		chromedp.SendKeys(`#p-system`, "OA 办公系统"),
		chromedp.SetValue(`#p-level`, "3"),
		chromedp.Click(`#project-form button[type="submit"]`),
		chromedp.WaitVisible(`#score`),
	)
	project, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil || !strings.HasPrefix(project, "/t/acme/compliance/mlps/") {
		t.Fatalf("not on the project page: %q %v", project, err)
	}
	results := []struct {
		item, result string
		highRisk     bool
	}{
		{"L3-CES1-01", "conform", false},
		{"L3-CES1-02", "partial", false},
		{"L3-CES1-03", "nonconform", true},
	}
	for _, r := range results {
		actions := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(base + project + "?item=" + r.item + "#item-" + r.item),
			chromedp.WaitVisible(`#item-form`),
			chromedp.SendKeys(`#item-form input[name="object"]`, "oa-app-01"),
			chromedp.SetValue(`#item-form select[name="result"]`, r.result),
			chromedp.SendKeys(`#item-form textarea[name="evidence"]`, "现场核查 "+r.item),
		}
		if r.highRisk {
			actions = append(actions, chromedp.Click(`#item-form input[name="high_risk"]`))
		}
		actions = append(actions, chromedp.Click(`#item-form button[type="submit"]`))
		step(t, ctx, "assess "+r.item, actions...)
		waitFor(t, ctx, r.item+" recorded", `!document.querySelector('#item-form') && !!document.querySelector('#item-`+r.item+` .badge.result-`+r.result+`')`)
	}

	// The oracle: the documented default scoring over the framework's own
	// weights — 符合 1, 部分符合 0.5, 不符合 0 — and an unresolved high risk
	// forcing 差.
	cat, err := compliance.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	fw := cat.Framework("mlps2-l3")
	w := func(id string) float64 { return fw.Node(id).EffectiveWeight() }
	score := 100 * (w("L3-CES1-01") + 0.5*w("L3-CES1-02")) / (w("L3-CES1-01") + w("L3-CES1-02") + w("L3-CES1-03"))
	wantOverall := fmt.Sprintf("%.2f", math.Round(score*100)/100)
	step(t, ctx, "back on the project page", chromedp.Navigate(base+project), chromedp.WaitVisible(`#score`))
	overall, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#overall').dataset.overall`))
	if err != nil || overall != wantOverall {
		t.Fatalf("overall %q (%v), want %s", overall, err, wantOverall)
	}
	conclusion, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#conclusion').dataset.conclusion`))
	if err != nil || conclusion != string(compliance.Poor) {
		t.Fatalf("conclusion %q (%v), want 差 for an unresolved high risk", conclusion, err)
	}
	if hr := text(t, ctx, "#high-risks"); !strings.Contains(hr, "L3-CES1-03") {
		t.Fatalf("high risks listed: %q", hr)
	}
	screenshot(t, ctx, "screenshot-mlps-project.png")

	// The report: zh-CN PDF, archived in the catalogue.
	rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(rctx,
		chromedp.SetValue(`#mlps-report select[name="format"]`, "pdf"),
		chromedp.SetValue(`#mlps-report select[name="lang"]`, "zh-CN"),
		chromedp.Click(`#mlps-report button[type="submit"]`),
		chromedp.WaitVisible(`#report-list`),
	); err != nil {
		t.Fatalf("generate the report: %v", err)
	}
	row := text(t, ctx, "#report-list tbody tr:first-child")
	if !strings.Contains(row, "pdf") || !strings.Contains(row, "zh-CN") {
		t.Fatalf("the newest report is not the zh-CN PDF: %q", row)
	}
	magic, err := chromedp.Run(rctx, chromedp.Evaluate[string](`(async () => {
		const a = document.querySelector('#report-list tbody tr:first-child a');
		const r = await fetch(a.href);
		const b = new Uint8Array(await r.arrayBuffer());
		return String.fromCharCode(...b.slice(0, 5));
	})()`, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	if err != nil || magic != "%PDF-" {
		t.Fatalf("the archived report starts with %q (%v), want a PDF", magic, err)
	}
}
