package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserBusinessSystem: an analyst records a business system that
// holds secret data, puts an asset of importance 3 in it with the picker,
// and the asset page shows the importance the system raised it to.
func TestBrowserBusinessSystem(t *testing.T) {
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
		chromedp.SendKeys(`#asset-form input[name="name"]`, "core-db-01"),
		chromedp.SendKeys(`#asset-form input[name="address"]`, "10.30.0.5"),
		chromedp.Click(`#asset-form button[type="submit"]`),
		chromedp.WaitVisible(`main`),
	)
	step(t, ctx, "record the business system",
		chromedp.Navigate(base+"/t/acme/assets/systems/new"),
		chromedp.WaitVisible(`#bizsys-form`),
		chromedp.SendKeys(`#bizsys-form input[name="name"]`, "Online banking"),
		chromedp.SendKeys(`#bizsys-form input[name="owner"]`, "Li Wei"),
		chromedp.SetValue(`#f-sens`, "secret"),
		chromedp.SetValue(`#f-mlps`, "3"),
		chromedp.Click(`#bizsys-form button[type="submit"]`),
		chromedp.WaitVisible(`#f-asset`),
	)
	step(t, ctx, "put the server in it",
		chromedp.Click(`form[action$="/members"] button[type="submit"]`),
	)
	waitFor(t, ctx, "the member listed", `[...document.querySelectorAll('main a')].some(a => a.textContent.trim() === 'core-db-01')`)
	screenshot(t, ctx, "screenshot-business-system.png")
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('main a')].find(a => a.textContent.trim() === 'core-db-01').href`))
	if err != nil {
		t.Fatalf("the member's link: %v", err)
	}
	step(t, ctx, "open the server's page",
		chromedp.Navigate(href),
		chromedp.WaitVisible(`main`),
	)
	waitFor(t, ctx, "the asset page", `document.querySelector('main').innerText.includes('Effective importance')`)
	if body := text(t, ctx, "main"); !strings.Contains(body, "Online banking") || !strings.Contains(body, "raised by Online banking (own: 3)") {
		t.Fatalf("the asset page does not show the importance its system raised:\n%s", truncate(body, 3000))
	}
}
