package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestBrowserIncident promotes an alert to a case, works it through a
// playbook to closure, generates the IR report as PDF and reads the
// timeline back out of the PDF.
func TestBrowserIncident(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		testenv.Missing(t, "pdftotext (Debian package poppler-utils)")
	}
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.AdminPassword = adminPassword
	cfg.ShutdownTimeout = 5 * time.Second
	a, addr := node(t, cfg, config.RoleAll)
	base := "http://" + addr
	ctx := browser(t)
	step(t, ctx, "sign in and create a tenant",
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
	sys := auth.WithPrincipal(context.Background(), &auth.Principal{Username: "system", UserID: "system", GlobalRole: auth.RoleAdmin})
	ten, err := a.Store.Tenants().GetBySlug(sys, "acme")
	if err != nil {
		t.Fatal(err)
	}
	al := store.Alert{TenantID: ten.ID, GroupKey: "ws|web-01", RuleID: "webshell", RuleTitle: "Web shell request on web-01",
		Level: "critical", Host: "web-01", Tags: []string{"attack.t1505.003"}, Status: "new", LastSeen: time.Now()}
	if _, err := a.Store.Alerts().Raise(sys, &al, time.Minute, []string{"new"}, 3); err != nil {
		t.Fatal(err)
	}

	step(t, ctx, "promote the alert to a case",
		chromedp.Navigate(base+"/t/acme/events/alerts"),
		chromedp.WaitVisible(`#alert-promote`),
		chromedp.Click(`#alert-list input[name="id"]`),
		chromedp.SendKeys(`#alert-promote input[name="title"]`, "Web shell on web-01"),
		chromedp.Click(`#alert-promote button`),
		chromedp.WaitVisible(`#playbook-form`),
	)
	step(t, ctx, "apply the web shell playbook and record what happened",
		chromedp.SetValue(`#pb`, "webshell"),
		chromedp.Click(`#playbook-form button`),
		chromedp.WaitVisible(`#tasks table`),
		chromedp.SendKeys(`#timeline input[name="text"]`, "cmd.jsp uploaded through the avatar form"),
		chromedp.Click(`#timeline button`),
	)
	waitFor(t, ctx, "the note on the timeline", `!!document.querySelector('#timeline') && document.querySelector('#timeline').innerText.includes('cmd.jsp uploaded')`)
	screenshot(t, ctx, "screenshot-incident.png")
	// Each change bumps the case's version; waiting for the next one waits
	// for the new page, not the old one still on screen.
	changed := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		vctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		v, err := chromedp.Run(vctx, chromedp.Evaluate[int](`+document.querySelector('#case-phase').dataset.version`))
		cancel()
		if err != nil {
			t.Fatalf("%s: read the version: %v", what, err)
		}
		step(t, ctx, what, actions...)
		waitFor(t, ctx, what, fmt.Sprintf(`!!document.querySelector('#case-phase[data-version="%d"]')`, v+1))
	}
	for _, ph := range []string{"contain", "eradicate", "recover", "summarise"} {
		changed("move to "+ph,
			chromedp.SetValue(`#p-to`, ph),
			chromedp.SendKeys(`#phase-form input[name="reason"]`, ph+" done"),
			chromedp.Click(`#phase-form button`),
		)
	}
	changed("write the report",
		chromedp.SendKeys(`#s-summary`, "A web shell was planted and removed; no data left the host."),
		chromedp.Click(`#report form.form button`),
	)
	changed("close the case",
		chromedp.SetValue(`#p-res`, "true_positive"),
		chromedp.Click(`#close-form button`),
	)
	step(t, ctx, "generate the IR report as PDF",
		chromedp.SetValue(`#ir-report #r-format`, "pdf"),
		chromedp.SetValue(`#ir-report #r-lang`, "en"),
		chromedp.Click(`#ir-report button`),
		chromedp.WaitVisible(`#report-list`),
	)
	if body := text(t, ctx, "#report-list"); !strings.Contains(body, "Incident response report") {
		t.Fatalf("IR report not archived:\n%s", truncate(body, 2000))
	}
	reps, err := a.Store.Reports().List(sys, ten.ID, store.ReportFilter{})
	if err != nil || len(reps) == 0 {
		t.Fatalf("no archived report: %v", err)
	}
	rep, err := a.Store.Reports().Get(sys, ten.ID, reps[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	pdf := filepath.Join(t.TempDir(), "ir.pdf")
	if err := os.WriteFile(pdf, rep.Content, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-layout", pdf, "-").Output() // #nosec G204 -- fixed binary and a file of the test
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	txt := string(out)
	// Table cells wrap in the layout, so the timeline is checked by the
	// first words of each entry.
	for _, want := range []string{"Web shell on web-01", "2 Timeline", "cmd.jsp uploaded through the", "detect → contain",
		"summarise → closed", "A web shell was planted and removed"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the PDF lacks %q:\n%s", want, truncate(txt, 3000))
		}
	}
}

// waitFor evaluates js until it is true, across the page loads a form
// submission causes.
func waitFor(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(ectx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not there (%v)", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
