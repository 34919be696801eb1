package om_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"golang.org/x/net/icmp"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/device/backup"
	"github.com/vigil-sec/vigil/internal/device/devicetest"
	"github.com/vigil-sec/vigil/internal/device/om"
	"github.com/vigil-sec/vigil/internal/device/trap"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/workorder"
)

// serveTraps runs the service's trap receiver on a loopback UDP port.
func serveTraps(t *testing.T, e *env) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.AdminCtx(context.Background()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = trap.Serve(ctx, pc, e.svc.HandleTrap, trap.Options{Workers: 1})
	}()
	t.Cleanup(func() { cancel(); <-done; e.svc.Wait() })
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// sendInform sends an inform and reports whether it was acknowledged:
// gosnmp's client waits for the response.
func sendInform(t *testing.T, port int, community, oid string, vars ...gosnmp.SnmpPDU) bool {
	t.Helper()
	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(port), Community: community, Version: gosnmp.Version2c,
		Timeout: 2 * time.Second, Retries: 0}
	if community == "wrong" {
		g.Timeout = 300 * time.Millisecond
	}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Conn.Close() }()
	_, err := g.SendTrap(gosnmp.SnmpTrap{IsInform: true, Variables: append([]gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(5)},
		{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: "." + oid}}, vars...)})
	return err == nil
}

func TestTrapsBecomeEventsAndAlerts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *om.Options) { o.ChangeDelay = time.Millisecond })
	profiles, err := backup.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p := profiles["cisco-ios"]
	dev := devicetest.StartSSH(t, &devicetest.SSHDevice{Prompt: "r1#", Pager: p.PagerOff, Show: p.ShowConfig, Config: iosConfig})
	_, sshP := hostPort(t, dev.Addr)
	d, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{Name: "r1", Vendor: "Cisco", Role: "firewall", MgmtAddress: "127.0.0.1",
		SNMPCommunity: "trapc0mm", SSHPort: sshP, SSHUser: devicetest.SSHUser, SSHPassword: devicetest.SSHPassword, Profile: "cisco-ios"})
	if err != nil {
		t.Fatal(err)
	}
	// Another tenant's device at the same address with another community.
	other, err := e.svc.Save(e.ctx, e.TenantB.ID, om.Input{Name: "b1", Vendor: "Cisco", Role: "firewall", MgmtAddress: "127.0.0.1",
		SNMPCommunity: "other-c"})
	if err != nil {
		t.Fatal(err)
	}
	port := serveTraps(t, e)

	if !sendInform(t, port, "trapc0mm", trap.OIDLinkDown,
		gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.2.2.1.1.3", Type: gosnmp.Integer, Value: 3},
		gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.2.2.1.2.3", Type: gosnmp.OctetString, Value: []byte("GigabitEthernet0/3")}) {
		t.Fatal("linkDown inform not acknowledged")
	}
	if sendInform(t, port, "wrong", trap.OIDColdStart) {
		t.Fatal("an inform with a wrong community was acknowledged")
	}
	evs, err := e.svc.Events(e.ctx, e.TenantA.ID, store.DeviceEventFilter{AssetID: d.AssetID})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Kind != om.EventTrap || evs[0].Name != "linkDown" || !strings.Contains(evs[0].Summary, "GigabitEthernet0/3") {
		t.Fatalf("events = %+v", evs)
	}
	if a := e.notified("device-om:trap_linkdown"); len(a) != 1 || a[0].AssetID != d.AssetID || a[0].Level != "medium" {
		t.Fatalf("linkDown alerts = %+v", a)
	}
	// The other tenant's device got nothing; its own community reaches it.
	if evs, _ := e.svc.Events(e.ctx, e.TenantB.ID, store.DeviceEventFilter{AssetID: other.AssetID}); len(evs) != 0 {
		t.Fatalf("other tenant events = %+v", evs)
	}
	if !sendInform(t, port, "other-c", trap.OIDColdStart) {
		t.Fatal("coldStart to tenant B not acknowledged")
	}
	if evs, _ := e.svc.Events(e.ctx, e.TenantB.ID, store.DeviceEventFilter{AssetID: other.AssetID}); len(evs) != 1 || evs[0].Name != "coldStart" {
		t.Fatalf("tenant B events = %+v", evs)
	}

	// A vendor configuration-change trap (mapped in the cisco-ios profile)
	// triggers a backup.
	if !sendInform(t, port, "trapc0mm", "1.3.6.1.4.1.9.9.43.2.0.1") {
		t.Fatal("config trap not acknowledged")
	}
	e.svc.Wait()
	bs, err := e.svc.Backups(e.ctx, e.TenantA.ID, d.AssetID, store.Page{})
	if err != nil || len(bs) != 1 || bs[0].TakenBy != "system" {
		t.Fatalf("backups after a change trap = %+v (%v)", bs, err)
	}
	evs, _ = e.svc.Events(e.ctx, e.TenantA.ID, store.DeviceEventFilter{AssetID: d.AssetID})
	if len(evs) != 2 || evs[0].Name != "ciscoConfigManEvent" || evs[0].Kind != om.EventConfigChange || evs[0].BackupID != bs[0].ID ||
		evs[0].Authorised != "" {
		t.Fatalf("events = %+v", evs)
	}

	// Once the tenant keeps work orders, a change trap no order covers is
	// an unauthorised change.
	addOrder(t, e, workorder.Order{Type: workorder.TypeChange, Title: "elsewhere", State: workorder.StateApproved,
		Hosts: []string{"core-sw"}, WindowStart: time.Now().Add(-time.Hour), WindowEnd: time.Now().Add(time.Hour)})
	if !sendInform(t, port, "trapc0mm", "1.3.6.1.4.1.9.9.43.2.0.1") {
		t.Fatal("config trap not acknowledged")
	}
	e.svc.Wait()
	if a := e.notified("device-om:unauthorised_change"); len(a) != 1 || !strings.Contains(a[0].RuleTitle, "ciscoConfigManEvent") {
		t.Fatalf("unauthorised change alerts = %+v", a)
	}
}

