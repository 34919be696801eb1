// Package e2e drives a real Vigil server with headless Chromium the way a
// person would: sign in, switch language, create a tenant and an asset.
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/testenv"
)

const adminPassword = "e2e-admin-password-1"

// startServer runs a full embedded-default Vigil on a free port.
func startServer(t *testing.T) string {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.AdminPassword = adminPassword
	cfg.ShutdownTimeout = 5 * time.Second
	_, addr := node(t, cfg, config.RoleAll)
	return "http://" + addr
}

// browser starts headless Chromium with the flags this environment needs.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := testenv.RequireChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// step runs browser actions with a bound so a broken page fails, not hangs.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		var html string
		hctx, hcancel := context.WithTimeout(ctx, 3*time.Second)
		html, _ = chromedp.Run(hctx, chromedp.OuterHTML("main"))
		hcancel()
		t.Fatalf("%s: %v\npage body:\n%s", what, err, truncate(html, 3000))
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// screenshot saves a PNG into VIGIL_SCREENSHOTS when set (make screenshots).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("VIGIL_SCREENSHOTS")
	if dir == "" {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	base := startServer(t)
	ctx := browser(t)

	// Sign in.
	step(t, ctx, "open login page",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`input[name="username"]`),
	)
	screenshot(t, ctx, "screenshot-login.png")
	step(t, ctx, "sign in",
		chromedp.SendKeys(`input[name="username"]`, "admin"),
		chromedp.SendKeys(`input[name="password"]`, adminPassword),
		chromedp.Click(`#login-form button[type="submit"]`),
		chromedp.WaitVisible(`nav`),
	)
	if body := text(t, ctx, "body"); !strings.Contains(body, "Administrator") {
		t.Fatalf("after sign-in the page does not show the user:\n%s", truncate(body, 2000))
	}

	// Create a tenant through the admin form.
	step(t, ctx, "create tenant",
		chromedp.Navigate(base+"/admin/tenants/new"),
		chromedp.WaitVisible(`input[name="slug"]`),
		chromedp.SendKeys(`input[name="slug"]`, "acme"),
		chromedp.SendKeys(`input[name="name"]`, "Acme Corp"),
		chromedp.Click(`#tenant-form button[type="submit"]`),
		chromedp.WaitVisible(`main table`),
	)
	if body := text(t, ctx, "main"); !strings.Contains(body, "Acme Corp") {
		t.Fatalf("tenant list does not show the new tenant:\n%s", truncate(body, 2000))
	}

	// Create an asset in it; its name is markup that must be shown as text.
	const assetName = `<b>web-01</b>`
	step(t, ctx, "create asset",
		chromedp.Navigate(base+"/t/acme/assets/new"),
		chromedp.WaitVisible(`input[name="name"]`),
		chromedp.SetValue(`select[name="kind"]`, "host"),
		chromedp.SendKeys(`input[name="name"]`, assetName),
		chromedp.SendKeys(`input[name="address"]`, "192.0.2.10"),
		chromedp.Click(`#asset-form button[type="submit"]`),
		chromedp.WaitVisible(`main dl.props`),
	)
	if body := text(t, ctx, "main"); !strings.Contains(body, assetName) || !strings.Contains(body, "192.0.2.10") {
		t.Fatalf("asset list does not show the asset as typed:\n%s", truncate(body, 2000))
	}

	// Dashboard of the tenant, in English, then switch to Chinese.
	step(t, ctx, "open dashboard", chromedp.Navigate(base+"/t/acme"), chromedp.WaitVisible(`#assets-card p.metric`))
	if m := text(t, ctx, "#assets-card p.metric"); strings.TrimSpace(m) != "1" {
		t.Fatalf("dashboard counts %q assets, want the 1 just created", m)
	}
	// A new tenant with nothing wrong yet scores full marks.
	if m := text(t, ctx, "#posture .score-card p.metric"); !strings.HasPrefix(strings.TrimSpace(m), "100") {
		t.Fatalf("posture score of a new tenant: %q", m)
	}
	screenshot(t, ctx, "screenshot-dashboard.png")
	en := text(t, ctx, "nav")
	step(t, ctx, "switch to Chinese",
		chromedp.Click(`form.langswitch button[value="zh-CN"]`),
		chromedp.WaitVisible(`html[lang="zh-CN"]`),
	)
	zh := text(t, ctx, "nav")
	if zh == en || !strings.Contains(zh, "资产") {
		t.Fatalf("navigation not translated after switching language:\nen: %s\nzh: %s", truncate(en, 500), truncate(zh, 500))
	}
	screenshot(t, ctx, "screenshot-dashboard-zh.png")

	// The language sticks for the user across pages.
	step(t, ctx, "reload in Chinese", chromedp.Navigate(base+"/t/acme/assets"), chromedp.WaitVisible(`html[lang="zh-CN"]`))
	step(t, ctx, "switch back to English",
		chromedp.Click(`form.langswitch button[value="en"]`),
		chromedp.WaitVisible(`html[lang="en"]`),
	)

	// Sign out ends the session.
	step(t, ctx, "sign out",
		chromedp.Click(`details.usermenu summary`),
		chromedp.Click(`details.usermenu form[action="/logout"] button[type="submit"]`),
		chromedp.WaitVisible(`input[name="username"]`),
	)
	step(t, ctx, "protected page after sign-out", chromedp.Navigate(base+"/t/acme/assets"), chromedp.WaitVisible(`input[name="username"]`))

	// Signed out, switch the login page to Chinese and sign in there: a
	// wrong password first, then the right one.
	step(t, ctx, "login page in Chinese",
		chromedp.Click(`form.langswitch button[value="zh-CN"]`),
		chromedp.WaitVisible(`html[lang="zh-CN"]`),
		chromedp.SendKeys(`input[name="username"]`, "admin"),
		chromedp.SendKeys(`input[name="password"]`, "not the password"),
		chromedp.Click(`#login-form button[type="submit"]`),
		chromedp.WaitVisible(`#login-form`),
		chromedp.WaitVisible(`[role="alert"]`),
	)
	if body := text(t, ctx, "main"); !strings.Contains(body, "用户名或密码错误") {
		t.Fatalf("wrong password in Chinese shows no Chinese error:\n%s", truncate(body, 1000))
	}
	screenshot(t, ctx, "screenshot-login-zh.png")
	step(t, ctx, "sign in in Chinese",
		chromedp.SetValue(`input[name="username"]`, "admin"),
		chromedp.SendKeys(`input[name="password"]`, adminPassword),
		chromedp.Click(`#login-form button[type="submit"]`),
		// The language saved in the account (English, chosen above) wins
		// over the anonymous choice on the login page.
		chromedp.WaitVisible(`html[lang="en"] nav`),
	)
}
