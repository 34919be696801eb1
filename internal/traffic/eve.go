package traffic

import (
	"bufio"
	"bytes"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxEVELine is the longest EVE line ReadEVE accepts; longer lines are
// skipped and counted.
const MaxEVELine = 1 << 20

// eveMaxPendingDNS bounds the DNS queries waiting for their answer.
const eveMaxPendingDNS = 8192

// eveDNSWaitLines is how many lines a DNS query waits for its answer
// before it is reported without one. The wait is counted in lines, not
// event time: Suricata's threads write EVE lines out of time order, by
// many minutes in real captures.
const eveDNSWaitLines = 100_000

// eveMaxAnswers bounds the answers kept for one DNS transaction.
const eveMaxAnswers = 64

// eveMaxField bounds every text field copied from an EVE record.
const eveMaxField = 4096

// ReadEVE reads Suricata EVE JSON lines from r and hands the records to h:
//
//   - flow → Conn (State derived as described at eveConnState)
//   - alert → Alert with Source "suricata"
//   - anomaly → Alert with Source "suricata-anomaly", Severity 3
//   - dns → DNS; both the layout before Suricata 8 (one event per query and
//     per answer, or version 2 answers in an "answers" array) and the
//     Suricata 8 layout ("queries" and "answers" arrays) are read. A query
//     is joined with its answer by flow_id, DNS id and question (falling
//     back to flow_id and DNS id for version 1 answer events); queries wait in a
//     bounded table and are reported without an answer when it fills up,
//     after 100000 more lines or at the end of the input, so DNS records
//     may come out of input order.
//   - tls → TLS, http → HTTP, fileinfo → File
//
// Other event types (stats, netflow, smb, ...) are counted in Lines and
// ignored. Lines that are not JSON objects, lack a known timestamp or are
// longer than MaxEVELine are skipped and counted; ReadEVE never stops on
// one. It returns early with ctx.Err() when ctx is cancelled and with a
// wrapped error when r fails.
func ReadEVE(ctx context.Context, r io.Reader, name string, h Handler) (Stats, error) {
	var er EVEReader
	return er.Read(ctx, r, name, h)
}

// EVEReader reads Suricata EVE JSON like ReadEVE and also counts the
// events it saw per event_type. The zero value is ready to use.
type EVEReader struct {
	// EventTypes counts lines per event_type after Read, including the
	// types that do not become records. Lines that were skipped are not
	// counted.
	EventTypes map[string]int64
}

// Read reads EVE JSON lines from r; see ReadEVE.
func (er *EVEReader) Read(ctx context.Context, r io.Reader, name string, h Handler) (Stats, error) {
	if er.EventTypes == nil {
		er.EventTypes = make(map[string]int64)
	}
	p := eveParser{
		name:    name,
		h:       h,
		pending: make(map[eveDNSKey][]*list.Element),
		order:   list.New(),
		types:   er.EventTypes,
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for {
		if p.st.Lines%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return p.st, err
			}
		}
		line, tooLong, err := eveReadLine(br, &buf)
		if len(line) > 0 || tooLong {
			p.st.Lines++
			switch {
			case tooLong:
				p.st.Skip(name, p.st.Lines, fmt.Sprintf("line longer than %d bytes", MaxEVELine))
			default:
				p.line(line)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			p.flushDNS(true)
			return p.st, fmt.Errorf("read %s line %d: %w", name, p.st.Lines+1, err)
		}
	}
	p.flushDNS(true)
	return p.st, nil
}

// eveReadLine reads one line into *buf without its line ending. A line
// longer than MaxEVELine is consumed and reported as tooLong.
func eveReadLine(br *bufio.Reader, buf *[]byte) (line []byte, tooLong bool, err error) {
	*buf = (*buf)[:0]
	for {
		frag, e := br.ReadSlice('\n')
		if !tooLong {
			if len(*buf)+len(frag) > MaxEVELine+2 {
				tooLong = true
				*buf = (*buf)[:0]
			} else {
				*buf = append(*buf, frag...)
			}
		}
		if e == bufio.ErrBufferFull {
			continue
		}
		if tooLong {
			return nil, true, e
		}
		return bytes.TrimRight(*buf, "\r\n"), false, e
	}
}

// eveDNSKey joins a DNS answer to its query: flow, DNS id and the
// question, since resolvers send A and AAAA queries with one id.
type eveDNSKey struct {
	flow  string
	id    int64
	name  string // lower case, no trailing dot
	qtype string
}

type evePendingDNS struct {
	key  eveDNSKey
	line int64 // input line of the query
	d    DNS
	// answered is set once an answer of the pre-version-2 layout (one
	// event per answer record) joined; more may follow.
	answered bool
}

type eveParser struct {
	name    string
	h       Handler
	st      Stats
	types   map[string]int64
	pending map[eveDNSKey][]*list.Element // waiting queries per key, oldest first
	order   *list.List                    // of *evePendingDNS, oldest first
}

// eveEvent holds the EVE keys the reader uses.
type eveEvent struct {
	Timestamp string          `json:"timestamp"`
	FlowID    json.RawMessage `json:"flow_id"`
	EventType string          `json:"event_type"`
	SrcIP     string          `json:"src_ip"`
	SrcPort   json.RawMessage `json:"src_port"`
	DestIP    string          `json:"dest_ip"`
	DestPort  json.RawMessage `json:"dest_port"`
	Proto     json.RawMessage `json:"proto"`
	AppProto  string          `json:"app_proto"`
	ICMPType  json.RawMessage `json:"icmp_type"`
	ICMPCode  json.RawMessage `json:"icmp_code"`

	Flow *struct {
		PktsToServer  int64  `json:"pkts_toserver"`
		PktsToClient  int64  `json:"pkts_toclient"`
		BytesToServer int64  `json:"bytes_toserver"`
		BytesToClient int64  `json:"bytes_toclient"`
		Start         string `json:"start"`
		End           string `json:"end"`
		State         string `json:"state"`
	} `json:"flow"`
	TCP *struct {
		FlagsTS string `json:"tcp_flags_ts"`
		FlagsTC string `json:"tcp_flags_tc"`
		State   string `json:"state"`
	} `json:"tcp"`
	Alert *struct {
		Action      string `json:"action"`
		SignatureID int64  `json:"signature_id"`
		Signature   string `json:"signature"`
		Category    string `json:"category"`
		Severity    int    `json:"severity"`
	} `json:"alert"`
	Anomaly *struct {
		Type    string `json:"type"`
		Event   string `json:"event"`
		Layer   string `json:"layer"`
		Code    int64  `json:"code"`
		AppProt string `json:"app_proto"`
	} `json:"anomaly"`
	DNS *eveDNS `json:"dns"`
	TLS *struct {
		Subject   string `json:"subject"`
		IssuerDN  string `json:"issuerdn"`
		SNI       string `json:"sni"`
		Version   string `json:"version"`
		NotBefore string `json:"notbefore"`
		NotAfter  string `json:"notafter"`
		Resumed   bool   `json:"session_resumed"`
		JA3       *struct {
			Hash string `json:"hash"`
		} `json:"ja3"`
		JA4 json.RawMessage `json:"ja4"`
	} `json:"tls"`
	HTTP *struct {
		Hostname    string          `json:"hostname"`
		URL         string          `json:"url"`
		UserAgent   string          `json:"http_user_agent"`
		Method      string          `json:"http_method"`
		Refer       string          `json:"http_refer"`
		ContentType string          `json:"http_content_type"`
		Status      json.RawMessage `json:"status"`
		Length      int64           `json:"length"`
	} `json:"http"`
	FileInfo *struct {
		Filename string `json:"filename"`
		Magic    string `json:"magic"`
		MIME     string `json:"mimetype"`
		Size     int64  `json:"size"`
		MD5      string `json:"md5"`
		SHA1     string `json:"sha1"`
		SHA256   string `json:"sha256"`
	} `json:"fileinfo"`
}

type eveDNSAnswer struct {
	RRName string          `json:"rrname"`
	RRType string          `json:"rrtype"`
	TTL    int64           `json:"ttl"`
	RData  json.RawMessage `json:"rdata"`
}

type eveDNS struct {
	Version int    `json:"version"`
	Type    string `json:"type"`
	ID      int64  `json:"id"`
	RRName  string `json:"rrname"`
	RRType  string `json:"rrtype"`
	RCode   string `json:"rcode"`
	TTL     int64  `json:"ttl"`
	// RData is set in the pre-version-2 layout, one event per answer.
	RData   json.RawMessage `json:"rdata"`
	Queries []struct {
		RRName string `json:"rrname"`
		RRType string `json:"rrtype"`
	} `json:"queries"`
	Answers []eveDNSAnswer `json:"answers"`
	// Grouped is the version 2 "grouped" answer form: rrtype → rdata list.
	Grouped map[string][]json.RawMessage `json:"grouped"`
}

func (p *eveParser) skip(reason string) {
	p.st.Skip(p.name, p.st.Lines, reason)
}

func (p *eveParser) line(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		p.st.Lines-- // blank lines are not counted
		return
	}
	var ev eveEvent
	if err := json.Unmarshal(line, &ev); err != nil {
		p.skip("invalid JSON: " + eveClip(err.Error(), 200))
		return
	}
	if ev.EventType == "" {
		p.skip("no event_type")
		return
	}
	ts, err := eveTime(ev.Timestamp)
	if err != nil {
		p.skip("bad timestamp: " + eveClip(ev.Timestamp, 64))
		return
	}
	p.types[eveClip(ev.EventType, 64)]++

	src, _ := netip.ParseAddr(ev.SrcIP)
	dst, _ := netip.ParseAddr(ev.DestIP)
	sport, dport := evePort(ev.SrcPort), evePort(ev.DestPort)
	uid := eveFlowID(ev.FlowID)
	proto := eveProto(ev.Proto)
	if (proto == "icmp" || proto == "ipv6-icmp") && sport == 0 && dport == 0 {
		// Like Zeek: the ICMP type and code stand in for the ports.
		sport, dport = evePort(ev.ICMPType), evePort(ev.ICMPCode)
	}

	switch ev.EventType {
	case "flow":
		if ev.Flow == nil {
			p.skip("flow event without flow object")
			return
		}
		c := Conn{
			TS: ts, UID: uid, Src: src, SrcPort: sport, Dst: dst, DstPort: dport,
			Proto:     proto,
			Service:   eveService(ev.AppProto),
			OrigBytes: ev.Flow.BytesToServer, RespBytes: ev.Flow.BytesToClient,
			OrigPkts: ev.Flow.PktsToServer, RespPkts: ev.Flow.PktsToClient,
		}
		if start, err := eveTime(ev.Flow.Start); err == nil {
			c.TS = start
			if end, err := eveTime(ev.Flow.End); err == nil && !end.Before(start) {
				c.Duration = end.Sub(start)
			}
		}
		var fts, ftc, tcpState string
		if ev.TCP != nil {
			fts, ftc, tcpState = ev.TCP.FlagsTS, ev.TCP.FlagsTC, ev.TCP.State
		}
		c.State = eveConnState(proto, fts, ftc, tcpState, c.OrigPkts, c.RespPkts)
		p.st.Records++
		p.h.Conn(&c)
	case "alert":
		if ev.Alert == nil {
			p.skip("alert event without alert object")
			return
		}
		a := Alert{
			TS: ts, UID: uid, Src: src, SrcPort: sport, Dst: dst, DstPort: dport, Proto: proto,
			Source:      "suricata",
			SignatureID: ev.Alert.SignatureID,
			Signature:   eveClip(ev.Alert.Signature, eveMaxField),
			Category:    eveClip(ev.Alert.Category, eveMaxField),
			Severity:    ev.Alert.Severity,
			Action:      eveClip(ev.Alert.Action, 32),
		}
		p.st.Records++
		p.h.Alert(&a)
	case "anomaly":
		if ev.Anomaly == nil {
			p.skip("anomaly event without anomaly object")
			return
		}
		cat := ev.Anomaly.Type
		if ev.Anomaly.Layer != "" {
			cat += "/" + ev.Anomaly.Layer
		}
		a := Alert{
			TS: ts, UID: uid, Src: src, SrcPort: sport, Dst: dst, DstPort: dport, Proto: proto,
			Source:    "suricata-anomaly",
			Signature: eveClip(ev.Anomaly.Event, eveMaxField),
			Category:  eveClip(cat, eveMaxField),
			Severity:  3,
		}
		p.st.Records++
		p.h.Alert(&a)
	case "dns":
		if ev.DNS == nil {
			p.skip("dns event without dns object")
			return
		}
		p.flushDNS(false)
		base := DNS{TS: ts, UID: uid, Src: src, SrcPort: sport, Dst: dst, DstPort: dport, Proto: proto}
		p.dns(&base, ev.DNS)
	case "tls":
		if ev.TLS == nil {
			p.skip("tls event without tls object")
			return
		}
		t := TLS{
			TS: ts, UID: uid, Src: src, SrcPort: sport, Dst: dst, DstPort: dport,
			Version:    eveTLSVersion(ev.TLS.Version),
			ServerName: eveClip(ev.TLS.SNI, eveMaxField),
			Subject:    eveClip(ev.TLS.Subject, eveMaxField),
			Issuer:     eveClip(ev.TLS.IssuerDN, eveMaxField),
			// Suricata logs a tls event once the handshake got far enough
			// to show a certificate or a resumed session.
			Established: ev.TLS.Subject != "" || ev.TLS.Resumed,
			SelfSigned:  ev.TLS.Subject != "" && ev.TLS.Subject == ev.TLS.IssuerDN,
		}
		if ev.TLS.JA3 != nil {
			t.JA3 = strings.ToLower(eveClip(ev.TLS.JA3.Hash, 64))
		}
		t.JA4 = eveJA4(ev.TLS.JA4)
		t.NotBefore, _ = eveTime(ev.TLS.NotBefore)
		t.NotAfter, _ = eveTime(ev.TLS.NotAfter)
		p.st.Records++
		p.h.TLS(&t)
	case "http":
		if ev.HTTP == nil {
			p.skip("http event without http object")
			return
		}
		r := HTTP{
			TS: ts, UID: uid, Src: src, SrcPort: sport, Dst: dst, DstPort: dport,
			Method:    eveClip(ev.HTTP.Method, 64),
			Host:      eveClip(ev.HTTP.Hostname, eveMaxField),
			URI:       eveClip(ev.HTTP.URL, eveMaxField),
			UserAgent: eveClip(ev.HTTP.UserAgent, eveMaxField),
			Referrer:  eveClip(ev.HTTP.Refer, eveMaxField),
			Status:    eveStatus(ev.HTTP.Status),
			RespBytes: ev.HTTP.Length,
			RespMIME:  eveClip(ev.HTTP.ContentType, 256),
		}
		p.st.Records++
		p.h.HTTP(&r)
	case "fileinfo":
		if ev.FileInfo == nil {
			p.skip("fileinfo event without fileinfo object")
			return
		}
		fi := ev.FileInfo
		mime := fi.MIME
		if mime == "" {
			mime = fi.Magic
		}
		f := File{
			TS: ts, UID: uid, Src: src, Dst: dst,
			Name:     eveClip(fi.Filename, eveMaxField),
			MIME:     eveClip(mime, 256),
			Size:     fi.Size,
			MD5:      eveClip(fi.MD5, 64),
			SHA1:     eveClip(fi.SHA1, 64),
			SHA256:   eveClip(fi.SHA256, 128),
			Protocol: eveClip(ev.AppProto, 32),
		}
		p.st.Records++
		p.h.File(&f)
	}
}