func TestReachability(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *om.Options) { o.Reach = om.ReachTCP; o.ReachTimeout = time.Second })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	_, open := hostPort(t, ln.Addr().String())
	d, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{Name: "waf-1", Role: "waf", MgmtAddress: "127.0.0.1", SSHPort: open})
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.svc.PollNow(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Reachable || h.Probe != "tcp" || h.State != om.StateOK {
		t.Fatalf("reachable sample = %+v", h)
	}
	// A closed port: unreachable, and the unreachable alert.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, cp := hostPort(t, closed.Addr().String())
	_ = closed.Close()
	if _, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{AssetID: d.AssetID, Role: "waf", MgmtAddress: "127.0.0.1", SSHPort: cp}); err != nil {
		t.Fatal(err)
	}
	h, err = e.svc.PollNow(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil {
		t.Fatal(err)
	}
	if h.Reachable || h.State != om.StateUnreachable || !strings.Contains(h.Error, "TCP port") || len(e.notified("device-om:unreachable")) != 1 {
		t.Fatalf("unreachable sample = %+v", h)
	}
	hist, err := e.svc.Health(e.ctx, e.TenantA.ID, d.AssetID, time.Time{}, 10)
	if err != nil || len(hist) != 2 || hist[1].Probe != "tcp" || hist[0].Reachable {
		t.Fatalf("history = %+v (%v)", hist, err)
	}

	// Answers the probe but not SNMP: up, critical, and an SNMP alert.
	if _, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{AssetID: d.AssetID, Role: "waf", MgmtAddress: "127.0.0.1", SSHPort: open,
		SNMPPort: cp, SNMPCommunity: "x"}); err != nil {
		t.Fatal(err)
	}
	h, err = e.svc.PollNow(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Reachable || h.State != om.StateCritical || len(e.notified("device-om:snmp_failed")) != 1 {
		t.Fatalf("snmp-silent sample = %+v", h)
	}
}

