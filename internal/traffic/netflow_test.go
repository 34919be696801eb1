package traffic

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The encoders below write datagrams by the layouts of the NetFlow v5
// export format (Cisco), NetFlow v9 (RFC 3954) and IPFIX (RFC 7011), with
// information element numbers from the IANA IPFIX registry.

type nfTestFlow struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        uint8
	bytes, pkts  uint32
	startMS      uint32 // ms since exporter boot (v5, v9) or epoch offset (IPFIX)
	endMS        uint32
}

const nfTestExport = 1_700_000_000 // export time, seconds
const nfTestUptime = 3_600_000     // exporter uptime at export, ms

func encodeV5(flows []nfTestFlow) []byte {
	b := binary.BigEndian.AppendUint16(nil, 5)
	b = binary.BigEndian.AppendUint16(b, uint16(len(flows)))
	b = binary.BigEndian.AppendUint32(b, nfTestUptime)
	b = binary.BigEndian.AppendUint32(b, nfTestExport)
	b = binary.BigEndian.AppendUint32(b, 0) // nsecs
	b = binary.BigEndian.AppendUint32(b, 1) // sequence
	b = append(b, 0, 0, 0, 0)               // engine type, id, sampling
	for _, f := range flows {
		s, d := f.src.As4(), f.dst.As4()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
		b = append(b, 0, 0, 0, 0) // next hop
		b = append(b, 0, 1, 0, 2) // input, output
		b = binary.BigEndian.AppendUint32(b, f.pkts)
		b = binary.BigEndian.AppendUint32(b, f.bytes)
		b = binary.BigEndian.AppendUint32(b, f.startMS)
		b = binary.BigEndian.AppendUint32(b, f.endMS)
		b = binary.BigEndian.AppendUint16(b, f.sport)
		b = binary.BigEndian.AppendUint16(b, f.dport)
		b = append(b, 0, 0x1b, f.proto, 0) // pad, tcp flags, proto, tos
		b = append(b, 0, 0, 0, 0, 24, 24, 0, 0)
	}
	return b
}

// v4 template: IEs 8, 12, 7, 11, 4, 1, 2, 22, 21.
var nfV4Fields = [][2]uint16{{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {1, 4}, {2, 4}, {22, 4}, {21, 4}}

// v6 template: IEs 27, 28, 7, 11, 4, 1, 2, 152, 153.
var nfV6Fields = [][2]uint16{{27, 16}, {28, 16}, {7, 2}, {11, 2}, {4, 1}, {1, 8}, {2, 8}, {152, 8}, {153, 8}}

func nfSet(id uint16, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	b := binary.BigEndian.AppendUint16(nil, id)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(body)))
	return append(b, body...)
}

func nfTemplateSet(setID, templateID uint16, fields [][2]uint16) []byte {
	body := binary.BigEndian.AppendUint16(nil, templateID)
	body = binary.BigEndian.AppendUint16(body, uint16(len(fields)))
	for _, f := range fields {
		body = binary.BigEndian.AppendUint16(body, f[0])
		body = binary.BigEndian.AppendUint16(body, f[1])
	}
	return nfSet(setID, body)
}

func nfDataSet(templateID uint16, v6 bool, flows []nfTestFlow) []byte {
	var body []byte
	for _, f := range flows {
		if v6 {
			s, d := f.src.As16(), f.dst.As16()
			body = append(body, s[:]...)
			body = append(body, d[:]...)
		} else {
			s, d := f.src.As4(), f.dst.As4()
			body = append(body, s[:]...)
			body = append(body, d[:]...)
		}
		body = binary.BigEndian.AppendUint16(body, f.sport)
		body = binary.BigEndian.AppendUint16(body, f.dport)
		body = append(body, f.proto)
		if v6 {
			body = binary.BigEndian.AppendUint64(body, uint64(f.bytes))
			body = binary.BigEndian.AppendUint64(body, uint64(f.pkts))
			body = binary.BigEndian.AppendUint64(body, nfTestExport*1000+uint64(f.startMS))
			body = binary.BigEndian.AppendUint64(body, nfTestExport*1000+uint64(f.endMS))
		} else {
			body = binary.BigEndian.AppendUint32(body, f.bytes)
			body = binary.BigEndian.AppendUint32(body, f.pkts)
			body = binary.BigEndian.AppendUint32(body, f.startMS)
			body = binary.BigEndian.AppendUint32(body, f.endMS)
		}
	}
	return nfSet(templateID, body)
}

