package traffic

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Limits of the Zeek reader. A line longer than MaxZeekLine or with more
// than MaxZeekFields fields is skipped and counted.
const (
	MaxZeekLine   = 1 << 20
	MaxZeekFields = 512
	// maxZeekValue bounds one field kept in a record (a URI, a query...).
	maxZeekValue = 4096
	// maxZeekList bounds the elements of a set/vector field kept.
	maxZeekList = 64
	// maxCerts bounds the x509 certificates kept by ReadZeekDir to attach
	// subjects to TLS records.
	maxCerts = 200_000
)

// zeekKinds are the logs the reader understands, in the order ReadZeekDir
// reads them: certificates before TLS (to attach subjects), and the
// application logs before conn.log so that analyses can learn a
// connection's host name from its uid before they see the connection.
var zeekKinds = []string{"x509", "ssl", "http", "dns", "files", "notice", "conn"}

// field ids: the Zeek columns the reader uses.
type zfield int

const (
	fTS zfield = iota
	fUID
	fOrigH
	fOrigP
	fRespH
	fRespP
	fProto
	fService
	fDuration
	fOrigBytes
	fRespBytes
	fConnState
	fOrigPkts
	fRespPkts
	fLabel
	fDetailedLabel
	fQuery
	fQType
	fRCode
	fAnswers
	fTTLs
	fMethod
	fHost
	fURI
	fUserAgent
	fReferrer
	fStatus
	fReqLen
	fRespLen
	fRespMIME
	fVersion
	fServerName
	fJA3
	fJA4
	fSubject
	fIssuer
	fEstablished
	fCertFUIDs
	fCertFPs
	fID
	fFingerprint
	fCertSubject
	fCertIssuer
	fNotBefore
	fNotAfter
	fFUID
	fTxHosts
	fRxHosts
	fSource
	fFilename
	fMIME
	fTotalBytes
	fSeenBytes
	fMD5
	fSHA1
	fSHA256
	fNote
	fMsg
	fSrc
	fDst
	fP
	fActions
	nzfields
)

var zeekFieldIDs = map[string]zfield{
	"ts": fTS, "uid": fUID, "id.orig_h": fOrigH, "id.orig_p": fOrigP,
	"id.resp_h": fRespH, "id.resp_p": fRespP, "proto": fProto, "service": fService,
	"duration": fDuration, "orig_bytes": fOrigBytes, "resp_bytes": fRespBytes,
	"conn_state": fConnState, "orig_pkts": fOrigPkts, "resp_pkts": fRespPkts,
	"label": fLabel, "detailedlabel": fDetailedLabel,
	"query": fQuery, "qtype_name": fQType, "rcode_name": fRCode, "answers": fAnswers, "TTLs": fTTLs,
	"method": fMethod, "host": fHost, "uri": fURI, "user_agent": fUserAgent, "referrer": fReferrer,
	"status_code": fStatus, "request_body_len": fReqLen, "response_body_len": fRespLen,
	"resp_mime_types": fRespMIME,
	"version":         fVersion, "server_name": fServerName, "ja3": fJA3, "ja4": fJA4,
	"subject": fSubject, "issuer": fIssuer, "established": fEstablished,
	"cert_chain_fuids": fCertFUIDs, "cert_chain_fps": fCertFPs,
	"id": fID, "fingerprint": fFingerprint, "certificate.subject": fCertSubject,
	"certificate.issuer": fCertIssuer, "certificate.not_valid_before": fNotBefore,
	"certificate.not_valid_after": fNotAfter,
	"fuid":                        fFUID, "tx_hosts": fTxHosts, "rx_hosts": fRxHosts, "source": fSource,
	"filename": fFilename, "mime_type": fMIME, "total_bytes": fTotalBytes, "seen_bytes": fSeenBytes,
	"md5": fMD5, "sha1": fSHA1, "sha256": fSHA256,
	"note": fNote, "msg": fMsg, "src": fSrc, "dst": fDst, "p": fP, "actions": fActions,
}

