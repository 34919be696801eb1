package traffic

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
	"github.com/netsampler/goflow2/v2/decoders/sflow"
)

// CollectorOptions configures a NetFlow/IPFIX/sFlow Collector. Zero fields take
// the defaults named below.
type CollectorOptions struct {
	// Addr is the UDP address to listen on (default "127.0.0.1:2055").
	Addr string
	// Logger receives decode problems at debug level; nil discards them.
	Logger *slog.Logger
	// MaxTemplates bounds the NetFlow v9 / IPFIX templates kept over all
	// exporters (default 4096); templates beyond it are dropped and
	// counted, and data sets that need them are skipped.
	MaxTemplates int
	// MaxExporters bounds the exporters whose templates are kept
	// (default 1024).
	MaxExporters int
}

// NetFlowStats counts what a NetFlowDecoder or Collector saw.
type NetFlowStats struct {
	Packets          int64 // datagrams decoded or tried
	Records          int64 // Conns handed to the Handler
	BadPackets       int64 // datagrams that failed to decode (partly or fully)
	NoTemplate       int64 // data sets received before their template
	Templates        int64 // templates currently kept
	DroppedTemplates int64 // templates refused by the MaxTemplates / MaxExporters bounds
	// UnknownExporter counts datagrams dropped by RunRouted because no
	// tenant owns their exporter.
	UnknownExporter int64
}

// NetFlowDecoder turns NetFlow v5, v9, IPFIX and sFlow v5 datagrams into
// Conns. It keeps v9 and IPFIX templates per exporter address and
// observation domain, bounded. Decoding uses the goflow2 decoders; the
// decoder is not safe for concurrent use.
//
// NetFlow and IPFIX records are one-directional: their bytes and packets
// are the originator's and State is empty. An sFlow flow sample is one
// sampled packet: it becomes a Conn stamped with the receive time, whose
// bytes and packets are the frame length and 1 scaled by the sampling
// rate.
type NetFlowDecoder struct {
	maxTemplates, maxExporters int
	log                        *slog.Logger
	exporters                  map[netip.Addr]*nfTemplates
	st                         NetFlowStats
	// now stamps sFlow samples, which carry no wall-clock time.
	now func() time.Time
}