// question returns the query name and type a dns event carries: the
// first of "queries" (Suricata 8) or rrname/rrtype (earlier versions;
// in a version 1 answer event these describe the answer record).
func (ev *eveDNS) question() (name, qtype string) {
	name, qtype = ev.RRName, ev.RRType
	if len(ev.Queries) > 0 {
		name, qtype = ev.Queries[0].RRName, ev.Queries[0].RRType
	}
	return strings.TrimSuffix(eveClip(name, 255), "."), eveClip(qtype, 32)
}

// findPending returns the waiting query for an answer: the oldest with
// the same question, else the oldest with the same flow and id.
func (p *eveParser) findPending(key eveDNSKey) *list.Element {
	if els := p.pending[key]; len(els) > 0 {
		return els[0]
	}
	for el := p.order.Front(); el != nil; el = el.Next() {
		k := el.Value.(*evePendingDNS).key
		if k.flow == key.flow && k.id == key.id {
			return el
		}
	}
	return nil
}

// eveMaxSameKey bounds the queries waiting under one key (retransmitted
// or duplicated queries).
const eveMaxSameKey = 4

func (p *eveParser) addPending(pd *evePendingDNS) {
	if els := p.pending[pd.key]; len(els) >= eveMaxSameKey {
		p.emitPending(els[0])
	}
	if p.order.Len() >= eveMaxPendingDNS {
		p.emitPending(p.order.Front())
	}
	p.pending[pd.key] = append(p.pending[pd.key], p.order.PushBack(pd))
}

