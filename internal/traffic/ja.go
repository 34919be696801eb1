package traffic

import (
	"crypto/md5" // #nosec G501 -- JA3 is defined as an MD5 digest; not used for security
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// TLS record and handshake constants.
const (
	tlsRecordHandshake = 22
	tlsRecordAppData   = 23
	tlsClientHello     = 1
	tlsServerHello     = 2
	tlsCertificate     = 11
	// tlsMaxHandshake bounds the handshake message the reader assembles.
	tlsMaxHandshake = 1 << 16
)

// errTLSShort means more stream bytes are needed.
var errTLSShort = errors.New("tls: need more data")

// clientHello holds the ClientHello fields JA3 and JA4 use.
type clientHello struct {
	version      uint16 // legacy_version
	ciphers      []uint16
	extensions   []uint16 // in wire order
	curves       []uint16
	pointFormats []uint8
	sigAlgs      []uint16
	versions     []uint16 // supported_versions
	sni          string
	hasSNI       bool
	alpn         []byte // first ALPN value
}

// tlsMaxMessages bounds the handshake messages read from one stream.
const tlsMaxMessages = 8

// tlsMsg is one handshake message.
type tlsMsg struct {
	typ  uint8
	body []byte
}

// tlsHandshakes splits the handshake records at the start of stream, one
// direction of a TLS connection, into handshake messages. It stops at the
// first record of another type (ChangeCipherSpec, encrypted data). short
// reports that stream ended inside a record or message, so more data may
// give more messages.
func tlsHandshakes(stream []byte) (msgs []tlsMsg, short bool, err error) {
	var buf []byte
	for len(msgs) < tlsMaxMessages {
		// Complete messages first.
		for len(buf) >= 4 && len(msgs) < tlsMaxMessages {
			mlen := int(buf[1])<<16 | int(buf[2])<<8 | int(buf[3])
			if mlen > tlsMaxHandshake {
				return msgs, false, errors.New("tls: handshake message too long")
			}
			if len(buf) < 4+mlen {
				break
			}
			msgs = append(msgs, tlsMsg{typ: buf[0], body: buf[4 : 4+mlen]})
			buf = buf[4+mlen:]
		}
		if len(stream) == 0 {
			return msgs, len(buf) > 0 || len(msgs) == 0, nil
		}
		if len(stream) < 5 {
			return msgs, true, nil
		}
		if stream[1] != 3 {
			return msgs, false, errors.New("tls: not a TLS record")
		}
		if stream[0] != tlsRecordHandshake {
			if len(msgs) == 0 {
				return nil, false, errors.New("tls: not a handshake record")
			}
			return msgs, false, nil
		}
		n := int(binary.BigEndian.Uint16(stream[3:5]))
		if n == 0 || n > 1<<14+2048 {
			return msgs, false, errors.New("tls: bad record length")
		}
		if len(stream) < 5+n {
			return msgs, true, nil
		}
		// Copy: buf must not alias stream, which the caller extends.
		buf = append(buf[:len(buf):len(buf)], stream[5:5+n]...)
		stream = stream[5+n:]
	}
	return msgs, false, nil
}

// tlsHandshakeMessage returns the first handshake message in stream: its
// type and body. It returns errTLSShort when stream ends inside it.
func tlsHandshakeMessage(stream []byte) (typ uint8, body []byte, err error) {
	msgs, short, err := tlsHandshakes(stream)
	if len(msgs) > 0 {
		return msgs[0].typ, msgs[0].body, nil
	}
	if err != nil {
		return 0, nil, err
	}
	if short {
		return 0, nil, errTLSShort
	}
	return 0, nil, errors.New("tls: no handshake message")
}

// tlsFirstCertificate returns the leaf certificate of a Certificate
// message body (TLS 1.2 and earlier; TLS 1.3 sends it encrypted).
func tlsFirstCertificate(body []byte) ([]byte, error) {
	if len(body) < 6 {
		return nil, errors.New("tls: short certificate message")
	}
	n := int(body[3])<<16 | int(body[4])<<8 | int(body[5])
	if n == 0 || 6+n > len(body) {
		return nil, errors.New("tls: bad certificate length")
	}
	return body[6 : 6+n], nil
}

// tlsReader reads big-endian fields from a bounded byte slice.
type tlsReader struct {
	b   []byte
	bad bool
}

func (r *tlsReader) u8() uint8 {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *tlsReader) u16() uint16 {
	if len(r.b) < 2 {
		r.bad = true
		r.b = nil
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *tlsReader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.bad = true
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// parseClientHello parses a ClientHello body.
func parseClientHello(body []byte) (*clientHello, error) {
	r := tlsReader{b: body}
	ch := &clientHello{version: r.u16()}
	r.bytes(32) // random
	r.bytes(int(r.u8()))
	cs := tlsReader{b: r.bytes(int(r.u16()))}
	for len(cs.b) >= 2 {
		ch.ciphers = append(ch.ciphers, cs.u16())
	}
	r.bytes(int(r.u8())) // compression methods
	if r.bad {
		return nil, errors.New("tls: truncated client hello")
	}
	if len(r.b) == 0 {
		return ch, nil // no extensions
	}
	exts := tlsReader{b: r.bytes(int(r.u16()))}
	if r.bad {
		return nil, errors.New("tls: truncated client hello extensions")
	}
	for len(exts.b) >= 4 {
		typ := exts.u16()
		data := tlsReader{b: exts.bytes(int(exts.u16()))}
		if exts.bad {
			return nil, errors.New("tls: truncated extension")
		}
		ch.extensions = append(ch.extensions, typ)
		switch typ {
		case 0: // server_name
			list := tlsReader{b: data.bytes(int(data.u16()))}
			for len(list.b) >= 3 {
				nameType := list.u8()
				name := list.bytes(int(list.u16()))
				if nameType == 0 && !ch.hasSNI && !list.bad {
					ch.sni = string(name[:min(len(name), 255)])
				}
			}
			ch.hasSNI = true
		case 10: // supported_groups
			l := tlsReader{b: data.bytes(int(data.u16()))}
			for len(l.b) >= 2 {
				ch.curves = append(ch.curves, l.u16())
			}
		case 11: // ec_point_formats
			ch.pointFormats = append(ch.pointFormats, data.bytes(int(data.u8()))...)
		case 13: // signature_algorithms
			l := tlsReader{b: data.bytes(int(data.u16()))}
			for len(l.b) >= 2 {
				ch.sigAlgs = append(ch.sigAlgs, l.u16())
			}
		case 16: // application_layer_protocol_negotiation
			l := tlsReader{b: data.bytes(int(data.u16()))}
			if len(l.b) > 0 {
				ch.alpn = l.bytes(int(l.u8()))
			}
		case 43: // supported_versions
			l := tlsReader{b: data.bytes(int(data.u8()))}
			for len(l.b) >= 2 {
				ch.versions = append(ch.versions, l.u16())
			}
		}
	}
	return ch, nil
}

// parseServerHello returns the negotiated version: supported_versions
// when present (TLS 1.3), legacy_version otherwise.
func parseServerHello(body []byte) (uint16, error) {
	r := tlsReader{b: body}
	v := r.u16()
	r.bytes(32)
	r.bytes(int(r.u8()))
	r.u16() // cipher
	r.u8()  // compression
	if r.bad {
		return 0, errors.New("tls: truncated server hello")
	}
	if len(r.b) < 2 {
		return v, nil
	}
	exts := tlsReader{b: r.bytes(int(r.u16()))}
	for len(exts.b) >= 4 {
		typ := exts.u16()
		data := tlsReader{b: exts.bytes(int(exts.u16()))}
		if typ == 43 {
			if sv := data.u16(); !data.bad {
				v = sv
			}
		}
	}
	return v, nil
}

// tlsVersionName names a protocol version in Zeek's style.
func tlsVersionName(v uint16) string {
	switch v {
	case 0x0304:
		return "TLSv13"
	case 0x0303:
		return "TLSv12"
	case 0x0302:
		return "TLSv11"
	case 0x0301:
		return "TLSv10"
	case 0x0300:
		return "SSLv3"
	case 0x0002:
		return "SSLv2"
	}
	return ""
}

// isGREASE reports whether v is a GREASE value (RFC 8701): 0x0a0a,
// 0x1a1a, ... 0xfafa.
func isGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// ja3String builds the JA3 string: version, ciphers, extensions, curves
// and point formats in decimal, GREASE values left out (per the JA3
// description in salesforce/ja3 README.md).
func (ch *clientHello) ja3String() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(ch.version)))
	list := func(vs []uint16) {
		b.WriteByte(',')
		first := true
		for _, v := range vs {
			if isGREASE(v) {
				continue
			}
			if !first {
				b.WriteByte('-')
			}
			first = false
			b.WriteString(strconv.Itoa(int(v)))
		}
	}
	list(ch.ciphers)
	list(ch.extensions)
	list(ch.curves)
	b.WriteByte(',')
	for i, v := range ch.pointFormats {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(strconv.Itoa(int(v)))
	}
	return b.String()
}