// zrow is one log line as the values of the known fields. A TSV value is
// a slice of the line being read (or of an unescaped copy), so a field the
// record does not keep as a string costs no allocation; get copies.
type zrow struct {
	v   [nzfields][]byte
	has [nzfields]bool
	// list fields (sets and vectors) as separate elements
	lists map[zfield][]string
}

func (r *zrow) reset() {
	r.has = [nzfields]bool{}
	for k := range r.lists {
		delete(r.lists, k)
	}
}

// get returns a field as a new string, "" when absent.
func (r *zrow) get(f zfield) string {
	if !r.has[f] {
		return ""
	}
	return string(r.v[f])
}

// raw returns a field's bytes, valid until the next line; nil when absent.
func (r *zrow) raw(f zfield) []byte {
	if !r.has[f] {
		return nil
	}
	return r.v[f]
}

// maxInterned bounds the distinct strings a reader shares; past it,
// values are copied per record.
const maxInterned = 4096

// intern returns a field as a string shared by every record with the same
// value: protocol, service, connection state, labels, query types and
// other low-cardinality fields.
func (zr *zeekReader) intern(f zfield) string {
	b := zr.row.raw(f)
	if len(b) == 0 {
		return ""
	}
	if s, ok := zr.interned[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(s) <= 64 && len(zr.interned) < maxInterned {
		if zr.interned == nil {
			zr.interned = map[string]string{}
		}
		zr.interned[s] = s
	}
	return s
}

// internLower is intern of the lower-cased value.
func (zr *zeekReader) internLower(f zfield) string {
	b := zr.row.raw(f)
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			return strings.ToLower(zr.intern(f))
		}
	}
	return zr.intern(f)
}

func (r *zrow) list(f zfield) []string {
	return r.lists[f]
}

// cert is what ReadZeekDir keeps of an x509 record.
type cert struct {
	subject, issuer     string
	notBefore, notAfter time.Time
}

// zeekReader reads one log.
type zeekReader struct {
	ctx   context.Context
	name  string
	h     Handler
	st    Stats
	certs map[string]cert // fuid or fingerprint -> cert; nil when not collecting
	// keepCerts is set while reading x509.log in ReadZeekDir.
	keepCerts bool
	row       zrow
	interned  map[string]string
	conn      Conn

	// unescaped holds the \x-decoded copies of the current line's fields.
	unescaped []byte

	// TSV header state
	kind   string
	sep    []byte
	setSep string
	empty  []byte
	unset  []byte
	cols   []zfield // column index -> field id (-1 unknown)
	isList []bool   // column index -> set/vector type
}

// ReadZeek reads one Zeek log (TSV with its # header, or JSON lines) and
// hands its records to h. name is used in skips and, when the log has no
// #path header and its JSON keys are ambiguous, to tell the log's kind
// ("conn.log", "dns.04:00:00-05:00:00.log"...). A gzip stream is
// decompressed. Lines that cannot be used are skipped and counted; the
// error is non-nil only when reading fails or ctx is cancelled.
func ReadZeek(ctx context.Context, r io.Reader, name string, h Handler) (Stats, error) {
	zr := &zeekReader{ctx: ctx, name: name, h: h}
	err := zr.read(r)
	return zr.st, err
}

