package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
)

// screen is one page the screenshot tour visits: what its heading says,
// a value the tour seeded that the page must show, and the PNG it makes.
type screen struct {
	path, heading, seeded, png string
}

// TestBrowserScreens seeds a tenant with one record of each kind through
// the store, visits the pages of the monitoring desk, detection,
// operations, compliance and agent services and the SOC wall, and checks
// that each shows its heading and the seeded record and no error. With
// VIGIL_SCREENSHOTS set (make screenshots) it saves each page as a PNG.
func TestBrowserScreens(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.AdminPassword = adminPassword
	cfg.ShutdownTimeout = 5 * time.Second
	a, addr := node(t, cfg, config.RoleAll)
	base := "http://" + addr
	ids := seedScreens(t, a.Store)

	ctx := browser(t)
	step(t, ctx, "sign in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`input[name="username"]`),
		chromedp.SendKeys(`input[name="username"]`, "admin"),
		chromedp.SendKeys(`input[name="password"]`, adminPassword),
		chromedp.Click(`#login-form button[type="submit"]`),
		chromedp.WaitVisible(`nav`),
	)
	tp := "/t/acme"
	// The rules page lists what the engine loaded: the custom rule goes
	// in through its upload form.
	step(t, ctx, "upload a custom rule",
		chromedp.Navigate(base+tp+"/events/rules"),
		chromedp.WaitVisible(`#r-source`),
		chromedp.SetValue(`#r-source`, screenRule),
		chromedp.Click(`form[action$="/upload"] button[type="submit"]`),
	)
	waitFor(t, ctx, "the rule uploaded", `document.querySelector('main').innerText.includes('Admin console PowerShell download')`)
	for _, sc := range []screen{
		{"/soc", "SOC wall", "Acme Corp", "screenshot-soc-wall.png"},
		{"/soc/desk", "Monitoring desk", "Core switch flapping", "screenshot-monitoring-desk.png"},
		{tp + "/notifications/digest/preview", "Weekly digest preview", "Phishing wave against finance", "screenshot-digest-preview.png"},
		{tp + "/events/rules", "Detection rules", "Admin console PowerShell download", "screenshot-rules.png"},
		{tp + "/operations/drill", "Attack/defence drills", "Spring red-team drill", "screenshot-drills.png"},
		{tp + "/operations/key-period", "Key-period security campaign", "National holiday watch", "screenshot-key-period.png"},
		{tp + "/operations/device-om", "Security device O&M", "edge-fw-01", "screenshot-devices.png"},
		{tp + "/operations/device-om/" + ids.device, "edge-fw-01", "Interface ge-0/0/1 down", "screenshot-device-events.png"},
		{tp + "/compliance/compliance-inspection", "Compliance inspections", "Quarterly MLPS inspection", "screenshot-compliance-inspections.png"},
		{"/supervision", "Supervision summary", "Quarterly MLPS inspection", "screenshot-supervision.png"},
		{tp + "/compliance/risk-assessment", "Risk register", "Payment system risk assessment", "screenshot-risk-register.png"},
		{tp + "/agents", "Host agents", "web-07.acme.example", "screenshot-agents.png"},
		{tp + "/operations/traffic-analysis", "Traffic risk analysis", "conn.log", "screenshot-traffic.png"},
		{tp + "/operations/app-compromise", "Application compromise detection", "Shop access logs, May", "screenshot-app-compromise.png"},
	} {
		step(t, ctx, "open "+sc.path, chromedp.Navigate(base+sc.path), chromedp.WaitVisible(`main h1`))
		h1 := text(t, ctx, "main h1")
		body := text(t, ctx, "main")
		if strings.TrimSpace(h1) != sc.heading {
			t.Errorf("%s: heading %q, want %q", sc.path, h1, sc.heading)
		}
		if !strings.Contains(body, sc.seeded) {
			t.Errorf("%s does not show %q:\n%s", sc.path, sc.seeded, truncate(body, 2000))
		}
		for _, bad := range []string{"Internal Server Error", "Something went wrong", "Not found", "Forbidden"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s shows %q:\n%s", sc.path, bad, truncate(body, 2000))
			}
		}
		screenshot(t, ctx, sc.png)
	}
}

type screenIDs struct{ device string }

