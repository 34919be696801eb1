package app

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/traffic"
)

// flowBatch is how many flow records are spooled at once; a partial batch
// goes after flowFlush.
const (
	flowBatch = 500
	flowFlush = time.Second
)

// startNetFlow receives NetFlow v5 and v9, IPFIX and sFlow from the
// tenant's exporters on NetFlowUDP. Each flow record becomes an event of
// format "netflow" owned by NetFlowTenant, spooled on disk before it is
// stored, so a slow store loses nothing the socket delivered; the hourly
// traffic analysis of collected events reads them with the Suricata and
// netfilter events.
func (a *App) startNetFlow(ctx context.Context) (func() error, error) {
	if a.Config.NetFlowUDP == "" {
		return func() error { return nil }, nil
	}
	t, err := a.Tenants.ResolveTenant(asSystem(ctx), a.Config.NetFlowTenant)
	if err != nil {
		return nil, fmt.Errorf("netflow_tenant %q: %w", a.Config.NetFlowTenant, err)
	}
	spool, err := logs.OpenSpool(filepath.Join(a.Config.DataDir, "spool-netflow"), logs.SpoolOptions{Logger: a.Logger})
	if err != nil {
		return nil, fmt.Errorf("netflow spool: %w", err)
	}
	col := traffic.NewCollector(traffic.CollectorOptions{Addr: a.Config.NetFlowUDP, Logger: a.Logger})
	if err := col.Listen(ctx); err != nil {
		_ = spool.Close()
		return nil, fmt.Errorf("netflow_udp %s: %w", a.Config.NetFlowUDP, err)
	}
	a.NetFlowAddr = col.Addr()
	a.Logger.Info("NetFlow/IPFIX/sFlow collector", "addr", a.NetFlowAddr.String(), "tenant", t.Slug)
	ctx, cancel := context.WithCancel(ctx)
	fe := &flowEvents{tenant: t.ID, sink: spool, ctx: ctx, log: a.Logger.Warn}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		if err := col.Run(ctx, fe); err != nil {
			a.Logger.Error("netflow collector stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		tick := time.NewTicker(flowFlush)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				fe.flush()
			}
		}
	}()
	go func() { defer wg.Done(); a.drainSpool(ctx, spool) }()
	return func() error {
		cancel()
		wg.Wait()
		fe.ctx = context.Background()
		fe.flush() // what arrived before the socket closed
		return spool.Close()
	}, nil
}

// flowEvents turns the collector's flow records into events and spools
// them in batches. Only Conn is called by the NetFlow decoder.
type flowEvents struct {
	tenant string
	sink   logs.Sink
	ctx    context.Context
	log    func(msg string, args ...any)

	mu  sync.Mutex
	buf []logs.Event
}

func (f *flowEvents) Conn(c *traffic.Conn) {
	f.mu.Lock()
	f.buf = append(f.buf, flowEvent(f.tenant, c, time.Now().UTC()))
	full := len(f.buf) >= flowBatch
	f.mu.Unlock()
	if full {
		f.flush()
	}
}

func (f *flowEvents) flush() {
	f.mu.Lock()
	evs := f.buf
	f.buf = nil
	f.mu.Unlock()
	if len(evs) == 0 {
		return
	}
	if err := f.sink.Write(f.ctx, evs); err != nil {
		// The spool is a local disk: failing it is the machine's problem,
		// said loudly, with the count of what is lost.
		f.log("netflow: flow records not spooled", "records", len(evs), "err", err)
	}
}

func (*flowEvents) DNS(*traffic.DNS)     {}
func (*flowEvents) HTTP(*traffic.HTTP)   {}
func (*flowEvents) TLS(*traffic.TLS)     {}
func (*flowEvents) Alert(*traffic.Alert) {}
func (*flowEvents) File(*traffic.File)   {}

var _ traffic.Handler = (*flowEvents)(nil)

// flowEvent is one flow record as an event with ECS fields: the
// originator's packets and bytes as source.*, the answer's (when the
// exporter merged both directions) as destination.*, the duration in
// nanoseconds as event.duration.
func flowEvent(tenant string, c *traffic.Conn, received time.Time) logs.Event {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	at := c.TS.UTC()
	if at.IsZero() {
		at = received
	}
	fields := map[string]any{"source.ip": c.Src.String(), "destination.ip": c.Dst.String(), "network.transport": c.Proto,
		"source.packets": c.OrigPkts, "source.bytes": c.OrigBytes, "event.duration": c.Duration.Nanoseconds(),
		"event.kind": "event", "event.category": "network"}
	if c.SrcPort != 0 || c.DstPort != 0 {
		fields["source.port"], fields["destination.port"] = int(c.SrcPort), int(c.DstPort)
	}
	if c.RespPkts > 0 || c.RespBytes > 0 {
		fields["destination.packets"], fields["destination.bytes"] = c.RespPkts, c.RespBytes
	}
	if c.Service != "" {
		fields["network.protocol"] = c.Service
	}
	orig := c.Proto + " " + hostPort(c.Src.String(), c.SrcPort) + " -> " + hostPort(c.Dst.String(), c.DstPort) +
		" packets=" + strconv.FormatInt(c.OrigPkts, 10) + " bytes=" + strconv.FormatInt(c.OrigBytes, 10) + " duration=" + c.Duration.String()
	return logs.Event{ID: id.String(), Time: at, Received: received, Tenant: tenant, Source: "netflow", Format: "netflow",
		LogSource: logs.LogSource{Product: "netflow", Category: "network_connection"}, Fields: fields, Original: orig}
}

func hostPort(h string, p uint16) string {
	if p == 0 {
		return h
	}
	return net.JoinHostPort(h, strconv.Itoa(int(p)))
}