// ReadZeekDir reads the known logs of a Zeek log directory (conn, dns,
// http, ssl, x509, files, notice; plain, rotated or gzip-compressed;
// Slips' ".labeled" logs too). x509 logs are read first so that TLS
// records get their leaf certificate's subject and issuer (at most
// 200,000 certificates are kept), then ssl, http, dns, files, notice and
// conn logs. Unknown logs are ignored.
func ReadZeekDir(ctx context.Context, dir string, h Handler) (Stats, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Stats{}, fmt.Errorf("zeek dir: %w", err)
	}
	byKind := map[string][]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if k := kindFromName(e.Name()); k != "" {
			byKind[k] = append(byKind[k], e.Name())
		}
	}
	var total Stats
	certs := map[string]cert{}
	for _, k := range zeekKinds {
		names := byKind[k]
		sort.Strings(names)
		for _, n := range names {
			zr := &zeekReader{ctx: ctx, name: n, h: h, certs: certs, keepCerts: k == "x509"}
			err := zr.readFile(filepath.Join(dir, n))
			total.Lines += zr.st.Lines
			total.Records += zr.st.Records
			total.Skipped += zr.st.Skipped
			for _, s := range zr.st.Skips {
				if len(total.Skips) < MaxSkips {
					total.Skips = append(total.Skips, s)
				}
			}
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// kindFromName tells a log's kind from its file name: the part before the
// first dot must be a known kind and the name must contain ".log".
func kindFromName(name string) string {
	base := filepath.Base(name)
	k, _, ok := strings.Cut(base, ".")
	if !ok || !strings.Contains(base, ".log") {
		return ""
	}
	for _, z := range zeekKinds {
		if k == z {
			return k
		}
	}
	return ""
}

func (zr *zeekReader) readFile(path string) error {
	f, err := os.Open(path) // #nosec G304 -- the caller names the log directory to read
	if err != nil {
		return fmt.Errorf("zeek: %w", err)
	}
	defer func() { _ = f.Close() }()
	return zr.read(f)
}

func (zr *zeekReader) read(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	compressed := false
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			zr.st.Skip(zr.name, 0, "corrupt gzip stream: "+shortErr(err))
			return nil
		}
		compressed = true
		defer func() { _ = gz.Close() }()
		br = bufio.NewReaderSize(gz, 64<<10)
	}
	zr.resetHeader()
	zr.kind = kindFromName(zr.name)
	var line []byte
	var long bool
	for {
		if zr.st.Lines&1023 == 0 {
			if err := zr.ctx.Err(); err != nil {
				return err
			}
		}
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if !long {
				if len(line)+len(chunk) > MaxZeekLine {
					long = true
					line = line[:0]
				} else {
					line = append(line, chunk...)
				}
			}
			continue
		}
		if len(chunk) > 0 || len(line) > 0 {
			zr.st.Lines++
			if long || len(line)+len(chunk) > MaxZeekLine {
				zr.st.Skip(zr.name, zr.st.Lines, fmt.Sprintf("line longer than %d bytes", MaxZeekLine))
			} else if len(line) > 0 {
				line = append(line, chunk...)
				zr.line(line)
			} else {
				zr.line(chunk)
			}
			line = line[:0]
			long = false
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if compressed && !errors.Is(err, zr.ctx.Err()) {
				// A truncated or corrupt archive ends the log, not the run.
				zr.st.Skip(zr.name, zr.st.Lines+1, "truncated or corrupt gzip stream: "+shortErr(err))
				return nil
			}
			return fmt.Errorf("zeek %s: line %d: %w", zr.name, zr.st.Lines+1, err)
		}
	}
}

func (zr *zeekReader) resetHeader() {
	zr.sep = []byte{'\t'}
	zr.setSep = ","
	zr.empty = []byte("(empty)")
	zr.unset = []byte("-")
	zr.cols = nil
	zr.isList = nil
}

func (zr *zeekReader) skip(reason string) {
	zr.st.Skip(zr.name, zr.st.Lines, reason)
}

func (zr *zeekReader) line(b []byte) {
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return
	}
	switch b[0] {
	case '#':
		zr.header(b)
		return
	case '{':
		zr.jsonLine(b)
		return
	}
	if zr.cols == nil {
		zr.skip("data line before a #fields header")
		return
	}
	zr.tsvLine(b)
}

