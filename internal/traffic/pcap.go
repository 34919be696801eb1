package traffic

import (
	"bufio"
	"bytes"
	"container/list"
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/dns/dnsmessage"
)

// PcapOptions tunes the flow assembly of ReadPcapOpts. Zero fields take
// the defaults named below.
type PcapOptions struct {
	// MaxFlows bounds the flows tracked at once (default 65536); when
	// full, the least recently active flow is ended early.
	MaxFlows int
	// TCPTimeout ends a TCP flow idle that long in capture time (default
	// 5 min); a TCP flow closed by FIN from both sides or RST ends after
	// 5 s. UDPTimeout does the same for other protocols (default 1 min).
	TCPTimeout, UDPTimeout time.Duration
	// Logger receives debug messages; nil discards them.
	Logger *slog.Logger
}

// Bounds of the pcap reader.
const (
	pcapMaxFlowsDefault = 65536
	pcapMaxPendingDNS   = 16
	pcapMaxPendingHTTP  = 16
	pcapMaxAnswers      = 32
	pcapMaxTLSPrefix    = 1<<14 + 5 + 2048 // one TLS record
	pcapMaxHTTPHead     = 8 << 10
	pcapClosedTimeout   = 5 * time.Second
	pcapSweepEvery      = 5 * time.Second
)

// ReadPcap reads a pcap or pcapng capture from r, assembles its packets
// into bidirectional flows and hands the records to h: a Conn per flow
// when it ends (idle timeout, TCP close, table full or end of input), DNS
// queries and answers (UDP and TCP port 53), TLS handshakes (SNI,
// version, JA3 and JA4 client fingerprints from the ClientHello, version
// from the ServerHello) and HTTP/1.x requests with their response status.
// Packets that cannot be decoded are skipped and counted (Stats.Lines
// counts packets). It stops with ctx.Err() when ctx is cancelled.
func ReadPcap(ctx context.Context, r io.Reader, name string, h Handler) (Stats, error) {
	return ReadPcapOpts(ctx, r, name, h, PcapOptions{})
}

// ReadPcapOpts is ReadPcap with options.
//
// Conn byte counts are transport payload bytes per direction (like Zeek's
// orig_bytes, but retransmitted bytes count again); packets are IP
// packets. TLS records are handed over when their flow ends; Established
// means a ServerHello was seen and the client then sent an application
// data record; the certificate fields are filled for TLS 1.2 and earlier
// (TLS 1.3 encrypts the certificate). TLS and DNS
// over TCP are read from the start of each direction's stream, in order,
// up to one TLS record; HTTP requests and responses must start a TCP
// segment.
func ReadPcapOpts(ctx context.Context, r io.Reader, name string, h Handler, opts PcapOptions) (Stats, error) {
	if opts.MaxFlows <= 0 {
		opts.MaxFlows = pcapMaxFlowsDefault
	}
	if opts.TCPTimeout <= 0 {
		opts.TCPTimeout = 5 * time.Minute
	}
	if opts.UDPTimeout <= 0 {
		opts.UDPTimeout = time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(4)
	if err != nil {
		return Stats{}, fmt.Errorf("read %s: pcap header: %w", name, err)
	}
	var src pcapSource
	if binary.BigEndian.Uint32(magic) == 0x0A0D0D0A {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return Stats{}, fmt.Errorf("read %s: pcapng: %w", name, err)
		}
		src = ngSource{ng}
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return Stats{}, fmt.Errorf("read %s: pcap: %w", name, err)
		}
		src = pcapgoSource{pr}
	}
	a := &pcapAssembler{
		name:  name,
		h:     h,
		opts:  opts,
		log:   log,
		flows: make(map[pcapFlowKey]*list.Element),
		lru:   list.New(),
	}
	for {
		if a.st.Lines%256 == 0 {
			if err := ctx.Err(); err != nil {
				a.flushAll()
				return a.st, err
			}
		}
		data, ci, lt, err := src.next()
		if err == io.EOF {
			break
		}
		a.st.Lines++
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				a.st.Skip(name, a.st.Lines, "truncated packet at end of capture")
				break
			}
			a.flushAll()
			return a.st, fmt.Errorf("read %s packet %d: %w", name, a.st.Lines, err)
		}
		a.packet(data, ci, lt)
	}
	a.flushAll()
	return a.st, nil
}