// removePending forgets a waiting query.
func (p *eveParser) removePending(el *list.Element) {
	pd := el.Value.(*evePendingDNS)
	p.order.Remove(el)
	els := slices.DeleteFunc(p.pending[pd.key], func(e *list.Element) bool { return e == el })
	if len(els) == 0 {
		delete(p.pending, pd.key)
	} else {
		p.pending[pd.key] = els
	}
}

// dns handles one dns event in any of the layouts.
func (p *eveParser) dns(base *DNS, ev *eveDNS) {
	name, qtype := ev.question()
	key := eveDNSKey{flow: base.UID, id: ev.ID, name: strings.ToLower(name), qtype: qtype}
	switch ev.Type {
	case "query", "request":
		d := *base
		d.Query, d.QType = name, qtype
		p.addPending(&evePendingDNS{key: key, d: d, line: p.st.Lines})
	case "answer", "response":
		var pd *evePendingDNS
		el := p.findPending(key)
		if el != nil {
			pd = el.Value.(*evePendingDNS)
		}
		oneRecord := len(ev.RData) > 0 && len(ev.Answers) == 0 && ev.Version < 2
		if pd == nil {
			// An answer without its query (the query may predate the
			// capture): the answer carries the question. It travels
			// server → client; the record is oriented like the query.
			d := *base
			d.Src, d.SrcPort, d.Dst, d.DstPort = base.Dst, base.DstPort, base.Src, base.SrcPort
			d.Query, d.QType = name, qtype
			pd = &evePendingDNS{key: key, d: d, line: p.st.Lines}
			if oneRecord {
				p.addPending(pd)
			}
		}
		d := &pd.d
		d.RCode = eveClip(ev.RCode, 32)
		if d.RCode == "" {
			d.RCode = "NOERROR"
		}
		if oneRecord {
			eveAddAnswer(d, ev.RData, ev.TTL)
			pd.answered = true
			return // more answer events may follow; emitted later
		}
		for _, a := range ev.Answers {
			eveAddAnswer(d, a.RData, a.TTL)
		}
		if len(ev.Answers) == 0 {
			for _, typ := range slices.Sorted(maps.Keys(ev.Grouped)) {
				for _, rd := range ev.Grouped[typ] {
					eveAddAnswer(d, rd, 0)
				}
			}
		}
		if el != nil {
			p.removePending(el)
		}
		p.st.Records++
		p.h.DNS(d)
	default:
		p.skip("unknown dns type " + strconv.Quote(eveClip(ev.Type, 32)))
	}
}