// NewNetFlowDecoder returns a decoder with the bounds of opts (Addr is
// not used).
func NewNetFlowDecoder(opts CollectorOptions) *NetFlowDecoder {
	if opts.MaxTemplates <= 0 {
		opts.MaxTemplates = 4096
	}
	if opts.MaxExporters <= 0 {
		opts.MaxExporters = 1024
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &NetFlowDecoder{
		maxTemplates: opts.MaxTemplates,
		maxExporters: opts.MaxExporters,
		log:          log,
		exporters:    make(map[netip.Addr]*nfTemplates),
		now:          time.Now,
	}
}

// Stats returns the counts so far.
func (d *NetFlowDecoder) Stats() NetFlowStats { return d.st }

// errNFTemplateRefused is returned by nfTemplates.AddTemplate for
// templates that are invalid or over the bounds.
var errNFTemplateRefused = errors.New("template refused")

// nfTemplates is one exporter's template store, implementing goflow2's
// NetFlowTemplateSystem with the decoder's bounds.
type nfTemplates struct {
	d         *NetFlowDecoder
	templates netflow.FlowBaseTemplateSet
}

func nfTemplateKey(version uint16, obsDomain uint32, id uint16) uint64 {
	return uint64(version)<<48 | uint64(obsDomain)<<16 | uint64(id)
}

// nfTemplateValid rejects templates that would make a data set decode
// forever or read nothing: no fields, or a field of length zero.
func nfTemplateValid(fields ...[]netflow.Field) bool {
	n := 0
	for _, fs := range fields {
		for _, f := range fs {
			if f.Length == 0 {
				return false
			}
			n++
		}
	}
	return n > 0
}

// AddTemplate implements netflow.NetFlowTemplateSystem.
func (t *nfTemplates) AddTemplate(version uint16, obsDomain uint32, id uint16, tmpl any) error {
	var ok bool
	switch tt := tmpl.(type) {
	case netflow.TemplateRecord:
		ok = nfTemplateValid(tt.Fields)
	case netflow.IPFIXOptionsTemplateRecord:
		ok = nfTemplateValid(tt.Scopes, tt.Options)
	case netflow.NFv9OptionsTemplateRecord:
		ok = nfTemplateValid(tt.Scopes, tt.Options)
	}
	key := nfTemplateKey(version, obsDomain, id)
	_, exists := t.templates[key]
	if !ok || !exists && t.d.st.Templates >= int64(t.d.maxTemplates) {
		t.d.st.DroppedTemplates++
		return errNFTemplateRefused
	}
	if !exists {
		t.d.st.Templates++
	}
	t.templates[key] = tmpl
	return nil
}

// GetTemplate implements netflow.NetFlowTemplateSystem.
func (t *nfTemplates) GetTemplate(version uint16, obsDomain uint32, id uint16) (any, error) {
	if tmpl, ok := t.templates[nfTemplateKey(version, obsDomain, id)]; ok {
		return tmpl, nil
	}
	return nil, netflow.ErrorTemplateNotFound
}

// RemoveTemplate implements netflow.NetFlowTemplateSystem.
func (t *nfTemplates) RemoveTemplate(version uint16, obsDomain uint32, id uint16) (any, error) {
	key := nfTemplateKey(version, obsDomain, id)
	tmpl, ok := t.templates[key]
	if !ok {
		return nil, netflow.ErrorTemplateNotFound
	}
	delete(t.templates, key)
	t.d.st.Templates--
	return tmpl, nil
}

// GetTemplates implements netflow.NetFlowTemplateSystem.
func (t *nfTemplates) GetTemplates() netflow.FlowBaseTemplateSet {
	out := make(netflow.FlowBaseTemplateSet, len(t.templates))
	for k, v := range t.templates {
		out[k] = v
	}
	return out
}

var _ netflow.NetFlowTemplateSystem = (*nfTemplates)(nil)

// Decode decodes one datagram from exporter and hands its flows to h. It
// returns the number of Conns handed over and an error for a datagram it
// could not (fully) decode; data sets whose template is unknown are
// skipped and counted in Stats().NoTemplate, not reported as errors.
func (d *NetFlowDecoder) Decode(exporter netip.Addr, pkt []byte, h Handler) (n int, err error) {
	d.st.Packets++
	defer func() {
		d.st.Records += int64(n)
		if err != nil {
			d.st.BadPackets++
		}
	}()
	if len(pkt) < 4 {
		return 0, errors.New("netflow: datagram too short")
	}
	switch v := binary.BigEndian.Uint16(pkt); v {
	case 5:
		var p netflowlegacy.PacketNetFlowV5
		if len(pkt) < 24 || int(binary.BigEndian.Uint16(pkt[2:]))*48 > len(pkt)-24 {
			return 0, errors.New("netflow v5: count exceeds datagram")
		}
		if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(pkt), &p); err != nil {
			return 0, fmt.Errorf("netflow v5: %w", err)
		}
		return d.v5(&p, h), nil
	case 9, 10:
		t := d.exporters[exporter]
		if t == nil {
			if len(d.exporters) >= d.maxExporters {
				d.st.DroppedTemplates++
				return 0, errors.New("netflow: too many exporters")
			}
			t = &nfTemplates{d: d, templates: make(netflow.FlowBaseTemplateSet)}
			d.exporters[exporter] = t
		}
		var p9 netflow.NFv9Packet
		var p10 netflow.IPFIXPacket
		derr := netflow.DecodeMessageVersion(bytes.NewBuffer(pkt), t, &p9, &p10)
		if errors.Is(derr, netflow.ErrorTemplateNotFound) {
			// Data sets before their template: goflow2 joins one error
			// per set and decodes the rest of the datagram.
			d.st.NoTemplate++
			var j interface{ Unwrap() []error }
			if errors.As(derr, &j) {
				d.st.NoTemplate += int64(len(j.Unwrap())) - 1
			}
			derr = nil
		}
		if v == 9 {
			n = d.v9(&p9, h)
		} else {
			n = d.ipfix(&p10, h)
		}
		if derr != nil {
			return n, fmt.Errorf("netflow v%d: %w", v, derr)
		}
		return n, nil
	case 0:
		if binary.BigEndian.Uint32(pkt) != 5 {
			return 0, fmt.Errorf("sflow: unsupported version %d", binary.BigEndian.Uint32(pkt))
		}
		if err := sflowPrecheck(pkt); err != nil {
			return 0, err
		}
		var p sflow.Packet
		if err := sflow.DecodeMessageVersion(bytes.NewBuffer(pkt), &p); err != nil {
			return 0, fmt.Errorf("sflow: %w", err)
		}
		return d.sflow(&p, h), nil
	default:
		return 0, fmt.Errorf("netflow: unsupported version %d", v)
	}
}

