package app_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/device/backup"
	"github.com/vigil-sec/vigil/internal/device/devicetest"
	"github.com/vigil-sec/vigil/internal/device/om"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestLiveDeviceChangeFromSyslog runs a whole node: a FortiGate
// config-change line arriving over syslog schedules the device's backup
// over its REST API (pinned certificate) as soon as its debounce ends,
// without waiting for the scheduled scan.
func TestLiveDeviceChangeFromSyslog(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Addr = "127.0.0.1:0"
	cfg.SyslogTCP = "127.0.0.1:0"
	cfg.SyslogTenant = "acme"
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)
	dev := devicetest.StartAPI(t, "fortios", "tok-live", "#config-version=FGT60F\nconfig firewall policy\n    edit 1\n        set action accept\n    next\nend\n")
	host, p, _ := strings.Cut(dev.Addr, ":")
	port, _ := strconv.Atoi(p)
	d, err := a.Devices.Save(actx, acme.ID, om.Input{Name: "fgt-live", Vendor: "Fortinet", MgmtAddress: host, BackupMethod: backup.MethodFortiOS,
		APIPort: port, APIToken: "tok-live", APIFingerprint: dev.Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	<-addrc
	defer func() { cancel(); <-done }()

	conn, err := net.Dial("tcp", a.SyslogTCPAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Format(time.RFC3339)
	for range 3 {
		fmt.Fprintf(conn, "<189>1 %s fgt-live - - - - logid=\"0100044547\" type=\"event\" subtype=\"system\" user=\"ops.li\" action=\"Edit\" cfgpath=\"firewall.policy\"\n", at)
	}
	_ = conn.Close()
	// The debounce (15 s by default) is cut short here; the scan itself
	// is the live path's.
	waitFor(t, "the syslog events", func() bool {
		n, _ := a.Store.Events().Count(actx, acme.ID, store.EventQuery{})
		return n == 3
	})
	// The debounce (15 s by default) is cut short here; the scan itself
	// is the live path's.
	waitFor(t, "the syslog events", func() bool {
		n, _ := a.Store.Events().Count(actx, acme.ID, store.EventQuery{})
		return n == 3
	})
	if evs, err := a.Store.Events().Search(actx, acme.ID, store.EventQuery{Page: store.Page{Limit: 5}}); err == nil {
		for _, e := range evs {
			t.Logf("event host=%q src=%q msg=%q orig=%q", e.Host, e.SourceIP, e.Message, e.Original)
		}
	}
	waitFor(t, "the change backup", func() bool {
		a.Devices.FlushChanges()
		bs, err := a.Devices.Backups(actx, acme.ID, d.AssetID, store.Page{})
		return err == nil && len(bs) == 1 && bs[0].ChangedBy == "ops.li"
	})
	evs, err := a.Devices.Events(actx, acme.ID, store.DeviceEventFilter{AssetID: d.AssetID, Kind: om.EventConfigChange})
	if err != nil || len(evs) != 3 {
		t.Fatalf("change events %d (%v)", len(evs), err)
	}
	if n := dev.Requests(); n != 1 {
		t.Fatalf("%d backups for one burst", n)
	}
}