// ja3 is the MD5 of ja3String in lower-case hex.
func (ch *clientHello) ja3() string {
	sum := md5.Sum([]byte(ch.ja3String())) // #nosec G401 -- JA3 is defined as MD5
	return hex.EncodeToString(sum[:])
}

// ja4 computes the JA4 TLS client fingerprint as the FoxIO JA4
// specification describes it (FoxIO-LLC/ja4 technical_details/JA4.md).
// proto is 't' for TLS over TCP, 'q' for QUIC, 'd' for DTLS.
func (ch *clientHello) ja4(proto byte) string {
	a, ciphers, exts := ch.ja4Parts(proto)
	return a + "_" + ja4Hash(ciphers) + "_" + ja4Hash(exts)
}

// ja4Raw is the sorted raw form (JA4_r) of the fingerprint.
func (ch *clientHello) ja4Raw(proto byte) string {
	a, ciphers, exts := ch.ja4Parts(proto)
	return a + "_" + ciphers + "_" + exts
}

// ja4Parts returns the JA4 "a" section and the cipher and extension
// strings that the "b" and "c" sections hash.
func (ch *clientHello) ja4Parts(proto byte) (a, ciphers, exts string) {
	var cs, es []uint16
	for _, c := range ch.ciphers {
		if !isGREASE(c) {
			cs = append(cs, c)
		}
	}
	nExt := 0
	for _, e := range ch.extensions {
		if isGREASE(e) {
			continue
		}
		nExt++
		if e != 0x0000 && e != 0x0010 {
			es = append(es, e)
		}
	}
	v := ch.version
	if len(ch.versions) > 0 {
		v = 0
		for _, sv := range ch.versions {
			if !isGREASE(sv) && sv > v && sv < 0xfe00 {
				v = sv
			}
		}
		// DTLS versions count down; take the newest, lowest value.
		for _, sv := range ch.versions {
			if sv >= 0xfe00 && !isGREASE(sv) && (v == 0 || v >= 0xfe00 && sv < v) {
				v = sv
			}
		}
	}
	sni := byte('i')
	if ch.hasSNI {
		sni = 'd'
	}
	a = string(proto) + ja4Version(v) + string(sni) + ja4Count(len(cs)) + ja4Count(nExt) + ja4ALPN(ch.alpn)

	slices.Sort(cs)
	ciphers = ja4HexList(cs)
	slices.Sort(es)
	exts = ja4HexList(es)
	var sigs []uint16
	for _, s := range ch.sigAlgs {
		if !isGREASE(s) {
			sigs = append(sigs, s)
		}
	}
	if len(sigs) > 0 && exts != "" {
		exts += "_" + ja4HexList(sigs)
	}
	return a, ciphers, exts
}

func ja4Version(v uint16) string {
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

func ja4Count(n int) string {
	n = max(0, min(n, 99))
	return strconv.Itoa(n/10) + strconv.Itoa(n%10)
}

func ja4IsAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// ja4ALPN is the first and last character of the first ALPN value, or of
// its hex form when either is not alphanumeric; "00" without ALPN.
func ja4ALPN(v []byte) string {
	if len(v) == 0 {
		return "00"
	}
	first, last := v[0], v[len(v)-1]
	if ja4IsAlnum(first) && ja4IsAlnum(last) {
		return string([]byte{first, last})
	}
	h := hex.EncodeToString(v)
	return string([]byte{h[0], h[len(h)-1]})
}

func ja4HexList(vs []uint16) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		var buf [2]byte
		binary.BigEndian.PutUint16(buf[:], v)
		b.WriteString(hex.EncodeToString(buf[:]))
	}
	return b.String()
}

// ja4Hash is the first 12 hex characters of the SHA-256 of s, or twelve
// zeros for an empty list.
func ja4Hash(s string) string {
	if s == "" {
		return "000000000000"
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}