// eveAddAnswer appends one answer's data, bounded.
func eveAddAnswer(d *DNS, rdata json.RawMessage, ttl int64) {
	if len(d.Answers) >= eveMaxAnswers || len(rdata) == 0 {
		return
	}
	var s string
	if err := json.Unmarshal(rdata, &s); err != nil {
		// Some record types carry objects (SOA, SRV); keep their JSON.
		s = string(rdata)
	}
	d.Answers = append(d.Answers, eveClip(s, 1024))
	d.TTLs = append(d.TTLs, time.Duration(ttl)*time.Second)
}

func (p *eveParser) emitPending(el *list.Element) {
	p.removePending(el)
	p.st.Records++
	p.h.DNS(&el.Value.(*evePendingDNS).d)
}

// flushDNS reports the queries waiting longer than eveDNSWaitLines, or
// all of them when all is set.
func (p *eveParser) flushDNS(all bool) {
	for el := p.order.Front(); el != nil; el = p.order.Front() {
		if !all && p.st.Lines-el.Value.(*evePendingDNS).line <= eveDNSWaitLines {
			return
		}
		p.emitPending(el)
	}
}

// eveConnState derives a Zeek conn_state from a Suricata flow event.
//
// For TCP it reads the cumulative flags per direction (tcp_flags_ts from
// the originator, tcp_flags_tc from the responder):
//
//	S0     SYN from the originator, nothing from the responder
//	REJ    SYN answered by RST without SYN-ACK
//	RSTOS0 SYN then RST from the originator, no reply
//	SH     SYN then FIN from the originator, no reply
//	RSTO   handshake seen, originator reset
//	RSTR   handshake seen, responder reset
//	SF     handshake seen, both sides sent FIN
//	S2, S3 handshake seen, only the originator (S2) or responder (S3) sent FIN
//	S1     handshake seen, not closed
//	SHR    no SYN from the originator, responder sent SYN-ACK
//	OTH    no SYN seen (midstream)
//
// Without TCP flags (flow logging without the tcp section) and for other
// protocols, S0 means only the originator sent packets, SF both sides, OTH
// only the responder. The result is an approximation: Suricata keeps the
// union of flags per direction, not their order.
func eveConnState(proto, fts, ftc, tcpState string, origPkts, respPkts int64) string {
	if proto == "tcp" && (fts != "" || ftc != "") {
		ts, _ := strconv.ParseUint(fts, 16, 8)
		tc, _ := strconv.ParseUint(ftc, 16, 8)
		return flowTCPState(uint8(ts), uint8(tc), respPkts > 0)
	}
	switch {
	case origPkts > 0 && respPkts > 0:
		return "SF"
	case origPkts > 0:
		return "S0"
	case respPkts > 0:
		return "OTH"
	}
	return ""
}