func (d *NetFlowDecoder) v5(p *netflowlegacy.PacketNetFlowV5, h Handler) int {
	export := time.Unix(int64(p.UnixSecs), int64(p.UnixNSecs))
	uptime := time.Duration(p.SysUptime) * time.Millisecond
	n := 0
	for i := range p.Records {
		r := &p.Records[i]
		if r.SrcAddr == 0 && r.DstAddr == 0 && r.DPkts == 0 {
			continue // not filled (count larger than the records sent)
		}
		first := export.Add(time.Duration(r.First)*time.Millisecond - uptime)
		last := export.Add(time.Duration(r.Last)*time.Millisecond - uptime)
		c := Conn{
			TS:      first,
			Src:     nfAddr4(uint32(r.SrcAddr)),
			SrcPort: r.SrcPort,
			Dst:     nfAddr4(uint32(r.DstAddr)),
			DstPort: r.DstPort,
			Proto:   flowProtoName(r.Proto),
			// NetFlow records are one-directional: the exporter's bytes
			// are the originator's.
			OrigBytes: int64(r.DOctets), OrigPkts: int64(r.DPkts),
		}
		if last.After(first) {
			c.Duration = last.Sub(first)
		}
		h.Conn(&c)
		n++
	}
	return n
}

func (d *NetFlowDecoder) sflow(p *sflow.Packet, h Handler) int {
	now := d.now()
	n := 0
	for _, s := range p.Samples {
		var rate uint32
		var records []sflow.FlowRecord
		switch fs := s.(type) {
		case sflow.FlowSample:
			rate, records = fs.SamplingRate, fs.Records
		case sflow.ExpandedFlowSample:
			rate, records = fs.SamplingRate, fs.Records
		default:
			continue // counter and drop samples carry no flow
		}
		rate = max(rate, 1)
		for _, r := range records {
			c, ok := sflowConn(r.Data)
			if !ok {
				continue
			}
			c.TS = now
			c.OrigBytes *= int64(rate)
			c.OrigPkts = int64(rate)
			h.Conn(&c)
			n++
			break // one Conn per sample, from its first usable record
		}
	}
	return n
}

// sflowPrecheck walks the samples of an sFlow v5 datagram and refuses
// expanded flow samples claiming more records than their length can
// hold: goflow2 v2.2.6 allocates the claimed count before reading.
func sflowPrecheck(pkt []byte) error {
	off := 8 // version, agent address type
	switch binary.BigEndian.Uint32(pkt[4:]) {
	case 1:
		off += 4
	case 2:
		off += 16
	default:
		return errors.New("sflow: bad agent address type")
	}
	off += 12 // sub-agent, sequence, uptime
	if len(pkt) < off+4 {
		return errors.New("sflow: short datagram")
	}
	n := binary.BigEndian.Uint32(pkt[off:])
	off += 4
	for i := uint32(0); i < n && len(pkt)-off >= 8; i++ {
		format, length := binary.BigEndian.Uint32(pkt[off:]), int(binary.BigEndian.Uint32(pkt[off+4:]))
		off += 8
		if length < 0 || length > len(pkt)-off {
			return nil // the decoder stops here
		}
		if format == 3 && length >= 44 {
			if c := int64(binary.BigEndian.Uint32(pkt[off+40:])); c > int64(length/8) {
				return fmt.Errorf("sflow: sample claims %d records in %d bytes", c, length)
			}
		}
		off += length
	}
	return nil
}