// header handles one "#..." line of a TSV log.
func (zr *zeekReader) header(b []byte) {
	s := string(b)
	if v, ok := strings.CutPrefix(s, "#separator "); ok {
		// A new header block starts.
		zr.resetHeader()
		sep := unescapeZeek(v)
		if sep == "" {
			zr.skip("empty #separator")
			return
		}
		zr.sep = []byte(sep)
		return
	}
	key, rest, _ := bytes.Cut(b[1:], zr.sep)
	vals := strings.Split(string(rest), string(zr.sep))
	switch string(key) {
	case "set_separator":
		zr.setSep = unescapeZeek(string(rest))
	case "empty_field":
		zr.empty = []byte(unescapeZeek(string(rest)))
	case "unset_field":
		zr.unset = []byte(unescapeZeek(string(rest)))
	case "path":
		if k := string(rest); k != "" {
			zr.kind = k
		}
	case "fields":
		if len(vals) > MaxZeekFields {
			zr.skip(fmt.Sprintf("#fields has %d fields, more than %d", len(vals), MaxZeekFields))
			zr.cols = nil
			return
		}
		zr.cols = make([]zfield, len(vals))
		zr.isList = make([]bool, len(vals))
		for i, n := range vals {
			id, ok := zeekFieldIDs[n]
			if !ok {
				id = -1
			}
			zr.cols[i] = id
		}
	case "types":
		if zr.cols == nil || len(vals) != len(zr.cols) {
			return
		}
		for i, t := range vals {
			zr.isList[i] = strings.HasPrefix(t, "set[") || strings.HasPrefix(t, "vector[")
		}
	}
}

func (zr *zeekReader) tsvLine(b []byte) {
	n := bytes.Count(b, zr.sep) + 1
	if n > MaxZeekFields {
		zr.skip(fmt.Sprintf("more than %d fields", MaxZeekFields))
		return
	}
	if n != len(zr.cols) {
		zr.skip(fmt.Sprintf("%d fields, the #fields header has %d", n, len(zr.cols)))
		return
	}
	row := &zr.row
	row.reset()
	zr.unescaped = zr.unescaped[:0]
	for i := 0; i < n; i++ {
		var f []byte
		if j := bytes.Index(b, zr.sep); j >= 0 {
			f, b = b[:j], b[j+len(zr.sep):]
		} else {
			f, b = b, nil
		}
		id := zr.cols[i]
		if id < 0 {
			continue
		}
		if bytes.Equal(f, zr.unset) {
			continue
		}
		if zr.isList[i] {
			if bytes.Equal(f, zr.empty) {
				continue
			}
			zr.setList(id, strings.Split(string(f), zr.setSep))
			continue
		}
		if bytes.Equal(f, zr.empty) {
			f = f[:0]
		}
		if bytes.Contains(f, []byte(`\x`)) {
			f = zr.unescapeField(f)
		}
		row.v[id] = clipBytes(f)
		row.has[id] = true
	}
	zr.emit(zr.kind)
}

func (zr *zeekReader) setList(id zfield, elems []string) {
	row := &zr.row
	if len(elems) > maxZeekList {
		elems = elems[:maxZeekList]
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		if strings.Contains(e, `\x`) {
			e = unescapeZeek(e)
		}
		out = append(out, clip(e))
	}
	if row.lists == nil {
		row.lists = map[zfield][]string{}
	}
	row.lists[id] = out
	row.has[id] = true
	row.v[id] = nil
	if len(out) > 0 {
		row.v[id] = []byte(out[0])
	}
}

func clip(s string) string {
	if len(s) > maxZeekValue {
		return s[:maxZeekValue]
	}
	return s
}

func clipBytes(b []byte) []byte {
	if len(b) > maxZeekValue {
		return b[:maxZeekValue]
	}
	return b
}

// unescapeField decodes a field's \xHH escapes into the line's scratch
// buffer. The returned slice is capped so that later appends to the
// buffer cannot overwrite it.
func (zr *zeekReader) unescapeField(f []byte) []byte {
	start := len(zr.unescaped)
	for i := 0; i < len(f); i++ {
		if f[i] == '\\' && i+3 < len(f) && f[i+1] == 'x' {
			if v, ok := unhex2(f[i+2], f[i+3]); ok {
				zr.unescaped = append(zr.unescaped, v)
				i += 3
				continue
			}
		}
		zr.unescaped = append(zr.unescaped, f[i])
	}
	return zr.unescaped[start:len(zr.unescaped):len(zr.unescaped)]
}