// TCP flag bits.
const (
	flowFIN = 0x01
	flowSYN = 0x02
	flowRST = 0x04
	flowACK = 0x10
)

// flowTCPState maps the union of TCP flags sent by the originator (ts)
// and by the responder (tc) to a Zeek conn_state; see eveConnState.
func flowTCPState(ts, tc uint8, respSent bool) string {
	origSYN := ts&flowSYN != 0
	respSYN := tc&flowSYN != 0
	switch {
	case origSYN && !respSYN:
		switch {
		case tc&flowRST != 0:
			return "REJ"
		case respSent:
			return "OTH"
		case ts&flowRST != 0:
			return "RSTOS0"
		case ts&flowFIN != 0:
			return "SH"
		}
		return "S0"
	case origSYN && respSYN:
		switch {
		case ts&flowRST != 0:
			return "RSTO"
		case tc&flowRST != 0:
			return "RSTR"
		case ts&flowFIN != 0 && tc&flowFIN != 0:
			return "SF"
		case ts&flowFIN != 0:
			return "S2"
		case tc&flowFIN != 0:
			return "S3"
		}
		return "S1"
	case respSYN && tc&flowACK != 0:
		return "SHR"
	}
	return "OTH"
}

// eveTime parses the timestamps Suricata writes: RFC 3339 with a
// numeric zone with or without colon, and certificate dates without zone
// (UTC).
func eveTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty time")
	}
	for _, layout := range []string{
		"2006-01-02T15:04:05.999999999-0700",
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unknown time format %q", eveClip(s, 64))
}

