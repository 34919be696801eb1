package om_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/vigil-sec/vigil/internal/device/backup"
	"github.com/vigil-sec/vigil/internal/device/devicetest"
	"github.com/vigil-sec/vigil/internal/device/om"
	"github.com/vigil-sec/vigil/internal/device/trap"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/store"
)

func TestV3TrapsToDevices(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{Name: "fgt-a", Vendor: "Fortinet", MgmtAddress: "127.0.0.1", SNMPVersion: "3",
		SNMPUser: "vigiltrap", SNMPCommunity: "auth-pass-a1", SNMPAuthProto: "sha256", SNMPPrivProto: "aes", SNMPPrivPass: "priv-pass-a1"})
	if err != nil {
		t.Fatal(err)
	}
	// Another tenant's device at the same address, same user name, other keys.
	b, err := e.svc.Save(e.ctx, e.TenantB.ID, om.Input{Name: "fgt-b", Vendor: "Fortinet", MgmtAddress: "127.0.0.1", SNMPVersion: "3",
		SNMPUser: "vigiltrap", SNMPCommunity: "auth-pass-b1", SNMPAuthProto: "SHA", SNMPPrivProto: om.PrivNone})
	if err != nil {
		t.Fatal(err)
	}
	if a.SNMPPrivSecretID == "" || a.SNMPPrivSecretID == a.SNMPSecretID || b.SNMPPrivSecretID != "" || a.SNMPAuthProto != "SHA256" {
		t.Fatalf("saved %+v / %+v", a, b)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stats := &trap.Stats{}
	ctx, cancel := context.WithCancel(e.AdminCtx(context.Background()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = trap.Serve(ctx, pc, e.svc.HandleTrap, trap.Options{Workers: 1, Users: e.svc.TrapUsers, Stats: stats})
	}()
	t.Cleanup(func() { cancel(); <-done })
	port := pc.LocalAddr().(*net.UDPAddr).Port

	send := func(flags gosnmp.SnmpV3MsgFlags, sp *gosnmp.UsmSecurityParameters, n uint64) trap.Counts {
		t.Helper()
		g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(port), Version: gosnmp.Version3, Timeout: time.Second, // #nosec G115 -- a port
			SecurityModel: gosnmp.UserSecurityModel, MsgFlags: flags, SecurityParameters: sp}
		if err := g.Connect(); err != nil {
			t.Fatal(err)
		}
		defer g.Conn.Close()
		if _, err := g.SendTrap(gosnmp.SnmpTrap{Variables: []gosnmp.SnmpPDU{
			{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(5)},
			{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: "." + trap.OIDLinkDown},
			{Name: ".1.3.6.1.2.1.2.2.1.2.7", Type: gosnmp.OctetString, Value: []byte("port7")}}}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			c := stats.Snapshot()
			if c.Accepted+c.Refused+c.UnknownUser+c.WrongDigest+c.Decryption+c.NotInTimeWindow+c.LowSecurityLevel+c.Malformed >= n {
				return c
			}
			if time.Now().After(deadline) {
				t.Fatalf("trap %d not handled: %+v", n, c)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	usm := func(auth gosnmp.SnmpV3AuthProtocol, authPass string, priv gosnmp.SnmpV3PrivProtocol, privPass string) *gosnmp.UsmSecurityParameters {
		return &gosnmp.UsmSecurityParameters{UserName: "vigiltrap", AuthoritativeEngineID: "\x80\x00\x30\x44\x04fgt-a",
			AuthoritativeEngineBoots: 2, AuthoritativeEngineTime: 77, AuthenticationProtocol: auth, AuthenticationPassphrase: authPass,
			PrivacyProtocol: priv, PrivacyPassphrase: privPass}
	}
	send(gosnmp.AuthPriv, usm(gosnmp.SHA256, "auth-pass-a1", gosnmp.AES, "priv-pass-a1"), 1)
	send(gosnmp.AuthNoPriv, usm(gosnmp.SHA, "auth-pass-b1", gosnmp.NoPriv, ""), 2)
	c := send(gosnmp.AuthPriv, usm(gosnmp.SHA256, "auth-pass-a1", gosnmp.AES, "not-the-priv-pass"), 3)
	c2 := send(gosnmp.AuthPriv, usm(gosnmp.SHA256, "guessed-pass", gosnmp.AES, "priv-pass-a1"), 4)
	if c.Accepted != 2 || c.Decryption+c.Malformed != 1 || c2.WrongDigest != 1 {
		t.Fatalf("counts %+v then %+v", c, c2)
	}
	for _, d := range []struct {
		tenant string
		dev    store.Device
	}{{e.TenantA.ID, a}, {e.TenantB.ID, b}} {
		evs, err := e.svc.Events(e.ctx, d.tenant, store.DeviceEventFilter{AssetID: d.dev.AssetID})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Name != "linkDown" || !strings.Contains(evs[0].Summary, "port7") {
			t.Fatalf("%s events %+v", d.dev.Name, evs)
		}
		var user, version string
		for _, f := range evs[0].Detail {
			switch f.Name {
			case "user":
				user = f.Value
			case "version":
				version = f.Value
			}
		}
		if user != "vigiltrap" || version != "3" {
			t.Fatalf("%s detail %+v", d.dev.Name, evs[0].Detail)
		}
	}
}

// apiEnv is a FortiGate backed up over its REST API, with its logs going
// to the tenant.
func apiEnv(t *testing.T, mod func(*om.Options)) (*env, store.Device, *devicetest.APIDevice) {
	t.Helper()
	dev := devicetest.StartAPI(t, "fortios", "fgt-token-1", fortiConfig("accept"))
	e := newEnv(t, func(o *om.Options) {
		o.APIRoots = dev.Roots
		if mod != nil {
			mod(o)
		}
	})
	host, p := hostPort(t, dev.Addr)
	d, err := e.svc.Save(e.ctx, e.TenantA.ID, om.Input{Name: "fgt-edge", Vendor: "Fortinet", MgmtAddress: host, BackupMethod: backup.MethodFortiOS,
		APIPort: p, APIToken: "fgt-token-1"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Profile != "fortios" || d.APISecretID == "" {
		t.Fatalf("saved %+v", d)
	}
	return e, d, dev
}

func fortiConfig(action string) string {
	return "#config-version=FGT60F-7.2.8-FW-build1639-240313:opmode=0:vdom=0:user=admin\n#conf_file_ver=" +
		fmt.Sprint(time.Now().UnixNano()) + "\nconfig system admin\n    edit \"admin\"\n        set password ENC SH2secretHashValue\n    next\nend\n" +
		"config firewall policy\n    edit 12\n        set action " + action + "\n    next\nend\n"
}

func TestAPIBackups(t *testing.T) {
	t.Parallel()
	e, d, dev := apiEnv(t, nil)
	r, err := e.svc.BackupNow(e.ctx, e.TenantA.ID, d.AssetID)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Stored || r.Changed || strings.Contains(r.Backup.Content, "SH2secretHashValue") || !strings.Contains(r.Backup.Content, "set action accept") {
		t.Fatalf("first backup %+v", r)
	}
	// The noise line changes on every fetch: no new version.
	if r, err = e.svc.BackupNow(e.ctx, e.TenantA.ID, d.AssetID); err != nil || r.Stored {
		t.Fatalf("unchanged backup stored: %+v %v", r, err)
	}
	dev.SetConfig(fortiConfig("deny"))
	dev.SetPostOnly(true) // a FortiOS release that backs up by POST
	if r, err = e.svc.BackupNow(e.ctx, e.TenantA.ID, d.AssetID); err != nil || !r.Changed {
		t.Fatalf("changed backup: %+v %v", r, err)
	}
	b, err := e.svc.Backup(e.ctx, e.TenantA.ID, d.AssetID, r.Backup.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.Added != 1 || b.Removed != 1 || !strings.Contains(b.Diff, "-         set action accept") || !strings.Contains(b.Diff, "+         set action deny") {
		t.Fatalf("diff %q", b.Diff)
	}
	// A pinned fingerprint that is not the device's: refused, alerted.
	in := om.Input{AssetID: d.AssetID, Vendor: d.Vendor, MgmtAddress: d.MgmtAddress, BackupMethod: backup.MethodFortiOS, APIPort: d.APIPort,
		APIFingerprint: backup.Fingerprint([]byte("not the device certificate"))}
	if _, err := e.svc.Save(e.ctx, e.TenantA.ID, in); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.BackupNow(e.ctx, e.TenantA.ID, d.AssetID); !errors.Is(err, backup.ErrFingerprint) {
		t.Fatalf("wrong pin: %v", err)
	}
	if len(e.notified("device-om:tls_certificate_changed")) != 1 {
		t.Fatal("no certificate alert")
	}
	// The right pin works without trusting the CA.
	in.APIFingerprint = dev.Fingerprint
	if _, err := e.svc.Save(e.ctx, e.TenantA.ID, in); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.BackupNow(e.ctx, e.TenantA.ID, d.AssetID); err != nil {
		t.Fatal(err)
	}
	// Bad settings are refused.
	bad := in
	bad.BackupMethod, bad.APIFingerprint = "telnet", "xyz"
	if _, err := e.svc.Save(e.ctx, e.TenantA.ID, bad); !errors.Is(err, store.ErrInvalid) ||
		!strings.Contains(err.Error(), "backup method") || !strings.Contains(err.Error(), "fingerprint") {
		t.Fatalf("bad settings: %v", err)
	}
}

// changeLines stores FortiGate config-change log lines as the pipeline
// would and returns them as ingested events.
func changeLines(t *testing.T, e *env, host string, n int, user string) []logs.Event {
	t.Helper()
	var rows []store.Event
	var evs []logs.Event
	at := time.Now().UTC().Truncate(time.Second)
	for i := range n {
		id := fmt.Sprintf("fgt-%s-%d-%d", user, at.UnixNano(), i)
		line := fmt.Sprintf(`date=2026-11-29 time=10:00:%02d devname="fgt-edge" logid="0100044547" type="event" subtype="system" level="information" vd="root" logdesc="Object attribute configured" user="%s" ui="GUI(10.20.0.15)" action="Edit" cfgpath="firewall.policy" cfgobj="12" msg="Edit firewall.policy 12"`, i, user)
		rows = append(rows, store.Event{ID: id, TenantID: e.TenantA.ID, Time: at, Received: at, Source: "syslog", Host: host, Message: line, Original: line})
		evs = append(evs, logs.Event{ID: id, Tenant: e.TenantA.ID, Time: at, Received: at, Source: "udp:" + host, Original: line,
			Fields: map[string]any{"host.name": host, "message": line}})
	}
	// A line that is not a change, from the same host.
	rows = append(rows, store.Event{ID: "noise-" + user, TenantID: e.TenantA.ID, Time: at, Received: at, Host: host, Message: `logid="0100032001" action="login"`})
	evs = append(evs, logs.Event{ID: "noise-" + user, Tenant: e.TenantA.ID, Time: at, Original: `logid="0100032001" action="login"`,
		Fields: map[string]any{"host.name": host}})
	if _, err := e.Store.Events().Append(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestLiveConfigChangeDebounced(t *testing.T) {
	t.Parallel()
	// A debounce far longer than the test: only FlushChanges fires it.
	e, d, dev := apiEnv(t, func(o *om.Options) { o.ChangeDebounce = time.Hour })
	sys := e.AdminCtx(context.Background())
	// A burst of change lines in several batches: one backup.
	evs := changeLines(t, e, d.MgmtAddress, 6, "ops.li")
	e.svc.ObserveEvents(sys, evs[:2])
	e.svc.ObserveEvents(sys, evs[2:5])
	e.svc.ObserveEvents(sys, evs[5:])
	if n := dev.Requests(); n != 0 {
		t.Fatalf("backed up before the debounce: %d requests", n)
	}
	e.svc.FlushChanges()
	if n := dev.Requests(); n != 1 {
		t.Fatalf("%d backups for one burst", n)
	}
	got, err := e.svc.Events(e.ctx, e.TenantA.ID, store.DeviceEventFilter{AssetID: d.AssetID, Kind: om.EventConfigChange})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := e.svc.Backups(e.ctx, e.TenantA.ID, d.AssetID, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 || got[0].User != "ops.li" || len(bs) != 1 || bs[0].ChangedBy != "ops.li" || got[0].BackupID != bs[0].ID {
		t.Fatalf("events %d (%+v), backups %+v", len(got), got[0], bs)
	}
	// Lines that are not changes, or from another tenant's host, schedule nothing.
	e.svc.ObserveEvents(sys, evs[6:])
	e.svc.FlushChanges()
	if n := dev.Requests(); n != 1 {
		t.Fatalf("noise triggered a backup: %d requests", n)
	}
	// The next change is backed up with its diff and author.
	dev.SetConfig(fortiConfig("deny"))
	e.svc.ObserveEvents(sys, changeLines(t, e, d.MgmtAddress, 3, "ops.wang"))
	e.svc.FlushChanges()
	bs, err = e.svc.Backups(e.ctx, e.TenantA.ID, d.AssetID, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || !bs[0].Changed || bs[0].ChangedBy != "ops.wang" || dev.Requests() != 2 {
		t.Fatalf("backups %+v, %d requests", bs, dev.Requests())
	}
}

func TestLiveConfigChangeTimer(t *testing.T) {
	t.Parallel()
	e, d, dev := apiEnv(t, func(o *om.Options) { o.ChangeDebounce = 20 * time.Millisecond })
	e.svc.ObserveEvents(e.AdminCtx(context.Background()), changeLines(t, e, d.MgmtAddress, 3, "ops.li"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		bs, err := e.svc.Backups(e.ctx, e.TenantA.ID, d.AssetID, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the debounce timer never backed the device up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.svc.Wait()
	if n := dev.Requests(); n != 1 {
		t.Fatalf("%d backups for one burst", n)
	}
	e.svc.StopChanges()
	e.svc.ObserveEvents(e.AdminCtx(context.Background()), changeLines(t, e, d.MgmtAddress, 1, "late"))
	e.svc.FlushChanges()
	if n := dev.Requests(); n != 1 {
		t.Fatalf("a stopped service backed up: %d requests", n)
	}
}