func TestReachabilityICMP(t *testing.T) {
	t.Parallel()
	c, err := icmp.ListenPacket("udp4", "0.0.0.0")
	if err != nil {
		if c, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0"); err != nil {
			t.Skip("this process may not send ICMP echo:", err)
		}
	}
	_ = c.Close()
	e := newEnv(t, nil)
	d, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{Name: "vpn-1", Role: "vpn", MgmtAddress: "127.0.0.1", SSHPort: 1})
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.svc.PollNow(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Reachable || h.Probe != "icmp" || h.RTT <= 0 {
		t.Fatalf("icmp sample = %+v", h)
	}
}

// changeEnv is a Cisco device behind the fake SSH server, with a
// configuration-change syslog line from it in the tenant's events.
func changeEnv(t *testing.T) (*env, store.Device, time.Time) {
	t.Helper()
	e := newEnv(t, nil)
	profiles, err := backup.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p := profiles["cisco-ios"]
	dev := devicetest.StartSSH(t, &devicetest.SSHDevice{Prompt: "r1#", Pager: p.PagerOff, Show: p.ShowConfig, Config: iosConfig})
	host, sshP := hostPort(t, dev.Addr)
	d, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{Name: "edge-r1", Vendor: "Cisco", Role: "firewall", MgmtAddress: host, SSHPort: sshP,
		SSHUser: devicetest.SSHUser, SSHPassword: devicetest.SSHPassword, Profile: "cisco-ios"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-20 * time.Minute).Truncate(time.Second)
	line := "<189>Nov 29 10:00:00 edge-r1 %SYS-5-CONFIG_I: Configured from console by netops on vty0 (10.20.0.15)"
	if _, err := e.Store.Events().Append(context.Background(), []store.Event{
		{ID: "chg-1", TenantID: e.TenantA.ID, Time: at, Received: at, Source: "syslog", Host: host, Message: line, Original: line},
		{ID: "noise-1", TenantID: e.TenantA.ID, Time: at, Received: at, Source: "syslog", Host: host,
			Message: "%LINK-3-UPDOWN: Interface Gi0/1, changed state to up", Original: "%LINK-3-UPDOWN: Interface Gi0/1, changed state to up"},
	}); err != nil {
		t.Fatal(err)
	}
	return e, d, at
}

func TestConfigChangeFromLogs(t *testing.T) {
	t.Parallel()
	e, d, at := changeEnv(t)
	if err := e.svc.ScanChanges(e.ctx, e.TenantA.ID); err != nil {
		t.Fatal(err)
	}
	evs, err := e.svc.Events(e.ctx, e.TenantA.ID, store.DeviceEventFilter{AssetID: d.AssetID})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Kind != om.EventConfigChange || evs[0].User != "netops" || evs[0].SourceID != "chg-1" ||
		!evs[0].At.Equal(at) || evs[0].Authorised != "" {
		t.Fatalf("change events = %+v", evs)
	}
	bs, err := e.svc.Backups(e.ctx, e.TenantA.ID, d.AssetID, store.Page{})
	if err != nil || len(bs) != 1 || bs[0].ChangedBy != "netops" || evs[0].BackupID != "" {
		// The event was read before the backup linked it; read again.
		if err != nil || len(bs) != 1 || bs[0].ChangedBy != "netops" {
			t.Fatalf("backups = %+v (%v)", bs, err)
		}
	}
	evs, _ = e.svc.Events(e.ctx, e.TenantA.ID, store.DeviceEventFilter{AssetID: d.AssetID})
	if evs[0].BackupID != bs[0].ID {
		t.Fatalf("change event not linked to its backup: %+v", evs[0])
	}
	// A second scan finds nothing new and takes no backup.
	if err := e.svc.ScanChanges(e.ctx, e.TenantA.ID); err != nil {
		t.Fatal(err)
	}
	if evs, _ := e.svc.Events(e.ctx, e.TenantA.ID, store.DeviceEventFilter{AssetID: d.AssetID}); len(evs) != 1 {
		t.Fatalf("rescan stored %d events", len(evs))
	}
	if len(e.notified("device-om:unauthorised_change")) != 0 {
		t.Fatal("a tenant without work orders got an unauthorised-change alert")
	}
	// Reading needs the tenant.
	if _, err := e.svc.Events(e.ctx, e.TenantB.ID, store.DeviceEventFilter{AssetID: d.AssetID}); err == nil {
		t.Fatal("another tenant reads the events")
	}
}