func evePort(raw json.RawMessage) uint16 {
	n, err := strconv.ParseUint(string(raw), 10, 16)
	if err != nil {
		return 0
	}
	return uint16(n)
}

// eveFlowID returns flow_id as decimal text (it does not fit a float64).
func eveFlowID(raw json.RawMessage) string {
	s := string(raw)
	if _, err := strconv.ParseUint(s, 10, 64); err == nil {
		return s
	}
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return s
	}
	return ""
}

// eveProto returns the lower-case protocol name; Suricata writes a name
// ("TCP") or, for protocols it cannot name, the number.
func eveProto(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return strings.ToLower(eveClip(s, 32))
	}
	if n, err := strconv.ParseUint(string(raw), 10, 8); err == nil {
		return flowProtoName(uint8(n))
	}
	return ""
}

// flowProtoName names an IP protocol number.
func flowProtoName(n uint8) string {
	switch n {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 58:
		return "ipv6-icmp"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case 132:
		return "sctp"
	}
	return strconv.Itoa(int(n))
}

// eveService maps app_proto; "failed" (detection failed) becomes "".
func eveService(s string) string {
	switch s {
	case "failed", "unknown":
		return ""
	}
	return eveClip(s, 32)
}

// eveTLSVersion maps Suricata's "TLS 1.2" to Zeek's "TLSv12"; "SSLv3"
// stays; "UNDETERMINED" becomes "".
func eveTLSVersion(s string) string {
	switch {
	case strings.HasPrefix(s, "TLS "):
		return "TLSv" + strings.ReplaceAll(s[4:], ".", "")
	case s == "UNDETERMINED":
		return ""
	}
	return eveClip(s, 16)
}

// eveJA4 reads tls.ja4, a string in Suricata 7 and 8 (an object with a
// "hash" key is accepted too).
func eveJA4(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return eveClip(s, 64)
	}
	var o struct {
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(raw, &o); err == nil {
		return eveClip(o.Hash, 64)
	}
	return ""
}

func eveStatus(raw json.RawMessage) int {
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 999 {
		return 0
	}
	return n
}

// eveClip bounds s to n bytes.
func eveClip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
