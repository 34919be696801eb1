package app_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/device/om"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestSNMPTrapReceiver starts a node with snmp_trap_udp set and sends it
// an inform from a registered device: it is acknowledged, stored as the
// device's event and alerted; the receiver is off by default.
func TestSNMPTrapReceiver(t *testing.T) {
	if config.Default().SNMPTrapUDP != "" {
		t.Fatal("the trap receiver is on by default")
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Addr = "127.0.0.1:0"
	cfg.SNMPTrapUDP = "127.0.0.1:0"
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)
	d, err := a.Devices.Save(actx, acme.ID, om.Input{Name: "fw-trap", Role: "firewall", MgmtAddress: "127.0.0.1", SNMPCommunity: "tr4p"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	<-addrc
	defer func() { cancel(); <-done }()

	port := a.SNMPTrapAddr.(*net.UDPAddr).Port
	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(port), Community: "tr4p", Version: gosnmp.Version2c, Timeout: 5 * time.Second}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Conn.Close() }()
	if _, err := g.SendTrap(gosnmp.SnmpTrap{IsInform: true, Variables: []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(1)},
		{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.6.3.1.1.5.5"}}}); err != nil {
		t.Fatalf("inform not acknowledged: %v", err)
	}
	evs, err := a.Devices.Events(actx, acme.ID, store.DeviceEventFilter{AssetID: d.AssetID})
	if err != nil || len(evs) != 1 || evs[0].Name != "authenticationFailure" {
		t.Fatalf("events = %+v (%v)", evs, err)
	}
	alerts, err := a.Store.Alerts().List(actx, acme.ID, store.AlertFilter{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, al := range alerts {
		found = found || al.RuleID == "device-om:trap_authenticationfailure"
	}
	if !found {
		t.Fatalf("no trap alert among %+v", alerts)
	}
}
