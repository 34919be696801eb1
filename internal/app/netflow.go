package app

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/traffic"
)

// flowBatch is how many flow records are spooled at once; a partial batch
// goes after flowFlush. The exporter map is re-read every exporterReload.
const (
	flowBatch      = 500
	flowFlush      = time.Second
	exporterReload = 15 * time.Second
)

// startNetFlow receives NetFlow v5 and v9, IPFIX and sFlow from the
// tenants' exporters on NetFlowUDP. Each flow record becomes an event of
// format "netflow" owned by the tenant its exporter is mapped to (the
// platform's exporter map, longest prefix first; NetFlowTenant owns the
// exporters not mapped; with no NetFlowTenant they are dropped and
// counted), spooled on disk before it is stored, so a slow store loses
// nothing the socket delivered; the hourly traffic analysis of collected
// events reads them with the Suricata and netfilter events.
func (a *App) startNetFlow(ctx context.Context) (func() error, error) {
	if a.Config.NetFlowUDP == "" {
		return func() error { return nil }, nil
	}
	fallback, slug := "", ""
	if a.Config.NetFlowTenant != "" {
		t, err := a.Tenants.ResolveTenant(asSystem(ctx), a.Config.NetFlowTenant)
		if err != nil {
			return nil, fmt.Errorf("netflow_tenant %q: %w", a.Config.NetFlowTenant, err)
		}
		fallback, slug = t.ID, t.Slug
	}
	m, err := a.Traffic.ExporterMap(ctx, fallback)
	if err != nil {
		return nil, fmt.Errorf("netflow exporters: %w", err)
	}
	var exporters atomic.Pointer[traffic.ExporterMap]
	exporters.Store(m)
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
	a.Logger.Info("NetFlow/IPFIX/sFlow collector", "addr", a.NetFlowAddr.String(), "default_tenant", slug, "exporters", m.Len())
	a.netflowMetrics(col)
	ctx, cancel := context.WithCancel(ctx)
	fe := &flowEvents{sink: spool, ctx: ctx, log: a.Logger.Warn}
	handlers := map[string]*tenantFlows{}
	route := func(exporter netip.Addr) traffic.Handler {
		tenant, ok := exporters.Load().Tenant(exporter)
		if !ok {
			return nil
		}
		h := handlers[tenant]
		if h == nil {
			h = &tenantFlows{tenant: tenant, fe: fe}
			handlers[tenant] = h
		}
		return h
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		if err := col.RunRouted(ctx, route); err != nil {
			a.Logger.Error("netflow collector stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		tick := time.NewTicker(flowFlush)
		defer tick.Stop()
		reload := time.NewTicker(exporterReload)
		defer reload.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				fe.flush()
			case <-reload.C:
				m, err := a.Traffic.ExporterMap(ctx, fallback)
				if err != nil {
					a.Logger.Warn("netflow: exporter map not reloaded", "err", err)
					continue
				}
				exporters.Store(m)
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

// tenantFlows hands one tenant's flow records to the shared spooler.
type tenantFlows struct {
	tenant string
	fe     *flowEvents
}

func (t *tenantFlows) Conn(c *traffic.Conn) { t.fe.add(t.tenant, c) }
func (*tenantFlows) DNS(*traffic.DNS)       {}
func (*tenantFlows) HTTP(*traffic.HTTP)     {}
func (*tenantFlows) TLS(*traffic.TLS)       {}
func (*tenantFlows) Alert(*traffic.Alert)   {}
func (*tenantFlows) File(*traffic.File)     {}

var _ traffic.Handler = (*tenantFlows)(nil)

// flowEvents turns the collector's flow records into events and spools
// them in batches.
type flowEvents struct {
	sink logs.Sink
	ctx  context.Context
	log  func(msg string, args ...any)

	mu  sync.Mutex
	buf []logs.Event
}

func (f *flowEvents) add(tenant string, c *traffic.Conn) {
	f.mu.Lock()
	f.buf = append(f.buf, flowEvent(tenant, c, time.Now().UTC()))
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

// netflowMetrics exports the collector's counts, among them the
// datagrams of unknown exporters it dropped.
func (a *App) netflowMetrics(col *traffic.Collector) {
	counts := map[string]func(traffic.NetFlowStats) int64{
		"decoded":          func(s traffic.NetFlowStats) int64 { return s.Packets },
		"bad":              func(s traffic.NetFlowStats) int64 { return s.BadPackets },
		"unknown_exporter": func(s traffic.NetFlowStats) int64 { return s.UnknownExporter },
	}
	for result, f := range counts {
		c := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_netflow_datagrams_total",
			Help:        "Flow datagrams the collector received, by what became of them.",
			ConstLabels: prometheus.Labels{"result": result}}, func() float64 { return float64(f(col.Stats())) })
		if err := a.Registry.Register(c); err != nil {
			a.Logger.Warn("netflow metrics", "err", err)
		}
	}
	r := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_netflow_records_total",
		Help: "Flow records the collector handed to tenants."}, func() float64 { return float64(col.Stats().Records) })
	if err := a.Registry.Register(r); err != nil {
		a.Logger.Warn("netflow metrics", "err", err)
	}
}

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
