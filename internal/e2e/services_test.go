package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserServices drives three services the way an engineer does:
// upload a firewall configuration and accept the proven plan, import a
// scan and mark a finding unfixed-but-protected, generate the reports.
func TestBrowserServices(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	rules, err := os.ReadFile(filepath.Join("..", "policy", "testdata", "router.rules"))
	if err != nil {
		t.Fatal(err)
	}
	scan, err := os.ReadFile(filepath.Join("..", "vuln", "testdata", "golden", "nuclei-jsonl.in"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rulesPath, scanPath := filepath.Join(dir, "router.rules"), filepath.Join(dir, "scan.jsonl")
	if err := os.WriteFile(rulesPath, rules, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(scanPath, scan, 0o600); err != nil {
		t.Fatal(err)
	}
	base := startServer(t)
	ctx := browser(t)
	step(t, ctx, "sign in",
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
	)

	// Firewall policy optimisation: upload, findings, proof, accept, report.
	pol := base + "/t/acme/operations/policy-optimisation"
	step(t, ctx, "upload a configuration",
		chromedp.Navigate(pol),
		chromedp.WaitVisible(`#review-form`),
		chromedp.SendKeys(`#review-form input[name="name"]`, "Core router"),
		chromedp.SetUploadFiles(`#f-file`, []string{rulesPath}),
		chromedp.Click(`#review-form button[type="submit"]`),
		chromedp.WaitVisible(`#proposal`),
	)
	body := text(t, ctx, "main")
	for _, want := range []string{"Core router", "Proven equivalent", "Shadowed rules"} {
		if !strings.Contains(body, want) {
			t.Fatalf("review page lacks %q:\n%s", want, truncate(body, 3000))
		}
	}
	screenshot(t, ctx, "screenshot-policy-review.png")
	step(t, ctx, "accept the plan", chromedp.Click(`form[action$="/accept"] button`))
	waitFor(t, ctx, "the accepted plan", `location.search.includes('ok=accepted')`)
	step(t, ctx, "generate the report",
		chromedp.WaitVisible(`#proposal`),
		chromedp.SetValue(`#r-format`, "html"),
		chromedp.Click(`#report-form button[type="submit"]`),
		chromedp.WaitVisible(`#report-list`),
	)
	if body := text(t, ctx, "#report-list"); !strings.Contains(body, "Firewall policy optimisation report") {
		t.Fatalf("report not archived:\n%s", truncate(body, 2000))
	}

	// Vulnerabilities: import, then the finding's state change.
	step(t, ctx, "import a scan",
		chromedp.Navigate(base+"/t/acme/vulnerabilities"),
		chromedp.WaitVisible(`#vuln-import`),
		chromedp.SetUploadFiles(`#vuln-import input[name="file"]`, []string{scanPath}),
		chromedp.Click(`#vuln-import button[type="submit"]`),
		chromedp.WaitVisible(`#vuln-list`),
	)
	if body := text(t, ctx, "#vuln-list"); !strings.Contains(body, "Apache 2.4.49 - Path Traversal") {
		t.Fatalf("imported finding not listed:\n%s", truncate(body, 2000))
	}
	screenshot(t, ctx, "screenshot-vulnerabilities.png")
	step(t, ctx, "mitigate the first finding",
		chromedp.Click(`#vuln-list tbody tr:first-child a`),
		chromedp.WaitVisible(`#vuln-change`),
		chromedp.SetValue(`#f-state`, "mitigated"),
		chromedp.SendKeys(`#vuln-change textarea[name="note"]`, "Vendor patch not released yet"),
		chromedp.SendKeys(`#vuln-change input[name="control"]`, "Reverse proxy blocks /cgi-bin/"),
		chromedp.SetValue(`#f-expires`, "2099-12-31"),
		chromedp.Click(`#vuln-change button[type="submit"]`),
	)
	waitFor(t, ctx, "the mitigation recorded", `document.querySelector('main').innerText.includes('Reverse proxy blocks /cgi-bin/')`)
	if body := text(t, ctx, "main"); !strings.Contains(body, "Reverse proxy blocks /cgi-bin/") || !strings.Contains(body, "Mitigated, not fixed") {
		t.Fatalf("mitigation not recorded:\n%s", truncate(body, 3000))
	}
	screenshot(t, ctx, "screenshot-vulnerability.png")
}