// pcapSource hides the pcap and pcapng readers.
type pcapSource interface {
	next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error)
}

type pcapgoSource struct{ r *pcapgo.Reader }

func (s pcapgoSource) next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	data, ci, err := s.r.ReadPacketData()
	return data, ci, s.r.LinkType(), err
}

type ngSource struct{ r *pcapgo.NgReader }

func (s ngSource) next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	data, ci, err := s.r.ReadPacketData()
	if err != nil {
		return nil, ci, 0, err
	}
	lt := s.r.LinkType()
	if ifc, err := s.r.Interface(ci.InterfaceIndex); err == nil {
		lt = ifc.LinkType
	}
	return data, ci, lt, nil
}

// pcapFlowKey is a flow's 5-tuple with the endpoints ordered, so both
// directions share one key.
type pcapFlowKey struct {
	a, b         netip.Addr
	aPort, bPort uint16
	proto        uint8
}

// pcapStream collects the start of one direction of a TCP stream.
type pcapStream struct {
	buf     []byte
	next    uint32 // expected sequence number
	started bool
	done    bool // parsed, or gave up
}

// add appends an in-order segment; it reports whether buf grew.
func (s *pcapStream) add(seq uint32, payload []byte) bool {
	if s.done || len(payload) == 0 {
		return false
	}
	if !s.started {
		s.started, s.next = true, seq
	}
	if seq != s.next {
		if s.next-seq < 1<<31 {
			return false // retransmission
		}
		s.done = true // gap: give up
		return false
	}
	n := min(len(payload), pcapMaxTLSPrefix-len(s.buf))
	s.buf = append(s.buf, payload[:n]...)
	s.next += uint32(len(payload)) // #nosec G115 -- TCP sequence arithmetic wraps
	if len(s.buf) >= pcapMaxTLSPrefix {
		s.done = true
	}
	return true
}

type pcapFlow struct {
	key                  pcapFlowKey
	uid                  string
	orig, resp           netip.Addr
	origPort, respPort   uint16
	proto                uint8
	first, last          time.Time
	origBytes, respBytes int64
	origPkts, respPkts   int64
	origFlags, respFlags uint8
	service              string

	cli, srv   pcapStream
	tls        *TLS
	dns        []DNS // queries waiting for their answer
	dnsIDs     []uint16
	http       []HTTP // requests waiting for their response
	el         *list.Element
	closedAt   time.Time
	sawAppData bool
}

type pcapAssembler struct {
	name      string
	h         Handler
	opts      PcapOptions
	log       *slog.Logger
	st        Stats
	flows     map[pcapFlowKey]*list.Element
	lru       *list.List // of *pcapFlow, least recently active first
	nextUID   uint64
	lastSweep time.Time
	now       time.Time
}