func unhex2(a, b byte) (byte, bool) {
	x, ok1 := unhex(a)
	y, ok2 := unhex(b)
	return x<<4 | y, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unescapeZeek decodes Zeek's \xHH escapes; anything else is kept.
func unescapeZeek(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (zr *zeekReader) jsonLine(b []byte) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		zr.skip("invalid JSON: " + shortErr(err))
		return
	}
	if len(m) > MaxZeekFields {
		zr.skip(fmt.Sprintf("more than %d fields", MaxZeekFields))
		return
	}
	row := &zr.row
	row.reset()
	for k, raw := range m {
		id, ok := zeekFieldIDs[k]
		if !ok || len(raw) == 0 {
			continue
		}
		switch raw[0] {
		case 'n': // null
			continue
		case '[':
			var elems []json.RawMessage
			if err := json.Unmarshal(raw, &elems); err != nil {
				zr.skip(fmt.Sprintf("field %s: %s", k, shortErr(err)))
				return
			}
			vals := make([]string, 0, len(elems))
			for _, e := range elems {
				vals = append(vals, jsonScalar(e))
			}
			zr.setList(id, vals)
		default:
			row.v[id] = []byte(clip(jsonScalar(raw)))
			row.has[id] = true
		}
	}
	kind := zr.kind
	if kind == "" {
		kind = kindFromKeys(row)
	}
	if kind == "" {
		zr.skip("cannot tell the log kind from the JSON keys")
		return
	}
	zr.emit(kind)
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// jsonScalar renders a JSON scalar as the text Zeek's TSV would have.
func jsonScalar(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	case 't':
		return "T"
	case 'f':
		return "F"
	}
	return string(raw)
}

// kindFromKeys guesses a JSON log's kind from the fields it has.
func kindFromKeys(r *zrow) string {
	switch {
	case r.has[fConnState] || (r.has[fOrigBytes] && r.has[fProto]):
		return "conn"
	case r.has[fQuery] || r.has[fQType]:
		return "dns"
	case r.has[fMethod] || r.has[fURI] || r.has[fStatus]:
		return "http"
	case r.has[fServerName] || r.has[fEstablished] || r.has[fCertFUIDs] || r.has[fJA3]:
		return "ssl"
	case r.has[fCertSubject] || r.has[fFingerprint]:
		return "x509"
	case r.has[fNote]:
		return "notice"
	case r.has[fFUID] || r.has[fMIME] || r.has[fSeenBytes]:
		return "files"
	}
	return ""
}

