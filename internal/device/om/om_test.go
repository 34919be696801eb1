package om_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"golang.org/x/crypto/ssh"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/device/backup"
	"github.com/vigil-sec/vigil/internal/device/devicetest"
	"github.com/vigil-sec/vigil/internal/device/om"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// FortiGate objects (FORTINET-FORTIGATE-MIB fgSystemInfo, enterprise 12356)
// and MIB-II/IF-MIB objects, written out here from the MIBs rather than
// taken from the health package.
const (
	sysDescr     = "1.3.6.1.2.1.1.1.0"
	sysUpTime    = "1.3.6.1.2.1.1.3.0"
	sysName      = "1.3.6.1.2.1.1.5.0"
	fgCPU        = "1.3.6.1.4.1.12356.101.4.1.3.0"
	fgMem        = "1.3.6.1.4.1.12356.101.4.1.4.0"
	fgSessions   = "1.3.6.1.4.1.12356.101.4.1.8.0"
	ifDescr      = "1.3.6.1.2.1.2.2.1.2."
	ifOperStatus = "1.3.6.1.2.1.2.2.1.8."
	ifInErrors   = "1.3.6.1.2.1.2.2.1.14."
	ifOutErrors  = "1.3.6.1.2.1.2.2.1.20."
)

// fortigate is a FortiGate's answer: uptime in ticks, CPU and memory
// percent, sessions, and two ports with their oper status (1 up, 2 down).
func fortigate(up uint32, cpu, mem, sessions uint32, port1, port2 int) []gosnmp.SnmpPDU {
	rows := []gosnmp.SnmpPDU{
		devicetest.Str(sysDescr, "FortiGate-100F v7.2.8"), devicetest.Ticks(sysUpTime, up), devicetest.Str(sysName, "fw-01"),
		devicetest.Gauge(fgCPU, cpu), devicetest.Gauge(fgMem, mem), devicetest.Gauge(fgSessions, sessions),
	}
	for i, st := range []int{port1, port2} {
		n := strconv.Itoa(i + 1)
		rows = append(rows, devicetest.Str(ifDescr+n, "port"+n), devicetest.Integer(ifOperStatus+n, st),
			devicetest.Counter(ifInErrors+n, 0), devicetest.Counter(ifOutErrors+n, 0))
	}
	return rows
}

type env struct {
	*fixture.Env
	svc    *om.Service
	ctx    context.Context // the admin
	mu     sync.Mutex
	alerts []store.Alert // notified
	now    time.Time
}

func newEnv(t *testing.T, mod func(*om.Options)) *env {
	t.Helper()
	e := &env{Env: fixture.New(t), now: time.Now().UTC()}
	opts := om.Options{PollTimeout: 300 * time.Millisecond, BackupTimeout: 5 * time.Second,
		OnAlert: func(_ context.Context, a store.Alert) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.alerts = append(e.alerts, a)
			return nil
		}}
	if mod != nil {
		mod(&opts)
	}
	svc, err := om.NewService(e.Store, e.Secrets, e.Assets, e.Audit, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.svc, e.ctx = svc, e.AdminCtx(context.Background())
	return e
}

func (e *env) notified(rule string) []store.Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []store.Alert
	for _, a := range e.alerts {
		if a.RuleID == rule {
			out = append(out, a)
		}
	}
	return out
}