// packet decodes one captured packet and adds it to its flow.
func (a *pcapAssembler) packet(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType) {
	pkt := gopacket.NewPacket(data, lt, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	if el := pkt.ErrorLayer(); el != nil {
		a.st.Skip(a.name, a.st.Lines, "decode: "+eveClip(el.Error().Error(), 200))
		return
	}
	var (
		src, dst   netip.Addr
		proto      uint8
		ipPayload  int
		sport      uint16
		dport      uint16
		flags      uint8
		seq        uint32
		payload    []byte
		payloadLen int
	)
	switch nl := pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		src, _ = netip.AddrFromSlice(nl.SrcIP)
		dst, _ = netip.AddrFromSlice(nl.DstIP)
		proto = uint8(nl.Protocol)
		ipPayload = int(nl.Length) - int(nl.IHL)*4
		if nl.FragOffset != 0 {
			return // later fragments carry no transport header; counted with the first
		}
	case *layers.IPv6:
		src, _ = netip.AddrFromSlice(nl.SrcIP)
		dst, _ = netip.AddrFromSlice(nl.DstIP)
		proto = uint8(nl.NextHeader)
		ipPayload = int(nl.Length)
	default:
		return // not IP (ARP, LLDP, ...): nothing to assemble
	}
	if !src.IsValid() || !dst.IsValid() {
		a.st.Skip(a.name, a.st.Lines, "bad IP addresses")
		return
	}
	switch tl := pkt.TransportLayer().(type) {
	case *layers.TCP:
		proto = 6
		sport, dport = uint16(tl.SrcPort), uint16(tl.DstPort)
		flags = pcapTCPFlags(tl)
		seq = tl.Seq
		payload = tl.Payload
		payloadLen = ipPayload - int(tl.DataOffset)*4
	case *layers.UDP:
		proto = 17
		sport, dport = uint16(tl.SrcPort), uint16(tl.DstPort)
		payload = tl.Payload
		payloadLen = int(tl.Length) - 8
	default:
		if ic, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
			proto = 1
			// Like Zeek: the ICMP type and code stand in for the ports.
			sport, dport = uint16(ic.TypeCode.Type()), uint16(ic.TypeCode.Code())
			payloadLen = len(ic.Payload)
		} else if ic6, ok := pkt.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
			proto = 58
			sport, dport = uint16(ic6.TypeCode.Type()), uint16(ic6.TypeCode.Code())
			payloadLen = len(ic6.Payload)
		} else {
			payloadLen = ipPayload
		}
	}
	if payloadLen < 0 || payloadLen > 1<<17 {
		payloadLen = len(payload)
	}
	ts := ci.Timestamp
	a.now = ts
	if ts.Sub(a.lastSweep) >= pcapSweepEvery || ts.Before(a.lastSweep) {
		a.sweep(ts)
		a.lastSweep = ts
	}
	f := a.flow(src, sport, dst, dport, proto, flags, ts)
	fromOrig := src == f.orig && sport == f.origPort
	if src == dst && sport == dport {
		fromOrig = true
	}
	f.last = ts
	if fromOrig {
		f.origPkts++
		f.origBytes += int64(payloadLen)
		f.origFlags |= flags
	} else {
		f.respPkts++
		f.respBytes += int64(payloadLen)
		f.respFlags |= flags
	}
	if flags&(flowRST) != 0 || f.origFlags&flowFIN != 0 && f.respFlags&flowFIN != 0 {
		if f.closedAt.IsZero() {
			f.closedAt = ts
		}
	}
	a.app(f, fromOrig, ts, seq, payload)
}

func pcapTCPFlags(t *layers.TCP) uint8 {
	var f uint8
	if t.FIN {
		f |= flowFIN
	}
	if t.SYN {
		f |= flowSYN
	}
	if t.RST {
		f |= flowRST
	}
	if t.ACK {
		f |= flowACK
	}
	return f
}

// flow finds or creates the flow of a packet.
func (a *pcapAssembler) flow(src netip.Addr, sport uint16, dst netip.Addr, dport uint16, proto, flags uint8, ts time.Time) *pcapFlow {
	key := pcapFlowKey{a: src, aPort: sport, b: dst, bPort: dport, proto: proto}
	if dst.Less(src) || dst == src && dport < sport {
		key = pcapFlowKey{a: dst, aPort: dport, b: src, bPort: sport, proto: proto}
	}
	if el, ok := a.flows[key]; ok {
		a.lru.MoveToBack(el)
		return el.Value.(*pcapFlow)
	}
	if len(a.flows) >= a.opts.MaxFlows {
		a.end(a.lru.Front().Value.(*pcapFlow))
	}
	a.nextUID++
	f := &pcapFlow{
		key: key, uid: "P" + strconv.FormatUint(a.nextUID, 10),
		orig: src, origPort: sport, resp: dst, respPort: dport, proto: proto,
		first: ts, last: ts,
	}
	// The first packet names the originator, unless it is a SYN-ACK or a
	// DNS response: then the capture missed the first packet.
	if proto == 6 && flags&(flowSYN|flowACK) == flowSYN|flowACK ||
		proto == 17 && sport == 53 && dport != 53 {
		f.orig, f.origPort, f.resp, f.respPort = dst, dport, src, sport
	}
	f.el = a.lru.PushBack(f)
	a.flows[key] = f.el
	return f
}

