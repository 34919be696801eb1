package app

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/vigil-sec/vigil/internal/device/trap"
)

// startTraps starts the SNMP trap receiver when snmp_trap_udp is set:
// each notification is matched to a device by sender address and
// community and handled by the device O&M service as the system.
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
	ctx, cancel := context.WithCancel(asSystem(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := trap.Serve(ctx, pc, a.Devices.HandleTrap, trap.Options{Logger: a.Logger}); err != nil {
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
