package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAdvisory: an analyst writes an early warning about a product
// one tenant runs, sees on its page which tenant it concerns, publishes
// it, and finds it among that tenant's early warnings.
func TestBrowserAdvisory(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	base := startServer(t)
	ctx := browser(t)
	step(t, ctx, "sign in and create a tenant with a gateway",
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
		chromedp.SendKeys(`#asset-form input[name="name"]`, "vpn-gw-01"),
		chromedp.SendKeys(`#asset-form input[name="address"]`, "10.20.0.1"),
		chromedp.SendKeys(`#asset-form textarea[name="attributes"]`, "product=Example SSL VPN\nversion=7.2.4"),
		chromedp.Click(`#asset-form button[type="submit"]`),
		chromedp.WaitVisible(`main`),
	)
	step(t, ctx, "write the advisory",
		chromedp.Navigate(base+"/advisories/new"),
		chromedp.WaitVisible(`#advisory-form`),
		chromedp.SendKeys(`#a-title`, "Example SSL VPN pre-auth RCE exploited"),
		chromedp.SetValue(`#a-sev`, "critical"),
		chromedp.SendKeys(`#a-cves`, "CVE-2026-20001"),
		chromedp.SendKeys(`#a-aff`, "example | Example SSL VPN | >=7.0, <7.2.5"),
		chromedp.SendKeys(`#a-desc`, "Heap overflow in the web portal, exploited since last week."),
		chromedp.SendKeys(`#a-action`, "Upgrade to 7.2.5; until then disable the web portal."),
		chromedp.Click(`#advisory-form button[type="submit"]`),
		chromedp.WaitVisible(`#matches`),
	)
	if body := text(t, ctx, "#matches"); !strings.Contains(body, "Acme Corp") || !strings.Contains(body, "vpn-gw-01") {
		t.Fatalf("the draft does not list the tenant it concerns:\n%s", truncate(body, 2000))
	}
	step(t, ctx, "publish it",
		chromedp.Click(`form[action$="/state"] input[value="published"] ~ button`),
	)
	waitFor(t, ctx, "the advisory published", `location.search.includes('ok=saved') && !document.querySelector('input[value="published"]')`)
	screenshot(t, ctx, "screenshot-advisory.png")
	step(t, ctx, "open the tenant's early warnings",
		chromedp.Navigate(base+"/t/acme/operations/threat-intel"),
		chromedp.WaitVisible(`main`),
	)
	if body := text(t, ctx, "main"); !strings.Contains(body, "Example SSL VPN pre-auth RCE exploited") {
		t.Fatalf("the published advisory is not among the tenant's early warnings:\n%s", truncate(body, 3000))
	}
}