// sweep ends the flows idle past their timeout.
func (a *pcapAssembler) sweep(now time.Time) {
	for el := a.lru.Front(); el != nil; {
		next := el.Next()
		f := el.Value.(*pcapFlow)
		timeout := a.opts.UDPTimeout
		if f.proto == 6 {
			timeout = a.opts.TCPTimeout
			if !f.closedAt.IsZero() {
				timeout = pcapClosedTimeout
			}
		}
		if now.Sub(f.last) > timeout {
			a.end(f)
		}
		el = next
	}
}

func (a *pcapAssembler) flushAll() {
	for el := a.lru.Front(); el != nil; el = a.lru.Front() {
		a.end(el.Value.(*pcapFlow))
	}
}

// end hands over a flow's pending records and its Conn.
func (a *pcapAssembler) end(f *pcapFlow) {
	a.lru.Remove(f.el)
	delete(a.flows, f.key)
	for i := range f.dns {
		a.st.Records++
		a.h.DNS(&f.dns[i])
	}
	for i := range f.http {
		a.st.Records++
		a.h.HTTP(&f.http[i])
	}
	if f.tls != nil {
		f.tls.Established = f.tls.Version != "" && f.sawAppData
		a.st.Records++
		a.h.TLS(f.tls)
	}
	c := Conn{
		TS: f.first, UID: f.uid,
		Src: f.orig, SrcPort: f.origPort, Dst: f.resp, DstPort: f.respPort,
		Proto:     flowProtoName(f.proto),
		Service:   f.service,
		Duration:  f.last.Sub(f.first),
		OrigBytes: f.origBytes, RespBytes: f.respBytes,
		OrigPkts: f.origPkts, RespPkts: f.respPkts,
	}
	if f.proto == 6 {
		c.State = flowTCPState(f.origFlags, f.respFlags, f.respPkts > 0)
	} else {
		c.State = eveConnState(c.Proto, "", "", "", f.origPkts, f.respPkts)
	}
	a.st.Records++
	a.h.Conn(&c)
}

// app looks at a packet's payload for DNS, TLS and HTTP.
func (a *pcapAssembler) app(f *pcapFlow, fromOrig bool, ts time.Time, seq uint32, payload []byte) {
	switch {
	case f.proto == 17 && (f.respPort == 53 || f.origPort == 53):
		a.dns(f, ts, payload)
		return
	case f.proto != 6:
		return
	}
	if f.respPort == 53 || f.origPort == 53 {
		// DNS over TCP: a two-byte length, then the message; only
		// messages that start a segment are read.
		if len(payload) > 2 && int(binary.BigEndian.Uint16(payload)) <= len(payload)-2 {
			a.dns(f, ts, payload[2:2+int(binary.BigEndian.Uint16(payload))])
		}
		return
	}
	if fromOrig {
		if f.cli.add(seq, payload) && f.tls == nil {
			a.clientHello(f, ts)
		}
		if f.tls != nil && f.tls.Version != "" && len(payload) > 0 && payload[0] == tlsRecordAppData {
			f.sawAppData = true
		}
		a.httpRequest(f, ts, payload)
		return
	}
	if f.srv.add(seq, payload) && f.tls != nil {
		a.serverHandshake(f)
	}
	a.httpResponse(f, payload)
}

// serverHandshake reads the ServerHello version and, before TLS 1.3, the
// leaf certificate from the start of the server's stream.
func (a *pcapAssembler) serverHandshake(f *pcapFlow) {
	msgs, short, err := tlsHandshakes(f.srv.buf)
	if err != nil || !short {
		f.srv.done = true
	}
	for _, m := range msgs {
		switch m.typ {
		case tlsServerHello:
			if v, err := parseServerHello(m.body); err == nil {
				f.tls.Version = tlsVersionName(v)
			}
		case tlsCertificate:
			f.srv.done = true
			der, err := tlsFirstCertificate(m.body)
			if err != nil {
				continue
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				a.log.Debug("pcap: certificate", "flow", f.uid, "err", err)
				continue
			}
			f.tls.Subject = eveClip(cert.Subject.String(), eveMaxField)
			f.tls.Issuer = eveClip(cert.Issuer.String(), eveMaxField)
			f.tls.NotBefore, f.tls.NotAfter = cert.NotBefore, cert.NotAfter
			f.tls.SelfSigned = bytes.Equal(cert.RawSubject, cert.RawIssuer)
		}
	}
	if f.tls.Version == "TLSv13" {
		f.srv.done = true // the rest is encrypted
	}
}

