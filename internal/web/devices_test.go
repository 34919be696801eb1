package web

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/vigil-sec/vigil/internal/device/devicetest"
	"github.com/vigil-sec/vigil/internal/device/om"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/reportcentre"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/store"
)

var deviceLinkRE = regexp.MustCompile(`/operations/device-om/([0-9a-f-]{36})`)

// newDeviceUI is the test UI with the device O&M service and its monthly
// report in the catalogue.
func newDeviceUI(t *testing.T) *testUI {
	t.Helper()
	return newTestUI(t, func(o *Options) {
		box, err := secret.NewBox(bytes.Repeat([]byte{0x42}, secret.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		vault := secret.NewVault(box, o.Store.Secrets(), o.Audit)
		svc, err := om.NewService(o.Store, vault, o.Assets, o.Audit, om.Options{PollTimeout: 300 * time.Millisecond, BackupTimeout: 5 * time.Second,
			Box: box})
		if err != nil {
			t.Fatal(err)
		}
		o.Devices = svc
		if err := o.Reports.Register(reportcentre.Kind{Code: "device-om", Service: "device-om", NameEN: "Security device O&M report",
			NameZH: "安全产品运行维护报告", Periodic: true, Formats: []report.Format{report.FormatHTML},
			Build: func(ctx context.Context, tn store.Tenant, p reportcentre.Params) (*report.Document, error) {
				return svc.MonthlyReport(ctx, tn, p.From, p.To, p.Lang)
			}}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDeviceOMPages adds a device through the form with its credentials,
// polls it (a loopback SNMP agent) and backs it up twice (a scripted SSH
// device) through the pages, reads the masked diff, writes to the record
// sheet, archives the monthly report, and checks escaping and who may see
// and change what.
func TestDeviceOMPages(t *testing.T) {
	t.Parallel()
	ui := newDeviceUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/operations/device-om"

	list := admin.get(base)
	wantStatus(t, list, http.StatusOK)
	if !strings.Contains(list.body, `id="device-new"`) || strings.Contains(list.body, "coming-soon") {
		t.Fatal("no inventory page with an add link")
	}
	wantStatus(t, admin.get(base+"/new"), http.StatusOK)

	// A device answering the MIB-II system group and one IF-MIB row.
	agent := devicetest.StartAgent(t, "c0mm", []gosnmp.SnmpPDU{
		devicetest.Str("1.3.6.1.2.1.1.1.0", "Cisco IOS "+"<b>hostile</b>"), devicetest.Ticks("1.3.6.1.2.1.1.3.0", 100),
		devicetest.Str("1.3.6.1.2.1.1.5.0", "r1"),
		devicetest.Integer("1.3.6.1.2.1.25.3.3.1.2.1", 40), // HOST-RESOURCES-MIB hrProcessorLoad: 40 %
		devicetest.Str("1.3.6.1.2.1.2.2.1.2.1", "Gi0/1"), devicetest.Integer("1.3.6.1.2.1.2.2.1.8.1", 1),
	})
	ssh := devicetest.StartSSH(t, &devicetest.SSHDevice{Prompt: "r1#", Pager: []string{"terminal length 0"}, Show: "show running-config",
		Config: "hostname r1\nsnmp-server community TopS3cret RO\nend\n"})
	host, port := splitHostPort(t, ssh.Addr)
	_, snmpPort := splitHostPort(t, agent.Addr())

	hostile := `<script>alert(1)</script>{{.X}}`
	form := url.Values{"name": {"fw " + hostile}, "vendor": {"Cisco"}, "model": {"ASR " + hostile}, "role": {"firewall"},
		"mgmt_address": {host}, "ssh_port": {port}, "ssh_user": {devicetest.SSHUser}, "ssh_password": {devicetest.SSHPassword},
		"profile": {"cisco-ios"}, "snmp_version": {"2c"}, "snmp_port": {snmpPort}, "snmp_community": {"c0mm"},
		"support_expires": {time.Now().AddDate(0, 0, 12).Format(time.DateOnly)}}
	r := admin.post(base, form)
	wantRedirect(t, r, base+"/")
	m := deviceLinkRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirected to %s", r.Header.Get("Location"))
	}
	dURL := base + "/" + m[1]
	page := admin.get(dURL)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, "<script>alert(1)") || !strings.Contains(page.body, "&lt;script&gt;alert(1)&lt;/script&gt;{{.X}}") {
		t.Fatal("the device name is not escaped")
	}
	if strings.Contains(page.body, devicetest.SSHPassword) || strings.Contains(page.body, "c0mm\"") {
		t.Fatal("a credential is shown")
	}
	edit := admin.get(dURL + "/edit")
	wantStatus(t, edit, http.StatusOK)
	if strings.Contains(edit.body, devicetest.SSHPassword) || !strings.Contains(edit.body, "Stored encrypted in the vault; leave empty") {
		t.Fatal("the edit form shows the password or not that it is stored")
	}

	// Poll twice: the samples are in the history table and the chart
	// draws CPU 40 % at 72 of 120 (the top is 100 %) from x 0 to 600.
	wantRedirect(t, admin.post(dURL+"/poll", nil), dURL)
	wantRedirect(t, admin.post(dURL+"/poll", nil), dURL)
	page = admin.get(dURL)
	if !strings.Contains(page.body, `id="health-table"`) || !strings.Contains(page.body, `points="0.0,72.0 600.0,72.0"`) {
		t.Fatalf("no health history or chart after two polls:\n%s", page.body)
	}

	// Back up, change the device, back up again: the version page shows
	// exactly the changed line, masked secrets stay masked.
	wantRedirect(t, admin.post(dURL+"/backup", nil), dURL)
	ssh.SetConfig("hostname r2\nsnmp-server community TopS3cret RO\nend\n")
	wantRedirect(t, admin.post(dURL+"/backup", nil), dURL)
	page = admin.get(dURL)
	links := regexp.MustCompile(`href="(`+regexp.QuoteMeta(dURL)+`/backups/[0-9a-f-]{36})"`).FindAllStringSubmatch(page.body, -1)
	if len(links) != 2 {
		t.Fatalf("%d versions listed\n%s", len(links), page.body)
	}
	v := admin.get(links[0][1]) // newest first
	wantStatus(t, v, http.StatusOK)
	if !strings.Contains(v.body, "<del>- hostname r1</del>") || !strings.Contains(v.body, "<ins>+ hostname r2</ins>") ||
		strings.Count(v.body, "<ins>")+strings.Count(v.body, "<del>") != 2 {
		t.Errorf("diff view:\n%s", v.body)
	}
	if strings.Contains(v.body, "TopS3cret") || !strings.Contains(v.body, "snmp-server community &lt;masked&gt; RO") {
		t.Error("the secret is not masked in the version view")
	}
	// The admin (secret.write) downloads the version as fetched, for a
	// restore.
	if !strings.Contains(page.body, links[0][1]+"/raw") {
		t.Error("no restore download offered to the admin")
	}
	raw := admin.get(links[0][1] + "/raw")
	wantStatus(t, raw, http.StatusOK)
	if !strings.Contains(raw.body, "snmp-server community TopS3cret RO") {
		t.Errorf("raw download:\n%s", raw.body)
	}

	// Record sheet.
	wantRedirect(t, admin.post(dURL+"/records", url.Values{"kind": {"inspection"}, "summary": {"月度巡检 " + hostile}, "work_ref": {"CHG-7"}}), dURL)
	page = admin.get(dURL)
	if !strings.Contains(page.body, "月度巡检 &lt;script&gt;") || !strings.Contains(page.body, "CHG-7") {
		t.Error("the record is not on the sheet (escaped)")
	}
	bad := admin.post(dURL+"/records", url.Values{"kind": {"inspection"}, "summary": {""}})
	wantStatus(t, bad, http.StatusUnprocessableEntity)

	// The inventory shows the health state and the coming expiry.
	list = admin.get(base)
	if !strings.Contains(list.body, `class="expiry-soon"`) || !strings.Contains(list.body, "fw &lt;script&gt;") {
		t.Errorf("inventory lacks the expiry warning or escapes badly:\n%s", list.body)
	}

	// The monthly report is archived.
	now := time.Now().UTC()
	wantRedirect(t, admin.post("/t/"+ui.TenantA.Slug+"/reports/generate", url.Values{"kind": {"device-om"}, "format": {"html"}, "lang": {"en"},
		"from": {now.AddDate(0, 0, -20).Format(time.DateOnly)}, "to": {now.AddDate(0, 0, 1).Format(time.DateOnly)}}), "/t/"+ui.TenantA.Slug+"/reports")
	rl := reportLinkRE.FindStringSubmatch(admin.get("/t/" + ui.TenantA.Slug + "/reports").body)
	if rl == nil {
		t.Fatal("the O&M report is not listed")
	}
	rep := admin.get(rl[1])
	if !strings.Contains(rep.body, "CHG-7") || strings.Contains(rep.body, "<script>alert(1)") {
		t.Error("the report lacks the record or renders it as HTML")
	}

	// Read-only analyst of A: sees, cannot change. Customer of B: nothing.
	analyst := ui.as(t, ui.AnalystA)
	ap := analyst.get(dURL)
	wantStatus(t, ap, http.StatusOK)
	if strings.Contains(ap.body, `id="record-form"`) || strings.Contains(ap.body, `id="backup-form"`) {
		t.Error("the analyst is offered forms")
	}
	for _, path := range []string{dURL + "/poll", dURL + "/backup", dURL + "/records", dURL, base, dURL + "/hostkey/reset"} {
		wantStatus(t, analyst.post(path, url.Values{"kind": {"other"}, "summary": {"x"}, "name": {"x"}}), http.StatusForbidden)
	}
	wantStatus(t, analyst.get(base+"/new"), http.StatusForbidden)
	// The analyst exports the masked history but may not download a
	// configuration with its secrets.
	if strings.Contains(ap.body, "/raw\"") {
		t.Error("the analyst is offered the restore download")
	}
	if !strings.Contains(ap.body, `id="events"`) || !strings.Contains(ap.body, `id="history-export"`) {
		t.Error("no events section or history export on the device page")
	}
	hc := analyst.get(dURL + "/history.csv")
	wantStatus(t, hc, http.StatusOK)
	if !strings.HasPrefix(hc.body, "version,id,taken_at,sha256") || strings.Contains(hc.body, "TopS3cret") || strings.Count(hc.body, "\n") < 3 {
		t.Errorf("history csv:\n%s", hc.body)
	}
	wantStatus(t, analyst.get(dURL+"/history.exe"), http.StatusNotFound)
	wantStatus(t, analyst.get(links[0][1]+"/raw"), http.StatusForbidden)
	cust := ui.as(t, ui.CustomerB)
	for _, path := range []string{base, dURL, dURL + "/edit", links[0][1], dURL + "/history.zip", links[0][1] + "/raw"} {
		wantStatus(t, cust.get(path), http.StatusNotFound)
	}
	wantStatus(t, cust.post(dURL+"/poll", nil), http.StatusNotFound)
	// A device of A under B's path is not found for B's admin either.
	wantStatus(t, admin.get("/t/"+ui.TenantB.Slug+"/operations/device-om/"+m[1]), http.StatusNotFound)
}

func splitHostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		t.Fatalf("no port in %q", addr)
	}
	return addr[:i], addr[i+1:]
}