func addOrder(t *testing.T, e *env, o workorder.Order) store.WorkOrder {
	t.Helper()
	doc, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	row := store.WorkOrder{TenantID: e.TenantA.ID, Type: string(o.Type), State: string(o.State), Title: o.Title, Doc: doc,
		Due: time.Now().Add(time.Hour)}
	if err := e.Store.WorkOrders().Create(context.Background(), &row); err != nil {
		t.Fatal(err)
	}
	return row
}

func TestConfigChangeAgainstWorkOrders(t *testing.T) {
	t.Parallel()
	t.Run("unauthorised", func(t *testing.T) {
		e, d, at := changeEnv(t)
		// The tenant keeps work orders, but the only change order is for
		// another host, and an approved order for this device is rejected.
		addOrder(t, e, workorder.Order{Type: workorder.TypeChange, Title: "other", State: workorder.StateApproved,
			Hosts: []string{"core-sw"}, WindowStart: at.Add(-time.Hour), WindowEnd: at.Add(time.Hour)})
		addOrder(t, e, workorder.Order{Type: workorder.TypeChange, Title: "rejected", State: workorder.StateRejected,
			AssetIDs: []string{d.AssetID}, WindowStart: at.Add(-time.Hour), WindowEnd: at.Add(time.Hour)})
		if err := e.svc.ScanChanges(e.ctx, e.TenantA.ID); err != nil {
			t.Fatal(err)
		}
		evs, _ := e.svc.Events(e.ctx, e.TenantA.ID, store.DeviceEventFilter{AssetID: d.AssetID})
		if len(evs) != 1 || evs[0].Authorised != "no" || evs[0].WorkOrderRef != "" {
			t.Fatalf("events = %+v", evs)
		}
		a := e.notified("device-om:unauthorised_change")
		if len(a) != 1 || !strings.Contains(a[0].RuleTitle, "netops") || a[0].Level != "high" {
			t.Fatalf("alerts = %+v", a)
		}
	})
	t.Run("covered", func(t *testing.T) {
		e, d, at := changeEnv(t)
		row := addOrder(t, e, workorder.Order{Type: workorder.TypeChange, Title: "open 443", State: workorder.StateInProgress,
			Hosts: []string{"EDGE-R1"}, WindowStart: at.Add(-10 * time.Minute), WindowEnd: at.Add(10 * time.Minute)})
		if err := e.svc.ScanChanges(e.ctx, e.TenantA.ID); err != nil {
			t.Fatal(err)
		}
		evs, _ := e.svc.Events(e.ctx, e.TenantA.ID, store.DeviceEventFilter{AssetID: d.AssetID})
		if len(evs) != 1 || evs[0].Authorised != "yes" || evs[0].WorkOrderID != row.ID || evs[0].WorkOrderRef != row.Ref || row.Ref == "" {
			t.Fatalf("events = %+v, order %s %s", evs, row.ID, row.Ref)
		}
		if len(e.notified("device-om:unauthorised_change")) != 0 {
			t.Fatal("a covered change raised an alert")
		}
	})
	t.Run("outside window", func(t *testing.T) {
		e, d, at := changeEnv(t)
		addOrder(t, e, workorder.Order{Type: workorder.TypeChange, Title: "late", State: workorder.StateApproved,
			AssetIDs: []string{d.AssetID}, WindowStart: at.Add(time.Hour), WindowEnd: at.Add(2 * time.Hour)})
		if err := e.svc.ScanChanges(e.ctx, e.TenantA.ID); err != nil {
			t.Fatal(err)
		}
		if len(e.notified("device-om:unauthorised_change")) != 1 {
			t.Fatal("a change outside the order's window passed")
		}
	})
}