// emit converts the current row to a record of the log's kind.
func (zr *zeekReader) emit(kind string) {
	r := &zr.row
	ts, err := parseZeekTime(r.raw(fTS))
	if err != nil && kind != "x509" {
		zr.skip("ts: " + err.Error())
		return
	}
	switch kind {
	case "conn":
		// One Conn is reused for every line: the handler may use it only
		// during the call, and it does not escape per record.
		c := &zr.conn
		*c = Conn{TS: ts, UID: r.get(fUID), Proto: zr.internLower(fProto),
			Service: zr.intern(fService), State: zr.intern(fConnState),
			Label: zr.intern(fLabel), DetailedLabel: zr.intern(fDetailedLabel)}
		if !zr.endpoints(&c.Src, &c.SrcPort, &c.Dst, &c.DstPort) {
			return
		}
		if s := r.list(fService); len(s) > 0 {
			c.Service = strings.Join(s, ",")
		}
		c.Duration = parseInterval(r.raw(fDuration))
		c.OrigBytes = parseCount(r.raw(fOrigBytes))
		c.RespBytes = parseCount(r.raw(fRespBytes))
		c.OrigPkts = parseCount(r.raw(fOrigPkts))
		c.RespPkts = parseCount(r.raw(fRespPkts))
		zr.st.Records++
		zr.h.Conn(c)
	case "dns":
		d := DNS{TS: ts, UID: r.get(fUID), Proto: zr.internLower(fProto),
			Query: strings.TrimSuffix(r.get(fQuery), "."), QType: zr.intern(fQType), RCode: zr.intern(fRCode)}
		if !zr.endpoints(&d.Src, &d.SrcPort, &d.Dst, &d.DstPort) {
			return
		}
		d.Answers = r.list(fAnswers)
		if d.Answers == nil && len(r.raw(fAnswers)) > 0 {
			d.Answers = strings.Split(string(r.raw(fAnswers)), zr.setSep)
		}
		for _, t := range r.list(fTTLs) {
			d.TTLs = append(d.TTLs, parseInterval(t))
		}
		zr.st.Records++
		zr.h.DNS(&d)
	case "http":
		x := HTTP{TS: ts, UID: r.get(fUID), Method: zr.intern(fMethod), Host: r.get(fHost), URI: r.get(fURI),
			UserAgent: r.get(fUserAgent), Referrer: r.get(fReferrer)}
		if !zr.endpoints(&x.Src, &x.SrcPort, &x.Dst, &x.DstPort) {
			return
		}
		x.Status = int(parseCount(r.raw(fStatus)))
		x.ReqBytes = parseCount(r.raw(fReqLen))
		x.RespBytes = parseCount(r.raw(fRespLen))
		if m := r.list(fRespMIME); len(m) > 0 {
			x.RespMIME = m[0]
		}
		zr.st.Records++
		zr.h.HTTP(&x)
	case "ssl":
		t := TLS{TS: ts, UID: r.get(fUID), Version: zr.intern(fVersion), ServerName: r.get(fServerName),
			JA3: r.get(fJA3), JA4: r.get(fJA4), Subject: r.get(fSubject), Issuer: r.get(fIssuer),
			Established: string(r.raw(fEstablished)) == "T"}
		if !zr.endpoints(&t.Src, &t.SrcPort, &t.Dst, &t.DstPort) {
			return
		}
		if zr.certs != nil {
			var leaf string
			if l := r.list(fCertFUIDs); len(l) > 0 {
				leaf = l[0]
			} else if l := r.list(fCertFPs); len(l) > 0 {
				leaf = l[0]
			}
			if c, ok := zr.certs[leaf]; ok && leaf != "" {
				if t.Subject == "" {
					t.Subject = c.subject
				}
				if t.Issuer == "" {
					t.Issuer = c.issuer
				}
				t.NotBefore, t.NotAfter = c.notBefore, c.notAfter
			}
		}
		t.SelfSigned = t.Subject != "" && t.Subject == t.Issuer
		zr.st.Records++
		zr.h.TLS(&t)
	case "x509":
		if !zr.keepCerts {
			return
		}
		c := cert{subject: r.get(fCertSubject), issuer: r.get(fCertIssuer)}
		c.notBefore, _ = parseZeekTime(r.raw(fNotBefore))
		c.notAfter, _ = parseZeekTime(r.raw(fNotAfter))
		zr.st.Records++
		for _, k := range []string{r.get(fID), r.get(fFingerprint)} {
			if k != "" && len(zr.certs) < maxCerts {
				zr.certs[k] = c
			}
		}
	case "files":
		f := File{TS: ts, UID: r.get(fUID), Name: r.get(fFilename), MIME: r.get(fMIME),
			MD5: r.get(fMD5), SHA1: r.get(fSHA1), SHA256: r.get(fSHA256), Protocol: zr.internLower(fSource)}
		f.Size = parseCount(r.raw(fTotalBytes))
		if f.Size == 0 {
			f.Size = parseCount(r.raw(fSeenBytes))
		}
		if f.UID == "" {
			if u := r.list(fUID); len(u) > 0 {
				f.UID = u[0]
			}
		}
		tx, rx := firstAddr(r, fTxHosts), firstAddr(r, fRxHosts)
		if !tx.IsValid() {
			tx, _ = parseAddr(r.raw(fRespH))
		}
		if !rx.IsValid() {
			rx, _ = parseAddr(r.raw(fOrigH))
		}
		f.Src, f.Dst = tx, rx
		zr.st.Records++
		zr.h.File(&f)
	case "notice":
		a := Alert{TS: ts, UID: r.get(fUID), Proto: zr.internLower(fProto), Source: "zeek",
			Signature: r.get(fNote), Category: r.get(fMsg), Severity: 2}
		src, dst := r.raw(fOrigH), r.raw(fRespH)
		if len(src) == 0 {
			src = r.raw(fSrc)
		}
		if len(dst) == 0 {
			dst = r.raw(fDst)
		}
		a.Src, _ = parseAddr(src)
		a.Dst, _ = parseAddr(dst)
		a.SrcPort = parsePort(r.raw(fOrigP))
		a.DstPort = parsePort(r.raw(fRespP))
		if a.DstPort == 0 {
			a.DstPort = parsePort(r.raw(fP))
		}
		if a.Signature == "" {
			zr.skip("notice without note")
			return
		}
		zr.st.Records++
		zr.h.Alert(&a)
	default:
		zr.skip(fmt.Sprintf("unknown log kind %q", kind))
	}
}