// sflowConn reads a sampled packet header or a sampled IPv4/IPv6 record.
func sflowConn(data any) (Conn, bool) {
	switch r := data.(type) {
	case sflow.SampledHeader:
		var lt gopacket.Decoder
		switch r.Protocol {
		case 1: // ethernet-ISO8023
			lt = layers.LayerTypeEthernet
		case 11:
			lt = layers.LayerTypeIPv4
		case 12:
			lt = layers.LayerTypeIPv6
		default:
			return Conn{}, false
		}
		hdr := r.HeaderData
		if int(r.OriginalLength) <= len(hdr) {
			hdr = hdr[:r.OriginalLength] // the rest is XDR padding
		}
		pkt := gopacket.NewPacket(hdr, lt, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		var c Conn
		switch nl := pkt.NetworkLayer().(type) {
		case *layers.IPv4:
			c.Src, _ = netip.AddrFromSlice(nl.SrcIP)
			c.Dst, _ = netip.AddrFromSlice(nl.DstIP)
			c.Proto = flowProtoName(uint8(nl.Protocol))
		case *layers.IPv6:
			c.Src, _ = netip.AddrFromSlice(nl.SrcIP)
			c.Dst, _ = netip.AddrFromSlice(nl.DstIP)
			c.Proto = flowProtoName(uint8(nl.NextHeader))
		default:
			return Conn{}, false
		}
		switch tl := pkt.TransportLayer().(type) {
		case *layers.TCP:
			c.SrcPort, c.DstPort = uint16(tl.SrcPort), uint16(tl.DstPort)
		case *layers.UDP:
			c.SrcPort, c.DstPort = uint16(tl.SrcPort), uint16(tl.DstPort)
		}
		c.OrigBytes = int64(r.FrameLength)
		return c, c.Src.IsValid() && c.Dst.IsValid()
	case sflow.SampledIPv4:
		return sflowIPConn(r.SampledIPBase)
	case sflow.SampledIPv6:
		return sflowIPConn(r.SampledIPBase)
	}
	return Conn{}, false
}

func sflowIPConn(b sflow.SampledIPBase) (Conn, bool) {
	src, ok1 := netip.AddrFromSlice(b.SrcIP)
	dst, ok2 := netip.AddrFromSlice(b.DstIP)
	if !ok1 || !ok2 || b.Protocol > 255 || b.SrcPort > 0xffff || b.DstPort > 0xffff {
		return Conn{}, false
	}
	return Conn{
		Src: src, Dst: dst,
		SrcPort: uint16(b.SrcPort), DstPort: uint16(b.DstPort), // #nosec G115 -- checked above
		Proto:     flowProtoName(uint8(b.Protocol)), // #nosec G115 -- checked above
		OrigBytes: int64(b.Length),
	}, true
}

func nfAddr4(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// nfFlow collects the information elements of one data record.
type nfFlow struct {
	src, dst             netip.Addr
	sport, dport         uint16
	proto                uint8
	bytes, pkts          uint64
	startUp, endUp       int64 // ms since exporter boot (v9, IEs 22/21)
	hasStartUp, hasEndUp bool
	startAbs, endAbs     time.Time // IEs 150-153
	sysInit              time.Time // IE 160
}

func nfUint(b []byte) uint64 {
	if len(b) > 8 {
		return 0
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// nfInt reads an unsigned field into an int64, 0 beyond 2^53 (no
// count or time in a flow record is that large).
func nfInt(b []byte) int64 {
	v := nfUint(b)
	if v > 1<<53 {
		return 0
	}
	return int64(v)
}

// nfPort reads a port field, 0 when out of range.
func nfPort(b []byte) uint16 {
	if len(b) != 2 {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

// set reads one field, by IANA information element number (NetFlow v9
// field types 1-127 are the same numbers).
func (f *nfFlow) set(typ uint16, val []byte) {
	switch typ {
	case 1, 85: // octetDeltaCount, octetTotalCount
		f.bytes = nfUint(val)
	case 2, 86: // packetDeltaCount, packetTotalCount
		f.pkts = nfUint(val)
	case 4:
		f.proto = uint8(min(nfUint(val), 255)) // #nosec G115 -- clamped
	case 7:
		f.sport = nfPort(val)
	case 11:
		f.dport = nfPort(val)
	case 8, 12, 27, 28:
		a, ok := netip.AddrFromSlice(val)
		if !ok {
			return
		}
		if typ == 8 || typ == 27 {
			f.src = a
		} else {
			f.dst = a
		}
	case 22:
		f.startUp, f.hasStartUp = nfInt(val), true
	case 21:
		f.endUp, f.hasEndUp = nfInt(val), true
	case 150:
		f.startAbs = time.Unix(nfInt(val), 0)
	case 151:
		f.endAbs = time.Unix(nfInt(val), 0)
	case 152:
		f.startAbs = time.UnixMilli(nfInt(val))
	case 153:
		f.endAbs = time.UnixMilli(nfInt(val))
	case 160:
		f.sysInit = time.UnixMilli(nfInt(val))
	}
}

// conn builds the Conn; boot is the exporter's boot time when known.
func (f *nfFlow) conn(boot, export time.Time) (Conn, bool) {
	if !f.src.IsValid() || !f.dst.IsValid() {
		return Conn{}, false
	}
	c := Conn{
		Src: f.src, SrcPort: f.sport, Dst: f.dst, DstPort: f.dport,
		Proto:     flowProtoName(f.proto),
		OrigBytes: int64(min(f.bytes, 1<<62)), OrigPkts: int64(min(f.pkts, 1<<62)),
	}
	if !f.sysInit.IsZero() {
		boot = f.sysInit
	}
	start, end := f.startAbs, f.endAbs
	if start.IsZero() && f.hasStartUp && !boot.IsZero() {
		start = boot.Add(time.Duration(f.startUp) * time.Millisecond)
	}
	if end.IsZero() && f.hasEndUp && !boot.IsZero() {
		end = boot.Add(time.Duration(f.endUp) * time.Millisecond)
	}
	if start.IsZero() {
		start = export
	}
	c.TS = start
	if end.After(start) {
		c.Duration = end.Sub(start)
	}
	return c, true
}

func (d *NetFlowDecoder) v9(p *netflow.NFv9Packet, h Handler) int {
	export := time.Unix(int64(p.UnixSeconds), 0)
	boot := export.Add(-time.Duration(p.SystemUptime) * time.Millisecond)
	return d.dataSets(p.FlowSets, boot, export, h)
}

func (d *NetFlowDecoder) ipfix(p *netflow.IPFIXPacket, h Handler) int {
	export := time.Unix(int64(p.ExportTime), 0)
	return d.dataSets(p.FlowSets, time.Time{}, export, h)
}

func (d *NetFlowDecoder) dataSets(sets []any, boot, export time.Time, h Handler) int {
	n := 0
	for _, s := range sets {
		ds, ok := s.(netflow.DataFlowSet)
		if !ok {
			continue
		}
		for _, rec := range ds.Records {
			var f nfFlow
			for _, v := range rec.Values {
				b, ok := v.Value.([]byte)
				if !ok || v.PenProvided {
					continue
				}
				f.set(v.Type, b)
			}
			if c, ok := f.conn(boot, export); ok {
				h.Conn(&c)
				n++
			}
		}
	}
	return n
}

// Collector receives NetFlow v5, v9, IPFIX and sFlow v5 datagrams on UDP
// (all on one port; the version field tells them apart) and turns them
// into Conns as NetFlowDecoder describes.
type Collector struct {
	opts CollectorOptions
	log  *slog.Logger
	dec  *NetFlowDecoder

	mu   sync.Mutex
	conn net.PacketConn
	st   NetFlowStats
}

// NewCollector returns a collector; Listen or Run opens its socket.
func NewCollector(opts CollectorOptions) *Collector {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:2055"
	}
	c := &Collector{opts: opts, dec: NewNetFlowDecoder(opts), log: opts.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Listen opens the UDP socket, so that Addr can report the port before
// Run starts. Run calls it when it was not called.
func (c *Collector) Listen(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		return nil
	}
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", c.opts.Addr)
	if err != nil {
		return fmt.Errorf("netflow collector: %w", err)
	}
	c.conn = pc
	return nil
}

// Addr returns the bound address, nil before Listen.
func (c *Collector) Addr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	return c.conn.LocalAddr()
}

// Stats returns the counts so far; safe to call while Run runs.
func (c *Collector) Stats() NetFlowStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

// Run receives datagrams until ctx is cancelled and hands the flows to h
// from this goroutine. It closes the socket and returns nil on
// cancellation, an error when the socket fails.
func (c *Collector) Run(ctx context.Context, h Handler) error {
	return c.RunRouted(ctx, func(netip.Addr) Handler { return h })
}

// RunRouted is Run with a handler per exporter: route returns the handler
// of an exporter's flows, or nil for an exporter nobody owns, whose
// datagrams are dropped undecoded and counted (UnknownExporter).
func (c *Collector) RunRouted(ctx context.Context, route func(exporter netip.Addr) Handler) error {
	if err := c.Listen(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	pc := c.conn
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { _ = pc.Close() })
	defer stop()
	defer func() { _ = pc.Close() }()
	buf := make([]byte, 65535)
	var unknown int64
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("netflow collector: %w", err)
		}
		var exporter netip.Addr
		if ua, ok := from.(*net.UDPAddr); ok {
			exporter = ua.AddrPort().Addr().Unmap()
		}
		h := route(exporter)
		if h == nil {
			unknown++
			c.log.Debug("netflow: datagram from an unknown exporter dropped", "exporter", exporter)
		} else if _, err := c.dec.Decode(exporter, buf[:n], h); err != nil {
			c.log.Debug("netflow: bad datagram", "exporter", exporter, "err", err)
		}
		c.mu.Lock()
		c.st = c.dec.Stats()
		c.st.UnknownExporter = unknown
		c.mu.Unlock()
	}
}