func TestRawConfigRestoreAndHistory(t *testing.T) {
	t.Parallel()
	box, err := secret.NewBox(bytes.Repeat([]byte{0x33}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *om.Options) { o.Box = box })
	profiles, err := backup.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p := profiles["cisco-ios"]
	dev := devicetest.StartSSH(t, &devicetest.SSHDevice{Prompt: "r1#", Pager: p.PagerOff, Show: p.ShowConfig, Config: iosConfig})
	host, sshP := hostPort(t, dev.Addr)
	d, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{Name: "r1", Vendor: "Cisco", MgmtAddress: host, SSHPort: sshP,
		SSHUser: devicetest.SSHUser, SSHPassword: devicetest.SSHPassword, Profile: "cisco-ios"})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := e.svc.BackupNow(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil {
		t.Fatal(err)
	}
	dev.SetConfig(strings.Replace(iosConfig, "hostname r1", "hostname r2", 1))
	r2, err := e.svc.BackupNow(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil || !r2.Changed {
		t.Fatalf("second backup %+v (%v)", r2, err)
	}
	// The stored copy is sealed, not plain.
	sealed, err := e.Store.Devices().BackupSealed(context.Background(), e.TenantA.ID, r1.Backup.ID)
	if err != nil || len(sealed) == 0 || bytes.Contains(sealed, []byte("S3cr3tRO")) {
		t.Fatalf("sealed copy: %d bytes (%v)", len(sealed), err)
	}
	b, raw, err := e.svc.RawConfig(e.ctx, e.TenantA.ID, d.AssetID, r1.Backup.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.ID != r1.Backup.ID || !strings.Contains(string(raw), "snmp-server community S3cr3tRO RO") || !strings.Contains(string(raw), "hostname r1") {
		t.Fatalf("raw config:\n%s", raw)
	}
	// Reading the masked versions is not enough to download the raw text.
	analyst := e.As(context.Background(), e.AnalystA)
	if _, _, err := e.svc.RawConfig(analyst, e.TenantA.ID, d.AssetID, r1.Backup.ID); err == nil || !strings.Contains(err.Error(), auth.ErrForbidden.Error()) {
		t.Fatalf("analyst download: %v", err)
	}
	if _, _, err := e.svc.RawConfig(e.ctx, e.TenantB.ID, d.AssetID, r1.Backup.ID); err == nil {
		t.Fatal("another tenant downloads the configuration")
	}
	logged, err := e.Store.Audit().List(context.Background(), store.AuditFilter{TenantID: e.TenantA.ID, Action: "device.config.download"})
	if err != nil || len(logged) != 1 {
		t.Fatalf("download audit = %+v (%v)", logged, err)
	}

	_, hist, err := e.svc.History(analyst, e.TenantA.ID, d.AssetID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].ID != r1.Backup.ID || hist[1].Diff == "" || strings.Contains(hist[0].Content, "S3cr3tRO") {
		t.Fatalf("history = %+v", hist)
	}
	var out bytes.Buffer
	if err := om.WriteHistoryCSV(&out, hist); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), r2.Backup.SHA256) || strings.Contains(out.String(), "S3cr3tRO") ||
		!strings.Contains(out.String(), "'- hostname r1") {
		t.Fatalf("csv:\n%s", out.String())
	}
	out.Reset()
	if err := om.WriteHistoryZIP(&out, d, hist); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if len(names) != 4 || names[0] != "history.csv" || !strings.HasPrefix(names[1], "configs/001-") || !strings.HasPrefix(names[3], "diffs/002-") {
		t.Fatalf("zip entries %v", names)
	}
}