func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	p, err := strconv.Atoi(addr[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	return addr[:i], p
}

func TestPollJudgesAndAlerts(t *testing.T) {
	t.Parallel()
	// SNMP alone says whether the device answers (no ICMP or TCP probe).
	e := newEnv(t, func(o *om.Options) { o.Reach = om.ReachOff })
	agent := devicetest.StartAgent(t, "c0mmunity", fortigate(500000, 40, 50, 1200, 1, 1))
	host, p := hostPort(t, agent.Addr())
	d, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{Name: "fw-01", Vendor: "Fortinet", Model: "FG-100F", Role: "firewall",
		MgmtAddress: host, SNMPPort: p, SNMPCommunity: "c0mmunity"})
	if err != nil {
		t.Fatal(err)
	}
	if d.SNMPSecretID == "" || strings.Contains(d.SNMPSecretID, "c0mmunity") {
		t.Fatalf("community not in the vault: %q", d.SNMPSecretID)
	}

	// Healthy: CPU 40% is under the firewall's 85%.
	h, err := e.svc.PollNow(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Reachable || h.State != om.StateOK || h.CPU != 40 || h.Memory != 50 || h.Sessions != 1200 || h.IfUp != 2 || h.IfDown != 0 {
		t.Fatalf("healthy sample = %+v", h)
	}
	// CPU 97% (critical: at least 95%) and port2 down since the last poll.
	agent.Set(fortigate(510000, 97, 50, 1200, 1, 2))
	h, err = e.svc.PollNow(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil {
		t.Fatal(err)
	}
	if h.State != om.StateCritical || h.IfDown != 1 || len(h.Problems) != 2 {
		t.Fatalf("sick sample = %+v", h)
	}
	cpu, down := e.notified("device-om:cpu_high"), e.notified("device-om:interface_down")
	if len(cpu) != 1 || cpu[0].Level != "critical" || cpu[0].AssetID != d.AssetID || len(down) != 1 || down[0].Level != "high" ||
		!strings.Contains(down[0].RuleTitle, "port2") {
		t.Fatalf("alerts: cpu %+v down %+v", cpu, down)
	}
	got, err := e.svc.Get(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil || got.HealthState != om.StateCritical {
		t.Fatalf("device state %q (%v)", got.HealthState, err)
	}
	hist, err := e.svc.Health(e.ctx, e.TenantA.ID, d.AssetID, time.Time{}, 10)
	if err != nil || len(hist) != 2 || hist[0].CPU != 97 {
		t.Fatalf("history %+v (%v)", hist, err)
	}

	// A wrong community gets no answer: unreachable, and an alert.
	if _, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{AssetID: d.AssetID, Vendor: "Fortinet", Role: "firewall", MgmtAddress: host,
		SNMPPort: p, SNMPCommunity: "wrong"}); err != nil {
		t.Fatal(err)
	}
	h, err = e.svc.PollNow(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil {
		t.Fatal(err)
	}
	if h.Reachable || h.State != om.StateUnreachable || h.Error == "" || len(e.notified("device-om:unreachable")) != 1 {
		t.Fatalf("unreachable sample = %+v", h)
	}

	// Read-only users and other tenants.
	analyst := e.As(context.Background(), e.AnalystA)
	if _, err := e.svc.PollNow(analyst, e.TenantA.ID, d.AssetID); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("analyst poll: %v", err)
	}
	if _, err := e.svc.Health(analyst, e.TenantA.ID, d.AssetID, time.Time{}, 10); err != nil {
		t.Errorf("analyst reads health: %v", err)
	}
	if _, err := e.svc.Get(e.ctx, e.TenantB.ID, d.AssetID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other tenant: %v", err)
	}
}

const iosConfig = `hostname r1
!
enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0
snmp-server community S3cr3tRO RO
interface GigabitEthernet0/1
 ip address 192.0.2.1 255.255.255.0
!
end
`

func TestBackupHistoryDiffAndHostKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	profiles, err := backup.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p := profiles["cisco-ios"]
	dev := devicetest.StartSSH(t, &devicetest.SSHDevice{Prompt: "r1#", Pager: p.PagerOff, Show: p.ShowConfig, Config: iosConfig})
	host, port := hostPort(t, dev.Addr)
	d, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{Name: "r1", Vendor: "Cisco", Role: "firewall", MgmtAddress: host, SSHPort: port,
		SSHUser: devicetest.SSHUser, SSHPassword: devicetest.SSHPassword, Profile: "cisco-ios"})
	if err != nil {
		t.Fatal(err)
	}

	r1, err := e.svc.BackupNow(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil {
		t.Fatal(err)
	}
	if !r1.Stored || r1.Changed || strings.Contains(r1.Backup.Content, "S3cr3tRO") || strings.Contains(r1.Backup.Content, "hx5rVt7r") ||
		!strings.Contains(r1.Backup.Content, "snmp-server community <masked> RO") {
		t.Fatalf("first backup: %+v", r1)
	}
	got, _ := e.svc.Get(e.ctx, e.TenantA.ID, d.AssetID)
	if want := "ssh-ed25519 "; !strings.HasPrefix(got.HostKey, want) {
		t.Fatalf("host key not pinned on first use: %q", got.HostKey)
	}

	// Unchanged: nothing stored, no alert.
	r, err := e.svc.BackupNow(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil || r.Stored {
		t.Fatalf("unchanged backup: %+v %v", r, err)
	}

	// Change the hostname and add a line: the diff is exactly those lines,
	// and the changed secret stays masked.
	dev.SetConfig(strings.Replace(strings.Replace(iosConfig, "hostname r1", "hostname r2", 1),
		"snmp-server community S3cr3tRO RO", "snmp-server community N3wS3cret RO\nlogging host 192.0.2.9", 1))
	r2, err := e.svc.BackupNow(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Changed || r2.Backup.Added != 2 || r2.Backup.Removed != 1 {
		t.Fatalf("changed backup: %+v", r2.Backup)
	}
	wantDiff := []om.DiffLine{{"-", "hostname r1"}, {"+", "hostname r2"}, {"+", "logging host 192.0.2.9"}}
	gotDiff := om.ParseDiff(r2.Backup.Diff)
	if len(gotDiff) != len(wantDiff) {
		t.Fatalf("diff:\n%s", r2.Backup.Diff)
	}
	for i := range wantDiff {
		if gotDiff[i] != wantDiff[i] {
			t.Errorf("diff line %d = %+v, want %+v", i, gotDiff[i], wantDiff[i])
		}
	}
	if strings.Contains(r2.Backup.Diff+r2.Backup.Content, "N3wS3cret") {
		t.Error("a secret reached the stored text")
	}
	if n := e.notified("device-om:config_changed"); len(n) != 1 || !strings.Contains(n[0].RuleTitle, "2 lines added, 1 removed") {
		t.Errorf("change alerts: %+v", n)
	}

	// Only a secret changes: a new version with no visible lines.
	dev.SetConfig(strings.Replace(strings.Replace(iosConfig, "hostname r1", "hostname r2", 1),
		"snmp-server community S3cr3tRO RO", "snmp-server community Other0ne RO\nlogging host 192.0.2.9", 1))
	r3, err := e.svc.BackupNow(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil || !r3.Changed || r3.Backup.Added != 0 || r3.Backup.Removed != 0 {
		t.Fatalf("secret-only change: %+v %v", r3.Backup, err)
	}
	list, err := e.svc.Backups(e.ctx, e.TenantA.ID, d.AssetID, store.Page{})
	if err != nil || len(list) != 3 {
		t.Fatalf("versions: %d %v", len(list), err)
	}
	if _, err := e.svc.Backup(e.ctx, e.TenantB.ID, d.AssetID, r2.Backup.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other tenant reads a backup: %v", err)
	}

	// A different host key is refused until an admin resets the pin.
	other := devicetest.NewSigner(t).PublicKey()
	if err := e.Store.Devices().SetHostKey(e.ctx, e.TenantA.ID, d.AssetID, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other)))); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.BackupNow(e.ctx, e.TenantA.ID, d.AssetID); !errors.Is(err, backup.ErrHostKeyChanged) {
		t.Fatalf("changed key: %v", err)
	}
	got, _ = e.svc.Get(e.ctx, e.TenantA.ID, d.AssetID)
	if got.BackupError == "" || len(e.notified("device-om:host_key_changed")) != 1 {
		t.Fatalf("host key change not recorded: %+v", got)
	}
	analyst := e.As(context.Background(), e.AnalystA)
	if err := e.svc.ResetHostKey(analyst, e.TenantA.ID, d.AssetID); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("analyst reset: %v", err)
	}
	if err := e.svc.ResetHostKey(e.ctx, e.TenantA.ID, d.AssetID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.BackupNow(e.ctx, e.TenantA.ID, d.AssetID); err != nil {
		t.Fatalf("after reset: %v", err)
	}
	got, _ = e.svc.Get(e.ctx, e.TenantA.ID, d.AssetID)
	if got.BackupError != "" || got.HostKey != strings.TrimSpace(string(ssh.MarshalAuthorizedKey(dev.Key))) {
		t.Fatalf("after reset: %+v", got)
	}
}

func TestScheduledRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *om.Options) { o.SilentAfter, o.BackupTimeout = 6*time.Hour, 300*time.Millisecond })
	agent := devicetest.StartAgent(t, "pub", fortigate(100, 10, 20, 5, 1, 1))
	host, p := hostPort(t, agent.Addr())
	// A device whose SSH server never shows a prompt: its backup times
	// out while the others go on.
	hung := devicetest.StartSSH(t, &devicetest.SSHDevice{Session: func(io.Writer) {}})
	now := time.Now().UTC()
	good, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{Name: "fw-good", Vendor: "Fortinet", MgmtAddress: host, SNMPPort: p,
		SNMPCommunity: "pub", SupportExpires: now.Add(10 * 24 * time.Hour), LicenceExpires: now.Add(100 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	_, sshPort := hostPort(t, hung.Addr)
	sshHost := "localhost" // not the address fw-good sent logs from
	_, err = e.svc.Save(e.ctx, e.TenantA.ID, om.Input{Name: "fw-hung", Vendor: "Cisco", MgmtAddress: sshHost, SSHPort: sshPort,
		SSHUser: devicetest.SSHUser, SSHPassword: devicetest.SSHPassword, Profile: "cisco-ios"})
	if err != nil {
		t.Fatal(err)
	}
	// fw-good sent syslog until 2 days ago; the hung device's address never did.
	old := now.Add(-48 * time.Hour)
	if _, err := e.Store.Events().Append(e.ctx, []store.Event{{ID: "0000000000000001", TenantID: e.TenantA.ID, Time: old, Received: old,
		Source: "syslog", Format: "rfc5424", Host: host, Message: "x"}}); err != nil {
		t.Fatal(err)
	}

	sys := auth.WithPrincipal(context.Background(), &auth.Principal{Username: "system", UserID: "system", GlobalRole: auth.RoleAdmin})
	for range 2 {
		if err := e.svc.RunScheduled(sys); err != nil {
			t.Fatal(err)
		}
	}
	hist, err := e.svc.Health(e.ctx, e.TenantA.ID, good.AssetID, time.Time{}, 10)
	if err != nil || len(hist) != 2 || hist[0].State != om.StateOK {
		t.Fatalf("scheduled polls: %+v %v", hist, err)
	}
	// The support contract ends in 10 days (inside 30): one alert, kept
	// open across runs; the licence (100 days) is not reported.
	sup, err := e.Store.Alerts().List(e.ctx, e.TenantA.ID, store.AlertFilter{RuleID: "device-om:expiry_support"})
	if err != nil || len(sup) != 1 || sup[0].Level != "medium" || sup[0].Count != 2 {
		t.Fatalf("support expiry alerts: %+v %v", sup, err)
	}
	lic, _ := e.Store.Alerts().List(e.ctx, e.TenantA.ID, store.AlertFilter{RuleID: "device-om:expiry_licence"})
	silent, _ := e.Store.Alerts().List(e.ctx, e.TenantA.ID, store.AlertFilter{RuleID: "device-om:log_silent"})
	if len(lic) != 0 || len(silent) != 1 || silent[0].AssetID != good.AssetID {
		t.Fatalf("licence %d, silent %+v", len(lic), silent)
	}
	inv, total, err := e.svc.Inventory(e.ctx, e.TenantA.ID, store.Page{})
	if err != nil || total != 2 {
		t.Fatal(total, err)
	}
	for _, s := range inv {
		switch s.Name {
		case "fw-good":
			if !s.Silent || len(s.Expiries) != 2 || !s.Expiries[0].Soon || s.Expiries[1].Soon {
				t.Errorf("fw-good status %+v", s)
			}
		case "fw-hung":
			if s.BackupError == "" || s.Silent {
				t.Errorf("fw-hung status %+v", s)
			}
		}
	}
}

func TestRecordsAndReport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	d, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{Name: "ips-01", Vendor: "NSFOCUS", Model: "NIPS", Role: "ips",
		SignatureExpires: time.Now().Add(3 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	hostile := `<script>alert(1)</script>`
	r, err := e.svc.AddRecord(e.ctx, e.TenantA.ID, d.AssetID, om.RecordInput{Kind: "vendor-case", Summary: "特征库升级失败 " + hostile,
		Resolution: "厂商远程处理", WorkRef: "CASE-42"})
	if err != nil {
		t.Fatal(err)
	}
	if r.AuthorName != "admin" {
		t.Errorf("author %q", r.AuthorName)
	}
	if _, err := e.svc.AddRecord(e.ctx, e.TenantA.ID, d.AssetID, om.RecordInput{Kind: "party", Summary: "x"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad kind: %v", err)
	}
	if _, err := e.svc.AddRecord(e.As(context.Background(), e.AnalystA), e.TenantA.ID, d.AssetID, om.RecordInput{Kind: "other", Summary: "x"}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("analyst record: %v", err)
	}
	if _, err := e.svc.AddRecord(e.ctx, e.TenantB.ID, d.AssetID, om.RecordInput{Kind: "other", Summary: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("record in another tenant: %v", err)
	}
	from := time.Now().UTC().AddDate(0, 0, -15)
	// A tenant without devices still gets a valid report.
	empty, err := e.svc.MonthlyReport(e.ctx, e.TenantB, from, from.AddDate(0, 1, 0), "en")
	if err != nil {
		t.Fatal(err)
	}
	if err := empty.Validate(); err != nil {
		t.Fatalf("empty report: %v", err)
	}
	doc, err := e.svc.MonthlyReport(e.ctx, e.TenantA, from, from.AddDate(0, 1, 0), "zh-CN")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(); err != nil {
		t.Fatal(err)
	}
	var cells []string
	for _, s := range doc.Sections {
		for _, tb := range s.Tables {
			for _, row := range tb.Rows {
				cells = append(cells, row...)
			}
		}
	}
	all := strings.Join(cells, "|")
	for _, want := range []string{"ips-01", "CASE-42", "特征库升级失败 " + hostile, "特征库升级"} {
		if !strings.Contains(all, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if doc.Title != "安全产品运行维护报告" {
		t.Errorf("title %q", doc.Title)
	}
	for _, f := range []report.Format{report.FormatHTML, report.FormatXLSX} {
		var buf bytes.Buffer
		if err := report.Render(context.Background(), doc, f, &buf, report.Options{}); err != nil || buf.Len() == 0 {
			t.Errorf("render %s: %v", f, err)
		}
		if f == report.FormatHTML && strings.Contains(buf.String(), "<script>alert(1)") {
			t.Error("the HTML report renders a record as markup")
		}
	}
}

func TestSaveValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, in := range []om.Input{
		{Name: "x", Role: "toaster"},
		{Name: "x", MgmtAddress: "not a host!"},
		{Name: "x", SSHPort: 70000},
		{Name: "x", SNMPVersion: "1"},
		{Name: "x", Profile: "no-such-vendor"},
		{Name: "x", Vendor: "a\x00b"},
		{Name: "x", ContactID: "nope"},
	} {
		if _, err := e.svc.Save(e.ctx, e.TenantA.ID, in); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%+v: %v", in, err)
		}
	}
	// An asset of another kind cannot become a device.
	if _, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{AssetID: e.AssetA.ID}); !errors.Is(err, store.ErrInvalid) && e.AssetA.Kind != "device" {
		t.Errorf("non-device asset: %v", err)
	}
	if _, err := e.svc.Save(e.As(context.Background(), e.AnalystA), e.TenantA.ID, om.Input{Name: "x"}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("analyst save: %v", err)
	}
}