func encodeV9(sets ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, 9)
	b = binary.BigEndian.AppendUint16(b, uint16(len(sets)))
	b = binary.BigEndian.AppendUint32(b, nfTestUptime)
	b = binary.BigEndian.AppendUint32(b, nfTestExport)
	b = binary.BigEndian.AppendUint32(b, 1) // sequence
	b = binary.BigEndian.AppendUint32(b, 0) // source id
	for _, s := range sets {
		b = append(b, s...)
	}
	return b
}

func encodeIPFIX(domain uint32, sets ...[]byte) []byte {
	var body []byte
	for _, s := range sets {
		body = append(body, s...)
	}
	b := binary.BigEndian.AppendUint16(nil, 10)
	b = binary.BigEndian.AppendUint16(b, uint16(16+len(body)))
	b = binary.BigEndian.AppendUint32(b, nfTestExport)
	b = binary.BigEndian.AppendUint32(b, 1) // sequence
	b = binary.BigEndian.AppendUint32(b, domain)
	return append(b, body...)
}

var (
	nfFlowA = nfTestFlow{src: netip.MustParseAddr("10.1.2.3"), dst: netip.MustParseAddr("198.51.100.7"), sport: 40000, dport: 443, proto: 6, bytes: 5000, pkts: 12, startMS: 3_500_000, endMS: 3_560_000}
	nfFlowB = nfTestFlow{src: netip.MustParseAddr("10.1.2.4"), dst: netip.MustParseAddr("192.0.2.53"), sport: 5353, dport: 53, proto: 17, bytes: 80, pkts: 1, startMS: 3_599_000, endMS: 3_599_000}
	nfFlowC = nfTestFlow{src: netip.MustParseAddr("2001:db8::1"), dst: netip.MustParseAddr("2001:db8::2"), sport: 50000, dport: 22, proto: 6, bytes: 1 << 20, pkts: 900, startMS: 1000, endMS: 31000}
)

// nfWantConn is the Conn a test flow must become. v5 and v9 times count
// from the exporter's boot (export time − uptime); the IPFIX flows carry
// absolute milliseconds.
func nfWantConn(f nfTestFlow, absolute bool) Conn {
	base := time.Unix(nfTestExport, 0).Add(-nfTestUptime * time.Millisecond)
	if absolute {
		base = time.Unix(nfTestExport, 0)
	}
	return Conn{
		TS:  base.Add(time.Duration(f.startMS) * time.Millisecond),
		Src: f.src, SrcPort: f.sport, Dst: f.dst, DstPort: f.dport,
		Proto:     flowProtoName(f.proto),
		Duration:  time.Duration(f.endMS-f.startMS) * time.Millisecond,
		OrigBytes: int64(f.bytes), OrigPkts: int64(f.pkts),
	}
}

type nfConnSink struct {
	mu    sync.Mutex
	conns []Conn
	Nop
}

func (s *nfConnSink) Conn(c *Conn) {
	s.mu.Lock()
	s.conns = append(s.conns, *c)
	s.mu.Unlock()
}

func (s *nfConnSink) snapshot() []Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Conn(nil), s.conns...)
}

var nfConnCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestCollector(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	col := NewCollector(CollectorOptions{Addr: "127.0.0.1:0"})
	if err := col.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	var sink nfConnSink
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx, &sink) }()

	conn, err := net.Dial("udp", col.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	datagrams := [][]byte{
		encodeV5([]nfTestFlow{nfFlowA, nfFlowB}),
		// Data before its template: skipped and counted.
		encodeV9(nfDataSet(256, false, []nfTestFlow{nfFlowB})),
		encodeV9(nfTemplateSet(0, 256, nfV4Fields), nfDataSet(256, false, []nfTestFlow{nfFlowA})),
		encodeV9(nfDataSet(256, false, []nfTestFlow{nfFlowB})),
		encodeIPFIX(7, nfTemplateSet(2, 300, nfV6Fields), nfDataSet(300, true, []nfTestFlow{nfFlowC})),
		[]byte("garbage"),
	}
	want := []Conn{
		nfWantConn(nfFlowA, false), nfWantConn(nfFlowB, false),
		nfWantConn(nfFlowA, false), nfWantConn(nfFlowB, false),
		nfWantConn(nfFlowC, true),
	}
	for _, d := range datagrams {
		// One at a time, waiting for each, so loopback never drops.
		before := col.Stats().Packets
		if _, err := conn.Write(d); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for col.Stats().Packets == before {
			if time.Now().After(deadline) {
				t.Fatal("collector did not receive the datagram")
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if diff := cmp.Diff(want, sink.snapshot(), nfConnCmp); diff != "" {
		t.Errorf("conns (-want +got):\n%s", diff)
	}
	st := col.Stats()
	if st.Packets != 6 || st.Records != 5 || st.NoTemplate != 1 || st.BadPackets != 1 || st.Templates != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestNetFlowTemplateBounds(t *testing.T) {
	d := NewNetFlowDecoder(CollectorOptions{MaxTemplates: 1, MaxExporters: 2})
	var sink nfConnSink
	e1, e2, e3 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")
	if _, err := d.Decode(e1, encodeV9(nfTemplateSet(0, 256, nfV4Fields)), &sink); err != nil {
		t.Fatal(err)
	}
	// A second template is over the bound: refused, its data skipped.
	if _, err := d.Decode(e1, encodeV9(nfTemplateSet(0, 257, nfV4Fields)), &sink); err == nil {
		t.Error("template over the bound accepted")
	}
	n, err := d.Decode(e1, encodeV9(nfDataSet(257, false, []nfTestFlow{nfFlowA})), &sink)
	if err != nil || n != 0 {
		t.Errorf("data for refused template: n=%d err=%v", n, err)
	}
	// Templates are per exporter: the same id from another exporter is
	// unknown there.
	if n, _ := d.Decode(e2, encodeV9(nfDataSet(256, false, []nfTestFlow{nfFlowA})), &sink); n != 0 {
		t.Errorf("template leaked across exporters")
	}
	if _, err := d.Decode(e3, encodeV9(nfDataSet(256, false, nil)), &sink); err == nil {
		t.Error("third exporter accepted over MaxExporters 2")
	}
	if n, _ := d.Decode(e1, encodeV9(nfDataSet(256, false, []nfTestFlow{nfFlowA})), &sink); n != 1 {
		t.Errorf("known template: %d conns", n)
	}
	// A template with a zero-length field would never consume data.
	d2 := NewNetFlowDecoder(CollectorOptions{})
	if _, err := d2.Decode(e1, encodeIPFIX(1, nfTemplateSet(2, 256, [][2]uint16{{8, 0}})), &sink); err == nil || d2.Stats().DroppedTemplates != 1 {
		t.Errorf("zero-length field template: err=%v stats=%+v", err, d2.Stats())
	}
	st := d.Stats()
	if st.Templates != 1 || st.DroppedTemplates != 2 || st.NoTemplate != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestNetFlowV5Bounds(t *testing.T) {
	d := NewNetFlowDecoder(CollectorOptions{})
	pkt := encodeV5([]nfTestFlow{nfFlowA})
	binary.BigEndian.PutUint16(pkt[2:], 30) // claims 30 records, carries 1
	if _, err := d.Decode(netip.Addr{}, pkt, Nop{}); err == nil {
		t.Error("v5 count beyond datagram accepted")
	}
}

func nfFuzzSeeds() [][]byte {
	return [][]byte{
		sflowDatagram(sflowExpandedIPv4Sample(100, nfFlowB, 1)),
		encodeV5([]nfTestFlow{nfFlowA, nfFlowB}),
		encodeV9(nfTemplateSet(0, 256, nfV4Fields), nfDataSet(256, false, []nfTestFlow{nfFlowA, nfFlowB})),
		encodeIPFIX(7, nfTemplateSet(2, 300, nfV6Fields), nfDataSet(300, true, []nfTestFlow{nfFlowC})),
	}
}

func FuzzNetFlow(f *testing.F) {
	for _, s := range nfFuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewNetFlowDecoder(CollectorOptions{MaxTemplates: 8})
		var sink nfConnSink
		// Twice: the first pass may install templates the second uses.
		n1, _ := d.Decode(netip.Addr{}, data, &sink)
		n2, _ := d.Decode(netip.Addr{}, data, &sink)
		if n1+n2 != len(sink.conns) || d.Stats().Templates > 8 {
			t.Fatalf("n=%d+%d conns=%d stats=%+v", n1, n2, len(sink.conns), d.Stats())
		}
	})
}

// sFlow v5 datagrams by the layout of the sFlow version 5 specification
// (sflow.org/sflow_version_5.txt): XDR, big-endian, 4-byte aligned.

func sflowXDR(b []byte, vs ...uint32) []byte {
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

func sflowDatagram(samples ...[]byte) []byte {
	b := sflowXDR(nil, 5, 1)    // version, agent address IPv4
	b = append(b, 127, 0, 0, 9) // agent
	b = sflowXDR(b, 0, 1, 60000, uint32(len(samples)))
	for _, s := range samples {
		b = append(b, s...)
	}
	return b
}

// sflowRawSample is a flow sample (format 1) with one raw packet header
// record (format 1, protocol 1 = Ethernet).
func sflowRawSample(rate, frameLen uint32, header []byte) []byte {
	hdr := append([]byte(nil), header...)
	for len(hdr)%4 != 0 {
		hdr = append(hdr, 0)
	}
	rec := sflowXDR(nil, 1, frameLen, 4, uint32(len(header)))
	rec = append(rec, hdr...)
	body := sflowXDR(nil, 1, 3, rate, rate*10, 0, 3, 4, 1) // seq, source, rate, pool, drops, in, out, records
	body = sflowXDR(body, 1, uint32(len(rec)))
	body = append(body, rec...)
	return append(sflowXDR(nil, 1, uint32(len(body))), body...)
}

// sflowExpandedIPv4Sample is an expanded flow sample (format 3) with one
// sampled IPv4 record (format 3).
func sflowExpandedIPv4Sample(rate uint32, f nfTestFlow, records uint32) []byte {
	s, d := f.src.As4(), f.dst.As4()
	rec := sflowXDR(nil, f.bytes, uint32(f.proto))
	rec = append(rec, s[:]...)
	rec = append(rec, d[:]...)
	rec = sflowXDR(rec, uint32(f.sport), uint32(f.dport), 0x18, 0)
	body := sflowXDR(nil, 1, 0, 3, rate, rate*10, 0, 0, 3, 0, 4, records)
	body = sflowXDR(body, 3, uint32(len(rec)))
	body = append(body, rec...)
	return append(sflowXDR(nil, 3, uint32(len(body))), body...)
}

func TestSFlow(t *testing.T) {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 9, 8, 7}, DstIP: net.IP{203, 0, 113, 5}}
	tcp := &layers.TCP{SrcPort: 51000, DstPort: 3389, SYN: true, Window: 1024}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := NewNetFlowDecoder(CollectorOptions{})
	d.now = func() time.Time { return at }
	var sink nfConnSink
	n, err := d.Decode(netip.MustParseAddr("127.0.0.9"), sflowDatagram(
		sflowRawSample(512, 66, buf.Bytes()),
		sflowExpandedIPv4Sample(100, nfFlowB, 1),
	), &sink)
	if err != nil || n != 2 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	want := []Conn{
		{TS: at, Src: netip.MustParseAddr("10.9.8.7"), SrcPort: 51000, Dst: netip.MustParseAddr("203.0.113.5"), DstPort: 3389, Proto: "tcp", OrigBytes: 66 * 512, OrigPkts: 512},
		{TS: at, Src: nfFlowB.src, SrcPort: nfFlowB.sport, Dst: nfFlowB.dst, DstPort: nfFlowB.dport, Proto: "udp", OrigBytes: int64(nfFlowB.bytes) * 100, OrigPkts: 100},
	}
	if diff := cmp.Diff(want, sink.conns, nfConnCmp); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// An expanded sample claiming 2^32-1 records is refused before
	// anything is allocated for them.
	if _, err := d.Decode(netip.Addr{}, sflowDatagram(sflowExpandedIPv4Sample(1, nfFlowB, 0xffffffff)), &sink); err == nil || !strings.Contains(err.Error(), "claims") {
		t.Errorf("record count beyond the sample: %v", err)
	}
}
