package app

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-sec/vigil/internal/device/trap"
	"github.com/vigil-sec/vigil/internal/logs"
)

// startTraps starts the SNMP trap receiver when snmp_trap_udp is set:
// each notification is matched to a device by sender address and
// community (v1, v2c) or SNMPv3 user and handled by the device O&M
// service as the system. What it receives and refuses is counted in
// vigil_snmp_traps_total{result}.
func (a *App) startTraps(ctx context.Context) (func() error, error) {
	if a.Config.SNMPTrapUDP == "" {
		return func() error { return nil }, nil
	}
	pc, err := net.ListenPacket("udp", a.Config.SNMPTrapUDP)
	if err != nil {
		return nil, fmt.Errorf("snmp_trap_udp %s: %w", a.Config.SNMPTrapUDP, err)
	}
	a.SNMPTrapAddr = pc.LocalAddr()
	a.Logger.Info("SNMP traps over UDP", "addr", pc.LocalAddr().String())
	eng, err := a.snmpEngine()
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	a.Logger.Info("SNMP engine for v3 informs", "engine_id", hex.EncodeToString(eng.ID), "boots", eng.Boots)
	stats := &trap.Stats{}
	a.registerTrapMetrics(stats)
	ctx, cancel := context.WithCancel(asSystem(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		opts := trap.Options{Logger: a.Logger, Users: a.Devices.TrapUsers, Stats: stats, Engine: eng}
		if err := trap.Serve(ctx, pc, a.Devices.HandleTrap, opts); err != nil {
			a.Logger.Error("snmp trap receiver", "err", err)
		}
	}()
	return func() error {
		cancel()
		wg.Wait()
		a.Devices.Wait()
		return nil
	}, nil
}

// snmpEngine is the trap receiver's own SNMP engine, the authoritative
// engine of SNMPv3 informs: its ID and boot count are kept in the data
// directory so the boots grow on each start; without a data directory
// the engine is new on each start.
func (a *App) snmpEngine() (*trap.Engine, error) {
	if a.Config.DataDir == "" {
		a.Logger.Warn("no data directory: the SNMP engine ID of v3 informs changes on each start")
		return trap.NewEngine()
	}
	if err := os.MkdirAll(a.Config.DataDir, 0o700); err != nil {
		return nil, err
	}
	eng, err := trap.LoadEngine(filepath.Join(a.Config.DataDir, trap.EngineFile))
	if err != nil {
		return nil, fmt.Errorf("snmp engine: %w", err)
	}
	return eng, nil
}

// registerTrapMetrics exposes the trap receiver's counters.
func (a *App) registerTrapMetrics(stats *trap.Stats) {
	if a.Registry == nil {
		return
	}
	results := map[string]func(trap.Counts) uint64{
		"received":           func(c trap.Counts) uint64 { return c.Received },
		"accepted":           func(c trap.Counts) uint64 { return c.Accepted },
		"refused":            func(c trap.Counts) uint64 { return c.Refused },
		"malformed":          func(c trap.Counts) uint64 { return c.Malformed },
		"unsupported":        func(c trap.Counts) uint64 { return c.Unsupported },
		"dropped":            func(c trap.Counts) uint64 { return c.Dropped },
		"unknown_user":       func(c trap.Counts) uint64 { return c.UnknownUser },
		"wrong_digest":       func(c trap.Counts) uint64 { return c.WrongDigest },
		"decryption_error":   func(c trap.Counts) uint64 { return c.Decryption },
		"not_in_time_window": func(c trap.Counts) uint64 { return c.NotInTimeWindow },
		"security_level":     func(c trap.Counts) uint64 { return c.LowSecurityLevel },
		"unknown_engine_id":  func(c trap.Counts) uint64 { return c.UnknownEngineID },
		"acknowledged":       func(c trap.Counts) uint64 { return c.Acknowledged },
		"report_sent":        func(c trap.Counts) uint64 { return c.Reports },
	}
	for result, f := range results {
		c := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_snmp_traps_total",
			Help:        "SNMP notifications the trap receiver read, by what became of them.",
			ConstLabels: prometheus.Labels{"result": result}}, func() float64 { return float64(f(stats.Snapshot())) })
		if err := a.Registry.Register(c); err != nil {
			a.Logger.Warn("snmp trap metrics", "err", err)
		}
	}
}

// startDeviceChanges lets the device O&M service react to configuration
// changes in ingested logs as they are stored (deviceChanges); stopping
// drops the scans still waiting for their debounce (the scheduled scan
// finds them) and waits for running ones.
func (a *App) startDeviceChanges() func() error {
	return func() error {
		if a.Devices != nil {
			a.Devices.StopChanges()
		}
		return nil
	}
}

// deviceChanges tells the device O&M service of a stored batch of
// events; a configuration-change line schedules its device's backup.
func (a *App) deviceChanges(ctx context.Context, events []logs.Event) {
	if a.Devices != nil {
		a.Devices.ObserveEvents(asSystem(ctx), events)
	}
}
