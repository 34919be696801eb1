// Package traffic owns Vigil's traffic risk analysis: it reads traffic
// metadata (Zeek logs, Suricata EVE JSON, NetFlow/IPFIX, pcap files) into
// one record model and analyses it for compromised hosts (beacons, long
// connections, DNS tunnelling, DGA-like domains), external and internal
// attacks, policy violations and per-host tracing.
//
// Readers turn input into calls on a Handler; analyses implement Handler.
// A reader never keeps more than one record in memory, so memory is bounded
// by the analyses' own aggregates.
package traffic

import (
	"net/netip"
	"time"
)

// Conn is one connection or flow: a Zeek conn.log line, a Suricata flow
// event, a NetFlow/IPFIX record or a flow assembled from a pcap.
type Conn struct {
	TS       time.Time // start of the connection
	UID      string    // source's connection id when it has one (Zeek uid, Suricata flow_id)
	Src      netip.Addr
	SrcPort  uint16
	Dst      netip.Addr
	DstPort  uint16
	Proto    string // "tcp", "udp", "icmp" or another lower-case IANA name
	Service  string // application protocol as the source names it ("dns", "ssl", "http"), "" if unknown
	Duration time.Duration
	// Bytes and packets by direction (originator = Src).
	OrigBytes, RespBytes int64
	OrigPkts, RespPkts   int64
	// State is the connection state in Zeek's conn_state vocabulary (S0,
	// S1, SF, REJ, RSTO, RSTR, SH, OTH...) when the source gives it or it can
	// be derived; "" otherwise.
	State string
	// Label and DetailedLabel carry ground truth when the input has it
	// (labelled Zeek logs); empty otherwise. Analyses must not read them.
	Label, DetailedLabel string
}

// DNS is one DNS query and its answer.
type DNS struct {
	TS      time.Time
	UID     string
	Src     netip.Addr
	SrcPort uint16
	Dst     netip.Addr
	DstPort uint16
	Proto   string
	Query   string   // query name without the trailing dot, as sent (case kept)
	QType   string   // "A", "AAAA", "TXT", "NULL", "CNAME", ... ("TYPE65" style for unknown numbers)
	RCode   string   // "NOERROR", "NXDOMAIN", ... ; "" when no answer was seen
	Answers []string // answer data as text
	TTLs    []time.Duration
}

// HTTP is one HTTP request and its response.
type HTTP struct {
	TS        time.Time
	UID       string
	Src       netip.Addr
	SrcPort   uint16
	Dst       netip.Addr
	DstPort   uint16
	Method    string
	Host      string
	URI       string
	UserAgent string
	Referrer  string
	Status    int
	ReqBytes  int64 // request body length
	RespBytes int64 // response body length
	RespMIME  string
}

// TLS is one TLS handshake.
type TLS struct {
	TS          time.Time
	UID         string
	Src         netip.Addr
	SrcPort     uint16
	Dst         netip.Addr
	DstPort     uint16
	Version     string // "TLSv12", "TLSv13", ...
	ServerName  string // SNI
	JA3         string // client fingerprint, lower-case hex MD5, "" if unknown
	JA4         string // JA4 client fingerprint, "" if unknown
	Subject     string // leaf certificate subject, "" if not seen
	Issuer      string
	NotBefore   time.Time
	NotAfter    time.Time
	Established bool
	SelfSigned  bool // leaf subject == issuer, when known
}

// Alert is one IDS alert (Suricata alert event, Zeek notice).
type Alert struct {
	TS          time.Time
	UID         string
	Src         netip.Addr
	SrcPort     uint16
	Dst         netip.Addr
	DstPort     uint16
	Proto       string
	Source      string // "suricata", "zeek"
	SignatureID int64
	Signature   string
	Category    string
	Severity    int    // 1 (highest) .. 4 as Suricata counts; Zeek notices use 2
	Action      string // "allowed", "blocked" when known
}

// File is one file seen in traffic (Zeek files.log, Suricata fileinfo).
type File struct {
	TS       time.Time
	UID      string
	Src      netip.Addr // sender
	Dst      netip.Addr // receiver
	Name     string
	MIME     string
	Size     int64
	MD5      string
	SHA1     string
	SHA256   string
	Protocol string // "http", "smtp", "smb", ...
}

// Handler receives records from a reader. Methods are called from one
// goroutine, in input order; the record is only valid during the call
// (a handler that keeps one copies it).
type Handler interface {
	Conn(c *Conn)
	DNS(d *DNS)
	HTTP(h *HTTP)
	TLS(t *TLS)
	Alert(a *Alert)
	File(f *File)
}

// Skip is an input line or packet a reader could not use. Readers count
// skips and keep the first few with their reason; they never stop on one.
type Skip struct {
	Source string // file name or "-"
	Line   int64  // 1-based line, or packet number for pcaps
	Reason string
}

// Stats describes what a reader consumed.
type Stats struct {
	Lines   int64 // lines or packets read
	Records int64 // records handed to the Handler
	Skipped int64
	Skips   []Skip // the first MaxSkips skips
}

// MaxSkips is how many skips Stats keeps with their reasons.
const MaxSkips = 100

// Skip records a skipped line.
func (s *Stats) Skip(source string, line int64, reason string) {
	s.Skipped++
	if len(s.Skips) < MaxSkips {
		s.Skips = append(s.Skips, Skip{Source: source, Line: line, Reason: reason})
	}
}

// Handlers fans records out to several handlers in order.
type Handlers []Handler

// Conn implements Handler.
func (hs Handlers) Conn(c *Conn) {
	for _, h := range hs {
		h.Conn(c)
	}
}

// DNS implements Handler.
func (hs Handlers) DNS(d *DNS) {
	for _, h := range hs {
		h.DNS(d)
	}
}

// HTTP implements Handler.
func (hs Handlers) HTTP(r *HTTP) {
	for _, h := range hs {
		h.HTTP(r)
	}
}

// TLS implements Handler.
func (hs Handlers) TLS(t *TLS) {
	for _, h := range hs {
		h.TLS(t)
	}
}

// Alert implements Handler.
func (hs Handlers) Alert(a *Alert) {
	for _, h := range hs {
		h.Alert(a)
	}
}

// File implements Handler.
func (hs Handlers) File(f *File) {
	for _, h := range hs {
		h.File(f)
	}
}

// Nop is a Handler that ignores everything; embed it to implement only
// the methods an analysis needs.
type Nop struct{}

// Conn implements Handler.
func (Nop) Conn(*Conn) {}

// DNS implements Handler.
func (Nop) DNS(*DNS) {}

// HTTP implements Handler.
func (Nop) HTTP(*HTTP) {}

// TLS implements Handler.
func (Nop) TLS(*TLS) {}

// Alert implements Handler.
func (Nop) Alert(*Alert) {}

// File implements Handler.
func (Nop) File(*File) {}

var _ Handler = Handlers(nil)
var _ Handler = Nop{}
