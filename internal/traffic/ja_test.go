package traffic

import (
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
)

func ja4TestHexList(t *testing.T, s string) []uint16 {
	t.Helper()
	var out []uint16
	for _, f := range strings.Split(s, ",") {
		b, err := hex.DecodeString(f)
		if err != nil || len(b) != 2 {
			t.Fatalf("bad hex %q", f)
		}
		out = append(out, uint16(b[0])<<8|uint16(b[1]))
	}
	return out
}

// TestJA4SpecExample uses the worked example of the JA4 specification
// (FoxIO-LLC/ja4, technical_details/JA4.md, sections "Cipher hash",
// "Extension hash" and "Example").
func TestJA4SpecExample(t *testing.T) {
	ch := &clientHello{
		version:    0x0303,
		ciphers:    ja4TestHexList(t, "1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035"),
		extensions: ja4TestHexList(t, "001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015"),
		sigAlgs:    ja4TestHexList(t, "0403,0804,0401,0503,0805,0501,0806,0601"),
		versions:   []uint16{0x0304, 0x0303},
		hasSNI:     true,
		alpn:       []byte("h2"),
	}
	if got, want := ch.ja4('t'), "t13d1516h2_8daaf6152771_e5627efa2ab1"; got != want {
		t.Errorf("ja4 = %s, want %s", got, want)
	}
	wantRaw := "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
	if got := ch.ja4Raw('t'); got != wantRaw {
		t.Errorf("ja4_r = %s\nwant   %s", got, wantRaw)
	}
	// GREASE values anywhere must not change the fingerprint.
	g := *ch
	g.ciphers = append([]uint16{0x0a0a}, ch.ciphers...)
	g.extensions = append([]uint16{0xdada}, ch.extensions...)
	g.versions = append([]uint16{0x7a7a}, ch.versions...)
	if got := g.ja4('t'); got != ch.ja4('t') {
		t.Errorf("with GREASE: %s", got)
	}
	// "If there are no signature algorithms ... = 6d807ffa2a79".
	n := *ch
	n.sigAlgs = nil
	if got := n.ja4('t'); !strings.HasSuffix(got, "_6d807ffa2a79") {
		t.Errorf("without signature algorithms: %s", got)
	}
	e := clientHello{version: 0x0303}
	if got, want := e.ja4('t'), "t12i000000_000000000000_000000000000"; got != want {
		t.Errorf("empty hello: %s, want %s", got, want)
	}
}

// TestJA4ALPN uses the ALPN examples of the JA4 specification.
func TestJA4ALPN(t *testing.T) {
	tests := map[string]string{
		"h2": "h2", "http/1.1": "h1", "\xab": "ab", "\xab\xcd": "ad",
		"\x30\xab": "3b", "\x30\x31\xab\xcd": "3d", "\x30\xab\xcd\x31": "01", "": "00", "x": "xx",
	}
	for in, want := range tests {
		if got := ja4ALPN([]byte(in)); got != want {
			t.Errorf("ja4ALPN(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestJA3AgainstSuricata takes the JA3 string and hash Suricata logged in
// the Stratosphere EVE sample and checks the string → MD5 step.
func TestJA3AgainstSuricata(t *testing.T) {
	const str, hash = "770,51-57-69-136-22-53-132-47-65-10-5-4,0,,", "b7202231ff2db28363c109cedc6d1642"
	parts := strings.Split(str, ",")
	v, _ := strconv.Atoi(parts[0])
	ch := &clientHello{version: uint16(v)}
	for _, c := range strings.Split(parts[1], "-") {
		n, _ := strconv.Atoi(c)
		ch.ciphers = append(ch.ciphers, uint16(n))
	}
	ch.extensions = []uint16{0}
	if got := ch.ja3String(); got != str {
		t.Fatalf("ja3 string %q, want %q", got, str)
	}
	if got := ch.ja3(); got != hash {
		t.Errorf("ja3 = %s, want %s", got, hash)
	}
}

func TestIsGREASE(t *testing.T) {
	n := 0
	for v := 0; v < 1<<16; v++ {
		if isGREASE(uint16(v)) {
			n++
		}
	}
	if n != 16 || !isGREASE(0xfafa) || isGREASE(0x0a1a) {
		t.Errorf("%d GREASE values", n)
	}
}

// goClientHello returns the first flight of a crypto/tls client: one TLS
// record holding a ClientHello.
func goClientHello(t *testing.T) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		cl := tls.Client(c, &tls.Config{ServerName: "frag.vigil.test", NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12})
		_ = cl.Handshake()
	}()
	buf := make([]byte, 1<<16)
	n, err := s.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	return buf[:n]
}

// TestTLSFragmented splits a ClientHello over two TLS records and over
// several TCP segments: the result must equal the unsplit parse.
func TestTLSFragmented(t *testing.T) {
	rec := goClientHello(t)
	typ, body, err := tlsHandshakeMessage(rec)
	if err != nil || typ != tlsClientHello {
		t.Fatalf("typ %d err %v", typ, err)
	}
	whole, err := parseClientHello(body)
	if err != nil {
		t.Fatal(err)
	}
	if whole.sni != "frag.vigil.test" || string(whole.alpn) != "h2" {
		t.Fatalf("sni %q alpn %q", whole.sni, whole.alpn)
	}
	msg := rec[5:]
	cut := len(msg) / 3
	two := append([]byte{22, 3, 1, byte(cut >> 8), byte(cut)}, msg[:cut]...)
	rest := len(msg) - cut
	two = append(two, 22, 3, 1, byte(rest>>8), byte(rest))
	two = append(two, msg[cut:]...)

	var st pcapStream
	seq := uint32(1000)
	for i := 0; i < len(two); i += 100 {
		seg := two[i:min(i+100, len(two))]
		st.add(seq, seg)
		st.add(seq, seg) // a retransmission changes nothing
		seq += uint32(len(seg))
		typ, b, err := tlsHandshakeMessage(st.buf)
		if i+100 < len(two) {
			if !errors.Is(err, errTLSShort) {
				t.Fatalf("at %d: err %v", i, err)
			}
			continue
		}
		if err != nil || typ != tlsClientHello {
			t.Fatalf("end: typ %d err %v", typ, err)
		}
		got, err := parseClientHello(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.ja3() != whole.ja3() || got.ja4('t') != whole.ja4('t') {
			t.Errorf("fragmented %s %s, whole %s %s", got.ja3(), got.ja4('t'), whole.ja3(), whole.ja4('t'))
		}
	}
	// A gap stops the stream.
	var g pcapStream
	g.add(1, two[:10])
	g.add(100, two[99:200])
	if !g.done || len(g.buf) != 10 {
		t.Errorf("gap: done %v len %d", g.done, len(g.buf))
	}
}