// seedScreens gives tenant acme one record for each page of the tour.
func seedScreens(t *testing.T, st store.Store) screenIDs {
	t.Helper()
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed %s: %v", what, err)
		}
	}
	now := time.Now().UTC()
	tn := store.Tenant{Slug: "acme", Name: "Acme Corp"}
	must("tenant", st.Tenants().Create(ctx, &tn))
	admin, err := st.Users().GetByUsername(ctx, "admin")
	must("admin", err)

	for i, level := range []string{"critical", "high", "high", "medium"} {
		al := store.Alert{TenantID: tn.ID, GroupKey: level + string(rune('a'+i)), RuleID: "sigma:brute-force", RuleTitle: "SSH brute force",
			Level: level, Host: "web-07", Status: "new", FirstSeen: now.Add(-time.Duration(i) * time.Hour), LastSeen: now}
		_, err := st.Alerts().Raise(ctx, &al, time.Minute, []string{"new", "acknowledged"}, 3)
		must("alert", err)
	}

	sh := store.Shift{UserID: admin.ID, Username: admin.Username, StartsAt: now.Add(-2 * time.Hour), EndsAt: now.Add(6 * time.Hour),
		Note: "day shift", CreatedBy: admin.ID}
	must("shift", st.Desk().CreateShift(ctx, &sh))
	must("handover", st.Desk().CreateHandover(ctx, &store.Handover{ShiftID: sh.ID, AuthorID: admin.ID, AuthorName: admin.Username,
		OpenItems: "Core switch flapping", Watch: "Watch VPN logins from abroad"}))
	must("digest section", st.Desk().CreateSection(ctx, &store.DigestSection{TenantID: tn.ID, Title: "Phishing wave against finance",
		Body: "Three users reported the same invoice lure; the sender domain is blocked.", CreatedBy: admin.ID, CreatedByName: admin.Username}))

	must("drill", st.Drills().Create(ctx, &store.Drill{TenantID: tn.ID, Name: "Spring red-team drill", State: "planned",
		Start: now.Add(24 * time.Hour), End: now.Add(72 * time.Hour), CreatedBy: admin.ID}))
	must("campaign", st.Campaigns().Create(ctx, &store.Campaign{TenantID: tn.ID, Kind: store.CampaignKeyPeriod, Name: "National holiday watch",
		Phase: "preparation", Start: now, End: now.Add(7 * 24 * time.Hour), Doc: []byte("{}"), CreatedBy: admin.ID}, nil))

	fw := store.Asset{TenantID: tn.ID, Kind: "network", Name: "edge-fw-01", Address: "10.0.0.1"}
	must("asset", st.Assets().Create(ctx, &fw))
	must("device", st.Devices().PutDevice(ctx, &store.Device{TenantID: tn.ID, AssetID: fw.ID, Vendor: "Huawei", Model: "USG6000",
		Role: "firewall", MgmtAddress: "10.0.0.1"}))
	must("device event", st.Devices().AddDeviceEvent(ctx, &store.DeviceEvent{TenantID: tn.ID, AssetID: fw.ID, At: now.Add(-time.Hour),
		Kind: "trap", Name: "linkDown", Severity: "medium", Summary: "Interface ge-0/0/1 down",
		Detail: []store.DeviceEventField{{Name: "ifDescr", Value: "ge-0/0/1"}}}))

	must("inspection", st.Compliance().CreateInspection(ctx, &store.Inspection{TenantID: tn.ID, Name: "Quarterly MLPS inspection",
		Framework: "mlps2-l3", State: "open", Doc: []byte("{}"), CreatedBy: admin.ID}))
	must("risk assessment", st.Compliance().CreateRiskAssessment(ctx, &store.RiskAssessment{TenantID: tn.ID,
		Name: "Payment system risk assessment", Method: "matrix", Doc: []byte("{}"), CreatedBy: admin.ID}))

	sum := sha256.Sum256([]byte("screens-enrolment-token"))
	must("enrolment", st.Agents().CreateEnrolment(ctx, &store.AgentEnrolment{TenantID: tn.ID, Name: "web servers",
		TokenHash: hex.EncodeToString(sum[:]), MaxUses: 5, ExpiresAt: now.Add(24 * time.Hour), CreatedBy: admin.ID}))
	agentSum := sha256.Sum256([]byte("screens-agent-credential"))
	must("agent", st.Agents().Enrol(ctx, hex.EncodeToString(sum[:]), &store.Agent{TenantID: tn.ID, ID: "0190a1b2-0000-7000-8000-000000000007",
		Hostname: "web-07.acme.example", Version: "1.0.0", TokenHash: hex.EncodeToString(agentSum[:]), Status: store.AgentActive,
		EnrolledAt: now.Add(-time.Hour), LastSeenAt: now}))

	must("traffic analysis", st.Traffic().CreateAnalysis(ctx, &store.TrafficAnalysis{TenantID: tn.ID, Name: "conn.log", Kind: "zeek",
		Status: "pending", CreatedBy: admin.ID}, nil))
	shop := store.Asset{TenantID: tn.ID, Kind: "application", Name: "shop", Address: "10.0.1.20"}
	must("application", st.Assets().Create(ctx, &shop))
	must("weblog run", st.Weblog().CreateRun(ctx, &store.WeblogRun{TenantID: tn.ID, AssetID: shop.ID, Name: "Shop access logs, May",
		Result: []byte("{}"), CreatedBy: admin.ID}))
	return screenIDs{device: fw.ID}
}

// screenRule is a custom Sigma rule of the tenant.
const screenRule = `title: Admin console PowerShell download
id: 5f1c2b4e-7a41-4d0e-9c61-3f2a8e0b7d15
status: experimental
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\powershell.exe'
    CommandLine|contains: 'DownloadString'
  condition: selection
level: high
`