func (a *pcapAssembler) clientHello(f *pcapFlow, ts time.Time) {
	typ, body, err := tlsHandshakeMessage(f.cli.buf)
	if errors.Is(err, errTLSShort) {
		return
	}
	f.cli.done = true
	if err != nil || typ != tlsClientHello {
		return
	}
	ch, err := parseClientHello(body)
	if err != nil {
		a.log.Debug("pcap: client hello", "flow", f.uid, "err", err)
		return
	}
	f.service = "ssl"
	f.tls = &TLS{
		TS: ts, UID: f.uid, Src: f.orig, SrcPort: f.origPort, Dst: f.resp, DstPort: f.respPort,
		ServerName: ch.sni,
		JA3:        ch.ja3(),
		JA4:        ch.ja4('t'),
	}
}

var pcapHTTPMethods = [...]string{"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "}

// pcapHTTPHead splits the start of an HTTP/1.x message into its first line
// and a header lookup.
func pcapHTTPHead(p []byte) (first string, header func(string) string) {
	p = p[:min(len(p), pcapMaxHTTPHead)]
	if i := bytes.Index(p, []byte("\r\n\r\n")); i >= 0 {
		p = p[:i]
	}
	lines := strings.Split(string(p), "\r\n")
	return lines[0], func(name string) string {
		for _, l := range lines[1:] {
			k, v, ok := strings.Cut(l, ":")
			if ok && strings.EqualFold(strings.TrimSpace(k), name) {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
}

func (a *pcapAssembler) httpRequest(f *pcapFlow, ts time.Time, p []byte) {
	ok := false
	for _, m := range pcapHTTPMethods {
		if bytes.HasPrefix(p, []byte(m)) {
			ok = true
			break
		}
	}
	if !ok {
		return
	}
	first, hdr := pcapHTTPHead(p)
	parts := strings.Fields(first)
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "HTTP/1.") {
		return
	}
	f.service = "http"
	req := HTTP{
		TS: ts, UID: f.uid, Src: f.orig, SrcPort: f.origPort, Dst: f.resp, DstPort: f.respPort,
		Method: parts[0], URI: parts[1],
		Host: hdr("Host"), UserAgent: hdr("User-Agent"), Referrer: hdr("Referer"),
	}
	req.ReqBytes, _ = strconv.ParseInt(hdr("Content-Length"), 10, 64)
	if len(f.http) >= pcapMaxPendingHTTP {
		a.st.Records++
		a.h.HTTP(&f.http[0])
		f.http = f.http[1:]
	}
	f.http = append(f.http, req)
}

func (a *pcapAssembler) httpResponse(f *pcapFlow, p []byte) {
	if len(f.http) == 0 || !bytes.HasPrefix(p, []byte("HTTP/1.")) {
		return
	}
	first, hdr := pcapHTTPHead(p)
	parts := strings.Fields(first)
	if len(parts) < 2 {
		return
	}
	req := &f.http[0]
	req.Status, _ = strconv.Atoi(parts[1])
	req.RespBytes, _ = strconv.ParseInt(hdr("Content-Length"), 10, 64)
	req.RespMIME = eveClip(hdr("Content-Type"), 256)
	a.st.Records++
	a.h.HTTP(req)
	f.http = f.http[1:]
}

// dns reads one DNS message of a flow.
func (a *pcapAssembler) dns(f *pcapFlow, ts time.Time, msg []byte) {
	var p dnsmessage.Parser
	hdr, err := p.Start(msg)
	if err != nil {
		a.st.Skip(a.name, a.st.Lines, "dns: "+err.Error())
		return
	}
	q, err := p.Question()
	if err != nil {
		return // no question: nothing to report
	}
	f.service = "dns"
	name := strings.TrimSuffix(q.Name.String(), ".")
	if !hdr.Response {
		if len(f.dns) >= pcapMaxPendingDNS {
			a.st.Records++
			a.h.DNS(&f.dns[0])
			f.dns, f.dnsIDs = f.dns[1:], f.dnsIDs[1:]
		}
		f.dns = append(f.dns, DNS{
			TS: ts, UID: f.uid, Src: f.orig, SrcPort: f.origPort, Dst: f.resp, DstPort: f.respPort,
			Proto: flowProtoName(f.proto), Query: name, QType: pcapDNSType(q.Type),
		})
		f.dnsIDs = append(f.dnsIDs, hdr.ID)
		return
	}
	var d DNS
	found := -1
	for i, id := range f.dnsIDs {
		if id == hdr.ID && strings.EqualFold(f.dns[i].Query, name) && f.dns[i].QType == pcapDNSType(q.Type) {
			found = i
			break
		}
	}
	if found >= 0 {
		d = f.dns[found]
		f.dns = append(f.dns[:found], f.dns[found+1:]...)
		f.dnsIDs = append(f.dnsIDs[:found], f.dnsIDs[found+1:]...)
	} else {
		d = DNS{
			TS: ts, UID: f.uid, Src: f.orig, SrcPort: f.origPort, Dst: f.resp, DstPort: f.respPort,
			Proto: flowProtoName(f.proto), Query: name, QType: pcapDNSType(q.Type),
		}
	}
	d.RCode = pcapRCode(hdr.RCode)
	if err := p.SkipAllQuestions(); err == nil {
		for len(d.Answers) < pcapMaxAnswers {
			rh, err := p.AnswerHeader()
			if err != nil {
				break
			}
			text := ""
			switch rh.Type {
			case dnsmessage.TypeA:
				r, err := p.AResource()
				if err != nil {
					break
				}
				text = netip.AddrFrom4(r.A).String()
			case dnsmessage.TypeAAAA:
				r, err := p.AAAAResource()
				if err != nil {
					break
				}
				text = netip.AddrFrom16(r.AAAA).String()
			case dnsmessage.TypeCNAME:
				r, err := p.CNAMEResource()
				if err != nil {
					break
				}
				text = strings.TrimSuffix(r.CNAME.String(), ".")
			case dnsmessage.TypeNS:
				r, err := p.NSResource()
				if err != nil {
					break
				}
				text = strings.TrimSuffix(r.NS.String(), ".")
			case dnsmessage.TypePTR:
				r, err := p.PTRResource()
				if err != nil {
					break
				}
				text = strings.TrimSuffix(r.PTR.String(), ".")
			case dnsmessage.TypeMX:
				r, err := p.MXResource()
				if err != nil {
					break
				}
				text = strings.TrimSuffix(r.MX.String(), ".")
			case dnsmessage.TypeTXT:
				r, err := p.TXTResource()
				if err != nil {
					break
				}
				text = eveClip(strings.Join(r.TXT, ""), 1024)
			default:
				if err := p.SkipAnswer(); err != nil {
					break
				}
				text = pcapDNSType(rh.Type)
			}
			if text == "" {
				break
			}
			d.Answers = append(d.Answers, text)
			d.TTLs = append(d.TTLs, time.Duration(rh.TTL)*time.Second)
		}
	}
	a.st.Records++
	a.h.DNS(&d)
}

// pcapDNSType names a query type like Zeek and Suricata do.
func pcapDNSType(t dnsmessage.Type) string {
	switch t {
	case 1:
		return "A"
	case 2:
		return "NS"
	case 5:
		return "CNAME"
	case 6:
		return "SOA"
	case 10:
		return "NULL"
	case 12:
		return "PTR"
	case 13:
		return "HINFO"
	case 15:
		return "MX"
	case 16:
		return "TXT"
	case 28:
		return "AAAA"
	case 33:
		return "SRV"
	case 35:
		return "NAPTR"
	case 41:
		return "OPT"
	case 43:
		return "DS"
	case 46:
		return "RRSIG"
	case 47:
		return "NSEC"
	case 48:
		return "DNSKEY"
	case 64:
		return "SVCB"
	case 65:
		return "HTTPS"
	case 252:
		return "AXFR"
	case 255:
		return "ANY"
	case 257:
		return "CAA"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

func pcapRCode(r dnsmessage.RCode) string {
	switch r {
	case 0:
		return "NOERROR"
	case 1:
		return "FORMERR"
	case 2:
		return "SERVFAIL"
	case 3:
		return "NXDOMAIN"
	case 4:
		return "NOTIMP"
	case 5:
		return "REFUSED"
	}
	return "RCODE" + strconv.Itoa(int(r))
}