func firstAddr(r *zrow, f zfield) netip.Addr {
	for _, s := range r.list(f) {
		if a, err := netip.ParseAddr(s); err == nil {
			return a
		}
	}
	return netip.Addr{}
}

// endpoints parses the id.* fields; it skips the line when an address is
// missing or invalid.
func (zr *zeekReader) endpoints(src *netip.Addr, sport *uint16, dst *netip.Addr, dport *uint16) bool {
	r := &zr.row
	var err error
	if *src, err = parseAddr(r.raw(fOrigH)); err != nil {
		zr.skip("id.orig_h: not an address")
		return false
	}
	if *dst, err = parseAddr(r.raw(fRespH)); err != nil {
		zr.skip("id.resp_h: not an address")
		return false
	}
	*sport = parsePort(r.raw(fOrigP))
	*dport = parsePort(r.raw(fRespP))
	return true
}

// parseAddr parses an address from bytes: dotted-quad IPv4 directly
// (with netip's rules: four decimal octets, no leading zeros), anything
// else through netip.ParseAddr.
func parseAddr(b []byte) (netip.Addr, error) {
	var v4 [4]byte
	k, val, digits := 0, 0, 0
	ok := len(b) >= 7 && len(b) <= 15
	for i := 0; ok && i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || k > 3 {
				ok = false
				break
			}
			v4[k] = byte(val)
			k, val, digits = k+1, 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' || (digits == 1 && val == 0) {
			ok = false
			break
		}
		val = val*10 + int(c-'0')
		digits++
		if val > 255 {
			ok = false
		}
	}
	if ok && k == 4 {
		return netip.AddrFrom4(v4), nil
	}
	return netip.ParseAddr(string(b))
}

func parsePort[T string | []byte](s T) uint16 {
	if len(s) == 0 || len(s) > 5 {
		return 0
	}
	var v uint32
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		v = v*10 + uint32(s[i]-'0')
	}
	if v > 65535 {
		return 0
	}
	return uint16(v) // #nosec G115 -- checked above
}

func parseCount[T string | []byte](s T) int64 {
	if len(s) == 0 {
		return 0
	}
	v, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// parseInterval parses a Zeek interval (seconds with a fraction).
func parseInterval[T string | []byte](s T) time.Duration {
	if len(s) == 0 {
		return 0
	}
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil || v < 0 || math.IsNaN(v) || v > 1e9 {
		return 0
	}
	return time.Duration(v * float64(time.Second))
}

// parseZeekTime parses an epoch time with a fraction or an ISO 8601 time
// (JSON logs written with json_timestamps).
func parseZeekTime[T string | []byte](s T) (time.Time, error) {
	if len(s) == 0 {
		return time.Time{}, errors.New("missing")
	}
	if v, err := strconv.ParseFloat(string(s), 64); err == nil {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e11 {
			return time.Time{}, fmt.Errorf("%q out of range", clipReason(string(s)))
		}
		sec, frac := math.Modf(v)
		return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a time", clipReason(string(s)))
	}
	return t.UTC(), nil
}

func clipReason(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}
